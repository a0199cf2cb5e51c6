//! Errors that say what happened and what to do, each said once: a
//! missing fleet.yaml, a forge that cannot be reached (and why), and a
//! check that goes on without a forge token.

use super::harness::Fleet;

/// A directory holding only `fleet_yaml`.
fn fleet_of(fleet_yaml: &str) -> Fleet {
    let fleet = Fleet {
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::write(fleet.root().join("fleet.yaml"), fleet_yaml).unwrap();
    fleet
}

fn gitlab_at(url: &str) -> Fleet {
    fleet_of(&format!(
        "forge:\n  kind: gitlab\n  url: {url}\n  owner: acme\n  token: env:GITLAB_TOKEN\nstate_dir: .drover\n"
    ))
}

#[test]
fn a_missing_fleet_yaml_points_at_drover_init() {
    let fleet = Fleet {
        dir: tempfile::tempdir().unwrap(),
    };
    let run = fleet.drover(&["plan"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: fleet.yaml: no such file; `drover init` writes one (or name another with --config or DROVER_CONFIG)\n"
    );
}

#[test]
fn a_refused_connection_is_said_once_with_its_host() {
    let fleet = gitlab_at("http://127.0.0.1:1");
    let run = fleet.drover_with(&["plan"], &[("GITLAB_TOKEN", "t")]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: listing repositories: network: POST /api/graphql: cannot connect to 127.0.0.1:1: connection refused\n"
    );
}

#[test]
fn a_name_that_does_not_resolve_is_said_once_as_such() {
    let fleet = gitlab_at("http://gitlab.drover-test.invalid");
    let run = fleet.drover_with(&["plan"], &[("GITLAB_TOKEN", "t")]);
    assert_eq!(run.code, 1);
    let prefix = "error: listing repositories: network: POST /api/graphql: cannot resolve the host name gitlab.drover-test.invalid: ";
    assert!(run.stderr.starts_with(prefix), "{}", run.stderr);
    assert_eq!(run.stderr.matches("network:").count(), 1, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn check_without_a_token_or_offline_validates_and_renders_without_the_forge() {
    let fleet = gitlab_at("http://127.0.0.1:1");
    let offline = fleet.drover(&["check", "--offline"]).ok();
    assert_eq!(offline.stderr, "");
    assert!(
        offline
            .stdout
            .ends_with(" file sets rendered, offline: no repository checked\n"),
        "{}",
        offline.stdout
    );
    let no_token = fleet.drover_with(&["check"], &[("GITLAB_TOKEN", "")]).ok();
    assert_eq!(no_token.stdout, offline.stdout);
    assert_eq!(
        no_token.stderr,
        "fleet.yaml: checked offline: forge.token: environment variable GITLAB_TOKEN is not set or empty\n"
    );
    // A template that does not render fails the offline check too.
    fleet.eject_defaults();
    let ci = fleet.root().join("templates/rust/ci.github.yml");
    std::fs::write(&ci, "{{ nowhere.at_all }}\n").unwrap();
    let broken = fleet.drover(&["check", "--offline"]);
    assert_eq!(broken.code, 1, "{}", broken.stdout);
}
