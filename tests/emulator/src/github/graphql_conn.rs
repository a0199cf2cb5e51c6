//! GitHub GraphQL connections and plain objects: [`Conn`] pages a list by
//! `first` / `last` / `after` / `before` with opaque cursors
//! (`cursor:v2:N`, base64) and answers `nodes`, `edges`, `pageInfo` and
//! `totalCount`; GitHub's limits apply (`first` or `last` required, at most
//! 100, else `MISSING_PAGINATION_BOUNDARIES` / `EXCESSIVE_PAGINATION`).
//! [`Leaf`] answers scalar fields from a JSON object.

use base64::Engine;
use serde_json::{json, Value};

use crate::graphql::{not_emulated, Args, FieldValue, Object};
use crate::server::Ctx;

use super::graphql::typed;

/// An object whose fields are the keys of a JSON object (scalars only).
pub struct Leaf {
    name: &'static str,
    fields: Value,
}

impl Leaf {
    pub fn new(name: &'static str, fields: Value) -> Self {
        Leaf { name, fields }
    }
}

impl Object for Leaf {
    fn type_name(&self) -> &str {
        self.name
    }
    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Result<FieldValue, String> {
        match self.fields.get(name) {
            Some(v) => Ok(FieldValue::Scalar(v.clone())),
            None => Err(not_emulated(self.name, name)),
        }
    }
}

/// A cursor for position `i` of a connection.
pub fn cursor(i: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("cursor:v2:{i}"))
}

fn parse_cursor(arg: &str, c: &str) -> Result<usize, String> {
    base64::engine::general_purpose::STANDARD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("cursor:v2:")?.parse().ok())
        .ok_or_else(|| {
            typed(
                "INVALID_CURSOR_ARGUMENTS",
                format!("`{arg}` does not appear to be a valid cursor."),
            )
        })
}

/// A page of a connection: the items with their cursors, per `first`,
/// `last`, `after`, `before` (GitHub requires `first` or `last`, ≤ 100).
pub struct Conn<T> {
    type_name: &'static str,
    edge_type: &'static str,
    items: Vec<(String, T)>,
    total: usize,
    has_next: bool,
    has_prev: bool,
    node: fn(&T) -> FieldValue,
}

impl<T: Clone + Send + 'static> Conn<T> {
    /// Paginates `all` (already filtered and ordered).
    pub fn page(
        field: &str,
        type_name: &'static str,
        all: Vec<T>,
        args: &Args,
        node: fn(&T) -> FieldValue,
    ) -> Result<Self, String> {
        let (first, last) = (args.i64("first"), args.i64("last"));
        if first.is_none() && last.is_none() {
            return Err(typed(
                "MISSING_PAGINATION_BOUNDARIES",
                format!("You must provide a `first` or `last` value to properly paginate the `{field}` connection."),
            ));
        }
        for (arg, v) in [("first", first), ("last", last)] {
            if let Some(n) = v {
                if !(0..=100).contains(&n) {
                    return Err(typed(
                        "EXCESSIVE_PAGINATION",
                        format!("Requesting {n} records on the `{field}` connection exceeds the `{arg}` limit of 100 records."),
                    ));
                }
            }
        }
        let total = all.len();
        let start = match args.str("after") {
            Some(c) => (parse_cursor("after", c)? + 1).min(total),
            None => 0,
        };
        let end = match args.str("before") {
            Some(c) => parse_cursor("before", c)?.min(total).max(start),
            None => total,
        };
        let (mut lo, mut hi) = (start, end);
        if let Some(n) = first {
            hi = hi.min(lo + n as usize);
        }
        if let Some(n) = last {
            lo = lo.max(hi.saturating_sub(n as usize));
        }
        let items = all
            .into_iter()
            .enumerate()
            .skip(lo)
            .take(hi - lo)
            .map(|(i, t)| (cursor(i), t))
            .collect();
        Ok(Conn {
            type_name,
            edge_type: edge_type(type_name),
            items,
            total,
            has_next: hi < end || (hi < total && args.str("before").is_none() && first.is_some()),
            has_prev: lo > start || (lo > 0 && args.str("after").is_none() && last.is_some()),
            node,
        })
    }
}

impl<T> Conn<T> {
    /// The items of this page.
    pub fn items(&self) -> impl Iterator<Item = &T> {
        self.items.iter().map(|(_, t)| t)
    }
}

fn edge_type(connection: &'static str) -> &'static str {
    match connection {
        "RepositoryConnection" => "RepositoryEdge",
        "PullRequestConnection" => "PullRequestEdge",
        "CommitConnection" => "CommitEdge",
        "LabelConnection" => "LabelEdge",
        "RefConnection" => "RefEdge",
        _ => "Edge",
    }
}

struct Edge<T> {
    type_name: &'static str,
    cursor: String,
    item: T,
    node: fn(&T) -> FieldValue,
}

impl<T: Send> Object for Edge<T> {
    fn type_name(&self) -> &str {
        self.type_name
    }
    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Result<FieldValue, String> {
        match name {
            "cursor" => Ok(FieldValue::scalar(self.cursor.clone())),
            "node" => Ok((self.node)(&self.item)),
            other => Err(not_emulated(self.type_name, other)),
        }
    }
}

impl<T: Clone + Send + 'static> Object for Conn<T> {
    fn type_name(&self) -> &str {
        self.type_name
    }
    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Result<FieldValue, String> {
        Ok(match name {
            "totalCount" => FieldValue::scalar(self.total),
            "totalDiskUsage" => FieldValue::scalar(0),
            "nodes" => FieldValue::list(self.items.iter().map(|(_, t)| (self.node)(t))),
            "edges" => FieldValue::list(self.items.iter().map(|(c, t)| {
                FieldValue::object(Edge {
                    type_name: self.edge_type,
                    cursor: c.clone(),
                    item: t.clone(),
                    node: self.node,
                })
            })),
            "pageInfo" => FieldValue::object(Leaf::new(
                "PageInfo",
                json!({
                    "hasNextPage": self.has_next,
                    "hasPreviousPage": self.has_prev,
                    "startCursor": self.items.first().map(|(c, _)| c.clone()),
                    "endCursor": self.items.last().map(|(c, _)| c.clone()),
                }),
            )),
            other => return Err(not_emulated(self.type_name, other)),
        })
    }
}
