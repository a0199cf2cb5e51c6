//! The request context every GitHub REST handler extracts ([`Gh`]), and the
//! HTTP details GitHub is particular about: error bodies (`message`,
//! `documentation_url`, `status`; 422 with `errors[]`), `Problems parsing
//! JSON`, `Requires authentication`, read-only archived repositories,
//! `per_page`/`page` pagination with RFC 5988 `Link` headers written exactly
//! as GitHub writes them (`prev`, `next`, `last`, `first`, page last in the
//! query), `Location` on creations, and base URLs that follow the request
//! (`/api/v3` for GitHub Enterprise style requests).

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::{FromRequestParts, MatchedPath, OriginalUri};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::auth::{self, Caller};
use crate::server::{AppState, Site};
use crate::world::{Forge, Repository, Visibility, World};

/// Path parameters of a route, by name (`owner`, `repo`, `repository_id`…).
pub type Params = HashMap<String, String>;

/// Where the documentation of every operation lives when the spec is absent.
const FALLBACK_DOC: &str = "https://docs.github.com/rest";

/// The base URLs a response is written with.
#[derive(Clone, Debug)]
pub struct Base {
    /// REST root: `http://127.0.0.1:P` or `http://127.0.0.1:P/api/v3`.
    pub api: String,
    /// Web root (HTML pages, clone URLs): `http://127.0.0.1:P`.
    pub web: String,
}

impl Base {
    /// The bases of a site without a request (GraphQL, tests).
    pub fn plain(st: &AppState) -> Base {
        Base {
            api: st.urls.github.clone(),
            web: st.urls.github.clone(),
        }
    }
    /// `{api}/repos/{full_name}`.
    pub fn repo_api(&self, full_name: &str) -> String {
        format!("{}/repos/{full_name}", self.api)
    }
    /// `{web}/{full_name}`.
    pub fn repo_web(&self, full_name: &str) -> String {
        format!("{}/{full_name}", self.web)
    }
}

/// The context of one GitHub REST request.
pub struct Gh {
    pub st: AppState,
    pub caller: Caller,
    pub base: Base,
    /// The operation's `documentation_url` (from the spec's `externalDocs`).
    pub doc: String,
    /// Decoded query pairs, in request order.
    pub query: Vec<(String, String)>,
    /// The raw query string, for `Link` URLs.
    pub raw_query: Option<String>,
    pub headers: HeaderMap,
}

impl FromRequestParts<AppState> for Gh {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let caller = parts.extensions.get::<Caller>().cloned().unwrap_or(Caller {
            site: Site::Github,
            token: None,
            user: None,
        });
        if caller.bad_token() {
            return Err(auth::unauthorized(Site::Github));
        }
        let original = parts
            .extensions
            .get::<OriginalUri>()
            .map(|o| o.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let ghe = original.path() == "/api/v3"
            || original.path().starts_with("/api/v3/")
            || original.path() == "/api/graphql";
        let web = st.urls.github.clone();
        let api = if ghe {
            format!("{web}/api/v3")
        } else {
            web.clone()
        };
        let template = parts
            .extensions
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        let raw_query = parts.uri.query().map(str::to_string);
        Ok(Gh {
            st: st.clone(),
            caller,
            base: Base { api, web },
            doc: doc_url(st, &parts.method, &template),
            query: raw_query.as_deref().map(parse_query).unwrap_or_default(),
            raw_query,
            headers: parts.headers.clone(),
        })
    }
}

impl Gh {
    /// A decoded query parameter.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// GitHub's error body with `status`.
    pub fn error(&self, status: StatusCode, message: &str) -> Response {
        error_with(status, message, &self.doc)
    }

    /// 404 `Not Found`.
    pub fn not_found(&self) -> Response {
        self.error(StatusCode::NOT_FOUND, "Not Found")
    }

    /// 422 with a message only (e.g. `Reference already exists`).
    pub fn unprocessable(&self, message: &str) -> Response {
        self.error(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 422 `Validation Failed` with `errors[]` (as the `errors` fixture).
    pub fn validation(&self, errors: Vec<Value>) -> Response {
        self.validation_with("Validation Failed", errors)
    }

    /// 422 with a custom message and `errors[]`.
    pub fn validation_with(&self, message: &str, errors: Vec<Value>) -> Response {
        json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({
                "message": message,
                "errors": errors,
                "documentation_url": self.doc,
                "status": "422",
            }),
        )
    }

    /// A request body the real GitHub rejects for its shape: answered like
    /// GitHub and recorded as a violation (drover sent it).
    pub fn invalid_request(&self, detail: &str) -> Response {
        self.st
            .violation(format!("github: invalid request body: {detail}"));
        self.unprocessable(&format!("Invalid request.\n\n{detail}"))
    }

    /// Parses a JSON body; an empty body counts as `{}`.
    pub fn body<T: DeserializeOwned>(&self, bytes: &Bytes) -> Result<T, Response> {
        let text = if bytes.iter().all(u8::is_ascii_whitespace) {
            &b"{}"[..]
        } else {
            &bytes[..]
        };
        let value: Value = serde_json::from_slice(text).map_err(|e| {
            self.st
                .violation(format!("github: request body is not JSON: {e}"));
            self.error(StatusCode::BAD_REQUEST, "Problems parsing JSON")
        })?;
        serde_json::from_value(value).map_err(|e| self.invalid_request(&e.to_string()))
    }

    /// The authenticated login, or 401 `Requires authentication`.
    pub fn user(&self) -> Result<String, Response> {
        self.caller
            .user
            .clone()
            .ok_or_else(|| self.error(StatusCode::UNAUTHORIZED, "Requires authentication"))
    }

    /// The repository the route names (`owner`+`repo` or `repository_id`),
    /// if the caller may see it; 404 otherwise.
    pub fn repo<'w>(&self, world: &'w World, p: &Params) -> Result<&'w Repository, Response> {
        let found = match p.get("repository_id") {
            Some(id) => id
                .parse::<u64>()
                .ok()
                .and_then(|id| world.repos.get(&id))
                .filter(|r| r.forge == Forge::Github),
            None => match (p.get("owner"), p.get("repo")) {
                (Some(o), Some(r)) => world.repo(Forge::Github, &format!("{o}/{r}")),
                _ => None,
            },
        };
        match found {
            Some(r) if r.visibility == Visibility::Public || self.caller.user.is_some() => Ok(r),
            _ => Err(self.not_found()),
        }
    }

    /// Checks the caller may write to `repo`: authenticated, not archived.
    pub fn writable(&self, repo: &Repository) -> Result<String, Response> {
        let user = self.user()?;
        if repo.archived {
            return Err(self.error(
                StatusCode::FORBIDDEN,
                "Repository was archived so is read-only.",
            ));
        }
        Ok(user)
    }

    /// `per_page` (default 30, at most 100) and `page` (from 1).
    pub fn page(&self) -> (usize, usize) {
        let per_page = self
            .q("per_page")
            .and_then(|v| v.parse::<usize>().ok())
            .map(|n| n.clamp(1, 100))
            .unwrap_or(30);
        let page = self
            .q("page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        (per_page, page)
    }

    /// One page of `items` and its `Link` header value; `link_path` is the
    /// path GitHub writes in the links (e.g. `/repositories/1001/pulls`).
    pub fn paginate<T>(&self, items: Vec<T>, link_path: &str) -> (Vec<T>, Option<String>) {
        let (per_page, page) = self.page();
        let total = items.len();
        let last = total.div_ceil(per_page).max(1);
        let out: Vec<T> = items
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let kept: Vec<&str> = self
            .raw_query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && p.split('=').next() != Some("page"))
            .collect();
        let url = |n: usize| {
            let mut q = kept.join("&");
            if !q.is_empty() {
                q.push('&');
            }
            format!("<{}{link_path}?{q}page={n}>", self.base.api)
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(format!("{}; rel=\"prev\"", url(page - 1)));
        }
        if page < last {
            links.push(format!("{}; rel=\"next\"", url(page + 1)));
            links.push(format!("{}; rel=\"last\"", url(last)));
        }
        if page > 1 {
            links.push(format!("{}; rel=\"first\"", url(1)));
        }
        (out, (!links.is_empty()).then(|| links.join(", ")))
    }

    /// A JSON list with its `Link` header.
    pub fn list(&self, items: Vec<Value>, link_path: &str) -> Response {
        let (page, link) = self.paginate(items, link_path);
        let mut response = ok(Value::Array(page));
        if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(header::LINK, link);
        }
        response
    }
}

/// GitHub's error body for `status` with `documentation_url`.
pub fn error_with(status: StatusCode, message: &str, doc: &str) -> Response {
    json_response(
        status,
        json!({
            "message": message,
            "documentation_url": doc,
            "status": status.as_u16().to_string(),
        }),
    )
}

/// GitHub's 404 body (for callers without a request context).
pub fn not_found() -> Response {
    error_with(StatusCode::NOT_FOUND, "Not Found", FALLBACK_DOC)
}

/// A JSON response as GitHub sends it (`charset=utf-8`, media type header).
pub fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(
        "x-github-media-type",
        HeaderValue::from_static("github.v3; format=json"),
    );
    response
}

/// 200 with a JSON body.
pub fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, body)
}

/// 201 with a JSON body and `Location`.
pub fn created(body: Value, location: &str) -> Response {
    let mut response = json_response(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// 204 without a body.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A GitHub node id in the legacy format (`MDQ6VXNlcjE=` for User 1).
pub fn node_id(kind: &str, id: impl std::fmt::Display) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("0{}:{kind}{id}", kind.len()))
}

/// Percent-encodes `s` for a URL path, keeping `/` when `keep_slash`.
pub fn encode_path(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let plain = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/');
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes and `+` (query strings).
pub fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

/// The spec's `externalDocs.url` per `METHOD /template`, loaded once.
fn doc_url(st: &AppState, method: &Method, template: &str) -> String {
    static DOCS: OnceLock<HashMap<String, String>> = OnceLock::new();
    let docs = DOCS.get_or_init(|| load_docs(st).unwrap_or_default());
    let key = format!("{method} {}", canonical_template(template));
    docs.get(&key)
        .cloned()
        .unwrap_or_else(|| FALLBACK_DOC.to_string())
}

/// The spec's path template for a route template: `{*ref}` → `{ref}`, and
/// the id-based aliases back to their named form.
pub fn canonical_template(template: &str) -> String {
    let t = template.replace("{*", "{");
    if let Some(rest) = t.strip_prefix("/repositories/{repository_id}") {
        return format!("/repos/{{owner}}/{{repo}}{rest}");
    }
    if let Some(rest) = t.strip_prefix("/organizations/{org_id}") {
        return format!("/orgs/{{org}}{rest}");
    }
    t
}

fn load_docs(st: &AppState) -> Option<HashMap<String, String>> {
    let path = st.specs.file("github/rest-api.subset.json").ok()?;
    let spec: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let mut out = HashMap::new();
    for (path, item) in spec.get("paths")?.as_object()? {
        for (method, op) in item.as_object()? {
            if let Some(url) = op.pointer("/externalDocs/url").and_then(Value::as_str) {
                out.insert(
                    format!("{} {path}", method.to_ascii_uppercase()),
                    url.to_string(),
                );
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes() {
        assert_eq!(encode_path("a b/c", true), "a%20b/c");
        assert_eq!(encode_path("a b/c", false), "a%20b%2Fc");
        assert_eq!(decode_component("a%20b+c%2F"), "a b c/");
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(node_id("User", 1), "MDQ6VXNlcjE=");
        assert_eq!(
            canonical_template("/repositories/{repository_id}/git/refs/{*ref}"),
            "/repos/{owner}/{repo}/git/refs/{ref}"
        );
    }
}
