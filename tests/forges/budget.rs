//! A sweep bigger than the forge's rate-limit budget paces itself: it
//! waits for the reset when the wait is bounded and finishes; when it is
//! not, the repositories not reached are *waiting for budget* (not
//! failed, exit code 0), and the next sweep does them first. Deliberately
//! small budgets on the emulator; assertions on states and request
//! counts, never on how long anything took.

use std::path::Path;

use drover_emulator::{Emulator, EmulatorConfig, Forge, RateLimitConfig, Site};

use crate::harness::{drover, rust, write_fleet};

const GITLAB_TOKEN: &str = "glpat-emulatorTokenValue123";
const GITHUB_TOKEN: &str = "ghp_emulatorTokenValue123";

/// `n` drifted Rust services under `acme`.
fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("svc-{i:02}")).collect()
}

async fn emulator(forge: Forge, limits: RateLimitConfig, n: usize) -> Emulator {
    let emu = Emulator::start(EmulatorConfig {
        rate_limits: limits,
        ..Default::default()
    })
    .await
    .unwrap();
    match forge {
        Forge::Gitlab => emu.create_token(forge, "gitlabber", GITLAB_TOKEN).unwrap(),
        _ => {
            emu.create_owner(forge, drover_emulator::OwnerKind::Organization, "acme")
                .unwrap();
            emu.create_token(forge, "octo", GITHUB_TOKEN).unwrap();
        }
    }
    for name in names(n) {
        emu.create_repo(forge, &format!("acme/{name}"), rust(&name))
            .unwrap();
    }
    emu
}

fn fleet(dir: &Path, emu: &Emulator, forge: Forge) {
    let (kind, url) = match forge {
        Forge::Gitlab => ("gitlab", emu.gitlab_url()),
        _ => ("github", emu.github_url()),
    };
    write_fleet(
        dir,
        &format!(
            "forge:\n  kind: {kind}\n  url: {url}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\n"
        ),
    );
}

async fn sweep(dir: &Path, forge: Forge, args: &[&str]) -> (i32, serde_json::Value) {
    let token = match forge {
        Forge::Gitlab => GITLAB_TOKEN,
        _ => GITHUB_TOKEN,
    };
    let run = drover(dir, args, &[("DROVER_TEST_TOKEN", token)]).await;
    let report = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run.code, report)
}

/// The repositories of a report by state.
/// The names of the repositories in `state`, sorted: `drover sweep`
/// writes each as the sweep is done with it, so those the last sweep left
/// waiting come first.
fn by_state(report: &serde_json::Value, state: &str) -> Vec<String> {
    let mut names: Vec<String> = report["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == state)
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// A report in short: each repository's state and reason, the traffic.
fn summary(report: &serde_json::Value) -> String {
    let mut out = String::new();
    for r in report["repositories"].as_array().unwrap() {
        out.push_str(&format!(
            "{} {} {} {}\n",
            r["name"], r["state"], r["proposal"]["outcome"], r["reason"]
        ));
    }
    format!(
        "{out}requests {} traffic {}",
        report["requests"], report["traffic"]
    )
}

/// Answers that refused for the budget: GitLab's 429, GitHub's 403.
fn refusals(report: &serde_json::Value) -> u64 {
    ["429", "403"]
        .iter()
        .filter_map(|s| report["traffic"]["responses"][s].as_u64())
        .sum()
}

/// A budget of a few requests in a two-second window: drover waits for
/// each reset instead of spending into refusals, and every repository
/// gets its proposal.
async fn bounded_wait_finishes(forge: Forge, limits: RateLimitConfig) {
    let emu = emulator(forge, limits, 6).await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu, forge);

    let (code, report) = sweep(dir.path(), forge, &["sweep", "--json"]).await;
    assert_eq!(code, 0, "{}", summary(&report));
    assert_eq!(
        by_state(&report, "drifted"),
        names(6),
        "{}",
        summary(&report)
    );
    for r in report["repositories"].as_array().unwrap() {
        assert_eq!(r["proposal"]["outcome"], "opened", "{r}");
    }
    assert_eq!(
        refusals(&report),
        0,
        "paced, not refused: {}",
        summary(&report)
    );
    assert!(
        report["traffic"]["budget_wait_ms"].as_u64().unwrap_or(0) > 0,
        "the budget was waited for: {:#}",
        report["traffic"]
    );
    for name in names(6) {
        assert_eq!(
            emu.proposals(forge, &format!("acme/{name}")).unwrap().len(),
            1,
            "{name}"
        );
    }
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_waits_for_a_short_window_to_reset_and_finishes() {
    bounded_wait_finishes(
        Forge::Gitlab,
        RateLimitConfig {
            gitlab: 8,
            gitlab_window_secs: 2,
            ..RateLimitConfig::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_waits_for_short_windows_to_reset_and_finishes() {
    bounded_wait_finishes(
        Forge::Github,
        RateLimitConfig {
            github_core: 8,
            github_graphql: 8,
            github_window_secs: 2,
            ..RateLimitConfig::default()
        },
    )
    .await;
}

/// A budget that lasts part of the sweep and resets only in an hour:
/// the rest waits for budget (not failed, exit code 0, in the store), and
/// the next sweep reads and proposes those first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_that_resets_too_late_leaves_the_rest_waiting_for_the_next_sweep() {
    let forge = Forge::Gitlab;
    let small = RateLimitConfig {
        gitlab: 40,
        gitlab_window_secs: 3600,
        ..RateLimitConfig::default()
    };
    let emu = emulator(forge, small, 12).await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu, forge);

    let (code, report) = sweep(dir.path(), forge, &["sweep", "--json"]).await;
    assert_eq!(code, 0, "waiting is not failing: {}", summary(&report));
    assert_eq!(
        by_state(&report, "failed"),
        Vec::<String>::new(),
        "{}",
        summary(&report)
    );
    let waiting = by_state(&report, "waiting_for_budget");
    let proposed = by_state(&report, "drifted");
    assert!(
        !waiting.is_empty() && !proposed.is_empty(),
        "{}",
        summary(&report)
    );
    assert_eq!(waiting.len() + proposed.len(), 12, "{}", summary(&report));
    for r in report["repositories"].as_array().unwrap() {
        if r["state"] == "waiting_for_budget" {
            assert!(
                r["reason"].as_str().unwrap().contains("rate-limit budget"),
                "{r}"
            );
        }
    }
    // Nothing was sent once the budget was known to be spent.
    assert_eq!(refusals(&report), 0, "{}", summary(&report));
    assert_eq!(report["requests"], 40, "{}", summary(&report));

    // The store remembers them; `status` says so.
    let status = drover(dir.path(), &["status", "--json"], &[]).await;
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let mut remembered: Vec<String> = status
        .as_array()
        .unwrap_or_else(|| panic!("{status:#}"))
        .iter()
        .filter(|l| l["state"] == "waiting_for_budget")
        .map(|l| {
            l["repository"]
                .as_str()
                .unwrap()
                .trim_start_matches("acme/")
                .to_owned()
        })
        .collect();
    remembered.sort();
    assert_eq!(remembered, waiting, "{status:#}");
    let text = drover(dir.path(), &["status"], &[]).await;
    assert!(
        text.stdout.contains("waiting for budget"),
        "{}",
        text.stdout
    );

    // The budget resets: the next sweep reads those first.
    emu.rate_limits().configure(RateLimitConfig::default());
    emu.reset_counters();
    let (code, report) = sweep(dir.path(), forge, &["sweep", "--json"]).await;
    assert_eq!(code, 0, "{}", summary(&report));
    assert_eq!(
        by_state(&report, "drifted"),
        names(12),
        "{}",
        summary(&report)
    );
    let first_read = |name: &str| {
        emu.exchanges()
            .iter()
            .filter(|e| e.site == Site::Gitlab)
            .filter_map(|e| e.request_body.as_deref())
            .filter(|body| body.contains("DroverSnapshot"))
            .position(|body| body.contains(&format!("acme/{name}\\\"")))
            .unwrap_or_else(|| panic!("acme/{name} never read"))
    };
    let last_waiting = waiting.iter().map(|n| first_read(n)).max().unwrap();
    let first_other = proposed.iter().map(|n| first_read(n)).min().unwrap();
    assert!(
        last_waiting <= first_other,
        "waiting ones first: {waiting:?} by {last_waiting}, others from {first_other}"
    );
    for name in names(12) {
        assert_eq!(
            emu.proposals(forge, &format!("acme/{name}")).unwrap().len(),
            1,
            "{name}"
        );
    }
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}
