//! Grape-like request parameters and GitLab's offset pagination.
//!
//! GitLab's API (Grape) merges query parameters and the request body (JSON
//! or form-encoded) into one parameter set, coerces strings to the declared
//! types, and answers violations with 400 `{"error": "x is missing"}` /
//! `{"error": "x is invalid"}`. Arrays arrive as JSON arrays, as repeated
//! `name[]=` pairs, or (for labels) as comma-separated strings.
//!
//! Offset pagination (`page`, `per_page`, default 20, at most 100) answers
//! with `X-Page`, `X-Per-Page`, `X-Total`, `X-Total-Pages`, `X-Next-Page`,
//! `X-Prev-Page` (empty when there is none) and a `Link` header with
//! `prev`/`next`/`first`/`last` relations that repeat the request's other
//! query parameters.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, Uri};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::bad_param;

/// The merged parameters of one request.
#[derive(Clone, Debug, Default)]
pub struct Params {
    map: Map<String, Value>,
    /// The query pairs as sent (for Link headers).
    query: Vec<(String, String)>,
}

/// Parses `a=1&b[]=2` pairs (percent-decoded).
fn pairs(raw: &str) -> Vec<(String, String)> {
    let Ok(uri) = format!("http://x/?{raw}").parse::<Uri>() else {
        return Vec::new();
    };
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

fn insert_pair(map: &mut Map<String, Value>, key: &str, value: String) {
    if let Some(base) = key.strip_suffix("[]") {
        let slot = map
            .entry(base.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = slot {
            items.push(Value::String(value));
        } else {
            *slot = Value::Array(vec![Value::String(value)]);
        }
    } else {
        map.insert(key.to_string(), Value::String(value));
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = request.uri().query().map(pairs).unwrap_or_default();
        let form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|_| bad_param("the request body could not be read"))?;
        let mut map = Map::new();
        for (k, v) in &query {
            insert_pair(&mut map, k, v.clone());
        }
        if !body.iter().all(u8::is_ascii_whitespace) {
            if form {
                for (k, v) in pairs(&String::from_utf8_lossy(&body)) {
                    insert_pair(&mut map, &k, v);
                }
            } else {
                match serde_json::from_slice::<Value>(&body) {
                    Ok(Value::Object(o)) => map.extend(o),
                    _ => return Err(bad_param("The provided content-type is not supported")),
                }
            }
        }
        Ok(Params { map, query })
    }
}

impl Params {
    /// Parameters from a map (tests, internal calls).
    pub fn from_map(map: Map<String, Value>) -> Self {
        Params {
            map,
            query: Vec::new(),
        }
    }

    /// The raw value, `None` when absent or null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// Whether the parameter was given at all (even as null).
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Fails with Grape's combined message unless every name is present.
    pub fn require(&self, names: &[&str]) -> Result<(), Response> {
        let missing: Vec<String> = names
            .iter()
            .filter(|n| self.get(n).is_none())
            .map(|n| format!("{n} is missing"))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(bad_param(missing.join(", ")))
        }
    }

    /// A string parameter (numbers and booleans are accepted as text).
    pub fn str(&self, name: &str) -> Result<Option<String>, Response> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            Some(_) => Err(invalid(name)),
        }
    }

    /// A required string parameter.
    pub fn required_str(&self, name: &str) -> Result<String, Response> {
        self.require(&[name])?;
        Ok(self.str(name)?.unwrap_or_default())
    }

    /// A boolean (`true`/`false`, `1`/`0`, JSON booleans).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, Response> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "t" => Ok(Some(true)),
                "false" | "0" | "no" | "f" => Ok(Some(false)),
                _ => Err(invalid(name)),
            },
            Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(Some(false)),
            Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(Some(true)),
            Some(_) => Err(invalid(name)),
        }
    }

    /// A non-negative integer.
    pub fn u64(&self, name: &str) -> Result<Option<u64>, Response> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => as_u64(v).map(Some).ok_or_else(|| invalid(name)),
        }
    }

    /// A list of strings: JSON array, `name[]=` pairs or `a,b,c`.
    pub fn list(&self, name: &str) -> Result<Option<Vec<String>>, Response> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            )),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.trim().to_string()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(invalid(name)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| Some(v.into_iter().filter(|s| !s.is_empty()).collect())),
            Some(_) => Err(invalid(name)),
        }
    }

    /// A list of ids (`reviewer_ids`): array, `[]` pairs, or one id; an
    /// empty string, `0` or `[]` mean "none".
    pub fn id_list(&self, name: &str) -> Result<Option<Vec<u64>>, Response> {
        let Some(items) = self.list(name)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for item in items {
            let id: u64 = item.parse().map_err(|_| invalid(name))?;
            if id != 0 {
                out.push(id);
            }
        }
        Ok(Some(out))
    }

    /// One of `allowed`, or `x does not have a valid value`.
    pub fn one_of(&self, name: &str, allowed: &[&str]) -> Result<Option<String>, Response> {
        match self.str(name)? {
            Some(v) if !allowed.contains(&v.as_str()) => {
                Err(bad_param(format!("{name} does not have a valid value")))
            }
            other => Ok(other),
        }
    }

    /// The page requested (`page`, `per_page`).
    pub fn page(&self) -> Result<Page, Response> {
        let page = self.u64("page")?.unwrap_or(1).max(1);
        let per_page = match self.u64("per_page")? {
            None | Some(0) => 20,
            Some(n) => n.min(100),
        };
        Ok(Page {
            page,
            per_page,
            query: self.query.clone(),
        })
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `x is invalid`.
pub fn invalid(name: &str) -> Response {
    bad_param(format!("{name} is invalid"))
}

/// Above this many results GitLab omits `X-Total` and `X-Total-Pages`.
pub const MAX_COUNTED: u64 = 10_000;

/// One page of an offset-paginated listing.
#[derive(Clone, Debug)]
pub struct Page {
    pub page: u64,
    pub per_page: u64,
    query: Vec<(String, String)>,
}

impl Page {
    /// Cuts one page out of `items` and returns it with the pagination
    /// headers to set on the response.
    pub fn apply<T>(&self, items: Vec<T>, url: &str) -> (Vec<T>, PageHeaders) {
        let total = items.len() as u64;
        let total_pages = total.div_ceil(self.per_page).max(1);
        let start = ((self.page - 1) * self.per_page).min(total) as usize;
        let end = (start + self.per_page as usize).min(items.len());
        let slice: Vec<T> = items.into_iter().skip(start).take(end - start).collect();
        let next = (self.page < total_pages).then_some(self.page + 1);
        let prev = (self.page > 1).then(|| (self.page - 1).min(total_pages));
        let mut links = Vec::new();
        if let Some(p) = prev {
            links.push(format!("<{}>; rel=\"prev\"", self.href(url, p)));
        }
        if let Some(n) = next {
            links.push(format!("<{}>; rel=\"next\"", self.href(url, n)));
        }
        links.push(format!("<{}>; rel=\"first\"", self.href(url, 1)));
        // Above 10,000 results GitLab stops counting: no totals, no `last`.
        let counted = total <= MAX_COUNTED;
        if counted {
            links.push(format!("<{}>; rel=\"last\"", self.href(url, total_pages)));
        }
        let mut headers = vec![
            ("x-page", self.page.to_string()),
            ("x-per-page", self.per_page.to_string()),
        ];
        if counted {
            headers.push(("x-total", total.to_string()));
            headers.push(("x-total-pages", total_pages.to_string()));
        }
        headers.extend([
            (
                "x-next-page",
                next.map(|n| n.to_string()).unwrap_or_default(),
            ),
            (
                "x-prev-page",
                prev.map(|n| n.to_string()).unwrap_or_default(),
            ),
            ("link", links.join(", ")),
        ]);
        let headers = PageHeaders(headers);
        (slice, headers)
    }

    /// The URL of page `n`: the request's other parameters, then `page`
    /// and `per_page`, keys sorted as Rails' `to_query` writes them.
    fn href(&self, url: &str, n: u64) -> String {
        let mut pairs: Vec<(String, String)> = self
            .query
            .iter()
            .filter(|(k, _)| k != "page" && k != "per_page")
            .cloned()
            .collect();
        pairs.push(("page".into(), n.to_string()));
        pairs.push(("per_page".into(), self.per_page.to_string()));
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("{url}?{}", query.join("&"))
    }
}

/// Pagination headers to put on a response.
#[derive(Clone, Debug)]
pub struct PageHeaders(Vec<(&'static str, String)>);

impl PageHeaders {
    /// Sets the headers on `response`.
    pub fn set(self, mut response: Response) -> Response {
        for (name, value) in self.0 {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        response
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved kept).
pub fn encode(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_links() {
        let page = Page {
            page: 2,
            per_page: 100,
            query: vec![
                ("per_page".into(), "100".into()),
                ("include_subgroups".into(), "true".into()),
                ("page".into(), "2".into()),
            ],
        };
        let (items, headers) = page.apply(
            (0..250).collect::<Vec<_>>(),
            "http://h/api/v4/groups/1/projects",
        );
        assert_eq!(items.len(), 100);
        assert_eq!(items[0], 100);
        let h: std::collections::HashMap<_, _> = headers.0.into_iter().collect();
        assert_eq!(h["x-total-pages"], "3");
        assert_eq!(h["x-next-page"], "3");
        assert_eq!(h["x-prev-page"], "1");
        assert!(h["link"].contains(
            "<http://h/api/v4/groups/1/projects?include_subgroups=true&page=3&per_page=100>; rel=\"next\""
        ));
    }

    #[test]
    fn grape_coercions() {
        let p = Params::from_map(
            serde_json::json!({ "a": "true", "n": "7", "l": "x, y", "ids": [1, "2"], "bad": "x" })
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(p.bool("a").unwrap(), Some(true));
        assert_eq!(p.u64("n").unwrap(), Some(7));
        assert_eq!(p.list("l").unwrap().unwrap(), ["x", "y"]);
        assert_eq!(p.id_list("ids").unwrap().unwrap(), [1, 2]);
        assert!(p.u64("bad").is_err());
        assert!(p.require(&["a", "zz"]).is_err());
    }
}
