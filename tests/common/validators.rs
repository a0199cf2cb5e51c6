//! The real validators of every format drover renders, shared by the
//! template tests and the fit tests: actionlint and the GitHub workflow
//! schema, the GitLab CI schema, the builds.sr.ht manifest schema,
//! hadolint, and the Kubernetes schemas (check-jsonschema and
//! kubernetes-validate).
//!
//! They are installed by `scripts/install-validators.sh` (the README's
//! test command runs it) and never skip: a missing validator fails the
//! test with the command that installs it. Each runs once over every file
//! of its kind, so a tree of hundreds of files costs a handful of
//! processes.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn specs() -> PathBuf {
    match std::env::var_os("DROVER_FORGE_SPECS") {
        Some(p) => PathBuf::from(p),
        None => project().join("../shared/forge-specs"),
    }
}

/// Where the validators are: the venv the test command made, else PATH.
pub fn tool(name: &str) -> PathBuf {
    let venv = std::env::var_os("DROVER_VALIDATORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| project().join("target/validators"));
    let candidate = venv.join("bin").join(name);
    if candidate.is_file() {
        return candidate;
    }
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("validator `{name}` is not installed; run `bash scripts/install-validators.sh` (the README's test command does)")
    })
}

#[track_caller]
pub fn validate(what: &str, cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn spec(relative: &str) -> PathBuf {
    let schema = specs().join(relative);
    assert!(
        schema.is_file(),
        "missing spec {} (set DROVER_FORGE_SPECS)",
        schema.display()
    );
    schema
}

/// The strict schema for a manifest, by its `kind:`.
pub fn kubernetes_schema(path: &Path) -> Option<&'static str> {
    if !matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    ) {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let kind = text.lines().find_map(|l| l.strip_prefix("kind:"))?.trim();
    match kind {
        "Deployment" => Some("deployment-apps-v1.json"),
        "Service" => Some("service-v1.json"),
        "HorizontalPodAutoscaler" => Some("horizontalpodautoscaler-autoscaling-v2.json"),
        _ => None,
    }
}

/// Which validator a file goes to, by its path in the repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Workflow,
    Schema(String),
    Dockerfile,
    Kubernetes(&'static str),
}

fn kind_of(relative: &str, path: &Path) -> Option<Kind> {
    if relative.starts_with(".github/workflows/") {
        Some(Kind::Workflow)
    } else if relative == ".gitlab-ci.yml" {
        Some(Kind::Schema("ci/gitlab-ci.schema.json".into()))
    } else if relative == ".build.yml" {
        Some(Kind::Schema("sourcehut/build-manifest.schema.json".into()))
    } else if relative.ends_with("Dockerfile") {
        Some(Kind::Dockerfile)
    } else {
        kubernetes_schema(path).map(Kind::Kubernetes)
    }
}

/// Validates `files` (each a repository root and a path relative to it):
/// every validator runs once over all files of its kind. Returns how many
/// files were validated.
#[track_caller]
pub fn validate_all(what: &str, files: &[(PathBuf, String)]) -> usize {
    let mut groups: BTreeMap<Kind, Vec<PathBuf>> = BTreeMap::new();
    for (root, relative) in files {
        let path = root.join(relative);
        if let Some(kind) = kind_of(relative, &path) {
            groups.entry(kind).or_default().push(path);
        }
    }
    let mut checked = 0;
    for (kind, paths) in &groups {
        checked += paths.len();
        let what = format!("{what}: {kind:?}");
        match kind {
            Kind::Workflow => {
                // actionlint checks `run:` scripts only when shellcheck is
                // on PATH.
                let path_var = std::env::join_paths(
                    std::iter::once(tool("shellcheck").parent().unwrap().to_path_buf()).chain(
                        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
                    ),
                )
                .unwrap();
                validate(
                    &what,
                    Command::new(tool("actionlint"))
                        .args(paths)
                        .env("PATH", path_var),
                );
                validate(
                    &what,
                    Command::new(tool("check-jsonschema"))
                        .arg("--schemafile")
                        .arg(spec("ci/github-workflow.schema.json"))
                        .args(paths),
                );
            }
            Kind::Schema(schema) => validate(
                &what,
                Command::new(tool("check-jsonschema"))
                    .arg("--schemafile")
                    .arg(spec(schema))
                    .args(paths),
            ),
            Kind::Dockerfile => validate(&what, Command::new(tool("hadolint")).args(paths)),
            Kind::Kubernetes(schema) => {
                validate(
                    &what,
                    Command::new(tool("check-jsonschema"))
                        .arg("--schemafile")
                        .arg(spec(&format!(
                            "kubernetes/v1.32.2-standalone-strict/{schema}"
                        )))
                        .args(paths),
                );
                validate(
                    &what,
                    Command::new(tool("kubernetes-validate"))
                        .args(["--strict", "--kubernetes-version", "1.32.0"])
                        .args(paths),
                );
            }
        }
    }
    checked
}
