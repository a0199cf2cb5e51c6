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
