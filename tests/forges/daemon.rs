//! `drover daemon` against the emulated GitHub: scheduled sweeps open the
//! pull request once, a signed push webhook sweeps the repository again,
//! and /metrics reports the forge's answers by status and the rate-limit
//! budget GitHub's headers gave.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use drover_emulator::{Emulator, EmulatorConfig, Forge, OwnerKind, ProposalState};
use hmac::{Hmac, Mac};

use crate::harness::{rust, write_fleet};

const TOKEN: &str = "ghp_daemonTokenValue123";
const HOOK_SECRET: &str = "daemon-hook-secret";

struct Daemon {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(dir: &std::path::Path) -> Daemon {
    let log = dir.join("daemon.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(["daemon", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env_remove("DROVER_CONFIG")
        .env("DROVER_STATE_DIR", dir.join(".drover"))
        .env("DROVER_TEST_TOKEN", TOKEN)
        .env("HOOK_SECRET", HOOK_SECRET)
        .env("DROVER_LOG", "drover=info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line
    })
    .await
    .unwrap();
    let addr = line
        .trim()
        .strip_prefix("drover daemon listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Daemon {
        child,
        base: format!("http://{addr}"),
        log,
    }
}

impl Daemon {
    async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn sample(&self, name: &str) -> f64 {
        self.metrics()
            .await
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    async fn wait_for(&self, name: &str, at_least: f64) {
        let start = Instant::now();
        while self.sample(name).await < at_least {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {name} >= {at_least}; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_sweeps_github_and_reports_its_answers_and_budget() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_owner(Forge::Github, OwnerKind::Organization, "acme")
        .unwrap();
    emu.create_token(Forge::Github, "octo", TOKEN).unwrap();
    emu.create_repo(Forge::Github, "acme/billing-api", rust("billing-api"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_fleet(
        dir.path(),
        &format!(
            "forge:\n  kind: github\n  url: {}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\n\
             schedule:\n  cron: \"*/2 * * * * *\"\n  timezone: UTC\n\
             daemon:\n  webhooks:\n    github: env:HOOK_SECRET\n",
            emu.github_url()
        ),
    );
    let daemon = start(dir.path()).await;
    daemon
        .wait_for("drover_sweeps_total{result=\"ok\"}", 2.0)
        .await;
    let proposals = emu.proposals(Forge::Github, "acme/billing-api").unwrap();
    assert_eq!(proposals.len(), 1, "one pull request, however many sweeps");
    assert_eq!(proposals[0].state, ProposalState::Open);

    let metrics = daemon.metrics().await;
    assert!(
        daemon
            .sample("drover_forge_responses_total{forge=\"github\",status=\"200\"}")
            .await
            > 0.0,
        "{metrics}"
    );
    assert!(
        daemon
            .sample("drover_forge_responses_total{forge=\"github\",status=\"201\"}")
            .await
            > 0.0,
        "the pull request's creation is counted: {metrics}"
    );
    let budget = daemon
        .sample("drover_forge_rate_limit_remaining{forge=\"github\"}")
        .await;
    assert!(budget > 0.0 && budget < 5000.0, "{metrics}");

    // A signed push sweeps the repository once more.
    let body = br#"{"ref":"refs/heads/main","repository":{"full_name":"acme/billing-api"}}"#;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let before = daemon.sample("drover_sweeps_total{result=\"ok\"}").await;
    let status = reqwest::Client::new()
        .post(format!("{}/hooks/github", daemon.base))
        .header("X-GitHub-Event", "push")
        .header("X-Hub-Signature-256", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 202);
    daemon
        .wait_for("drover_sweeps_total{result=\"ok\"}", before + 1.0)
        .await;
    assert_eq!(
        emu.proposals(Forge::Github, "acme/billing-api")
            .unwrap()
            .len(),
        1
    );
    let log = std::fs::read_to_string(&daemon.log).unwrap();
    assert!(!log.contains(TOKEN) && !log.contains(HOOK_SECRET));
}

/// fleet.yaml written in `dir`, loaded as the daemon loads it, and the
/// store opened in `dir/.drover`.
async fn load_with_store(
    dir: &std::path::Path,
    fleet: &str,
) -> (drover::daemon::Loaded, drover::store::Store) {
    write_fleet(dir, fleet);
    let state = dir.join(".drover");
    let loaded = drover::daemon::load(dir.join("fleet.yaml"), Some(state.clone()))
        .await
        .unwrap();
    let store_dir = state.join("store");
    let store = tokio::task::spawn_blocking(move || drover::store::Store::open(&store_dir))
        .await
        .unwrap()
        .unwrap();
    (loaded, store)
}

/// A sweep that writes, as the daemon's would, stopped by `stop` if set.
async fn sweep_with(
    loaded: &drover::daemon::Loaded,
    store: &drover::store::Store,
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
) -> drover::sweep::SweepReport {
    let options = drover::sweep::SweepOptions {
        dry_run: false,
        stop,
        ..drover::sweep::SweepOptions::default()
    };
    drover::sweep::run(
        &loaded.config,
        &loaded.renderer,
        loaded.forge.as_ref(),
        Some(store),
        &options,
    )
    .await
    .unwrap()
}

/// The daemon in-process: given a listener, a shutdown future and a
/// channel of reloads. A GitLab push webhook for a project in a nested
/// subgroup sweeps exactly that project — not another one whose name
/// ends the same way —, the same delivery sent again queues nothing,
/// webhooks' sweeps never list the whole group, and a reload
/// answers with its outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitlab_push_for_a_nested_subgroup_project_sweeps_exactly_that_project() {
    use drover::daemon::{self, Daemon, Reload};
    use drover_emulator::CommitSeed;

    const GL_TOKEN: &str = "glpat-inProcessDaemon123";
    const NESTED: &str = "acme/platform/core/api";
    const TOP: &str = "acme/api";
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Gitlab, "gitlabber", GL_TOKEN)
        .unwrap();
    for repo in [NESTED, TOP] {
        emu.create_repo(Forge::Gitlab, repo, rust("api")).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), GL_TOKEN).unwrap();
    std::fs::write(dir.path().join("hook-secret"), HOOK_SECRET).unwrap();
    let fleet = format!(
        "forge:\n  kind: gitlab\n  url: {}\n  owner: acme\n  token: file:token\n\
         daemon:\n  webhooks:\n    gitlab: file:hook-secret\n",
        emu.gitlab_url()
    );
    let (loaded, store) = load_with_store(dir.path(), &fleet).await;

    // A first sweep records both projects and proposes to both.
    let first = sweep_with(&loaded, &store, None).await;
    let mut names: Vec<&str> = first.repositories.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["api", "platform/core/api"]);
    let tip = |repo: &str| {
        emu.commit_info(Forge::Gitlab, repo, "drover/sync")
            .unwrap()
            .expect("drover's branch")
            .oid
    };
    let before = [tip(NESTED), tip(TOP)];
    // Both default branches move: only a sweep of a project updates its
    // merge request for it.
    for repo in [NESTED, TOP] {
        emu.commit(
            Forge::Gitlab,
            repo,
            CommitSeed::new("main", "Add a stale Dockerfile").write("Dockerfile", "FROM scratch\n"),
        )
        .unwrap();
    }

    let discoveries = {
        let emu = &emu;
        move || {
            emu.exchanges()
                .iter()
                .filter(|e| {
                    e.request_body
                        .as_deref()
                        .is_some_and(|b| b.contains("DroverDiscover"))
                })
                .count()
        }
    };
    let listed_before = discoveries();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (reload_tx, reloads) = futures::channel::mpsc::unbounded::<Reload>();
    let history = store.clone();
    let running = daemon::run(
        Daemon { loaded, store },
        listener,
        async move {
            let _ = stopped.await;
        },
        reloads,
    );
    let drive = async move {
        let post_of = |repo: &'static str, token: &'static str, event: &'static str| {
            let body = format!(
                r#"{{"object_kind":"push","ref":"refs/heads/main","project":{{"path_with_namespace":"{repo}"}}}}"#
            );
            reqwest::Client::new()
                .post(format!("{base}/hooks/gitlab"))
                .header("X-Gitlab-Event", "Push Hook")
                .header("X-Gitlab-Event-UUID", event)
                .header("X-Gitlab-Token", token)
                .body(body)
                .send()
        };
        let post = |token: &'static str| post_of(NESTED, token, "evt-1");
        assert_eq!(post("forged").await.unwrap().status(), 401);
        let answer = post(HOOK_SECRET).await.unwrap();
        assert_eq!(answer.status(), 202);
        assert_eq!(
            answer.text().await.unwrap(),
            format!("sweep of {NESTED} queued\n")
        );
        // GitLab delivering the same event again queues nothing.
        let again = post(HOOK_SECRET).await.unwrap();
        assert_eq!(again.status(), 200);
        assert!(
            again.text().await.unwrap().contains("received before"),
            "a duplicate delivery"
        );
        let start = Instant::now();
        let last = loop {
            let store = history.clone();
            let sweeps = tokio::task::spawn_blocking(move || store.sweeps().unwrap())
                .await
                .unwrap();
            if sweeps.len() >= 2 {
                break sweeps.last().cloned().unwrap();
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no sweep after the webhook"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(last.only.as_deref(), Some("platform/core/api"), "{last:?}");
        assert_eq!(
            last.in_line + last.drifted + last.skipped + last.failed,
            1,
            "{last:?}"
        );
        assert_eq!(last.updated, 1, "{last:?}");
        assert_ne!(
            tip(NESTED),
            before[0],
            "the nested project's proposal is updated"
        );
        assert_eq!(tip(TOP), before[1], "the other `api` is not swept");

        // Two more deliveries (one of them sent twice).
        for (repo, event) in [(NESTED, "evt-2"), (TOP, "evt-3"), (TOP, "evt-3")] {
            let status = post_of(repo, HOOK_SECRET, event).await.unwrap().status();
            assert!(status == 202 || status == 200, "{status}");
        }
        let start = Instant::now();
        while tip(TOP) == before[1] {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no sweep of {TOP}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            discoveries(),
            listed_before,
            "webhooks' sweeps look their projects up, never list the group"
        );

        // A reload answers with its outcome: the error that kept the
        // running configuration, then Ok.
        let yaml = dir.path().join("fleet.yaml");
        std::fs::write(&yaml, format!("{fleet}colour: blue\n")).unwrap();
        let (request, outcome) = Reload::with_reply();
        reload_tx.unbounded_send(request).unwrap();
        let error = format!("{:#}", outcome.await.unwrap().unwrap_err());
        assert!(
            error.contains("fleet.yaml:") && error.contains("colour"),
            "{error}"
        );
        std::fs::write(&yaml, &fleet).unwrap();
        let (request, outcome) = Reload::with_reply();
        reload_tx.unbounded_send(request).unwrap();
        outcome.await.unwrap().unwrap();
        stop.send(()).unwrap();
    };
    let (ran, ()) = tokio::join!(running, drive);
    ran.unwrap();
}

/// A SIGTERM (the stop flag) before a drifted repository is proposed to
/// leaves it "not reached": drifted and waiting for the next sweep, not
/// failed, and nothing written to the forge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repositories_a_stopped_sweep_did_not_reach_are_not_reached_not_failed() {
    use drover::sweep::{RepoState, NOT_REACHED};

    const GL_TOKEN: &str = "glpat-notReached123";
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Gitlab, "gitlabber", GL_TOKEN)
        .unwrap();
    for repo in ["acme/api", "acme/billing"] {
        emu.create_repo(Forge::Gitlab, repo, rust("api")).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), GL_TOKEN).unwrap();
    let fleet = format!(
        "forge:\n  kind: gitlab\n  url: {}\n  owner: acme\n  token: file:token\n",
        emu.gitlab_url()
    );
    let (loaded, store) = load_with_store(dir.path(), &fleet).await;
    let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let report = sweep_with(&loaded, &store, Some(stopped)).await;
    assert_eq!(report.repositories.len(), 2);
    for repo in &report.repositories {
        assert_eq!(repo.state, RepoState::Drifted, "{repo:?}");
        assert_eq!(repo.waiting.as_deref(), Some(NOT_REACHED), "{repo:?}");
        assert!(repo.proposal.is_none());
    }
    assert_eq!(report.totals().failed, 0);
    for repo in ["acme/api", "acme/billing"] {
        assert!(emu.proposals(Forge::Gitlab, repo).unwrap().is_empty());
    }
    let history = tokio::task::spawn_blocking(move || store.sweeps().unwrap())
        .await
        .unwrap();
    assert_eq!(history.last().map(|s| s.failed), Some(0), "{history:?}");
}
