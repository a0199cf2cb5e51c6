//! A part of a proposal the forge refuses does not fail its repository:
//! a reviewer GitHub will not request (not a collaborator) leaves the pull
//! request open, with the others asked, and the repository reported
//! `open, with warnings`.

use drover_emulator::{Forge, OwnerKind, ProposalState};

use crate::harness::{drover, report_of, write_fleet};

const TOKEN: &str = "ghp_emulatorTokenValue123";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reviewer_leaves_the_pull_request_open_with_a_warning() {
    let emu = crate::github::github().await;
    emu.create_owner(Forge::Github, OwnerKind::User, "reviewer1")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_fleet(
        dir.path(),
        &format!(
            "forge:\n  kind: github\n  url: {}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\n\
             defaults:\n  labels: [drover]\n  reviewers: [ghost, reviewer1]\n",
            emu.github_url()
        ),
    );

    let run = drover(
        dir.path(),
        &["sweep", "--json"],
        &[("DROVER_TEST_TOKEN", TOKEN)],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let api = report_of(&report, "billing-api");
    assert_eq!(api["state"], "drifted", "{api}");
    assert_eq!(api["proposal"]["outcome"], "opened", "{api}");
    let warnings = api["proposal"]["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{api}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("reviewer ghost refused"),
        "{api}"
    );

    let prs = emu.proposals(Forge::Github, "acme/billing-api").unwrap();
    assert_eq!(prs.len(), 1);
    assert_eq!(prs[0].state, ProposalState::Open);
    assert_eq!(
        prs[0].reviewers,
        ["reviewer1"],
        "the others are still asked"
    );
    assert_eq!(prs[0].labels, ["drover"]);

    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}
