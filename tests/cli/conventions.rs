//! The conventions of a command-line tool: output that can be piped into
//! `head`, completions and a manual page from the parser, and a Dockerfile
//! whose dependency stage stubs every target the manifests declare.

use std::io::Read as _;
use std::process::{Command, Stdio};

use super::harness::{project, Fleet, DROVER};

#[test]
fn a_closed_stdout_ends_plan_quietly() {
    let fleet = Fleet::plain();
    let mut child = Command::new(DROVER)
        .args(["plan", "--json"])
        .current_dir(fleet.root())
        .env_remove("DROVER_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before drover writes a byte, as `head -c1`
    // does after its first.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?}");
    }
    let _ = status;
}

#[test]
fn completions_and_the_manual_come_from_the_parser() {
    let fleet = Fleet::plain();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = fleet.drover(&["completions", shell]).ok();
        assert!(run.stdout.contains("exit-code"), "{shell}: {}", run.stdout);
        assert!(run.stdout.contains("migrate"), "{shell}");
    }
    let run = fleet.drover(&["completions", "tcsh"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let man = fleet.drover(&["man"]).ok().stdout;
    assert!(man.starts_with(".ie"), "{man}");
    assert!(man.contains(".TH drover 1"), "{man}");
    for section in ["DROVER PLAN", "DROVER SWEEP", "DROVER MIGRATE"] {
        assert!(man.contains(section), "{section}");
    }
    assert!(man.contains(r"\-\-exit\-code"), "plan's options are in it");
}

/// The files a manifest's explicitly declared targets live in.
fn declared_targets(manifest: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let table: toml::Table = text.parse().unwrap();
    let dir = manifest
        .parent()
        .unwrap()
        .strip_prefix(project())
        .unwrap()
        .to_path_buf();
    let mut paths = Vec::new();
    if let Some(lib) = table.get("lib") {
        let path = lib
            .get("path")
            .and_then(|p| p.as_str())
            .unwrap_or("src/lib.rs");
        paths.push(dir.join(path));
    }
    for (kind, default_dir) in [
        ("bin", "src/bin"),
        ("bench", "benches"),
        ("test", "tests"),
        ("example", "examples"),
    ] {
        for target in table
            .get(kind)
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
        {
            let name = target["name"].as_str().unwrap();
            let path = match target.get("path").and_then(|p| p.as_str()) {
                Some(path) => path.to_owned(),
                None => format!("{default_dir}/{name}.rs"),
            };
            paths.push(dir.join(path));
        }
    }
    paths
        .into_iter()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect()
}

#[test]
fn the_dockerfile_stubs_every_declared_target_before_building_dependencies() {
    let dockerfile = std::fs::read_to_string(project().join("Dockerfile")).unwrap();
    let stage = dockerfile
        .split("\nCOPY . .")
        .next()
        .expect("a dependency stage before the sources are copied");
    let words: Vec<&str> = stage
        .split(|c: char| c.is_whitespace() || c == '\\')
        .filter(|w| !w.is_empty())
        .collect();
    let workspace: toml::Table = std::fs::read_to_string(project().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let mut manifests = vec![project().join("Cargo.toml")];
    for member in workspace["workspace"]["members"].as_array().unwrap() {
        let member = member.as_str().unwrap();
        if member != "." {
            let manifest = format!("{member}/Cargo.toml");
            assert!(
                words.contains(&manifest.as_str()),
                "{manifest} is not copied in"
            );
            manifests.push(project().join(manifest));
        }
    }
    let mut checked = 0;
    for manifest in &manifests {
        for path in declared_targets(manifest) {
            assert!(
                words.contains(&path.as_str()),
                "{path} ({}) has no stub in the Dockerfile's dependency stage",
                manifest.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "found only {checked} targets");
}
