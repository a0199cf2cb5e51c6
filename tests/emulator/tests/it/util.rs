//! Helpers: start an emulator, run git, build HTTP clients.

use std::path::Path;
use std::process::{Command, Output};

use drover_emulator::{Emulator, EmulatorConfig, Forge};

pub const GITHUB_TOKEN: &str = "ghp_test_token";
pub const GITLAB_TOKEN: &str = "glpat-test-token";
pub const SRHT_TOKEN: &str = "srht-test-token";

/// Starts an emulator with default config and one token per forge.
pub async fn start() -> Emulator {
    start_with(EmulatorConfig::default()).await
}

pub async fn start_with(config: EmulatorConfig) -> Emulator {
    let emu = Emulator::start(config).await.expect("emulator starts");
    emu.create_token(Forge::Github, "octo", GITHUB_TOKEN)
        .unwrap();
    emu.create_token(Forge::Gitlab, "gitlabber", GITLAB_TOKEN)
        .unwrap();
    emu.create_token(Forge::Sourcehut, "alice", SRHT_TOKEN)
        .unwrap();
    emu
}

/// The token and Basic user name each forge's git clients use.
pub fn credentials(forge: Forge) -> (&'static str, &'static str) {
    match forge {
        Forge::Github => ("x-access-token", GITHUB_TOKEN),
        Forge::Gitlab => ("oauth2", GITLAB_TOKEN),
        Forge::Sourcehut => ("alice", SRHT_TOKEN),
    }
}

/// `url` with `user:token@` inserted after the scheme.
pub fn with_credentials(url: &str, user: &str, token: &str) -> String {
    url.replacen("http://", &format!("http://{user}:{token}@"), 1)
}

/// Runs the git CLI in `dir`, isolated from any user or system config.
pub fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args([
            "-c",
            "credential.helper=",
            "-c",
            "user.name=Tester",
            "-c",
            "user.email=t@example.invalid",
        ])
        .args(["-c", "init.defaultBranch=main", "-c", "protocol.version=2"])
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .output()
        .expect("git runs")
}

/// Runs git and panics with its stderr if it fails.
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

/// An HTTP client that never uses a proxy and never pools connections
/// (so a dropped connection affects only its own request).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}
