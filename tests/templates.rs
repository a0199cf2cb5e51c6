//! The shipped policies and templates: every language × forge file set is
//! snapshot-tested (insta) and checked by the real validators of each
//! format: actionlint and the GitHub workflow schema, the GitLab CI schema,
//! the builds.sr.ht manifest schema, hadolint, and the Kubernetes schemas.
//!
//! The validators are installed by `scripts/install-validators.sh` (the
//! README's test command runs it). They never skip: a missing validator
//! fails the test with the command that installs it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use drover::config::{parse_policies, TemplateSources};
use drover::model::{CiFlavor, ForgeKind};
use drover::render::{sample_file_sets, DesiredFile, ForgeFacts, Renderer};

#[path = "common/validators.rs"]
mod validators;

use validators::{project, tool, validate};

fn forge_for(ci: CiFlavor) -> ForgeFacts {
    let (kind, host, registry) = match ci {
        CiFlavor::Github => (ForgeKind::Github, "github.com", "ghcr.io/acme"),
        CiFlavor::Gitlab => (
            ForgeKind::Gitlab,
            "gitlab.example.com",
            "registry.gitlab.example.com/acme",
        ),
        CiFlavor::Sourcehut => (
            ForgeKind::Sourcehut,
            "git.sr.ht",
            "registry.example.com/acme",
        ),
    };
    ForgeFacts {
        kind,
        ci,
        host: host.into(),
        owner: "acme".into(),
        url: format!("https://{host}"),
        registry: registry.into(),
        ci_path: ci.ci_path().into(),
    }
}

/// Every language × forge file set of the project's policies/templates.
fn file_sets() -> Vec<(String, CiFlavor, Vec<DesiredFile>)> {
    let mut files = BTreeMap::new();
    let root = project().join("templates");
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let templates = TemplateSources {
        files,
        origin: "templates".into(),
    };
    let policies: Vec<_> = std::fs::read_dir(project().join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (PathBuf::from("policies").join(p.file_name().unwrap()), text)
        })
        .collect();
    let policies = parse_policies(policies, &templates).unwrap();
    let renderer = Renderer::new(&templates).unwrap();
    sample_file_sets(&renderer, &policies, forge_for, &BTreeMap::new()).unwrap()
}

fn file_text(f: &DesiredFile) -> Option<String> {
    drover::drift::new_file(f)
}

#[test]
fn every_language_and_forge_renders_as_snapshotted() {
    let sets = file_sets();
    let languages: std::collections::BTreeSet<_> =
        sets.iter().map(|(l, _, _)| l.as_str()).collect();
    for want in ["go", "node", "python", "rust"] {
        assert!(languages.contains(want), "no policy for {want}");
    }
    for (language, ci, files) in sets {
        let mut all = String::new();
        for f in &files {
            all.push_str(&format!("=== {} ({}) ===\n", f.path, f.mode.as_str()));
            all.push_str(&file_text(f).unwrap_or_else(|| "(must be absent)\n".into()));
        }
        insta::assert_snapshot!(format!("{language}-{ci}"), all);
    }
}

#[test]
fn rendered_files_pass_the_real_validators() {
    let dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    for (language, ci, files) in file_sets() {
        let root = dir.path().join(&language).join(ci.as_str());
        for f in &files {
            let Some(text) = file_text(f) else { continue };
            let path = root.join(f.path.as_str());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            written.push((root.clone(), f.path.as_str().to_owned()));
        }
    }
    let checked = validators::validate_all("shipped templates", &written);
    assert!(checked >= 4 * 3 * 5, "only {checked} files were validated");
}

/// drover's own image passes hadolint, like the Dockerfiles it renders.
#[test]
fn drovers_own_dockerfile_passes_hadolint() {
    let path = project().join("Dockerfile");
    validate(
        "Dockerfile (drover's image)",
        Command::new(tool("hadolint")).arg(&path),
    );
}

/// The daemon's Kubernetes manifests pass the Kubernetes schemas, strictly.
#[test]
fn the_daemons_kubernetes_manifests_pass_the_schemas() {
    let path = project().join("deploy/k8s/drover.yaml");
    let mut kv = Command::new(tool("kubernetes-validate"));
    kv.args(["--strict", "--kubernetes-version", "1.32.0"])
        .arg(&path);
    validate("deploy/k8s/drover.yaml", &mut kv);
    let text = std::fs::read_to_string(&path).unwrap();
    // The grace period outlasts drover's own shutdown bound (30 s default).
    assert!(text.contains("terminationGracePeriodSeconds: 60"), "{text}");
    for probe in ["path: /healthz", "path: /readyz", "secretKeyRef:"] {
        assert!(text.contains(probe), "{probe}");
    }
}

/// `systemd-analyze verify` passes on the units, with ExecStart pointed at
/// the built binary, and `systemd-analyze security` rates both services
/// 2.0 or better. Runs where systemd-analyze is installed (tests/packaging.rs
/// checks, everywhere, that the two are sandboxed alike).
#[test]
fn the_systemd_units_verify() {
    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed here; the units are not verified");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    for unit in [
        "drover.service",
        "drover-sweep.service",
        "drover-sweep.timer",
    ] {
        let text = std::fs::read_to_string(project().join("systemd").join(unit))
            .unwrap()
            .replace("/usr/local/bin/drover", env!("CARGO_BIN_EXE_drover"));
        std::fs::write(dir.path().join(unit), text).unwrap();
    }
    for unit in [
        "drover.service",
        "drover-sweep.service",
        "drover-sweep.timer",
    ] {
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(dir.path().join(unit))
            .current_dir(dir.path())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !said.contains(unit),
            "{unit}: {said}"
        );
    }
    // Both services sandboxed alike: an exposure of 2.0 at most by
    // `systemd-analyze security` (offline, on the unit files themselves).
    for unit in ["drover.service", "drover-sweep.service"] {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(dir.path().join(unit))
            .current_dir(dir.path())
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let exposure: f64 = said
            .lines()
            .find_map(|l| l.split_once("Overall exposure level for "))
            .and_then(|(_, rest)| rest.split_once(": "))
            .and_then(|(_, level)| level.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{unit}: no exposure level in {said}"));
        assert!(exposure <= 2.0, "{unit}: exposure {exposure}\n{said}");
    }
}
