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
//! and prints requests per repository for each sweep and the time ratios.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use drover::config::Config;
use drover::model::RemoteRepo;
use drover::model::Wrote;
use drover::render::{RenderContext, Renderer};
use drover::store::Store;
use drover::sweep::{self, SweepOptions};
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

/// One forge's figures.
struct Row {
    target: Target,
    drifted: usize,
    /// Requests and wall time of each sweep in `SWEEPS`.
    sweeps: Vec<(u64, Duration)>,
    clone: Duration,
}

fn main() {
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
    print_table(n, &rows);
}

async fn bench(target: Target, n: usize) -> Row {
    // The budgets out of the way: this measures requests, not pacing (a
    // GitLab.com budget of 2,000 a minute would throttle a 1,000-project
    // first sweep into its next minute and count the retries).
    let emu = Emulator::start(EmulatorConfig {
        rate_limits: drover_emulator::RateLimitConfig {
            gitlab: 1_000_000,
            github_core: 1_000_000,
            github_graphql: 1_000_000,
            ..Default::default()
        },
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

    let forge = drover::forge::open(&config).unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let options = SweepOptions {
        dry_run: false,
        ..SweepOptions::default()
    };
    let mut sweeps = Vec::new();
    for label in SWEEPS {
        emu.reset_counters();
        let started = Instant::now();
        let report = sweep::run(&config, &renderer, forge.as_ref(), Some(&store), &options)
            .await
            .unwrap();
        let elapsed = started.elapsed();
        let totals = report.totals();
        assert_eq!(totals.failed, 0, "{}: {label}: failures", target.name());
        assert_eq!(
            totals.drifted,
            drifted,
            "{}: {label}: drifted",
            target.name()
        );
        if target != Target::Local {
            // drover counts each SMTP submission (one per new sourcehut
            // patchset: one commit, one mail) as a request too.
            let mailed = if target == Target::Sourcehut {
                report
                    .repositories
                    .iter()
                    .filter(|r| {
                        r.proposal
                            .as_ref()
                            .is_some_and(|p| matches!(p.wrote, Wrote::Opened | Wrote::Updated))
                    })
                    .count() as u64
            } else {
                0
            };
            assert_eq!(
                emu.total_requests() + mailed,
                report.requests,
                "{}: {label}: drover's request count matches the emulator's: {:?}",
                target.name(),
                emu.request_counts()
            );
        }
        if std::env::var_os("DROVER_BENCH_VERBOSE").is_some() {
            eprintln!("{}: {label}: {:#?}", target.name(), emu.request_counts());
        }
        sweeps.push((report.requests, elapsed));
    }
    let clone = clone_all(target, &emu, n, dir.path()).await;
    Row {
        target,
        drifted,
        sweeps,
        clone,
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

fn print_table(n: usize, rows: &[Row]) {
    println!("\nsweep of {n} repositories per forge (10 % drifted); emulated forges on loopback");
    println!(
        "{:<10} {:>8} | {:>10} {:>9} | {:>10} {:>9} {:>10} | {:>14} {:>14}",
        "forge",
        "drifted",
        "1st: reqs",
        "per repo",
        "re: reqs",
        "per repo",
        "repos/req",
        "clone/re-sweep",
        "clone/1st"
    );
    for row in rows {
        let (first, first_t) = row.sweeps[0];
        let (quiet, quiet_t) = row.sweeps[1];
        let again = row.sweeps[2].0;
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
        println!(
            "{:<10} {:>8} | {:>10} {:>9.3} | {:>10} {:>9.3} {:>10} | {:>13.1}x {:>13.1}x",
            row.target.name(),
            row.drifted,
            first,
            per(first),
            quiet,
            per(quiet),
            repos_per,
            row.clone.as_secs_f64() / quiet_t.as_secs_f64(),
            row.clone.as_secs_f64() / first_t.as_secs_f64(),
        );
    }
    println!(
        "\nrequests: forge API requests drover made, SMTP submissions included (the emulator's count agrees); \
         the local forge reads the disk.\nratios: wall time of `git clone --depth 1` of every \
         repository from the same server over the sweep's; one run on a shared machine."
    );
}
