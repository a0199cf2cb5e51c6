//! Go: the module, its version, where `package main` lives, and what a
//! main package runs.

use serde::{Deserialize, Serialize};

use super::{join, service, Kind, ServiceFacts, View};
use crate::model::{EntryKind, RepoPath, Wanted};

pub const MANIFESTS: &[&str] = &["go.mod", "main.go"];
pub const DIRS: &[&str] = &["cmd"];

/// Modules that make a main package a network service.
const SERVERS: &[&str] = &[
    "github.com/gin-gonic/gin",
    "github.com/labstack/echo/v4",
    "github.com/go-chi/chi/v5",
    "github.com/gofiber/fiber/v2",
    "github.com/gorilla/mux",
    "google.golang.org/grpc",
    "connectrpc.com/connect",
];

/// Programs a main package runs, as far as its source says, that a
/// runtime image must carry.
const EXECUTABLES: &[&str] = &["git", "ssh", "sh", "bash", "curl", "docker", "kubectl"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoFacts {
    pub module: String,
    /// The `go` directive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go_version: Option<String>,
    /// Main packages as `go build` arguments: `.` or `./cmd/<name>`.
    pub mains: Vec<String>,
    /// The binary each main package builds (its directory's name, the
    /// module's last element for the root).
    pub binaries: Vec<String>,
    /// `go.sum` is committed.
    pub sum: bool,
    /// Dependencies are vendored.
    pub vendor: bool,
    /// A main package serves the network.
    pub server: bool,
    /// Programs a main package runs (`exec.Command("git", …)`).
    pub execs: Vec<String>,
    /// How the main packages serve, from their `main.go`.
    pub service: ServiceFacts,
}

impl GoFacts {
    pub fn kind(&self) -> Kind {
        if self.mains.is_empty() {
            Kind::Library
        } else if self.server {
            Kind::Service
        } else {
            Kind::Cli
        }
    }
}

pub(super) fn read(view: &View, _problems: &mut Vec<String>) -> Option<GoFacts> {
    let text = view.text("go.mod")?;
    let mut facts = GoFacts {
        sum: view.is_file("go.sum"),
        vendor: view
            .names("")
            .iter()
            .any(|(n, k)| n == "vendor" && *k == EntryKind::Dir),
        ..GoFacts::default()
    };
    let mut requires = Vec::new();
    let mut in_require = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        if let Some(m) = line.strip_prefix("module ") {
            facts.module = m.trim().trim_matches('"').to_owned();
        } else if let Some(v) = line.strip_prefix("go ") {
            facts.go_version = Some(v.trim().to_owned());
        } else if line.starts_with("require (") {
            in_require = true;
        } else if in_require && line == ")" {
            in_require = false;
        } else if let Some(r) = line.strip_prefix("require ") {
            requires.extend(r.split_whitespace().next().map(str::to_owned));
        } else if in_require {
            requires.extend(line.split_whitespace().next().map(str::to_owned));
        }
    }
    let last = facts
        .module
        .rsplit('/')
        .find(|s| !(s.starts_with('v') && s[1..].chars().all(|c| c.is_ascii_digit())))
        .unwrap_or(&facts.module)
        .to_owned();
    let mut sources: Vec<String> = Vec::new();
    let mut read_from: Vec<String> = Vec::new();
    if let Some(main) = view.text("main.go").filter(|t| is_main(t)) {
        read_from.push("main.go".into());
        facts.mains.push(".".into());
        facts.binaries.push(last);
        sources.push(main);
    }
    for (name, kind) in view.names("cmd") {
        if kind != EntryKind::Dir {
            continue;
        }
        let dir = join("cmd", &name);
        let main = view.text(&join(&dir, "main.go"));
        let has_go = view
            .names(&dir)
            .iter()
            .any(|(n, k)| *k == EntryKind::File && n.ends_with(".go"));
        // A directory under cmd/ is a main package by convention; its
        // main.go says so for certain.
        if main.as_deref().is_some_and(is_main) || (main.is_none() && has_go) {
            facts.mains.push(format!("./{dir}"));
            facts.binaries.push(name.clone());
            if main.is_some() {
                read_from.push(join(&dir, "main.go"));
            }
            sources.extend(main);
        }
    }
    let http = requires.iter().any(|r| SERVERS.contains(&r.as_str()))
        || sources.iter().any(|s| {
            s.contains("\"net/http\"")
                && (s.contains("ListenAndServe") || s.contains("http.Server"))
        });
    let tcp = sources.iter().any(|s| s.contains("net.Listen("));
    facts.server = http || tcp;
    facts.service = service::read(&view.texts(&read_from), if http { "http" } else { "tcp" });
    for s in &sources {
        for exe in EXECUTABLES {
            let call = format!("Command(\"{exe}\"");
            let ctx_call = format!("\"{exe}\"");
            if (s.contains(&call) || s.contains("CommandContext(") && s.contains(&ctx_call))
                && !facts.execs.iter().any(|e| e == exe)
            {
                facts.execs.push((*exe).to_owned());
            }
        }
    }
    Some(facts)
}

/// Each `cmd/<name>` directory's listing and `main.go`.
pub(super) fn follow_up(view: &View, more: &mut Wanted) {
    if view.text("go.mod").is_none() {
        return;
    }
    for (name, kind) in view.names("cmd") {
        if kind == EntryKind::Dir {
            let dir = join("cmd", &name);
            if let Ok(p) = RepoPath::new(&join(&dir, "main.go")) {
                more.paths.push(p);
            }
            more.dirs.push(dir);
        }
    }
}

fn is_main(source: &str) -> bool {
    source
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("package "))
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("main"))
}
