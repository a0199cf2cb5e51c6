//! Helpers shared by the GitLab test binaries (`gitlab_*.rs`): an emulator
//! with one GitLab token, and a small REST client answering
//! `(status, headers, JSON)`.

#![allow(dead_code)]

use drover_emulator::{Emulator, EmulatorConfig, Forge};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const TOKEN: &str = "glpat-rest-token";

pub async fn start() -> Emulator {
    start_with(EmulatorConfig::default()).await
}

pub async fn start_with(config: EmulatorConfig) -> Emulator {
    let emu = Emulator::start(config).await.unwrap();
    emu.create_token(Forge::Gitlab, "gitlabber", TOKEN).unwrap();
    emu
}

pub struct Api<'a> {
    pub emu: &'a Emulator,
    pub http: reqwest::Client,
    pub token: Option<&'a str>,
}

impl<'a> Api<'a> {
    pub fn new(emu: &'a Emulator) -> Self {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Api {
            emu,
            http,
            token: Some(TOKEN),
        }
    }

    pub fn anonymous(emu: &'a Emulator) -> Self {
        Api {
            token: None,
            ..Api::new(emu)
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, Value) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.emu.gitlab_url())
        };
        let mut req = self.http.request(method, url);
        if let Some(t) = self.token {
            req = req.header("PRIVATE-TOKEN", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, headers, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, HeaderMap, Value) {
        self.call(Method::GET, path, None).await
    }
}

pub fn header<'h>(h: &'h HeaderMap, name: &str) -> &'h str {
    h.get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("<absent>")
}

/// Runs the git CLI in `dir`, isolated from user and system config, and
/// returns its trimmed stdout; panics with stderr on failure.
pub fn git_ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "credential.helper=", "-c", "protocol.version=2"])
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
