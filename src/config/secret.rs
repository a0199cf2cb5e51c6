//! Token references (`env:NAME`, `file:PATH`) and the secrets they resolve
//! to. A literal token in fleet.yaml is refused at parse time, and a resolved
//! [`Secret`] never prints its value: `Debug` and `Display` show `***`.

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::Secret;

/// Where a secret comes from. Serialises back to the same reference, never
/// to the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

impl SecretRef {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Some(name) = raw.strip_prefix("env:") {
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err(format!(
                    "`env:{name}` does not name an environment variable (letters, digits and `_`)"
                ));
            }
            return Ok(SecretRef::Env(name.to_owned()));
        }
        if let Some(path) = raw.strip_prefix("file:") {
            if path.is_empty() {
                return Err("`file:` needs a path".into());
            }
            return Ok(SecretRef::File(PathBuf::from(path)));
        }
        // Never echo the value: it is probably the token itself.
        Err("a literal secret is not allowed here; write `env:NAME` or `file:PATH` and keep the secret out of this file".into())
    }

    /// Reads the secret. Relative file paths are relative to `base_dir`
    /// (the directory holding fleet.yaml).
    pub fn resolve(&self, base_dir: &Path) -> Result<Secret, SecretError> {
        match self {
            SecretRef::Env(name) => match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
                _ => Err(SecretError(format!(
                    "environment variable {name} is not set or empty"
                ))),
            },
            SecretRef::File(path) => {
                let full = base_dir.join(path);
                let text = std::fs::read_to_string(&full).map_err(|e| {
                    SecretError(format!("cannot read secret file {}: {e}", full.display()))
                })?;
                let value = text.trim();
                if value.is_empty() {
                    return Err(SecretError(format!(
                        "secret file {} is empty",
                        full.display()
                    )));
                }
                Ok(Secret::new(value))
            }
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::model::validated_str(d, SecretRef::parse)
    }
}

impl Serialize for SecretRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl JsonSchema for SecretRef {
    fn schema_name() -> String {
        "SecretRef".into()
    }
    fn json_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut schema = String::json_schema(gen).into_object();
        schema.string().pattern = Some("^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$".into());
        schema.metadata().description = Some(
            "A reference to a secret: `env:NAME` or `file:PATH`; never the secret itself".into(),
        );
        schema.into()
    }
}

/// A secret reference that could not be resolved. Names the reference,
/// never the value.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SecretError(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_tokens_are_refused_without_echoing_them() {
        let err = SecretRef::parse("glpat-abcdef123456").unwrap_err();
        assert!(!err.contains("glpat"), "{err}");
        assert!(err.contains("env:NAME"));
    }

    #[test]
    fn references_parse_and_print_back() {
        assert_eq!(
            SecretRef::parse("env:GITLAB_TOKEN").unwrap().to_string(),
            "env:GITLAB_TOKEN"
        );
        assert_eq!(
            SecretRef::parse("file:/run/secrets/t").unwrap().to_string(),
            "file:/run/secrets/t"
        );
        assert!(SecretRef::parse("env:").is_err());
        assert!(SecretRef::parse("env:9X").is_err());
    }

    #[test]
    fn file_secrets_are_trimmed_and_relative_to_base() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "abc\n").unwrap();
        let s = SecretRef::parse("file:tok")
            .unwrap()
            .resolve(dir.path())
            .unwrap();
        assert_eq!(s.expose(), "abc");
        let err = SecretRef::parse("file:missing")
            .unwrap()
            .resolve(dir.path())
            .unwrap_err();
        assert!(err.to_string().contains("missing"));
    }
}
