//! `drover migrate` between emulated forges, with real history: an
//! emulated GitLab group moves to sourcehut (re-rendered files committed
//! directly) and then on to GitHub (re-rendered files proposed); every
//! final repository is checked with the git CLI against the source. Also:
//! the dry-run plan (snapshot), a migration SIGKILLed at several points and
//! resumed, and a conflict on the target that leaves both sides alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use drover_emulator::{Emulator, EmulatorConfig, Forge, OwnerKind, ProposalState};

use crate::harness::{drover, rust, write_fleet, Run};

const GITLAB_TOKEN: &str = "glpat-migrationSourceToken1";
const SRHT_TOKEN: &str = "srht-migrationTargetToken2";
const GITHUB_TOKEN: &str = "ghp_migrationFinalToken3";

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GITLAB_TOKEN", GITLAB_TOKEN),
        ("SRHT_TOKEN", SRHT_TOKEN),
        ("GITHUB_TOKEN", GITHUB_TOKEN),
    ]
}

/// git with fixed identities and dates, so object ids repeat run to run.
#[track_caller]
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn write(dir: &Path, path: &str, bytes: &[u8]) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// A Rust service with history worth moving: branches, a merge commit,
/// lightweight and annotated tags, a binary file, a non-ASCII path, and
/// the GitLab CI of its current home.
fn history(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main", "."]);
    write(
        dir,
        "Cargo.toml",
        b"[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\naxum = \"0.8\"\n",
    );
    write(dir, "Cargo.lock", b"version = 4\n");
    write(dir, "src/main.rs", crate::harness::SERVICE_MAIN.as_bytes());
    write(dir, ".gitlab-ci.yml", b"test:\n  script: [cargo test]\n");
    write(
        dir,
        "assets/logo.png",
        &[0x89, b'P', b'N', b'G', 0, 1, 2, 255, 0],
    );
    write(dir, "docs/café ñ.md", "# Déjà vu\n".as_bytes());
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "first"]);
    git(dir, &["tag", "v0.1"]);
    git(dir, &["checkout", "-qb", "feature/login"]);
    write(dir, "src/login.rs", b"pub fn login() {}\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "login"]);
    git(dir, &["checkout", "-q", "main"]);
    write(dir, "README.md", b"# app\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "readme"]);
    git(
        dir,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge feature/login",
            "feature/login",
        ],
    );
    git(dir, &["tag", "-a", "v1.0", "-m", "release 1.0"]);
    git(dir, &["checkout", "-qb", "release/1.x", "v0.1"]);
    write(dir, "CHANGELOG", b"1.x\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "1.x"]);
    git(dir, &["checkout", "-q", "main"]);
}

/// Puts the local repository's branches and tags into an emulated one.
fn load_into(emu: &Emulator, forge: Forge, full_path: &str, local: &Path) {
    let git_dir = emu.git_dir(forge, full_path).unwrap();
    let src = local.to_str().unwrap().to_owned();
    git(
        &git_dir,
        &[
            "fetch",
            "-q",
            &src,
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        ],
    );
}

/// The emulated GitLab group `acme` with `app` (real history) and `lib`.
async fn world(scratch: &Path) -> Emulator {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Gitlab, "gitlabber", GITLAB_TOKEN)
        .unwrap();
    emu.create_token(Forge::Sourcehut, "acme", SRHT_TOKEN)
        .unwrap();
    emu.create_owner(Forge::Github, OwnerKind::Organization, "acme")
        .unwrap();
    emu.create_token(Forge::Github, "octo", GITHUB_TOKEN)
        .unwrap();
    emu.create_repo(
        Forge::Gitlab,
        "acme/app",
        rust("app").description("The app service"),
    )
    .unwrap();
    let local = scratch.join("app-src");
    std::fs::create_dir_all(&local).unwrap();
    history(&local);
    load_into(&emu, Forge::Gitlab, "acme/app", &local);
    emu.create_repo(Forge::Gitlab, "acme/lib", rust("lib").private())
        .unwrap();
    emu
}

fn gitlab_section(emu: &Emulator) -> String {
    format!(
        "  kind: gitlab\n  url: {}\n  owner: acme\n  token: env:GITLAB_TOKEN\n",
        emu.gitlab_url()
    )
}

fn sourcehut_section(emu: &Emulator) -> String {
    format!(
        "  kind: sourcehut\n  url: {}\n  lists_url: {}\n  owner: acme\n  token: env:SRHT_TOKEN\n",
        emu.srht_git_url(),
        emu.srht_lists_url()
    )
}

fn github_section(emu: &Emulator) -> String {
    format!(
        "  kind: github\n  url: {}\n  owner: acme\n  token: env:GITHUB_TOKEN\n",
        emu.github_url()
    )
}

/// fleet.yaml moving from `from` to `to`, with comments that must survive.
fn fleet(dir: &Path, from: &str, to: &str) {
    write_fleet(
        dir,
        &format!(
            "# The acme fleet.\nforge:\n{from}\n# Where it goes next.\nmigrate_to:\n{to}\ndefaults:\n  labels: [drover]  # ours\n  author:\n    name: drover\n    email: drover@example.com\n"
        ),
    );
}

async fn migrate(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["migrate"];
    all.extend_from_slice(args);
    drover(dir, &all, &env()).await
}

/// `for-each-ref` of a bare repository: `name oid` lines.
fn refs_of(git_dir: &Path) -> Vec<(String, String)> {
    git(
        git_dir,
        &["for-each-ref", "--format=%(refname) %(objectname)"],
    )
    .lines()
    .map(|l| {
        let (name, oid) = l.split_once(' ').unwrap();
        (name.to_owned(), oid.to_owned())
    })
    .collect()
}

/// Every object reachable from a ref (unreachable leftovers are not
/// history).
fn objects_of(git_dir: &Path) -> Vec<String> {
    git(git_dir, &["rev-list", "--objects", "--all"])
        .lines()
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect()
}

/// `git fsck --full --strict` passes on a bare repository.
#[track_caller]
fn fsck(git_dir: &Path) {
    let out = Command::new("git")
        .args(["fsck", "--full", "--strict"])
        .current_dir(git_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        git_dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tree_of(git_dir: &Path, rev: &str) -> Vec<String> {
    git(git_dir, &["ls-tree", "-r", "--name-only", "-z", rev])
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn srht(emu: &Emulator, name: &str) -> PathBuf {
    emu.git_dir(Forge::Sourcehut, &format!("~acme/{name}"))
        .or_else(|_| emu.git_dir(Forge::Sourcehut, &format!("acme/{name}")))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitlab_group_moves_to_sourcehut_then_github_with_every_ref_and_object() {
    let scratch = tempfile::tempdir().unwrap();
    let emu = world(scratch.path()).await;
    // An empty project moves too: created, nothing to push.
    emu.create_repo(
        Forge::Gitlab,
        "acme/placeholder",
        drover_emulator::RepoSeed::default().empty(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &gitlab_section(&emu), &sourcehut_section(&emu));
    // `app` carries the Deployment drover renders for it on GitLab, in
    // line there: its image names GitLab's registry, a forge link the move
    // must rewrite.
    let rendered = scratch.path().join("rendered");
    let run = drover(
        dir.path(),
        &[
            "render",
            "--repo",
            "app",
            "--out",
            rendered.to_str().unwrap(),
        ],
        &env(),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let deployment = std::fs::read(rendered.join("deploy/k8s/deployment.yaml")).unwrap();
    assert!(String::from_utf8_lossy(&deployment).contains("image: registry."));
    let local = scratch.path().join("app-src");
    write(&local, "deploy/k8s/deployment.yaml", &deployment);
    git(&local, &["add", "-A"]);
    git(&local, &["commit", "-qm", "deployment"]);
    load_into(&emu, Forge::Gitlab, "acme/app", &local);
    let source = emu.git_dir(Forge::Gitlab, "acme/app").unwrap();
    let source_refs = refs_of(&source);
    let source_objects = objects_of(&source);
    assert!(source_refs.len() >= 5, "{source_refs:?}");

    // Hop 1: GitLab → sourcehut, re-rendered files committed directly.
    let run = migrate(dir.path(), &["--direct"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("3 migrated"), "{}", run.stdout);
    assert!(refs_of(&srht(&emu, "placeholder")).is_empty());
    let text = std::fs::read_to_string(dir.path().join("fleet.yaml")).unwrap();
    assert!(text.contains("# The acme fleet.") && text.contains("labels: [drover]  # ours"));
    assert!(!text.contains("migrate_to"), "{text}");
    assert!(text.contains("kind: sourcehut"), "{text}");
    let again = migrate(dir.path(), &[]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("nothing to migrate"),
        "{}",
        again.stdout
    );

    let hop1 = srht(&emu, "app");
    let main1 = git(&hop1, &["rev-parse", "refs/heads/main"]);
    let source_main = git(&source, &["rev-parse", "refs/heads/main"]);
    assert_eq!(
        git(&hop1, &["rev-parse", &format!("{main1}^")]),
        source_main,
        "one commit with the re-rendered files on the source's main"
    );
    let files = tree_of(&hop1, "main");
    assert!(files.contains(&".build.yml".to_owned()), "{files:?}");
    assert!(!files.contains(&".gitlab-ci.yml".to_owned()), "{files:?}");
    assert!(
        !files.contains(&"Dockerfile".to_owned()),
        "only forge-dependent files are re-rendered: {files:?}"
    );
    let image = |git_dir: &Path, rev: &str| {
        git(
            git_dir,
            &["show", &format!("{rev}:deploy/k8s/deployment.yaml")],
        )
        .lines()
        .find(|l| l.trim_start().starts_with("image:"))
        .unwrap()
        .trim()
        .to_owned()
    };
    assert_eq!(image(&hop1, "main"), "image: docker.io/acme/app:latest");
    let message = git(&hop1, &["log", "-1", "--format=%B", "main"]);
    assert!(
        message.contains("- write .build.yml") && message.contains("- remove .gitlab-ci.yml"),
        "the commit says what it does: {message}"
    );

    // Hop 2: sourcehut → GitHub, re-rendered files proposed.
    let text = std::fs::read_to_string(dir.path().join("fleet.yaml")).unwrap();
    std::fs::write(
        dir.path().join("fleet.yaml"),
        format!("{text}migrate_to:\n{}", github_section(&emu)),
    )
    .unwrap();
    let run = migrate(dir.path(), &["--archive-source"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("3 migrated"), "{}", run.stdout);
    assert!(std::fs::read_to_string(dir.path().join("fleet.yaml"))
        .unwrap()
        .contains("kind: github"));

    let last = emu.git_dir(Forge::Github, "acme/app").unwrap();
    fsck(&last);
    // Exactly the source's refs: main one re-render commit further, and
    // drover's proposal branch beside them.
    let mut expected: Vec<(String, String)> = source_refs
        .iter()
        .map(|(n, o)| {
            if n == "refs/heads/main" {
                (n.clone(), main1.clone())
            } else {
                (n.clone(), o.clone())
            }
        })
        .collect();
    let branch = git(&last, &["rev-parse", "refs/heads/drover/sync"]);
    expected.push(("refs/heads/drover/sync".into(), branch.clone()));
    expected.sort();
    let mut got = refs_of(&last);
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(
        git(&last, &["cat-file", "-t", "refs/tags/v1.0"]),
        "tag",
        "the annotated tag stays annotated"
    );
    let final_objects: std::collections::BTreeSet<String> = objects_of(&last).into_iter().collect();
    let missing: Vec<&String> = source_objects
        .iter()
        .filter(|o| !final_objects.contains(*o))
        .collect();
    assert!(missing.is_empty(), "objects lost on the way: {missing:?}");
    assert_eq!(
        git(&last, &["cat-file", "-p", "main:assets/logo.png"]).len(),
        git(&source, &["cat-file", "-p", "main:assets/logo.png"]).len()
    );
    assert!(tree_of(&last, "main").contains(&"docs/café ñ.md".to_owned()));

    // CI for the final forge, none for the old ones, on the proposal.
    let proposed = tree_of(&last, "refs/heads/drover/sync");
    assert!(
        proposed.contains(&".github/workflows/ci.yml".to_owned()),
        "{proposed:?}"
    );
    assert_eq!(
        image(&last, "refs/heads/drover/sync"),
        "image: ghcr.io/acme/app:latest",
        "the registry link follows the repository"
    );
    assert!(!proposed.contains(&".build.yml".to_owned()), "{proposed:?}");
    assert!(
        !proposed.contains(&".gitlab-ci.yml".to_owned()),
        "{proposed:?}"
    );
    let pulls = emu.proposals(Forge::Github, "acme/app").unwrap();
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].state, ProposalState::Open);

    // The same for every final repository.
    for name in ["lib", "placeholder"] {
        let source = emu.git_dir(Forge::Gitlab, &format!("acme/{name}")).unwrap();
        let last = emu.git_dir(Forge::Github, &format!("acme/{name}")).unwrap();
        fsck(&last);
        let want = refs_of(&source);
        let got: Vec<(String, String)> = refs_of(&last)
            .into_iter()
            .filter(|(n, _)| n != "refs/heads/drover/sync")
            .collect();
        assert_eq!(got.len(), want.len(), "{name}: {got:?} vs {want:?}");
        for (n, oid) in &want {
            let there = git(&last, &["rev-parse", n]);
            if n == "refs/heads/main" {
                assert_eq!(
                    &git(&last, &["rev-parse", &format!("{there}^")]),
                    oid,
                    "{name}"
                );
            } else {
                assert_eq!(&there, oid, "{name}: {n}");
            }
        }
        if want.is_empty() {
            continue;
        }
        let proposed = tree_of(&last, "refs/heads/drover/sync");
        assert!(
            proposed.contains(&".github/workflows/ci.yml".to_owned()),
            "{name}: {proposed:?}"
        );
        assert!(
            !proposed.contains(&".build.yml".to_owned()),
            "{name}: {proposed:?}"
        );
        assert!(
            !proposed.contains(&".gitlab-ci.yml".to_owned()),
            "{name}: {proposed:?}"
        );
    }

    // Visibility and description travel: `lib` stays private, `app`
    // public with its words.
    let app = emu.repo(Forge::Github, "acme/app").unwrap();
    assert_eq!(app.description.as_deref(), Some("The app service"));
    assert_eq!(format!("{:?}", app.visibility), "Public");
    let lib = emu.repo(Forge::Github, "acme/lib").unwrap();
    assert_eq!(format!("{:?}", lib.visibility), "Private");

    // The sourcehut source says where it went; nothing on it was deleted.
    let moved = emu
        .repo(Forge::Sourcehut, "~acme/app")
        .or_else(|| emu.repo(Forge::Sourcehut, "acme/app"))
        .unwrap();
    assert!(
        moved
            .description
            .as_deref()
            .unwrap_or("")
            .ends_with("acme/app — The app service"),
        "{:?}",
        moved.description
    );
    assert_eq!(git(&hop1, &["rev-parse", "refs/heads/main"]), main1);

    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(".drover/migration-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["fleet_updated"], true);
    // Every request drover made, checked against the forges' own API
    // descriptions and GraphQL schemas.
    emu.assert_conformant();
    let secrets = [GITLAB_TOKEN, SRHT_TOKEN, GITHUB_TOKEN];
    for s in secrets {
        assert!(!run.stdout.contains(s) && !run.stderr.contains(s));
        crate::harness::assert_absent_under(&dir.path().join(".drover"), s);
    }
}

/// The plan with the emulator's addresses and the sizes (pack layout
/// varies) taken out.
fn redacted(emu: &Emulator, text: &str) -> String {
    let sized = regex_lite_sizes(text);
    sized
        .replace(emu.gitlab_url(), "[gitlab]")
        .replace(emu.github_url(), "[github]")
        .replace(emu.srht_git_url(), "[git.sr.ht]")
}

fn regex_lite_sizes(text: &str) -> String {
    text.lines()
        .map(|l| match l.rfind(" commits, ") {
            Some(i) => format!("{} commits, [size]", &l[..i]),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_plans_and_a_conflict_leaves_both_sides_untouched() {
    let scratch = tempfile::tempdir().unwrap();
    let emu = world(scratch.path()).await;
    // A subgroup project: GitHub has no `/` in names.
    emu.create_repo(Forge::Gitlab, "acme/backend/ledger", rust("ledger"))
        .unwrap();
    // `lib` is taken on GitHub by a repository with other history.
    emu.create_repo(Forge::Github, "acme/lib", rust("someone-elses-lib"))
        .unwrap();
    let taken = emu.git_dir(Forge::Github, "acme/lib").unwrap();
    let taken_refs = refs_of(&taken);
    let source_lib = emu.git_dir(Forge::Gitlab, "acme/lib").unwrap();
    let source_lib_refs = refs_of(&source_lib);
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &gitlab_section(&emu), &github_section(&emu));
    let fleet_before = std::fs::read_to_string(dir.path().join("fleet.yaml")).unwrap();

    let wrong = migrate(dir.path(), &["--dry-run", "--to", "sourcehut"]).await;
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains("migrate_to: is github"),
        "{}",
        wrong.stderr
    );
    let plan = migrate(dir.path(), &["--dry-run", "--to", "github"]).await;
    assert_eq!(
        plan.code, 3,
        "conflicts make a partial plan: {}",
        plan.stderr
    );
    insta::assert_snapshot!("migration_plan", redacted(&emu, &plan.stdout));
    assert!(
        emu.repo(Forge::Github, "acme/app").is_none(),
        "a dry run creates nothing"
    );

    let run = migrate(dir.path(), &[]).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("1 migrated"), "{}", run.stdout);
    assert!(run.stdout.contains("2 conflicts"), "{}", run.stdout);
    assert_eq!(refs_of(&taken), taken_refs, "the taken target is untouched");
    assert_eq!(
        refs_of(&source_lib),
        source_lib_refs,
        "the source is untouched"
    );
    assert_eq!(emu.proposals(Forge::Github, "acme/lib").unwrap().len(), 0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("fleet.yaml")).unwrap(),
        fleet_before,
        "fleet.yaml keeps its forge while repositories are not through"
    );
    assert!(emu.repo(Forge::Github, "acme/app").is_some());
}

/// Runs `drover migrate ARGS` once uninterrupted, then, for each of
/// `cuts` fractions of its request count, on a fresh world: SIGKILL after
/// that many requests, the same command again, and the end state compared
/// with the uninterrupted run's.
async fn kill_and_resume(args: &[&str], cuts: &[f64]) {
    let scratch = tempfile::tempdir().unwrap();
    let reference = world(scratch.path()).await;
    let dir = tempfile::tempdir().unwrap();
    fleet(
        dir.path(),
        &gitlab_section(&reference),
        &github_section(&reference),
    );
    reference.reset_counters();
    let run = migrate(dir.path(), args).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let total = reference.total_requests();
    let direct = args.contains(&"--direct");
    let archive = args.contains(&"--archive-source");
    let main_tree = |emu: &Emulator| {
        git(
            &emu.git_dir(Forge::Github, "acme/app").unwrap(),
            &["rev-parse", "refs/heads/main^{tree}"],
        )
    };
    let want_tree = main_tree(&reference);

    for cut in cuts {
        let after = ((total as f64) * cut).round() as u64;
        let scratch = tempfile::tempdir().unwrap();
        let emu = world(scratch.path()).await;
        emu.faults().add(drover_emulator::FaultRule::new(
            drover_emulator::Fault::Latency { millis: 20 },
        ));
        let dir = tempfile::tempdir().unwrap();
        fleet(dir.path(), &gitlab_section(&emu), &github_section(&emu));
        emu.reset_counters();
        let mut child = Command::new(env!("CARGO_BIN_EXE_drover"))
            .arg("migrate")
            .args(args)
            .current_dir(dir.path())
            .env("DROVER_STATE_DIR", dir.path().join(".drover"))
            .envs(env())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        while emu.total_requests() < after && child.try_wait().unwrap().is_none() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let _ = child.kill();
        let killed = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        eprintln!(
            "{args:?}: killed after {after} of {total} requests: cut {}",
            !killed.success()
        );
        emu.faults().set(Vec::new());

        let next = migrate(dir.path(), args).await;
        assert_eq!(
            next.code, 0,
            "resumed after {after} requests: {}\n{}",
            next.stdout, next.stderr
        );
        for name in ["app", "lib"] {
            let source = emu.git_dir(Forge::Gitlab, &format!("acme/{name}")).unwrap();
            let target = emu.git_dir(Forge::Github, &format!("acme/{name}")).unwrap();
            let source_main = git(&source, &["rev-parse", "refs/heads/main"]);
            let mut want = refs_of(&source);
            let mut got: Vec<(String, String)> = refs_of(&target)
                .into_iter()
                .filter(|(n, _)| n != "refs/heads/drover/sync")
                .collect();
            if direct {
                // main is one re-render commit on the source's main.
                let main = git(&target, &["rev-parse", "refs/heads/main"]);
                assert_eq!(
                    git(&target, &["rev-parse", &format!("{main}^")]),
                    source_main,
                    "after {after}: {name}: exactly one commit on the source's main"
                );
                want.retain(|(n, _)| n != "refs/heads/main");
                got.retain(|(n, _)| n != "refs/heads/main");
            }
            want.sort();
            got.sort();
            assert_eq!(got, want, "after {after}: {name}'s refs");
            let pulls = emu
                .proposals(Forge::Github, &format!("acme/{name}"))
                .unwrap();
            assert_eq!(
                pulls.len(),
                usize::from(!direct),
                "after {after}: {name}'s proposals: {pulls:#?}"
            );
            let source_repo = emu.repo(Forge::Gitlab, &format!("acme/{name}")).unwrap();
            assert_eq!(
                source_repo.archived, archive,
                "after {after}: {name} archived"
            );
        }
        assert_eq!(
            main_tree(&emu),
            want_tree,
            "after {after}: the same files as an uninterrupted run"
        );
        let fleet_text = std::fs::read_to_string(dir.path().join("fleet.yaml")).unwrap();
        assert!(fleet_text.contains("kind: github") && !fleet_text.contains("migrate_to"));
        let mut again = args.to_vec();
        again.extend(["--to", "github"]);
        let done = migrate(dir.path(), &again).await;
        assert_eq!(done.code, 0, "{}", done.stderr);
        assert!(
            done.stdout.contains("nothing to migrate"),
            "{}",
            done.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_killed_at_any_point_is_finished_by_the_next_run() {
    kill_and_resume(&[], &[0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_migration_that_archives_is_resumable_too() {
    kill_and_resume(
        &["--direct", "--archive-source"],
        &[0.15, 0.4, 0.6, 0.8, 0.95],
    )
    .await;
}
