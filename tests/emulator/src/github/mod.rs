//! GitHub: REST at `/` (also `/api/v3/…`, rewritten by the server) and
//! GraphQL at `/graphql` (also `/api/graphql`), shaped after
//! `forge-specs/github/rest-api.subset.json` and `graphql-schema.graphql`.
//!
//! Layout:
//! - [`http`]: the per-request context ([`http::Gh`]: caller, base URLs,
//!   the operation's `documentation_url`), GitHub's error bodies, JSON body
//!   parsing, pagination with RFC 5988 `Link` headers;
//! - [`shapes`]: JSON of users, organisations, repositories, labels,
//!   comments, git objects, as the spec's schemas require;
//! - [`pulls`]: pull-request state kept beside the world (head/base oids,
//!   frozen stats), mergeability and the merge itself (git2);
//! - `rest_repos`, `rest_commits`, `rest_git`, `rest_refs`, `rest_contents`,
//!   `rest_pulls`, `rest_issues`: the REST handlers;
//! - [`apps`]: GitHub Apps — JWTs, installations, installation tokens
//!   that expire, the app's bot user;
//! - `graphql` (endpoint, `Query`, owners), `graphql_repo` (`Repository`,
//!   `PullRequest`), `graphql_git` (refs and git objects), `graphql_conn`
//!   (connections): the GraphQL resolvers.
//!
//! Paginated lists answer `Link` URLs the way GitHub writes them: by id
//! (`/organizations/{org_id}/repos`, `/repositories/{repository_id}/pulls`),
//! and those alias routes are served too. Every authenticated user may read
//! and write every repository (the emulator has no membership model); private
//! repositories are hidden from anonymous callers only.

// Helpers return the finished GitHub error `Response` as their `Err`, which
// handlers answer as is; boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod apps;
pub mod http;
pub mod pulls;
pub mod shapes;

mod gitops;
mod graphql;
mod graphql_conn;
mod graphql_cost;
mod graphql_git;
mod graphql_repo;
mod rest_commits;
mod rest_contents;
mod rest_git;
mod rest_issues;
mod rest_pulls;
mod rest_refs;
mod rest_repos;

use axum::routing::post;
use axum::Router;

use crate::server::AppState;

pub use http::not_found;
pub use shapes::{owner_json, repo_json};

/// GitHub's routes (canonical paths, without the `/api/v3` prefix).
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(rest_repos::routes())
        .merge(rest_commits::routes())
        .merge(rest_git::routes())
        .merge(rest_refs::routes())
        .merge(rest_contents::routes())
        .merge(rest_pulls::routes())
        .merge(rest_issues::routes())
        .merge(apps::routes())
        .route("/graphql", post(graphql::handler))
        .with_state(state)
}
