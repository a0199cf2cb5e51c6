//! GitHub's GraphQL rate-limit arithmetic for a document: every connection
//! field (a `…Connection` type) is one request per parent node that asks
//! for it, and brings `first`/`last` nodes per request; the query costs
//! the requests divided by 100, rounded, at least 1 point, and `nodeCount`
//! is the nodes it may return (the "calculating a rate limit score" rules
//! of GitHub's GraphQL documentation). Variables are resolved from the
//! request; aliases count separately; fragments are followed.

use apollo_compiler::executable::{ExecutableDocument, Selection, SelectionSet};
use serde_json::{Map, Value};

use crate::graphql::{GraphqlRequest, GraphqlSchema};

/// The score of one request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub cost: u64,
    pub node_count: u64,
}

/// The score of `request`, or `None` when it does not validate.
pub fn cost(schema: &GraphqlSchema, request: &GraphqlRequest) -> Option<Cost> {
    let doc = schema.validate(&request.query).ok()?;
    let op = doc.operations.get(request.operation_name.as_deref()).ok()?;
    let vars = request.variables.clone().unwrap_or_default();
    let mut walk = Walk {
        doc: &doc,
        vars: &vars,
        requests: 0,
        nodes: 0,
    };
    walk.set(&op.selection_set, 1, 0);
    let cost = ((walk.requests as f64) / 100.0).round().max(1.0) as u64;
    Some(Cost {
        cost,
        node_count: walk.nodes,
    })
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    vars: &'a Map<String, Value>,
    requests: u64,
    nodes: u64,
}

impl Walk<'_> {
    fn set(&mut self, set: &SelectionSet, parents: u64, depth: usize) {
        if depth > 64 {
            return;
        }
        for selection in &set.selections {
            match selection {
                Selection::Field(f) => {
                    let connection = f
                        .definition
                        .ty
                        .inner_named_type()
                        .as_str()
                        .ends_with("Connection");
                    if connection {
                        let n = self.int(f, "first").or(self.int(f, "last")).unwrap_or(0);
                        self.requests = self.requests.saturating_add(parents);
                        let below = parents.saturating_mul(n);
                        self.nodes = self.nodes.saturating_add(below);
                        self.set(&f.selection_set, below, depth + 1);
                    } else {
                        self.set(&f.selection_set, parents, depth + 1);
                    }
                }
                Selection::FragmentSpread(s) => {
                    if let Some(fragment) = self.doc.fragments.get(&s.fragment_name) {
                        self.set(&fragment.selection_set, parents, depth + 1);
                    }
                }
                Selection::InlineFragment(i) => self.set(&i.selection_set, parents, depth + 1),
            }
        }
    }

    fn int(&self, f: &apollo_compiler::executable::Field, name: &str) -> Option<u64> {
        let arg = f.arguments.iter().find(|a| a.name == name)?;
        match arg.value.as_ref() {
            apollo_compiler::ast::Value::Int(i) => i.try_to_i32().ok().map(|n| n.max(0) as u64),
            apollo_compiler::ast::Value::Variable(v) => {
                self.vars.get(v.as_str()).and_then(Value::as_u64)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_nested_connections_as_github_documents() {
        let sdl = "type Query { viewer: User }
            type User { login: String repositories(first: Int, last: Int): RepositoryConnection }
            type RepositoryConnection { nodes: [Repository] }
            type Repository { id: ID issues(first: Int): IssueConnection }
            type IssueConnection { nodes: [Issue] }
            type Issue { id: ID labels(first: Int): LabelConnection }
            type LabelConnection { nodes: [Label] }
            type Label { name: String }";
        let schema = GraphqlSchema::parse_lenient(sdl, "test.graphql");
        let request = |query: &str, vars: Value| GraphqlRequest {
            query: query.into(),
            operation_name: None,
            variables: vars.as_object().cloned(),
        };
        // GitHub's documented example: 1 + 100 + 5000 requests.
        let q = "query($n: Int) { viewer { repositories(first: 100) { nodes { issues(first: 50) { nodes { labels(first: $n) { nodes { name } } } } } } } }";
        let c = cost(&schema, &request(q, serde_json::json!({ "n": 60 }))).unwrap();
        assert_eq!(
            c,
            Cost {
                cost: 51,
                node_count: 100 + 5_000 + 300_000
            }
        );
        let c = cost(&schema, &request("{ viewer { login } }", Value::Null)).unwrap();
        assert_eq!(
            c,
            Cost {
                cost: 1,
                node_count: 0
            }
        );
        assert!(cost(&schema, &request("{ nope }", Value::Null)).is_none());
    }
}
