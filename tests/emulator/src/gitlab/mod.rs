//! GitLab: REST v4 under `/api/v4/` and GraphQL at `/api/graphql`.
//!
//! Shapes follow `forge-specs/gitlab/openapi_v2.subset.yaml` (operations and
//! parameters), `gitlab/commit-create.from-docs.json` (the commit-with-actions
//! body) and the go-gitlab fixtures (entity fields). Projects and groups are
//! addressed by numeric id or by URL-encoded full path (`acme%2Fplatform`),
//! which axum's `Path` extractor decodes; an unencoded path matches no route
//! and gets GitLab's `{"error": "404 Not Found"}`.
//!
//! Errors use GitLab's shapes: `{"message": "404 Project Not Found"}` for
//! missing objects, `{"error": "title is missing"}` for Grape parameter
//! errors (400), `{"message": "401 Unauthorized"}` for a bad token, and
//! `{"message": […]}` for model validation errors (409 on a duplicate MR).
//!
//! Submodules, one per area: [`params`] (Grape-like parameters and offset
//! pagination headers), [`entities`] (JSON shapes), [`groups`],
//! [`projects`], [`repository`] (tree, blobs, branches, compare, commit
//! reads), [`files`], [`commits`] (commit log and creation), [`actions`]
//! (the commit engine, shared with the files API), [`merge_requests`],
//! [`merge`], [`notes`], [`users`] (look-up by username), [`git`] (git2 helpers: history, diffs, merges),
//! [`graphql`], [`state`] (GitLab-only state kept as a world extension)
//! and [`sha256`].

// Handlers and their helpers fail with the complete GitLab error response
// (`Result<_, Response>`, as axum handlers do); it is built once per request,
// so its size is of no concern.
#![allow(clippy::result_large_err)]

pub mod actions;
pub mod commits;
pub mod entities;
pub mod files;
pub mod git;
pub mod graphql;
pub mod groups;
pub mod merge;
pub mod merge_requests;
pub mod notes;
pub mod params;
pub mod projects;
pub mod repository;
pub mod sha256;
pub mod state;
pub mod users;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::auth::{self, Caller};
use crate::server::{AppState, Site};
use crate::world::{Forge, Repository, Visibility, World};

pub use entities::project_json;
pub use state::State as GitlabState;

/// A handler's outcome: the response, or an error response (`?`-friendly).
pub type Reply = Result<Response, Response>;

/// GitLab's routes: REST v4 and GraphQL.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(groups::routes())
        .merge(projects::routes())
        .merge(repository::routes())
        .merge(files::routes())
        .merge(commits::routes())
        .merge(merge_requests::routes())
        .merge(merge::routes())
        .merge(notes::routes())
        .merge(users::routes())
        .merge(graphql::routes())
        .fallback(no_route)
        .layer(middleware::from_fn(reject_bad_token))
        .with_state(state)
}

/// A token GitLab does not know is refused everywhere, even on public data.
async fn reject_bad_token(request: Request, next: Next) -> Response {
    let bad = request
        .extensions()
        .get::<Caller>()
        .is_some_and(Caller::bad_token);
    if !bad {
        return next.run(request).await;
    }
    if request.uri().path() == "/api/graphql" {
        // GraphqlController answers an invalid token in GraphQL's shape.
        return error(
            StatusCode::UNAUTHORIZED,
            json!({ "errors": [{ "message": "Invalid token" }] }),
        );
    }
    auth::unauthorized(Site::Gitlab)
}

/// What GitLab answers for a path no API route matches.
async fn no_route() -> Response {
    error(StatusCode::NOT_FOUND, json!({ "error": "404 Not Found" }))
}

/// A JSON error response.
pub fn error(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// `404 {what} Not Found`, e.g. `not_found("Project")`.
pub fn not_found(what: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        json!({ "message": format!("404 {what} Not Found") }),
    )
}

/// A Grape parameter error: 400 `{"error": …}`.
pub fn bad_param(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, json!({ "error": message.into() }))
}

/// An API error with a message: `{"message": …}` (a string, an array of
/// validation messages, or an object of them).
pub fn api_error(status: StatusCode, message: impl Into<Value>) -> Response {
    error(status, json!({ "message": message.into() }))
}

/// `403 Forbidden`.
pub fn forbidden() -> Response {
    api_error(StatusCode::FORBIDDEN, "403 Forbidden")
}

/// `401 Unauthorized`: writes need a user.
pub fn unauthorized() -> Response {
    auth::unauthorized(Site::Gitlab)
}

/// An internal failure (a git error the emulator did not expect).
pub fn internal(e: impl std::fmt::Display) -> Response {
    api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("500 Internal Server Error: {e}"),
    )
}

/// A 200 JSON answer.
pub fn ok(body: Value) -> Response {
    Json(body).into_response()
}

/// A 201 JSON answer (Grape's default for POST).
pub fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// Finds a project by numeric id or full path (already percent-decoded).
pub fn find_project<'w>(world: &'w World, id: &str) -> Option<&'w Repository> {
    match id.parse::<u64>() {
        Ok(n) => world.repos.get(&n).filter(|r| r.forge == Forge::Gitlab),
        Err(_) => world.repo(Forge::Gitlab, id),
    }
}

/// A project the caller may read, or `404 Project Not Found`.
pub fn readable<'w>(
    world: &'w World,
    caller: &Caller,
    id: &str,
) -> Result<&'w Repository, Response> {
    match find_project(world, id) {
        Some(r) if r.visibility == Visibility::Public || caller.user.is_some() => Ok(r),
        _ => Err(not_found("Project")),
    }
}

/// A project the caller may write to: a user is required (401), the
/// project must exist (404) and not be archived (403, archived projects are
/// read-only). Returns the project id and the caller's login.
pub fn writable(world: &World, caller: &Caller, id: &str) -> Result<(u64, String), Response> {
    let Some(user) = caller.user.clone() else {
        return Err(unauthorized());
    };
    let repo = readable(world, caller, id)?;
    if repo.archived {
        return Err(forbidden());
    }
    Ok((repo.id, user))
}

/// The caller's login, or 401.
pub fn require_user(caller: &Caller) -> Result<String, Response> {
    caller.user.clone().ok_or_else(unauthorized)
}

/// A timestamp as GitLab writes it: `2019-08-20T10:58:54.000Z`.
pub fn ts(t: i64) -> String {
    let s = crate::world::rfc3339(t);
    match s.strip_suffix('Z') {
        Some(base) => format!("{base}.000Z"),
        None => s,
    }
}

/// An optional timestamp, `null` when absent.
pub fn ts_opt(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| Value::String(ts(t)))
}

/// Opens the bare repository of a project (500 if it cannot be opened).
pub fn open_git(r: &Repository) -> Result<git2::Repository, Response> {
    git::open(&r.git_dir).map_err(internal)
}

/// Reads a JSON array of values as a paginated response.
pub fn paged(page: &params::Page, items: Vec<Value>, url: &str) -> Response {
    let (slice, headers) = page.apply(items, url);
    headers.set(ok(Value::Array(slice)))
}

/// The request's URL without query, for Link headers.
pub fn request_url(base: &str, uri: &axum::http::Uri) -> String {
    format!("{base}{}", uri.path())
}
