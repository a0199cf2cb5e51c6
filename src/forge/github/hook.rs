//! GitHub webhooks: `X-Hub-Signature-256` is the HMAC-SHA256 of the body
//! with the shared secret (compared in constant time by `hmac`); the event
//! is `X-GitHub-Event`, the repository `repository.full_name`. `push` and
//! `pull_request` change what drover looks at; `ping` is answered. The
//! delivery's id is `X-GitHub-Delivery` (kept on redelivery).

use hmac::{Hmac, Mac};
use http::HeaderMap;

use crate::forge::hook::{field, header, json, optional_header, HookEvent, HookRefusal, Webhook};
use crate::model::Secret;

pub struct GithubHook {
    pub secret: Secret,
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body`.
pub fn signature_ok(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

impl Webhook for GithubHook {
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<HookEvent, HookRefusal> {
        let signature = header(headers, "X-Hub-Signature-256")?;
        if !signature_ok(self.secret.expose().as_bytes(), body, signature) {
            return Err(HookRefusal::Unauthorized(
                "X-Hub-Signature-256 does not match".into(),
            ));
        }
        let event = headers
            .get("x-github-event")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let payload = json(body)?;
        if event == "ping" {
            return Ok(HookEvent::Ping);
        }
        let full_name = field(&payload, &["repository", "full_name"])?;
        Ok(match event {
            "push" | "pull_request" => HookEvent::Changed {
                full_name,
                delivery: optional_header(headers, "X-GitHub-Delivery"),
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
    fn signatures_are_hmac_sha256_of_the_body() {
        // The example from GitHub's "Validating webhook deliveries".
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(signature_ok(secret, body, good));
        assert!(!signature_ok(secret, b"Hello, World?", good));
        assert!(!signature_ok(b"another secret", body, good));
        assert!(!signature_ok(
            secret,
            body,
            &good.replace("sha256=", "sha1=")
        ));
        assert!(!signature_ok(secret, body, "sha256=zz"));
        assert!(!signature_ok(secret, body, ""));
    }

    fn delivery(event: &str, body: &[u8], secret: &str) -> HeaderMap {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        let mut headers = HeaderMap::new();
        headers.insert("x-github-event", event.parse().unwrap());
        headers.insert(
            "x-hub-signature-256",
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
                .parse()
                .unwrap(),
        );
        headers
    }

    #[test]
    fn deliveries_name_the_repository_by_its_full_name() {
        let hook = GithubHook {
            secret: Secret::new("s"),
        };
        let push = br#"{"repository":{"full_name":"acme/api"}}"#;
        assert_eq!(
            hook.verify(&delivery("push", push, "s"), push),
            Ok(HookEvent::Changed {
                full_name: "acme/api".into(),
                delivery: None,
            })
        );
        assert_eq!(
            hook.verify(&delivery("issues", push, "s"), push),
            Ok(HookEvent::Ignored {
                event: "issues".into()
            })
        );
        assert_eq!(
            hook.verify(&delivery("ping", b"{}", "s"), b"{}"),
            Ok(HookEvent::Ping)
        );
        assert!(matches!(
            hook.verify(&delivery("push", push, "other"), push),
            Err(HookRefusal::Unauthorized(_))
        ));
        assert!(matches!(
            hook.verify(&delivery("push", b"{}", "s"), b"{}"),
            Err(HookRefusal::Malformed(_))
        ));
    }
}
