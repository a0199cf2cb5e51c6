//! Schema dialect conversion: OpenAPI 3.0 and Swagger 2.0 schema objects to
//! JSON Schema 2020-12, which the `jsonschema` crate validates.
//!
//! What changes:
//! - `nullable: true` (OpenAPI 3.0) and `x-nullable: true` (Swagger 2.0) add
//!   `"null"` to `type` (and to `enum` when there is one); a nullable schema
//!   without `type` (`oneOf`, `allOf`…) becomes `anyOf: [{type: null}, …]`.
//! - With [`Options::all_nullable`] every typed schema also admits `null`:
//!   used for GitLab's Grape-generated Swagger, which never marks
//!   nullability although GitLab serialises absent values as `null` (the
//!   docs' own commit-create example has `"status": null` for a `string`).
//! - `$ref` keeps only the reference (OpenAPI ignores a `$ref`'s siblings);
//!   a reference to a definition the document lacks becomes `{}` ("any") and
//!   is reported through [`Options::unresolved`].
//! - Swagger's `type: file` becomes `{}`; boolean `exclusiveMinimum` /
//!   `exclusiveMaximum` (draft 4 style) become the numeric form.
//! - Dropped as annotations or vendor data: `example`, `examples`,
//!   `description`, `discriminator`, `xml`, `externalDocs`, `readOnly`,
//!   `writeOnly`, `deprecated`, `collectionFormat`, every `x-*` key.
//!
//! `oneOf` / `anyOf` / `allOf` / `not` / `items` / `properties` /
//! `additionalProperties` are converted recursively and otherwise kept.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

/// How to convert one document's schemas.
pub struct Options<'a> {
    /// `$ref` targets that exist in the document (e.g.
    /// `#/components/schemas/repository`).
    pub known_refs: &'a BTreeSet<String>,
    /// Every typed schema admits `null` (see the module doc).
    pub all_nullable: bool,
    /// Collects references that could not be resolved (treated as "any").
    pub unresolved: &'a mut BTreeSet<String>,
}

const DROPPED: [&str; 11] = [
    "example",
    "examples",
    "description",
    "discriminator",
    "xml",
    "externalDocs",
    "readOnly",
    "writeOnly",
    "deprecated",
    "collectionFormat",
    "nullable",
];

/// Keys whose value is a map of name → schema.
const SCHEMA_MAPS: [&str; 2] = ["properties", "patternProperties"];
/// Keys whose value is a schema.
const SCHEMA_VALUES: [&str; 5] = [
    "additionalProperties",
    "not",
    "items",
    "propertyNames",
    "contains",
];
/// Keys whose value is a list of schemas.
const SCHEMA_LISTS: [&str; 3] = ["allOf", "anyOf", "oneOf"];

/// Converts one schema object (and everything below it).
pub fn schema(value: &Value, opts: &mut Options<'_>) -> Value {
    let Some(obj) = value.as_object() else {
        // `true` / `false` schemas, or garbage we leave for the validator.
        return value.clone();
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        if opts.known_refs.contains(reference) {
            return json!({ "$ref": reference });
        }
        opts.unresolved.insert(reference.to_string());
        return json!({});
    }
    let mut out = Map::new();
    for (key, v) in obj {
        if DROPPED.contains(&key.as_str()) || key.starts_with("x-") {
            continue;
        }
        let converted = if SCHEMA_MAPS.contains(&key.as_str()) {
            match v.as_object() {
                Some(m) => Value::Object(
                    m.iter()
                        .map(|(name, s)| (name.clone(), schema(s, opts)))
                        .collect(),
                ),
                None => v.clone(),
            }
        } else if SCHEMA_VALUES.contains(&key.as_str()) {
            match v {
                // Tuple-form `items` (not OpenAPI, but harmless).
                Value::Array(list) if key == "items" => {
                    Value::Array(list.iter().map(|s| schema(s, opts)).collect())
                }
                _ => schema(v, opts),
            }
        } else if SCHEMA_LISTS.contains(&key.as_str()) {
            match v.as_array() {
                Some(list) => Value::Array(list.iter().map(|s| schema(s, opts)).collect()),
                None => v.clone(),
            }
        } else {
            v.clone()
        };
        out.insert(key.clone(), converted);
    }
    if out.get("type").and_then(Value::as_str) == Some("file") {
        return json!({});
    }
    exclusive_bounds(&mut out);
    let nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true)
        || obj.get("x-nullable").and_then(Value::as_bool) == Some(true);
    if nullable {
        make_nullable(out, true)
    } else if opts.all_nullable && out.contains_key("type") {
        make_nullable(out, false)
    } else {
        Value::Object(out)
    }
}

/// Admits `null`: in `type` (and `enum`) when typed, else through `anyOf`
/// when `wrap_untyped`.
fn make_nullable(mut out: Map<String, Value>, wrap_untyped: bool) -> Value {
    match out.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            out.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(types)) => {
            if !types.iter().any(|t| t == "null") {
                types.push(json!("null"));
            }
        }
        _ => {
            if wrap_untyped {
                return json!({ "anyOf": [{ "type": "null" }, Value::Object(out)] });
            }
            return Value::Object(out);
        }
    }
    if let Some(Value::Array(values)) = out.get_mut("enum") {
        if !values.iter().any(Value::is_null) {
            values.push(Value::Null);
        }
    }
    Value::Object(out)
}

/// Draft-4 style boolean `exclusiveMinimum`/`exclusiveMaximum` → numeric.
fn exclusive_bounds(out: &mut Map<String, Value>) {
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match out.get(flag) {
            Some(Value::Bool(true)) => {
                if let Some(b) = out.remove(bound) {
                    out.insert(flag.into(), b);
                } else {
                    out.remove(flag);
                }
            }
            Some(Value::Bool(false)) => {
                out.remove(flag);
            }
            _ => {}
        }
    }
}

/// Every `#/a/b/name` reference target that a document defines under the
/// object at `pointer` (e.g. `/components/schemas`).
pub fn refs_under(document: &Value, pointer: &str) -> BTreeSet<String> {
    document
        .pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| {
            m.keys()
                .map(|k| format!("#{pointer}/{}", escape_pointer(k)))
                .collect()
        })
        .unwrap_or_default()
}

/// Escapes one JSON-pointer segment (`~` → `~0`, `/` → `~1`).
pub fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(v: Value, all_nullable: bool) -> (Value, BTreeSet<String>) {
        let known: BTreeSet<String> = ["#/components/schemas/user".to_string()].into();
        let mut unresolved = BTreeSet::new();
        let out = schema(
            &v,
            &mut Options {
                known_refs: &known,
                all_nullable,
                unresolved: &mut unresolved,
            },
        );
        (out, unresolved)
    }

    #[test]
    fn nullable_reaches_type_and_enum_and_wraps_untyped() {
        let (out, _) = convert(
            json!({"type": "string", "enum": ["a"], "nullable": true, "example": "a", "x-foo": 1}),
            false,
        );
        assert_eq!(
            out,
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
        let (out, _) = convert(
            json!({"nullable": true, "oneOf": [{"$ref": "#/components/schemas/user", "description": "x"}]}),
            false,
        );
        assert_eq!(
            out,
            json!({"anyOf": [{"type": "null"}, {"oneOf": [{"$ref": "#/components/schemas/user"}]}]})
        );
    }

    #[test]
    fn unknown_refs_become_any_and_are_reported() {
        let (out, unresolved) = convert(
            json!({"type": "object", "properties": {"p": {"$ref": "#/definitions/Missing"}, "f": {"type": "file"}}}),
            true,
        );
        assert_eq!(
            out,
            json!({"type": ["object", "null"], "properties": {"p": {}, "f": {}}})
        );
        assert_eq!(unresolved, ["#/definitions/Missing".to_string()].into());
    }

    #[test]
    fn boolean_exclusive_bounds_become_numeric() {
        let (out, _) = convert(
            json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true}),
            false,
        );
        assert_eq!(out, json!({"type": "integer", "exclusiveMinimum": 1}));
    }
}
