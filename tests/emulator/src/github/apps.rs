//! GitHub Apps: `GET /app`, `GET /orgs/{org}/installation`,
//! `GET /users/{username}/installation`, `GET /repos/{owner}/{repo}/installation`
//! and `POST /app/installations/{installation_id}/access_tokens`, signed in
//! with the app's JWT; `GET /users/{username}` for the app's bot.
//!
//! A JWT is checked as GitHub does: RS256 signed by the key of the app its
//! `iss` names (app id, number or string), `exp` in the future and at most
//! ten minutes away, `iat` not in the future (a minute's skew allowed);
//! each refusal is a 401 with GitHub's own message. An installation token
//! is a world token of the app's bot (`<slug>[bot]`, a user of type `Bot`),
//! so every other route takes it; it expires after the configured lifetime
//! ([`Apps::lifetime_secs`], an hour like GitHub's), or earlier at the test's
//! word ([`Apps::uses_per_token`], [`expire_all`]), and an expired one is
//! answered 401 `Bad credentials` by the auth layer ([`expired`]).
//! Token and JWT checks use the wall clock (the signer's), not a frozen
//! world clock.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::server::AppState;
use crate::world::{rfc3339, Forge, OwnerKind, World};

use super::http::{error_with, json_response, node_id, ok, Base};
use super::shapes::{login_json, owner_json, public_user_json};

const DOC: &str = "https://docs.github.com/rest";

/// A registered GitHub App.
#[derive(Clone)]
pub struct App {
    pub id: u64,
    pub slug: String,
    pub name: String,
    /// The account that owns the app.
    pub owner: String,
    key: DecodingKey,
    pub created_at: i64,
}

impl App {
    /// The login of the app's bot user.
    pub fn bot(&self) -> String {
        format!("{}[bot]", self.slug)
    }
}

/// An installation of an app on an organisation or user.
#[derive(Clone, Debug)]
pub struct Installation {
    pub id: u64,
    pub app_id: u64,
    pub account: String,
    pub created_at: i64,
}

/// An installation token: which installation, until when, uses left.
#[derive(Clone, Debug)]
struct Issued {
    expires_at: i64,
    uses_left: Option<u64>,
}

/// The apps state kept beside the world.
pub struct Apps {
    pub apps: BTreeMap<u64, App>,
    pub installations: BTreeMap<u64, Installation>,
    tokens: HashMap<String, Issued>,
    /// Seconds an installation token lives (GitHub: an hour).
    pub lifetime_secs: i64,
    /// A test's control: each token stops working after this many
    /// authenticated requests, an expiry the client cannot foresee from
    /// `expires_at` (as a revoked or early-expired token).
    pub uses_per_token: Option<u64>,
    next_token: u64,
}

impl Default for Apps {
    fn default() -> Self {
        Apps {
            apps: BTreeMap::new(),
            installations: BTreeMap::new(),
            tokens: HashMap::new(),
            lifetime_secs: 3600,
            uses_per_token: None,
            next_token: 0,
        }
    }
}

impl Apps {
    /// The installation tokens issued so far.
    pub fn issued(&self) -> Vec<String> {
        self.tokens.keys().cloned().collect()
    }
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Registers an app with its public key (PEM, `BEGIN PUBLIC KEY` or
/// `BEGIN RSA PUBLIC KEY`) and creates its bot user.
pub fn create_app(
    world: &mut World,
    id: u64,
    slug: &str,
    owner: &str,
    public_key_pem: &str,
) -> crate::error::Result<()> {
    let key = DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
        .map_err(|e| crate::error::Error::Invalid(format!("app public key: {e}")))?;
    let app = App {
        id,
        slug: slug.to_owned(),
        name: slug.to_owned(),
        owner: owner.to_owned(),
        key,
        created_at: world.now(),
    };
    world.ensure_owner(Forge::Github, OwnerKind::User, &app.bot())?;
    world.ext_mut::<Apps>().apps.insert(id, app);
    Ok(())
}

/// Installs app `app_id` on `account` (an organisation or user); the
/// installation's id.
pub fn install(world: &mut World, app_id: u64, account: &str) -> crate::error::Result<u64> {
    if world.owner(Forge::Github, account).is_none() {
        return Err(crate::error::Error::Invalid(format!(
            "no GitHub account {account:?} to install on"
        )));
    }
    let id = world.next_id();
    let created_at = world.now();
    let apps = world.ext_mut::<Apps>();
    if !apps.apps.contains_key(&app_id) {
        return Err(crate::error::Error::Invalid(format!("no app {app_id}")));
    }
    apps.installations.insert(
        id,
        Installation {
            id,
            app_id,
            account: account.to_owned(),
            created_at,
        },
    );
    Ok(id)
}

/// How long installation tokens issued from now on live, and after how
/// many requests each stops working (`None`: only its lifetime).
pub fn set_lifetime(world: &mut World, secs: i64, uses: Option<u64>) {
    let apps = world.ext_mut::<Apps>();
    apps.lifetime_secs = secs;
    apps.uses_per_token = uses;
}

/// Expires every installation token issued so far (the test's "now").
pub fn expire_all(world: &mut World) {
    let past = wall_clock() - 1;
    for issued in world.ext_mut::<Apps>().tokens.values_mut() {
        issued.expires_at = past;
    }
}

/// Whether `token` is an installation token that no longer works; counts
/// one use of a token that does.
pub fn expired(world: &mut World, token: &str) -> bool {
    if world.ext::<Apps>().is_none() {
        return false;
    }
    let Some(issued) = world.ext_mut::<Apps>().tokens.get_mut(token) else {
        return false;
    };
    if issued.expires_at <= wall_clock() || issued.uses_left == Some(0) {
        return true;
    }
    if let Some(left) = issued.uses_left.as_mut() {
        *left -= 1;
    }
    false
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app", get(get_app))
        .route("/orgs/{org}/installation", get(org_installation))
        .route("/users/{username}/installation", get(user_installation))
        .route("/repos/{owner}/{repo}/installation", get(repo_installation))
        .route(
            "/app/installations/{installation_id}/access_tokens",
            post(create_token),
        )
        .route("/users/{username}", get(get_user))
}

fn unauthorized(message: &str) -> Response {
    error_with(StatusCode::UNAUTHORIZED, message, DOC)
}

fn not_found() -> Response {
    error_with(StatusCode::NOT_FOUND, "Not Found", DOC)
}

#[derive(Deserialize)]
struct Claims {
    iat: Option<Value>,
    exp: Option<Value>,
    iss: Option<Value>,
}

fn number(v: &Option<Value>) -> Option<i64> {
    match v {
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    }
}

/// The app a request's JWT signs in as, or GitHub's 401.
fn app_of(st: &AppState, headers: &HeaderMap) -> Result<App, Response> {
    const UNDECODABLE: &str = "A JSON web token could not be decoded";
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| unauthorized("A JSON web token could not be decoded"))?;
    // Which app: its `iss`, read before the signature is checked with
    // that app's key.
    let mut unchecked = Validation::new(Algorithm::RS256);
    unchecked.insecure_disable_signature_validation();
    unchecked.validate_exp = false;
    unchecked.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&[]), &unchecked)
        .map_err(|_| unauthorized(UNDECODABLE))?
        .claims;
    let app_id = match &claims.iss {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| unauthorized(UNDECODABLE))?;
    let app = {
        let mut world = st.world.lock();
        world.ext_mut::<Apps>().apps.get(&app_id).cloned()
    }
    .ok_or_else(|| unauthorized("Integration not found"))?;
    let mut checked = Validation::new(Algorithm::RS256);
    checked.validate_exp = false;
    checked.required_spec_claims.clear();
    jsonwebtoken::decode::<Claims>(token, &app.key, &checked)
        .map_err(|_| unauthorized(UNDECODABLE))?;
    let now = wall_clock();
    match number(&claims.exp) {
        Some(exp) if exp > now + 600 => {
            return Err(unauthorized(
                "'Expiration time' claim ('exp') is too far in the future",
            ))
        }
        Some(exp) if exp > now => {}
        _ => return Err(unauthorized(
            "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        )),
    }
    match number(&claims.iat) {
        Some(iat) if iat <= now + 60 => Ok(app),
        _ => Err(unauthorized(
            "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        )),
    }
}

/// The base URLs of a request (GitHub Enterprise's `/api/v3` kept).
fn base(st: &AppState, uri: &OriginalUri) -> Base {
    let web = st.urls.github.clone();
    let api = if uri.0.path().starts_with("/api/v3/") {
        format!("{web}/api/v3")
    } else {
        web.clone()
    };
    Base { api, web }
}

/// `integration`.
fn app_json(world: &World, app: &App, base: &Base) -> Value {
    let count = world.ext::<Apps>().map_or(0, |a| {
        a.installations
            .values()
            .filter(|i| i.app_id == app.id)
            .count()
    });
    json!({
        "id": app.id,
        "slug": app.slug,
        "client_id": format!("Iv1.{:016x}", app.id),
        "node_id": node_id("Integration", app.id),
        "owner": login_json(world, &app.owner, base),
        "name": app.name,
        "description": "",
        "external_url": "https://example.com",
        "html_url": format!("{}/apps/{}", base.web, app.slug),
        "created_at": rfc3339(app.created_at),
        "updated_at": rfc3339(app.created_at),
        "permissions": permissions(),
        "events": ["pull_request", "push"],
        "installations_count": count,
    })
}

/// What drover's app asks for: contents, pull requests and issues write,
/// metadata read.
fn permissions() -> Value {
    json!({ "contents": "write", "pull_requests": "write", "issues": "write", "metadata": "read" })
}

/// `installation`.
fn installation_json(world: &World, inst: &Installation, app: &App, base: &Base) -> Value {
    let (account, target_id, target_type) = match world.owner(Forge::Github, &inst.account) {
        Some(o) => {
            let kind = if o.kind == OwnerKind::Organization {
                "Organization"
            } else {
                "User"
            };
            (owner_json(o, base), o.id, kind)
        }
        None => (Value::Null, 0, "User"),
    };
    let settings = if target_type == "Organization" {
        format!(
            "{}/organizations/{}/settings/installations/{}",
            base.web, inst.account, inst.id
        )
    } else {
        format!("{}/settings/installations/{}", base.web, inst.id)
    };
    json!({
        "id": inst.id,
        "account": account,
        "repository_selection": "all",
        "access_tokens_url": format!("{}/app/installations/{}/access_tokens", base.api, inst.id),
        "repositories_url": format!("{}/installation/repositories", base.api),
        "html_url": settings,
        "app_id": app.id,
        "client_id": format!("Iv1.{:016x}", app.id),
        "target_id": target_id,
        "target_type": target_type,
        "permissions": permissions(),
        "events": ["pull_request", "push"],
        "created_at": rfc3339(inst.created_at),
        "updated_at": rfc3339(inst.created_at),
        "single_file_name": null,
        "app_slug": app.slug,
        "suspended_by": null,
        "suspended_at": null,
    })
}

async fn get_app(State(st): State<AppState>, uri: OriginalUri, headers: HeaderMap) -> Response {
    let app = match app_of(&st, &headers) {
        Ok(app) => app,
        Err(refused) => return refused,
    };
    let world = st.world.lock();
    ok(app_json(&world, &app, &base(&st, &uri)))
}

/// The app's installation on `account`, when `accept` takes the account.
fn installation_on(
    st: &AppState,
    uri: &OriginalUri,
    headers: &HeaderMap,
    account: &str,
    accept: impl Fn(OwnerKind) -> bool,
) -> Response {
    let app = match app_of(st, headers) {
        Ok(app) => app,
        Err(refused) => return refused,
    };
    let world = st.world.lock();
    let Some(owner) = world
        .owner(Forge::Github, account)
        .filter(|o| accept(o.kind))
    else {
        return not_found();
    };
    let found = world.ext::<Apps>().and_then(|a| {
        a.installations
            .values()
            .find(|i| i.app_id == app.id && i.account.eq_ignore_ascii_case(&owner.name))
    });
    match found {
        Some(inst) => ok(installation_json(&world, inst, &app, &base(st, uri))),
        None => not_found(),
    }
}

async fn org_installation(
    State(st): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(org): Path<String>,
) -> Response {
    installation_on(&st, &uri, &headers, &org, |k| k == OwnerKind::Organization)
}

async fn user_installation(
    State(st): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> Response {
    installation_on(&st, &uri, &headers, &username, |k| k == OwnerKind::User)
}

async fn repo_installation(
    State(st): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
    Path((owner, repo)): Path<(String, String)>,
) -> Response {
    let exists = st
        .world
        .lock()
        .repo(Forge::Github, &format!("{owner}/{repo}"))
        .is_some();
    if !exists {
        if let Err(refused) = app_of(&st, &headers) {
            return refused;
        }
        return not_found();
    }
    installation_on(&st, &uri, &headers, &owner, |_| true)
}

async fn create_token(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(installation_id): Path<String>,
) -> Response {
    let app = match app_of(&st, &headers) {
        Ok(app) => app,
        Err(refused) => return refused,
    };
    let Ok(installation_id) = installation_id.parse::<u64>() else {
        return not_found();
    };
    let mut world = st.world.lock();
    let known = world
        .ext::<Apps>()
        .and_then(|a| a.installations.get(&installation_id))
        .is_some_and(|i| i.app_id == app.id);
    if !known {
        return not_found();
    }
    let now = wall_clock();
    let apps = world.ext_mut::<Apps>();
    apps.next_token += 1;
    // `ghs_` and 36 more characters, as GitHub's classic format.
    let token = format!(
        "ghs_{:016x}{:020x}",
        app.id ^ installation_id,
        apps.next_token
    );
    let expires_at = now + apps.lifetime_secs;
    let uses_left = apps.uses_per_token;
    apps.tokens.insert(
        token.clone(),
        Issued {
            expires_at,
            uses_left,
        },
    );
    if let Err(e) = world.add_token(Forge::Github, &app.bot(), &token) {
        return error_with(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), DOC);
    }
    json_response(
        StatusCode::CREATED,
        json!({
            "token": token,
            "expires_at": rfc3339(expires_at),
            "permissions": permissions(),
            "repository_selection": "all",
        }),
    )
}

/// `GET /users/{username}`: `public-user` (the app's bot is of type `Bot`).
async fn get_user(
    State(st): State<AppState>,
    uri: OriginalUri,
    Path(username): Path<String>,
) -> Response {
    let world = st.world.lock();
    match world.owner(Forge::Github, &username) {
        Some(o) if o.kind != OwnerKind::Group => ok(public_user_json(&world, o, &base(&st, &uri))),
        _ => not_found(),
    }
}
