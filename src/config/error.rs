//! Configuration errors: every one names a file, a line and a column, and
//! says what was expected, in a single line a user can act on.

use std::path::Path;

/// A configuration error located in a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ConfigError {
    pub fn at(
        file: impl AsRef<Path>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        // One line, whatever the file held: a message may quote a key.
        ConfigError {
            file: crate::model::one_line(&file.as_ref().display().to_string()).into_owned(),
            line,
            column,
            message: crate::model::one_line(&message.into()).into_owned(),
        }
    }

    /// An error about a whole file (unreadable, missing): reported at 1:1.
    pub fn whole_file(file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Self::at(file, 1, 1, message)
    }

    /// Wraps a serde_yaml error, keeping its location and dropping the
    /// " at line N column M" suffix it would otherwise repeat, and the
    /// values serde quotes from the file ([`super::yaml::scrub`]).
    pub fn from_yaml(file: impl AsRef<Path>, err: &serde_yaml::Error) -> Self {
        let (line, column) = err
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        let message = super::yaml::scrub(&strip_positions(&err.to_string()));
        Self::at(file, line, column, did_you_mean(message))
    }
}

/// Adds "did you mean `key`?" to serde's `unknown field `x`, expected one
/// of `a`, `b`` (or `expected `a``) when a known key is close.
fn did_you_mean(message: String) -> String {
    let Some((_, rest)) = message.split_once("unknown field `") else {
        return message;
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message;
    };
    let known = expected
        .split_once("expected ")
        .map(|(_, list)| list.trim_start_matches("one of "))
        .unwrap_or("");
    let known = known
        .split(", ")
        .filter_map(|k| k.strip_prefix('`')?.strip_suffix('`'));
    match crate::suggest::closest(field, known) {
        Some(key) => format!("{message} (did you mean `{key}`?)"),
        None => message,
    }
}

/// Removes every " at line N column M" from a serde_yaml message: the
/// location is said once, in front.
fn strip_positions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + " at line ".len()..];
        let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n = digits(tail);
        match tail[n..].strip_prefix(" column ") {
            Some(after) if n > 0 && digits(after) > 0 => rest = &after[digits(after)..],
            _ => {
                out.push_str(" at line ");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Finds where a key (or a key holding a given scalar) sits in block-style
/// YAML text, for errors found after deserialisation, when serde's locations
/// are gone. It follows indentation, which is how people write these files;
/// when it cannot find the key it answers line 1, column 1.
pub fn locate(text: &str, key_path: &[&str], value: Option<&str>) -> (usize, usize) {
    let mut depth = 0;
    let mut indents: Vec<usize> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = raw.len() - trimmed.len();
        // A list item's key sits after "- ".
        let (indent, body) = match trimmed.strip_prefix("- ") {
            Some(rest) => (indent + 2, rest.trim_start()),
            None => (indent, trimmed),
        };
        while indents.last().is_some_and(|&i| indent <= i) {
            indents.pop();
            depth = depth.min(indents.len());
        }
        if depth >= key_path.len() || indents.len() != depth {
            continue;
        }
        let want = key_path[depth];
        let Some(rest) = body.strip_prefix(want).and_then(|r| r.strip_prefix(':')) else {
            continue;
        };
        let column = raw.len() - raw.trim_start().len()
            + (body.as_ptr() as usize - trimmed.as_ptr() as usize)
            + 1;
        if depth + 1 == key_path.len() {
            match value {
                Some(v) if !rest.contains(v) => continue,
                _ => return (n + 1, column),
            }
        }
        indents.push(indent);
        depth += 1;
    }
    (1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
forge:
  kind: github
  owner: acme
files:
  - path: a
    template: x
  - path: b
    template: y
";

    #[test]
    fn locates_nested_keys_and_values() {
        assert_eq!(locate(DOC, &["forge", "owner"], None), (3, 3));
        assert_eq!(locate(DOC, &["files", "template"], Some("y")), (8, 5));
        assert_eq!(locate(DOC, &["files", "path"], None), (5, 5));
        assert_eq!(locate(DOC, &["nope"], None), (1, 1));
    }
}
