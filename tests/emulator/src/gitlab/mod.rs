//! GitLab: REST v4 under `/api/v4/` and GraphQL at `/api/graphql`.
//!
//! Owned by the GitLab engineer. Only example routes live here so far.
//! Projects are addressed by numeric id or by URL-encoded full path
//! (`acme%2Fplatform%2Fcli`), as GitLab does; errors are `{"message": …}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use crate::auth::{self, Caller};
use crate::graphql::{not_emulated, Args, FieldValue, GraphqlRequest, Object};
use crate::server::{AppState, Ctx, Site};
use crate::world::{rfc3339, Forge, Repository, Visibility, World};

/// GitLab's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v4/projects/{id}", get(get_project))
        .route("/api/graphql", post(graphql))
        .with_state(state)
}

/// GitLab's 404 body for a project.
pub fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "message": format!("404 {what} Not Found") })),
    )
        .into_response()
}

/// Finds a project by numeric id or full path (already percent-decoded).
pub fn find_project<'w>(world: &'w World, id: &str) -> Option<&'w Repository> {
    match id.parse::<u64>() {
        Ok(n) => world.repos.get(&n).filter(|r| r.forge == Forge::Gitlab),
        Err(_) => world.repo(Forge::Gitlab, id),
    }
}

async fn get_project(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    if caller.bad_token() {
        return auth::unauthorized(Site::Gitlab);
    }
    let world = st.world.lock();
    match find_project(&world, &id) {
        Some(r) if r.visibility == Visibility::Public || caller.user.is_some() => {
            Json(project_json(&world, r, &st.urls.gitlab)).into_response()
        }
        _ => not_found("Project"),
    }
}

/// A project as `GET /projects/{id}` returns it (a subset so far).
pub fn project_json(world: &World, r: &Repository, base: &str) -> Value {
    let namespace = world.owners.get(&r.owner_id).map(|o| {
        json!({ "id": o.id, "name": o.name, "path": o.name, "full_path": o.path,
                "kind": if o.kind == crate::world::OwnerKind::User { "user" } else { "group" } })
    });
    let visibility = match r.visibility {
        Visibility::Public => "public",
        Visibility::Private => "private",
        Visibility::Internal => "internal",
    };
    json!({
        "id": r.id,
        "name": r.name,
        "path": r.name,
        "path_with_namespace": r.full_path,
        "description": r.description,
        "default_branch": r.default_branch,
        "visibility": visibility,
        "archived": r.archived,
        "namespace": namespace,
        "web_url": format!("{base}/{}", r.full_path),
        "http_url_to_repo": format!("{base}/{}.git", r.full_path),
        "created_at": rfc3339(r.created_at),
        "last_activity_at": rfc3339(r.updated_at),
    })
}

async fn graphql(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<GraphqlRequest>,
) -> Response {
    if caller.bad_token() {
        return auth::unauthorized(Site::Gitlab);
    }
    st.graphql(Site::Gitlab, caller, request, Query).await
}

struct Query;

impl Object for Query {
    fn type_name(&self) -> &str {
        "Query"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        match name {
            "project" => {
                let world = ctx.state.world.lock();
                let found = world.repo(Forge::Gitlab, args.required_str("fullPath")?);
                Ok(FieldValue::opt_object(found.map(|r| Project(r.id))))
            }
            other => Err(not_emulated("Query", other)),
        }
    }
}

struct Project(u64);

impl Object for Project {
    fn type_name(&self) -> &str {
        "Project"
    }

    fn field(&self, name: &str, _: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        let r = world.repos.get(&self.0).ok_or("project vanished")?;
        Ok(match name {
            "id" => FieldValue::scalar(format!("gid://gitlab/Project/{}", r.id)),
            "fullPath" => FieldValue::scalar(r.full_path.clone()),
            "name" => FieldValue::scalar(r.name.clone()),
            "archived" => FieldValue::scalar(r.archived),
            other => return Err(not_emulated("Project", other)),
        })
    }
}
