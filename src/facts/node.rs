//! Node: package manager, scripts, entry points, TypeScript, native code.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Kind, View};

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
    pub typescript: bool,
    /// `engines.node` or `.nvmrc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_version: Option<String>,
    /// Native code is compiled at install or build time (node-gyp,
    /// napi-rs, neon): the image and CI need that toolchain.
    pub native: bool,
    pub server: bool,
    pub workspaces: bool,
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
    let nvmrc = view
        .text(".nvmrc")
        .map(|t| t.trim().trim_start_matches('v').to_owned());
    Some(NodeFacts {
        name: str_of(&pkg["name"]).unwrap_or_default(),
        manager,
        manager_version,
        lock,
        install,
        start: scripts.get("start").cloned(),
        scripts: scripts.into_keys().collect(),
        main: str_of(&pkg["main"]),
        bins,
        typescript: view.is_file("tsconfig.json") || deps.iter().any(|d| d == "typescript"),
        node_version: str_of(&pkg["engines"]["node"]).or(nvmrc),
        native: view.is_file("binding.gyp")
            || pkg.get("napi").is_some()
            || pkg["gypfile"].as_bool() == Some(true)
            || deps.iter().any(|d| NATIVE.contains(&d.as_str())),
        server: runtime.iter().any(|d| SERVERS.contains(&d.as_str())),
        workspaces: pkg.get("workspaces").is_some(),
    })
}
