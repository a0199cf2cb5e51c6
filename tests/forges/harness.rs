//! Helpers: a fleet directory, the drover binary run off the async threads
//! (the emulator serves from them), git, and a search for leaked secrets.

use std::path::Path;
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The entry of the test services: an axum server on port 8080.
pub const SERVICE_MAIN: &str = "async fn main() {\n    let listener = tokio::net::TcpListener::bind(\"0.0.0.0:8080\").await.unwrap();\n    axum::serve(listener, axum::Router::new()).await.unwrap();\n}\n";

/// The files of a one-crate Rust HTTP service (an axum dependency makes
/// it a service) with nothing drover manages.
pub fn rust_files(name: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "Cargo.toml",
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n[dependencies]\naxum = \"0.8\"\n"),
        ),
        ("Cargo.lock", "version = 4\n".into()),
        ("src/main.rs", SERVICE_MAIN.into()),
    ]
}

/// [`rust_files`] as a seed.
pub fn rust(name: &str) -> drover_emulator::RepoSeed {
    rust_files(name)
        .into_iter()
        .fold(drover_emulator::RepoSeed::default(), |seed, (p, t)| {
            seed.file(p, t)
        })
}

pub fn write_fleet(dir: &Path, text: &str) {
    std::fs::write(dir.join("fleet.yaml"), text).unwrap();
}

pub async fn drover(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_drover"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("DROVER_CONFIG")
        // The store where the tests look for it (a test may override it).
        .env("DROVER_STATE_DIR", dir.join(".drover"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[track_caller]
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Fails if `needle` occurs in any file below `dir` (the state store, patch
/// files, reports).
pub fn assert_absent_under(dir: &Path, needle: &str) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} is not there to search: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_absent_under(&path, needle);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "secret found in {}",
                path.display()
            );
        }
    }
}

/// Does by hand, in a commit of its own on `main`, what drover's branch
/// proposes for the drifted paths of `report` (one repository of a sweep's
/// JSON report): the repository is in line without merging drover's work.
pub fn fix_by_hand(
    emu: &drover_emulator::Emulator,
    forge: drover_emulator::Forge,
    repo: &str,
    report: &serde_json::Value,
) {
    let mut commit =
        drover_emulator::CommitSeed::new("main", "Bring CI and deploy files up to date");
    for drift in report["drift"].as_array().unwrap() {
        let path = drift["path"].as_str().unwrap();
        commit = match emu.file(forge, repo, "drover/sync", path).unwrap() {
            Some(content) => commit.write(path, content),
            None => commit.delete(path),
        };
    }
    emu.commit(forge, repo, commit).unwrap();
}

/// The repository named `name` in a sweep's JSON report.
pub fn report_of<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {report}"))
}
