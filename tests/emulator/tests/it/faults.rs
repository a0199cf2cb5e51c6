//! Every injected fault kind as a client sees it, and determinism by seed.

use std::time::{Duration, Instant};

use drover_emulator::{Emulator, EmulatorConfig, Fault, FaultRule, Forge, RepoSeed, Site};
use serde_json::Value;

use crate::util::{self, http, GITHUB_TOKEN, GITLAB_TOKEN};

async fn emulator_with(rules: Vec<FaultRule>, seed: u64) -> Emulator {
    let emu = util::start_with(EmulatorConfig {
        seed,
        faults: rules,
        ..Default::default()
    })
    .await;
    emu.create_repo(Forge::Github, "acme/web", RepoSeed::default())
        .unwrap();
    emu
}

async fn get_repo(emu: &Emulator) -> reqwest::Result<reqwest::Response> {
    http()
        .get(format!("{}/repos/acme/web", emu.github_url()))
        .bearer_auth(GITHUB_TOKEN)
        .send()
        .await
}

#[tokio::test]
async fn server_errors_carry_their_status() {
    let emu = emulator_with(vec![], 1).await;
    for status in [500, 502, 503] {
        emu.faults().set(vec![
            FaultRule::new(Fault::ServerError { status }).path("/repos/**")
        ]);
        let r = get_repo(&emu).await.unwrap();
        assert_eq!(r.status().as_u16(), status);
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].is_string());
    }
    emu.faults().clear();
    assert_eq!(get_repo(&emu).await.unwrap().status(), 200);
    assert_eq!(emu.faults().injected_count(), 3);
    let faults: Vec<_> = emu.exchanges().into_iter().map(|e| e.fault).collect();
    assert_eq!(
        faults,
        [
            Some("server_error".to_string()),
            Some("server_error".into()),
            Some("server_error".into()),
            None
        ]
    );
}

#[tokio::test]
async fn too_many_requests_has_retry_after() {
    let rule = FaultRule::new(Fault::TooManyRequests {
        retry_after_secs: 7,
    })
    .site(Site::Gitlab);
    let emu = emulator_with(vec![rule], 1).await;
    let r = http()
        .get(format!("{}/api/v4/projects/1", emu.gitlab_url()))
        .header("PRIVATE-TOKEN", GITLAB_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    // Other sites are untouched by a site-scoped rule.
    assert_eq!(get_repo(&emu).await.unwrap().status(), 200);
}

#[tokio::test]
async fn secondary_rate_limit_is_a_403_with_retry_after_and_githubs_message() {
    let rule = FaultRule::new(Fault::SecondaryRateLimit {
        retry_after_secs: 60,
    })
    .method("GET")
    .limit(1);
    let emu = emulator_with(vec![rule], 1).await;
    let r = get_repo(&emu).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["retry-after"], "60");
    let body: Value = r.json().await.unwrap();
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("secondary rate limit"));
    // The limit of one injection is used up.
    assert_eq!(get_repo(&emu).await.unwrap().status(), 200);
}

#[tokio::test]
async fn latency_delays_then_answers() {
    let emu = emulator_with(vec![FaultRule::new(Fault::Latency { millis: 300 })], 1).await;
    let started = Instant::now();
    let r = get_repo(&emu).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(emu.exchanges()[0].fault.as_deref(), Some("latency"));
}

#[tokio::test]
async fn dropped_connection_gives_no_response() {
    let emu = emulator_with(vec![FaultRule::new(Fault::DropConnection).limit(1)], 1).await;
    let err = get_repo(&emu).await.unwrap_err();
    assert!(!err.is_status(), "{err}");
    assert_eq!(get_repo(&emu).await.unwrap().status(), 200);
    assert_eq!(emu.exchanges()[0].status, 0);
}

#[tokio::test]
async fn truncated_body_fails_while_reading() {
    let emu = emulator_with(vec![FaultRule::new(Fault::TruncatedBody)], 1).await;
    let r = get_repo(&emu).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.is_err());
}

#[tokio::test]
async fn malformed_json_keeps_the_status_but_not_the_syntax() {
    let emu = emulator_with(
        vec![FaultRule::new(Fault::MalformedJson).path("/repos/*/*")],
        1,
    )
    .await;
    let r = get_repo(&emu).await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn short_body_is_a_clean_answer_that_lost_its_end() {
    let emu = emulator_with(vec![FaultRule::new(Fault::ShortBody).limit(1)], 1).await;
    let r = get_repo(&emu).await.unwrap();
    assert_eq!(r.status(), 200);
    let length = r.content_length();
    let cut = r.bytes().await.unwrap();
    assert_eq!(length, Some(cut.len() as u64), "Content-Length says so");
    let whole = get_repo(&emu).await.unwrap().bytes().await.unwrap();
    assert_eq!(cut, whole.slice(..whole.len() / 2));
    assert_eq!(emu.exchanges()[0].fault.as_deref(), Some("short_body"));
}

#[tokio::test]
async fn dropped_connection_on_git_paths_fails_a_clone() {
    let rule = FaultRule::new(Fault::DropConnection).path("/*/*.git/info/refs");
    let emu = emulator_with(vec![rule], 1).await;
    let url = emu.clone_url(Forge::Github, "acme/web");
    let out = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        util::git(dir.path(), &["clone", "--quiet", &url, "w"])
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(emu.faults().injected_count() >= 1);
}

async fn statuses(seed: u64) -> Vec<u16> {
    let rule = FaultRule::new(Fault::ServerError { status: 503 })
        .path("/repos/")
        .probability(0.5);
    let emu = emulator_with(vec![rule], seed).await;
    let mut out = Vec::new();
    for _ in 0..24 {
        out.push(get_repo(&emu).await.unwrap().status().as_u16());
    }
    out
}

#[tokio::test]
async fn faults_are_deterministic_for_a_seed() {
    let a = statuses(42).await;
    assert_eq!(a, statuses(42).await);
    assert_ne!(a, statuses(43).await);
    assert!(a.contains(&503) && a.contains(&200), "{a:?}");
}
