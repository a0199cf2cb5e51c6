//! GitHub Apps on the emulated GitHub: a JWT signed with the app's key
//! reads the app and its installation and is exchanged for an
//! installation token that works as the app's bot; JWTs GitHub refuses
//! (another key, expired, too far in the future, issued in the future)
//! get GitHub's 401s; an installation token past its lifetime, or expired
//! by the test, is `Bad credentials`. Every exchange conforms to the
//! description. The key pair is a test fixture (`fixtures/github-app/`).

mod github_support;

use std::time::{SystemTime, UNIX_EPOCH};

use drover_emulator::{Forge, RepoSeed};
use github_support::{assert_clean, start, Api};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const APP_ID: u64 = 4242;
const KEY: &str = include_str!("../fixtures/github-app/test-app.key.pem");
const PUBLIC: &str = include_str!("../fixtures/github-app/test-app.pub.pem");
const OTHER_KEY: &str = include_str!("../fixtures/github-app/other.key.pem");

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A JWT with these claims, signed RS256 with `pem`.
fn jwt(pem: &str, claims: Value) -> String {
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap()
}

fn good_jwt() -> String {
    jwt(
        KEY,
        json!({ "iat": now() - 60, "exp": now() + 540, "iss": APP_ID.to_string() }),
    )
}

/// An installation token for `installation`, taken with a good JWT; the
/// token and its seconds left.
async fn issue(emu: &drover_emulator::Emulator, installation: u64) -> (String, u64) {
    let issued = Api::new(emu)
        .with_token(&good_jwt())
        .post(
            &format!("/app/installations/{installation}/access_tokens"),
            json!({}),
        )
        .await
        .expect(201);
    let expires = humantime::parse_rfc3339(issued.body["expires_at"].as_str().unwrap()).unwrap();
    let left = expires
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .as_secs();
    (issued.body["token"].as_str().unwrap().to_owned(), left)
}

async fn with_app() -> (drover_emulator::Emulator, u64) {
    let emu = start().await;
    emu.create_app(APP_ID, "drover-app", "acme", PUBLIC)
        .unwrap();
    let installation = emu.install_app(APP_ID, "acme").unwrap();
    emu.create_repo(
        Forge::Github,
        "acme/api",
        RepoSeed::default().file("README.md", "# api\n"),
    )
    .unwrap();
    (emu, installation)
}

#[tokio::test]
async fn a_jwt_finds_the_installation_and_its_token_works_as_the_bot() {
    let (emu, installation) = with_app().await;
    let api = Api::new(&emu).with_token(&good_jwt());

    let app = api.get("/app").await.expect(200);
    assert_eq!(app.body["id"], APP_ID);
    assert_eq!(app.body["slug"], "drover-app");
    let found = api.get("/orgs/acme/installation").await.expect(200);
    assert_eq!(found.body["id"], installation);
    assert_eq!(found.body["account"]["login"], "acme");
    assert_eq!(found.body["target_type"], "Organization");
    let by_repo = api.get("/repos/acme/api/installation").await.expect(200);
    assert_eq!(by_repo.body["id"], installation);
    api.get("/orgs/nobody/installation").await.expect(404);

    let (token, left) = issue(&emu, installation).await;
    assert!(token.starts_with("ghs_"), "{token}");
    assert!((3500..=3600).contains(&left), "an hour's token: {left}");

    // The installation token signs in as the bot, of type Bot.
    let bot = Api::new(&emu).with_token(&token);
    bot.get("/repos/acme/api").await.expect(200);
    let user = bot.get("/users/drover-app%5Bbot%5D").await.expect(200);
    assert_eq!(user.body["login"], "drover-app[bot]");
    assert_eq!(user.body["type"], "Bot");
    // …but is not a JWT.
    bot.get("/app").await.expect(401);
    assert_clean(&emu);
}

#[tokio::test]
async fn jwts_github_refuses_are_refused_with_its_messages() {
    let (emu, installation) = with_app().await;
    let t = now();
    let iss = APP_ID.to_string();
    let cases = [
        (
            jwt(OTHER_KEY, json!({ "iat": t - 60, "exp": t + 540, "iss": iss })),
            "A JSON web token could not be decoded",
        ),
        (
            jwt(KEY, json!({ "iat": t - 700, "exp": t - 100, "iss": iss })),
            "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        ),
        (
            jwt(KEY, json!({ "iat": t, "exp": t + 3600, "iss": iss })),
            "'Expiration time' claim ('exp') is too far in the future",
        ),
        (
            jwt(KEY, json!({ "iat": t + 300, "exp": t + 540, "iss": iss })),
            "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        ),
        ("not.a.jwt".to_owned(), "A JSON web token could not be decoded"),
    ];
    for (token, message) in cases {
        let api = Api::new(&emu).with_token(&token);
        for reply in [
            api.get("/app").await,
            api.post(
                &format!("/app/installations/{installation}/access_tokens"),
                json!({}),
            )
            .await,
        ] {
            assert_eq!(reply.status, 401, "{message}: {}", reply.text);
            assert_eq!(reply.body["message"], message);
        }
    }
    // A numeric `iss` is the app too.
    let numeric = jwt(KEY, json!({ "iat": t - 60, "exp": t + 540, "iss": APP_ID }));
    Api::new(&emu)
        .with_token(&numeric)
        .get("/app")
        .await
        .expect(200);
    assert_clean(&emu);
}

#[tokio::test]
async fn an_expired_installation_token_is_bad_credentials() {
    let (emu, installation) = with_app().await;
    let take = || async { issue(&emu, installation).await.0 };

    // Expired at the test's word.
    let token = take().await;
    let bot = Api::new(&emu).with_token(&token);
    bot.get("/repos/acme/api").await.expect(200);
    emu.expire_app_tokens();
    let refused = bot.get("/repos/acme/api").await.expect(401);
    assert_eq!(refused.body["message"], "Bad credentials");
    let graphql = bot
        .post("/graphql", json!({ "query": "{ viewer { login } }" }))
        .await;
    assert_eq!(graphql.status, 401);

    // Past its (configured) lifetime.
    emu.set_app_token_lifetime(0, None);
    let token = take().await;
    Api::new(&emu)
        .with_token(&token)
        .get("/repos/acme/api")
        .await
        .expect(401);

    // After its allotted uses.
    emu.set_app_token_lifetime(3600, Some(2));
    let bot = Api::new(&emu).with_token(&take().await);
    bot.get("/repos/acme/api").await.expect(200);
    bot.get("/repos/acme/api").await.expect(200);
    bot.get("/repos/acme/api").await.expect(401);
    assert_clean(&emu);
}

#[tokio::test]
async fn the_control_api_registers_installs_and_expires() {
    let emu = start().await;
    let control = |method: reqwest::Method, path: &str, body: Value| {
        let url = format!("{}/_emulator{path}", emu.github_url());
        async move {
            let answer = reqwest::Client::new()
                .request(method, url)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let app = json!({ "id": APP_ID, "slug": "drover-app", "owner": "acme", "public_key": PUBLIC });
    let created = control(reqwest::Method::POST, "/github/apps", app).await;
    assert_eq!(created.0, 204);
    let target = json!({ "app_id": APP_ID, "account": "acme" });
    let (status, installed) =
        control(reqwest::Method::POST, "/github/apps/installations", target).await;
    assert_eq!(status, 201);
    let installation = installed["id"].as_u64().unwrap();
    let life = json!({ "lifetime_secs": 600 });
    let set = control(reqwest::Method::PUT, "/github/app-tokens", life).await;
    assert_eq!(set.0, 204);

    let (token, left) = issue(&emu, installation).await;
    assert!((500..=600).contains(&left), "{left}");
    let bot = Api::new(&emu).with_token(&token);
    bot.get("/repos/acme/nothing").await.expect(404);
    let expired = control(
        reqwest::Method::POST,
        "/github/app-tokens/expire",
        json!({}),
    )
    .await;
    assert_eq!(expired.0, 204);
    bot.get("/repos/acme/nothing").await.expect(401);
    assert_clean(&emu);
}
