//! What every HTTP forge client shares: a cap on concurrent requests, a
//! count of requests sent, and retries — Retry-After and rate-limit reset
//! headers honoured, 5xx and transport failures backed off with jitter,
//! secondary rate limits (GitHub's 403 with Retry-After) treated as 429 —
//! and the rate-limit budgets (`budget.rs`): a request waits for its
//! paced slot or its budget's reset, or fails at once as
//! [`ForgeError::RateLimited`] when the reset is further than
//! [`RetryPolicy::max_wait`].
//!
//! A client implements only "send once" and hands it to [`Transport::send`],
//! or to [`Transport::send_and`] with what it does with an answer (decode
//! the JSON, verify a blob), so that an answer refused as malformed is
//! retried like a 5xx instead of failing everything it carried.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tokio::sync::Semaphore;

use super::budget::{Admit, Budgets, Lane, Observed};
use super::ForgeError;

/// A path segment or query value, percent-encoded: everything but
/// letters, digits and `-_.~`, so a name from a forge answer or a config
/// (`/`, `?`, `#`, `%`, `..` included) stays one segment of the path it
/// is put in.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One HTTP answer, read whole.
/// A transport failure in words a person can act on: the host (never the
/// whole URL) and the cause at the bottom of reqwest's chain — a name that
/// does not resolve, a refused connection, a timeout — where reqwest alone
/// says "error sending request".
pub fn network_error(e: reqwest::Error) -> ForgeError {
    let host = e.url().and_then(|u| {
        let host = u.host_str()?;
        Some(match u.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        })
    });
    let host = host.unwrap_or_else(|| "the forge".into());
    let mut dns = false;
    let mut refused = false;
    let mut innermost = None;
    let mut source = std::error::Error::source(&e);
    while let Some(err) = source {
        let text = err.to_string();
        dns |= text.contains("dns error");
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        innermost = Some(text);
        source = err.source();
    }
    let timeout = e.is_timeout();
    let cause = innermost.unwrap_or_else(|| e.without_url().to_string());
    ForgeError::Network(if timeout {
        format!("{host} did not answer in time")
    } else if dns {
        format!("cannot resolve the host name {host}: {cause}")
    } else if refused {
        format!("cannot connect to {host}: connection refused")
    } else {
        format!("{host}: {cause}")
    })
}

#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl RawResponse {
    /// Sends one reqwest request and reads its answer whole. Errors leave
    /// the URL out: reqwest's name it, and it is the request's business,
    /// not the log's.
    pub async fn read(request: reqwest::RequestBuilder) -> Result<RawResponse, ForgeError> {
        let response = request.send().await.map_err(network_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(network_error)?;
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// The body as JSON, or a transient error: a truncated or garbled body
    /// is worth another try.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ForgeError> {
        serde_json::from_slice(&self.body).map_err(|e| ForgeError::Malformed(e.to_string()))
    }

    fn header(&self, name: &str) -> Option<u64> {
        self.headers.get(name)?.to_str().ok()?.trim().parse().ok()
    }
}

/// How long drover waits, by default, for a rate-limit budget to reset:
/// GitLab.com's window (a minute) always; GitHub's (an hour) when less
/// than a quarter of it is left.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(900);

/// Retry and concurrency settings.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries after the first.
    pub retries: u32,
    /// First backoff; doubles each time, with jitter, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// A forge asking to wait longer than this — a Retry-After, or a
    /// spent budget's reset — fails the request instead, without sending
    /// it (the sweep leaves the repository waiting for budget and goes on).
    pub max_wait: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_wait: DEFAULT_MAX_WAIT,
            concurrency: 8,
        }
    }
}

/// What a forge answered so far: responses by HTTP status (`error` for
/// an attempt that got no answer), and the rate-limit budget its last
/// answer that said one reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Traffic {
    pub responses: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_remaining: Option<u64>,
    /// Milliseconds spent waiting for rate-limit budgets (paced slots and
    /// resets; overlapping waits count once).
    #[serde(skip_serializing_if = "is_zero")]
    pub budget_wait_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Traffic {
    /// The responses counted since `earlier`; the budget as it is now.
    pub fn since(&self, earlier: &Traffic) -> Traffic {
        let responses = self
            .responses
            .iter()
            .map(|(status, n)| {
                let before = earlier.responses.get(status).copied().unwrap_or(0);
                (status.clone(), n.saturating_sub(before))
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        Traffic {
            responses,
            rate_limit_remaining: self.rate_limit_remaining,
            budget_wait_ms: self.budget_wait_ms.saturating_sub(earlier.budget_wait_ms),
        }
    }

    fn count(&mut self, outcome: &Result<RawResponse, ForgeError>) {
        let status = match outcome {
            Ok(r) => {
                if let Some(left) = r
                    .header("x-ratelimit-remaining")
                    .or_else(|| r.header("ratelimit-remaining"))
                {
                    self.rate_limit_remaining = Some(left);
                }
                r.status.as_u16().to_string()
            }
            Err(_) => "error".to_owned(),
        };
        *self.responses.entry(status).or_default() += 1;
    }
}

/// The shared sending machinery of one forge client.
#[derive(Clone)]
pub struct Transport {
    policy: RetryPolicy,
    permits: Arc<Semaphore>,
    sent: Arc<AtomicU64>,
    traffic: Arc<Mutex<Traffic>>,
    budgets: Arc<Mutex<Budgets>>,
}

impl Transport {
    pub fn new(policy: RetryPolicy) -> Transport {
        Transport {
            permits: Arc::new(Semaphore::new(policy.concurrency.max(1))),
            sent: Arc::new(AtomicU64::new(0)),
            traffic: Arc::default(),
            budgets: Arc::default(),
            policy,
        }
    }

    /// Requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Responses by status, the last rate-limit budget seen and the time
    /// spent waiting for budgets.
    pub fn traffic(&self) -> Traffic {
        let mut traffic = self.traffic.lock().expect("never poisoned").clone();
        traffic.budget_wait_ms = self.budgets().waited().as_millis() as u64;
        traffic
    }

    fn budgets(&self) -> std::sync::MutexGuard<'_, Budgets> {
        self.budgets.lock().expect("never poisoned")
    }

    /// How far the sweep is through its current step (`done == 0` starts
    /// one), so that a budget the rest would overspend is paced.
    pub fn progress(&self, done: u64, left: u64) {
        self.budgets().progress(done, left);
    }

    /// What an answer's body said of its budget (GitHub GraphQL's
    /// `rateLimit`), beyond its headers.
    pub fn observe(&self, lane: Lane, observed: Observed) {
        self.budgets().settle(lane, 0, Some(observed));
    }

    /// Waits until `lane`'s budget lets a request go; the points it holds.
    async fn admit(&self, lane: Lane, what: &str) -> Result<u64, ForgeError> {
        loop {
            let admit =
                self.budgets()
                    .admit(lane, tokio::time::Instant::now(), self.policy.max_wait);
            match admit {
                Admit::Send { after, reserved } => {
                    if !after.is_zero() {
                        tokio::time::sleep(after).await;
                    }
                    return Ok(reserved);
                }
                Admit::Wait(wait) => {
                    tracing::debug!(
                        request = what,
                        lane,
                        wait_ms = wait.as_millis() as u64,
                        "waiting for the rate-limit budget"
                    );
                    tokio::time::sleep(wait).await;
                }
                Admit::Refuse { reset_in_secs } => {
                    return Err(ForgeError::RateLimited {
                        retry_after_secs: reset_in_secs,
                    })
                }
            }
        }
    }

    /// Sends with retries. `once` performs one attempt; `what` names the
    /// request in errors (method and path, never a token).
    pub async fn send<F, Fut>(&self, what: &str, once: F) -> Result<RawResponse, ForgeError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<RawResponse, ForgeError>>,
    {
        self.send_and(what, once, Ok).await
    }

    /// Sends with retries and hands every answer to `accept` inside the
    /// retry loop, so that an answer it refuses as transient — a body that
    /// does not parse, content that does not hash to its blob id — is asked
    /// for again like a 5xx, and never reaches the caller.
    pub async fn send_and<F, Fut, T, A>(
        &self,
        what: &str,
        once: F,
        accept: A,
    ) -> Result<T, ForgeError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<RawResponse, ForgeError>>,
        A: Fn(RawResponse) -> Result<T, ForgeError>,
    {
        self.send_on(super::budget::ANY, what, once, accept).await
    }

    /// [`Transport::send_and`] for a request that spends the budget
    /// `lane` (GitHub's `core` or `graphql`).
    pub async fn send_on<F, Fut, T, A>(
        &self,
        lane: Lane,
        what: &str,
        once: F,
        accept: A,
    ) -> Result<T, ForgeError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<RawResponse, ForgeError>>,
        A: Fn(RawResponse) -> Result<T, ForgeError>,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        let mut attempt = 0;
        loop {
            let reserved = self.admit(lane, what).await?;
            // What it holds goes back even if this future is dropped
            // mid-flight (a probe included).
            let mut held = Held {
                budgets: &self.budgets,
                lane,
                reserved,
                settled: false,
            };
            self.sent.fetch_add(1, Ordering::Relaxed);
            let outcome = once().await;
            held.settled = true;
            match &outcome {
                Ok(r) => {
                    let observed = Observed::from_headers(&r.headers);
                    self.budgets().settle(lane, reserved, observed);
                }
                Err(_) => self.budgets().release(lane, reserved),
            }
            self.traffic.lock().expect("never poisoned").count(&outcome);
            let outcome = outcome.and_then(classify).and_then(&accept);
            let error = match outcome {
                Ok(answer) => return Ok(answer),
                Err(e) => e,
            };
            if !error.is_transient() || attempt >= self.policy.retries {
                return Err(error.context(what));
            }
            let wait = match &error {
                ForgeError::RateLimited { retry_after_secs } => {
                    Duration::from_secs(*retry_after_secs)
                }
                _ => self.backoff(attempt),
            };
            if wait > self.policy.max_wait {
                return Err(error.context(what));
            }
            tracing::debug!(request = what, attempt, wait_ms = wait.as_millis() as u64, %error, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .policy
            .base_backoff
            .saturating_mul(1 << attempt.min(16));
        let capped = exp.min(self.policy.max_backoff);
        // Full jitter: anywhere between half and all of the backoff.
        let half = capped / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// What a request in flight holds of its budget, given back if it never
/// settles.
struct Held<'t> {
    budgets: &'t Mutex<Budgets>,
    lane: Lane,
    reserved: u64,
    settled: bool,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if !self.settled {
            if let Ok(mut budgets) = self.budgets.lock() {
                budgets.release(self.lane, self.reserved);
            }
        }
    }
}

/// Turns throttling and server errors into errors; everything else is the
/// caller's to interpret.
fn classify(response: RawResponse) -> Result<RawResponse, ForgeError> {
    let status = response.status;
    let retry_after = response.header("retry-after");
    let remaining = response
        .header("x-ratelimit-remaining")
        .or_else(|| response.header("ratelimit-remaining"));
    let reset = response
        .header("x-ratelimit-reset")
        .or_else(|| response.header("ratelimit-reset"));
    let throttled = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN && (retry_after.is_some() || remaining == Some(0)));
    if throttled {
        let wait = retry_after.unwrap_or_else(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            reset.map(|r| r.saturating_sub(now).max(1)).unwrap_or(60)
        });
        return Err(ForgeError::RateLimited {
            retry_after_secs: wait,
        });
    }
    if status.is_server_error() {
        return Err(ForgeError::Api {
            status: Some(status.as_u16()),
            message: format!("server error {status}"),
        });
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> RawResponse {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        RawResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Bytes::from(body.to_owned()),
        }
    }

    fn fast() -> Transport {
        Transport::new(RetryPolicy {
            retries: 3,
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            max_wait: Duration::from_secs(5),
            concurrency: 2,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn retries_throttling_and_server_errors_then_succeeds() {
        let answers = Mutex::new(vec![
            response(200, &[], "ok"),
            response(403, &[("retry-after", "2")], "secondary rate limit"),
            response(429, &[("retry-after", "1")], ""),
            response(502, &[], ""),
        ]);
        let t = fast();
        let started = tokio::time::Instant::now();
        let r = t
            .send("GET /x", || {
                let next = answers.lock().unwrap().pop().unwrap();
                async move { Ok(next) }
            })
            .await
            .unwrap();
        assert_eq!(r.body, "ok");
        assert_eq!(t.requests(), 4);
        assert!(
            started.elapsed() >= Duration::from_secs(3),
            "Retry-After honoured"
        );
        let traffic = t.traffic();
        let by_status: Vec<(&str, u64)> = traffic
            .responses
            .iter()
            .map(|(s, n)| (s.as_str(), *n))
            .collect();
        assert_eq!(by_status, [("200", 1), ("403", 1), ("429", 1), ("502", 1)]);
        assert_eq!(traffic.rate_limit_remaining, None, "no answer said one");
    }

    #[tokio::test(start_paused = true)]
    async fn traffic_keeps_the_last_budget_and_counts_failed_attempts() {
        let answers = Mutex::new(vec![
            Ok(response(200, &[], "no budget header")),
            Ok(response(200, &[("ratelimit-remaining", "41")], "gitlab")),
            Err(ForgeError::Network("connection reset".into())),
            Ok(response(
                200,
                &[("x-ratelimit-remaining", "4999")],
                "github",
            )),
        ]);
        let t = fast();
        for _ in 0..3 {
            t.send("GET /x", || {
                let next = answers.lock().unwrap().pop().unwrap();
                async move { next }
            })
            .await
            .unwrap();
        }
        let early = Traffic {
            responses: [("200".to_owned(), 1)].into(),
            rate_limit_remaining: Some(4999),
            ..Traffic::default()
        };
        let traffic = t.traffic();
        assert_eq!(traffic.rate_limit_remaining, Some(41));
        assert_eq!(traffic.responses["error"], 1);
        assert_eq!(traffic.responses["200"], 3);
        let later = traffic.since(&early);
        assert_eq!(later.responses.get("200"), Some(&2));
        assert_eq!(later.responses.get("error"), Some(&1));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_retries_and_names_the_request() {
        let t = fast();
        let err = t
            .send("GET /repos/a/b", || async { Ok(response(503, &[], "")) })
            .await
            .unwrap_err();
        assert_eq!(t.requests(), 4);
        assert!(err.to_string().contains("GET /repos/a/b"), "{err}");
        assert!(err.is_transient());
    }

    #[tokio::test(start_paused = true)]
    async fn client_errors_are_not_retried_and_long_waits_fail_fast() {
        let t = fast();
        let r = t
            .send("GET /x", || async { Ok(response(404, &[], "{}")) })
            .await
            .unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(t.requests(), 1);
        let err = t
            .send("GET /y", || async {
                Ok(response(
                    403,
                    &[("x-ratelimit-remaining", "0"), ("retry-after", "3600")],
                    "",
                ))
            })
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ForgeError::RateLimited {
                    retry_after_secs: 3600
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn answers_are_decoded_inside_the_retry_loop() {
        let answers = Mutex::new(vec![
            response(200, &[], "{\"ok\": true}"),
            response(200, &[], "{\"ok\": tr"),
        ]);
        let t = fast();
        let value: serde_json::Value = t
            .send_and(
                "POST /graphql",
                || {
                    let next = answers.lock().unwrap().pop().unwrap();
                    async move { Ok(next) }
                },
                |r| r.json(),
            )
            .await
            .unwrap();
        assert_eq!(value["ok"], true);
        assert_eq!(t.requests(), 2, "the cut answer was asked for again");

        // An answer refused for good is not asked for again.
        let refused = t
            .send_and(
                "GET /x",
                || async { Ok(response(200, &[], "{}")) },
                |_| -> Result<(), ForgeError> { Err(ForgeError::Conflict("moved".into())) },
            )
            .await
            .unwrap_err();
        assert!(matches!(refused, ForgeError::Conflict(_)), "{refused:?}");
        assert_eq!(t.requests(), 3);
    }

    #[test]
    fn malformed_bodies_are_transient() {
        let err = response(200, &[], "{\"trunc")
            .json::<serde_json::Value>()
            .unwrap_err();
        assert!(err.is_transient());
    }
}
