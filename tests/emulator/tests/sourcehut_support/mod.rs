//! Helpers shared by the sourcehut test binaries: an emulator with a
//! sourcehut token, GraphQL over HTTP, and the git CLI in isolation.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use drover_emulator::{Emulator, EmulatorConfig, Forge, Site};
use serde_json::{json, Value};

pub const TOKEN: &str = "srht-alice-token";
pub const BOB_TOKEN: &str = "srht-bob-token";

/// An emulator where `alice` (token [`TOKEN`]) and `bob` exist.
pub async fn start_with(config: EmulatorConfig) -> Emulator {
    let emu = Emulator::start(config).await.expect("emulator starts");
    emu.create_token(Forge::Sourcehut, "alice", TOKEN).unwrap();
    emu.create_token(Forge::Sourcehut, "bob", BOB_TOKEN)
        .unwrap();
    emu
}

pub async fn start() -> Emulator {
    start_with(EmulatorConfig::default()).await
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Posts a GraphQL request to `site`'s `/query` with `token`; the body.
pub async fn gql_as(
    emu: &Emulator,
    site: Site,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    let response = http()
        .post(format!("{}/query", emu.url(site)))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json body")
}

/// [`gql_as`] with alice's token; panics on GraphQL errors.
pub async fn gql(emu: &Emulator, site: Site, query: &str, variables: Value) -> Value {
    let body = gql_as(emu, site, TOKEN, query, variables).await;
    assert!(body.get("errors").is_none(), "GraphQL errors: {body:#}");
    body["data"].clone()
}

/// Runs the git CLI in `dir`, isolated from any user or system config.
pub fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(["-c", "credential.helper=", "-c", "user.name=Tester"])
        .args([
            "-c",
            "user.email=tester@example.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(["-c", "protocol.version=2", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_DATE", "2024-05-01T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-05-01T12:00:00Z")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .output()
        .expect("git runs")
}

/// Runs git and panics with its output if it fails; trimmed stdout.
pub fn git_ok(dir: &Path, args: &[&str]) -> String {
    let out = git(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A clone URL of `~alice/name` with alice's credentials.
pub fn authed_url(emu: &Emulator, path: &str) -> String {
    emu.clone_url(Forge::Sourcehut, path)
        .replacen("http://", &format!("http://alice:{TOKEN}@"), 1)
}

/// Asserts the emulator saw nothing a real forge would reject.
pub fn assert_no_violations(emu: &Emulator) {
    let v = emu.violations();
    assert!(v.is_empty(), "violations: {v:#?}");
}
