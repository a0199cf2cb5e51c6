//! drover never writes a branch it does not own: with `defaults.branch`
//! naming the repositories' default branch, every repository fails with
//! that reason and nothing is written (GitHub answered "hands-off" here
//! before, the local forge committed onto `main`).

use drover_emulator::Forge;

use crate::github::{github, writes};
use crate::harness::{drover, report_of, write_fleet};

const TOKEN: &str = "ghp_emulatorTokenValue123";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drovers_branch_may_not_be_a_default_branch() {
    let emu = github().await;
    let dir = tempfile::tempdir().unwrap();
    write_fleet(
        dir.path(),
        &format!(
            "forge:\n  kind: github\n  url: {}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\ndefaults:\n  branch: main\n",
            emu.github_url()
        ),
    );
    let heads: Vec<_> = ["acme/billing-api", "acme/ledger"]
        .iter()
        .map(|r| emu.resolve(Forge::Github, r, "main").unwrap())
        .collect();

    let run = drover(
        dir.path(),
        &["sweep", "--json"],
        &[("DROVER_TEST_TOKEN", TOKEN)],
    )
    .await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    for name in ["billing-api", "ledger", "notes"] {
        let repo = report_of(&report, name);
        assert_eq!(repo["state"], "failed", "{repo}");
        assert!(
            repo["reason"]
                .as_str()
                .unwrap()
                .contains("drover's branch is this repository's default branch"),
            "{repo}"
        );
    }
    assert_eq!(writes(&emu), 0, "{:?}", emu.request_counts());
    for (repo, head) in ["acme/billing-api", "acme/ledger"].iter().zip(heads) {
        assert!(emu.proposals(Forge::Github, repo).unwrap().is_empty());
        assert_eq!(emu.resolve(Forge::Github, repo, "main").unwrap(), head);
    }
}
