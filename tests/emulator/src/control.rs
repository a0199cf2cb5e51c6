//! The emulator's own JSON API under `/_emulator/` (on every listener), for
//! the binary's users and for tests in other languages: seeding, inspection,
//! counters, exchanges, faults, rate limits and violations. These requests bypass
//! recording, faults and rate limits.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::error::Error;
use crate::faults::FaultRule;
use crate::gitstore;
use crate::ratelimit::RateLimitConfig;
use crate::seed::{self, SeedFile};
use crate::server::AppState;
use crate::world::Forge;

/// Routes nested under `/_emulator`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/urls", get(urls))
        .route("/seed", post(seed_world))
        .route("/repos", get(repos))
        .route("/refs", get(refs))
        .route("/file", get(file))
        .route("/proposals", get(proposals))
        .route("/counters", get(counters))
        .route("/counters/reset", post(reset_counters))
        .route("/exchanges", get(exchanges))
        .route("/faults", get(faults).put(set_faults).delete(clear_faults))
        .route("/faults/injected", get(injected))
        .route("/violations", get(violations))
        .route("/github/apps", post(create_app))
        .route("/github/apps/installations", post(install_app))
        .route("/github/app-tokens", put(app_tokens))
        .route("/github/app-tokens/expire", post(expire_app_tokens))
        .route("/rate-limits", get(rate_limits).put(set_rate_limits))
        .with_state(state)
}

fn error(e: Error) -> Response {
    let status = match e {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, Json(json!({ "error": e.to_string() }))).into_response()
}

async fn urls(State(st): State<AppState>) -> Response {
    Json(&st.urls).into_response()
}

async fn seed_world(State(st): State<AppState>, Json(seed): Json<SeedFile>) -> Response {
    match seed::apply(&mut st.world.lock(), &seed) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(e),
    }
}

async fn repos(State(st): State<AppState>) -> Response {
    let world = st.world.lock();
    Json(world.repos.values().collect::<Vec<_>>()).into_response()
}

#[derive(Deserialize)]
struct RepoQuery {
    forge: Forge,
    path: String,
    #[serde(rename = "ref")]
    rev: Option<String>,
    file: Option<String>,
}

async fn refs(State(st): State<AppState>, Query(q): Query<RepoQuery>) -> Response {
    match seed::refs(&st.world.lock(), q.forge, &q.path) {
        Ok(r) => Json(r).into_response(),
        Err(e) => error(e),
    }
}

async fn file(State(st): State<AppState>, Query(q): Query<RepoQuery>) -> Response {
    let world = st.world.lock();
    let repo = match world.require_repo(q.forge, &q.path) {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    let rev = q.rev.unwrap_or_else(|| repo.default_branch.clone());
    let Some(file) = q.file else {
        return error(Error::Invalid("query parameter `file` is required".into()));
    };
    match gitstore::read_file(&repo.git_dir, &rev, &file) {
        Ok(Some(bytes)) => bytes.into_response(),
        Ok(None) => error(Error::NotFound(format!("{file} at {rev}"))),
        Err(e) => error(e),
    }
}

async fn proposals(State(st): State<AppState>, Query(q): Query<RepoQuery>) -> Response {
    let world = st.world.lock();
    match world.require_repo(q.forge, &q.path) {
        Ok(repo) => Json(world.proposals_of(repo.id)).into_response(),
        Err(e) => error(e),
    }
}

async fn counters(State(st): State<AppState>) -> Response {
    let mut per_site: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for ((site, route), n) in st.recorder.counts() {
        per_site
            .entry(site.as_str().to_string())
            .or_default()
            .insert(route, n);
    }
    Json(json!({ "total": st.recorder.total(), "routes": per_site })).into_response()
}

async fn reset_counters(State(st): State<AppState>) -> Response {
    st.recorder.reset();
    StatusCode::NO_CONTENT.into_response()
}

async fn exchanges(State(st): State<AppState>) -> Response {
    Json(st.recorder.exchanges()).into_response()
}

async fn faults(State(st): State<AppState>) -> Response {
    Json(st.faults.rules()).into_response()
}

async fn set_faults(State(st): State<AppState>, Json(rules): Json<Vec<FaultRule>>) -> Response {
    st.faults.set(rules);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(st): State<AppState>) -> Response {
    st.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn injected(State(st): State<AppState>) -> Response {
    Json(st.faults.injected()).into_response()
}

async fn violations(State(st): State<AppState>) -> Response {
    Json(st.violations.lock().clone()).into_response()
}

#[derive(Deserialize)]
struct NewApp {
    id: u64,
    slug: String,
    owner: String,
    /// The app's RSA public key, PEM.
    public_key: String,
}

/// Registers a GitHub App (`{id, slug, owner, public_key}`).
async fn create_app(State(st): State<AppState>, Json(app): Json<NewApp>) -> Response {
    let mut world = st.world.lock();
    match crate::github::apps::create_app(
        &mut world,
        app.id,
        &app.slug,
        &app.owner,
        &app.public_key,
    ) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct NewInstallation {
    app_id: u64,
    account: String,
}

/// Installs an app on an account (`{app_id, account}`); answers its id.
async fn install_app(State(st): State<AppState>, Json(i): Json<NewInstallation>) -> Response {
    match crate::github::apps::install(&mut st.world.lock(), i.app_id, &i.account) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct TokenLife {
    lifetime_secs: i64,
    #[serde(default)]
    uses: Option<u64>,
}

/// How long installation tokens issued from now on live, and after how
/// many requests they stop working (`{lifetime_secs, uses}`).
async fn app_tokens(State(st): State<AppState>, Json(life): Json<TokenLife>) -> Response {
    crate::github::apps::set_lifetime(&mut st.world.lock(), life.lifetime_secs, life.uses);
    StatusCode::NO_CONTENT.into_response()
}

/// Expires every installation token issued so far.
async fn expire_app_tokens(State(st): State<AppState>) -> Response {
    crate::github::apps::expire_all(&mut st.world.lock());
    StatusCode::NO_CONTENT.into_response()
}

/// The rate-limit budgets' sizes and windows.
async fn rate_limits(State(st): State<AppState>) -> Response {
    Json(st.rate_limits.config()).into_response()
}

/// New budget sizes and windows; every budget starts full.
async fn set_rate_limits(
    State(st): State<AppState>,
    Json(config): Json<RateLimitConfig>,
) -> Response {
    st.rate_limits.configure(config);
    StatusCode::NO_CONTENT.into_response()
}
