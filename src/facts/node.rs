//! Node: package manager, scripts, entry points, TypeScript, native code.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{service, Kind, ServiceFacts, View};
use crate::model::{RepoPath, Wanted};

pub const MANIFESTS: &[&str] = &["package.json", ".nvmrc"];

/// Packages that make a program a network service.
const SERVERS: &[&str] = &[
    "express",
    "fastify",
    "koa",
    "@hapi/hapi",
    "@nestjs/core",
    "next",
    "hono",
    "@remix-run/serve",
    "restify",
    "@apollo/server",
];

/// Packages that build native code at install time.
const NATIVE: &[&str] = &[
    "@napi-rs/cli",
    "node-gyp",
    "node-addon-api",
    "neon-cli",
    "cargo-cp-artifact",
];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFacts {
    pub name: String,
    /// `npm`, `yarn`, `pnpm` or `bun`: from `packageManager`, else the lock
    /// file.
    pub manager: String,
    /// The manager's major version, when `packageManager` names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager_version: Option<String>,
    /// The committed lock file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    /// The command that installs exactly the lock file.
    pub install: String,
    /// Script names.
    pub scripts: Vec<String>,
    /// The `start` script.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main: Option<String>,
    /// Command names of `bin`.
    pub bins: Vec<String>,
    /// The files of `bin`, in the same order.
    pub bin_files: Vec<String>,
    pub typescript: bool,
    /// `engines.node` or `.nvmrc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_version: Option<String>,
    /// Native code is compiled at install or build time (node-gyp,
    /// napi-rs, neon): the image and CI need that toolchain.
    pub native: bool,
    pub server: bool,
    pub workspaces: bool,
    /// `"type": "module"`.
    pub esm: bool,
    /// The file a service runs: the `start` script's `node FILE`, else
    /// `main`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// How the service serves, from the entry file (or, for TypeScript
    /// built to `dist/`, its source in `src/`).
    pub service: ServiceFacts,
}

impl NodeFacts {
    pub fn kind(&self) -> Kind {
        if self.server {
            Kind::Service
        } else if !self.bins.is_empty() {
            Kind::Cli
        } else if self.start.is_some() && self.main.is_none() {
            Kind::Service
        } else {
            Kind::Library
        }
    }

    pub fn has_script(&self, name: &str) -> bool {
        self.scripts.iter().any(|s| s == name)
    }
}

pub(super) fn read(view: &View, problems: &mut Vec<String>) -> Option<NodeFacts> {
    let text = view.text("package.json")?;
    let pkg: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            problems.push(format!("package.json: {e}"));
            return None;
        }
    };
    let str_of = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let locks = [
        ("pnpm-lock.yaml", "pnpm"),
        ("yarn.lock", "yarn"),
        ("bun.lock", "bun"),
        ("bun.lockb", "bun"),
        ("package-lock.json", "npm"),
        ("npm-shrinkwrap.json", "npm"),
    ];
    let lock = locks.iter().find(|(f, _)| view.is_file(f));
    let declared = pkg["packageManager"].as_str().map(|pm| {
        let (name, version) = pm.split_once('@').unwrap_or((pm, ""));
        let major = version.split('.').next().unwrap_or("").to_owned();
        (name.to_owned(), (!major.is_empty()).then_some(major))
    });
    let (manager, manager_version) = match (&declared, lock) {
        (Some((name, v)), _) => (name.clone(), v.clone()),
        (None, Some((_, m))) => ((*m).to_owned(), None),
        (None, None) => ("npm".to_owned(), None),
    };
    let lock = lock
        .filter(|(_, m)| *m == manager)
        .map(|(f, _)| (*f).to_owned());
    let berry = manager == "yarn"
        && (view.is_file(".yarnrc.yml") || manager_version.as_deref().is_some_and(|v| v != "1"));
    let install = match (manager.as_str(), lock.is_some()) {
        ("npm", true) => "npm ci",
        ("npm", false) => "npm install",
        ("yarn", true) if berry => "yarn install --immutable",
        ("yarn", true) => "yarn install --frozen-lockfile",
        ("yarn", false) => "yarn install",
        ("pnpm", true) => "pnpm install --frozen-lockfile",
        ("pnpm", false) => "pnpm install",
        ("bun", true) => "bun install --frozen-lockfile",
        _ => "bun install",
    }
    .to_owned();
    let scripts: BTreeMap<String, String> = pkg["scripts"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let bin_files: Vec<String> = match &pkg["bin"] {
        serde_json::Value::String(f) => vec![f.trim_start_matches("./").to_owned()],
        serde_json::Value::Object(m) => m
            .values()
            .filter_map(|f| f.as_str().map(|f| f.trim_start_matches("./").to_owned()))
            .collect(),
        _ => Vec::new(),
    };
    let bins = match &pkg["bin"] {
        serde_json::Value::String(_) => vec![pkg["name"]
            .as_str()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()],
        serde_json::Value::Object(m) => m.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let deps: Vec<String> = ["dependencies", "devDependencies", "optionalDependencies"]
        .iter()
        .filter_map(|k| pkg[*k].as_object())
        .flat_map(|m| m.keys().cloned())
        .collect();
    let runtime: Vec<String> = pkg["dependencies"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let start = scripts.get("start").cloned();
    let main = str_of(&pkg["main"]);
    let entry = start
        .as_deref()
        .and_then(node_file)
        .or_else(|| main.clone().map(|m| m.trim_start_matches("./").to_owned()));
    let server = runtime.iter().any(|d| SERVERS.contains(&d.as_str()));
    let service = service::read(
        &view.texts(&entry_sources(entry.as_deref())),
        if server { "http" } else { "tcp" },
    );
    let nvmrc = view
        .text(".nvmrc")
        .map(|t| t.trim().trim_start_matches('v').to_owned());
    Some(NodeFacts {
        name: str_of(&pkg["name"]).unwrap_or_default(),
        manager,
        manager_version,
        lock,
        install,
        start,
        scripts: scripts.into_keys().collect(),
        main,
        entry,
        service,
        esm: pkg["type"].as_str() == Some("module"),
        bins,
        bin_files,
        typescript: view.is_file("tsconfig.json") || deps.iter().any(|d| d == "typescript"),
        node_version: str_of(&pkg["engines"]["node"]).or(nvmrc),
        native: view.is_file("binding.gyp")
            || pkg.get("napi").is_some()
            || pkg["gypfile"].as_bool() == Some(true)
            || deps.iter().any(|d| NATIVE.contains(&d.as_str())),
        server,
        workspaces: pkg.get("workspaces").is_some(),
    })
}

/// `node [flags] FILE …` in a script: FILE.
fn node_file(script: &str) -> Option<String> {
    let mut words = script.split_whitespace();
    while let Some(w) = words.next() {
        if w == "node" {
            return words
                .find(|w| !w.starts_with('-'))
                .map(|f| f.trim_start_matches("./").to_owned());
        }
    }
    None
}

/// The entry file and, for a build output, where its source would be.
fn entry_sources(entry: Option<&str>) -> Vec<String> {
    let Some(entry) = entry else {
        return Vec::new();
    };
    let mut out = vec![entry.to_owned()];
    for (built, source) in [("dist/", "src/"), ("build/", "src/"), ("lib/", "src/")] {
        if let Some(rest) = entry.strip_prefix(built) {
            let stem = rest.trim_end_matches(".js").trim_end_matches(".mjs");
            out.push(format!("{source}{stem}.ts"));
            out.push(format!("{source}{stem}.js"));
        }
    }
    if !entry.ends_with(".js") && !entry.ends_with(".mjs") && !entry.ends_with(".cjs") {
        out.push(format!("{entry}.js"));
    }
    out
}

/// The entry file, once `package.json` is known.
pub(super) fn follow_up(view: &View, more: &mut Wanted) {
    let Some(pkg) = view
        .text("package.json")
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    else {
        return;
    };
    let entry = pkg["scripts"]["start"]
        .as_str()
        .and_then(node_file)
        .or_else(|| {
            pkg["main"]
                .as_str()
                .map(|m| m.trim_start_matches("./").to_owned())
        });
    more.paths.extend(
        entry_sources(entry.as_deref())
            .iter()
            .filter_map(|p| RepoPath::new(p).ok()),
    );
}
