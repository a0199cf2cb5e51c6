//! Configuration that would make drover write what it does not own, or
//! cost or print more than it should, is refused with file:line; nothing
//! is written.

use crate::harness::{git, Fleet};

fn set_fleet(fleet: &Fleet, text: &str) {
    std::fs::write(fleet.root().join("fleet.yaml"), text).unwrap();
}

#[test]
fn drovers_branch_is_never_a_repositorys_default_branch() {
    let fleet = Fleet::git();
    let text = std::fs::read_to_string(fleet.root().join("fleet.yaml")).unwrap();
    assert!(text.contains("branch: drover/sync"));
    set_fleet(&fleet, &text.replace("branch: drover/sync", "branch: main"));
    let heads: Vec<String> = fleet
        .repos()
        .iter()
        .map(|r| git(r, &["rev-parse", "main"]))
        .collect();

    let run = fleet.drover(&["sweep"]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("drover's branch is this repository's default branch"),
        "{}",
        run.stdout
    );
    for (repo, head) in fleet.repos().iter().zip(&heads) {
        assert_eq!(&git(repo, &["rev-parse", "main"]), head, "{repo:?}");
        assert_eq!(git(repo, &["status", "--porcelain"]), "", "{repo:?}");
    }
    assert!(!fleet.root().join(".drover/patches").exists());
    assert_eq!(fleet.drover(&["check"]).code, 1);

    // Names git would not take as a branch are refused at load.
    for (branch, column) in [("HEAD", 11), ("\"a/.b\"", 11), ("x.lock/y", 11)] {
        set_fleet(
            &fleet,
            &text.replace("branch: drover/sync", &format!("branch: {branch}")),
        );
        let run = fleet.drover(&["check"]);
        assert_eq!(run.code, 1, "{branch}");
        let line = text
            .lines()
            .position(|l| l.contains("branch: drover/sync"))
            .unwrap()
            + 1;
        assert!(
            run.stderr
                .contains(&format!("fleet.yaml:{line}:{column}: ")),
            "{branch}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("not a valid git branch name"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn files_that_are_not_settings_are_named_never_printed() {
    let fleet = Fleet::plain();
    let token = "ghp_CANARYtokenValue0123456789";
    std::fs::write(fleet.root().join("token"), format!("{token}\n")).unwrap();
    let run = fleet.drover(&["--config", "token", "check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("token:1:1: not a YAML mapping"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("CANARY") && !run.stdout.contains("CANARY"));

    // A policy that is a link to a password file.
    let root = fleet.root();
    crate::harness::copy_dir(
        &crate::harness::project().join("policies"),
        &root.join("policies"),
    );
    let passwd = "root:x:0:0:CANARY:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n";
    std::fs::write(root.join("passwd"), passwd).unwrap();
    std::fs::remove_file(root.join("policies/go.yaml")).unwrap();
    std::os::unix::fs::symlink(root.join("passwd"), root.join("policies/go.yaml")).unwrap();
    let run = fleet.drover(&["check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("policies/go.yaml:1:1: "),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("CANARY") && !run.stderr.contains("root:x"));
}

#[test]
fn deep_nesting_duplicate_keys_and_git_paths_are_refused_at_check() {
    let fleet = Fleet::plain();
    let original = std::fs::read_to_string(fleet.root().join("fleet.yaml")).unwrap();
    let lines = original.lines().count();

    // 100,000 levels (flow mappings took libyaml over a minute): refused
    // by the scan before the parser sees them.
    for open in ["{a: ", "[", "- "] {
        let started = std::time::Instant::now();
        set_fleet(
            &fleet,
            &format!("{original}\nextra:\n  {}\n", open.repeat(100_000)),
        );
        let run = fleet.drover(&["check"]);
        assert_eq!(run.code, 1);
        let at = format!("fleet.yaml:{}:", lines + 3);
        assert!(run.stderr.contains(&at), "{at}: {}", run.stderr);
        assert!(run.stderr.contains("nested deeper than"), "{}", run.stderr);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    // An override given twice, the second dropping the first's skips.
    let text = original.replacen(
        "  overrides:\n",
        "  overrides:\n    ledger:\n      skip:\n        - path: Dockerfile\n          reason: ours\n    ledger:\n      variables: {port: 1}\n",
        1,
    );
    set_fleet(&fleet, &text);
    let run = fleet.drover(&["check"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("key `ledger` is given twice"),
        "{}",
        run.stderr
    );
    let second = text
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "    ledger:")
        .nth(1)
        .map(|(n, _)| n + 1)
        .unwrap();
    assert!(
        run.stderr.contains(&format!("fleet.yaml:{second}:5: ")),
        "{second}: {}",
        run.stderr
    );

    // A managed path into .git under another spelling.
    set_fleet(&fleet, &original);
    crate::harness::copy_dir(
        &crate::harness::project().join("policies"),
        &fleet.root().join("policies"),
    );
    let policy = fleet.root().join("policies/rust.yaml");
    let text = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(
        &policy,
        text.replacen("path: Dockerfile", "path: .GIT./hooks/post-checkout", 1),
    )
    .unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("path: Dockerfile"))
        .unwrap()
        + 1;
    let run = fleet.drover(&["check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!("policies/rust.yaml:{line}:")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("names .git"), "{}", run.stderr);
}

#[test]
fn names_with_control_characters_are_escaped_in_tables_and_lines() {
    let fleet = Fleet::plain();
    let evil = fleet
        .root()
        .join("examples/evil\nFORGED: all in line\u{1b}[2J");
    std::fs::create_dir(&evil).unwrap();
    std::fs::write(
        evil.join("Cargo.toml"),
        "[package]\nname = \"evil\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    for args in [&["plan"][..], &["sweep", "--dry-run"]] {
        let run = fleet.drover(args);
        assert!(!run.stdout.contains('\u{1b}'), "{args:?}: {:?}", run.stdout);
        assert!(
            !run.stdout.lines().any(|l| l.starts_with("FORGED")),
            "{args:?}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("evil\\nFORGED: all in line\\u{1b}[2J"),
            "{args:?}: {}",
            run.stdout
        );
    }
}
