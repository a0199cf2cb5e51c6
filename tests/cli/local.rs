//! The local forge, end to end, on the shipped examples.

use serde_json::Value;

use crate::harness::{git, Fleet};

fn plan_json(fleet: &Fleet) -> Value {
    let run = fleet.drover(&["plan", "--json"]).ok();
    serde_json::from_str(&run.stdout).unwrap()
}

fn repo<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap()
}

fn drifted_paths(plan: &Value, name: &str) -> Vec<(String, String)> {
    repo(plan, name)["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_owned(),
                d["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn plan_shows_how_each_example_has_drifted() {
    let fleet = Fleet::plain();
    let plan = plan_json(&fleet);
    let state = |n: &str| repo(&plan, n)["state"].as_str().unwrap().to_owned();
    assert_eq!(state("billing-api"), "drifted");
    assert_eq!(state("ledger"), "drifted");
    assert_eq!(state("web-frontend"), "drifted");
    assert_eq!(state("inventory"), "in_line");
    assert_eq!(state("design-docs"), "skipped");
    assert!(repo(&plan, "design-docs")["reason"]
        .as_str()
        .unwrap()
        .contains("no policy matches"));

    assert!(drifted_paths(&plan, "billing-api").contains(&("Dockerfile".into(), "create".into())));
    let skipped = &repo(&plan, "billing-api")["skipped_files"][0];
    assert_eq!(skipped["path"], "deploy/k8s/hpa.yaml");
    assert!(skipped["reason"].as_str().unwrap().contains("KEDA"));
    assert_eq!(
        drifted_paths(&plan, "ledger"),
        [(".gitlab-ci.yml".to_owned(), "delete".to_owned())]
    );
    assert_eq!(
        drifted_paths(&plan, "web-frontend"),
        [(".dockerignore".to_owned(), "update".to_owned())]
    );

    // The human form: a table, then the diffs, then totals.
    let text = fleet.drover(&["plan"]).ok().stdout;
    assert!(text.starts_with("REPOSITORY"), "{text}");
    assert!(text.contains("── local/ledger ──"), "{text}");
    assert!(text.contains("deleted file mode 100644"), "{text}");
    assert!(
        text.contains("5 repositories: 1 in line, 3 drifted, 1 skipped, 0 failed"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no colours when not on a terminal"
    );

    assert_eq!(fleet.drover(&["plan", "--exit-code"]).code, 2);
    assert_eq!(
        fleet
            .drover(&["plan", "--exit-code", "--repo", "inventory"])
            .code,
        0
    );
    let run = fleet.drover(&["plan", "--repo", "nope"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("no repository named `nope`"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_block_edit_diff_touches_only_the_block() {
    let fleet = Fleet::plain();
    let plan = plan_json(&fleet);
    let diff = repo(&plan, "web-frontend")["drift"][0]["diff"]
        .as_str()
        .unwrap()
        .to_owned();
    for line in diff
        .lines()
        .filter(|l| l.starts_with(['+', '-']) && !l.starts_with("+++") && !l.starts_with("---"))
    {
        assert!(
            !line.contains("coverage-reports"),
            "the repository's own lines are not ours: {diff}"
        );
    }
}

#[test]
fn sweep_commits_once_on_drovers_branch_and_a_second_sweep_is_a_no_op() {
    let fleet = Fleet::git();
    let plan = plan_json(&fleet);
    let heads: Vec<(String, String)> = fleet
        .repos()
        .iter()
        .map(|r| {
            (
                r.file_name().unwrap().to_string_lossy().into_owned(),
                git(r, &["rev-parse", "main"]),
            )
        })
        .collect();

    let run = fleet.drover(&["sweep"]).ok();
    assert!(
        run.stdout.contains("billing-api: drifted"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("opened"), "{}", run.stdout);

    for (name, head) in &heads {
        let dir = fleet.repo(name);
        assert_eq!(
            &git(&dir, &["rev-parse", "main"]),
            head,
            "{name}: the default branch was written"
        );
        assert_eq!(
            git(&dir, &["status", "--porcelain"]),
            "",
            "{name}: the work tree was touched"
        );
        assert_eq!(git(&dir, &["symbolic-ref", "HEAD"]), "refs/heads/main");
        let drift = drifted_paths(&plan, name);
        if drift.is_empty() {
            assert_eq!(
                git(&dir, &["branch", "--list", "drover/sync"]),
                "",
                "{name}: no branch when in line"
            );
            continue;
        }
        assert_eq!(
            git(&dir, &["rev-list", "--count", "main..drover/sync"]),
            "1",
            "{name}: one commit"
        );
        assert_eq!(
            &git(&dir, &["rev-parse", "drover/sync^"]),
            head,
            "{name}: based on the default branch head"
        );
        assert_eq!(
            git(&dir, &["log", "-1", "--format=%an <%ae>", "drover/sync"]),
            "drover <drover@users.noreply.localhost>"
        );
        let changed = git(&dir, &["diff", "--name-status", "main", "drover/sync"]);
        let mut got: Vec<(String, String)> = changed
            .lines()
            .map(|l| {
                let (s, p) = l.split_once('\t').unwrap();
                let change = match s {
                    "A" => "create",
                    "M" => "update",
                    "D" => "delete",
                    other => other,
                };
                (p.to_owned(), change.to_owned())
            })
            .collect();
        got.sort();
        let mut want = drift.clone();
        want.sort();
        assert_eq!(
            got, want,
            "{name}: the commit changes exactly the drifted files"
        );
        let message = git(&dir, &["log", "-1", "--format=%B", "drover/sync"]);
        assert!(message.contains("Template revision:"), "{message}");
    }

    // The branch now holds the desired files: rendering them again matches.
    let dockerfile = git(
        &fleet.repo("billing-api"),
        &["show", "drover/sync:Dockerfile"],
    );
    let rendered = fleet.root().join("rendered");
    fleet
        .drover(&[
            "render",
            "--repo",
            "billing-api",
            "--out",
            rendered.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(
        dockerfile,
        std::fs::read_to_string(rendered.join("Dockerfile"))
            .unwrap()
            .trim_end()
    );

    let tips = |f: &Fleet| -> Vec<String> {
        f.repos()
            .iter()
            .map(|r| git(r, &["for-each-ref", "--format=%(refname) %(objectname)"]))
            .collect()
    };
    let before = tips(&fleet);
    let run = fleet.drover(&["sweep"]).ok();
    assert!(
        !run.stdout.contains("opened") && !run.stdout.contains("updated"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("unchanged"), "{}", run.stdout);
    assert_eq!(
        tips(&fleet),
        before,
        "a second sweep with the same drift wrote nothing"
    );

    // The store remembers: the in-line repository, unchanged since, is not read again.
    let run = fleet.drover(&["sweep", "--json"]).ok();
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        repo(&report, "inventory")["unchanged"],
        true,
        "{}",
        run.stdout
    );
    assert!(
        repo(&report, "ledger").get("unchanged").is_none(),
        "drifted repositories are re-read"
    );
    assert_eq!(tips(&fleet), before);
}

#[test]
fn commits_by_someone_else_on_drovers_branch_mean_hands_off() {
    let fleet = Fleet::git();
    fleet.drover(&["sweep"]).ok();
    let dir = fleet.repo("ledger");
    git(&dir, &["checkout", "-q", "drover/sync"]);
    std::fs::write(dir.join("NOTES"), "mine\n").unwrap();
    git(&dir, &["add", "NOTES"]);
    git(&dir, &["commit", "-q", "-m", "reviewer's fix"]);
    git(&dir, &["checkout", "-q", "main"]);
    let tip = git(&dir, &["rev-parse", "drover/sync"]);
    // New drift in the same repository would normally update the branch.
    std::fs::write(dir.join("go.sum"), "").unwrap();
    let run = fleet.drover(&["sweep"]).ok();
    assert!(
        run.stdout.contains("ledger: drifted (1 file) → hands off"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Dev <dev@example.com>"),
        "{}",
        run.stdout
    );
    assert_eq!(git(&dir, &["rev-parse", "drover/sync"]), tip);
}

#[test]
fn sweep_writes_patches_that_git_apply_accepts_for_plain_directories() {
    let fleet = Fleet::plain();
    let run = fleet.drover(&["sweep"]).ok();
    assert!(run.stdout.contains("opened"), "{}", run.stdout);
    let patches = fleet.root().join(".drover/patches");
    for name in ["billing-api", "ledger", "web-frontend"] {
        let patch = patches.join(format!("{name}.patch"));
        assert!(patch.is_file(), "{name}: no patch");
        let dir = fleet.repo(name);
        let out = std::process::Command::new("git")
            .args(["apply", "--verbose"])
            .arg(&patch)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: git apply: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!patches.join("inventory.patch").exists());
    // Applied, every repository is in line; the next sweep proposes nothing.
    let plan = plan_json(&fleet);
    for name in ["billing-api", "ledger", "web-frontend", "inventory"] {
        assert_eq!(repo(&plan, name)["state"], "in_line", "{name}");
    }
}

#[test]
fn a_second_plain_sweep_leaves_patches_alone() {
    let fleet = Fleet::plain();
    fleet.drover(&["sweep"]).ok();
    let patch = fleet.root().join(".drover/patches/ledger.patch");
    let before = std::fs::metadata(&patch).unwrap().modified().unwrap();
    let run = fleet.drover(&["sweep"]).ok();
    assert!(!run.stdout.contains("opened"), "{}", run.stdout);
    assert_eq!(
        std::fs::metadata(&patch).unwrap().modified().unwrap(),
        before
    );
}

#[test]
fn dry_run_writes_nothing() {
    let fleet = Fleet::git();
    let run = fleet.drover(&["sweep", "--dry-run"]).ok();
    assert!(run.stdout.contains("would propose"), "{}", run.stdout);
    for dir in fleet.repos() {
        assert_eq!(git(&dir, &["branch", "--list", "drover/sync"]), "");
    }
    assert!(!fleet.root().join(".drover").exists());
}

#[test]
fn check_passes_on_the_examples_and_fails_on_bad_input() {
    let fleet = Fleet::plain();
    let run = fleet.drover(&["check"]).ok();
    assert!(run.stdout.contains("0 with errors"), "{}", run.stdout);

    let bad = [
        (
            "forge:\n  kind: local\n  path: examples\n  colour: blue\n",
            "fleet.yaml:4:3: forge: unknown field `colour`",
        ),
        (
            "forge:\n  kind: github\n  owner: acme\n  token: ghp_abc123\n",
            "fleet.yaml:4:10: forge.token: a literal secret",
        ),
        (
            "forge: [\n",
            "fleet.yaml:2:1: did not find expected node content, while parsing a flow node",
        ),
        (
            "forge: [local]\n",
            "fleet.yaml:1:8: forge: invalid type: sequence, expected struct ForgeSection",
        ),
        (
            "forge:\n  kind: local\n  path: \"unterminated\n",
            "fleet.yaml:4:1: found unexpected end of stream, while scanning a quoted scalar",
        ),
    ];
    for (text, want) in bad {
        std::fs::write(fleet.root().join("fleet.yaml"), text).unwrap();
        let run = fleet.drover(&["check"]);
        assert_eq!(run.code, 1, "{text}");
        assert!(run.stderr.contains(want), "{text}\n→ {}", run.stderr);
        assert!(!run.stderr.contains("ghp_abc123"));
        assert_eq!(
            run.stderr.lines().count(),
            1,
            "one clear error line: {}",
            run.stderr
        );
    }
}

#[test]
fn bad_templates_and_policies_are_reported_with_file_and_line() {
    let fleet = Fleet::plain();
    let root = fleet.root();
    fleet.eject_defaults();
    let dockerfile = root.join("templates/rust/Dockerfile");
    let original = std::fs::read_to_string(&dockerfile).unwrap();

    std::fs::write(
        &dockerfile,
        format!("{original}\nLABEL x={{{{ vars.not_there }}}}\n"),
    )
    .unwrap();
    let run = fleet.drover(&["check"]);
    assert_eq!(run.code, 1);
    let line = original.lines().count() + 2;
    assert!(
        run.stderr.contains(&format!(
            "templates/rust/Dockerfile:{line}: variable `vars.not_there` is not defined"
        )),
        "{}",
        run.stderr
    );

    std::fs::write(&dockerfile, &original).unwrap();
    let policy = root.join("policies/rust.yaml");
    let text = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(
        &policy,
        text.replacen(
            "template: rust/Dockerfile",
            "template: rust/Dockerfile.missing",
            1,
        ),
    )
    .unwrap();
    let run = fleet.drover(&["check"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("policies/rust.yaml:"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("template `rust/Dockerfile.missing` not found"),
        "{}",
        run.stderr
    );

    std::fs::write(
        &policy,
        text.replacen("path: Dockerfile", "path: ../Dockerfile", 1),
    )
    .unwrap();
    let run = fleet.drover(&["check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("may not leave or re-enter the repository"),
        "{}",
        run.stderr
    );
}

#[test]
fn symlinked_destinations_fail_that_repository_only() {
    let fleet = Fleet::plain();
    let outside = fleet.root().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let deploy = fleet.repo("billing-api").join("deploy");
    std::fs::remove_dir_all(&deploy).unwrap();
    std::os::unix::fs::symlink(&outside, &deploy).unwrap();
    let run = fleet.drover(&["sweep"]);
    assert_eq!(run.code, 3, "some repositories failed: {}", run.stdout);
    assert!(
        run.stdout
            .contains("refusing to write through symlink `deploy`"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ledger: drifted"), "{}", run.stdout);
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written outside"
    );
}

/// Without `state_dir:`, the store goes to the user's state directory (one
/// per fleet), or to systemd's `$STATE_DIRECTORY`; `--state-dir` wins over
/// all of them, fleet.yaml's `state_dir:` included.
#[test]
fn the_store_lives_in_the_user_state_directory_unless_told_otherwise() {
    let fleet = Fleet::git();
    let yaml = fleet.root().join("fleet.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, text.replace("state_dir: .drover\n", "")).unwrap();
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("state");
    let sweep = |extra: &[&str], env: &[(&str, &std::path::Path)]| {
        let mut cmd = std::process::Command::new(crate::harness::DROVER);
        cmd.arg("sweep")
            .args(extra)
            .current_dir(fleet.root())
            .env_remove("DROVER_CONFIG")
            .env_remove("DROVER_STATE_DIR")
            .env_remove("STATE_DIRECTORY")
            .env("HOME", home.path())
            .env("XDG_STATE_HOME", &state);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    sweep(&[], &[]);
    let fleets: Vec<String> = std::fs::read_dir(state.join("drover"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(fleets.len(), 1, "{fleets:?}");
    assert!(fleets[0].starts_with("local-"), "{fleets:?}");
    assert!(state.join("drover").join(&fleets[0]).join("store").is_dir());
    assert!(!fleet.root().join(".drover").exists());

    let unit = home.path().join("var-lib-drover");
    sweep(&[], &[("STATE_DIRECTORY", &unit)]);
    assert!(unit.join("store").is_dir());

    let flag = home.path().join("flag");
    std::fs::write(
        &yaml,
        std::fs::read_to_string(&yaml).unwrap() + "state_dir: elsewhere\n",
    )
    .unwrap();
    sweep(
        &["--state-dir", flag.to_str().unwrap()],
        &[("STATE_DIRECTORY", &unit)],
    );
    assert!(flag.join("store").is_dir());
    assert!(!fleet.root().join("elsewhere").exists());
    sweep(&[], &[("STATE_DIRECTORY", &unit)]);
    assert!(fleet.root().join("elsewhere/store").is_dir());
}

#[test]
fn templates_reading_the_environment_or_looping_forever_are_refused() {
    let fleet = Fleet::plain();
    let root = fleet.root();
    fleet.eject_defaults();
    let dockerfile = root.join("templates/rust/Dockerfile");
    let original = std::fs::read_to_string(&dockerfile).unwrap();
    let canary = [("DROVER_CANARY_TOKEN", "ghp_canary_4f1e")];

    std::fs::write(
        &dockerfile,
        format!("{original}LABEL t={{{{ get_env(name=\"DROVER_CANARY_TOKEN\") }}}}\n"),
    )
    .unwrap();
    let line = original.lines().count() + 1;
    for command in [
        &["check"][..],
        &["plan"],
        &["sweep"],
        &["render", "--repo", "billing-api", "--out", "out"],
    ] {
        let run = fleet.drover_with(command, &canary);
        assert_eq!(run.code, 1, "{command:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "templates/rust/Dockerfile:{line}: get_env is not available"
            )),
            "{command:?}: {}",
            run.stderr
        );
        assert!(!run.stdout.contains("ghp_canary") && !run.stderr.contains("ghp_canary"));
    }
    assert!(!root.join(".drover").exists(), "nothing proposed");
    assert!(!root.join("out").exists(), "nothing rendered");

    // A template including itself: refused with its chain, not a stack
    // overflow.
    std::fs::write(
        &dockerfile,
        format!("{original}{{% include \"rust/Dockerfile\" %}}\n"),
    )
    .unwrap();
    let run = fleet.drover(&["check"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("templates call themselves without end: rust/Dockerfile → rust/Dockerfile"),
        "{}",
        run.stderr
    );
}

/// Writes `files` as a plain-directory repository of the fleet.
fn shape(fleet: &Fleet, name: &str, files: &[(&str, &str)]) {
    for (path, text) in files {
        let full = fleet.repo(name).join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
}

#[test]
fn proposals_follow_the_repositorys_kind_facts_and_hand_written_files() {
    let fleet = Fleet::plain();
    // A library: CI without --locked (no Cargo.lock), no image, no Kubernetes.
    shape(
        &fleet,
        "rlib",
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"rlib\"\nversion = \"0.1.0\"\n",
            ),
            ("src/lib.rs", "pub fn f() {}\n"),
        ],
    );
    // Two binaries, none named like the repository: the image does not fit.
    shape(
        &fleet,
        "twobins",
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"twobins\"\nversion = \"0.1.0\"\n",
            ),
            ("Cargo.lock", "version = 4\n"),
            ("src/bin/a.rs", "fn main() {}\n"),
            ("src/bin/b.rs", "fn main() {}\n"),
        ],
    );
    // A command-line tool with its own hand-written CI: kept and reported;
    // its binary has another name than the repository.
    shape(&fleet, "tool", &[
        ("Cargo.toml", "[package]\nname = \"tool\"\nversion = \"0.1.0\"\n[[bin]]\nname = \"toolctl\"\npath = \"src/main.rs\"\n"),
        ("Cargo.lock", "version = 4\n"),
        ("src/main.rs", "fn main() {}\n"),
        (".github/workflows/ci.yml", "name: ours\non: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: cargo test\n"),
    ]);
    let run = fleet.drover(&["plan", "--json"]);
    let plan: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    let repo = |name: &str| {
        plan["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()
            .clone()
    };
    let files = |r: &serde_json::Value| -> Vec<String> {
        r["drift"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["path"].as_str().unwrap().to_owned())
            .collect()
    };

    let rlib = repo("rlib");
    assert_eq!(rlib["kind"], "library");
    assert_eq!(rlib["facts"]["rust"]["lib"], true);
    assert_eq!(files(&rlib), [".github/workflows/ci.yml"], "{rlib}");
    let ci = &rlib["drift"][0]["diff"].as_str().unwrap();
    assert!(
        ci.contains("+        run: cargo test\n") && !ci.contains("--locked"),
        "{ci}"
    );
    assert!(!ci.contains("image:"), "no image job for a library: {ci}");

    let two = repo("twobins");
    assert_eq!(two["state"], "misfit", "{two}");
    assert!(
        two["reason"]
            .as_str()
            .unwrap()
            .contains("Dockerfile: several binary targets (a, b)"),
        "{two}"
    );
    assert!(two["drift"].as_array().unwrap().is_empty());

    let tool = repo("tool");
    assert_eq!(tool["kind"], "cli");
    assert_eq!(tool["takeovers"][0]["path"], ".github/workflows/ci.yml");
    assert_eq!(tool["takeovers"][0]["action"], "kept");
    assert_eq!(files(&tool), ["Dockerfile", ".dockerignore"], "{tool}");
    let docker = tool["drift"][0]["diff"].as_str().unwrap();
    assert!(
        docker.contains("--bin toolctl") && !docker.contains("EXPOSE"),
        "{docker}"
    );

    // What drover reads, as templates see it.
    let run = fleet.drover(&["render", "--repo", "tool", "--facts"]).ok();
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(shown["kind"], "cli");
    assert_eq!(
        shown["facts"]["rust"]["bins"],
        serde_json::json!(["toolctl"])
    );

    // Nothing is proposed for the misfit; the sweep says why.
    let run = fleet.drover(&["sweep"]);
    assert!(
        run.stdout
            .contains("twobins: misfit (Dockerfile: several binary targets"),
        "{}",
        run.stdout
    );
    assert!(!fleet.root().join(".drover/patches/twobins.patch").exists());
    let patch = std::fs::read_to_string(fleet.root().join(".drover/patches/tool.patch")).unwrap();
    assert!(
        !patch.contains("ci.yml"),
        "the hand-written CI is kept: {patch}"
    );
}

/// A plain directory's patch file is the mail `git format-patch` writes:
/// `git am` applies it as a commit with drover's author and words.
#[test]
fn plain_patches_are_mails_git_am_applies() {
    let fleet = Fleet::plain();
    fleet.drover(&["sweep"]).ok();
    let patch = fleet.root().join(".drover/patches/ledger.patch");
    let dir = fleet.repo("ledger");
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["add", "-A"]);
    git(
        &dir,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "initial",
        ],
    );
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "am"])
        .arg(&patch)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git am: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let subject = git(&dir, &["log", "-1", "--format=%s"]);
    assert!(subject.starts_with("drover: "), "{subject}");
    assert!(git(&dir, &["log", "-1", "--format=%B"]).contains("Drover-Fingerprint: "));
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    // Applied, the repository is in line.
    let plan = plan_json(&fleet);
    assert_eq!(repo(&plan, "ledger")["state"], "in_line");
}

#[test]
fn a_repository_keeps_its_own_file_by_drover_yaml_unless_the_fleet_turns_that_off() {
    let fleet = Fleet::plain();
    let (path, _) = drifted_paths(&plan_json(&fleet), "ledger")
        .into_iter()
        .next()
        .expect("ledger drifts");
    let own = fleet.repo("ledger").join(".drover.yaml");
    std::fs::write(
        &own,
        format!("skip:\n  - path: {path}\n    reason: kept by the team\n"),
    )
    .unwrap();

    let plan = plan_json(&fleet);
    assert!(
        !drifted_paths(&plan, "ledger")
            .iter()
            .any(|(p, _)| *p == path),
        "{path} is the repository's own now"
    );
    let reason = "kept by the team (the repository's .drover.yaml)";
    assert_eq!(
        repo(&plan, "ledger")["skipped_files"][0],
        serde_json::json!({ "path": path, "reason": reason })
    );
    let text = fleet.drover(&["plan"]).ok().stdout;
    assert!(text.contains(reason), "{text}");

    // The fleet's owners turn repository opt-outs off.
    let original = repository_skips_off(&fleet);
    let plan = plan_json(&fleet);
    assert!(drifted_paths(&plan, "ledger")
        .iter()
        .any(|(p, _)| *p == path));
    std::fs::write(fleet.root().join("fleet.yaml"), &original).unwrap();

    // A file drover cannot read leaves that repository alone, and says
    // where the problem is; the others are planned as before.
    std::fs::write(&own, format!("skip:\n  - path: {path}\n")).unwrap();
    let plan = plan_json(&fleet);
    let ledger = repo(&plan, "ledger");
    assert_eq!(ledger["state"], "skipped", "{ledger}");
    let why = ledger["reason"].as_str().unwrap();
    assert!(
        why.contains("/.drover.yaml:2:") && why.contains("missing field `reason`"),
        "{why}"
    );
    assert_eq!(repo(&plan, "billing-api")["state"], "drifted");
}

#[test]
fn turning_repository_skips_off_reaches_repositories_the_store_saw_in_line() {
    let fleet = Fleet::git();
    let repo_dir = fleet.repo("ledger");
    std::fs::write(
        repo_dir.join(".drover.yaml"),
        "skip:\n  - path: .gitlab-ci.yml\n    reason: kept by the team\n",
    )
    .unwrap();
    git(&repo_dir, &["add", "-A"]);
    git(&repo_dir, &["commit", "-q", "-m", "our own CI"]);
    fleet.drover(&["sweep", "--repo", "ledger"]).ok();
    assert_eq!(repo(&plan_json(&fleet), "ledger")["state"], "in_line");

    // Same head, same store: only fleet.yaml changed.
    repository_skips_off(&fleet);
    let plan = plan_json(&fleet);
    assert_eq!(repo(&plan, "ledger")["state"], "drifted", "{plan}");
}

/// Sets `repositories.repository_skips: false` in the fleet's fleet.yaml;
/// returns the text before.
fn repository_skips_off(fleet: &Fleet) -> String {
    let fleet_yaml = fleet.root().join("fleet.yaml");
    let original = std::fs::read_to_string(&fleet_yaml).unwrap();
    let off = original.replace(
        "repositories:\n",
        "repositories:\n  repository_skips: false\n",
    );
    std::fs::write(&fleet_yaml, off).unwrap();
    original
}
