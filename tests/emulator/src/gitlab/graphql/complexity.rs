//! GitLab's GraphQL query limits: complexity and depth, computed from the
//! parsed query as GitLab 13.x (graphql-ruby 1.11, the era of the shared
//! schema) computes them, and refused as it refuses them.
//!
//! Sources (read through the code search index; no code copied):
//! - `app/graphql/gitlab_schema.rb` (gitlabhq/gitlabhq at 7e202c4f…):
//!   max complexity 200 unauthenticated, 250 for any signed-in user
//!   (300 for admins, not emulated); max depth 15 unauthenticated, 20
//!   signed in; `default_max_page_size 100`. `doc/api/graphql/_index.md`
//!   ("Limits", "Maximum query complexity"; copy in the shared
//!   forge-specs): 200 / 250, "each field in a query adds 1 to the
//!   complexity score, although this can be higher or lower for
//!   particular fields".
//! - `app/graphql/types/base_field.rb` (13.x, graphql-ruby 1.11 era): a
//!   field's complexity is its own plus its children's. Its own is the
//!   `complexity:` it declares, else 1, plus 1 when it `calls_gitaly`. A
//!   field with a resolver class instead computes `child + resolver
//!   complexity (+1 when it calls Gitaly)`, and, when it is a connection,
//!   adds that much again times `min(first, last, 100)` times the
//!   resolver's multiplier, truncated to an integer.
//! - `app/graphql/resolvers/base_resolver.rb`: resolver complexity is 1,
//!   +1 with a `sort` argument (schema defaults count: graphql-ruby passes
//!   them), +5 with `search`; the multiplier is 0.01, or 0 when the query
//!   names `iid`/`iids`.
//! - graphql-ruby 1.11 `QueryComplexity`: fields of one selection with the
//!   same response key are merged (counted once); fragments add to the
//!   selection they are spread in. `QueryDepth`: the deepest field path.
//!   Their refusals: "Query has complexity of N, which exceeds max
//!   complexity of M" and "Query has depth of N, which exceeds max depth
//!   of M", as `errors` (no `data`) in an HTTP 200 answer.
//!
//! The per-field declarations below are those of the types the emulator
//! serves (`repository_type.rb`, `tree/tree_type.rb`, `tree/blob_type.rb`,
//! `query_type.rb`, `group_type.rb`, `project_type.rb` and their
//! resolvers, 13.x text); every other field is a plain field of 1.

use std::collections::BTreeMap;

use apollo_compiler::executable::{ExecutableDocument, Field, Selection, SelectionSet};
use apollo_compiler::Node;
use serde_json::{Map, Value};

/// The limits GitLab applies to one query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `AUTHENTICATED_MAX_COMPLEXITY`: any request with a valid token.
    pub authenticated_complexity: u64,
    /// `DEFAULT_MAX_COMPLEXITY`: anonymous requests.
    pub anonymous_complexity: u64,
    /// `AUTHENTICATED_MAX_DEPTH`.
    pub authenticated_depth: u64,
    /// `DEFAULT_MAX_DEPTH`.
    pub anonymous_depth: u64,
}

impl Default for Limits {
    /// GitLab.com's and a default install's figures.
    fn default() -> Self {
        Limits {
            authenticated_complexity: 250,
            anonymous_complexity: 200,
            authenticated_depth: 20,
            anonymous_depth: 15,
        }
    }
}

impl Limits {
    /// The refusals of a query with `score`, for a caller signed in or not;
    /// empty when it may run.
    pub fn refusals(&self, score: Score, signed_in: bool) -> Vec<String> {
        let (complexity, depth) = if signed_in {
            (self.authenticated_complexity, self.authenticated_depth)
        } else {
            (self.anonymous_complexity, self.anonymous_depth)
        };
        let mut out = Vec::new();
        if score.depth > depth {
            out.push(format!(
                "Query has depth of {}, which exceeds max depth of {depth}",
                score.depth
            ));
        }
        if score.complexity > complexity {
            out.push(format!(
                "Query has complexity of {}, which exceeds max complexity of {complexity}",
                score.complexity
            ));
        }
        out
    }
}

/// A query's complexity and depth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Score {
    pub complexity: u64,
    pub depth: u64,
}

/// How a field's own complexity is declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Declared {
    /// A constant (`complexity:`, or 1, or 2 for `calls_gitaly`), added
    /// to the children's.
    Constant(u64),
    /// A resolver class: the proc of `field_resolver_complexity`.
    Resolver { gitaly: bool },
}

/// The declaration of `field` on `type_name` in GitLab 13.x.
fn declared(type_name: &str, field: &str) -> Declared {
    use Declared::*;
    match (type_name, field) {
        // query_type.rb: each of these has a resolver class.
        ("Query", "project" | "projects" | "group" | "namespace" | "echo" | "metadata") => {
            Resolver { gitaly: false }
        }
        // group_type.rb / namespace_type.rb: GroupProjectsResolver,
        // NamespaceProjectsResolver.
        ("Group" | "Namespace", "projects") => Resolver { gitaly: false },
        // project_type.rb: MergeRequestsResolver (and its `single`).
        ("Project", "mergeRequests" | "mergeRequest") => Resolver { gitaly: false },
        // repository_type.rb.
        ("Repository", "rootRef" | "empty" | "exists") => Constant(2),
        ("Repository", "tree") => Resolver { gitaly: true },
        // tree/tree_type.rb: "Complexity 10 as it triggers a Gitaly call
        // on each render"; `blobs` and `submodules` call Gitaly, `trees`
        // does not.
        ("Tree", "lastCommit") => Constant(10),
        ("Tree", "blobs" | "submodules") => Constant(2),
        // tree/blob_type.rb.
        ("Blob", "lfsOid") => Constant(2),
        _ => Constant(1),
    }
}

/// The score of the operation `operation` of a validated document, with
/// `variables` for its arguments.
pub fn score(
    doc: &ExecutableDocument,
    operation: Option<&str>,
    variables: &Map<String, Value>,
) -> Option<Score> {
    let op = doc.operations.get(operation).ok()?;
    let walk = Walk { doc, variables };
    let fields = walk.collect(&op.selection_set, 0);
    Some(Score {
        complexity: fields.values().map(|f| walk.complexity(f, 0)).sum(),
        depth: fields.values().map(|f| walk.depth(f, 0)).max().unwrap_or(0),
    })
}

/// A field of one selection set, merged by response key.
struct Merged<'d> {
    field: &'d Node<Field>,
    type_name: String,
    sets: Vec<&'d SelectionSet>,
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    variables: &'a Map<String, Value>,
}

/// Deeper than any query GitLab would take; bounds the recursion.
const MAX_WALK: usize = 64;

impl<'a> Walk<'a> {
    /// The fields of `set` by response key, fragments spread in.
    fn collect(&self, set: &'a SelectionSet, depth: usize) -> BTreeMap<String, Merged<'a>> {
        let mut out = BTreeMap::new();
        self.collect_into(set, depth, &mut out);
        out
    }

    fn collect_into(
        &self,
        set: &'a SelectionSet,
        depth: usize,
        out: &mut BTreeMap<String, Merged<'a>>,
    ) {
        if depth > MAX_WALK {
            return;
        }
        for selection in &set.selections {
            match selection {
                Selection::Field(f) => {
                    out.entry(f.response_key().to_string())
                        .or_insert_with(|| Merged {
                            field: f,
                            type_name: set.ty.to_string(),
                            sets: Vec::new(),
                        })
                        .sets
                        .push(&f.selection_set);
                }
                Selection::FragmentSpread(s) => {
                    if let Some(fragment) = self.doc.fragments.get(&s.fragment_name) {
                        self.collect_into(&fragment.selection_set, depth + 1, out);
                    }
                }
                Selection::InlineFragment(i) => self.collect_into(&i.selection_set, depth + 1, out),
            }
        }
    }

    fn children(&self, merged: &Merged<'a>, depth: usize) -> BTreeMap<String, Merged<'a>> {
        let mut out = BTreeMap::new();
        for set in &merged.sets {
            self.collect_into(set, depth + 1, &mut out);
        }
        out
    }

    fn complexity(&self, merged: &Merged<'a>, depth: usize) -> u64 {
        if depth > MAX_WALK {
            return 0;
        }
        let child: u64 = self
            .children(merged, depth)
            .values()
            .map(|c| self.complexity(c, depth + 1))
            .sum();
        let field = merged.field;
        match declared(&merged.type_name, field.name.as_str()) {
            Declared::Constant(own) => own + child,
            Declared::Resolver { gitaly } => {
                let mut resolver = 1;
                if self.present(field, "sort") {
                    resolver += 1;
                }
                if self.present(field, "search") {
                    resolver += 5;
                }
                let base = child + resolver + u64::from(gitaly);
                let connection = field
                    .definition
                    .ty
                    .inner_named_type()
                    .as_str()
                    .ends_with("Connection");
                if !connection {
                    return base;
                }
                let limit = [self.int(field, "first"), self.int(field, "last"), Some(100)]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(100);
                let multiplier = if self.present(field, "iid") || self.present(field, "iids") {
                    0.0
                } else {
                    0.01
                };
                // `complexity += complexity * multiplier; complexity.to_i`
                let total = base as f64 + base as f64 * (limit as f64 * multiplier);
                total as u64
            }
        }
    }

    fn depth(&self, merged: &Merged<'a>, depth: usize) -> u64 {
        if depth > MAX_WALK {
            return 0;
        }
        1 + self
            .children(merged, depth)
            .values()
            .map(|c| self.depth(c, depth + 1))
            .max()
            .unwrap_or(0)
    }

    /// The argument's value: given (a literal or a variable), else the
    /// schema's default.
    fn value(&self, field: &Field, name: &str) -> Option<Value> {
        use apollo_compiler::ast::Value as Ast;
        let given = field.arguments.iter().find(|a| a.name == name);
        let value = match given {
            Some(a) => a.value.clone(),
            None => field
                .definition
                .arguments
                .iter()
                .find(|a| a.name == name)?
                .default_value
                .clone()?,
        };
        match value.as_ref() {
            Ast::Null => None,
            Ast::Variable(v) => self
                .variables
                .get(v.as_str())
                .filter(|v| !v.is_null())
                .cloned(),
            Ast::Int(i) => i.try_to_i32().ok().map(Value::from),
            Ast::String(s) => Some(Value::from(s.as_str())),
            Ast::Enum(e) => Some(Value::from(e.as_str())),
            Ast::Boolean(b) => Some(Value::from(*b)),
            Ast::List(items) => Some(Value::Array(vec![Value::Null; items.len()])),
            _ => Some(Value::Bool(true)),
        }
    }

    fn present(&self, field: &Field, name: &str) -> bool {
        self.value(field, name).is_some()
    }

    fn int(&self, field: &Field, name: &str) -> Option<u64> {
        self.value(field, name)
            .and_then(|v| v.as_i64())
            .map(|n| n.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::GraphqlSchema;

    fn schema() -> GraphqlSchema {
        let sdl = "type Query { project(fullPath: ID!): Project group(fullPath: ID!): Group }
            type Group { projects(first: Int, last: Int, search: String = null, sort: String = null): ProjectConnection! }
            type ProjectConnection { nodes: [Project] pageInfo: PageInfo! }
            type PageInfo { hasNextPage: Boolean! endCursor: String }
            type Project { id: ID! repository: Repository
              mergeRequests(first: Int, iids: [String!], sort: String = \"created_desc\"): MergeRequestConnection }
            type MergeRequestConnection { nodes: [MergeRequest] }
            type MergeRequest { iid: String! state: String! }
            type Repository { rootRef: String tree(ref: String, path: String): Tree }
            type Tree { lastCommit: Commit blobs: BlobConnection! trees: TreeConnection! }
            type BlobConnection { nodes: [Blob] pageInfo: PageInfo! }
            type TreeConnection { nodes: [TreeEntry] }
            type Blob { name: String! lfsOid: String }
            type TreeEntry { name: String! }
            type Commit { sha: String! }";
        GraphqlSchema::parse_lenient(sdl, "test.graphql")
    }

    fn score_of(query: &str, vars: Value) -> Score {
        let schema = schema();
        let doc = schema.validate(query).unwrap();
        score(&doc, None, vars.as_object().unwrap()).unwrap()
    }

    #[test]
    fn plain_fields_gitaly_fields_and_resolvers_count_as_gitlab_declares_them() {
        // project: resolver 1 + id 1 + repository (1 + rootRef 2 + tree
        // (resolver 1 + gitaly 1 + lastCommit (10 + sha 1))).
        let s = score_of(
            "{ project(fullPath: \"a\") { id repository { rootRef tree(ref: \"x\") { lastCommit { sha } } } } }",
            serde_json::json!({}),
        );
        assert_eq!(s.complexity, 1 + 1 + 1 + 2 + (2 + 11));
        assert_eq!(s.depth, 5);
        // blobs (2) pageInfo (1 + 1) nodes (1 + name 1 + lfsOid 2); trees
        // (1) nodes (1 + 1).
        let s = score_of(
            "{ project(fullPath: \"a\") { repository { tree { blobs { pageInfo { hasNextPage } nodes { name lfsOid } } trees { nodes { name } } } } } }",
            serde_json::json!({}),
        );
        assert_eq!(s.complexity, 1 + 1 + 2 + (2 + 2 + 4) + (1 + 2));
    }

    #[test]
    fn resolver_connections_grow_with_the_page_and_aliases_count_apart() {
        // (child 2 + 1) * (1 + 100 * 0.01) = 6, plus the group's own 1.
        let q =
            "query($n: Int) { group(fullPath: \"g\") { projects(first: $n) { nodes { id } } } }";
        assert_eq!(score_of(q, serde_json::json!({ "n": 100 })).complexity, 7);
        // No `first`: GitLab's page size, 100. 50: 3 * 1.5 = 4.5 → 4.
        assert_eq!(score_of(q, serde_json::json!({})).complexity, 7);
        assert_eq!(score_of(q, serde_json::json!({ "n": 50 })).complexity, 5);
        // search adds 5 before the multiplier: (2 + 6) * 2 = 16.
        let q = "{ group(fullPath: \"g\") { projects(search: \"x\") { nodes { id } } } }";
        assert_eq!(score_of(q, serde_json::json!({})).complexity, 17);
        // A schema default for `sort` counts; `iids` drops the multiplier:
        // (nodes 1 + iid 1 + state 1 + 1 + sort 1) * (1 + 20 * 0.01) = 6.
        let q = "{ project(fullPath: \"a\") { mergeRequests(first: 20) { nodes { iid state } } } }";
        assert_eq!(score_of(q, serde_json::json!({})).complexity, 1 + 6);
        let q = "{ project(fullPath: \"a\") { mergeRequests(first: 20, iids: [\"1\"]) { nodes { iid state } } } }";
        assert_eq!(score_of(q, serde_json::json!({})).complexity, 1 + 5);
        // Two aliases are two fields; the same key twice is one.
        let one = score_of(
            "{ a: project(fullPath: \"a\") { id } }",
            serde_json::json!({}),
        );
        let two = score_of(
            "{ a: project(fullPath: \"a\") { id } b: project(fullPath: \"b\") { id } }",
            serde_json::json!({}),
        );
        let same = score_of(
            "{ a: project(fullPath: \"a\") { id } a: project(fullPath: \"a\") { id } }",
            serde_json::json!({}),
        );
        assert_eq!((one.complexity, two.complexity, same.complexity), (2, 4, 2));
    }

    #[test]
    fn refusals_say_what_gitlab_says() {
        let limits = Limits::default();
        let score = Score {
            complexity: 1012,
            depth: 6,
        };
        assert_eq!(
            limits.refusals(score, true),
            ["Query has complexity of 1012, which exceeds max complexity of 250"]
        );
        let deep = Score {
            complexity: 210,
            depth: 16,
        };
        assert!(limits.refusals(deep, true).is_empty());
        assert_eq!(
            limits.refusals(deep, false),
            [
                "Query has depth of 16, which exceeds max depth of 15",
                "Query has complexity of 210, which exceeds max complexity of 200"
            ]
        );
    }
}
