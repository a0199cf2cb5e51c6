//! sourcehut webhooks: `X-Payload-Signature` is the Ed25519 signature, by
//! the instance's key, of the body followed by `X-Payload-Nonce`. A
//! git.sr.ht webhook (`createUserWebhook` or `createGitWebhook` with event
//! `GIT_POST_RECEIVE`) whose query selects
//! `webhook { event ... on GitEvent { repository { name owner { canonicalName } } } }`
//! names the repository `~owner/name`. The delivery's id is its nonce,
//! which the signature covers.

use http::HeaderMap;

use crate::forge::hook::{field, header, json, HookEvent, HookRefusal, Webhook};

pub struct SourcehutHook {
    pub key: ed25519_dalek::VerifyingKey,
}

/// Whether `signature` (base64) is the Ed25519 signature, by `key`, of
/// `body` followed by `nonce`.
pub fn signature_ok(
    key: &ed25519_dalek::VerifyingKey,
    body: &[u8],
    nonce: &str,
    signature: &str,
) -> bool {
    use base64::Engine as _;
    let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&sig) else {
        return false;
    };
    let mut signed = body.to_vec();
    signed.extend_from_slice(nonce.as_bytes());
    key.verify_strict(&signed, &sig).is_ok()
}

impl Webhook for SourcehutHook {
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<HookEvent, HookRefusal> {
        let signature = header(headers, "X-Payload-Signature")?;
        let nonce = header(headers, "X-Payload-Nonce")?;
        if !signature_ok(&self.key, body, nonce, signature) {
            return Err(HookRefusal::Unauthorized(
                "X-Payload-Signature does not match".into(),
            ));
        }
        let payload = json(body)?;
        let event = field(&payload, &["data", "webhook", "event"])?;
        let repository = &payload["data"]["webhook"]["repository"];
        let (Some(owner), Some(name)) = (
            repository["owner"]["canonicalName"].as_str(),
            repository["name"].as_str(),
        ) else {
            return Err(HookRefusal::Malformed(
                "no data.webhook.repository { name owner { canonicalName } } in the event".into(),
            ));
        };
        Ok(match event.as_str() {
            "GIT_POST_RECEIVE" => HookEvent::Changed {
                full_name: format!("{owner}/{name}"),
                delivery: Some(nonce.to_owned()),
            },
            other => HookEvent::Ignored {
                event: other.to_owned(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use ed25519_dalek::Signer as _;

    use super::*;

    #[test]
    fn signatures_cover_the_body_then_the_nonce() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let key = signing.verifying_key();
        let body = br#"{"data":{"webhook":{"event":"GIT_POST_RECEIVE"}}}"#;
        let sign = |bytes: &[u8]| {
            base64::engine::general_purpose::STANDARD.encode(signing.sign(bytes).to_bytes())
        };
        let good = sign(&[&body[..], b"n0nce"].concat());
        assert!(signature_ok(&key, body, "n0nce", &good));
        assert!(!signature_ok(&key, body, "other", &good));
        assert!(!signature_ok(&key, b"{}", "n0nce", &good));
        assert!(!signature_ok(&key, body, "n0nce", &sign(body)));
        let stranger = ed25519_dalek::SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(!signature_ok(&stranger, body, "n0nce", &good));
        assert!(!signature_ok(&key, body, "n0nce", "not base64!"));
        assert!(!signature_ok(&key, body, "n0nce", ""));
    }

    #[test]
    fn a_push_names_the_repository_with_its_tilde_owner() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let hook = SourcehutHook {
            key: signing.verifying_key(),
        };
        let body = br#"{"data":{"webhook":{"event":"GIT_POST_RECEIVE","repository":{"name":"api","owner":{"canonicalName":"~acme"}}}}}"#;
        let mut headers = HeaderMap::new();
        headers.insert("x-payload-nonce", "n".parse().unwrap());
        let signature = base64::engine::general_purpose::STANDARD
            .encode(signing.sign(&[&body[..], b"n"].concat()).to_bytes());
        headers.insert("x-payload-signature", signature.parse().unwrap());
        assert_eq!(
            hook.verify(&headers, body),
            Ok(HookEvent::Changed {
                full_name: "~acme/api".into(),
                delivery: Some("n".into()),
            })
        );
    }
}
