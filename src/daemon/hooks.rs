//! The daemon's HTTP side (axum): forge webhooks that trigger a sweep of
//! one repository, the probes, and the metrics.
//!
//! A webhook is checked before anything is read from it: GitHub's
//! `X-Hub-Signature-256` (HMAC-SHA256 of the body with the shared secret,
//! compared in constant time by `hmac`), GitLab's `X-Gitlab-Token`
//! (compared in constant time by `subtle`), sourcehut's
//! `X-Payload-Signature` (Ed25519 over the body followed by
//! `X-Payload-Nonce`, checked against the instance's public key). A missing or wrong signature
//! is 401, a body that is not the event's JSON 400, a repository drover has
//! not swept 404; none of them changes anything. A forge with no secret in
//! `daemon.webhooks` has no hook (404).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::{Shared, Trigger};

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/hooks/github", post(github))
        .route("/hooks/gitlab", post(gitlab))
        .route("/hooks/sourcehut", post(sourcehut))
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
/// this machine only (it names every repository, private ones included).
async fn status(
    State(shared): State<Arc<Shared>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
) -> Response {
    if !peer.ip().is_loopback() {
        return (StatusCode::FORBIDDEN, "/status answers this machine only\n").into_response();
    }
    let store = shared.store.clone();
    match tokio::task::spawn_blocking(move || crate::cli::status::report_of(&store)).await {
        Ok(Ok(report)) => axum::Json(report).into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the state store could not be read\n",
        )
            .into_response(),
    }
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

/// A hook's answer, counted in the metrics.
fn answer(shared: &Shared, forge: &str, status: StatusCode, text: &str) -> Response {
    shared.metrics.webhook(forge, status.as_u16());
    if status.is_client_error() {
        tracing::warn!(forge, status = status.as_u16(), "webhook refused: {text}");
    }
    (status, format!("{text}\n")).into_response()
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body`.
pub fn github_signature_ok(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Whether GitLab's token equals the secret, in constant time.
pub fn gitlab_token_ok(secret: &[u8], token: &str) -> bool {
    bool::from(secret.ct_eq(token.as_bytes()))
}

/// Why a delivery is not acted on: the status answered and the reason.
struct Refusal(StatusCode, String);

fn refuse(status: StatusCode, text: impl Into<String>) -> Refusal {
    Refusal(status, text.into())
}

/// Answers a delivery of `forge`: what `handle` decided, counted.
async fn deliver(
    shared: &Arc<Shared>,
    forge: &str,
    handle: impl std::future::Future<Output = Result<(StatusCode, String), Refusal>>,
) -> Response {
    match handle.await {
        Ok((status, text)) | Err(Refusal(status, text)) => answer(shared, forge, status, &text),
    }
}

/// A header's value, or 401 naming it.
fn header_of<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, Refusal> {
    headers
        .get(name.to_ascii_lowercase())
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, format!("missing {name}")))
}

/// The body as JSON, and the string at `path` in it, or 400.
fn field(body: &[u8], path: &[&str]) -> Result<(Value, String), Refusal> {
    let payload: Value = serde_json::from_slice(body)
        .map_err(|_| refuse(StatusCode::BAD_REQUEST, "the body is not JSON"))?;
    let value = path
        .iter()
        .fold(&payload, |v, key| &v[*key])
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                format!("no {} in the event", path.join(".")),
            )
        })?;
    Ok((payload, value))
}

/// Looks the repository up in the store and queues its sweep.
async fn trigger(shared: &Arc<Shared>, full_name: &str) -> Result<(StatusCode, String), Refusal> {
    let store = shared.store.clone();
    let name = full_name.to_owned();
    match tokio::task::spawn_blocking(move || store.repo(&name)).await {
        Ok(Ok(Some(_))) => {}
        Ok(Ok(None)) => {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                format!("{full_name} is not a repository this fleet has swept"),
            ))
        }
        _ => {
            return Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the state store could not be read",
            ))
        }
    }
    if !shared.ready.load(Ordering::SeqCst) {
        return Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "shutting down"));
    }
    let name = full_name.rsplit('/').next().unwrap_or(full_name).to_owned();
    let _ = shared.triggers.send(Trigger::Repo(name));
    Ok((StatusCode::ACCEPTED, format!("sweep of {full_name} queued")))
}

/// What an event that changes nothing drover looks at gets.
fn ignored(event: &str) -> Result<(StatusCode, String), Refusal> {
    Ok((
        StatusCode::ACCEPTED,
        format!("`{event}` events change nothing drover looks at"),
    ))
}

async fn github(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let handle = async {
        let loaded = shared.loaded();
        let secret = loaded.github_secret.as_ref().ok_or_else(|| {
            refuse(
                StatusCode::NOT_FOUND,
                "no GitHub webhook: set daemon.webhooks.github",
            )
        })?;
        let signature = header_of(&headers, "X-Hub-Signature-256")?;
        if !github_signature_ok(secret.expose().as_bytes(), &body, signature) {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "X-Hub-Signature-256 does not match",
            ));
        }
        let event = headers
            .get("x-github-event")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if event == "ping" {
            serde_json::from_slice::<Value>(&body)
                .map_err(|_| refuse(StatusCode::BAD_REQUEST, "the body is not JSON"))?;
            return Ok((StatusCode::OK, "pong".into()));
        }
        let (_, full_name) = field(&body, &["repository", "full_name"])?;
        match event {
            "push" | "pull_request" => trigger(&shared, &full_name).await,
            other => ignored(other),
        }
    };
    deliver(&shared, "github", handle).await
}

async fn gitlab(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let handle = async {
        let loaded = shared.loaded();
        let secret = loaded.gitlab_secret.as_ref().ok_or_else(|| {
            refuse(
                StatusCode::NOT_FOUND,
                "no GitLab webhook: set daemon.webhooks.gitlab",
            )
        })?;
        let token = header_of(&headers, "X-Gitlab-Token")?;
        if !gitlab_token_ok(secret.expose().as_bytes(), token) {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "X-Gitlab-Token does not match",
            ));
        }
        let (payload, full_name) = field(&body, &["project", "path_with_namespace"])?;
        match payload["object_kind"].as_str().unwrap_or("") {
            "push" | "merge_request" => trigger(&shared, &full_name).await,
            other => ignored(other),
        }
    };
    deliver(&shared, "gitlab", handle).await
}

/// Whether `signature` (base64) is the Ed25519 signature, by `key`, of
/// `body` followed by `nonce` — how sourcehut signs webhook payloads.
pub fn sourcehut_signature_ok(
    key: &ed25519_dalek::VerifyingKey,
    body: &[u8],
    nonce: &str,
    signature: &str,
) -> bool {
    use base64::Engine as _;
    let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&sig) else {
        return false;
    };
    let mut signed = body.to_vec();
    signed.extend_from_slice(nonce.as_bytes());
    key.verify_strict(&signed, &sig).is_ok()
}

/// A git.sr.ht webhook (`createUserWebhook` or `createGitWebhook` with
/// event `GIT_POST_RECEIVE`) whose query selects
/// `webhook { event ... on GitEvent { repository { name owner { canonicalName } } } }`.
async fn sourcehut(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let handle = async {
        let loaded = shared.loaded();
        let key = loaded.sourcehut_key.as_ref().ok_or_else(|| {
            refuse(
                StatusCode::NOT_FOUND,
                "no sourcehut webhook: set daemon.webhooks.sourcehut",
            )
        })?;
        let signature = header_of(&headers, "X-Payload-Signature")?;
        let nonce = header_of(&headers, "X-Payload-Nonce")?;
        if !sourcehut_signature_ok(key, &body, nonce, signature) {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "X-Payload-Signature does not match",
            ));
        }
        let (payload, event) = field(&body, &["data", "webhook", "event"])?;
        let repository = &payload["data"]["webhook"]["repository"];
        let (Some(owner), Some(name)) = (
            repository["owner"]["canonicalName"].as_str(),
            repository["name"].as_str(),
        ) else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "no data.webhook.repository { name owner { canonicalName } } in the event",
            ));
        };
        match event.as_str() {
            "GIT_POST_RECEIVE" => trigger(&shared, &format!("{owner}/{name}")).await,
            other => ignored(other),
        }
    };
    deliver(&shared, "sourcehut", handle).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_signatures_are_hmac_sha256_of_the_body() {
        // The example from GitHub's "Validating webhook deliveries".
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(github_signature_ok(secret, body, good));
        assert!(!github_signature_ok(secret, b"Hello, World?", good));
        assert!(!github_signature_ok(b"another secret", body, good));
        assert!(!github_signature_ok(
            secret,
            body,
            &good.replace("sha256=", "sha1=")
        ));
        assert!(!github_signature_ok(secret, body, "sha256=zz"));
        assert!(!github_signature_ok(secret, body, ""));
    }

    #[test]
    fn sourcehut_signatures_cover_the_body_then_the_nonce() {
        use base64::Engine as _;
        use ed25519_dalek::Signer as _;
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let key = signing.verifying_key();
        let body = br#"{"data":{"webhook":{"event":"GIT_POST_RECEIVE"}}}"#;
        let sign = |bytes: &[u8]| {
            base64::engine::general_purpose::STANDARD.encode(signing.sign(bytes).to_bytes())
        };
        let good = sign(&[&body[..], b"n0nce"].concat());
        assert!(sourcehut_signature_ok(&key, body, "n0nce", &good));
        assert!(!sourcehut_signature_ok(&key, body, "other", &good));
        assert!(!sourcehut_signature_ok(&key, b"{}", "n0nce", &good));
        assert!(!sourcehut_signature_ok(&key, body, "n0nce", &sign(body)));
        let stranger = ed25519_dalek::SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(!sourcehut_signature_ok(&stranger, body, "n0nce", &good));
        assert!(!sourcehut_signature_ok(&key, body, "n0nce", "not base64!"));
        assert!(!sourcehut_signature_ok(&key, body, "n0nce", ""));
    }

    #[test]
    fn gitlab_tokens_must_match_exactly() {
        assert!(gitlab_token_ok(b"s3cret", "s3cret"));
        assert!(!gitlab_token_ok(b"s3cret", "s3cre"));
        assert!(!gitlab_token_ok(b"s3cret", "s3cret "));
        assert!(!gitlab_token_ok(b"s3cret", ""));
    }
}
