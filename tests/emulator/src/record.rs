//! What went over the wire: every exchange kept in memory, per-route request
//! counters, and an optional JSON-lines log.
//!
//! The recorder is the outermost layer of each listener (see
//! [`crate::server`]), so it sees injected faults as the client does. Secrets
//! are never recorded: `Authorization`, `PRIVATE-TOKEN` and cookies keep only
//! their scheme. Bodies are kept as text when they are UTF-8 and not git
//! pack data. The conformance checks read [`Exchange`]s.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::server::{DropConnection, RouteTemplate, Site, SiteState, TruncateBody};

/// Which injected fault a response carried, for the record.
#[derive(Clone, Debug)]
pub struct FaultMark(pub String);

/// One request and the emulator's response to it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Exchange {
    pub seq: u64,
    pub site: Site,
    pub method: String,
    /// The path as sent (before GHE alias rewriting).
    pub path: String,
    pub query: Option<String>,
    /// The matched route template, e.g. `/repos/{owner}/{repo}`.
    pub route: Option<String>,
    pub request_headers: BTreeMap<String, String>,
    pub request_body: Option<String>,
    pub request_body_len: usize,
    /// 0 when the connection was dropped without a response.
    pub status: u16,
    pub response_headers: BTreeMap<String, String>,
    pub response_body: Option<String>,
    pub response_body_len: usize,
    /// The injected fault, if any (`dropped_connection`, `server_error`…).
    pub fault: Option<String>,
    pub duration_ms: u64,
}

impl Exchange {
    /// The counter key: `GET /repos/{owner}/{repo}`, or the raw path for a
    /// request no route matched.
    pub fn route_key(&self) -> String {
        match &self.route {
            Some(r) => format!("{} {r}", self.method),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

#[derive(Default)]
struct Inner {
    seq: u64,
    exchanges: Vec<Exchange>,
    counts: BTreeMap<(Site, String), u64>,
    total: u64,
}

/// In-memory record plus optional log file.
pub struct Recorder {
    inner: Mutex<Inner>,
    log: Option<Mutex<File>>,
}

impl Recorder {
    /// A recorder appending JSON lines to `log_path` if given.
    pub fn new(log_path: Option<&Path>) -> std::io::Result<Self> {
        let log = match log_path {
            Some(p) => Some(Mutex::new(
                File::options().create(true).append(true).open(p)?,
            )),
            None => None,
        };
        Ok(Recorder {
            inner: Mutex::new(Inner::default()),
            log,
        })
    }

    fn push(&self, mut exchange: Exchange) {
        {
            let mut inner = self.inner.lock();
            inner.seq += 1;
            exchange.seq = inner.seq;
            inner.total += 1;
            *inner
                .counts
                .entry((exchange.site, exchange.route_key()))
                .or_default() += 1;
            inner.exchanges.push(exchange.clone());
        }
        if let Some(log) = &self.log {
            if let Ok(line) = serde_json::to_string(&exchange) {
                let _ = writeln!(log.lock(), "{line}");
            }
        }
    }

    /// Every exchange so far, in completion order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.inner.lock().exchanges.clone()
    }

    /// Requests counted for `route` (`GET /repos/{owner}/{repo}`) on `site`.
    pub fn count(&self, site: Site, route: &str) -> u64 {
        let inner = self.inner.lock();
        inner
            .counts
            .get(&(site, route.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// All per-route counts.
    pub fn counts(&self) -> BTreeMap<(Site, String), u64> {
        self.inner.lock().counts.clone()
    }

    /// Requests on every listener since the last reset.
    pub fn total(&self) -> u64 {
        self.inner.lock().total
    }

    /// Clears counters and the in-memory exchanges (not the log file).
    pub fn reset(&self) {
        let mut inner = self.inner.lock();
        inner.exchanges.clear();
        inner.counts.clear();
        inner.total = 0;
    }
}

/// Names of headers whose values are secrets.
const SECRET_HEADERS: [&str; 4] = ["authorization", "private-token", "cookie", "job-token"];

fn headers_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_str().to_string();
        let value = value.to_str().unwrap_or("<binary>");
        let value = if SECRET_HEADERS.contains(&name.as_str()) {
            match value.split_once(' ') {
                Some((scheme, _)) => format!("{scheme} <redacted>"),
                None => "<redacted>".to_string(),
            }
        } else {
            value.to_string()
        };
        out.insert(name, value);
    }
    out
}

fn text_body(headers: &HeaderMap, bytes: &[u8]) -> Option<String> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.contains("git-") || headers.contains_key(axum::http::header::CONTENT_ENCODING) {
        return None;
    }
    String::from_utf8(bytes.to_vec()).ok()
}

/// Middleware: buffers both bodies and records the exchange.
pub async fn layer(State(st): State<SiteState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut exchange = Exchange {
        seq: 0,
        site: st.site,
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        route: None,
        request_headers: headers_map(&parts.headers),
        request_body: text_body(&parts.headers, &bytes),
        request_body_len: bytes.len(),
        status: 0,
        response_headers: BTreeMap::new(),
        response_body: None,
        response_body_len: 0,
        fault: None,
        duration_ms: 0,
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    exchange.route = parts.extensions.get::<RouteTemplate>().map(|r| r.0.clone());
    exchange.fault = parts.extensions.get::<FaultMark>().map(|f| f.0.clone());
    if parts.extensions.get::<DropConnection>().is_none() {
        exchange.status = parts.status.as_u16();
        exchange.response_headers = headers_map(&parts.headers);
        exchange.response_body = text_body(&parts.headers, &bytes);
        exchange.response_body_len = bytes.len();
    }
    if parts.extensions.get::<TruncateBody>().is_some() {
        exchange.response_body_len = bytes.len() / 2;
    }
    exchange.duration_ms = started.elapsed().as_millis() as u64;
    crate::conformance::check_exchange(&st.shared, &exchange);
    st.shared.recorder.push(exchange);
    Response::from_parts(parts, Body::from(bytes))
}
