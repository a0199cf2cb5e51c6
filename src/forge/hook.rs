//! Webhooks, as the daemon sees them: a delivery is checked and read by
//! its forge's [`Webhook`] (each forge's own signature scheme and payload
//! format, in its folder), which answers with a forge-neutral
//! [`HookEvent`] naming the repository by its full name, or a
//! [`HookRefusal`]. Nothing is read from a delivery before its signature
//! is checked.

use http::HeaderMap;
use serde_json::Value;

/// A forge's webhook, with the secret (or key) it checks deliveries with.
pub trait Webhook: Send + Sync {
    /// Checks a delivery's signature, then reads what it says.
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<HookEvent, HookRefusal>;
}

/// What a checked delivery says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookEvent {
    /// The forge testing the hook.
    Ping,
    /// Something drover looks at changed in the repository with this full
    /// name (`acme/api`, `acme/platform/core/api`, `~acme/api`). `delivery`
    /// is the forge's id of this delivery, the same when it delivers the
    /// event again: what the daemon de-duplicates by.
    Changed {
        full_name: String,
        delivery: Option<String>,
    },
    /// An event that changes nothing drover looks at.
    Ignored { event: String },
}

/// Why a delivery is not acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookRefusal {
    /// A missing or wrong signature.
    #[error("{0}")]
    Unauthorized(String),
    /// A signed body that is not the event it claims to be.
    #[error("{0}")]
    Malformed(String),
}

/// A header's value, or a refusal naming it.
pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, HookRefusal> {
    headers
        .get(name.to_ascii_lowercase())
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| HookRefusal::Unauthorized(format!("missing {name}")))
}

/// An optional header's value (a delivery id), when it is printable and
/// of a sane length.
pub(super) fn optional_header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name.to_ascii_lowercase())
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_owned)
}

/// The body as JSON.
pub(super) fn json(body: &[u8]) -> Result<Value, HookRefusal> {
    serde_json::from_slice(body).map_err(|_| HookRefusal::Malformed("the body is not JSON".into()))
}

/// The string at `path` in the payload.
pub(super) fn field(payload: &Value, path: &[&str]) -> Result<String, HookRefusal> {
    path.iter()
        .fold(payload, |v, key| &v[*key])
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| HookRefusal::Malformed(format!("no {} in the event", path.join("."))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_by_path_and_missing_ones_named() {
        let payload = json(br#"{"project":{"path_with_namespace":"acme/a/b"}}"#).unwrap();
        assert_eq!(
            field(&payload, &["project", "path_with_namespace"]).unwrap(),
            "acme/a/b"
        );
        assert_eq!(
            field(&payload, &["repository", "full_name"]),
            Err(HookRefusal::Malformed(
                "no repository.full_name in the event".into()
            ))
        );
        assert!(matches!(json(b"{not"), Err(HookRefusal::Malformed(_))));
        assert_eq!(
            header(&HeaderMap::new(), "X-Gitlab-Token"),
            Err(HookRefusal::Unauthorized("missing X-Gitlab-Token".into()))
        );
    }
}
