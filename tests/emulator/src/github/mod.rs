//! GitHub: REST at `/` (also `/api/v3/…`, rewritten by the server) and
//! GraphQL at `/graphql` (also `/api/graphql`).
//!
//! Owned by the GitHub engineer. Only example routes live here so far; they
//! set the pattern: handlers take `State<AppState>` and `Extension<Caller>`,
//! lock the world briefly, shape JSON as in `forge-specs/github/
//! rest-api.subset.json`, and answer errors as GitHub does (`message`,
//! `documentation_url`). GraphQL: implement [`Object`] per schema type and
//! hand the root to [`crate::server::Shared::graphql`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use crate::auth::{self, Caller};
use crate::graphql::{not_emulated, Args, FieldValue, GraphqlRequest, Object};
use crate::server::{AppState, Ctx, Site};
use crate::world::{rfc3339, Forge, Owner, OwnerKind, Repository, Visibility, World};

/// GitHub's routes (canonical paths, without the `/api/v3` prefix).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/rate_limit", get(rate_limit))
        .route("/repos/{owner}/{repo}", get(get_repo))
        .route("/graphql", post(graphql))
        .with_state(state)
}

/// GitHub's 404 body.
pub fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404" })),
    )
        .into_response()
}

async fn rate_limit(State(st): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    if caller.bad_token() {
        return auth::unauthorized(Site::Github);
    }
    let resource = |name: &'static str| {
        let b = st.rate_limits.peek(Site::Github, &caller, name);
        json!({ "limit": b.limit, "used": b.used, "remaining": b.remaining(), "reset": b.reset })
    };
    let core = resource("core");
    Json(json!({
        "resources": { "core": core, "graphql": resource("graphql") },
        "rate": core,
    }))
    .into_response()
}

async fn get_repo(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo)): Path<(String, String)>,
) -> Response {
    if caller.bad_token() {
        return auth::unauthorized(Site::Github);
    }
    let world = st.world.lock();
    match world.repo(Forge::Github, &format!("{owner}/{repo}")) {
        Some(r) if r.visibility == Visibility::Public || caller.user.is_some() => {
            Json(repo_json(&world, r, &st.urls.github)).into_response()
        }
        _ => not_found(),
    }
}

/// The owner object GitHub embeds in repositories.
pub fn owner_json(owner: &Owner, base: &str) -> Value {
    let kind = if owner.kind == OwnerKind::Organization {
        "Organization"
    } else {
        "User"
    };
    json!({
        "login": owner.name,
        "id": owner.id,
        "type": kind,
        "url": format!("{base}/users/{}", owner.name),
        "html_url": format!("{base}/{}", owner.name),
    })
}

/// A repository as `GET /repos/{owner}/{repo}` returns it (a subset of the
/// spec's `full-repository` schema so far).
pub fn repo_json(world: &World, r: &Repository, base: &str) -> Value {
    let owner = world.owners.get(&r.owner_id).map(|o| owner_json(o, base));
    json!({
        "id": r.id,
        "node_id": format!("R_{}", r.id),
        "name": r.name,
        "full_name": r.full_path,
        "private": r.visibility != Visibility::Public,
        "visibility": if r.visibility == Visibility::Public { "public" } else { "private" },
        "owner": owner,
        "html_url": format!("{base}/{}", r.full_path),
        "url": format!("{base}/repos/{}", r.full_path),
        "clone_url": format!("{base}/{}.git", r.full_path),
        "description": r.description,
        "fork": r.fork,
        "archived": r.archived,
        "default_branch": r.default_branch,
        "created_at": rfc3339(r.created_at),
        "updated_at": rfc3339(r.updated_at),
        "pushed_at": r.pushed_at.map(rfc3339),
    })
}

async fn graphql(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<GraphqlRequest>,
) -> Response {
    if caller.user.is_none() {
        return auth::unauthorized(Site::Github);
    }
    st.graphql(Site::Github, caller, request, Query).await
}

/// The GraphQL `Query` root.
struct Query;

impl Object for Query {
    fn type_name(&self) -> &str {
        "Query"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        match name {
            "viewer" => Ok(FieldValue::object(User(
                ctx.caller.user.clone().unwrap_or_default(),
            ))),
            "repository" => {
                let path = format!(
                    "{}/{}",
                    args.required_str("owner")?,
                    args.required_str("name")?
                );
                let world = ctx.state.world.lock();
                Ok(FieldValue::opt_object(
                    world.repo(Forge::Github, &path).map(|r| Repo(r.id)),
                ))
            }
            other => Err(not_emulated("Query", other)),
        }
    }
}

struct User(String);

impl Object for User {
    fn type_name(&self) -> &str {
        "User"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Result<FieldValue, String> {
        match name {
            "login" => Ok(FieldValue::scalar(self.0.clone())),
            other => Err(not_emulated("User", other)),
        }
    }
}

/// A repository by world id; fields read the world when resolved.
struct Repo(u64);

impl Object for Repo {
    fn type_name(&self) -> &str {
        "Repository"
    }

    fn field(&self, name: &str, _: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        let r = world.repos.get(&self.0).ok_or("repository vanished")?;
        Ok(match name {
            "id" => FieldValue::scalar(format!("R_{}", r.id)),
            "name" => FieldValue::scalar(r.name.clone()),
            "nameWithOwner" => FieldValue::scalar(r.full_path.clone()),
            "isArchived" => FieldValue::scalar(r.archived),
            other => return Err(not_emulated("Repository", other)),
        })
    }
}
