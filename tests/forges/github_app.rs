//! `drover sweep` as a GitHub App on the emulated GitHub: the JWT signed
//! with the app's key (a test fixture) finds the installation on the
//! organisation and is exchanged for installation tokens; pull requests
//! and commits are by the app's bot; a token that stops working mid-sweep
//! is replaced and no repository fails; a bad key is a clear error that
//! shows neither the key nor a token.

use std::path::Path;

use drover_emulator::{Emulator, Forge, ProposalState, Site};

use crate::github::github;
use crate::harness::{assert_absent_under, drover, report_of, write_fleet};

const APP_ID: u64 = 4242;
const SLUG: &str = "drover-app";
const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/emulator/fixtures/github-app"
);
const EXCHANGE: &str = "POST /app/installations/{installation_id}/access_tokens";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
}

/// The emulated GitHub of `github()` with the app installed on `acme`.
async fn with_app() -> Emulator {
    let emu = github().await;
    emu.create_app(APP_ID, SLUG, "acme", &fixture("test-app.pub.pem"))
        .unwrap();
    emu.install_app(APP_ID, "acme").unwrap();
    emu
}

/// fleet.yaml signing in as the app with the key file `key` (a fixture),
/// copied beside it.
fn fleet(dir: &Path, emu: &Emulator, key: &str) {
    std::fs::write(dir.join("app.pem"), fixture(key)).unwrap();
    write_fleet(
        dir,
        &format!(
            "forge:\n  kind: github\n  url: {}\n  owner: acme\n  app:\n    id: {APP_ID}\n    private_key: file:app.pem\n    installation: auto\n",
            emu.github_url()
        ),
    );
}

/// Neither a token the emulator issued nor the key is in `texts` or in
/// the state directory.
fn assert_no_secrets(emu: &Emulator, dir: &Path, texts: &[&str]) {
    let key_body = fixture("test-app.key.pem");
    let key_line = key_body.lines().nth(1).unwrap();
    let tokens = emu.app_tokens();
    for needle in tokens.iter().map(String::as_str).chain([key_line]) {
        for text in texts {
            assert!(!text.contains(needle), "a secret in the output:\n{text}");
        }
        if dir.join(".drover").exists() {
            assert_absent_under(&dir.join(".drover"), needle);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_as_an_app_opens_pull_requests_by_its_bot() {
    let emu = with_app().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu, "test-app.key.pem");

    let run = drover(dir.path(), &["sweep", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    for name in ["billing-api", "ledger"] {
        assert_eq!(report_of(&report, name)["state"], "drifted", "{report}");
    }

    let bot = format!("{SLUG}[bot]");
    let bot_id = emu.world().lock().owner(Forge::Github, &bot).unwrap().id;
    for repo in ["acme/billing-api", "acme/ledger"] {
        let prs = emu.proposals(Forge::Github, repo).unwrap();
        assert_eq!(prs.len(), 1, "{repo}");
        assert_eq!(prs[0].state, ProposalState::Open);
        assert_eq!(prs[0].author, bot, "{repo}: opened by the app's bot");
        let commit = emu
            .commit_info(Forge::Github, repo, "drover/sync")
            .unwrap()
            .unwrap();
        for person in [&commit.author, &commit.committer] {
            assert_eq!(person.name, bot);
            assert_eq!(
                person.email,
                format!("{bot_id}+{bot}@users.noreply.github.com")
            );
        }
    }
    // One installation found, one token, used for REST and GraphQL alike.
    assert_eq!(
        emu.request_count(Site::Github, "GET /orgs/{org}/installation"),
        1
    );
    assert_eq!(emu.request_count(Site::Github, EXCHANGE), 1);
    assert!(emu.request_count(Site::Github, "POST /graphql") >= 2);

    // The second sweep recognises the bot's own branch: nothing to write.
    sweep_again(&emu, dir.path(), &run).await;
    for repo in ["acme/billing-api", "acme/ledger"] {
        assert_eq!(emu.proposals(Forge::Github, repo).unwrap().len(), 1);
    }
}

/// A second sweep that succeeds; neither sweep's output nor the state
/// holds a secret, and every exchange conformed.
async fn sweep_again(emu: &Emulator, dir: &Path, first: &crate::harness::Run) {
    let again = drover(dir, &["sweep", "--json"], &[]).await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_no_secrets(
        emu,
        dir,
        &[&first.stdout, &first.stderr, &again.stdout, &again.stderr],
    );
    emu.assert_conformant();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installation_token_that_stops_working_mid_sweep_is_replaced() {
    let emu = with_app().await;
    // Each token works for three requests, then is refused (401) though
    // its `expires_at` is an hour away: drover cannot see it coming.
    emu.set_app_token_lifetime(3600, Some(3));
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu, "test-app.key.pem");

    let run = drover(dir.path(), &["sweep", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    for repo in report["repositories"].as_array().unwrap() {
        assert_ne!(repo["state"], "failed", "{repo}");
    }
    for repo in ["acme/billing-api", "acme/ledger"] {
        assert_eq!(
            emu.proposals(Forge::Github, repo).unwrap().len(),
            1,
            "{repo}"
        );
    }
    let refused = emu.exchanges().iter().filter(|e| e.status == 401).count();
    let exchanges = emu.request_count(Site::Github, EXCHANGE) as usize;
    assert!(refused >= 2, "tokens refused mid-sweep: {refused}");
    // A new token per refused one; calls refused together share one.
    assert!(
        (3..=refused + 1).contains(&exchanges),
        "tokens taken: {exchanges}, refusals: {refused}"
    );
    // The installation was looked up once, not once per token.
    assert_eq!(
        emu.request_count(Site::Github, "GET /orgs/{org}/installation"),
        1
    );

    // A token expired between sweeps (by the clock) is replaced as well.
    emu.set_app_token_lifetime(3600, None);
    emu.expire_app_tokens();
    sweep_again(&emu, dir.path(), &run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_is_a_clear_error_without_the_key_or_a_token() {
    let emu = with_app().await;
    let dir = tempfile::tempdir().unwrap();

    // Not a key at all.
    fleet(dir.path(), &emu, "README.md");
    let run = drover(dir.path(), &["sweep"], &[]).await;
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("forge.app.private_key") && run.stderr.contains("RSA private key"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Test fixtures only"), "{}", run.stderr);

    // A key, but not the app's: GitHub refuses the JWT.
    fleet(dir.path(), &emu, "other.key.pem");
    let run = drover(dir.path(), &["sweep"], &[]).await;
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("A JSON web token could not be decoded")
            && run.stderr.contains("forge.app.private_key"),
        "{}",
        run.stderr
    );
    let other = fixture("other.key.pem");
    assert!(!run.stderr.contains(other.lines().nth(1).unwrap()));
    assert!(emu.app_tokens().is_empty());
    assert!(emu
        .proposals(Forge::Github, "acme/billing-api")
        .unwrap()
        .is_empty());
    emu.assert_conformant();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_near_its_expiry_is_replaced_before_github_refuses_it() {
    use drover::config::Installation;
    use drover::forge::github::app::AppAuth;
    use drover::forge::github::{Credentials, GithubForge};
    use drover::forge::http::RetryPolicy;
    use drover::forge::Forge as _;
    use drover::model::Secret;

    let emu = with_app().await;
    // Sixteen-second tokens: drover uses one for its first half, then
    // takes the next before GitHub would refuse it.
    emu.set_app_token_lifetime(16, None);
    let key = Secret::new(fixture("test-app.key.pem"));
    let app = AppAuth::new(APP_ID, &key, Installation::Auto).unwrap();
    let forge = GithubForge::new(
        emu.github_url(),
        "acme",
        "drover/sync",
        Credentials::App(Box::new(app)),
        RetryPolicy::default(),
    )
    .unwrap();
    assert!(!forge.discover().await.unwrap().is_empty());
    assert_eq!(emu.request_count(Site::Github, EXCHANGE), 1);
    assert!(!forge.discover().await.unwrap().is_empty());
    assert_eq!(emu.request_count(Site::Github, EXCHANGE), 1, "still fresh");
    // Past half its lifetime (a wait, not a timing asserted).
    tokio::time::sleep(std::time::Duration::from_millis(8_500)).await;
    assert!(!forge.discover().await.unwrap().is_empty());
    assert_eq!(emu.request_count(Site::Github, EXCHANGE), 2);
    assert!(
        emu.exchanges().iter().all(|e| e.status != 401),
        "replaced before it was refused"
    );
    emu.assert_conformant();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_that_cannot_be_looked_up_fails_what_would_be_written_not_the_sweep() {
    let emu = with_app().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu, "test-app.key.pem");
    emu.faults().set(vec![drover_emulator::FaultRule::new(
        drover_emulator::Fault::ServerError { status: 502 },
    )
    .site(Site::Github)
    .method("GET")
    .path("/app")]);

    let run = drover(dir.path(), &["sweep", "--json"], &[]).await;
    assert_eq!(run.code, 3, "some repositories failed: {}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    for name in ["billing-api", "ledger"] {
        let repo = report_of(&report, name);
        assert_eq!(repo["state"], "failed", "{repo}");
        assert!(
            repo["reason"]
                .as_str()
                .unwrap()
                .starts_with("finding who commits: "),
            "{repo}"
        );
        assert!(emu
            .proposals(Forge::Github, &format!("acme/{name}"))
            .unwrap()
            .is_empty());
    }
    // What was read is recorded: status answers from the store.
    let status = drover(dir.path(), &["status", "--json"], &[]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains("finding who commits"),
        "{}",
        status.stdout
    );

    // The forge answers again: the next sweep proposes, as the bot.
    emu.faults().set(Vec::new());
    let again = drover(dir.path(), &["sweep", "--json"], &[]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    for name in ["billing-api", "ledger"] {
        let prs = emu
            .proposals(Forge::Github, &format!("acme/{name}"))
            .unwrap();
        assert_eq!(prs.len(), 1, "{name}");
        assert_eq!(prs[0].author, format!("{SLUG}[bot]"));
    }
}
