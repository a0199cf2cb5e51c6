//! Checking one exchange against the operation it matched: path and query
//! parameters, the JSON request body, the response status, content type and
//! JSON body. Each finding is a [`Violation`] naming the side, the part, the
//! JSON pointer and the JSON Schema keyword that failed.
//!
//! Parameters arrive as text; before validation each value is coerced to the
//! parameter's declared type (`"3"` → `3` for an integer, `true`/`false` for
//! a boolean, a repeated `name[]=` or comma-separated list for an array), so
//! a value that does not parse stays a string and fails `type`. Unknown query
//! parameters are reported (`additionalProperties`): the forges ignore them
//! silently, which hides a misspelt `per_page`.
//!
//! Status selection: the exact status, else `2XX`-style ranges, else (GitLab
//! only) another documented 2xx — Grape-generated specs document `200` for
//! POSTs GitLab answers with `201` — else `default`, else 304 without a body
//! for a conditional GET, else for 401, 403, 404, 429 and 5xx (which the
//! forges answer on any operation whatever was asked: credentials,
//! visibility, rate limits, outages) the forge's generic
//! error shape: GitHub's `basic-error`, GitLab's `{message}` / `{error}`,
//! checked only when the body is JSON.
//! Any other status is a violation. Responses carrying an injected fault,
//! dropped connections and HEAD bodies are not checked.

use serde_json::{json, Value};

use super::description::{Description, Operation, Param, Reply};
use super::gaps::Api;
use super::{Side, Violation};
use crate::record::Exchange;

/// How many schema errors one body reports at most.
const MAX_ERRORS: usize = 5;
/// Longest detail text kept (instances can be large).
const MAX_DETAIL: usize = 300;
/// The validator slot of the generic error shape.
const GENERIC: &str = "response generic-error";

/// Collects violations for one exchange.
pub struct Checker<'a> {
    desc: &'a Description,
    op: &'a Operation,
    ex: &'a Exchange,
    pub out: Vec<Violation>,
}

impl<'a> Checker<'a> {
    pub fn new(desc: &'a Description, op: &'a Operation, ex: &'a Exchange) -> Self {
        Checker {
            desc,
            op,
            ex,
            out: Vec::new(),
        }
    }

    fn push(
        &mut self,
        side: Side,
        part: &'static str,
        pointer: &str,
        keyword: &str,
        detail: impl Into<String>,
    ) {
        let mut detail = detail.into();
        if detail.len() > MAX_DETAIL {
            let mut cut = MAX_DETAIL;
            while !detail.is_char_boundary(cut) {
                cut -= 1;
            }
            detail.truncate(cut);
            detail.push('…');
        }
        self.out.push(Violation::new(
            self.desc.api,
            self.ex,
            Some(self.op.key()),
            side,
            part,
            pointer,
            keyword,
            detail,
        ));
    }

    /// Validates `instance` against `schema`, cached under `slot`.
    fn schema(
        &mut self,
        side: Side,
        part: &'static str,
        slot: &str,
        schema: impl FnOnce() -> Value,
        instance: &Value,
    ) {
        let key = format!("{} {slot}", self.op.key());
        let validator = match self.desc.validator(&key, schema) {
            Ok(v) => v,
            Err(e) => return self.push(side, part, "", "$schema", e),
        };
        let errors: Vec<(String, String, String)> = validator
            .iter_errors(instance)
            .take(MAX_ERRORS)
            .map(|e| {
                (
                    e.instance_path().as_str().to_string(),
                    e.kind().keyword().to_string(),
                    e.to_string(),
                )
            })
            .collect();
        for (pointer, keyword, detail) in errors {
            self.push(side, part, &pointer, &keyword, detail);
        }
    }

    /// Path parameters, from the raw (percent-encoded) template match.
    pub fn path_params(&mut self, raw: &[(String, String)]) {
        let values = raw
            .iter()
            .map(|(name, v)| {
                let schema = param_schema(&self.op.path_params, name);
                (name.clone(), coerce(&[percent_decode(v, false)], &schema))
            })
            .collect();
        let schema = || params_object(&self.op.path_params, false);
        self.schema(
            Side::Request,
            "path parameter",
            "path",
            schema,
            &Value::Object(values),
        );
    }

    /// Query parameters.
    pub fn query(&mut self) {
        let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
        for pair in self
            .ex
            .query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode(k, true);
            let k = k.strip_suffix("[]").unwrap_or(&k).to_string();
            let v = percent_decode(v, true);
            match grouped.iter_mut().find(|(name, _)| *name == k) {
                Some((_, values)) => values.push(v),
                None => grouped.push((k, vec![v])),
            }
        }
        let values = grouped
            .into_iter()
            .map(|(name, raw)| {
                let schema = param_schema(&self.op.query_params, &name);
                let v = coerce(&raw, &schema);
                (name, v)
            })
            .collect();
        let schema = || params_object(&self.op.query_params, true);
        self.schema(
            Side::Request,
            "query parameter",
            "query",
            schema,
            &Value::Object(values),
        );
    }

    /// The JSON request body.
    pub fn request_body(&mut self) {
        let Some(body) = &self.op.body else { return };
        let content_type = self
            .ex
            .request_headers
            .get("content-type")
            .map(String::as_str)
            .unwrap_or("");
        // GitLab also takes form-encoded and multipart bodies; only JSON
        // ones are checked. GitHub parses every body as JSON.
        if self.desc.api == Api::Gitlab
            && !content_type.is_empty()
            && !content_type.contains("json")
        {
            return;
        }
        let text = self.ex.request_body.as_deref().unwrap_or("");
        if text.trim().is_empty() {
            if body.required && self.ex.request_body_len == 0 {
                self.push(
                    Side::Request,
                    "body",
                    "",
                    "required",
                    "the operation requires a request body; none was sent",
                );
            }
            return;
        }
        let instance: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return self.push(Side::Request, "body", "", "type", format!("not JSON: {e}"))
            }
        };
        if let Some(schema) = &body.schema {
            self.schema(
                Side::Request,
                "body",
                "request",
                || schema.clone(),
                &instance,
            );
        }
    }

    /// Status, content type and JSON body of the response.
    pub fn response(&mut self) {
        let ex = self.ex;
        if ex.status == 0 || ex.fault.is_some() {
            return;
        }
        let Some((slot, reply)) = self.reply() else {
            let documented: Vec<&str> = self.op.responses.keys().map(String::as_str).collect();
            let detail = format!(
                "status {} is not documented (documented: {})",
                ex.status,
                documented.join(", ")
            );
            return self.push(Side::Response, "status", "", "responses", detail);
        };
        if ex.method == "HEAD" {
            return;
        }
        match reply {
            Reply::NoBody if ex.response_body_len > 0 => {
                let detail = format!(
                    "status {} is documented without a body; got {} bytes",
                    ex.status, ex.response_body_len
                );
                self.push(Side::Response, "body", "", "content", detail);
            }
            Reply::Json(schema) => {
                let content_type = ex
                    .response_headers
                    .get("content-type")
                    .map(String::as_str)
                    .unwrap_or("");
                if !content_type.contains("json") {
                    // The generic shape is ours, not documented: GitLab's
                    // 429 is plain text ("Retry later"), proxies' 502 HTML.
                    if asked_for_non_json(ex) || slot == GENERIC {
                        return;
                    }
                    let detail =
                        format!("Content-Type {content_type:?}, documented application/json");
                    return self.push(Side::Response, "content-type", "", "content", detail);
                }
                let Some(text) = ex.response_body.as_deref() else {
                    return;
                };
                let instance: Value = match serde_json::from_str(text) {
                    Ok(v) => v,
                    Err(e) => {
                        return self.push(
                            Side::Response,
                            "body",
                            "",
                            "type",
                            format!("not JSON: {e}"),
                        )
                    }
                };
                self.schema(Side::Response, "body", &slot, || schema, &instance);
            }
            _ => {}
        }
    }

    /// The documented reply for the exchange's status (see the module doc).
    fn reply(&self) -> Option<(String, Reply)> {
        let status = self.ex.status;
        let code = status.to_string();
        let responses = &self.op.responses;
        let range = format!("{}XX", status / 100);
        for key in [code.as_str(), range.as_str()] {
            if let Some(r) = responses.get(key) {
                return Some((format!("response {key}"), r.clone()));
            }
        }
        if self.desc.api == Api::Gitlab && (200..300).contains(&status) {
            if let Some((k, r)) = responses.iter().find(|(k, _)| k.starts_with('2')) {
                return Some((format!("response {k}"), r.clone()));
            }
        }
        if let Some(r) = responses.get("default") {
            return Some(("response default".into(), r.clone()));
        }
        // A conditional GET (`If-None-Match`) may be answered 304 anywhere.
        if status == 304 && matches!(self.ex.method.as_str(), "GET" | "HEAD") {
            return Some(("response 304".into(), Reply::NoBody));
        }
        if matches!(status, 401 | 403 | 404 | 429 | 500..=599) {
            let schema = match self.desc.api {
                Api::Github => json!({ "$ref": "#/components/schemas/basic-error" }),
                Api::Gitlab => json!({
                    "type": "object",
                    "anyOf": [{ "required": ["message"] }, { "required": ["error"] }]
                }),
            };
            return Some((GENERIC.into(), Reply::Json(schema)));
        }
        None
    }
}

/// Whether the request asked GitHub for a non-JSON media type
/// (`application/vnd.github.raw`, `.diff`, `.patch`, `.sha`…).
fn asked_for_non_json(ex: &Exchange) -> bool {
    let accept = ex
        .request_headers
        .get("accept")
        .map(String::as_str)
        .unwrap_or("");
    accept.split(',').any(|t| {
        let media = t.split(';').next().unwrap_or("").trim();
        media.starts_with("application/vnd.github") && !media.ends_with("json")
    })
}

fn param_schema(params: &[Param], name: &str) -> Value {
    params
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.schema.clone())
        .unwrap_or(Value::Bool(true))
}

/// `{type: object, properties, required[, additionalProperties: false]}`.
fn params_object(params: &[Param], closed: bool) -> Value {
    let properties: serde_json::Map<String, Value> = params
        .iter()
        .map(|p| (p.name.clone(), p.schema.clone()))
        .collect();
    let required: Vec<&str> = params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name.as_str())
        .collect();
    let mut schema = json!({ "type": "object", "properties": properties, "required": required });
    if closed {
        schema["additionalProperties"] = json!(false);
    }
    schema
}

/// The declared type of a schema (`["integer", "null"]` → `integer`).
fn primary_type(schema: &Value) -> &str {
    match schema.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or(""),
        _ => "",
    }
}

/// Text values → the JSON value the parameter's schema expects.
fn coerce(raw: &[String], schema: &Value) -> Value {
    if primary_type(schema) == "array" {
        let items = schema.get("items").cloned().unwrap_or(Value::Bool(true));
        let values: Vec<&str> = match raw {
            [one] => one.split(',').collect(),
            many => many.iter().map(String::as_str).collect(),
        };
        return Value::Array(
            values
                .into_iter()
                .map(|v| scalar(v, primary_type(&items)))
                .collect(),
        );
    }
    scalar(
        raw.first().map(String::as_str).unwrap_or(""),
        primary_type(schema),
    )
}

fn scalar(text: &str, ty: &str) -> Value {
    let parsed = match ty {
        "integer" => text.parse::<i64>().ok().map(Value::from),
        "number" => text.parse::<f64>().ok().map(Value::from),
        "boolean" => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_string()))
}

/// Decodes `%XX` (and `+` as space in queries), lossy on bad UTF-8.
pub fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coercion_and_decoding() {
        assert_eq!(percent_decode("a%2Fb+c%zz%", true), "a/b c%zz%");
        assert_eq!(coerce(&["3".into()], &json!({"type": "integer"})), json!(3));
        assert_eq!(
            coerce(&["x".into()], &json!({"type": "integer"})),
            json!("x")
        );
        assert_eq!(
            coerce(
                &["1,2".into()],
                &json!({"type": "array", "items": {"type": "integer"}})
            ),
            json!([1, 2])
        );
        assert_eq!(
            coerce(&["true".into()], &json!({"type": ["boolean", "null"]})),
            json!(true)
        );
    }
}
