//! The one door YAML text goes through. Before serde_yaml sees a file, its
//! nesting is bounded by a cheap scan (libyaml's cost grows with the square
//! of the depth: 100,000 levels took over a minute); a file that is not a
//! mapping of settings at all (a token, `/etc/passwd`) is refused without
//! a word of its contents; a key given twice in one mapping is an error
//! (serde keeps the last silently). Errors name file, line and column and
//! the problem, never a value read from the file.

use std::path::Path;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};

use super::error::ConfigError;

/// The deepest nesting accepted: serde_yaml's own recursion limit, far
/// past what drover's files need.
pub const MAX_DEPTH: usize = 128;

/// Parses `text` (the contents of `path`) as a `T`.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    if let Some((line, column)) = too_deep(text, MAX_DEPTH) {
        return Err(ConfigError::at(
            path,
            line,
            column,
            format!("nested deeper than {MAX_DEPTH} levels; drover's files need a handful"),
        ));
    }
    let shape: Shape = serde_yaml::from_str(text)
        .map_err(|e| at_second_key(text, ConfigError::from_yaml(path, &e)))?;
    if !matches!(shape, Shape::Mapping | Shape::Empty) {
        return Err(ConfigError::whole_file(
            path,
            "not a YAML mapping of settings (is this the right file?)",
        ));
    }
    serde_yaml::from_str(text).map_err(|e| ConfigError::from_yaml(path, &e))
}

/// Where `text` first nests deeper than `limit`, if it does. An
/// over-estimate, never an under-estimate: every deeper indentation and
/// every `- ` or `? ` indicator of block style opens a level, and so does
/// every `[` and `{` of flow style (outside quotes and comments); the
/// text of block scalars (`|`, `>`) is skipped as YAML skips it. Linear
/// in the length of the text.
pub fn too_deep(text: &str, limit: usize) -> Option<(usize, usize)> {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    // A block scalar's parent column, and its content's once seen.
    let mut scalar: Option<(usize, Option<usize>)> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        let blank = raw.trim().is_empty();
        if let Some((parent, content)) = scalar {
            match content {
                _ if blank => continue,
                Some(c) if indent >= c => continue,
                None if indent > parent => {
                    scalar = Some((parent, Some(indent)));
                    continue;
                }
                _ => scalar = None,
            }
        }
        let mut level = 0;
        let mut at = 0;
        if flow == 0 {
            let rest = raw.trim_start_matches(' ');
            if blank || rest.starts_with('#') {
                continue;
            }
            if indent == 0 && (rest.starts_with("---") || rest.starts_with("...")) {
                indents.clear();
            }
            while indents.last().is_some_and(|&i| i >= indent) {
                indents.pop();
            }
            indents.push(indent);
            level = indents.len();
            at = indent;
            if level > limit {
                return Some((line, indent + 1));
            }
            // `- - - x` and `? x`: each indicator opens a level.
            let bytes = raw.as_bytes();
            while at < bytes.len()
                && matches!(bytes[at], b'-' | b'?')
                && bytes.get(at + 1).is_none_or(|b| *b == b' ')
            {
                level += 1;
                if level > limit {
                    return Some((line, at + 1));
                }
                at += 1;
                while bytes.get(at) == Some(&b' ') {
                    at += 1;
                }
            }
            match value_start(raw, at) {
                Start::Flow(i) => at = i,
                Start::BlockScalar(parent) => {
                    scalar = Some((parent, None));
                    continue;
                }
                Start::Other => continue,
            }
        }
        // Flow style: brackets outside quotes and comments.
        let mut quote: Option<u8> = None;
        let bytes = raw.as_bytes();
        let mut i = at;
        while i < bytes.len() {
            let b = bytes[i];
            let after_space = i == 0 || matches!(bytes[i - 1], b' ' | b'\t');
            match (quote, b) {
                (Some(b'"'), b'\\') => i += 1,
                (Some(q), _) if b == q => quote = None,
                (Some(_), _) => {}
                (None, b'"' | b'\'')
                    if after_space || matches!(bytes[i - 1], b'[' | b'{' | b',' | b':') =>
                {
                    quote = Some(b)
                }
                (None, b'#') if after_space => break,
                (None, b'[' | b'{') => {
                    flow += 1;
                    if level + flow > limit {
                        return Some((line, i + 1));
                    }
                }
                (None, b']' | b'}') => {
                    flow = flow.saturating_sub(1);
                    if flow == 0 {
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
    None
}

/// What the value of a block-style line (from byte `at`, past its
/// indicators) starts with.
enum Start {
    /// A flow collection at this byte.
    Flow(usize),
    /// A block scalar (`|`, `>`), whose content is indented past this
    /// column.
    BlockScalar(usize),
    /// A plain or quoted scalar, or nothing: no nesting on this line.
    Other,
}

fn value_start(raw: &str, mut at: usize) -> Start {
    let bytes = raw.as_bytes();
    let node = at;
    let mut keyed = false;
    loop {
        while bytes.get(at) == Some(&b' ') {
            at += 1;
        }
        match bytes.get(at) {
            None | Some(b'#') => return Start::Other,
            Some(b'[' | b'{') => return Start::Flow(at),
            Some(b'|' | b'>') => return Start::BlockScalar(node),
            // Anchors and tags precede the node they name.
            Some(b'&' | b'!') => {
                while bytes.get(at).is_some_and(|b| *b != b' ') {
                    at += 1;
                }
            }
            Some(q @ (b'"' | b'\'')) => {
                // A quoted key (`"k": …`) or value, on this line.
                let close = raw[at + 1..].find(*q as char).map(|j| at + 1 + j);
                match close.and_then(|c| colon_after(raw, c + 1)) {
                    Some(next) if !keyed => {
                        keyed = true;
                        at = next;
                    }
                    _ => return Start::Other,
                }
            }
            Some(_) if keyed => return Start::Other,
            Some(_) => match colon_after(raw, at) {
                // A plain key; its value follows.
                Some(next) => {
                    keyed = true;
                    at = next;
                }
                None => return Start::Other,
            },
        }
    }
}

/// The byte after the first `: ` (or final `:`) from `from` on, outside
/// a comment: where a key's value starts.
fn colon_after(raw: &str, from: usize) -> Option<usize> {
    let bytes = raw.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'#' if i > 0 && bytes[i - 1] == b' ' => return None,
            b':' if bytes.get(i + 1).is_none_or(|b| *b == b' ') => return Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// A document's outline, read to find keys given twice: what its top is.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Mapping,
    Sequence,
    Scalar,
    Empty,
}

impl<'de> serde::Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Empty)
    }
    fn visit_none<E>(self) -> Result<Shape, E> {
        Ok(Shape::Empty)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Shape, A::Error> {
        // A tagged node (`!tag value`): its value is checked like any.
        let (_, variant) = data.variant::<de::IgnoredAny>()?;
        de::VariantAccess::newtype_variant::<Shape>(variant)?;
        Ok(Shape::Scalar)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element::<Shape>()?.is_some() {}
        Ok(Shape::Sequence)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut seen = std::collections::BTreeSet::new();
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            // A collection as a key (never in drover's files) is compared
            // by nothing: serde_yaml checks its own keys.
            let text = match key {
                serde_yaml::Value::String(s) => Some(s),
                serde_yaml::Value::Number(n) => Some(n.to_string()),
                serde_yaml::Value::Bool(b) => Some(b.to_string()),
                serde_yaml::Value::Null => Some("~".into()),
                _ => None,
            };
            if let Some(text) = text {
                if !seen.insert(text.clone()) {
                    return Err(de::Error::custom(format!(
                        "key `{}` is given twice in one mapping (the last would silently win)",
                        shown(&text)
                    )));
                }
            }
            map.next_value::<Shape>()?;
        }
        Ok(Shape::Mapping)
    }
}

/// Points an error about a key given twice (which serde places at the
/// start of its mapping) at the second one, where block style lets us
/// find it: the next line at the mapping's indentation that starts with
/// the key.
fn at_second_key(text: &str, mut err: ConfigError) -> ConfigError {
    const MARK: &str = " is given twice";
    let Some(key) = err
        .message
        .find(MARK)
        .and_then(|end| err.message[..end].strip_suffix('`'))
        .and_then(|m| m.rfind("key `").map(|start| &m[start + 5..]))
    else {
        return err;
    };
    let indent = err.column.saturating_sub(1);
    let starts_key = |s: &str| {
        [key.to_owned(), format!("\"{key}\""), format!("'{key}'")]
            .iter()
            .any(|k| {
                s.strip_prefix(k.as_str())
                    .is_some_and(|r| r.trim_start().starts_with(':'))
            })
    };
    let mut seen = 0;
    for (n, raw) in text.lines().enumerate().skip(err.line.saturating_sub(1)) {
        let content = raw.trim_start_matches(' ');
        let first = n + 1 == err.line;
        if !first && (content.is_empty() || content.starts_with('#')) {
            continue;
        }
        let here = if first {
            raw.get(indent..).unwrap_or_default()
        } else if raw.len() - content.len() == indent {
            content
        } else if raw.len() - content.len() < indent {
            break;
        } else {
            continue;
        };
        if starts_key(here) {
            seen += 1;
            if seen == 2 {
                err.line = n + 1;
                return err;
            }
        }
    }
    err
}

/// A key or value for a message: control characters escaped, cut at 60
/// characters.
fn shown(text: &str) -> String {
    let escaped: String = text.escape_debug().collect();
    match escaped.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &escaped[..cut]),
        None => escaped,
    }
}

/// A serde message without the values it quotes from the file: `invalid
/// type: string "…", expected …` says `a string`, and likewise for
/// numbers, booleans and characters and for an unknown variant; field
/// and key names stay.
pub fn scrub(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let next = ["invalid type: ", "invalid value: ", "unknown variant "]
            .iter()
            .filter_map(|m| rest.find(m).map(|i| (i, *m)))
            .min();
        let Some((i, marker)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..i + marker.len()]);
        rest = &rest[i + marker.len()..];
        let (said, tail) = unexpected(rest);
        if marker == "unknown variant " {
            out.truncate(out.len() - 1);
            rest = tail;
        } else {
            out.push_str(said);
            rest = tail;
        }
    }
}

/// Splits serde's rendering of an unexpected value off the front of
/// `text`: what to say instead, and what follows it.
fn unexpected(text: &str) -> (&'static str, &str) {
    if let Some(quoted) = text.strip_prefix("string \"") {
        // Debug-escaped: a `"` inside is `\"`.
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => return ("a string", &quoted[i + 1..]),
                _ => escaped = false,
            }
        }
        return ("a string", "");
    }
    for (prefix, said) in [
        ("integer `", "an integer"),
        ("floating point `", "a number"),
        ("boolean `", "a boolean"),
        ("character `", "a character"),
        ("`", ""),
    ] {
        if let Some(tail) = text.strip_prefix(prefix) {
            let end = tail.find('`').map_or(tail.len(), |e| e + 1);
            return (said, &tail[end..]);
        }
    }
    ("", text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_bounded_in_every_style() {
        let flow = "[".repeat(100_000);
        let dashes = "- ".repeat(100_000);
        let maps = "{a: ".repeat(100_000);
        let started = std::time::Instant::now();
        // The line is a level, and each bracket or indicator one more.
        assert_eq!(too_deep(&flow, MAX_DEPTH), Some((1, MAX_DEPTH)));
        assert_eq!(too_deep(&dashes, MAX_DEPTH), Some((1, 2 * MAX_DEPTH - 1)));
        assert!(too_deep(&format!("k:\n  v: {maps}"), MAX_DEPTH).is_some_and(|(l, _)| l == 2));
        let nested: String = (0..200)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert!(too_deep(&nested, MAX_DEPTH).is_some());
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn ordinary_files_are_not_too_deep() {
        let text = "\
forge:
  kind: github  # [not flow
  owner: \"[acme\"
defaults:
  labels: [drover, {a: [b]}]
  variables:
    regex: ^[a-z{
    note: it's [fine
    script: |
      [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
      [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
    quoted: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['
files:
  - path: a
    mode: block
";
        let many = text.repeat(3).replace("forge:", "forgeX:");
        assert_eq!(too_deep(text, 8), None);
        assert_eq!(too_deep(&many, 8), None);
    }

    #[test]
    fn nesting_hidden_behind_quotes_or_scalars_is_still_seen() {
        let deep = "[".repeat(200);
        for text in [
            format!("a: ['x #', {deep}"),
            format!("a: b 'c\nd: {deep}\ne: f'"),
            format!("a: |\n  text\nb: {deep}"),
            format!("- k: |\n   text\n  x: {deep}"),
            format!("a: \"x\n{deep}\""),
        ] {
            assert!(too_deep(&text, MAX_DEPTH).is_some(), "{text:.40}");
        }
    }

    #[test]
    fn values_quoted_by_serde_are_not_repeated() {
        assert_eq!(
            scrub("forge: invalid type: string \"ghp_\\\"x\\\"\", expected struct ForgeSection"),
            "forge: invalid type: a string, expected struct ForgeSection"
        );
        assert_eq!(
            scrub("invalid value: integer `4711`, expected u8; invalid type: boolean `true`, expected a string"),
            "invalid value: an integer, expected u8; invalid type: a boolean, expected a string"
        );
        assert_eq!(
            scrub("forge.kind: unknown variant `ghp_secret`, expected one of `github`, `gitlab`"),
            "forge.kind: unknown variant, expected one of `github`, `gitlab`"
        );
        assert_eq!(
            scrub("forge: unknown field `colour`, expected `kind`"),
            "forge: unknown field `colour`, expected `kind`"
        );
    }
}
