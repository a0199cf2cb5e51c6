//! Running as a GitHub App: drover signs a JWT with the app's private key
//! (RS256; `iat` 60 s in the past against clock drift, `exp` 9 minutes on,
//! under GitHub's 10-minute limit; `iss` the app id — GitHub's "Generating
//! a JSON Web Token (JWT) for a GitHub App"), finds the app's installation
//! on the owner (`GET /orgs/{org}/installation`, else
//! `GET /users/{username}/installation`), and exchanges the JWT for an
//! installation token (`POST /app/installations/{id}/access_tokens`).
//!
//! The installation token is what every REST and GraphQL call carries. It
//! lives an hour; drover takes a new one when the one in hand is within
//! [`REFRESH_MARGIN`] of its `expires_at` (at most half its lifetime), and
//! again when GitHub answers 401 to it (revoked, or expired on a clock
//! that disagrees; a call is sent with at most three tokens). One refresh
//! at a time: concurrent calls wait for it.
//!
//! Commits and pull requests are by the app's bot: `<slug>[bot]`, with the
//! noreply address GitHub gives it, `<id>+<slug>[bot]@users.noreply.github.com`
//! (the slug from `GET /app`, the bot's user id from `GET /users/{login}`).
//!
//! Neither the key, the JWT nor a token is ever logged or put in an error:
//! they live in [`Secret`]s and [`EncodingKey`]s, which do not print.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Method;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use super::GithubForge;
use crate::config::{Author, Installation};
use crate::forge::http::enc;
use crate::forge::ForgeError;
use crate::model::Secret;

/// How long before its `expires_at` an installation token is replaced.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How far back `iat` is set, against clock drift (GitHub's advice).
const IAT_BACKDATE: u64 = 60;

/// How long a JWT is valid from now: GitHub refuses more than 10 minutes,
/// and a clock a little ahead of GitHub's makes exactly 10 too far.
const JWT_LIFETIME: u64 = 9 * 60;

/// The app's credentials and the installation token in hand.
pub struct AppAuth {
    app_id: u64,
    key: EncodingKey,
    installation: Installation,
    /// The installation token and when it stops working; one refresh at
    /// a time holds the lock.
    current: tokio::sync::Mutex<Option<Installed>>,
    /// The token last handed out, for git's credential callback (which
    /// cannot wait for a refresh).
    last: std::sync::Mutex<Option<Secret>>,
    /// The installation's id, found once when `auto`.
    installation_id: tokio::sync::OnceCell<u64>,
    /// The app's bot, found once.
    bot: tokio::sync::OnceCell<Author>,
}

/// An installation token and its lifetime.
#[derive(Clone)]
struct Installed {
    token: Secret,
    issued_at: SystemTime,
    expires_at: SystemTime,
}

/// A private key that is not one drover can sign with.
#[derive(Debug, thiserror::Error)]
#[error("not an RSA private key in PEM form (GitHub's `.pem` download, `BEGIN RSA PRIVATE KEY` or `BEGIN PRIVATE KEY`), or it cannot sign")]
pub struct BadKey;

#[derive(Serialize)]
struct Claims {
    iat: u64,
    exp: u64,
    iss: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: String,
    expires_at: String,
}

#[derive(Deserialize)]
struct Id {
    id: u64,
}

#[derive(Deserialize)]
struct AppAnswer {
    slug: String,
}

impl AppAuth {
    /// The app `app_id` with its PEM private key; the key is tried once
    /// (a JWT signed) so that a bad one fails when drover starts.
    pub fn new(app_id: u64, pem: &Secret, installation: Installation) -> Result<AppAuth, BadKey> {
        let key = EncodingKey::from_rsa_pem(pem.expose().as_bytes()).map_err(|_| BadKey)?;
        let auth = AppAuth {
            app_id,
            key,
            installation,
            current: tokio::sync::Mutex::new(None),
            last: std::sync::Mutex::new(None),
            installation_id: tokio::sync::OnceCell::new(),
            bot: tokio::sync::OnceCell::new(),
        };
        auth.jwt().map_err(|_| BadKey)?;
        Ok(auth)
    }

    /// A JWT for the app, valid for [`JWT_LIFETIME`].
    fn jwt(&self) -> Result<Secret, ForgeError> {
        let now = unix(SystemTime::now());
        let claims = Claims {
            iat: now.saturating_sub(IAT_BACKDATE),
            exp: now + JWT_LIFETIME,
            iss: self.app_id.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map(Secret::new)
            .map_err(|_| ForgeError::Api {
                status: None,
                message: format!("forge.app.private_key: {BadKey}"),
            })
    }

    /// The token last handed out, if any.
    pub fn last_token(&self) -> Option<Secret> {
        self.last.lock().expect("never poisoned").clone()
    }
}

/// Whether a token issued at `issued_at` and expiring at `expires_at` is
/// to be replaced at `now`: within [`REFRESH_MARGIN`] of its expiry, or
/// past half its lifetime when it was issued for less than twice that.
fn stale(now: SystemTime, issued_at: SystemTime, expires_at: SystemTime) -> bool {
    let lifetime = expires_at
        .duration_since(issued_at)
        .unwrap_or(Duration::ZERO);
    let margin = REFRESH_MARGIN.min(lifetime / 2);
    match expires_at.duration_since(now) {
        Ok(left) => left <= margin,
        Err(_) => true,
    }
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// GitHub's `expires_at` (`2016-07-11T22:14:10Z`).
fn parse_expiry(text: &str) -> Result<SystemTime, ForgeError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| SystemTime::from(t.with_timezone(&chrono::Utc)))
        .map_err(|_| {
            ForgeError::Malformed(format!(
                "installation token expiry `{}` is not a time",
                text.escape_default()
            ))
        })
}

impl GithubForge {
    /// The installation token to send now: the one in hand, or a new one
    /// when it is near its expiry.
    pub(super) async fn app_token(&self, app: &AppAuth) -> Result<Secret, ForgeError> {
        let mut current = app.current.lock().await;
        if let Some(held) = current.as_ref() {
            if !stale(SystemTime::now(), held.issued_at, held.expires_at) {
                return Ok(held.token.clone());
            }
        }
        let fresh = self.exchange(app).await?;
        let token = fresh.token.clone();
        *current = Some(fresh);
        *app.last.lock().expect("never poisoned") = Some(token.clone());
        Ok(token)
    }

    /// After GitHub refused `refused` (401): a new token, unless another
    /// call replaced it already.
    pub(super) async fn app_token_after_401(
        &self,
        app: &AppAuth,
        refused: &Secret,
    ) -> Result<Secret, ForgeError> {
        {
            let mut current = app.current.lock().await;
            if current.as_ref().is_some_and(|held| held.token == *refused) {
                *current = None;
            }
        }
        tracing::info!("GitHub refused the installation token; taking a new one");
        self.app_token(app).await
    }

    /// A new installation token for the configured installation.
    async fn exchange(&self, app: &AppAuth) -> Result<Installed, ForgeError> {
        let id = match app.installation {
            Installation::Id(id) => id,
            Installation::Auto => {
                *app.installation_id
                    .get_or_try_init(|| self.find_installation(app))
                    .await?
            }
        };
        let issued_at = SystemTime::now();
        let path = format!("/app/installations/{id}/access_tokens");
        let answer: TokenAnswer = self
            .as_app(app, Method::POST, &path, Some(serde_json::json!({})))
            .await?;
        Ok(Installed {
            token: Secret::new(answer.token),
            issued_at,
            expires_at: parse_expiry(&answer.expires_at)?,
        })
    }

    /// The app's installation on `forge.owner`: an organisation's, else a
    /// user's.
    async fn find_installation(&self, app: &AppAuth) -> Result<u64, ForgeError> {
        let owner = enc(&self.owner);
        for path in [
            format!("/orgs/{owner}/installation"),
            format!("/users/{owner}/installation"),
        ] {
            match self.as_app::<Id>(app, Method::GET, &path, None).await {
                Ok(found) => return Ok(found.id),
                Err(ForgeError::Api {
                    status: Some(404), ..
                }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ForgeError::Api {
            status: Some(404),
            message: format!(
                "GitHub App {} is not installed on `{}`: install it on the organisation or user, or set forge.app.installation to its id",
                app.app_id, self.owner
            ),
        })
    }

    /// A REST call signed with the app's JWT, whose answer must be a
    /// success with a JSON body of type `T`.
    async fn as_app<T: serde::de::DeserializeOwned>(
        &self,
        app: &AppAuth,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, ForgeError> {
        let jwt = app.jwt()?;
        self.send(super::LANE_APP, &method, path, body, &jwt, |r| {
            if r.status.is_success() {
                r.json()
            } else {
                Err(super::rest::app_error(&r))
            }
        })
        .await
    }

    /// The app's bot, as the author of drover's commits.
    pub(super) async fn app_bot(&self, app: &AppAuth) -> Result<Author, ForgeError> {
        app.bot
            .get_or_try_init(|| async {
                let me: AppAnswer = self.as_app(app, Method::GET, "/app", None).await?;
                let login = format!("{}[bot]", me.slug);
                let user: Id = self
                    .rest_json(Method::GET, &format!("/users/{}", enc(&login)), None)
                    .await?;
                Ok(Author {
                    email: format!("{}+{login}@users.noreply.github.com", user.id),
                    name: login,
                })
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_replaced_near_its_expiry_not_before() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = t0 + Duration::from_secs(3600);
        // An hour's token: used for 55 minutes, then replaced.
        assert!(!stale(t0, t0, hour));
        assert!(!stale(t0 + Duration::from_secs(54 * 60), t0, hour));
        assert!(stale(t0 + Duration::from_secs(55 * 60), t0, hour));
        assert!(stale(hour + Duration::from_secs(1), t0, hour));
        // A short-lived one is still used for its first half.
        let short = t0 + Duration::from_secs(60);
        assert!(!stale(t0 + Duration::from_secs(29), t0, short));
        assert!(stale(t0 + Duration::from_secs(30), t0, short));
    }

    #[test]
    fn a_key_that_is_not_an_rsa_pem_is_refused_without_echoing_it() {
        let key =
            Secret::new("-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0\n-----END RSA PRIVATE KEY-----");
        let err = AppAuth::new(1, &key, Installation::Auto).err().unwrap();
        let text = err.to_string();
        assert!(text.contains("RSA private key in PEM form"), "{text}");
        assert!(!text.contains("c2VjcmV0"), "{text}");
        assert!(AppAuth::new(1, &Secret::new("ghp_notakey"), Installation::Auto).is_err());
    }

    #[test]
    fn expiry_times_parse_as_github_writes_them() {
        assert_eq!(
            unix(parse_expiry("2016-07-11T22:14:10Z").unwrap()),
            1_468_275_250
        );
        assert!(parse_expiry("soon").is_err());
    }
}
