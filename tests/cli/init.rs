//! `drover init` on a fresh directory: the fleet it writes checks and
//! plans, `--eject` puts the defaults beside it, and nothing is overwritten.

use super::harness::{copy_dir, project, Fleet};

/// An empty directory (no fleet.yaml, no examples).
fn empty() -> Fleet {
    Fleet {
        dir: tempfile::tempdir().unwrap(),
    }
}

#[test]
fn init_then_check_then_plan_on_a_fresh_directory() {
    let fleet = empty();
    let run = fleet.drover(&["init", "--eject"]).ok();
    assert!(run.stdout.contains("wrote fleet.yaml\n"), "{}", run.stdout);
    assert!(fleet.root().join("policies/rust.yaml").is_file());
    assert!(fleet.root().join("templates").is_dir());
    copy_dir(
        &project().join("examples/billing-api"),
        &fleet.root().join("repositories/billing-api"),
    );
    let check = fleet.drover(&["check"]).ok();
    assert!(
        check.stdout.contains("1 repository checked, 0 with errors"),
        "{}",
        check.stdout
    );
    let plan = fleet.drover(&["plan"]).ok();
    assert!(plan.stdout.contains("billing-api"), "{}", plan.stdout);
    assert!(plan.stdout.contains("1 repository: "), "{}", plan.stdout);
}

#[test]
fn init_writes_a_forge_fleet_with_its_token_from_the_environment() {
    let fleet = empty();
    fleet
        .drover(&[
            "init",
            "--forge",
            "gitlab",
            "--owner",
            "platform",
            "--url",
            "https://gitlab.example.com",
        ])
        .ok();
    let text = std::fs::read_to_string(fleet.root().join("fleet.yaml")).unwrap();
    assert!(text.contains("  kind: gitlab\n"), "{text}");
    assert!(
        text.contains("  url: https://gitlab.example.com\n"),
        "{text}"
    );
    assert!(text.contains("  token: env:GITLAB_TOKEN\n"), "{text}");
    let run = fleet.drover(&["init", "--forge", "github"]);
    assert_eq!(run.code, 1);
}

#[test]
fn init_never_overwrites() {
    let fleet = empty();
    std::fs::create_dir(fleet.root().join("templates")).unwrap();
    let run = fleet.drover(&["init", "--eject"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: templates exists; drover init does not overwrite (move it away, or edit it)\n"
    );
    assert!(!fleet.root().join("fleet.yaml").exists(), "nothing written");
    std::fs::write(fleet.root().join("fleet.yaml"), "# mine\n").unwrap();
    assert_eq!(fleet.drover(&["init"]).code, 1);
    let text = std::fs::read_to_string(fleet.root().join("fleet.yaml")).unwrap();
    assert_eq!(text, "# mine\n");
}
