//! The sweep benchmark (issue: forges, item 8). Not a timed test: it prints
//! request counts and wall-time *ratios* measured in one run.
//!
//!     cargo bench --bench sweep                          # 1,000 repositories, every forge
//!     DROVER_BENCH_REPOS=200 DROVER_BENCH_FORGES=github,gitlab cargo bench --bench sweep
//!
//! For each forge (GitHub, GitLab and sourcehut in the emulator, and the
//! local forge on disk) it seeds N Rust repositories, 10 % of them drifted
//! (no Dockerfile) and the rest exactly in line, then:
//! 1. sweeps (a proposal opened for each drifted one),
//! 2. re-sweeps with nothing changed, twice,
//! 3. shallow-clones every repository with `git clone --depth 1` from the
//!    same server (what a clone-based tool must do at the least, before it
//!    even compares),
//!
//! and prints requests per repository for each sweep, the time ratios, and
//! each sweep's peak resident set. Every sweep is a `drover sweep` process
//! (the emulator runs in this one), so its peak RSS is drover's alone:
//! `wait4`'s `ru_maxrss` for it, taken by a small process between the two
//! (this bench run again with `DROVER_BENCH_MEASURE=1`). Not by this one:
//! Linux carries the high-water mark of the address space a child was
//! spawned from into the child's `ru_maxrss` at `exec`, so a child spawned
//! straight from here would report the emulator's peak when it is larger.
//! `DROVER_BENCH_WRAP="heaptrack -o /tmp/drover"` runs each sweep under
//! that command (a profiler; the RSS printed is then the profiler's).
//!
//! `DROVER_BENCH_CLONE=0` leaves the clones out (their ratios print as 0).
//! `DROVER_BENCH_HOLD=1` keeps each seeded forge serving until told to go
//! on (it prints how), for sweeps run by hand against it.
//!
//! Pacing: `DROVER_BENCH_BUDGET=LIMIT/SECS` gives every rate-limit budget
//! (GitHub REST and GraphQL, GitLab's API; sourcehut documents none) LIMIT
//! requests per SECS-second window, deliberately smaller than the first
//! sweep needs, runs that first sweep to completion and prints its requests
//! per repository, the refusals it met, the time it spent waiting for
//! budgets and its peak RSS:
//!
//!     DROVER_BENCH_BUDGET=1000/10 DROVER_BENCH_REPOS=10000 DROVER_BENCH_CLONE=0 cargo bench --bench sweep
//!
//! The soak: `DROVER_BENCH_SOAK=20` seeds the same way, then runs `drover
//! daemon` with a one-second schedule and prints the daemon's peak and
//! current RSS after each of 20 sweeps (`scripts/soak.sh` wraps it):
//!
//!     DROVER_BENCH_SOAK=20 DROVER_BENCH_REPOS=1000 DROVER_BENCH_FORGES=gitlab cargo bench --bench sweep

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use drover::config::Config;
use drover::model::RemoteRepo;
use drover::render::{RenderContext, Renderer};
use drover_emulator::{Emulator, EmulatorConfig, Forge as EmuForge, OwnerKind, RepoSeed};

const TOKEN: &str = "bench-token-value-0123456789";
const SWEEPS: [&str; 3] = ["first sweep", "re-sweep, nothing changed", "re-sweep again"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Github,
    Gitlab,
    Sourcehut,
    Local,
}

impl Target {
    const ALL: [Target; 4] = [
        Target::Github,
        Target::Gitlab,
        Target::Sourcehut,
        Target::Local,
    ];

    fn name(self) -> &'static str {
        match self {
            Target::Github => "github",
            Target::Gitlab => "gitlab",
            Target::Sourcehut => "sourcehut",
            Target::Local => "local",
        }
    }

    fn emulated(self) -> Option<EmuForge> {
        match self {
            Target::Github => Some(EmuForge::Github),
            Target::Gitlab => Some(EmuForge::Gitlab),
            Target::Sourcehut => Some(EmuForge::Sourcehut),
            Target::Local => None,
        }
    }

    /// The `full_name` the forge's discovery gives a repository.
    fn full_name(self, name: &str) -> String {
        match self {
            Target::Github | Target::Gitlab => format!("acme/{name}"),
            Target::Sourcehut => format!("~acme/{name}"),
            Target::Local => format!("local/{name}"),
        }
    }
}

/// One sweep's figures.
struct Sweep {
    requests: u64,
    elapsed: Duration,
    /// The `drover sweep` process's peak resident set (KiB).
    peak_kib: u64,
    /// Waiting for rate-limit budgets, and answers refusing for them.
    waited: Duration,
    refusals: u64,
}

/// One forge's figures.
struct Row {
    target: Target,
    drifted: usize,
    /// Each sweep of `SWEEPS`.
    sweeps: Vec<Sweep>,
    clone: Duration,
}

fn main() {
    if std::env::var_os("DROVER_BENCH_MEASURE").is_some() {
        measure();
        return;
    }
    let n: usize = std::env::var("DROVER_BENCH_REPOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let targets: Vec<Target> = match std::env::var("DROVER_BENCH_FORGES") {
        Ok(list) => list
            .split(',')
            .map(|s| {
                *Target::ALL
                    .iter()
                    .find(|t| t.name() == s.trim())
                    .unwrap_or_else(|| panic!("unknown forge {s:?} in DROVER_BENCH_FORGES"))
            })
            .collect(),
        Err(_) => Target::ALL.to_vec(),
    };
    // SAFETY: set before the runtime starts any other thread.
    unsafe {
        std::env::set_var("DROVER_BENCH_TOKEN", TOKEN);
        std::env::set_var("DROVER_BENCH_SMTP_PASSWORD", TOKEN);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows: Vec<Row> = targets
        .into_iter()
        .map(|t| runtime.block_on(bench(t, n)))
        .collect();
    if let Some((limit, secs)) = small_budget() {
        print_budget_table(n, limit, secs, &rows);
    } else if soak_sweeps().is_none() {
        print_table(n, &rows);
    }
}

/// `DROVER_BENCH_BUDGET=LIMIT/SECS`: the first sweep only, every budget
/// LIMIT requests per SECS seconds.
fn small_budget() -> Option<(u64, u64)> {
    let v = std::env::var("DROVER_BENCH_BUDGET").ok()?;
    let (limit, secs) = v
        .split_once('/')
        .and_then(|(l, s)| Some((l.parse().ok()?, s.parse().ok()?)))
        .expect("DROVER_BENCH_BUDGET is LIMIT/SECS, e.g. 1000/10");
    Some((limit, secs))
}

/// `DROVER_BENCH_SOAK=N`: the soak instead of the three sweeps.
fn soak_sweeps() -> Option<usize> {
    std::env::var("DROVER_BENCH_SOAK")
        .ok()
        .map(|v| v.parse().expect("DROVER_BENCH_SOAK is a number of sweeps"))
}

/// Runs `drover sweep --report FILE` (its output discarded) and answers
/// its peak resident set in KiB: `wait4`'s `ru_maxrss` for it, taken by
/// [`measure`] in a process of its own (the emulator's own children, `git
/// http-backend`, do not count).
fn sweep_in_child(fleet: &Path, report: &Path) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("DROVER_BENCH_MEASURE", "1")
        .arg(env!("CARGO_BIN_EXE_drover"))
        .arg("--config")
        .arg(fleet)
        .arg("sweep")
        .arg("--report")
        .arg(report)
        .current_dir(fleet.parent().unwrap())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("the measuring process runs");
    assert!(
        out.status.success(),
        "measuring drover sweep: {}",
        out.status
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let (status, peak_kib) = text
        .trim()
        .split_once(' ')
        .and_then(|(s, p)| Some((s.parse::<i32>().ok()?, p.parse::<u64>().ok()?)))
        .unwrap_or_else(|| panic!("measuring process answered {text:?}"));
    assert!(
        status == 0,
        "drover sweep exited with status {status:#x}, see its stderr"
    );
    peak_kib
}

/// `DROVER_BENCH_MEASURE=1 sweep COMMAND ARGS…`: runs the command (behind
/// `DROVER_BENCH_WRAP`, if set) with its stdout discarded and prints its
/// wait status and peak RSS in KiB. This process is small when it spawns,
/// so the child's `ru_maxrss` is the child's own.
fn measure() {
    let mut args = std::env::args_os().skip(1);
    let wrap = std::env::var("DROVER_BENCH_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut command = match words.next() {
        Some(first) => {
            let mut c = std::process::Command::new(first);
            c.args(words)
                .arg(args.next().expect("a command to measure"));
            c
        }
        None => std::process::Command::new(args.next().expect("a command to measure")),
    };
    let child = command
        .args(args)
        .env_remove("DROVER_BENCH_MEASURE")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the measured command runs");
    let (status, peak_kib) = wait_with_rusage(child);
    println!("{status} {peak_kib}");
}

/// Waits for `child` and answers its wait status and peak RSS (KiB).
fn wait_with_rusage(child: std::process::Child) -> (i32, u64) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; `pid` is our child,
    // not yet waited for (`child` is dropped without `wait`).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    drop(child);
    (status, usage.ru_maxrss as u64)
}

/// The soak: `drover daemon` sweeping every second against the seeded
/// forge, printing the process's peak and current resident set after each
/// of `sweeps` sweeps. The peak is reset after each reading (`5` written
/// to `/proc/<pid>/clear_refs`), so each line is that sweep's own peak.
fn soak(target: Target, dir: &Path, fleet: &Path, emu: &Emulator, sweeps: usize) {
    use std::io::BufRead;
    let text = std::fs::read_to_string(fleet).unwrap();
    std::fs::write(fleet, format!("{text}schedule:\n  cron: \"* * * * * *\"\n")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_drover"))
        .arg("--config")
        .arg(fleet)
        .args(["daemon", "--listen", "127.0.0.1:0"])
        // "sweep done" is an info line; the daemon logs warnings by default.
        .env("DROVER_LOG", "info")
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("drover daemon runs");
    let pid = child.id();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    println!(
        "\nsoak: drover daemon on {}, one sweep a second",
        target.name()
    );
    println!(
        "{:>6} {:>14} {:>14} {:>10}",
        "sweep", "peak RSS MiB", "RSS after MiB", "requests"
    );
    let mut peaks = Vec::new();
    let mut last_requests = 0;
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.contains("sweep failed") || line.contains("ERROR") {
            eprintln!("{line}");
        }
        if !line.contains("sweep done") {
            continue;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let (peak, now) = (field("VmHWM:"), field("VmRSS:"));
        std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
        let requests = emu.total_requests();
        peaks.push(peak);
        println!(
            "{:>6} {:>14.1} {:>14.1} {:>10}",
            peaks.len(),
            peak as f64 / 1024.0,
            now as f64 / 1024.0,
            requests - last_requests
        );
        last_requests = requests;
        if peaks.len() == sweeps {
            break;
        }
    }
    // SAFETY: `pid` is our child, still running: SIGTERM stops it cleanly.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    child.wait().unwrap();
    if let (Some(second), Some(last)) = (peaks.get(1), peaks.last()) {
        println!(
            "last sweep's peak over the second's: {:+.1} %",
            (*last as f64 / *second as f64 - 1.0) * 100.0
        );
    }
}

async fn bench(target: Target, n: usize) -> Row {
    // The budgets out of the way: this measures requests, not pacing (a
    // GitLab.com budget of 2,000 a minute would throttle a 1,000-project
    // first sweep into its next minute and count the retries). GitLab's
    // GraphQL complexity limit stays GitLab's (250: the default), so the
    // GitLab rows count what a real instance would answer.
    let rate_limits = match small_budget() {
        Some((limit, secs)) => drover_emulator::RateLimitConfig {
            gitlab: limit,
            gitlab_window_secs: secs,
            github_core: limit,
            github_graphql: limit,
            github_window_secs: secs,
            ..Default::default()
        },
        None => drover_emulator::RateLimitConfig {
            gitlab: 1_000_000,
            github_core: 1_000_000,
            github_graphql: 1_000_000,
            ..Default::default()
        },
    };
    let emu = Emulator::start(EmulatorConfig {
        rate_limits,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.yaml");
    std::fs::write(&fleet, fleet_yaml(target, &emu)).unwrap();
    std::fs::create_dir_all(dir.path().join("repos")).unwrap();
    let config = Config::load(&fleet).unwrap();
    let renderer = Renderer::new(&config.templates).unwrap();

    match target {
        Target::Github => {
            emu.create_owner(EmuForge::Github, OwnerKind::Organization, "acme")
                .unwrap();
            emu.create_token(EmuForge::Github, "bench", TOKEN).unwrap();
        }
        Target::Gitlab => emu.create_token(EmuForge::Gitlab, "bench", TOKEN).unwrap(),
        Target::Sourcehut => emu
            .create_token(EmuForge::Sourcehut, "acme", TOKEN)
            .unwrap(),
        Target::Local => {}
    }
    let seeding = Instant::now();
    let drifted = seed(
        target,
        &emu,
        &config,
        &renderer,
        n,
        &dir.path().join("repos"),
    );
    eprintln!(
        "{}: seeded {n} repositories ({drifted} drifted) in {:.1?}",
        target.name(),
        seeding.elapsed()
    );

    if std::env::var_os("DROVER_BENCH_HOLD").is_some() {
        hold(target, dir.path(), &fleet).await;
    }
    if let Some(sweeps) = soak_sweeps() {
        soak(target, dir.path(), &fleet, &emu, sweeps);
        return Row {
            target,
            drifted,
            sweeps: Vec::new(),
            clone: Duration::ZERO,
        };
    }
    let mut sweeps = Vec::new();
    let runs = if small_budget().is_some() {
        1
    } else {
        SWEEPS.len()
    };
    for (i, label) in SWEEPS[..runs].iter().enumerate() {
        emu.reset_counters();
        let report_file = dir.path().join(format!("report-{i}.json"));
        let started = Instant::now();
        let peak_kib = sweep_in_child(&fleet, &report_file);
        let elapsed = started.elapsed();
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report_file).unwrap()).unwrap();
        let repos = report["repositories"].as_array().unwrap();
        let count = |state: &str| repos.iter().filter(|r| r["state"] == state).count();
        assert_eq!(count("failed"), 0, "{}: {label}: failures", target.name());
        assert_eq!(
            count("drifted"),
            drifted,
            "{}: {label}: drifted",
            target.name()
        );
        assert_eq!(count("waiting_for_budget"), 0, "{}: {label}", target.name());
        let requests = report["requests"].as_u64().unwrap();
        let traffic = &report["traffic"];
        let waited = Duration::from_millis(traffic["budget_wait_ms"].as_u64().unwrap_or(0));
        let refusals = ["429", "403"]
            .iter()
            .filter_map(|s| traffic["responses"][s].as_u64())
            .sum();
        if target != Target::Local {
            // drover counts each SMTP submission (one per new sourcehut
            // patchset: one commit, one mail) as a request too.
            let mailed = if target == Target::Sourcehut {
                repos
                    .iter()
                    .filter(|r| {
                        matches!(
                            r["proposal"]["outcome"].as_str(),
                            Some("opened" | "updated")
                        )
                    })
                    .count() as u64
            } else {
                0
            };
            assert_eq!(
                emu.total_requests() + mailed,
                requests,
                "{}: {label}: drover's request count matches the emulator's: {:?}",
                target.name(),
                emu.request_counts()
            );
        }
        if std::env::var_os("DROVER_BENCH_VERBOSE").is_some() {
            eprintln!("{}: {label}: {:#?}", target.name(), emu.request_counts());
        }
        eprintln!(
            "{}: {label}: {requests} requests, {:.1?}, peak RSS {:.1} MiB",
            target.name(),
            elapsed,
            peak_kib as f64 / 1024.0
        );
        sweeps.push(Sweep {
            requests,
            elapsed,
            peak_kib,
            waited,
            refusals,
        });
    }
    // DROVER_BENCH_CLONE=0 leaves the clones out (RSS runs).
    let clone = if std::env::var("DROVER_BENCH_CLONE").is_ok_and(|v| v == "0") {
        Duration::ZERO
    } else {
        clone_all(target, &emu, n, dir.path()).await
    };
    Row {
        target,
        drifted,
        sweeps,
        clone,
    }
}

/// `DROVER_BENCH_HOLD=1`: keeps the seeded forge serving until a file
/// named `done` appears beside its fleet.yaml, so that `drover sweep` can be
/// run against it by hand (under a profiler, or rebuilt between runs)
/// without seeding again. Then the bench goes on as usual.
async fn hold(target: Target, dir: &Path, fleet: &Path) {
    eprintln!(
        "{}: holding; run e.g.\n  (cd {} && DROVER_BENCH_TOKEN={TOKEN} DROVER_BENCH_SMTP_PASSWORD={TOKEN} drover --config {} sweep)\nand `touch {}` to go on",
        target.name(),
        dir.display(),
        fleet.display(),
        dir.join("done").display()
    );
    while !dir.join("done").exists() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn fleet_yaml(target: Target, emu: &Emulator) -> String {
    let forge = match target {
        Target::Github => format!(
            "  kind: github\n  url: {}\n  owner: acme\n  token: env:DROVER_BENCH_TOKEN\n",
            emu.github_url()
        ),
        Target::Gitlab => format!(
            "  kind: gitlab\n  url: {}\n  owner: acme\n  token: env:DROVER_BENCH_TOKEN\n",
            emu.gitlab_url()
        ),
        Target::Sourcehut => format!(
            "  kind: sourcehut\n  url: {}\n  lists_url: {}\n  owner: acme\n  token: env:DROVER_BENCH_TOKEN\n  smtp:\n    host: 127.0.0.1\n    port: {}\n    username: acme\n    password: env:DROVER_BENCH_SMTP_PASSWORD\n    security: plain\n",
            emu.srht_git_url(),
            emu.srht_lists_url(),
            emu.smtp_addr().port()
        ),
        Target::Local => "  kind: local\n  path: repos\n".to_owned(),
    };
    format!(
        "forge:\n{forge}state_dir: state\ndefaults:\n  author:\n    name: drover\n    email: drover@example.com\n"
    )
}

/// Seeds N Rust repositories: every tenth lacks its Dockerfile, the others
/// hold exactly what drover renders for them on this forge.
fn seed(
    target: Target,
    emu: &Emulator,
    config: &Config,
    renderer: &Renderer,
    n: usize,
    local_root: &Path,
) -> usize {
    let facts = drover::forge::forge_facts(config);
    let policy = config.policy("rust").unwrap();
    let mut drifted = 0;
    for i in 0..n {
        let name = format!("svc-{i:05}");
        let repo = RemoteRepo::named(&name, &target.full_name(&name));
        let mut files: Vec<(String, String)> = vec![
            (
                "Cargo.toml".into(),
                format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n[dependencies]\naxum = \"0.8\"\n"),
            ),
            ("Cargo.lock".into(), "version = 4\n".into()),
            ("src/main.rs".into(), "async fn main() {\n    let listener = tokio::net::TcpListener::bind(\"0.0.0.0:8080\").await.unwrap();\n}\n".into()),
        ];
        let base: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let repo_facts = drover::facts::Facts::read(&drover::facts::snapshot_of(&base));
        let ctx = RenderContext::new(config, &facts, &repo, "rust", &repo_facts);
        let (desired, _) = renderer.desired_files(policy, facts.ci, &[], &ctx).unwrap();
        let drift = i % 10 == 0;
        for f in desired {
            let Some(text) = drover::drift::new_file(&f) else {
                continue;
            };
            if drift && f.path.as_str() == "Dockerfile" {
                continue;
            }
            files.push((f.path.as_str().to_owned(), text));
        }
        drifted += usize::from(drift);
        match target.emulated() {
            Some(forge) => {
                let seed = files
                    .into_iter()
                    .fold(RepoSeed::default(), |s, (p, c)| s.file(&p, c));
                emu.create_repo(forge, &format!("acme/{name}"), seed)
                    .unwrap();
                if forge == EmuForge::Sourcehut {
                    emu.srht_create_list("acme", &format!("{name}-devel"))
                        .unwrap();
                }
            }
            None => local_repo(&local_root.join(&name), &files),
        }
    }
    drifted
}

/// A git repository with a work tree and one commit on `main`.
fn local_repo(path: &Path, files: &[(String, String)]) {
    let repo = git2::Repository::init_opts(
        path,
        git2::RepositoryInitOptions::new().initial_head("main"),
    )
    .unwrap();
    for (p, content) in files {
        let file = path.join(p);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("seed", "seed@example.com").unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "seed", &tree, &[])
        .unwrap();
}

/// `git clone --depth 1` of every repository, 8 at a time.
async fn clone_all(target: Target, emu: &Emulator, n: usize, scratch: &Path) -> Duration {
    let root = scratch.join("clones");
    std::fs::create_dir_all(&root).unwrap();
    let urls: Vec<String> = (0..n)
        .map(|i| {
            let name = format!("svc-{i:05}");
            match target.emulated() {
                Some(forge) => emu.clone_url(forge, &format!("acme/{name}")),
                None => format!("file://{}", scratch.join("repos").join(name).display()),
            }
        })
        .collect();
    let chunks: Vec<Vec<(usize, String)>> = urls
        .into_iter()
        .enumerate()
        .collect::<Vec<_>>()
        .chunks(n.div_ceil(8).max(1))
        .map(<[_]>::to_vec)
        .collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let root: PathBuf = root.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            for (i, url) in chunk {
                let status = std::process::Command::new("git")
                    .args(["clone", "-q", "--depth", "1", &url, &format!("r{i}")])
                    .current_dir(&root)
                    .status()
                    .unwrap();
                assert!(status.success(), "clone {url}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    started.elapsed()
}

/// The pacing run: the first sweep under a small budget, to completion.
fn print_budget_table(n: usize, limit: u64, secs: u64, rows: &[Row]) {
    println!(
        "\nfirst sweep of {n} repositories per forge (10 % drifted), every budget {limit} requests per {secs} s \
         (sourcehut: none documented, none emulated)"
    );
    println!(
        "{:<10} {:>8} | {:>9} {:>9} {:>9} | {:>10} {:>10} {:>8} | {:>13}",
        "forge",
        "drifted",
        "requests",
        "per repo",
        "refusals",
        "wall s",
        "waiting s",
        "waiting",
        "peak RSS MiB"
    );
    for row in rows {
        let s = &row.sweeps[0];
        println!(
            "{:<10} {:>8} | {:>9} {:>9.3} {:>9} | {:>10.1} {:>10.1} {:>7.0}% | {:>13.1}",
            row.target.name(),
            row.drifted,
            s.requests,
            s.requests as f64 / n as f64,
            s.refusals,
            s.elapsed.as_secs_f64(),
            s.waited.as_secs_f64(),
            s.waited.as_secs_f64() / s.elapsed.as_secs_f64() * 100.0,
            s.peak_kib as f64 / 1024.0,
        );
    }
    println!(
        "\nwaiting: time drover's requests spent in paced slots or waiting for a reset (overlaps once); \
         refusals: 429/403 answers for a spent budget; one run on a shared machine."
    );
}

fn print_table(n: usize, rows: &[Row]) {
    println!("\nsweep of {n} repositories per forge (10 % drifted); emulated forges on loopback");
    println!(
        "{:<10} {:>8} | {:>10} {:>9} | {:>10} {:>9} {:>10} | {:>14} {:>14} | {:>22}",
        "forge",
        "drifted",
        "1st: reqs",
        "per repo",
        "re: reqs",
        "per repo",
        "repos/req",
        "clone/re-sweep",
        "clone/1st",
        "peak RSS MiB 1st/re/re"
    );
    for row in rows {
        let (first, first_t) = (row.sweeps[0].requests, row.sweeps[0].elapsed);
        let (quiet, quiet_t) = (row.sweeps[1].requests, row.sweeps[1].elapsed);
        let again = row.sweeps[2].requests;
        assert_eq!(
            quiet,
            again,
            "{}: re-sweeps cost the same",
            row.target.name()
        );
        let per = |r: u64| r as f64 / n as f64;
        let repos_per = if quiet == 0 {
            "no network".to_owned()
        } else {
            format!("{:.1}", n as f64 / quiet as f64)
        };
        let peaks: Vec<String> = row
            .sweeps
            .iter()
            .map(|s| format!("{:.1}", s.peak_kib as f64 / 1024.0))
            .collect();
        println!(
            "{:<10} {:>8} | {:>10} {:>9.3} | {:>10} {:>9.3} {:>10} | {:>13.1}x {:>13.1}x | {:>22}",
            row.target.name(),
            row.drifted,
            first,
            per(first),
            quiet,
            per(quiet),
            repos_per,
            row.clone.as_secs_f64() / quiet_t.as_secs_f64(),
            row.clone.as_secs_f64() / first_t.as_secs_f64(),
            peaks.join("/"),
        );
    }
    println!(
        "\nrequests: forge API requests drover made, SMTP submissions included (the emulator's count agrees); \
         the local forge reads the disk.\nratios: wall time of `git clone --depth 1` of every \
         repository from the same server over the sweep's (each sweep a `drover sweep` process); \
         one run on a shared machine.\npeak RSS: each `drover sweep` process's own (wait4's ru_maxrss)."
    );
}
