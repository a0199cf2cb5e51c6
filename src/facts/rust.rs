//! Rust: Cargo manifests, workspaces and their members, targets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{any_of, join, service, Kind, ServiceFacts, View};
use crate::model::{EntryKind, RepoPath, Wanted};

pub const MANIFESTS: &[&str] = &[
    "Cargo.toml",
    "rust-toolchain.toml",
    "rust-toolchain",
    "src/main.rs",
];
pub const DIRS: &[&str] = &["src", "src/bin"];

/// Crates that make a binary a network service.
const SERVERS: &[&str] = &[
    "axum",
    "actix-web",
    "warp",
    "rocket",
    "tonic",
    "poem",
    "salvo",
    "tide",
    "hyper-server",
    "hyper",
    "pingora",
    "trillium",
    "ntex",
    "gotham",
];

/// The workspace shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Workspace {
    /// One package, no `[workspace]`.
    #[default]
    None,
    /// `[workspace]` without a root `[package]`.
    Virtual,
    /// `[workspace]` beside a root `[package]`.
    Rooted,
}

/// One package of the repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    /// Its directory, relative to the root (`""` for the root package).
    pub dir: String,
    pub lib: bool,
    pub bins: Vec<String>,
    /// Each binary's source file, relative to the repository root.
    pub bin_sources: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust_version: Option<String>,
    /// Names of its `[dependencies]`.
    pub dependencies: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RustFacts {
    pub workspace: Workspace,
    /// Member directories, globs resolved.
    pub members: Vec<String>,
    pub packages: Vec<Package>,
    /// Every binary target of every package, by name.
    pub bins: Vec<String>,
    /// Whether any package has a library target (doctests run there).
    pub lib: bool,
    /// `Cargo.lock` is committed.
    pub lock: bool,
    /// The highest `rust-version` any package declares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust_version: Option<String>,
    /// The toolchain file's channel, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
    /// A binary depends on a server framework.
    pub server: bool,
    /// How the binaries serve, from their sources (a service's port and
    /// health route).
    pub service: ServiceFacts,
    /// Members whose manifest was not read (yet).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
}

impl RustFacts {
    pub fn kind(&self) -> Kind {
        if self.bins.is_empty() {
            Kind::Library
        } else if self.server {
            Kind::Service
        } else {
            Kind::Cli
        }
    }
}

pub(super) fn read(view: &View, problems: &mut Vec<String>) -> Option<RustFacts> {
    let text = view.text("Cargo.toml")?;
    let root: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            problems.push(format!("Cargo.toml: {}", first_line(&e.to_string())));
            return None;
        }
    };
    let mut facts = RustFacts {
        lock: view.is_file("Cargo.lock"),
        toolchain: toolchain(view),
        ..RustFacts::default()
    };
    let workspace = root.get("workspace").and_then(|w| w.as_table());
    let workspace_rust_version = workspace
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("rust-version"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    if root.contains_key("package") {
        facts
            .packages
            .push(package(view, "", &root, &workspace_rust_version));
    }
    if let Some(ws) = workspace {
        facts.workspace = if root.contains_key("package") {
            Workspace::Rooted
        } else {
            Workspace::Virtual
        };
        let excluded = strings(ws.get("exclude"));
        for member in member_dirs(view, &strings(ws.get("members"))) {
            if excluded.contains(&member) || member.is_empty() {
                continue;
            }
            facts.members.push(member.clone());
            let manifest = join(&member, "Cargo.toml");
            match view.text(&manifest).map(|t| t.parse::<toml::Table>()) {
                Some(Ok(table)) if table.contains_key("package") => {
                    facts
                        .packages
                        .push(package(view, &member, &table, &workspace_rust_version))
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    problems.push(format!("{manifest}: {}", first_line(&e.to_string())))
                }
                None => facts.unread.push(member),
            }
        }
    }
    let mut sources = Vec::new();
    for p in &facts.packages {
        facts.lib |= p.lib;
        for b in &p.bins {
            if !facts.bins.contains(b) {
                facts.bins.push(b.clone());
            }
        }
        if !p.bins.is_empty() && any_of(&p.dependencies, SERVERS) {
            facts.server = true;
        }
        if !p.bins.is_empty() {
            sources.extend(p.bin_sources.iter().cloned());
        }
        if let Some(v) = &p.rust_version {
            if facts
                .rust_version
                .as_ref()
                .is_none_or(|have| version_key(v) > version_key(have))
            {
                facts.rust_version = Some(v.clone());
            }
        }
    }
    let protocol = if facts.server { "http" } else { "tcp" };
    facts.service = service::read(&view.texts(&sources), protocol);
    Some(facts)
}

/// Workspace members' manifests and source directories, and the parents
/// of member globs.
pub(super) fn follow_up(view: &View, more: &mut Wanted) {
    let Some(root) = view
        .text("Cargo.toml")
        .and_then(|t| t.parse::<toml::Table>().ok())
    else {
        return;
    };
    if let Some(facts) = read(view, &mut Vec::new()) {
        for p in facts.packages.iter().filter(|p| !p.bins.is_empty()) {
            more.paths
                .extend(p.bin_sources.iter().filter_map(|s| RepoPath::new(s).ok()));
        }
    }
    let Some(ws) = root.get("workspace").and_then(|w| w.as_table()) else {
        return;
    };
    for pattern in strings(ws.get("members")) {
        if let Some(parent) = pattern.strip_suffix("/*") {
            if !parent.contains('*') {
                more.dirs.push(parent.to_owned());
            }
        }
    }
    for member in member_dirs(view, &strings(ws.get("members"))) {
        if let Ok(p) = RepoPath::new(&join(&member, "Cargo.toml")) {
            more.paths.push(p);
        }
        more.dirs.push(join(&member, "src"));
        more.dirs.push(join(&member, "src/bin"));
    }
}

/// Member directories: literal members, and `dir/*` globs expanded from
/// the listing of `dir` when it was read.
fn member_dirs(view: &View, patterns: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for pattern in patterns {
        let pattern = pattern.trim_end_matches('/');
        if let Some(parent) = pattern.strip_suffix("/*") {
            for (name, kind) in view.names(parent) {
                if kind == EntryKind::Dir {
                    out.push(join(parent, &name));
                }
            }
        } else if !pattern.contains('*') && RepoPath::new(pattern).is_ok() {
            out.push(pattern.to_owned());
        }
    }
    out
}

fn package(
    view: &View,
    dir: &str,
    manifest: &toml::Table,
    workspace_rust_version: &Option<String>,
) -> Package {
    let pkg = manifest.get("package").and_then(|p| p.as_table());
    let name = pkg
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or_default()
        .to_owned();
    let flag = |key: &str| {
        pkg.and_then(|p| p.get(key))
            .and_then(|v| v.as_bool())
            .unwrap_or(true)
    };
    let rust_version = match pkg.and_then(|p| p.get("rust-version")) {
        Some(toml::Value::String(v)) => Some(v.clone()),
        // `rust-version.workspace = true`
        Some(toml::Value::Table(_)) => workspace_rust_version.clone(),
        _ => None,
    };
    let explicit_lib = manifest.get("lib").is_some();
    let lib = explicit_lib || (flag("autolib") && view.is_file(&join(dir, "src/lib.rs")));
    let mut bins = Vec::new();
    let mut bin_paths = Vec::new();
    for bin in manifest
        .get("bin")
        .and_then(|b| b.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(n) = bin.get("name").and_then(|n| n.as_str()) {
            bins.push(n.to_owned());
            bin_paths.push(
                bin.get("path")
                    .and_then(|p| p.as_str())
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("src/bin/{n}.rs")),
            );
        }
    }
    if flag("autobins") {
        let main = "src/main.rs".to_owned();
        if view.is_file(&join(dir, &main)) && !bin_paths.contains(&main) && !bins.contains(&name) {
            bins.push(name.clone());
            bin_paths.push(main.clone());
        }
        for (entry, kind) in view.names(&join(dir, "src/bin")) {
            let bin = match kind {
                EntryKind::File => entry.strip_suffix(".rs").map(str::to_owned),
                EntryKind::Dir => Some(entry.clone()),
                _ => None,
            };
            if let Some(bin) = bin {
                let path = format!("src/bin/{entry}");
                if !bins.contains(&bin) && !bin_paths.iter().any(|p| p.starts_with(&path)) {
                    bins.push(bin);
                    bin_paths.push(if kind == EntryKind::Dir {
                        format!("{path}/main.rs")
                    } else {
                        path
                    });
                }
            }
        }
    }
    let mut dependencies: Vec<String> = manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default();
    dependencies.sort();
    Package {
        name,
        dir: dir.to_owned(),
        lib,
        bins,
        bin_sources: bin_paths.iter().map(|p| join(dir, p)).collect(),
        rust_version,
        dependencies,
    }
}

fn toolchain(view: &View) -> Option<String> {
    if let Some(text) = view.text("rust-toolchain.toml") {
        let table: toml::Table = text.parse().ok()?;
        return table
            .get("toolchain")?
            .get("channel")?
            .as_str()
            .map(str::to_owned);
    }
    view.text("rust-toolchain")
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && !t.contains('\n'))
}

fn strings(value: Option<&toml::Value>) -> Vec<String> {
    value
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// `1.80` → `[1, 80, 0]`, for comparing versions.
pub fn version_key(v: &str) -> Vec<u64> {
    let mut parts: Vec<u64> = v
        .split('.')
        .map(|p| p.trim().parse().unwrap_or(0))
        .collect();
    parts.resize(3, 0);
    parts
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_owned()
}
