//! A part of a proposal the forge refuses does not fail its repository:
//! a reviewer GitHub will not request (not a collaborator), a reviewer
//! GitLab has no user for, a label GitLab cannot take leave the proposal
//! open, with the others asked, and the repository reported `open, with
//! warnings` (sweep, JSON, status). The next sweep asks again for what is
//! missing, and only for that; reviewers are looked up once per sweep.

use std::path::Path;

use drover_emulator::{Emulator, Forge, OwnerKind, ProposalState, Site};

use crate::harness::{drover, report_of, write_fleet, Run};

const TOKEN: &str = "ghp_emulatorTokenValue123";
const GITLAB_TOKEN: &str = "glpat-emulatorTokenValue123";

async fn sweep(dir: &Path, token: &str, json: bool) -> Run {
    let args: &[&str] = if json {
        &["sweep", "--json"]
    } else {
        &["sweep"]
    };
    let run = drover(dir, args, &[("DROVER_TEST_TOKEN", token)]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run
}

/// `drover status --json`'s line for `full_name`, and the table's line.
async fn status_of(dir: &Path, full_name: &str) -> (serde_json::Value, String) {
    let run = drover(dir, &["status", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let line = lines
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["repository"] == full_name)
        .unwrap_or_else(|| panic!("{full_name} in {lines:#}"))
        .clone();
    let table = drover(dir, &["status"], &[]).await.stdout;
    let row = table
        .lines()
        .find(|l| l.starts_with(full_name))
        .unwrap_or_default()
        .to_owned();
    (line, row)
}

/// fleet.yaml for `kind` at `url`, with these reviewers and labels.
fn fleet(dir: &Path, kind: &str, url: &str, labels: &str, reviewers: &str) {
    write_fleet(
        dir,
        &format!(
            "forge:\n  kind: {kind}\n  url: {url}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\n\
             defaults:\n  labels: {labels}\n  reviewers: {reviewers}\n"
        ),
    );
}

fn reviewer_requests(emu: &Emulator) -> u64 {
    emu.request_count(
        Site::Github,
        "POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reviewer_leaves_the_pull_request_open_with_a_warning() {
    let emu = crate::github::github().await;
    emu.create_owner(Forge::Github, OwnerKind::User, "reviewer1")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    fleet(
        dir.path(),
        "github",
        emu.github_url(),
        "[drover]",
        "[ghost, reviewer1]",
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
    let (line, row) = status_of(dir.path(), "acme/billing-api").await;
    assert_eq!(line["state"], "proposal_open", "{line}");
    assert!(
        line["warnings"][0]
            .as_str()
            .unwrap()
            .contains("reviewer ghost refused"),
        "{line}"
    );
    assert!(
        row.contains("open, with warnings: reviewer ghost refused"),
        "{row}"
    );

    // ghost joins: the next sweep asks for ghost alone, on the pull
    // request that is otherwise unchanged; the one after asks nobody.
    emu.create_owner(Forge::Github, OwnerKind::User, "ghost")
        .unwrap();
    emu.reset_counters();
    let run = sweep(dir.path(), TOKEN, true).await;
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let api = report_of(&report, "billing-api");
    assert_eq!(api["proposal"]["outcome"], "unchanged", "{api}");
    assert!(api["proposal"].get("warnings").is_none(), "{api}");
    let asked = reviewer_requests(&emu);
    let drifted = report["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["proposal"]["outcome"] == "unchanged")
        .count() as u64;
    assert_eq!(
        asked, drifted,
        "one request per pull request, for ghost alone"
    );
    let prs = emu.proposals(Forge::Github, "acme/billing-api").unwrap();
    assert_eq!(prs[0].reviewers, ["reviewer1", "ghost"]);
    assert!(status_of(dir.path(), "acme/billing-api")
        .await
        .0
        .get("warnings")
        .is_none());

    emu.reset_counters();
    sweep(dir.path(), TOKEN, false).await;
    assert_eq!(reviewer_requests(&emu), 0, "nothing is missing any more");

    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_leaves_out_an_unknown_reviewer_and_a_label_it_cannot_take_and_drover_asks_again() {
    let emu = crate::gitlab::gitlab().await;
    emu.create_owner(Forge::Gitlab, OwnerKind::User, "reviewer1")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    fleet(
        dir.path(),
        "gitlab",
        emu.gitlab_url(),
        "[drover, 'needs,review']",
        "[ghost, reviewer1]",
    );
    let users = |emu: &Emulator| emu.request_count(Site::Gitlab, "GET /api/v4/users");
    let puts = |emu: &Emulator| {
        emu.request_count(
            Site::Gitlab,
            "PUT /api/v4/projects/{id}/merge_requests/{merge_request_iid}",
        )
    };

    let run = sweep(dir.path(), GITLAB_TOKEN, true).await;
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    for name in ["billing-api", "backend/ledger"] {
        let r = report_of(&report, name);
        assert_eq!(r["proposal"]["outcome"], "opened", "{r}");
        let warnings: Vec<&str> = r["proposal"]["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].starts_with("label needs,review not set: ")
                && warnings[1] == "reviewer ghost not set: is not a GitLab user",
            "{warnings:?}"
        );
    }
    // Two projects, two reviewers: each reviewer looked up once.
    assert_eq!(users(&emu), 2, "{:?}", emu.request_counts());
    let mr = &emu.proposals(Forge::Gitlab, "acme/billing-api").unwrap()[0];
    assert_eq!(mr.state, ProposalState::Open);
    assert_eq!(mr.reviewers, ["reviewer1"]);
    assert_eq!(mr.labels, ["drover"], "no label split at its comma");
    let (line, row) = status_of(dir.path(), "acme/billing-api").await;
    assert_eq!(line["state"], "proposal_open", "{line}");
    assert_eq!(line["warnings"].as_array().map(Vec::len), Some(2), "{line}");
    assert!(
        row.contains("open, with warnings: label needs,review"),
        "{row}"
    );

    // ghost becomes a GitLab user: asked for on each open merge request,
    // once; the label still cannot be sent, and is not.
    emu.create_owner(Forge::Gitlab, OwnerKind::User, "ghost")
        .unwrap();
    emu.reset_counters();
    let run = sweep(dir.path(), GITLAB_TOKEN, false).await;
    assert!(
        run.stdout
            .contains("open, with warnings: label needs,review not set"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("reviewer ghost"), "{}", run.stdout);
    assert_eq!(puts(&emu), 2, "{:?}", emu.request_counts());
    assert_eq!(users(&emu), 2, "ghost and reviewer1, once for the sweep");
    let mr = &emu.proposals(Forge::Gitlab, "acme/billing-api").unwrap()[0];
    let mut reviewers = mr.reviewers.clone();
    reviewers.sort();
    assert_eq!(reviewers, ["ghost", "reviewer1"]);
    assert_eq!(mr.labels, ["drover"]);

    // Only the label is missing now: nobody is looked up, nothing sent.
    emu.reset_counters();
    sweep(dir.path(), GITLAB_TOKEN, false).await;
    assert_eq!(
        (users(&emu), puts(&emu)),
        (0, 0),
        "{:?}",
        emu.request_counts()
    );

    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}
