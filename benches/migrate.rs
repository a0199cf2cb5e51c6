//! The migration benchmark (DESIGN.md: "100 repositories with full
//! history, every ref verified, bounded by git transfer, not by drover").
//! Not a timed test: it prints request counts and a wall-time *ratio*
//! measured in one run.
//!
//!     cargo bench --bench migrate                 # 100 repositories
//!     DROVER_BENCH_REPOS=20 cargo bench --bench migrate
//!
//! It seeds N Rust repositories on the emulated GitLab, each with real
//! history (4 branches, 60 commits, a merge, 4 tags, 2 of them annotated),
//! then:
//! 1. the git transfer alone, as a shell loop would do it: `git clone
//!    --mirror` of each source and `git push --mirror` to an empty
//!    repository created beforehand on the emulated GitHub;
//! 2. `drover migrate` of the same group to the emulated GitHub: create,
//!    mirror and push, verify every ref, re-render the CI and propose it;
//!
//! and prints drover's time over the transfer's, with drover's requests
//! per repository (API and git, per forge).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use drover_emulator::{Emulator, EmulatorConfig, Forge, OwnerKind, RepoSeed, Site};

const SOURCE_TOKEN: &str = "glpat-benchSourceToken000";
const TARGET_TOKEN: &str = "ghp_benchTargetToken000";

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One history every repository gets a copy of.
fn history(dir: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    git(dir, &["init", "-q", "-b", "main", "."]);
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"svc\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("Cargo.lock"), "version = 4\n").unwrap();
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        "test:\n  script: [cargo test]\n",
    )
    .unwrap();
    for branch in ["main", "feature/a", "feature/b", "release/1.x"] {
        if branch != "main" {
            git(dir, &["checkout", "-q", "-B", branch, "main"]);
        }
        for c in 0..15 {
            std::fs::write(
                dir.join("src/main.rs"),
                format!("// {branch} {c}\nfn main() {{}}\n{}", "x".repeat(c * 200)),
            )
            .unwrap();
            git(dir, &["add", "-A"]);
            git(dir, &["commit", "-qm", &format!("{branch} {c}")]);
            if branch == "main" && c % 5 == 4 {
                let tag = format!("v0.{c}");
                if c == 14 {
                    git(dir, &["tag", "-a", &tag, "-m", "release"]);
                } else {
                    git(dir, &["tag", &tag]);
                }
            }
        }
        git(dir, &["checkout", "-q", "main"]);
    }
    git(
        dir,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-X",
            "theirs",
            "-m",
            "merge a",
            "feature/a",
        ],
    );
    git(dir, &["tag", "-a", "v1.0", "-m", "one"]);
}

fn main() {
    let n: usize = std::env::var("DROVER_BENCH_REPOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench(n));
}

async fn bench(n: usize) {
    let scratch = tempfile::tempdir().unwrap();
    let template = scratch.path().join("template");
    history(&template);
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Gitlab, "gitlabber", SOURCE_TOKEN)
        .unwrap();
    emu.create_owner(Forge::Github, OwnerKind::Organization, "acme")
        .unwrap();
    emu.create_owner(Forge::Github, OwnerKind::Organization, "baseline")
        .unwrap();
    emu.create_token(Forge::Github, "octo", TARGET_TOKEN)
        .unwrap();
    let names: Vec<String> = (0..n).map(|i| format!("svc-{i:04}")).collect();
    for name in &names {
        emu.create_repo(
            Forge::Gitlab,
            &format!("acme/{name}"),
            RepoSeed::default().file("x", "x"),
        )
        .unwrap();
        let dir = emu.git_dir(Forge::Gitlab, &format!("acme/{name}")).unwrap();
        let src = template.to_str().unwrap().to_owned();
        git(
            &dir,
            &[
                "fetch",
                "-q",
                &src,
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
            ],
        );
        emu.create_repo(
            Forge::Github,
            &format!("baseline/{name}"),
            RepoSeed::default().empty(),
        )
        .unwrap();
    }

    // 1. The git transfer alone.
    let work = scratch.path().join("baseline");
    std::fs::create_dir_all(&work).unwrap();
    let pairs: Vec<(String, String, String)> = names
        .iter()
        .map(|name| {
            let from = emu.clone_url(Forge::Gitlab, &format!("acme/{name}"));
            let to = emu
                .clone_url(Forge::Github, &format!("baseline/{name}"))
                .replace("http://", &format!("http://x:{TARGET_TOKEN}@"));
            (name.clone(), from, to)
        })
        .collect();
    let started = Instant::now();
    let dir = work.clone();
    tokio::task::spawn_blocking(move || {
        for (name, from, to) in pairs {
            git(&dir, &["clone", "-q", "--mirror", &from, &name]);
            git(&dir.join(&name), &["push", "-q", "--mirror", &to]);
        }
    })
    .await
    .unwrap();
    let transfer = started.elapsed();

    // 2. drover migrate.
    let fleet = scratch.path().join("fleet");
    std::fs::create_dir_all(&fleet).unwrap();
    std::fs::write(
        fleet.join("fleet.yaml"),
        format!(
            "forge:\n  kind: gitlab\n  url: {}\n  owner: acme\n  token: env:SOURCE_TOKEN\n\
             migrate_to:\n  kind: github\n  url: {}\n  owner: acme\n  token: env:TARGET_TOKEN\n",
            emu.gitlab_url(),
            emu.github_url()
        ),
    )
    .unwrap();
    emu.reset_counters();
    let started = Instant::now();
    let dir = fleet.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_drover"))
            .arg("migrate")
            .current_dir(&dir)
            .env("DROVER_STATE_DIR", dir.join(".drover"))
            .env("SOURCE_TOKEN", SOURCE_TOKEN)
            .env("TARGET_TOKEN", TARGET_TOKEN)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let migrate = started.elapsed();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let counts = emu.request_counts();
    let count = |site: Site, git: bool| -> u64 {
        counts
            .iter()
            .filter(|((s, route), _)| {
                *s == site
                    && git
                        == (route.contains("/info/refs")
                            || route.contains("git-upload-pack")
                            || route.contains("git-receive-pack"))
            })
            .map(|(_, c)| c)
            .sum()
    };
    let per = |c: u64| c as f64 / n as f64;
    let refs = emu.refs(Forge::Github, "acme/svc-0000").unwrap().len();
    println!("\nmigration of {n} repositories with history ({refs} refs each, GitLab → GitHub, emulated)\n");
    println!(
        "git transfer alone (clone --mirror + push --mirror): {}",
        secs(transfer)
    );
    println!(
        "drover migrate (create, mirror, push, verify, re-render, propose): {}",
        secs(migrate)
    );
    println!(
        "ratio: drover takes {:.2}× the time of the transfer alone",
        migrate.as_secs_f64() / transfer.as_secs_f64()
    );
    println!("\nrequests per repository, drover migrate:");
    println!(
        "  GitLab (source): {:.2} API, {:.2} git",
        per(count(Site::Gitlab, false)),
        per(count(Site::Gitlab, true))
    );
    println!(
        "  GitHub (target): {:.2} API, {:.2} git",
        per(count(Site::Github, false)),
        per(count(Site::Github, true))
    );
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}
