//! The HTTP plumbing shared by every listener: the per-site state, the
//! request pipeline, and the connection loop.
//!
//! Each [`Site`] (GitHub, GitLab, git.sr.ht, lists.sr.ht) is one listener on
//! `127.0.0.1:0` serving one axum app. A request passes, outermost first:
//!
//! 1. `/_emulator/…` control routes ([`crate::control`]), which bypass the rest;
//! 2. [`crate::record`]: exchange log, per-route counters, JSON-lines log;
//! 3. [`crate::faults`]: injected latency, errors, dropped connections, bad bodies;
//! 4. [`crate::auth`]: who is calling ([`Caller`] request extension);
//! 5. [`crate::ratelimit`]: per-token budgets and rate-limit headers;
//! 6. dispatch: git smart HTTP ([`crate::githttp`]), GitHub Enterprise
//!    aliases (`/api/v3/*` → `/*`, `/api/graphql` → `/graphql`), then the
//!    forge's own axum router (`github`, `gitlab`, `sourcehut` modules).
//!
//! Transport-level faults (dropped connection, truncated body) are marked on
//! the response by the fault layer and carried out here, in the connection
//! loop, because only hyper can close a connection mid-response.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use bytes::Bytes;
use futures_util::{stream, StreamExt};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tower::{ServiceBuilder, ServiceExt};

use crate::faults::Faults;
use crate::graphql::{self, GraphqlRequest, Object};
use crate::ratelimit::RateLimits;
use crate::record::Recorder;
use crate::specs::Specs;
use crate::world::{Forge, SharedWorld};

pub use crate::auth::Caller;

/// One listener: a forge API surface with its own base URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    /// GitHub REST at `/`, GraphQL at `/graphql`, GHE aliases, git.
    Github,
    /// GitLab REST `/api/v4`, GraphQL `/api/graphql`, git.
    Gitlab,
    /// git.sr.ht: GraphQL `/query`, git at `/~user/repo`.
    SrhtGit,
    /// lists.sr.ht: GraphQL `/query`.
    SrhtLists,
}

impl Site {
    pub const ALL: [Site; 4] = [Site::Github, Site::Gitlab, Site::SrhtGit, Site::SrhtLists];

    /// The forge whose world objects this site serves.
    pub fn forge(self) -> Forge {
        match self {
            Site::Github => Forge::Github,
            Site::Gitlab => Forge::Gitlab,
            Site::SrhtGit | Site::SrhtLists => Forge::Sourcehut,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Site::Github => "github",
            Site::Gitlab => "gitlab",
            Site::SrhtGit => "srht_git",
            Site::SrhtLists => "srht_lists",
        }
    }
}

/// Base URLs of the listeners (no trailing slash).
#[derive(Clone, Debug, Serialize)]
pub struct Urls {
    pub github: String,
    pub gitlab: String,
    pub srht_git: String,
    pub srht_lists: String,
    pub smtp: SocketAddr,
}

impl Urls {
    pub fn of(&self, site: Site) -> &str {
        match site {
            Site::Github => &self.github,
            Site::Gitlab => &self.gitlab,
            Site::SrhtGit => &self.srht_git,
            Site::SrhtLists => &self.srht_lists,
        }
    }
}

/// Everything a handler may need; shared by all listeners.
pub struct Shared {
    pub world: SharedWorld,
    pub specs: Specs,
    pub urls: Urls,
    pub recorder: Recorder,
    pub faults: Faults,
    pub rate_limits: RateLimits,
    /// GitLab's GraphQL complexity and depth limits.
    pub gitlab_graphql: crate::gitlab::graphql::complexity::Limits,
    /// Requests drover sent that a real forge would reject (see
    /// [`Shared::violation`]); tests assert this stays empty.
    pub violations: Mutex<Vec<String>>,
}

/// The state every forge router receives.
pub type AppState = Arc<Shared>;

/// The context GraphQL resolvers get: the emulator and the caller.
pub struct Ctx {
    pub state: AppState,
    pub caller: Caller,
}

impl Shared {
    /// Records a conformance violation: something drover sent that the real
    /// forge would reject.
    pub fn violation(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::warn!(%message, "conformance violation");
        self.violations.lock().push(message);
    }

    /// Validates and executes a GraphQL request against `site`'s official
    /// schema with `root` as the root value, recording any violation. The
    /// answer is always HTTP 200 with `data` and/or `errors`, like the forges.
    pub async fn graphql(
        self: &Arc<Self>,
        site: Site,
        caller: Caller,
        request: GraphqlRequest,
        root: impl Object<Ctx> + 'static,
    ) -> Response {
        let specs = self.specs.clone();
        let schema = match tokio::task::spawn_blocking(move || specs.graphql_schema(site)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return graphql_error(&e.to_string()),
            Err(e) => return graphql_error(&e.to_string()),
        };
        let ctx = Ctx {
            state: self.clone(),
            caller,
        };
        let outcome = graphql::execute(&schema, &request, &root, &ctx);
        if let Some(v) = outcome.violation {
            self.violation(format!("{}: {v}", site.as_str()));
        }
        Json(outcome.body).into_response()
    }
}

fn graphql_error(message: &str) -> Response {
    Json(serde_json::json!({ "errors": [{ "message": message }] })).into_response()
}

/// The name of the matched route, e.g. `/repos/{owner}/{repo}`, carried on
/// the response so the recorder can count per route.
#[derive(Clone, Debug)]
pub struct RouteTemplate(pub String);

/// Response marker: close the connection instead of answering.
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

/// Response marker: send half the body, then close the connection.
#[derive(Clone, Copy, Debug)]
pub struct TruncateBody;

/// State of the middleware layers of one listener.
#[derive(Clone)]
pub struct SiteState {
    pub shared: AppState,
    pub site: Site,
}

/// Builds the full app of one listener around the forge router.
pub fn app(shared: AppState, site: Site) -> Router {
    let forge_router = match site {
        Site::Github => crate::github::router(shared.clone()),
        Site::Gitlab => crate::gitlab::router(shared.clone()),
        Site::SrhtGit => crate::sourcehut::git_router(shared.clone()),
        Site::SrhtLists => crate::sourcehut::lists_router(shared.clone()),
    };
    // GitHub accepts blobs up to 100 MB; axum's default body limit is 2 MB.
    let forge_router = forge_router
        .route_layer(middleware::from_fn(expose_route))
        .layer(axum::extract::DefaultBodyLimit::max(100 * 1024 * 1024));
    let st = SiteState {
        shared: shared.clone(),
        site,
    };
    let pipeline = ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(
            st.clone(),
            crate::record::layer,
        ))
        .layer(middleware::from_fn_with_state(
            st.clone(),
            crate::faults::layer,
        ))
        .layer(middleware::from_fn_with_state(
            st.clone(),
            crate::auth::layer,
        ))
        .layer(middleware::from_fn_with_state(
            st.clone(),
            crate::ratelimit::layer,
        ))
        .layer(middleware::from_fn_with_state(st.clone(), dispatch))
        .service(forge_router);
    Router::new()
        .nest("/_emulator", crate::control::router(shared))
        .fallback_service(pipeline)
}

async fn expose_route(path: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let template = path.map(|p| p.as_str().to_string());
    let mut response = next.run(request).await;
    if let Some(t) = template {
        response.extensions_mut().insert(RouteTemplate(t));
    }
    response
}

/// Git smart HTTP first, then GHE aliases, then the forge router.
async fn dispatch(State(st): State<SiteState>, mut request: Request, next: Next) -> Response {
    if let Some(target) = crate::githttp::match_path(st.site, request.uri().path()) {
        return crate::githttp::serve(st, target, request).await;
    }
    if st.site == Site::Github {
        let path = request.uri().path();
        let rewritten = if path == "/api/graphql" {
            Some("/graphql".to_string())
        } else {
            path.strip_prefix("/api/v3").map(|rest| {
                if rest.is_empty() {
                    "/".to_string()
                } else {
                    rest.to_string()
                }
            })
        };
        if let Some(new_path) = rewritten {
            let pq = match request.uri().query() {
                Some(q) => format!("{new_path}?{q}"),
                None => new_path,
            };
            if let Ok(uri) = pq.parse::<Uri>() {
                *request.uri_mut() = uri;
            }
        }
    }
    next.run(request).await
}

/// Serves `app` on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, app: Router) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                continue;
            }
        };
        let app = app.clone();
        connections.spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let app = app.clone();
                    async move { transport(app, req.map(Body::new)).await }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
}

/// Error returned to hyper to make it close the connection.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

async fn transport(app: Router, request: Request) -> Result<Response, Dropped> {
    let response = match app.oneshot(request).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    if response.extensions().get::<DropConnection>().is_some() {
        return Err(Dropped);
    }
    if response.extensions().get::<TruncateBody>().is_some() {
        return Ok(truncate(response).await);
    }
    Ok(response)
}

/// Keeps the full Content-Length but sends half the body, then fails the
/// body stream so hyper closes the connection.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = Bytes::copy_from_slice(&bytes[..bytes.len() / 2]);
    parts.headers.insert(
        axum::http::header::CONTENT_LENGTH,
        axum::http::HeaderValue::from(bytes.len().max(1)),
    );
    // Give hyper time to flush the head and the half body before failing.
    let failure = stream::once(async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "truncated by fault injection",
        ))
    });
    let chunks = stream::iter([Ok::<Bytes, std::io::Error>(half)]).chain(failure);
    Response::from_parts(parts, Body::from_stream(chunks))
}

/// A plain JSON error response, for layers that answer before the forge.
pub fn json_status(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}
