//! The proposal drover would send, shown before it is: `plan --repo NAME
//! --proposal` and `sweep --dry-run --json` carry the very words the sweep
//! then commits.

use super::harness::{git, Fleet};

#[test]
fn plan_proposal_prints_the_words_the_sweep_then_sends() {
    let fleet = Fleet::git();
    let shown = fleet
        .drover(&["plan", "--repo", "ledger", "--proposal", "--json"])
        .ok();
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    let text = fleet
        .drover(&["plan", "--repo", "ledger", "--proposal"])
        .ok()
        .stdout;
    let title = shown["title"].as_str().unwrap();
    let message = shown["commit_message"].as_str().unwrap();
    let body = shown["body"].as_str().unwrap();
    assert_eq!(
        text,
        format!(
            "── title ──\n{title}\n── commit message ──\n{}\n── body ──\n{}\n",
            message.trim_end(),
            body.trim_end()
        )
    );
    assert!(
        body.contains("<!-- drover:proposal repo=local/ledger"),
        "{body}"
    );

    let dry = fleet.drover(&["sweep", "--dry-run", "--json"]).ok();
    let dry: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
    let ledger = dry["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "ledger")
        .unwrap();
    assert_eq!(ledger["proposal_text"], shown);

    fleet.drover(&["sweep", "--repo", "ledger"]).ok();
    let committed = git(
        &fleet.repo("ledger"),
        &["log", "-1", "--format=%B", "drover/sync"],
    );
    assert_eq!(committed, message.trim_end());
    assert_eq!(
        git(
            &fleet.repo("ledger"),
            &["log", "-1", "--format=%s", "drover/sync"]
        ),
        title
    );
}

#[test]
fn plan_proposal_of_a_repository_in_line_says_nothing_would_be_proposed() {
    let fleet = Fleet::git();
    fleet.drover(&["sweep", "--repo", "ledger"]).ok();
    git(
        &fleet.repo("ledger"),
        &["merge", "-q", "--ff-only", "drover/sync"],
    );
    let run = fleet
        .drover(&["plan", "--repo", "ledger", "--proposal"])
        .ok();
    assert_eq!(
        run.stdout,
        "ledger is in line: drover would propose nothing\n"
    );
    let run = fleet.drover(&["plan", "--proposal"]);
    assert_eq!(run.code, 2, "--proposal needs --repo");
}
