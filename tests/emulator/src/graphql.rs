//! A small GraphQL executor shared by the three forges.
//!
//! Documents are parsed and validated with `apollo-compiler` against the
//! forge's official schema (see [`crate::specs`]); execution uses
//! apollo-compiler's spec-conformant engine (operation selection, variable
//! coercion, aliases, inline and named fragments with type conditions,
//! `@skip`/`@include`, `__typename`, result coercion and null propagation)
//! and calls back into forge resolvers through the [`Object`] trait.
//!
//! Errors come back as GraphQL `errors` with `path` and `locations` in an
//! HTTP 200 response, like the real servers. A document that does not
//! validate against the schema is reported in [`Outcome::violation`]: the
//! emulator records it, because it means drover sent something the real
//! forge would reject.
//!
//! Forge engineers implement [`Object`] for their types (with the default
//! context [`crate::server::Ctx`]); the root value is the schema's `Query`
//! or `Mutation` object.

use apollo_compiler::resolvers::{Execution, FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::{serde_json_bytes, GraphQLError, JsonMap};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::server::Ctx;

/// A schema loaded leniently: parse and validation errors are kept in
/// `load_errors` and the (partial) schema is used anyway, because GitHub's
/// published SDL defines two fields twice.
pub struct GraphqlSchema {
    /// A name for messages, usually the file name.
    pub name: String,
    schema: Valid<Schema>,
    pub load_errors: Vec<String>,
}

impl std::fmt::Debug for GraphqlSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphqlSchema")
            .field("name", &self.name)
            .field("types", &self.schema.types.len())
            .field("load_errors", &self.load_errors)
            .finish()
    }
}

impl GraphqlSchema {
    /// Parses SDL, keeping whatever apollo-compiler could build on errors.
    pub fn parse_lenient(sdl: &str, name: &str) -> Self {
        let (schema, mut load_errors) = match Schema::parse(sdl, name) {
            Ok(s) => (s, Vec::new()),
            Err(e) => (
                e.partial,
                e.errors.iter().map(|d| headline(&d.to_string())).collect(),
            ),
        };
        let schema = match schema.validate() {
            Ok(valid) => valid,
            Err(e) => {
                load_errors.extend(e.errors.iter().map(|d| headline(&d.to_string())));
                Valid::assume_valid(e.partial)
            }
        };
        GraphqlSchema {
            name: name.to_string(),
            schema,
            load_errors,
        }
    }

    /// The schema, for direct use of apollo-compiler.
    pub fn schema(&self) -> &Valid<Schema> {
        &self.schema
    }

    /// Validates an executable document; the errors as GraphQL errors.
    pub fn validate(&self, query: &str) -> Result<Valid<ExecutableDocument>, Vec<GraphQLError>> {
        ExecutableDocument::parse_and_validate(&self.schema, query, "request.graphql")
            .map_err(|e| e.errors.iter().map(|d| d.to_json()).collect())
    }
}

/// The first line of a diagnostic report, without the `Error: ` prefix.
fn headline(report: &str) -> String {
    let first = report.lines().next().unwrap_or(report);
    first.trim_start_matches("Error: ").to_string()
}

/// The body of a GraphQL POST.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GraphqlRequest {
    pub query: String,
    #[serde(
        default,
        rename = "operationName",
        skip_serializing_if = "Option::is_none"
    )]
    pub operation_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Map<String, Value>>,
}

/// A field's coerced argument values (variables already substituted).
#[derive(Clone, Debug, Default)]
pub struct Args(pub Map<String, Value>);

impl Args {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }
    pub fn i64(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Value::as_bool)
    }
    /// A required string argument, or a field error message.
    pub fn required_str(&self, name: &str) -> Result<&str, String> {
        self.str(name)
            .ok_or_else(|| format!("argument {name:?} is required"))
    }
}

/// What a resolver returns for a field.
pub enum FieldValue<C = Ctx> {
    Null,
    /// A scalar or enum value (or any leaf JSON).
    Scalar(Value),
    Object(Box<dyn Object<C>>),
    List(Vec<FieldValue<C>>),
}

impl<C> FieldValue<C> {
    pub fn scalar(v: impl Into<Value>) -> Self {
        FieldValue::Scalar(v.into())
    }
    pub fn object(o: impl Object<C> + 'static) -> Self {
        FieldValue::Object(Box::new(o))
    }
    /// `Null` for `None`.
    pub fn opt_object(o: Option<impl Object<C> + 'static>) -> Self {
        o.map_or(FieldValue::Null, FieldValue::object)
    }
    /// `Null` for `None`, a scalar otherwise.
    pub fn opt_scalar(v: Option<impl Into<Value>>) -> Self {
        v.map_or(FieldValue::Null, FieldValue::scalar)
    }
    pub fn list(items: impl IntoIterator<Item = FieldValue<C>>) -> Self {
        FieldValue::List(items.into_iter().collect())
    }
}

/// A GraphQL object value: a forge resolver implements this per type.
///
/// `field` is called only for fields the validated document selects (so
/// the field exists in the schema); `__typename` is answered from
/// `type_name`. An `Err` becomes a field error with its path.
pub trait Object<C = Ctx>: Send {
    /// The concrete object type name in the schema (e.g. `Repository`).
    fn type_name(&self) -> &str;
    /// Resolves one field.
    fn field(&self, name: &str, args: &Args, ctx: &C) -> Result<FieldValue<C>, String>;
}

/// The message for a schema field the emulator does not answer yet.
pub fn not_emulated(type_name: &str, field: &str) -> String {
    format!("the emulator does not implement {type_name}.{field} yet")
}

/// The result of [`execute`]: the JSON body to send with HTTP 200, and a
/// violation message when drover's request was invalid for the schema.
#[derive(Debug)]
pub struct Outcome {
    pub body: Value,
    pub violation: Option<String>,
}

/// Validates and executes `request` with `root` as the root operation value.
pub fn execute<C>(
    schema: &GraphqlSchema,
    request: &GraphqlRequest,
    root: &dyn Object<C>,
    ctx: &C,
) -> Outcome {
    let document = match schema.validate(&request.query) {
        Ok(d) => d,
        Err(errors) => {
            let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
            return Outcome {
                body: json!({ "errors": errors }),
                violation: Some(format!(
                    "{}: document does not validate: {}\n{}",
                    schema.name,
                    messages.join("; "),
                    request.query
                )),
            };
        }
    };
    let variables: JsonMap = match &request.variables {
        Some(v) => match serde_json::from_value(Value::Object(v.clone())) {
            Ok(m) => m,
            Err(e) => return request_error(schema, &format!("variables: {e}")),
        },
        None => JsonMap::new(),
    };
    let execution = match Execution::new(&schema.schema, &document)
        .operation_name(request.operation_name.as_deref())
    {
        Ok(e) => e.raw_variable_values(&variables),
        Err(e) => return request_error(schema, &e.message().to_string()),
    };
    let adapter = Adapter {
        obj: Resolver::Borrowed(root),
        ctx,
    };
    match execution.execute_sync(&adapter) {
        Ok(mut response) => {
            // apollo-compiler prefixes resolver messages; the forges do not.
            for error in &mut response.errors {
                if let Some(m) = error.message.strip_prefix("resolver error: ") {
                    error.message = m.to_string();
                }
            }
            Outcome {
                body: serde_json::to_value(response).unwrap_or(Value::Null),
                violation: None,
            }
        }
        Err(e) => request_error(schema, &e.message().to_string()),
    }
}

/// A request error (no `data`), which is drover's fault: a violation.
fn request_error(schema: &GraphqlSchema, message: &str) -> Outcome {
    Outcome {
        body: json!({ "errors": [{ "message": message }] }),
        violation: Some(format!("{}: request error: {message}", schema.name)),
    }
}

enum Resolver<'r, C> {
    Borrowed(&'r dyn Object<C>),
    Owned(Box<dyn Object<C>>),
}

struct Adapter<'r, C> {
    obj: Resolver<'r, C>,
    ctx: &'r C,
}

impl<C> Adapter<'_, C> {
    fn obj(&self) -> &dyn Object<C> {
        match &self.obj {
            Resolver::Borrowed(o) => *o,
            Resolver::Owned(o) => o.as_ref(),
        }
    }
}

impl<C> ObjectValue for Adapter<'_, C> {
    fn type_name(&self) -> &str {
        self.obj().type_name()
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let args: Map<String, Value> = info
            .arguments()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), to_json(v)))
            .collect();
        match self.obj().field(info.field_name(), &Args(args), self.ctx) {
            Ok(v) => Ok(resolved(v, self.ctx)),
            Err(message) => Err(FieldError { message }),
        }
    }
}

fn resolved<'a, C>(v: FieldValue<C>, ctx: &'a C) -> ResolvedValue<'a> {
    match v {
        FieldValue::Null => ResolvedValue::null(),
        FieldValue::Scalar(j) => ResolvedValue::leaf(from_json(j)),
        FieldValue::Object(o) => ResolvedValue::Object(Box::new(Adapter {
            obj: Resolver::Owned(o),
            ctx,
        })),
        FieldValue::List(items) => ResolvedValue::List(Box::new(
            items.into_iter().map(move |i| Ok(resolved(i, ctx))),
        )),
    }
}

fn to_json(v: &serde_json_bytes::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn from_json(v: Value) -> serde_json_bytes::Value {
    serde_json::from_value(v).unwrap_or(serde_json_bytes::Value::Null)
}
