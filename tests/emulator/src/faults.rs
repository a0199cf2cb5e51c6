//! Fault injection, deterministic from a seed.
//!
//! Rules match requests by site, method and path (a glob where `*` is one
//! path segment and `**` any number, or else a plain prefix) and fire with a
//! probability. Whether a rule fires for a request is a pure function of
//! the seed, the rule's index, the request (site, method, path and query)
//! and how many times that same request was seen before — so a sequential
//! client sees the same faults on every run with the same seed, whatever
//! else runs concurrently.
//!
//! Latency rules add up and let the request proceed; the first other rule
//! that fires decides the fault. Dropped connections and truncated bodies
//! are marked on the response and carried out by [`crate::server`].

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use globset::{GlobBuilder, GlobMatcher};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::record::FaultMark;
use crate::server::{DropConnection, Site, SiteState, TruncateBody};

/// One kind of fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// An error status such as 500, 502 or 503, with a forge-shaped body.
    ServerError { status: u16 },
    /// 429 with `Retry-After`.
    TooManyRequests { retry_after_secs: u64 },
    /// GitHub's secondary rate limit: 403 with `Retry-After` and its message.
    SecondaryRateLimit { retry_after_secs: u64 },
    /// Delay the response, then answer normally.
    Latency { millis: u64 },
    /// Close the connection without answering.
    DropConnection,
    /// Send half the body with the full `Content-Length`, then close.
    TruncatedBody,
    /// Answer the real status with a body that is not valid JSON.
    MalformedJson,
    /// Answer the real status and headers with only the first half of the
    /// body, `Content-Length` to match: a clean answer that lost its end,
    /// such as a raw file cut short (a 200 nothing on the wire betrays).
    ShortBody,
}

impl Fault {
    /// The name used in counters and exchange records.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::ServerError { .. } => "server_error",
            Fault::TooManyRequests { .. } => "too_many_requests",
            Fault::SecondaryRateLimit { .. } => "secondary_rate_limit",
            Fault::Latency { .. } => "latency",
            Fault::DropConnection => "dropped_connection",
            Fault::TruncatedBody => "truncated_body",
            Fault::MalformedJson => "malformed_json",
            Fault::ShortBody => "short_body",
        }
    }
}

/// When to inject a fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    pub fault: Fault,
    /// Only on this listener.
    #[serde(default)]
    pub site: Option<Site>,
    /// Only for this method (`GET`…).
    #[serde(default)]
    pub method: Option<String>,
    /// Path glob (`/repos/*/*/pulls`, `/api/v4/**`) or prefix (`/graphql`).
    #[serde(default = "root_path")]
    pub path: String,
    /// Chance in [0, 1] that a matching request gets the fault.
    #[serde(default = "always")]
    pub probability: f64,
    /// Fire at most this many times.
    #[serde(default)]
    pub limit: Option<u64>,
}

fn root_path() -> String {
    "/".into()
}
fn always() -> f64 {
    1.0
}

impl FaultRule {
    /// A rule that always fires on every request of every listener.
    pub fn new(fault: Fault) -> Self {
        FaultRule {
            fault,
            site: None,
            method: None,
            path: root_path(),
            probability: 1.0,
            limit: None,
        }
    }
    pub fn site(mut self, site: Site) -> Self {
        self.site = Some(site);
        self
    }
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }
    pub fn path(mut self, pattern: &str) -> Self {
        self.path = pattern.to_string();
        self
    }
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = p;
        self
    }
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }
}

/// A fault that was injected, as counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InjectedFault {
    pub site: Site,
    pub method: String,
    pub path: String,
    pub fault: Fault,
}

struct Compiled {
    rule: FaultRule,
    glob: Option<GlobMatcher>,
    fired: u64,
}

impl Compiled {
    fn new(rule: FaultRule) -> Self {
        let glob = if rule.path.contains(['*', '?', '[', '{']) {
            GlobBuilder::new(&rule.path)
                .literal_separator(true)
                .build()
                .ok()
                .map(|g| g.compile_matcher())
        } else {
            None
        };
        Compiled {
            rule,
            glob,
            fired: 0,
        }
    }

    fn matches(&self, site: Site, method: &str, path: &str) -> bool {
        let r = &self.rule;
        r.site.is_none_or(|s| s == site)
            && r.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && match &self.glob {
                Some(g) => g.is_match(path),
                None => path.starts_with(&r.path),
            }
            && r.limit.is_none_or(|l| self.fired < l)
    }
}

#[derive(Default)]
struct Inner {
    seed: u64,
    rules: Vec<Compiled>,
    seen: HashMap<String, u64>,
    injected: Vec<InjectedFault>,
}

/// The fault configuration of an emulator, changeable at runtime.
pub struct Faults {
    inner: Mutex<Inner>,
}

/// What the layer should do with one request.
#[derive(Debug, Default)]
struct Decision {
    latency: Duration,
    fault: Option<Fault>,
}

impl Faults {
    pub fn new(seed: u64, rules: Vec<FaultRule>) -> Self {
        let faults = Faults {
            inner: Mutex::new(Inner {
                seed,
                ..Inner::default()
            }),
        };
        faults.set(rules);
        faults
    }

    /// Replaces all rules (counts of injected faults are kept).
    pub fn set(&self, rules: Vec<FaultRule>) {
        let mut inner = self.inner.lock();
        inner.rules = rules.into_iter().map(Compiled::new).collect();
        inner.seen.clear();
    }

    /// Adds one rule after the existing ones.
    pub fn add(&self, rule: FaultRule) {
        self.inner.lock().rules.push(Compiled::new(rule));
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.set(Vec::new());
    }

    /// Changes the seed and forgets request occurrences.
    pub fn reseed(&self, seed: u64) {
        let mut inner = self.inner.lock();
        inner.seed = seed;
        inner.seen.clear();
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        self.inner
            .lock()
            .rules
            .iter()
            .map(|c| c.rule.clone())
            .collect()
    }

    /// Every fault injected so far.
    pub fn injected(&self) -> Vec<InjectedFault> {
        self.inner.lock().injected.clone()
    }

    /// How many faults were injected so far.
    pub fn injected_count(&self) -> usize {
        self.inner.lock().injected.len()
    }

    /// Forgets injected faults.
    pub fn reset_counts(&self) {
        self.inner.lock().injected.clear();
    }

    fn decide(&self, site: Site, method: &str, path: &str, query: Option<&str>) -> Decision {
        let mut inner = self.inner.lock();
        if inner.rules.is_empty() {
            return Decision::default();
        }
        let key = format!(
            "{}\n{method}\n{path}\n{}",
            site.as_str(),
            query.unwrap_or("")
        );
        let occurrence = {
            let n = inner.seen.entry(key.clone()).or_default();
            *n += 1;
            *n
        };
        let seed = inner.seed;
        let mut decision = Decision::default();
        for (index, rule) in inner.rules.iter_mut().enumerate() {
            if !rule.matches(site, method, path) {
                continue;
            }
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(fnv1a(&[
                &seed.to_le_bytes(),
                &(index as u64).to_le_bytes(),
                key.as_bytes(),
                &occurrence.to_le_bytes(),
            ]));
            if rng.random::<f64>() >= rule.rule.probability {
                continue;
            }
            rule.fired += 1;
            match &rule.rule.fault {
                Fault::Latency { millis } => decision.latency += Duration::from_millis(*millis),
                other => {
                    decision.fault = Some(other.clone());
                    break;
                }
            }
        }
        let mut injected = Vec::new();
        if !decision.latency.is_zero() {
            injected.push(Fault::Latency {
                millis: decision.latency.as_millis() as u64,
            });
        }
        injected.extend(decision.fault.clone());
        for fault in injected {
            inner.injected.push(InjectedFault {
                site,
                method: method.into(),
                path: path.into(),
                fault,
            });
        }
        decision
    }
}

/// FNV-1a: a stable hash (std's hasher may change between releases).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100000001b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Middleware: applies the decision for this request.
pub async fn layer(State(st): State<SiteState>, request: Request, next: Next) -> Response {
    let decision = st.shared.faults.decide(
        st.site,
        request.method().as_str(),
        request.uri().path(),
        request.uri().query(),
    );
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let Some(fault) = decision.fault else {
        let mut response = next.run(request).await;
        if !decision.latency.is_zero() {
            response
                .extensions_mut()
                .insert(FaultMark("latency".into()));
        }
        return response;
    };
    let mut response = match &fault {
        Fault::ServerError { status } => server_error(st.site, *status),
        Fault::TooManyRequests { retry_after_secs } => too_many(st.site, *retry_after_secs),
        Fault::SecondaryRateLimit { retry_after_secs } => secondary(*retry_after_secs),
        Fault::DropConnection => {
            let mut r = Response::new(Body::empty());
            r.extensions_mut().insert(DropConnection);
            r
        }
        Fault::TruncatedBody => {
            let mut r = next.run(request).await;
            r.extensions_mut().insert(TruncateBody);
            r
        }
        Fault::MalformedJson => malformed(next.run(request).await).await,
        Fault::ShortBody => short(next.run(request).await).await,
        Fault::Latency { .. } => unreachable!("latency is never the deciding fault"),
    };
    response
        .extensions_mut()
        .insert(FaultMark(fault.name().into()));
    response
}

fn server_error(site: Site, status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = status.canonical_reason().unwrap_or("Server Error");
    let body = match site {
        Site::Github => json!({ "message": reason }),
        Site::Gitlab => json!({ "message": format!("{} {reason}", status.as_u16()) }),
        Site::SrhtGit | Site::SrhtLists => json!({ "errors": [{ "message": reason }] }),
    };
    (status, axum::Json(body)).into_response()
}

fn with_retry_after(mut response: Response, secs: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

fn too_many(site: Site, retry_after: u64) -> Response {
    let response = match site {
        Site::Github => (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({
                "message": "API rate limit exceeded. Please wait before retrying.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            })),
        )
            .into_response(),
        Site::Gitlab => (StatusCode::TOO_MANY_REQUESTS, "Retry later\n").into_response(),
        Site::SrhtGit | Site::SrhtLists => (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({ "errors": [{ "message": "Too many requests" }] })),
        )
            .into_response(),
    };
    with_retry_after(response, retry_after)
}

/// The documented message of GitHub's secondary rate limit.
pub const SECONDARY_RATE_LIMIT_MESSAGE: &str = "You have exceeded a secondary rate limit. \
     Please wait a few minutes before you try again. If you reach out to GitHub Support for help, \
     please include the request ID 0000:0000:0000000:0000000:00000000.";

fn secondary(retry_after: u64) -> Response {
    let body = json!({
        "message": SECONDARY_RATE_LIMIT_MESSAGE,
        "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
    });
    with_retry_after(
        (StatusCode::FORBIDDEN, axum::Json(body)).into_response(),
        retry_after,
    )
}

/// Keeps the status, replaces the body by its first half (or a lone `{`).
async fn malformed(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut = if bytes.len() >= 2 {
        bytes.slice(..bytes.len() / 2)
    } else {
        "{\"".into()
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}

/// Keeps the status and headers, replaces the body by its first half
/// with a `Content-Length` that says so.
async fn short(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(cut.len()));
    Response::from_parts(parts, Body::from(cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_and_determinism() {
        let rules = vec![FaultRule::new(Fault::ServerError { status: 503 })
            .path("/repos/*/*/pulls")
            .method("get")
            .probability(0.5)];
        let pattern = |seed| {
            let f = Faults::new(seed, rules.clone());
            (0..64)
                .map(|_| {
                    f.decide(Site::Github, "GET", "/repos/a/b/pulls", None)
                        .fault
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(pattern(7), pattern(7));
        assert_ne!(pattern(7), pattern(8));
        let hits = pattern(7).iter().filter(|h| **h).count();
        assert!((16..48).contains(&hits), "{hits}");
        let f = Faults::new(
            1,
            vec![FaultRule::new(Fault::DropConnection)
                .path("/api/v4/")
                .limit(2)],
        );
        assert!(f
            .decide(Site::Gitlab, "GET", "/api/v4/projects", None)
            .fault
            .is_some());
        assert!(f
            .decide(Site::Gitlab, "GET", "/graphql", None)
            .fault
            .is_none());
        assert!(f
            .decide(Site::Gitlab, "POST", "/api/v4/x", None)
            .fault
            .is_some());
        assert!(f
            .decide(Site::Gitlab, "POST", "/api/v4/x", None)
            .fault
            .is_none());
        assert_eq!(f.injected_count(), 2);
        let g = Faults::new(
            1,
            vec![FaultRule::new(Fault::MalformedJson).path("/repos/*/*")],
        );
        assert!(g
            .decide(Site::Github, "GET", "/repos/a/b", None)
            .fault
            .is_some());
        assert!(g
            .decide(Site::Github, "GET", "/repos/a/b/pulls", None)
            .fault
            .is_none());
    }
}
