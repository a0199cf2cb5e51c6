//! Answers that went wrong on the way: a raw file cut short behind a 200
//! is read again and never proposed (and fails its repository when it
//! never verifies), an unparsable GraphQL answer is asked for again, and a
//! snapshot batch that still fails is split so the others are read.

use std::time::Duration;

use drover::forge::gitlab::GitlabForge;
use drover::forge::http::RetryPolicy;
use drover::forge::Forge as _;
use drover::model::{RepoPath, Secret, Wanted};
use drover_emulator::{Emulator, EmulatorConfig, Fault, FaultRule, Forge, Site};

use crate::gitlab::fleet;
use crate::harness::{drover, report_of, rust};

const TOKEN: &str = "glpat-badAnswersToken0123";

/// The repository's own `.dockerignore` lines, before drover's block.
fn own_lines() -> Vec<String> {
    (1..=67).map(|i| format!("own-entry-{i:02}/")).collect()
}

/// A GitLab group with `acme/api`, whose `.dockerignore` (a `block`
/// file of the Rust policy) holds 67 lines of its own and then drover's
/// block, and `acme/web`, which has none.
async fn gitlab() -> Emulator {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Gitlab, "gitlabber", TOKEN).unwrap();
    let mut ignore = own_lines().join("\n");
    ignore.push_str(
        "\n# >>> drover managed block >>>\n.git/\ntarget/\n# <<< drover managed block <<<\n",
    );
    emu.create_repo(
        Forge::Gitlab,
        "acme/api",
        rust("api").file(".dockerignore", ignore),
    )
    .unwrap();
    emu.create_repo(Forge::Gitlab, "acme/web", rust("web"))
        .unwrap();
    emu
}

/// `.dockerignore`'s raw reads answered with half the file and a 200.
fn cut_raw_files() -> FaultRule {
    FaultRule::new(Fault::ShortBody)
        .site(Site::Gitlab)
        .method("GET")
        .path("/api/v4/projects/*/repository/files/.dockerignore/raw")
}

fn injected(emu: &Emulator, fault: &str) -> usize {
    emu.exchanges()
        .iter()
        .filter(|e| e.fault.as_deref() == Some(fault))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_file_cut_short_is_read_again_and_never_proposed() {
    let emu = gitlab().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    emu.faults().add(cut_raw_files().limit(1));

    let run = drover(dir.path(), &["sweep"], &[("DROVER_TEST_TOKEN", TOKEN)]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(injected(&emu, "short_body"), 1, "the cut answer was sent");

    // The merge request (other files drifted) keeps every line of the
    // repository's own.
    assert_eq!(emu.proposals(Forge::Gitlab, "acme/api").unwrap().len(), 1);
    let proposed = emu
        .file(Forge::Gitlab, "acme/api", "drover/sync", ".dockerignore")
        .unwrap()
        .expect(".dockerignore on drover's branch");
    let proposed = String::from_utf8(proposed).unwrap();
    for line in own_lines() {
        assert!(
            proposed.lines().any(|l| l == line),
            "{line} was dropped:\n{proposed}"
        );
    }
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_file_that_never_verifies_fails_its_repository_only() {
    let emu = gitlab().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    emu.faults().add(cut_raw_files());

    let run = drover(
        dir.path(),
        &["sweep", "--json"],
        &[("DROVER_TEST_TOKEN", TOKEN)],
    )
    .await;
    assert_eq!(run.code, 3, "some failed:\n{}\n{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let api = report_of(&report, "api");
    assert_eq!(api["state"], "failed", "{api}");
    let reason = api["reason"].as_str().unwrap();
    assert!(
        reason.contains(".dockerignore") && reason.contains("blob id"),
        "{reason}"
    );
    assert!(injected(&emu, "short_body") > 1, "asked for again");
    assert!(emu.proposals(Forge::Gitlab, "acme/api").unwrap().is_empty());
    assert_eq!(
        emu.resolve(Forge::Gitlab, "acme/api", "drover/sync")
            .unwrap(),
        None,
        "nothing written"
    );
    // The other project was proposed to as usual.
    assert_eq!(report_of(&report, "web")["state"], "drifted");
    assert_eq!(emu.proposals(Forge::Gitlab, "acme/web").unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_graphql_answers_are_asked_for_again() {
    let emu = gitlab().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    // The discovery page's first answer and the snapshot's.
    emu.faults().add(
        FaultRule::new(Fault::MalformedJson)
            .site(Site::Gitlab)
            .path("/api/graphql")
            .limit(2),
    );

    let run = drover(dir.path(), &["sweep"], &[("DROVER_TEST_TOKEN", TOKEN)]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(injected(&emu, "malformed_json"), 2);
    assert!(run.stdout.contains("2 drifted"), "{}", run.stdout);
    for repo in ["acme/api", "acme/web"] {
        assert_eq!(emu.proposals(Forge::Gitlab, repo).unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_batch_that_keeps_failing_is_split() {
    let emu = gitlab().await;
    for name in ["acme/ops", "acme/docs"] {
        emu.create_repo(Forge::Gitlab, name, rust("x")).unwrap();
    }
    let forge = GitlabForge::new(
        emu.gitlab_url(),
        "acme",
        "drover/sync",
        &Secret::new(TOKEN),
        RetryPolicy {
            retries: 2,
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            ..RetryPolicy::default()
        },
    )
    .unwrap();
    let repos = forge.discover().await.unwrap();
    assert_eq!(repos.len(), 4);
    // Every try of the first, whole-batch query comes back unparsable.
    emu.faults().add(
        FaultRule::new(Fault::MalformedJson)
            .site(Site::Gitlab)
            .path("/api/graphql")
            .limit(3),
    );
    emu.reset_counters();
    let wanted = Wanted {
        paths: vec![RepoPath::new("Cargo.toml").unwrap()],
        ..Wanted::default()
    };
    let snapshots = forge.snapshot(&repos, &wanted).await;
    for (repo, snapshot) in repos.iter().zip(&snapshots) {
        assert!(snapshot.is_ok(), "{}: {snapshot:?}", repo.full_name);
    }
    assert_eq!(
        emu.request_count(Site::Gitlab, "POST /api/graphql"),
        3 + 2,
        "three tries of the batch, then one query per half"
    );
}
