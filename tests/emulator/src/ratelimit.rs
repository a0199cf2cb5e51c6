//! Primary rate limits: a per-caller budget per site and resource that
//! decrements on every API request, and the headers that report it.
//!
//! GitHub: `X-RateLimit-Limit/Remaining/Reset/Used/Resource` on every
//! response (resource `core` for REST, `graphql` for GraphQL); an exhausted
//! budget answers 403 with GitHub's message. GitLab: `RateLimit-Limit/
//! Remaining/Reset/Observed/ResetTime`, one budget for REST and GraphQL;
//! exhausted answers 429 with `Retry-After`. Sizes and windows are
//! [`RateLimitConfig`] (the documented figures by default; tests and the
//! benchmark set small ones, `/_emulator/rate-limits` changes them). sourcehut sends no rate-limit headers. Git smart HTTP is
//! not counted, and GitHub's `GET /rate_limit` does not cost anything (as
//! documented). Budgets reset when their window ends.

use std::collections::HashMap;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::Caller;
use crate::server::{Site, SiteState};

/// Budget sizes and windows, per forge. Defaults are the forges'
/// documented limits for a token:
///
/// - GitHub: 5,000 REST requests per hour (resource `core`) —
///   <https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api>
///   ("Primary rate limit for authenticated users"); 5,000 GraphQL points
///   per hour, a separate budget —
///   <https://docs.github.com/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api>;
///   60 per hour without a token (REST page, "unauthenticated users").
/// - GitLab.com: 2,000 requests per minute for a user's authenticated API
///   traffic, REST and GraphQL alike (both are under `/api`) —
///   <https://docs.gitlab.com/user/gitlab_com/rate_limits/> ("Current rate
///   limits": authenticated API traffic, for a given user); 500 per minute per
///   IP address unauthenticated. Self-managed instances set their own
///   (Admin > Settings > Network > User and IP rate limits): configure both.
/// - sourcehut: no request budget is documented (man.sr.ht/graphql.md
///   limits each query's complexity and run time, not the number of
///   requests), and its answers carry no rate-limit headers; so none here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    /// GitHub REST (`core`) requests per `github_window_secs` for a token.
    pub github_core: u64,
    /// GitHub GraphQL points per `github_window_secs` for a token (a
    /// query costs its computed score, at least 1).
    pub github_graphql: u64,
    /// GitHub's window.
    #[serde(alias = "window_secs")]
    pub github_window_secs: u64,
    /// GitLab API requests (REST and GraphQL together) per
    /// `gitlab_window_secs` for a token.
    pub gitlab: u64,
    /// GitLab's window.
    pub gitlab_window_secs: u64,
    /// GitHub requests per `github_window_secs` without a token.
    pub anonymous: u64,
    /// GitLab requests per `gitlab_window_secs` without a token.
    pub gitlab_anonymous: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            github_core: 5000,
            github_graphql: 5000,
            github_window_secs: 3600,
            gitlab: 2000,
            gitlab_window_secs: 60,
            anonymous: 60,
            gitlab_anonymous: 500,
        }
    }
}

impl RateLimitConfig {
    /// The budget size and window (seconds) of `resource` on `site`.
    fn budget(&self, site: Site, authenticated: bool, resource: &str) -> (u64, u64) {
        match (site, authenticated, resource) {
            (Site::Github, false, _) => (self.anonymous, self.github_window_secs),
            (Site::Github, true, "graphql") => (self.github_graphql, self.github_window_secs),
            (Site::Github, true, _) => (self.github_core, self.github_window_secs),
            (_, false, _) => (self.gitlab_anonymous, self.gitlab_window_secs),
            (_, true, _) => (self.gitlab, self.gitlab_window_secs),
        }
    }
}

/// One budget's state, as `/rate_limit` reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub limit: u64,
    pub used: u64,
    /// Epoch seconds when the budget resets.
    pub reset: i64,
}

impl Budget {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

/// All budgets of an emulator.
pub struct RateLimits {
    config: Mutex<RateLimitConfig>,
    budgets: Mutex<HashMap<(Site, String, &'static str), Budget>>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl RateLimits {
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimits {
            config: Mutex::new(config),
            budgets: Mutex::new(HashMap::new()),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> RateLimitConfig {
        self.config.lock().clone()
    }

    /// Changes the limits and resets every budget.
    pub fn configure(&self, config: RateLimitConfig) {
        *self.config.lock() = config;
        self.budgets.lock().clear();
    }

    /// Resets every budget to full.
    pub fn reset(&self) {
        self.budgets.lock().clear();
    }

    /// The current budget of `caller` for `resource`, without spending.
    pub fn peek(&self, site: Site, caller: &Caller, resource: &'static str) -> Budget {
        self.spend(site, caller, resource, 0)
    }

    /// Spends `cost` from the budget (saturating) and returns its state.
    pub fn spend(&self, site: Site, caller: &Caller, resource: &'static str, cost: u64) -> Budget {
        let (limit, window) = self
            .config
            .lock()
            .budget(site, caller.user.is_some(), resource);
        let window = window as i64;
        let now = now();
        let mut budgets = self.budgets.lock();
        let budget = budgets
            .entry((site, caller.budget_key(), resource))
            .or_insert_with(|| Budget {
                limit,
                used: 0,
                reset: now + window,
            });
        if budget.reset <= now {
            *budget = Budget {
                limit,
                used: 0,
                reset: now + window,
            };
        }
        budget.used = (budget.used + cost).min(budget.limit);
        budget.clone()
    }

    /// Sets how much of a budget is used (to test exhaustion).
    pub fn set_used(&self, site: Site, caller: &Caller, resource: &'static str, used: u64) {
        self.spend(site, caller, resource, 0);
        if let Some(b) = self
            .budgets
            .lock()
            .get_mut(&(site, caller.budget_key(), resource))
        {
            b.used = used.min(b.limit);
        }
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// Writes GitHub's rate-limit headers.
pub fn github_headers(headers: &mut HeaderMap, budget: &Budget, resource: &str) {
    set(headers, "x-ratelimit-limit", budget.limit);
    set(headers, "x-ratelimit-remaining", budget.remaining());
    set(headers, "x-ratelimit-reset", budget.reset);
    set(headers, "x-ratelimit-used", budget.used);
    set(headers, "x-ratelimit-resource", resource);
}

/// Writes GitLab's rate-limit headers.
pub fn gitlab_headers(headers: &mut HeaderMap, budget: &Budget) {
    set(headers, "ratelimit-limit", budget.limit);
    set(headers, "ratelimit-observed", budget.used);
    set(headers, "ratelimit-remaining", budget.remaining());
    set(headers, "ratelimit-reset", budget.reset);
    let reset = std::time::UNIX_EPOCH + std::time::Duration::from_secs(budget.reset.max(0) as u64);
    set(
        headers,
        "ratelimit-resettime",
        humantime::format_rfc3339_seconds(reset),
    );
}

/// Middleware: spends from the caller's budget and reports it.
pub async fn layer(State(st): State<SiteState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let counted_site = matches!(st.site, Site::Github | Site::Gitlab);
    if !counted_site || crate::githttp::match_path(st.site, path).is_some() {
        return next.run(request).await;
    }
    let Some(caller) = request.extensions().get::<Caller>().cloned() else {
        return next.run(request).await;
    };
    let graphql = path == "/graphql" || path == "/api/graphql";
    // GitHub keeps REST and GraphQL apart; GitLab counts all its API.
    let resource = match st.site {
        Site::Github if graphql => "graphql",
        Site::Github => "core",
        _ => "api",
    };
    let free = st.site == Site::Github && (path == "/rate_limit" || path == "/api/v3/rate_limit");
    let before = st.shared.rate_limits.peek(st.site, &caller, resource);
    if before.remaining() == 0 && !free {
        return exhausted(st.site, &caller, &before, resource);
    }
    let budget = st
        .shared
        .rate_limits
        .spend(st.site, &caller, resource, u64::from(!free));
    let mut response = next.run(request).await;
    // A GraphQL query may cost more than one point: its handler spends the
    // rest, and the headers report the budget after that.
    let budget = if graphql {
        st.shared.rate_limits.peek(st.site, &caller, resource)
    } else {
        budget
    };
    match st.site {
        Site::Github => github_headers(response.headers_mut(), &budget, resource),
        _ => gitlab_headers(response.headers_mut(), &budget),
    }
    response
}

fn exhausted(site: Site, caller: &Caller, budget: &Budget, resource: &str) -> Response {
    let wait = (budget.reset - now()).max(1);
    let mut response = match site {
        Site::Github => {
            let who = caller.user.as_deref().unwrap_or("127.0.0.1");
            (
                StatusCode::FORBIDDEN,
                axum::Json(json!({
                    "message": format!("API rate limit exceeded for {who}."),
                    "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
                })),
            )
                .into_response()
        }
        _ => (StatusCode::TOO_MANY_REQUESTS, "Retry later\n").into_response(),
    };
    let headers = response.headers_mut();
    match site {
        Site::Github => github_headers(headers, budget, resource),
        _ => {
            gitlab_headers(headers, budget);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
    }
    response
}
