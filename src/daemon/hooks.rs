//! The daemon's HTTP side (axum): forge webhooks that trigger a sweep of
//! one repository, the probes, `/status` and the metrics.
//!
//! `/hooks/{kind}` knows no forge's format: the forge's own
//! [`Webhook`](crate::forge::hook::Webhook) checks the delivery before
//! anything is read from it and names the repository by its full name. A
//! missing or wrong signature is 401, a body that is not the event's JSON
//! 400, a repository drover has not swept 404; none of them changes
//! anything. A forge with no webhook in `daemon.webhooks` has no hook
//! (404). At most `daemon.max_webhooks_in_flight` deliveries are checked at
//! once (more get 503, which forges deliver again), and a delivery whose
//! id was seen lately is answered without queueing a sweep again.
//!
//! `/status` names every repository, private ones included. The TCP peer
//! alone does not say who asks when a proxy runs on the same host, so
//! without `daemon.status_token` it answers only loopback peers that send
//! no forwarding header (`Forwarded`, `X-Forwarded-For`, `X-Real-IP`);
//! with it, any client that sends `Authorization: Bearer TOKEN` (compared
//! in constant time).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{Shared, Trigger};
use crate::forge::hook::{HookEvent, HookRefusal};
use crate::model::{ForgeKind, Secret};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use subtle::ConstantTimeEq as _;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/hooks/{kind}", post(hook))
        .with_state(shared)
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response()
    }
}

/// What `drover status --json` would print, from the daemon's store; to
/// whom [`status_refusal`] lets in.
async fn status(
    State(shared): State<Arc<Shared>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let token = shared.loaded().status_token.clone();
    if let Some((status, why)) = status_refusal(token.as_ref(), peer, &headers) {
        return (status, format!("{why}\n")).into_response();
    }
    let store = shared.store.clone();
    match tokio::task::spawn_blocking(move || crate::status::report_of(&store)).await {
        Ok(Ok(report)) => axum::Json(report).into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the state store could not be read\n",
        )
            .into_response(),
    }
}

/// Headers a proxy adds when it forwards a request: their presence says
/// the loopback peer is not the client.
const FORWARDING: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// Why `/status` is refused to this client, if it is: a token, when one is
/// configured, lets anyone in (a wrong one is refused); without one, only
/// a loopback peer that forwards nobody is let in.
pub fn status_refusal(
    token: Option<&Secret>,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
) -> Option<(StatusCode, &'static str)> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let (Some(token), Some(bearer)) = (token, bearer) {
        return if bool::from(token.expose().as_bytes().ct_eq(bearer.trim().as_bytes())) {
            None
        } else {
            Some((
                StatusCode::UNAUTHORIZED,
                "the bearer token is not daemon.status_token",
            ))
        };
    }
    let forwarded = FORWARDING.iter().any(|h| headers.contains_key(*h));
    if peer.ip().is_loopback() && !forwarded {
        return None;
    }
    Some(match token {
        Some(_) => (
            StatusCode::UNAUTHORIZED,
            "/status needs daemon.status_token as `Authorization: Bearer TOKEN`",
        ),
        None => (
            StatusCode::FORBIDDEN,
            "/status answers this machine only (a loopback client sending no forwarding header); set daemon.status_token to let others in",
        ),
    })
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.encode(),
    )
        .into_response()
}

/// A delivery to `/hooks/{kind}`: checked and read by that forge's
/// webhook, then the repository it names is swept. A forge without a
/// webhook in `daemon.webhooks` has none here (404).
async fn hook(
    State(shared): State<Arc<Shared>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(kind) = ForgeKind::parse(&kind) else {
        return (StatusCode::NOT_FOUND, "no such forge\n").into_response();
    };
    let (status, text) = match shared.webhooks_in_flight.clone().try_acquire_owned() {
        Ok(_permit) => match deliver(&shared, kind, &headers, &body).await {
            Ok(answer) | Err(answer) => answer,
        },
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many deliveries in progress; deliver again later".into(),
        ),
    };
    let forge = kind.as_str();
    shared.metrics.webhook(forge, status.as_u16());
    if status.is_client_error() {
        tracing::warn!(forge, status = status.as_u16(), "webhook refused: {text}");
    } else {
        tracing::info!(forge, status = status.as_u16(), "webhook: {text}");
    }
    (status, format!("{text}\n")).into_response()
}

/// What a delivery gets: the status and why.
type Answer = (StatusCode, String);

async fn deliver(
    shared: &Arc<Shared>,
    kind: ForgeKind,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Answer, Answer> {
    let loaded = shared.loaded();
    let hook = loaded.hooks.get(&kind).ok_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            format!(
                "no {} webhook: set daemon.webhooks.{kind}",
                crate::forge::profile(kind).title()
            ),
        )
    })?;
    let event = hook
        .verify(headers, body)
        .map_err(|refusal| match refusal {
            HookRefusal::Unauthorized(why) => (StatusCode::UNAUTHORIZED, why),
            HookRefusal::Malformed(why) => (StatusCode::BAD_REQUEST, why),
        })?;
    match event {
        HookEvent::Ping => Ok((StatusCode::OK, "pong".into())),
        HookEvent::Ignored { event } => Ok((
            StatusCode::ACCEPTED,
            format!("`{event}` events change nothing drover looks at"),
        )),
        HookEvent::Changed {
            full_name,
            delivery,
        } => {
            let delivery = delivery.map(|id| format!("{kind}:{id}"));
            trigger(shared, &full_name, delivery.as_deref()).await
        }
    }
}

/// Looks the repository up in the store by its full name and queues its
/// sweep, unless this delivery (by its id) already did.
async fn trigger(
    shared: &Arc<Shared>,
    full_name: &str,
    delivery: Option<&str>,
) -> Result<Answer, Answer> {
    let store = shared.store.clone();
    let name = full_name.to_owned();
    match tokio::task::spawn_blocking(move || store.repo(&name)).await {
        Ok(Ok(Some(_))) => {}
        Ok(Ok(None)) => {
            return Err((
                StatusCode::NOT_FOUND,
                format!("{full_name} is not a repository this fleet has swept"),
            ))
        }
        _ => {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "the state store could not be read".into(),
            ))
        }
    }
    if !shared.ready.load(Ordering::SeqCst) {
        return Err((StatusCode::SERVICE_UNAVAILABLE, "shutting down".into()));
    }
    if let Some(id) = delivery {
        let first = shared
            .deliveries
            .lock()
            .expect("not poisoned")
            .first_time(id, std::time::Instant::now());
        if !first {
            return Ok((
                StatusCode::OK,
                format!("delivery {id} was received before; its sweep is not queued again"),
            ));
        }
    }
    let _ = shared.triggers.send(Trigger::Repo(full_name.to_owned()));
    Ok((StatusCode::ACCEPTED, format!("sweep of {full_name} queued")))
}
