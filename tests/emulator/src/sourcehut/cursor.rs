//! sourcehut's opaque pagination cursors.
//!
//! core-go encrypts a JSON `{count, next, order_by, search}` into the
//! `Cursor` scalar; clients only pass it back. The emulator encodes the same
//! JSON as unpadded base64url (opaque enough: clients must not parse it),
//! and answers a cursor it did not issue with `Invalid cursor`, as the real
//! services do. A page holds 25 items unless a `Filter { count }` says
//! otherwise (core-go's `NewCursor`; a count of 0 or less also means 25).

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::graphql::{Args, FieldValue};
use crate::server::Ctx;

/// core-go's default page size.
pub const DEFAULT_COUNT: usize = 25;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The decoded state of a cursor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub count: usize,
    /// Where the next page starts (resolver-specific: a name, an id, …).
    pub next: String,
    #[serde(default)]
    pub search: String,
}

impl Cursor {
    /// The cursor of a first page: from `filter` (git.sr.ht's `Filter`
    /// input) or the defaults.
    pub fn first(filter: Option<&Value>) -> Cursor {
        let count = filter
            .and_then(|f| f.get("count"))
            .and_then(Value::as_i64)
            // The schema's input default (`count: Int = 20`) applies when a
            // filter is given without a count.
            .or(filter.map(|_| 20))
            .filter(|c| *c > 0)
            .map_or(DEFAULT_COUNT, |c| c as usize);
        let search = filter
            .and_then(|f| f.get("search"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Cursor {
            count,
            next: String::new(),
            search,
        }
    }

    /// The cursor a field was given (`cursor` argument), else the first
    /// page per `filter`. An undecodable cursor is a field error.
    pub fn from_args(args: &Args) -> Result<Cursor, String> {
        match args.str("cursor") {
            Some(s) => Cursor::decode(s),
            None => Ok(Cursor::first(args.get("filter"))),
        }
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        B64.encode(json)
    }

    pub fn decode(s: &str) -> Result<Cursor, String> {
        B64.decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice::<Cursor>(&b).ok())
            .filter(|c| c.count > 0)
            .ok_or_else(|| "Invalid cursor".to_string())
    }
}

/// How the items of a listing are ordered by their cursor keys, which
/// decides where a page starts when the item a cursor names is gone or has
/// moved (as upstream compares, rather than looks the key up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Keys ascend: the page starts at the first key `>=` the cursor's.
    Asc,
    /// Keys descend: the page starts at the first key `<=` the cursor's.
    Desc,
    /// The page starts at the item whose key equals the cursor's.
    Exact,
}

/// A numeric key that orders as a string.
pub fn num_key(n: u64) -> String {
    format!("{n:020}")
}

/// One page cut from `items` (already in the service's order): from where
/// `cursor.next` points (per `order`), at most `cursor.count` items, and
/// the cursor of the following page, if any.
pub fn page<T>(
    items: Vec<T>,
    cursor: &Cursor,
    order: Order,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<Cursor>) {
    let next = cursor.next.as_str();
    let start = if next.is_empty() {
        0
    } else {
        items
            .iter()
            .position(|i| match order {
                Order::Asc => key(i).as_str() >= next,
                Order::Desc => key(i).as_str() <= next,
                Order::Exact => key(i) == next,
            })
            .unwrap_or(items.len())
    };
    let mut rest: Vec<T> = items.into_iter().skip(start).collect();
    let next = if rest.len() > cursor.count {
        let next = Cursor {
            count: cursor.count,
            next: key(&rest[cursor.count]),
            search: cursor.search.clone(),
        };
        rest.truncate(cursor.count);
        Some(next)
    } else {
        None
    };
    (rest, next)
}

/// A `*Cursor` object (`results` and `cursor`) of the schema type
/// `type_name`; `wrap` turns each item into its GraphQL object.
pub struct Paged<T> {
    pub type_name: &'static str,
    pub items: Vec<T>,
    pub cursor: Option<Cursor>,
    pub wrap: fn(&T) -> FieldValue<Ctx>,
}

impl<T: Send + 'static> Paged<T> {
    /// One page of `items` (in the service's order) as a cursor object.
    pub fn field(
        type_name: &'static str,
        items: Vec<T>,
        cursor: &Cursor,
        order: Order,
        key: impl Fn(&T) -> String,
        wrap: fn(&T) -> FieldValue<Ctx>,
    ) -> FieldValue<Ctx> {
        let (items, next) = page(items, cursor, order, key);
        FieldValue::object(Paged {
            type_name,
            items,
            cursor: next,
            wrap,
        })
    }
}

impl<T: Send + 'static> crate::graphql::Object for Paged<T> {
    fn type_name(&self) -> &str {
        self.type_name
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Result<FieldValue<Ctx>, String> {
        match name {
            "results" => Ok(FieldValue::list(self.items.iter().map(self.wrap))),
            "cursor" => Ok(FieldValue::opt_scalar(
                self.cursor.as_ref().map(Cursor::encode),
            )),
            other => Err(crate::graphql::not_emulated(self.type_name, other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            count: 25,
            next: "refs/heads/main".into(),
            search: String::new(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("not a cursor").is_err());
        assert_eq!(Cursor::first(None).count, 25);
        assert_eq!(Cursor::first(Some(&serde_json::json!({}))).count, 20);
        assert_eq!(
            Cursor::first(Some(&serde_json::json!({"count": 0}))).count,
            25
        );
        assert_eq!(
            Cursor::first(Some(&serde_json::json!({"count": 7}))).count,
            7
        );
    }

    #[test]
    fn pages_follow_each_other_without_gaps() {
        let items: Vec<u32> = (0..60).collect();
        let mut cursor = Cursor::first(None);
        let mut seen = Vec::new();
        loop {
            let (page, next) = page(items.clone(), &cursor, Order::Asc, |i| num_key(*i as u64));
            seen.extend(page);
            match next {
                Some(n) => cursor = n,
                None => break,
            }
        }
        assert_eq!(seen, items);
        // The item a cursor names is gone: the next page still follows.
        let cursor = Cursor {
            count: 5,
            next: num_key(10),
            search: String::new(),
        };
        let odd: Vec<u32> = (0..20).filter(|i| i % 2 == 1 || *i < 10).collect();
        let (p, _) = page(odd, &cursor, Order::Asc, |i| num_key(*i as u64));
        assert_eq!(p, [11, 13, 15, 17, 19]);
    }
}
