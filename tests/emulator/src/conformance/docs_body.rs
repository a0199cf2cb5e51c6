//! The JSON body of GitLab's `POST /projects/{id}/repository/commits`, built
//! from `gitlab/commit-create.from-docs.json` (the docs' attribute tables),
//! since the OpenAPI declares only a multipart `file` there.
//!
//! - Each documented attribute becomes a property of its documented type
//!   (`integer/string` → either); `required: true` ones are required; `id`
//!   is the path parameter and left out; `actions[]` is an array of action
//!   objects built the same way from `actions_attributes`.
//! - `action` and `encoding` are enumerations: their values are the
//!   back-quoted words of their description's first sentence (``The action
//!   to perform: `create`, `delete`, `move`, `update`, or `chmod`.``).
//! - `content` is "required for all except `delete`, `chmod`, and `move`",
//!   so it is required when `action` is `create` or `update`.
//! - A property the tables do not document is reported
//!   (`additionalProperties: false`): GitLab ignores unknown attributes
//!   silently, so a misspelt one is a bug the real forge would hide.

use serde_json::{json, Map, Value};

/// Attributes whose values are listed in their description.
const ENUMERATED: [&str; 2] = ["action", "encoding"];

/// The JSON Schema of the commit-create body.
pub fn commit_create_schema(docs: &Value) -> Result<Value, String> {
    let attributes = docs
        .get("attributes")
        .and_then(Value::as_array)
        .ok_or("commit-create docs: no `attributes`")?;
    let actions = docs
        .get("actions_attributes")
        .and_then(Value::as_array)
        .ok_or("commit-create docs: no `actions_attributes`")?;
    let mut action = object_schema(actions)?;
    let content_needed = json!({
        "if": { "properties": { "action": { "enum": ["create", "update"] } }, "required": ["action"] },
        "then": { "required": ["content"] }
    });
    action.insert("allOf".into(), json!([content_needed]));
    let mut body = object_schema(
        &attributes
            .iter()
            .filter(|a| a.get("name").and_then(Value::as_str) != Some("id"))
            .cloned()
            .collect::<Vec<_>>(),
    )?;
    let props = body
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .ok_or("commit-create docs: no properties")?;
    let list = props
        .get_mut("actions")
        .ok_or("commit-create docs: no `actions[]` attribute")?;
    *list = json!({ "type": "array", "items": Value::Object(action) });
    Ok(Value::Object(body))
}

/// `{type: object, properties, required, additionalProperties: false}` from
/// a documented attribute table.
fn object_schema(attributes: &[Value]) -> Result<Map<String, Value>, String> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for a in attributes {
        let name = a
            .get("name")
            .and_then(Value::as_str)
            .ok_or("commit-create docs: attribute without a name")?;
        let name = name.trim_end_matches("[]");
        let ty = a.get("type").and_then(Value::as_str).unwrap_or("");
        let mut schema = match ty {
            "integer/string" => json!({ "type": ["integer", "string"] }),
            "string" | "boolean" | "integer" | "array" | "object" => json!({ "type": ty }),
            other => {
                return Err(format!(
                    "commit-create docs: `{name}` has unknown type {other:?}"
                ))
            }
        };
        if ENUMERATED.contains(&name) {
            let description = a.get("description").and_then(Value::as_str).unwrap_or("");
            let values = quoted_words(first_sentence(description));
            if values.is_empty() {
                return Err(format!("commit-create docs: no values listed for `{name}`"));
            }
            schema["enum"] = json!(values);
        }
        if a.get("required").and_then(Value::as_bool) == Some(true) {
            required.push(json!(name));
        }
        properties.insert(name.to_string(), schema);
    }
    let mut out = Map::new();
    out.insert("type".into(), json!("object"));
    out.insert("properties".into(), Value::Object(properties));
    out.insert("required".into(), Value::Array(required));
    out.insert("additionalProperties".into(), json!(false));
    Ok(out)
}

/// Up to and including the first `. ` or the end.
fn first_sentence(text: &str) -> &str {
    match text.find(". ") {
        Some(i) => &text[..=i],
        None => text,
    }
}

/// The `back-quoted` words of `text`.
fn quoted_words(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumerations_come_from_the_first_sentence() {
        let words = quoted_words(first_sentence("`text` or `base64`. `text` is default."));
        assert_eq!(words, ["text", "base64"]);
    }
}
