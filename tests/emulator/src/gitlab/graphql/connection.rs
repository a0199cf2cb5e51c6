//! Relay connections as GitLab's GraphQL serves them: `first`/`after`,
//! `last`/`before`, at most 100 nodes a page (GitLab's `max_page_size`),
//! `nodes`, `edges { cursor node }` and `pageInfo`. Cursors are base64 of
//! `{"id":"KEY"}`, the shape GitLab's keyset cursors have.

use base64::Engine;
use serde_json::json;

use crate::graphql::{Args, FieldValue, Object};
use crate::server::Ctx;

/// The largest page GitLab serves.
pub const MAX_PAGE: usize = 100;

/// Makes the node of one item on demand.
pub type MakeNode = std::sync::Arc<dyn Fn() -> FieldValue + Send + Sync>;

/// One connection page.
pub struct Connection {
    type_name: &'static str,
    edge_type: &'static str,
    /// (cursor, node) of the page.
    items: Vec<(String, MakeNode)>,
    has_next: bool,
    has_prev: bool,
}

/// A cursor for `key`.
pub fn cursor(key: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(json!({ "id": key }).to_string())
}

fn decode(c: &str) -> Result<String, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(c)
        .map_err(|_| "Please provide a valid cursor".to_string())?;
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| "Please provide a valid cursor".to_string())?;
    v.get("id")
        .and_then(|k| {
            k.as_str()
                .map(str::to_string)
                .or_else(|| k.as_u64().map(|n| n.to_string()))
        })
        .ok_or_else(|| "Please provide a valid cursor".to_string())
}

impl Connection {
    /// Pages `all` (key, node maker) by the connection arguments in `args`.
    pub fn page(
        type_name: &'static str,
        edge_type: &'static str,
        all: Vec<(String, MakeNode)>,
        args: &Args,
    ) -> Result<Self, String> {
        let mut start = 0usize;
        let mut end = all.len();
        if let Some(after) = args.str("after") {
            let key = decode(after)?;
            start = all
                .iter()
                .position(|(k, _)| *k == key)
                .map(|i| i + 1)
                .ok_or("Please provide a valid cursor")?;
        }
        if let Some(before) = args.str("before") {
            let key = decode(before)?;
            end = all
                .iter()
                .position(|(k, _)| *k == key)
                .ok_or("Please provide a valid cursor")?;
        }
        end = end.max(start);
        let first = args.i64("first");
        let last = args.i64("last");
        if first.is_some_and(|n| n < 0) || last.is_some_and(|n| n < 0) {
            return Err("first and last must be non-negative".into());
        }
        let mut has_next = end < all.len();
        let mut has_prev = start > 0;
        let limit = |n: Option<i64>| n.map_or(MAX_PAGE, |n| (n as usize).min(MAX_PAGE));
        if end - start > limit(first) {
            end = start + limit(first);
            has_next = true;
        }
        if last.is_some() && end - start > limit(last) {
            start = end - limit(last);
            has_prev = true;
        }
        let items = all
            .into_iter()
            .skip(start)
            .take(end - start)
            .map(|(k, make)| (cursor(&k), make))
            .collect();
        Ok(Connection {
            type_name,
            edge_type,
            items,
            has_next,
            has_prev,
        })
    }
}

impl Object for Connection {
    fn type_name(&self) -> &str {
        self.type_name
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Result<FieldValue, String> {
        Ok(match name {
            "nodes" => FieldValue::list(self.items.iter().map(|(_, make)| make())),
            "edges" => FieldValue::list(self.items.iter().map(|(c, make)| {
                FieldValue::object(Edge {
                    type_name: self.edge_type,
                    cursor: c.clone(),
                    node: make.clone(),
                })
            })),
            "pageInfo" => FieldValue::object(PageInfo {
                start: self.items.first().map(|(c, _)| c.clone()),
                end: self.items.last().map(|(c, _)| c.clone()),
                has_next: self.has_next,
                has_prev: self.has_prev,
            }),
            "count" => FieldValue::scalar(self.items.len()),
            other => return Err(crate::graphql::not_emulated(self.type_name, other)),
        })
    }
}

struct Edge {
    type_name: &'static str,
    cursor: String,
    node: MakeNode,
}

impl Object for Edge {
    fn type_name(&self) -> &str {
        self.type_name
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Result<FieldValue, String> {
        match name {
            "cursor" => Ok(FieldValue::scalar(self.cursor.clone())),
            "node" => Ok((self.node)()),
            other => Err(crate::graphql::not_emulated(self.type_name, other)),
        }
    }
}

struct PageInfo {
    start: Option<String>,
    end: Option<String>,
    has_next: bool,
    has_prev: bool,
}

impl Object for PageInfo {
    fn type_name(&self) -> &str {
        "PageInfo"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Result<FieldValue, String> {
        Ok(match name {
            "startCursor" => FieldValue::opt_scalar(self.start.clone()),
            "endCursor" => FieldValue::opt_scalar(self.end.clone()),
            "hasNextPage" => FieldValue::scalar(self.has_next),
            "hasPreviousPage" => FieldValue::scalar(self.has_prev),
            other => return Err(crate::graphql::not_emulated("PageInfo", other)),
        })
    }
}
