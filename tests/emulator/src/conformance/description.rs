//! One forge's REST description, parsed into operations: method, path
//! template, path/query parameters, request body and response schemas, all
//! already converted to JSON Schema (see [`super::convert`]), plus a cache of
//! compiled validators.
//!
//! Loaders: [`Description::github`] reads `github/rest-api.subset.json`
//! (OpenAPI 3.0, self-contained) and [`Description::gitlab`] reads
//! `gitlab/openapi_v2.subset.yaml` (Swagger 2.0, 19 definitions missing,
//! treated as "any" and listed in [`Description::unresolved_refs`]). The
//! corrections of [`super::gaps`] (body overrides, parameter errata) are
//! applied here, at load time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::Validator;
use serde_json::{json, Map, Value};

use super::convert::{self, Options};
use super::gaps::{self, Api, BodyRule};
use super::template::Template;

/// What the description says about one response status.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Documented without content: the body must be empty.
    NoBody,
    /// A JSON body with this (converted) schema.
    Json(Value),
    /// Only non-JSON media types (raw files, diffs): the body is not checked.
    NonJson,
    /// Documented without saying anything about the body (Swagger 2.0
    /// responses with only a description): not checked.
    Any,
}

/// A path or query parameter.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub required: bool,
    /// Converted JSON Schema of the (coerced) value.
    pub schema: Value,
}

/// A request body.
#[derive(Clone, Debug)]
pub struct Body {
    pub required: bool,
    /// Converted JSON Schema; `None` when the body is not checkable (only
    /// non-JSON media types, or an override says so).
    pub schema: Option<Value>,
}

/// One operation (method + path template).
#[derive(Debug)]
pub struct Operation {
    /// Upper case: `GET`, `POST`…
    pub method: String,
    /// As in the description, e.g. `/repos/{owner}/{repo}/pulls`.
    pub template: Template,
    pub path_params: Vec<Param>,
    pub query_params: Vec<Param>,
    pub body: Option<Body>,
    /// Keyed by status as written: `200`, `2XX`, `default`.
    pub responses: BTreeMap<String, Reply>,
}

impl Operation {
    /// `POST /repos/{owner}/{repo}/pulls`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.template.as_str())
    }
}

type Cell = Arc<OnceLock<Result<Arc<Validator>, String>>>;

/// A parsed description plus its validator cache.
pub struct Description {
    pub api: Api,
    /// The spec file, relative to the forge-specs directory.
    pub file: &'static str,
    pub operations: Vec<Operation>,
    /// `$ref` targets the document lacks, validated as "any".
    pub unresolved_refs: BTreeSet<String>,
    /// Converted definitions, embedded into every compiled schema under
    /// the pointer they had (`/components/schemas` or `/definitions`).
    defs_pointer: &'static [&'static str],
    defs: Value,
    validators: Mutex<HashMap<String, Cell>>,
}

/// The result of looking up a request's method and path.
pub enum Lookup<'d> {
    /// The operation and the raw (still percent-encoded) path parameters.
    Found(&'d Operation, Vec<(String, String)>),
    /// The path exists, but not with this method.
    MethodNotDocumented(Vec<String>),
    /// No path template matches.
    NoPath,
}

const METHODS: [&str; 7] = ["get", "put", "post", "patch", "delete", "head", "options"];

impl Description {
    /// Parses GitHub's OpenAPI 3.0 subset (JSON text).
    pub fn github(text: &str) -> Result<Description, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let known = convert::refs_under(&doc, "/components/schemas");
        let mut unresolved = BTreeSet::new();
        let defs = convert_defs(&doc, "/components/schemas", &known, false, &mut unresolved);
        let mut operations = Vec::new();
        for (path, item) in object(&doc, "/paths") {
            let shared_params = item.get("parameters").and_then(Value::as_array);
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let mut opts = Options {
                    known_refs: &known,
                    all_nullable: false,
                    unresolved: &mut unresolved,
                };
                let mut path_params = Vec::new();
                let mut query_params = Vec::new();
                let own = op.get("parameters").and_then(Value::as_array);
                for p in shared_params.into_iter().chain(own).flatten() {
                    let p = resolve(&doc, p);
                    let param = Param {
                        name: str_of(p, "name").to_string(),
                        required: p.get("required").and_then(Value::as_bool) == Some(true),
                        schema: convert::schema(p.get("schema").unwrap_or(&json!({})), &mut opts),
                    };
                    match str_of(p, "in") {
                        "path" => path_params.push(param),
                        "query" => query_params.push(param),
                        _ => {}
                    }
                }
                let body = op.get("requestBody").map(|rb| {
                    let rb = resolve(&doc, rb);
                    Body {
                        required: rb.get("required").and_then(Value::as_bool) == Some(true),
                        schema: json_content(rb).map(|s| convert::schema(s, &mut opts)),
                    }
                });
                let mut responses = BTreeMap::new();
                for (status, r) in op
                    .get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let r = resolve(&doc, r);
                    let reply = match r.get("content").and_then(Value::as_object) {
                        None => Reply::NoBody,
                        Some(c) if c.is_empty() => Reply::NoBody,
                        Some(_) => match json_content(r) {
                            Some(s) => Reply::Json(convert::schema(s, &mut opts)),
                            None => Reply::NonJson,
                        },
                    };
                    responses.insert(status.clone(), reply);
                }
                operations.push(Operation {
                    method: method.to_uppercase(),
                    template: Template::new(Api::Github, path),
                    path_params,
                    query_params,
                    body,
                    responses,
                });
            }
        }
        Ok(Description {
            api: Api::Github,
            file: gaps::GITHUB_SPEC,
            operations,
            unresolved_refs: unresolved,
            defs_pointer: &["components", "schemas"],
            defs,
            validators: Mutex::default(),
        })
    }

    /// Parses GitLab's Swagger 2.0 subset (YAML text); `commit_docs` is
    /// `gitlab/commit-create.from-docs.json`, for the commit-create body.
    pub fn gitlab(yaml: &str, commit_docs: &str) -> Result<Description, String> {
        let doc: serde_yaml::Value = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        let doc = yaml_to_json(doc);
        let docs: Value = serde_json::from_str(commit_docs).map_err(|e| e.to_string())?;
        let commit_body = super::docs_body::commit_create_schema(&docs)?;
        let known = convert::refs_under(&doc, "/definitions");
        let mut unresolved = BTreeSet::new();
        let defs = convert_defs(&doc, "/definitions", &known, true, &mut unresolved);
        let base = doc.get("basePath").and_then(Value::as_str).unwrap_or("");
        let base = base.trim_end_matches('/');
        // apiKey credentials that may travel in the query (`private_token`).
        let auth_query: Vec<Param> = object(&doc, "/securityDefinitions")
            .filter(|(_, d)| str_of(d, "in") == "query")
            .map(|(_, d)| Param {
                name: str_of(d, "name").to_string(),
                required: false,
                schema: json!({ "type": "string" }),
            })
            .collect();
        let mut operations = Vec::new();
        for (path, item) in object(&doc, "/paths") {
            let template_text = format!("{base}{path}");
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let upper = method.to_uppercase();
                let mut opts = Options {
                    known_refs: &known,
                    all_nullable: false,
                    unresolved: &mut unresolved,
                };
                let mut path_params = Vec::new();
                let mut query_params = auth_query.clone();
                let mut body = None;
                for p in op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = str_of(p, "name").to_string();
                    let required = p.get("required").and_then(Value::as_bool) == Some(true);
                    match str_of(p, "in") {
                        "body" => {
                            let schema =
                                convert::schema(p.get("schema").unwrap_or(&json!({})), &mut opts);
                            body = Some(Body {
                                required,
                                schema: Some(schema),
                            });
                        }
                        where_ @ ("path" | "query") => {
                            let mut schema = swagger_param_schema(p, &mut opts);
                            if let Some(e) =
                                gaps::param_erratum(Api::Gitlab, &upper, &template_text, &name)
                            {
                                schema =
                                    serde_json::from_str(e.schema).map_err(|e| e.to_string())?;
                            }
                            let param = Param {
                                name,
                                required,
                                schema,
                            };
                            if where_ == "path" {
                                path_params.push(param);
                            } else {
                                query_params.push(param);
                            }
                        }
                        _ => {}
                    }
                }
                if let Some(o) = gaps::body_override(Api::Gitlab, &upper, &template_text) {
                    let required = body.as_ref().is_none_or(|b| b.required);
                    let schema = match o.rule {
                        BodyRule::CommitCreateDocs => Some(commit_body.clone()),
                        BodyRule::Unchecked => None,
                    };
                    body = Some(Body { required, schema });
                }
                let mut responses = BTreeMap::new();
                for (status, r) in op
                    .get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let mut nullable = Options {
                        known_refs: &known,
                        all_nullable: true,
                        unresolved: &mut unresolved,
                    };
                    let reply = match r.get("schema") {
                        None => Reply::Any,
                        Some(s) if str_of(s, "type") == "file" => Reply::NonJson,
                        Some(s) => Reply::Json(convert::schema(s, &mut nullable)),
                    };
                    responses.insert(status.clone(), reply);
                }
                operations.push(Operation {
                    method: upper,
                    template: Template::new(Api::Gitlab, &template_text),
                    path_params,
                    query_params,
                    body,
                    responses,
                });
            }
        }
        Ok(Description {
            api: Api::Gitlab,
            file: gaps::GITLAB_SPEC,
            operations,
            unresolved_refs: unresolved,
            defs_pointer: &["definitions"],
            defs,
            validators: Mutex::default(),
        })
    }

    /// Finds the operation for `method` on `path` (already stripped of any
    /// GHE prefix). Among matching templates the most specific wins.
    pub fn lookup(&self, method: &str, path: &str) -> Lookup<'_> {
        type Candidate<'o> = (&'o Operation, Vec<(String, String)>, (usize, bool));
        let mut best: Option<Candidate<'_>> = None;
        let mut methods = Vec::new();
        for op in &self.operations {
            let Some(params) = op.template.matches(path) else {
                continue;
            };
            if op.method != method {
                methods.push(op.method.clone());
                continue;
            }
            let rank = op.template.rank();
            if best.as_ref().is_none_or(|(_, _, r)| rank > *r) {
                best = Some((op, params, rank));
            }
        }
        match best {
            Some((op, params, _)) => Lookup::Found(op, params),
            None if !methods.is_empty() => Lookup::MethodNotDocumented(methods),
            None => Lookup::NoPath,
        }
    }

    /// The compiled validator for `schema`, cached under `key` (compiled
    /// once per process and description).
    pub fn validator(
        &self,
        key: &str,
        schema: impl FnOnce() -> Value,
    ) -> Result<Arc<Validator>, String> {
        let cell: Cell = {
            let mut map = self.validators.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.to_string()).or_default().clone()
        };
        cell.get_or_init(|| self.compile(schema()).map(Arc::new))
            .clone()
    }

    /// Compiles `schema` with the document's definitions embedded.
    pub fn compile(&self, schema: Value) -> Result<Validator, String> {
        let mut root = match schema {
            Value::Object(m) if !m.contains_key(self.defs_pointer[0]) => m,
            other => {
                let mut m = Map::new();
                m.insert("allOf".into(), json!([other]));
                m
            }
        };
        let mut defs = self.defs.clone();
        for key in self.defs_pointer.iter().skip(1).rev() {
            defs = json!({ *key: defs });
        }
        root.insert(self.defs_pointer[0].to_string(), defs);
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .map_err(|e| format!("schema does not compile: {e}"))
    }

    /// The number of operations.
    pub fn len(&self) -> usize {
        self.operations.len()
    }

    /// Whether the description has no operation at all.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }
}

/// Every entry of the object at `pointer` (empty if absent).
fn object<'v>(doc: &'v Value, pointer: &str) -> impl Iterator<Item = (&'v String, &'v Value)> {
    doc.pointer(pointer)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Follows a local `$ref` (parameters, responses, request bodies).
fn resolve<'v>(doc: &'v Value, v: &'v Value) -> &'v Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|p| doc.pointer(p))
            .unwrap_or(v),
        None => v,
    }
}

/// The JSON schema of a `content` map (`application/json` or another
/// `*json` media type), if any.
fn json_content(v: &Value) -> Option<&Value> {
    let content = v.get("content")?.as_object()?;
    content
        .get("application/json")
        .or_else(|| {
            content
                .iter()
                .find(|(k, _)| k.contains("json"))
                .map(|(_, v)| v)
        })
        .map(|media| media.get("schema").unwrap_or(&Value::Bool(true)))
}

fn convert_defs(
    doc: &Value,
    pointer: &str,
    known: &BTreeSet<String>,
    all_nullable: bool,
    unresolved: &mut BTreeSet<String>,
) -> Value {
    let mut opts = Options {
        known_refs: known,
        all_nullable,
        unresolved,
    };
    Value::Object(
        object(doc, pointer)
            .map(|(name, s)| (name.clone(), convert::schema(s, &mut opts)))
            .collect(),
    )
}

/// A Swagger 2.0 path/query parameter's schema: its own keys minus the
/// parameter-only ones.
fn swagger_param_schema(p: &Value, opts: &mut Options<'_>) -> Value {
    const NOT_SCHEMA: [&str; 6] = [
        "name",
        "in",
        "required",
        "allowEmptyValue",
        "collectionFormat",
        "description",
    ];
    let obj: Map<String, Value> = p
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !NOT_SCHEMA.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    convert::schema(&Value::Object(obj), opts)
}

/// YAML → JSON, stringifying non-string keys (`200:` → `"200"`).
fn yaml_to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => serde_yaml::to_string(&other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}
