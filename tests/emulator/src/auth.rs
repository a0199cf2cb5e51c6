//! Who is calling: token extraction per forge convention, and the
//! forge-shaped "unauthorized" answers.
//!
//! GitHub: `Authorization: token T`, `Bearer T`, or HTTP Basic with the token
//! as password (or as user with an empty password). GitLab: `PRIVATE-TOKEN`,
//! `Authorization: Bearer`, Basic (any user, e.g. `oauth2`), or the
//! `private_token`/`access_token` query parameters. sourcehut: `Bearer`, or
//! Basic for git. The layer here resolves the token and puts a [`Caller`] on
//! the request; handlers decide whether anonymous access is allowed.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use crate::server::{Site, SiteState};

/// The caller of one request, as a request extension (`Extension<Caller>`).
#[derive(Clone)]
pub struct Caller {
    pub site: Site,
    /// The token presented, if any (valid or not).
    pub token: Option<String>,
    /// The login the token authenticates, if valid.
    pub user: Option<String>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("site", &self.site)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("user", &self.user)
            .finish()
    }
}

impl Caller {
    /// A token was presented but is unknown to the forge.
    pub fn bad_token(&self) -> bool {
        self.token.is_some() && self.user.is_none()
    }

    /// The key rate-limit budgets are kept under.
    pub fn budget_key(&self) -> String {
        match &self.user {
            Some(u) => format!("user:{u}"),
            None => "anonymous".to_string(),
        }
    }
}

/// Extracts the token a request presents, by `site`'s conventions.
pub fn token(site: Site, headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if site == Site::Gitlab {
        if let Some(t) = headers.get("private-token").and_then(|v| v.to_str().ok()) {
            return Some(t.trim().to_string());
        }
        if let Some(q) = query {
            for pair in q.split('&') {
                if let Some((k, v)) = pair.split_once('=') {
                    if k == "private_token" || k == "access_token" {
                        return Some(v.to_string());
                    }
                }
            }
        }
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = auth.split_once(' ')?;
    let rest = rest.trim();
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some(rest.to_string()),
        "token" if site == Site::Github => Some(rest.to_string()),
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, pass) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
            if pass.is_empty() {
                Some(user.to_string())
            } else {
                Some(pass.to_string())
            }
        }
        _ => None,
    }
}

/// Resolves the caller of a request against the world's tokens.
pub fn caller(st: &SiteState, headers: &HeaderMap, query: Option<&str>) -> Caller {
    let token = token(st.site, headers, query);
    let user = token.as_deref().and_then(|t| {
        let mut world = st.shared.world.lock();
        // An expired GitHub App installation token is a bad one.
        if st.site == Site::Github && crate::github::apps::expired(&mut world, t) {
            return None;
        }
        world.user_for_token(st.site.forge(), t).map(str::to_string)
    });
    Caller {
        site: st.site,
        token,
        user,
    }
}

/// Middleware: puts the [`Caller`] on the request.
pub async fn layer(State(st): State<SiteState>, mut request: Request, next: Next) -> Response {
    let caller = caller(&st, request.headers(), request.uri().query());
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The 401 each forge's API gives for a missing or bad token.
pub fn unauthorized(site: Site) -> Response {
    let body = match site {
        Site::Github => json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401"
        }),
        Site::Gitlab => json!({ "message": "401 Unauthorized" }),
        Site::SrhtGit | Site::SrhtLists => json!({
            "errors": [{ "message": "Authorization header is required. Expected 'Authorization: Bearer <token>'" }]
        }),
    };
    (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
}

/// The 401 a git client gets, with the Basic challenge that makes it retry
/// with credentials.
pub fn git_challenge(site: Site) -> Response {
    let realm = match site {
        Site::Github => "GitHub",
        Site::Gitlab => "GitLab",
        _ => "sourcehut",
    };
    let mut response = (StatusCode::UNAUTHORIZED, "Authentication required\n").into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn tokens_by_forge_convention() {
        let basic = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        let cases: &[(Site, HeaderMap, Option<&str>, Option<&str>)] = &[
            (
                Site::Github,
                headers(&[("authorization", "token abc")]),
                None,
                Some("abc"),
            ),
            (
                Site::Github,
                headers(&[("authorization", "Bearer abc")]),
                None,
                Some("abc"),
            ),
            (
                Site::Github,
                headers(&[("authorization", &basic("x-access-token:abc"))]),
                None,
                Some("abc"),
            ),
            (
                Site::Github,
                headers(&[("authorization", &basic("abc:"))]),
                None,
                Some("abc"),
            ),
            (
                Site::Gitlab,
                headers(&[("private-token", "glpat")]),
                None,
                Some("glpat"),
            ),
            (
                Site::Gitlab,
                headers(&[("authorization", &basic("oauth2:glpat"))]),
                None,
                Some("glpat"),
            ),
            (
                Site::Gitlab,
                HeaderMap::new(),
                Some("a=1&private_token=glpat"),
                Some("glpat"),
            ),
            (
                Site::Gitlab,
                headers(&[("authorization", "token abc")]),
                None,
                None,
            ),
            (
                Site::SrhtGit,
                headers(&[("authorization", "Bearer srht")]),
                None,
                Some("srht"),
            ),
            (Site::SrhtGit, HeaderMap::new(), None, None),
        ];
        for (site, h, q, want) in cases {
            assert_eq!(
                token(*site, h, *q).as_deref(),
                *want,
                "{site:?} {h:?} {q:?}"
            );
        }
    }
}
