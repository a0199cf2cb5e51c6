//! sourcehut: git.sr.ht GraphQL (`POST /query` on the git listener), lists.sr.ht
//! GraphQL (`POST /query` on the lists listener), and the SMTP intake
//! ([`smtp`]) where patch mail becomes patchsets.
//!
//! Owned by the sourcehut engineer. Only example resolvers live here so
//! far. sourcehut's API requires `Authorization: Bearer <token>` for every
//! GraphQL request.

pub mod smtp;

use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Json, Router};

use crate::auth::{self, Caller};
use crate::graphql::{not_emulated, Args, FieldValue, GraphqlRequest, Object};
use crate::server::{AppState, Ctx, Site};
use crate::world::{rfc3339, Forge};

/// git.sr.ht's routes.
pub fn git_router(state: AppState) -> Router {
    Router::new()
        .route("/query", post(git_query))
        .with_state(state)
}

/// lists.sr.ht's routes.
pub fn lists_router(state: AppState) -> Router {
    Router::new()
        .route("/query", post(lists_query))
        .with_state(state)
}

async fn git_query(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<GraphqlRequest>,
) -> Response {
    if caller.user.is_none() {
        return auth::unauthorized(Site::SrhtGit);
    }
    st.graphql(Site::SrhtGit, caller, request, Query).await
}

async fn lists_query(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<GraphqlRequest>,
) -> Response {
    if caller.user.is_none() {
        return auth::unauthorized(Site::SrhtLists);
    }
    st.graphql(Site::SrhtLists, caller, request, Query).await
}

/// The `Query` root; both services answer `me` and `user` alike so far.
struct Query;

impl Object for Query {
    fn type_name(&self) -> &str {
        "Query"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        let login = match name {
            "me" => ctx.caller.user.clone().unwrap_or_default(),
            "user" => args
                .required_str("username")?
                .trim_start_matches('~')
                .to_string(),
            other => return Err(not_emulated("Query", other)),
        };
        Ok(FieldValue::opt_object(
            world.owner(Forge::Sourcehut, &login).map(|o| User(o.id)),
        ))
    }
}

struct User(u64);

impl Object for User {
    fn type_name(&self) -> &str {
        "User"
    }

    fn field(&self, name: &str, _: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        let o = world.owners.get(&self.0).ok_or("user vanished")?;
        Ok(match name {
            "id" => FieldValue::scalar(o.id),
            "canonicalName" => FieldValue::scalar(o.path.clone()),
            "username" => FieldValue::scalar(o.name.clone()),
            "email" => FieldValue::scalar(format!("{}@sr.ht.invalid", o.name)),
            "created" | "updated" => FieldValue::scalar(rfc3339(o.created_at)),
            other => return Err(not_emulated("User", other)),
        })
    }
}
