//! `drover sweep` against the emulated GitHub: one pull request per drifted
//! repository, carrying exactly the rendered files; a re-sweep writes
//! nothing; once in line, a re-sweep costs only discovery.

use std::path::Path;

use drover_emulator::{Emulator, EmulatorConfig, Forge, OwnerKind, ProposalState, RepoSeed, Site};

use crate::harness::{drover, git, write_fleet};

const TOKEN: &str = "ghp_emulatorTokenValue123";

pub(crate) async fn github() -> Emulator {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_owner(Forge::Github, OwnerKind::Organization, "acme")
        .unwrap();
    emu.create_token(Forge::Github, "octo", TOKEN).unwrap();
    let rust = RepoSeed::default()
        .file(
            "Cargo.toml",
            "[package]\nname = \"billing-api\"\nversion = \"0.1.0\"\n\n[dependencies]\naxum = \"0.8\"\n",
        )
        .file("Cargo.lock", "version = 4\n")
        .file("src/main.rs", crate::harness::SERVICE_MAIN);
    emu.create_repo(Forge::Github, "acme/billing-api", rust)
        .unwrap();
    let go = RepoSeed::default()
        .file("go.mod", "module example.com/ledger\n\ngo 1.22\n")
        .file(".gitlab-ci.yml", "test:\n  script: [go test ./...]\n");
    emu.create_repo(Forge::Github, "acme/ledger", go).unwrap();
    emu.create_repo(
        Forge::Github,
        "acme/notes",
        RepoSeed::default().file("README.md", "# notes\n"),
    )
    .unwrap();
    emu.create_repo(
        Forge::Github,
        "acme/attic",
        RepoSeed::default().file("go.mod", "module x\n").archived(),
    )
    .unwrap();
    emu
}

fn fleet(dir: &Path, emu: &Emulator) {
    write_fleet(
        dir,
        &format!(
            "forge:\n  kind: github\n  url: {}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\ndefaults:\n  labels: [drover]\n",
            emu.github_url()
        ),
    );
}

pub(crate) fn writes(emu: &Emulator) -> u64 {
    emu.request_counts()
        .into_iter()
        .filter(|((site, route), _)| {
            *site == Site::Github && !route.starts_with("GET ") && route != "POST /graphql"
        })
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_opens_one_pull_request_per_drifted_repository() {
    let emu = github().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);

    let run = drover(dir.path(), &["sweep"], &[("DROVER_TEST_TOKEN", TOKEN)]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("billing-api: drifted"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("notes: skipped (no policy matches"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("attic: skipped (archived"),
        "{}",
        run.stdout
    );

    for (repo, must_have, must_not) in [
        ("acme/billing-api", "Dockerfile", ".gitlab-ci.yml"),
        ("acme/ledger", ".github/workflows/ci.yml", ".gitlab-ci.yml"),
    ] {
        let pulls = emu.proposals(Forge::Github, repo).unwrap();
        assert_eq!(pulls.len(), 1, "{repo}: exactly one proposal");
        let pull = &pulls[0];
        assert_eq!(
            (pull.head.as_str(), pull.base.as_str()),
            ("drover/sync", "main")
        );
        assert_eq!(pull.state, ProposalState::Open);
        assert_eq!(pull.labels, ["drover"]);
        assert!(
            pull.body
                .starts_with(&format!("<!-- drover:proposal repo={repo} fingerprint=")),
            "{}",
            pull.body
        );
        let main = emu.resolve(Forge::Github, repo, "main").unwrap().unwrap();
        let tip = emu
            .commit_info(Forge::Github, repo, "drover/sync")
            .unwrap()
            .unwrap();
        assert_eq!(
            tip.parents,
            [main],
            "{repo}: one commit on the default branch head"
        );
        assert!(emu
            .file(Forge::Github, repo, "drover/sync", must_have)
            .unwrap()
            .is_some());
        assert!(emu
            .file(Forge::Github, repo, "drover/sync", must_not)
            .unwrap()
            .is_none());
    }
    assert!(emu
        .proposals(Forge::Github, "acme/notes")
        .unwrap()
        .is_empty());

    // The branch holds exactly what drover renders for the repository.
    let out = dir.path().join("rendered");
    let run = drover(
        dir.path(),
        &[
            "render",
            "--repo",
            "billing-api",
            "--out",
            out.to_str().unwrap(),
        ],
        &[("DROVER_TEST_TOKEN", TOKEN)],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    for path in [
        "Dockerfile",
        ".github/workflows/ci.yml",
        "deploy/k8s/deployment.yaml",
        ".dockerignore",
    ] {
        let want = std::fs::read(out.join(path)).unwrap();
        let got = emu
            .file(Forge::Github, "acme/billing-api", "drover/sync", path)
            .unwrap()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{path}"
        );
    }

    // Same drift again: nothing is written.
    let before = emu.proposals(Forge::Github, "acme/ledger").unwrap();
    emu.reset_counters();
    let run = drover(dir.path(), &["sweep"], &[("DROVER_TEST_TOKEN", TOKEN)]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("unchanged"), "{}", run.stdout);
    assert_eq!(
        writes(&emu),
        0,
        "a re-sweep with the same drift writes nothing: {:?}",
        emu.request_counts()
    );
    let after = emu.proposals(Forge::Github, "acme/ledger").unwrap();
    assert_eq!(
        (after.len(), after[0].updated_at),
        (before.len(), before[0].updated_at)
    );

    // Merge both branches by hand; the next sweep finds everything in line,
    // and the one after costs only discovery.
    for repo in ["acme/billing-api", "acme/ledger"] {
        merge_with_git(&emu, repo, dir.path()).await;
        // As on GitHub, a push that lands the head branch merges the PR.
        let pull = &emu.proposals(Forge::Github, repo).unwrap()[0];
        assert_eq!(pull.state, ProposalState::Merged, "{repo}");
    }
    let run = drover(dir.path(), &["sweep"], &[("DROVER_TEST_TOKEN", TOKEN)]).await;
    assert!(
        run.stdout.contains("2 in line, 0 drifted"),
        "{}",
        run.stdout
    );
    emu.reset_counters();
    let run = drover(
        dir.path(),
        &["sweep", "--json"],
        &[("DROVER_TEST_TOKEN", TOKEN)],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        emu.total_requests(),
        1,
        "only the discovery page: {:?}",
        emu.request_counts()
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["requests"], 1);

    // The token is nowhere drover writes.
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(TOKEN));
    }
    crate::harness::assert_absent_under(&dir.path().join(".drover"), TOKEN);
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

async fn merge_with_git(emu: &Emulator, repo: &str, scratch: &Path) {
    let url = emu.clone_url(Forge::Github, repo).replacen(
        "://",
        &format!("://x-access-token:{TOKEN}@"),
        1,
    );
    let scratch = scratch.to_path_buf();
    let name = repo.replace('/', "_");
    tokio::task::spawn_blocking(move || {
        git(&scratch, &["clone", "-q", &url, &name]);
        let work = scratch.join(&name);
        git(&work, &["merge", "-q", "--ff-only", "origin/drover/sync"]);
        git(&work, &["push", "-q", "origin", "main"]);
    })
    .await
    .unwrap();
}

/// `drover status` answers from the store alone: after a sweep it shows
/// each repository's proposal (URL and age), skips and reasons, and costs
/// the forge nothing; `sweep --report FILE` leaves the report in FILE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_the_store_without_asking_the_forge() {
    let emu = github().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    let env = [("DROVER_TEST_TOKEN", TOKEN)];

    let before = drover(dir.path(), &["status"], &env).await;
    assert_eq!(before.code, 0, "{}", before.stderr);
    assert!(
        before.stdout.contains("no sweep has run yet"),
        "{}",
        before.stdout
    );

    let report = dir.path().join("reports/sweep.json");
    std::fs::create_dir_all(report.parent().unwrap()).unwrap();
    let run = drover(
        dir.path(),
        &["sweep", "--report", report.to_str().unwrap()],
        &env,
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(written["repositories"].as_array().unwrap().len(), 4);
    assert!(written["requests"].as_u64().unwrap() > 0);

    emu.reset_counters();
    // No token: status must not need the forge at all.
    let status = drover(dir.path(), &["status", "--json"], &[]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(emu.total_requests(), 0, "{:?}", emu.request_counts());
    let lines: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let by_name = |name: &str| {
        lines
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["repository"] == name)
            .unwrap_or_else(|| panic!("{name} in {lines}"))
            .clone()
    };
    let pulls = emu.proposals(Forge::Github, "acme/billing-api").unwrap();
    let billing = by_name("acme/billing-api");
    assert_eq!(billing["state"], "proposal_open", "{billing}");
    let url = billing["url"].as_str().unwrap().to_owned();
    assert!(
        url.ends_with(&format!("/acme/billing-api/pull/{}", pulls[0].number)),
        "{billing}"
    );
    assert!(billing["age_seconds"].as_i64().unwrap() < 3600, "{billing}");
    assert_eq!(by_name("acme/ledger")["state"], "proposal_open");
    let attic = by_name("acme/attic");
    assert_eq!(attic["state"], "skipped");
    assert!(
        attic["reason"].as_str().unwrap().contains("archived"),
        "{attic}"
    );

    let text = drover(dir.path(), &["status"], &[]).await;
    assert!(
        text.stdout.contains(&format!("{url} (opened")),
        "{}",
        text.stdout
    );
    // The history's newest entry: this sweep, with its two new proposals.
    assert!(
        text.stdout.contains("; 2 opened, 0 updated, 0 closed;"),
        "{}",
        text.stdout
    );
    assert_eq!(emu.total_requests(), 0);
}

/// `limits:` caps new proposals per sweep and open ones fleet-wide; what
/// exceeds them waits, is reported as waiting, and gets its proposal in a
/// later sweep once there is room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_new_proposals_back_until_a_later_sweep() {
    let names = ["a1", "a2", "a3", "a4", "a5"];
    let emu = rust_org(&names).await;
    let dir = tempfile::tempdir().unwrap();
    write_fleet(
        dir.path(),
        &format!(
            "forge:\n  kind: github\n  url: {}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\nlimits:\n  open_proposals: 3\n  new_per_sweep: 2\n",
            emu.github_url()
        ),
    );
    let env = [("DROVER_TEST_TOKEN", TOKEN)];
    let open = |emu: &Emulator| -> Vec<&str> {
        names
            .into_iter()
            .filter(|n| {
                !emu.proposals(Forge::Github, &format!("acme/{n}"))
                    .unwrap()
                    .is_empty()
            })
            .collect()
    };

    let first = drover(dir.path(), &["sweep"], &env).await;
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert_eq!(open(&emu), ["a1", "a2"], "{}", first.stdout);
    assert!(
        first.stdout.contains(
            "a3: drifted (6 files) → waits for a later sweep: 2 new proposals this sweep, the most `limits.new_per_sweep` allows (2)"
        ),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("5 drifted (3 waiting for a later sweep)"),
        "{}",
        first.stdout
    );

    let second = drover(dir.path(), &["sweep", "--json"], &env).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(open(&emu), ["a1", "a2", "a3"]);
    let report: serde_json::Value = serde_json::from_str(&second.stdout).unwrap();
    let waiting: Vec<&str> = report["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["waiting"].is_string())
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(waiting, ["a4", "a5"], "{}", second.stdout);
    assert!(
        report["repositories"][3]["waiting"]
            .as_str()
            .unwrap()
            .contains("3 drover proposals are open, the most `limits.open_proposals` allows (3)"),
        "{}",
        second.stdout
    );

    let status = drover(dir.path(), &["status"], &[]).await;
    assert!(
        status.stdout.lines().any(|l| l.starts_with("acme/a5")
            && l.contains("drifted")
            && l.contains("waits for a later sweep")),
        "{}",
        status.stdout
    );

    // Still full: nothing new, and each open one exactly once.
    drover(dir.path(), &["sweep"], &env).await;
    assert_eq!(open(&emu), ["a1", "a2", "a3"]);
    for n in ["a1", "a2", "a3"] {
        assert_eq!(
            emu.proposals(Forge::Github, &format!("acme/{n}"))
                .unwrap()
                .len(),
            1
        );
    }
    // One repository alone still counts the others' open proposals.
    let one = drover(dir.path(), &["sweep", "--repo", "a4"], &env).await;
    assert!(
        one.stdout.contains("a4: drifted (6 files) → waits"),
        "{}",
        one.stdout
    );
    assert_eq!(open(&emu), ["a1", "a2", "a3"]);
}

/// Drift fixed by hand on the default branch: drover closes its pull
/// request with a short comment, leaves the other one alone, and the next
/// sweep writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_is_closed_once_its_drift_is_fixed_by_hand() {
    let emu = github().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    let env = [("DROVER_TEST_TOKEN", TOKEN)];
    let first = drover(dir.path(), &["sweep", "--json"], &env).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let report: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    crate::harness::fix_by_hand(
        &emu,
        Forge::Github,
        "acme/billing-api",
        crate::harness::report_of(&report, "billing-api"),
    );

    let second = drover(dir.path(), &["sweep"], &env).await;
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains("billing-api: in line → closed "),
        "{}",
        second.stdout
    );
    let pull = &emu.proposals(Forge::Github, "acme/billing-api").unwrap()[0];
    assert_eq!(pull.state, ProposalState::Closed);
    assert_eq!(pull.comments.len(), 1, "{:#?}", pull.comments);
    assert!(
        pull.comments[0].body.contains("now matches the templates")
            && pull.comments[0]
                .body
                .contains("Its branch drover/sync is deleted."),
        "{}",
        pull.comments[0].body
    );
    let refs = emu.refs(Forge::Github, "acme/billing-api").unwrap();
    assert!(!refs.contains_key("refs/heads/drover/sync"), "{refs:?}");
    let ledger = &emu.proposals(Forge::Github, "acme/ledger").unwrap()[0];
    assert_eq!(
        (ledger.state, ledger.comments.len()),
        (ProposalState::Open, 0)
    );

    emu.reset_counters();
    let third = drover(dir.path(), &["sweep"], &env).await;
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(writes(&emu), 0, "{:?}", emu.request_counts());
    assert_eq!(
        emu.proposals(Forge::Github, "acme/billing-api").unwrap()[0]
            .comments
            .len(),
        1
    );
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

/// A drover process killed with SIGKILL mid-sweep, at several points (while
/// discovering, snapshotting, committing, opening pull requests, writing
/// the store): the next sweep opens the store cleanly and ends with exactly
/// one pull request per drifted repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_killed_at_any_point_is_finished_by_the_next() {
    let names = ["k1", "k2", "k3", "k4", "k5", "k6"];
    // A full sweep here is about 30 requests: discovery, one snapshot
    // query, then per repository blobs, tree, commit, ref, pull request and
    // labels. 20: every branch exists, no pull request yet; 26: every pull
    // request is open, the store not yet written.
    for after_requests in [0u64, 1, 2, 5, 9, 14, 20, 26, 27] {
        let emu = rust_org(&names).await;
        // Slow enough that the kill lands inside the sweep.
        emu.faults().add(
            drover_emulator::FaultRule::new(drover_emulator::Fault::Latency { millis: 25 })
                .site(Site::Github),
        );
        let dir = tempfile::tempdir().unwrap();
        fleet(dir.path(), &emu);
        // Killed once the forge has seen `after_requests` requests: the
        // points fall in the same phases however fast the machine is.
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
            .arg("sweep")
            .current_dir(dir.path())
            .env("DROVER_TEST_TOKEN", TOKEN)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        while emu.total_requests() < after_requests && child.try_wait().unwrap().is_none() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        // SIGKILL: no destructor, no flush.
        let _ = child.kill();
        let killed = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        let cut = !killed.success();
        let opened_before: usize = names
            .iter()
            .map(|n| {
                emu.proposals(Forge::Github, &format!("acme/{n}"))
                    .unwrap()
                    .len()
            })
            .sum();
        let branches_before = names
            .iter()
            .filter(|n| {
                emu.resolve(Forge::Github, &format!("acme/{n}"), "drover/sync")
                    .unwrap()
                    .is_some()
            })
            .count();
        eprintln!(
            "kill after {after_requests} requests: cut {cut}, {} requests, {branches_before} branches, {opened_before} pull requests",
            emu.total_requests()
        );

        emu.faults().set(Vec::new());
        let next = drover(
            dir.path(),
            &["sweep", "--json"],
            &[("DROVER_TEST_TOKEN", TOKEN)],
        )
        .await;
        assert_eq!(
            next.code, 0,
            "after a kill after {after_requests} requests: {}\n{}",
            next.stdout, next.stderr
        );
        for name in names {
            let pulls = emu
                .proposals(Forge::Github, &format!("acme/{name}"))
                .unwrap();
            assert_eq!(
                pulls.len(),
                1,
                "kill after {after_requests} requests (cut: {cut}): {name}: {pulls:#?}"
            );
            assert_eq!(pulls[0].state, ProposalState::Open);
            let tip = emu
                .commit_info(Forge::Github, &format!("acme/{name}"), "drover/sync")
                .unwrap()
                .unwrap();
            let main = emu
                .resolve(Forge::Github, &format!("acme/{name}"), "main")
                .unwrap()
                .unwrap();
            assert_eq!(tip.parents, [main], "{name}: one commit on the head");
        }
        let status = drover(dir.path(), &["status", "--json"], &[]).await;
        assert_eq!(status.code, 0, "store opens cleanly: {}", status.stderr);
        let lines: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
        assert!(
            lines
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["state"] == "proposal_open"),
            "{lines}"
        );
        // And a sweep after that writes nothing.
        emu.reset_counters();
        let again = drover(dir.path(), &["sweep"], &[("DROVER_TEST_TOKEN", TOKEN)]).await;
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert_eq!(writes(&emu), 0, "{:?}", emu.request_counts());
    }
}

/// The organisation `acme` holding a bare Rust repository per name.
async fn rust_org(names: &[&str]) -> Emulator {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_owner(Forge::Github, OwnerKind::Organization, "acme")
        .unwrap();
    emu.create_token(Forge::Github, "octo", TOKEN).unwrap();
    for name in names {
        emu.create_repo(
            Forge::Github,
            &format!("acme/{name}"),
            crate::harness::rust(name),
        )
        .unwrap();
    }
    emu
}

/// A webhook's sweep looks its repositories up by name in one GraphQL
/// request instead of listing the whole organisation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repositories_are_looked_up_by_name_in_one_request() {
    let emu = github().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    std::env::set_var("DROVER_TEST_TOKEN", TOKEN);
    let config = drover::config::Config::load(&dir.path().join("fleet.yaml")).unwrap();
    let forge = drover::forge::open(&config).unwrap();
    let before = forge.requests();
    let names: std::collections::BTreeSet<String> = [
        "acme/billing-api".to_owned(),
        "acme/ledger".to_owned(),
        "acme/no-such-repo".to_owned(),
        "other/billing-api".to_owned(),
    ]
    .into();
    let found = forge.lookup(&names).await.unwrap();
    let got: Vec<&str> = found.iter().map(|r| r.full_name.as_str()).collect();
    assert_eq!(got, ["acme/billing-api", "acme/ledger"]);
    assert!(found[0].head.is_some() && found[0].default_branch == "main");
    assert_eq!(forge.requests() - before, 1, "one request for all");
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_is_said_once_without_the_token() {
    let emu = github().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    let wrong = "ghp_notTheRightOne42";
    let run = drover(dir.path(), &["plan"], &[("DROVER_TEST_TOKEN", wrong)]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "said once: {}", run.stderr);
    assert_eq!(
        run.stderr.matches("GitHub rejected the token").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(!run.stderr.contains(wrong), "{}", run.stderr);
}
