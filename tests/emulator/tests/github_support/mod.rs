//! Helpers of the GitHub emulator tests: an emulator with a token, a small
//! REST/GraphQL client over reqwest, `Link` header parsing, the git CLI,
//! and the closing check that no exchange violated the official
//! descriptions.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use drover_emulator::{Emulator, EmulatorConfig, Forge, OwnerKind};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

pub const TOKEN: &str = "ghp_github_emulator_tests";
pub const USER: &str = "octo";

/// An emulator with organisation `acme` and user `octo` holding [`TOKEN`].
pub async fn start() -> Emulator {
    let emu = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    emu.create_token(Forge::Github, USER, TOKEN).unwrap();
    emu.create_owner(Forge::Github, OwnerKind::Organization, "acme")
        .unwrap();
    emu
}

/// Creates `branch` at the commit `from` names (seeded commits on a new
/// branch would otherwise start an unrelated history).
pub fn fork_branch(emu: &Emulator, full_name: &str, branch: &str, from: &str) {
    let oid = emu
        .resolve(Forge::Github, full_name, from)
        .unwrap()
        .unwrap();
    let git_dir = emu.git_dir(Forge::Github, full_name).unwrap();
    drover_emulator::gitstore::set_ref(&git_dir, &format!("refs/heads/{branch}"), &oid, None)
        .unwrap();
}

/// Fails with every violation recorded so far.
pub fn assert_clean(emu: &Emulator) {
    let v = emu.violations();
    assert!(v.is_empty(), "violations:\n{}", v.join("\n"));
}

/// Takes the violations recorded so far (for tests that provoke some).
pub fn take_violations(emu: &Emulator) -> Vec<String> {
    std::mem::take(&mut *emu.state().violations.lock())
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Link` relations, in order: `(rel, url)`.
    pub fn links(&self) -> Vec<(String, String)> {
        let Some(link) = self.header("link") else {
            return Vec::new();
        };
        link.split(", ")
            .filter_map(|part| {
                let (url, rel) = part.split_once("; rel=\"")?;
                Some((
                    rel.trim_end_matches('"').to_string(),
                    url.trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string(),
                ))
            })
            .collect()
    }

    pub fn link(&self, rel: &str) -> Option<String> {
        self.links()
            .into_iter()
            .find(|(r, _)| r == rel)
            .map(|(_, u)| u)
    }

    /// Asserts the status, showing the body otherwise.
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "{}", self.text);
        self
    }
}

/// A REST client for the emulated GitHub.
#[derive(Clone)]
pub struct Api {
    /// REST root: the emulator URL, or with `/api/v3`.
    pub root: String,
    client: reqwest::Client,
    token: Option<String>,
}

impl Api {
    pub fn new(emu: &Emulator) -> Api {
        Api {
            root: emu.github_url().to_string(),
            client: client(),
            token: Some(TOKEN.into()),
        }
    }

    /// GitHub Enterprise style: REST under `/api/v3`.
    pub fn enterprise(emu: &Emulator) -> Api {
        Api {
            root: format!("{}/api/v3", emu.github_url()),
            ..Api::new(emu)
        }
    }

    /// The same root, signed in with `token` (a JWT, an installation token).
    pub fn with_token(&self, token: &str) -> Api {
        Api {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    pub fn anonymous(emu: &Emulator) -> Api {
        Api {
            token: None,
            ..Api::new(emu)
        }
    }

    /// `path` relative to the root, or an absolute URL (from a `Link`).
    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.root)
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send_with(method, path, body, &[]).await
    }

    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("accept"))
        {
            req = req.header("accept", "application/vnd.github+json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request sent");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }
    pub async fn delete_with(&self, path: &str, body: Value) -> Reply {
        self.send(Method::DELETE, path, Some(body)).await
    }

    /// A GraphQL request to `/graphql` (or `/api/graphql` for enterprise).
    pub async fn graphql(&self, query: &str, variables: Value) -> Reply {
        let url = match self.root.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api/graphql"),
            None => format!("{}/graphql", self.root),
        };
        self.send(
            Method::POST,
            &url,
            Some(json!({ "query": query, "variables": variables })),
        )
        .await
    }
}

/// An HTTP client without proxies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Runs the git CLI in `dir`, isolated from user and system config, and
/// returns its trimmed stdout (panics on failure).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "credential.helper=", "-c", "protocol.version=2"])
        .args([
            "-c",
            "user.name=Tester",
            "-c",
            "user.email=t@example.invalid",
        ])
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
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A clone URL carrying the token the way GitHub's git clients send it.
pub fn clone_url(emu: &Emulator, full_name: &str) -> String {
    emu.clone_url(Forge::Github, full_name).replacen(
        "http://",
        &format!("http://x-access-token:{TOKEN}@"),
        1,
    )
}
