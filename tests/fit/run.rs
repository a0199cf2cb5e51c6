//! The rendered CI, run: for the shapes whose toolchain this machine has
//! and whose dependencies need no network (Rust crates without
//! dependencies, Node packages without dependencies), every `run:` step of
//! the rendered GitHub workflow — and the Dockerfile's build command —
//! runs in a copy of the shape with the rendered files applied, offline.
//! Steps that fetch a toolchain (`rustup toolchain install`) use the one
//! installed here instead. Go is not installed here, and the Python
//! shapes' installs need their build backends from the package index, so
//! those are checked statically only (`shapes.rs`).

use std::path::Path;
use std::process::Command;

use crate::shapes::planned;

/// Shapes run here, and why the others are not.
const RUNNABLE: &[&str] = &[
    "rust-cli",
    "rust-library",
    "rust-virtual-workspace",
    "rust-rooted-workspace",
    "rust-custom-paths",
    "node-cli",
    "node-library",
    "node-no-test-script",
];

/// The `run:` steps of the workflow's `check` job.
fn steps(workflow: &str) -> Vec<String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(workflow).unwrap();
    doc["jobs"]["check"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str().map(str::to_owned))
        .collect()
}

/// The Dockerfile's `cargo build …` (without the BuildKit cache mounts,
/// which need an image build).
fn dockerfile_build(dockerfile: &str) -> Option<String> {
    let joined = dockerfile.replace("\\\n", " ");
    let line = joined.lines().find(|l| l.contains("cargo build"))?;
    let start = line.find("cargo build")?;
    let cmd = &line[start..];
    Some(cmd.split("&&").next()?.trim().to_owned())
}

fn run(dir: &Path, target: &Path, script: &str) -> Result<(), String> {
    let out = Command::new("sh")
        .args(["-ec", script])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_NET_OFFLINE", "true")
        .env("npm_config_offline", "true")
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{script}` failed in {}:\n{}\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn rendered_ci_commands_pass_in_the_shapes_that_can_run_here() {
    let planned = planned("github");
    let target = tempfile::tempdir().unwrap();
    let mut ran = Vec::new();
    let mut failures = Vec::new();
    for shape in RUNNABLE {
        let dir = planned.rendered(shape);
        let workflow = planned.text(shape, ".github/workflows/ci.yml");
        let mut scripts: Vec<String> = steps(&workflow)
            .into_iter()
            .filter(|s| !s.contains("rustup"))
            .collect();
        if dir.join("Dockerfile").is_file() {
            scripts.extend(dockerfile_build(&planned.text(shape, "Dockerfile")));
        }
        assert!(!scripts.is_empty(), "{shape}: nothing to run");
        let shape_target = target.path().join(shape);
        for script in &scripts {
            match run(&dir, &shape_target, script) {
                Ok(()) => ran.push(format!("{shape}: {script}")),
                Err(e) => failures.push(e),
            }
        }
    }
    eprintln!("ran:\n{}", ran.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
