//! GitLab webhooks: `X-Gitlab-Token` is the secret itself (compared in
//! constant time by `subtle`); the event is `object_kind`, the project
//! `project.path_with_namespace` — its full path, subgroups included
//! (`acme/platform/core/api`). `push` and `merge_request` change what
//! drover looks at. The delivery's id is `X-Gitlab-Event-UUID` (kept
//! when GitLab delivers the event again).

use http::HeaderMap;
use subtle::ConstantTimeEq;

use crate::forge::hook::{field, header, json, optional_header, HookEvent, HookRefusal, Webhook};
use crate::model::Secret;

pub struct GitlabHook {
    pub secret: Secret,
}

/// Whether GitLab's token equals the secret, in constant time.
pub fn token_ok(secret: &[u8], token: &str) -> bool {
    bool::from(secret.ct_eq(token.as_bytes()))
}

impl Webhook for GitlabHook {
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<HookEvent, HookRefusal> {
        let token = header(headers, "X-Gitlab-Token")?;
        if !token_ok(self.secret.expose().as_bytes(), token) {
            return Err(HookRefusal::Unauthorized(
                "X-Gitlab-Token does not match".into(),
            ));
        }
        let payload = json(body)?;
        let full_name = field(&payload, &["project", "path_with_namespace"])?;
        Ok(match payload["object_kind"].as_str().unwrap_or("") {
            "push" | "merge_request" => HookEvent::Changed {
                full_name,
                delivery: optional_header(headers, "X-Gitlab-Event-UUID"),
            },
            other => HookEvent::Ignored {
                event: other.to_owned(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_must_match_exactly() {
        assert!(token_ok(b"s3cret", "s3cret"));
        assert!(!token_ok(b"s3cret", "s3cre"));
        assert!(!token_ok(b"s3cret", "s3cret "));
        assert!(!token_ok(b"s3cret", ""));
    }

    #[test]
    fn a_project_in_a_nested_subgroup_keeps_its_whole_path() {
        let hook = GitlabHook {
            secret: Secret::new("s"),
        };
        let mut headers = HeaderMap::new();
        headers.insert("x-gitlab-token", "s".parse().unwrap());
        headers.insert("x-gitlab-event-uuid", "13792a34-cac6".parse().unwrap());
        let push =
            br#"{"object_kind":"push","project":{"path_with_namespace":"acme/platform/core/api"}}"#;
        assert_eq!(
            hook.verify(&headers, push),
            Ok(HookEvent::Changed {
                full_name: "acme/platform/core/api".into(),
                delivery: Some("13792a34-cac6".into()),
            })
        );
        let note = br#"{"object_kind":"note","project":{"path_with_namespace":"acme/api"}}"#;
        assert_eq!(
            hook.verify(&headers, note),
            Ok(HookEvent::Ignored {
                event: "note".into()
            })
        );
        assert!(matches!(
            hook.verify(&headers, b"[]"),
            Err(HookRefusal::Malformed(_))
        ));
        headers.insert("x-gitlab-token", "wrong".parse().unwrap());
        assert!(matches!(
            hook.verify(&headers, push),
            Err(HookRefusal::Unauthorized(_))
        ));
    }
}
