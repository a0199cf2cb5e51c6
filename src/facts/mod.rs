//! Repository facts: what a repository declares about itself, read from
//! its manifests and directory listings in the snapshot — package
//! managers, lock files, targets, entry points, layouts — and the kind of
//! repository that follows (service, command-line tool or library).
//!
//! Pure: facts are computed from a [`Snapshot`]; which paths and
//! directories a snapshot must read for them is [`wanted`] (one batched
//! read) and, once those are known, [`follow_up`] (workspace members, Go
//! main packages: one more batched read per round, at most
//! [`MAX_ROUNDS`]). Templates see them as `repo.facts` and `repo.kind`.

mod go;
mod node;
mod python;
mod rust;
mod service;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use go::GoFacts;
pub use node::NodeFacts;
pub use python::PythonFacts;
pub use rust::RustFacts;
pub use service::ServiceFacts;

use crate::model::{Actual, EntryKind, Listed, RepoPath, Snapshot, Wanted};

/// Follow-up reads after the first snapshot, at most.
pub const MAX_ROUNDS: usize = 2;

/// What a repository is, which decides what it gets: only a service gets
/// an image to deploy and Kubernetes manifests.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A long-running network service.
    Service,
    /// A command-line tool (binaries, no server).
    Cli,
    /// A library (no binary).
    Library,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Service, Kind::Cli, Kind::Library];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Service => "service",
            Kind::Cli => "cli",
            Kind::Library => "library",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything drover knows of a repository's own declarations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Names at the repository root (files, directories, links).
    pub root: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust: Option<RustFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go: Option<GoFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<PythonFacts>,
    /// Manifests that exist but do not parse: the file and the problem.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl Facts {
    /// Reads the facts of every ecosystem whose manifest the snapshot holds.
    pub fn read(snapshot: &Snapshot) -> Facts {
        let view = View { snapshot };
        let mut facts = Facts {
            root: view.names("").into_iter().map(|(n, _)| n).collect(),
            ..Facts::default()
        };
        facts.rust = rust::read(&view, &mut facts.problems);
        facts.go = go::read(&view, &mut facts.problems);
        facts.node = node::read(&view, &mut facts.problems);
        facts.python = python::read(&view, &mut facts.problems);
        // A service whose sources name no port: its own Dockerfile may.
        if let Some(port) = view
            .text("Dockerfile")
            .as_deref()
            .and_then(service::exposed)
        {
            for service in [
                facts.rust.as_mut().map(|f| &mut f.service),
                facts.go.as_mut().map(|f| &mut f.service),
                facts.node.as_mut().map(|f| &mut f.service),
                facts.python.as_mut().map(|f| &mut f.service),
            ]
            .into_iter()
            .flatten()
            {
                if service.port.is_none() {
                    service.port = Some(port);
                    service.sources.push("Dockerfile".into());
                }
            }
        }
        facts
    }

    /// The kind the facts of `language` suggest; `None` when that
    /// language's manifest was not read.
    pub fn kind(&self, language: &str) -> Option<Kind> {
        match language {
            "rust" => self.rust.as_ref().map(RustFacts::kind),
            "go" => self.go.as_ref().map(GoFacts::kind),
            "node" => self.node.as_ref().map(NodeFacts::kind),
            "python" => self.python.as_ref().map(PythonFacts::kind),
            _ => None,
        }
    }

    /// Whether the repository has a path (a file, or a directory when it
    /// was listed), by the snapshot's reads and listings.
    pub fn has_root(&self, name: &str) -> bool {
        self.root.iter().any(|n| n == name)
    }
}

/// Paths and directories every snapshot reads for the facts, and the
/// repository's own `.drover.yaml`.
pub fn wanted() -> Wanted {
    let mut paths = Vec::new();
    for p in rust::MANIFESTS
        .iter()
        .chain(go::MANIFESTS)
        .chain(node::MANIFESTS)
        .chain(python::MANIFESTS)
    {
        paths.push(RepoPath::new(p).expect("fact paths are valid"));
    }
    // The repository's own word (its opt-outs) is read like a manifest.
    paths.push(RepoPath::new(crate::model::REPO_FILE).expect("a valid path"));
    let mut dirs: Vec<String> = vec![String::new()];
    dirs.extend(
        rust::DIRS
            .iter()
            .chain(go::DIRS)
            .chain(python::DIRS)
            .map(|d| (*d).to_owned()),
    );
    Wanted { paths, dirs }
}

/// What else must be read to know the facts, given what this snapshot
/// holds (workspace members' manifests and sources, Go main packages).
/// Empty when nothing more is needed.
pub fn follow_up(snapshot: &Snapshot) -> Wanted {
    let view = View { snapshot };
    let mut more = Wanted::default();
    rust::follow_up(&view, &mut more);
    go::follow_up(&view, &mut more);
    node::follow_up(&view, &mut more);
    python::follow_up(&view, &mut more);
    // Only what the snapshot has not read already.
    more.paths.retain(|p| !snapshot.files.contains_key(p));
    more.paths.sort();
    more.paths.dedup();
    more.dirs.retain(|d| !snapshot.listings.contains_key(d));
    more.dirs.sort();
    more.dirs.dedup();
    more
}

/// The snapshot of a plain file tree: every file read, every directory
/// listed. For previews, tests and benchmarks.
pub fn snapshot_of(files: &[(&str, &str)]) -> Snapshot {
    let mut snap = Snapshot::default();
    for (path, text) in files {
        snap.files.insert(
            RepoPath::new(path).unwrap(),
            Actual::File {
                content: text.as_bytes().to_vec(),
            },
        );
        let mut dir = String::new();
        for part in path.split('/') {
            let is_last = path.ends_with(part)
                && dir.len() + part.len() + usize::from(!dir.is_empty()) == path.len();
            let listing = snap.listings.entry(dir.clone()).or_default();
            if !listing.iter().any(|l| l.name == part) {
                listing.push(Listed {
                    name: part.to_owned(),
                    kind: if is_last {
                        EntryKind::File
                    } else {
                        EntryKind::Dir
                    },
                });
                listing.sort_by(|a, b| a.name.cmp(&b.name));
            }
            dir = if dir.is_empty() {
                part.to_owned()
            } else {
                format!("{dir}/{part}")
            };
        }
    }
    snap
}

/// Whether the facts need the text of `path`, which the snapshot knows by
/// blob id only (a forge whose batched reads give no contents pays one
/// read for it): manifests always; a Go `main.go` always (it says whether
/// the package is a main one); other entry sources only when the
/// repository serves (their port and health route matter only then).
pub fn text_needed(snapshot: &Snapshot, path: &RepoPath) -> bool {
    const MANIFEST_NAMES: [&str; 11] = [
        "Cargo.toml",
        "go.mod",
        "package.json",
        "pyproject.toml",
        "setup.cfg",
        "setup.py",
        "rust-toolchain.toml",
        "rust-toolchain",
        ".nvmrc",
        ".python-version",
        "ruff.toml",
    ];
    let name = path.as_str().rsplit('/').next().unwrap_or("");
    if MANIFEST_NAMES.contains(&name)
        || name.starts_with("requirements")
        || name == "main.go"
        || path.as_str() == crate::model::REPO_FILE
    {
        return true;
    }
    let facts = Facts::read(snapshot);
    facts.rust.is_some_and(|r| r.server)
        || facts.node.is_some_and(|n| n.server)
        || facts.python.is_some_and(|p| p.framework.is_some())
}

/// Read access to a snapshot for the fact readers.
pub(crate) struct View<'a> {
    snapshot: &'a Snapshot,
}

impl View<'_> {
    /// The texts of those of `paths` the snapshot read, with their paths.
    fn texts(&self, paths: &[String]) -> Vec<(String, String)> {
        paths
            .iter()
            .filter_map(|p| Some((p.clone(), self.text(p)?)))
            .collect()
    }

    /// The text of a file, if the snapshot read it as a regular file.
    fn text(&self, path: &str) -> Option<String> {
        let path = RepoPath::new(path).ok()?;
        match self.snapshot.files.get(&path)? {
            Actual::File { content } => Some(String::from_utf8_lossy(content).into_owned()),
            _ => None,
        }
    }

    /// Whether a path exists as a regular file: read, or listed in its
    /// directory.
    fn is_file(&self, path: &str) -> bool {
        if let Ok(p) = RepoPath::new(path) {
            match self.snapshot.files.get(&p) {
                Some(Actual::File { .. } | Actual::Blob { .. }) => return true,
                Some(_) => return false,
                None => {}
            }
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        self.names(dir)
            .iter()
            .any(|(n, k)| n == name && *k == EntryKind::File)
    }

    /// The entries of a listed directory (empty when it was not listed).
    fn names(&self, dir: &str) -> Vec<(String, EntryKind)> {
        self.snapshot
            .listings
            .get(dir)
            .map(|l| l.iter().map(|e| (e.name.clone(), e.kind)).collect())
            .unwrap_or_default()
    }
}

/// Joins a directory (`""` the root) and a relative path.
fn join(dir: &str, rest: &str) -> String {
    if dir.is_empty() {
        rest.to_owned()
    } else {
        format!("{dir}/{rest}")
    }
}

/// Dependency names that make a program a network service.
fn any_of(names: &[String], servers: &[&str]) -> bool {
    names.iter().any(|n| servers.contains(&n.as_str()))
}

#[cfg(test)]
mod tests;

/// Whether a `when:` condition names a fact drover reads: the language
/// and field must exist (deeper steps are the data's).
pub fn check_condition(cond: &str) -> Result<(), String> {
    let path = cond.strip_prefix('!').unwrap_or(cond);
    let mut parts = path.split('.');
    let (Some(language), Some(field)) = (parts.next(), parts.next()) else {
        return Err(format!(
            "`{cond}`: a condition is `<language>.<fact>` (such as `rust.lib`), optionally with `!` before it"
        ));
    };
    let fields = match language {
        "rust" => serde_json::to_value(RustFacts::default()),
        "go" => serde_json::to_value(GoFacts::default()),
        "node" => serde_json::to_value(NodeFacts::default()),
        "python" => serde_json::to_value(PythonFacts::default()),
        other => {
            return Err(format!(
                "`{cond}`: no facts for `{other}` (there are rust, go, node and python)"
            ))
        }
    }
    .expect("facts serialise");
    let optional = OPTIONAL_FIELDS
        .iter()
        .filter(|(l, _)| *l == language)
        .map(|(_, f)| *f);
    let mut known: Vec<&str> = fields
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    known.extend(optional);
    if known.contains(&field) {
        return Ok(());
    }
    known.sort_unstable();
    Err(format!(
        "`{cond}`: {language} has no fact `{field}` (it has: {})",
        known.join(", ")
    ))
}

/// Facts left out of the JSON when unknown.
const OPTIONAL_FIELDS: &[(&str, &str)] = &[
    ("rust", "rust_version"),
    ("rust", "toolchain"),
    ("rust", "unread"),
    ("go", "go_version"),
    ("node", "manager_version"),
    ("node", "lock"),
    ("node", "start"),
    ("node", "main"),
    ("node", "node_version"),
    ("python", "lock"),
    ("python", "name"),
    ("python", "requires_python"),
    ("python", "framework"),
    ("python", "package"),
    ("python", "app"),
    ("python", "entry_file"),
    ("python", "python_version"),
    ("python", "min_python"),
    ("node", "entry"),
];

/// The facts of a typical service of `language` named `billing-api`: what
/// `drover check` and the template snapshots render for.
pub fn sample(language: &str) -> Facts {
    let files: &[(&str, &str)] = match language {
        "rust" => &[
            (
                "Cargo.toml",
                "[package]\nname = \"billing-api\"\nversion = \"0.1.0\"\n\n[dependencies]\naxum = \"0.8\"\n",
            ),
            ("Cargo.lock", "version = 4\n"),
            (
                "src/main.rs",
                "#[tokio::main]\nasync fn main() {\n    let app = axum::Router::new().route(\"/healthz\", axum::routing::get(|| async { \"ok\" }));\n    let listener = tokio::net::TcpListener::bind(\"0.0.0.0:8080\").await.unwrap();\n    axum::serve(listener, app).await.unwrap();\n}\n",
            ),
        ],
        "go" => &[
            ("go.mod", "module example.com/acme/billing-api\n\ngo 1.23\n"),
            (
                "cmd/billing-api/main.go",
                "package main\n\nimport \"net/http\"\n\nfunc main() {\n\thttp.HandleFunc(\"/healthz\", func(w http.ResponseWriter, _ *http.Request) {})\n\t_ = http.ListenAndServe(\":8080\", nil)\n}\n",
            ),
        ],
        "node" => &[
            (
                "package.json",
                r#"{"name":"billing-api","scripts":{"start":"node src/server.js","test":"node --test"},"dependencies":{"express":"^4.19.0"}}"#,
            ),
            ("package-lock.json", "{}"),
            (
                "src/server.js",
                "const app = require(\"express\")();\napp.get(\"/healthz\", (_, res) => res.send(\"ok\"));\napp.listen(process.env.PORT || 8080);\n",
            ),
        ],
        "python" => &[
            (
                "pyproject.toml",
                "[project]\nname = \"billing-api\"\ndependencies = [\"fastapi\", \"uvicorn\"]\n\n[project.scripts]\nbilling-api = \"billing_api.main:run\"\n\n[project.optional-dependencies]\ndev = [\"pytest\", \"ruff\"]\n",
            ),
            ("src/billing_api/__init__.py", ""),
            (
                "src/billing_api/main.py",
                "import uvicorn\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get(\"/healthz\")\ndef health():\n    return \"ok\"\n\n\ndef run():\n    uvicorn.run(app, host=\"0.0.0.0\", port=8080)\n",
            ),
        ],
        _ => &[],
    };
    Facts::read(&snapshot_of(files))
}
