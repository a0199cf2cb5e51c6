//! `drover sweep` against the emulated GitLab: a group with a subgroup,
//! one merge request per drifted project carrying exactly the rendered
//! files; a re-sweep writes nothing; once in line, a re-sweep costs only
//! the discovery page; throttling and server errors are retried through.

use std::path::Path;

use drover_emulator::{
    CommitSeed, Emulator, EmulatorConfig, Fault, FaultRule, Forge, ProposalState, RepoSeed, Site,
};

use crate::harness::{drover, git, rust, write_fleet};

const TOKEN: &str = "glpat-emulatorTokenValue123";

/// The drifted projects: one at the top of the group, one in a subgroup.
const DRIFTED: [&str; 2] = ["acme/billing-api", "acme/backend/ledger"];

pub(crate) async fn gitlab() -> Emulator {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Gitlab, "gitlabber", TOKEN).unwrap();
    let rust = RepoSeed::default()
        .file(
            "Cargo.toml",
            "[package]\nname = \"billing-api\"\nversion = \"0.1.0\"\n\n[dependencies]\naxum = \"0.8\"\n",
        )
        .file("Cargo.lock", "version = 4\n")
        .file("src/main.rs", crate::harness::SERVICE_MAIN);
    emu.create_repo(Forge::Gitlab, "acme/billing-api", rust)
        .unwrap();
    // A stale CI file: updated, not created.
    let go = RepoSeed::default()
        .file("go.mod", "module example.com/ledger\n\ngo 1.22\n")
        .file(
            ".gitlab-ci.yml",
            "# Managed by drover from template go/ci.gitlab.yml (an older version)\ntest:\n  script: [go test ./...]\n",
        );
    emu.create_repo(Forge::Gitlab, "acme/backend/ledger", go)
        .unwrap();
    emu.create_repo(
        Forge::Gitlab,
        "acme/backend/notes",
        RepoSeed::default().file("README.md", "# notes\n"),
    )
    .unwrap();
    emu.create_repo(
        Forge::Gitlab,
        "acme/attic",
        RepoSeed::default().file("go.mod", "module x\n").archived(),
    )
    .unwrap();
    // Another group's project is not swept.
    emu.create_repo(
        Forge::Gitlab,
        "other/tool",
        RepoSeed::default().file("go.mod", "module y\n"),
    )
    .unwrap();
    emu
}

pub(crate) fn fleet(dir: &Path, emu: &Emulator) {
    write_fleet(
        dir,
        &format!(
            "forge:\n  kind: gitlab\n  url: {}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\ndefaults:\n  labels: [drover, hygiene]\n",
            emu.gitlab_url()
        ),
    );
}

/// Requests that may change something: every REST call but reads.
fn writes(emu: &Emulator) -> u64 {
    emu.request_counts()
        .into_iter()
        .filter(|((site, route), _)| {
            *site == Site::Gitlab
                && !route.starts_with("GET ")
                && !route.starts_with("HEAD ")
                && route != "POST /api/graphql"
        })
        .map(|(_, n)| n)
        .sum()
}

async fn sweep(dir: &Path, args: &[&str]) -> crate::harness::Run {
    let run = drover(dir, args, &[("DROVER_TEST_TOKEN", TOKEN)]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(TOKEN), "token leaked:\n{text}");
    }
    run
}

/// Exactly one open merge request per drifted project, from drover's
/// branch: one commit on the default branch head holding the rendered
/// files.
async fn assert_one_merge_request_each(emu: &Emulator, dir: &Path) {
    for repo in DRIFTED {
        let mrs = emu.proposals(Forge::Gitlab, repo).unwrap();
        assert_eq!(mrs.len(), 1, "{repo}: exactly one merge request: {mrs:#?}");
        let mr = &mrs[0];
        assert_eq!(
            (mr.head.as_str(), mr.base.as_str()),
            ("drover/sync", "main")
        );
        assert_eq!(mr.state, ProposalState::Open);
        assert_eq!(mr.labels, ["drover", "hygiene"]);
        assert!(
            mr.body
                .starts_with(&format!("<!-- drover:proposal repo={repo} fingerprint=")),
            "{}",
            mr.body
        );
        let main = emu.resolve(Forge::Gitlab, repo, "main").unwrap().unwrap();
        let tip = emu
            .commit_info(Forge::Gitlab, repo, "drover/sync")
            .unwrap()
            .unwrap();
        assert_eq!(tip.parents, [main], "{repo}: one commit on the head");
        assert!(emu
            .file(
                Forge::Gitlab,
                repo,
                "drover/sync",
                ".github/workflows/ci.yml"
            )
            .unwrap()
            .is_none());

        // The branch holds exactly what drover renders for the project.
        let name = repo.strip_prefix("acme/").unwrap();
        let out = dir.join("rendered").join(name.replace('/', "_"));
        let run = drover(
            dir,
            &["render", "--repo", name, "--out", out.to_str().unwrap()],
            &[("DROVER_TEST_TOKEN", TOKEN)],
        )
        .await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let mut rendered = Vec::new();
        collect(&out, &out, &mut rendered);
        assert!(
            rendered.iter().any(|p| p == ".gitlab-ci.yml"),
            "{rendered:?}"
        );
        for path in rendered {
            let want = std::fs::read(out.join(&path)).unwrap();
            let got = emu
                .file(Forge::Gitlab, repo, "drover/sync", &path)
                .unwrap()
                .unwrap_or_else(|| panic!("{repo}: {path} missing on drover/sync"));
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "{repo}: {path}"
            );
        }
    }
    for quiet in ["acme/backend/notes", "acme/attic", "other/tool"] {
        assert!(emu.proposals(Forge::Gitlab, quiet).unwrap().is_empty());
        assert_eq!(
            emu.resolve(Forge::Gitlab, quiet, "drover/sync").unwrap(),
            None
        );
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).unwrap();
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_opens_one_merge_request_per_drifted_project() {
    let emu = gitlab().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);

    let run = sweep(dir.path(), &["sweep"]).await;
    for line in [
        "billing-api: drifted",
        "backend/ledger: drifted",
        "backend/notes: skipped (no policy matches",
        "attic: skipped (archived",
    ] {
        assert!(run.stdout.contains(line), "{line}:\n{}", run.stdout);
    }
    assert!(!run.stdout.contains("other/tool"), "{}", run.stdout);
    eprintln!(
        "GitLab first sweep, 4 projects (2 drifted): {} requests {:?}",
        emu.total_requests(),
        emu.request_counts()
    );
    assert_one_merge_request_each(&emu, dir.path()).await;

    // Same drift again: nothing is written.
    let before = emu.proposals(Forge::Gitlab, "acme/backend/ledger").unwrap();
    emu.reset_counters();
    let run = sweep(dir.path(), &["sweep"]).await;
    assert!(run.stdout.contains("unchanged"), "{}", run.stdout);
    assert_eq!(
        writes(&emu),
        0,
        "a re-sweep with the same drift writes nothing: {:?}",
        emu.request_counts()
    );
    eprintln!(
        "GitLab re-sweep, 2 drifted of 4 projects: {} requests {:?}",
        emu.total_requests(),
        emu.request_counts()
    );
    let after = emu.proposals(Forge::Gitlab, "acme/backend/ledger").unwrap();
    assert_eq!(
        (after.len(), after[0].updated_at),
        (before.len(), before[0].updated_at)
    );

    // Merge both branches by a push; the next sweep finds everything in
    // line and deletes drover's merged branches (a merge by a push is not
    // covered by `remove_source_branch`), nothing else, and the one after
    // costs only discovery.
    for repo in DRIFTED {
        merge_with_git(&emu, repo, dir.path()).await;
        // As on GitLab, a push that lands the source branch merges the MR.
        let mr = &emu.proposals(Forge::Gitlab, repo).unwrap()[0];
        assert_eq!(mr.state, ProposalState::Merged, "{repo}");
    }
    emu.reset_counters();
    let run = sweep(dir.path(), &["sweep"]).await;
    assert!(
        run.stdout.contains("2 in line, 0 drifted"),
        "{}",
        run.stdout
    );
    assert_eq!(
        (
            writes(&emu),
            emu.request_count(
                Site::Gitlab,
                "DELETE /api/v4/projects/{id}/repository/branches/{branch}"
            )
        ),
        (2, 2),
        "{:?}",
        emu.request_counts()
    );
    for repo in DRIFTED {
        assert_eq!(
            emu.resolve(Forge::Gitlab, repo, "drover/sync").unwrap(),
            None
        );
        assert_eq!(emu.proposals(Forge::Gitlab, repo).unwrap().len(), 1);
    }
    emu.reset_counters();
    let run = sweep(dir.path(), &["sweep", "--json"]).await;
    assert_eq!(
        emu.total_requests(),
        1,
        "only the discovery page: {:?}",
        emu.request_counts()
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["requests"], 1);

    crate::harness::assert_absent_under(&dir.path().join(".drover"), TOKEN);
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_are_retried_through() {
    let emu = gitlab().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    let faults = emu.faults();
    faults.add(
        FaultRule::new(Fault::TooManyRequests {
            retry_after_secs: 1,
        })
        .site(Site::Gitlab)
        .path("/api/graphql")
        .limit(2),
    );
    faults.add(
        FaultRule::new(Fault::ServerError { status: 502 })
            .site(Site::Gitlab)
            .method("POST")
            .path("/api/v4/**")
            .limit(2),
    );
    faults.add(
        FaultRule::new(Fault::ServerError { status: 502 })
            .site(Site::Gitlab)
            .method("GET")
            .path("/api/v4/**")
            .probability(0.5)
            .limit(3),
    );

    let run = sweep(dir.path(), &["sweep"]).await;
    assert!(run.stdout.contains("2 drifted"), "{}", run.stdout);
    let injected = emu.exchanges().iter().filter(|e| e.fault.is_some()).count();
    assert!(injected >= 4, "faults were injected: {injected}");
    assert_one_merge_request_each(&emu, dir.path()).await;
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

/// Someone (the harness's git identity, dev@example.com) commits `file`
/// to drover's branch of `repo` and pushes.
async fn human_commit(emu: &Emulator, scratch: &Path, repo: &str, file: &str, text: &str) {
    let url = emu
        .clone_url(Forge::Gitlab, repo)
        .replacen("://", &format!("://oauth2:{TOKEN}@"), 1);
    let (scratch, file, text) = (scratch.to_path_buf(), file.to_owned(), text.to_owned());
    tokio::task::spawn_blocking(move || {
        git(
            &scratch,
            &["clone", "-q", "-b", "drover/sync", &url, "human"],
        );
        let work = scratch.join("human");
        std::fs::write(work.join(&file), text).unwrap();
        git(&work, &["add", &file]);
        git(&work, &["commit", "-qm", "tweak"]);
        git(&work, &["push", "-q", "origin", "drover/sync"]);
    })
    .await
    .unwrap();
}

async fn merge_with_git(emu: &Emulator, repo: &str, scratch: &Path) {
    let url = emu
        .clone_url(Forge::Gitlab, repo)
        .replacen("://", &format!("://oauth2:{TOKEN}@"), 1);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_head_updates_a_closed_request_is_declined_and_a_human_commit_is_hands_off() {
    let emu = gitlab().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    sweep(dir.path(), &["sweep"]).await;

    // billing-api's default branch moves on; ledger's request is closed
    // unmerged.
    let main = emu
        .commit(
            Forge::Gitlab,
            "acme/billing-api",
            CommitSeed::new("main", "docs: readme").write("README.md", "# billing\n"),
        )
        .unwrap();
    {
        let mut world = emu.world().lock();
        let ledger = world.repo(Forge::Gitlab, "acme/backend/ledger").unwrap().id;
        let mr = world
            .proposals
            .values_mut()
            .find(|p| p.repo_id == ledger)
            .unwrap();
        mr.state = ProposalState::Closed;
    }
    emu.reset_counters();
    let run = sweep(dir.path(), &["sweep"]).await;
    assert!(run.stdout.contains("updated"), "{}", run.stdout);
    assert!(
        run.stdout.contains("declined earlier, not proposed again"),
        "{}",
        run.stdout
    );
    let tip = emu
        .commit_info(Forge::Gitlab, "acme/billing-api", "drover/sync")
        .unwrap()
        .unwrap();
    assert_eq!(tip.parents, [main], "rebased on the new head");
    let writes_of = |route: &str| emu.request_count(Site::Gitlab, route);
    assert_eq!(
        (
            writes_of("POST /api/v4/projects/{id}/repository/commits"),
            writes_of("PUT /api/v4/projects/{id}/merge_requests/{merge_request_iid}"),
            writes(&emu)
        ),
        // The title and description are as drover sent them: not sent
        // again. ledger's declined branch is deleted, with a note saying so.
        (1, 0, 3),
        "{:?}",
        emu.request_counts()
    );
    assert_eq!(
        emu.resolve(Forge::Gitlab, "acme/backend/ledger", "drover/sync")
            .unwrap(),
        None
    );
    for repo in DRIFTED {
        assert_eq!(emu.proposals(Forge::Gitlab, repo).unwrap().len(), 1);
    }

    // Someone commits to drover's branch: drover leaves it alone.
    human_commit(
        &emu,
        dir.path(),
        "acme/billing-api",
        "Dockerfile",
        "FROM scratch\n",
    )
    .await;
    emu.reset_counters();
    let run = sweep(dir.path(), &["sweep"]).await;
    assert!(
        run.stdout.contains("hands off") && run.stdout.contains("dev@example.com"),
        "{}",
        run.stdout
    );
    // It says so once, in a note, and writes nothing else, then or after.
    let routes = emu.request_counts();
    assert_eq!(
        (
            writes(&emu),
            writes_of("POST /api/v4/projects/{id}/merge_requests/{merge_request_iid}/notes")
        ),
        (1, 1),
        "{routes:?}"
    );
    let mr = &emu.proposals(Forge::Gitlab, "acme/billing-api").unwrap()[0];
    assert_eq!(mr.comments.len(), 1);
    assert!(
        mr.comments[0].body.contains("this change is yours now"),
        "{}",
        mr.comments[0].body
    );
    emu.reset_counters();
    sweep(dir.path(), &["sweep"]).await;
    assert_eq!(writes(&emu), 0, "{:?}", emu.request_counts());
    let status = drover(dir.path(), &["status"], &[]).await;
    assert!(
        status
            .stdout
            .lines()
            .any(|l| l.starts_with("acme/billing-api") && l.contains("hands off")),
        "{}",
        status.stdout
    );
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_or_an_unknown_group_says_what_to_do() {
    let emu = gitlab().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    let wrong = "glpat-notTheRightOne42";
    let run = drover(dir.path(), &["sweep"], &[("DROVER_TEST_TOKEN", wrong)]).await;
    assert_ne!(run.code, 0);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(all.matches("GitLab rejected the token").count(), 1, "{all}");
    assert_eq!(run.stderr.lines().count(), 1, "said once: {all}");
    assert!(!all.contains(wrong), "{all}");

    write_fleet(
        dir.path(),
        &format!(
            "forge:\n  kind: gitlab\n  url: {}/api/v4\n  owner: acme/nope\n  token: env:DROVER_TEST_TOKEN\n",
            emu.gitlab_url()
        ),
    );
    let run = drover(dir.path(), &["sweep"], &[("DROVER_TEST_TOKEN", TOKEN)]).await;
    assert_ne!(run.code, 0);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("no GitLab group `acme/nope`"), "{all}");
    assert!(!all.contains(TOKEN), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_and_twenty_projects_cost_two_discovery_pages_once_settled() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Gitlab, "gitlabber", TOKEN).unwrap();
    for i in 0..120 {
        let group = if i % 2 == 0 { "acme" } else { "acme/sub/deep" };
        let seed = RepoSeed::default().file("README.md", format!("# {i}\n"));
        emu.create_repo(Forge::Gitlab, &format!("{group}/p{i:03}"), seed)
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);

    let run = sweep(dir.path(), &["sweep", "--json"]).await;
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let repos = report["repositories"].as_array().unwrap();
    assert_eq!(repos.len(), 120);
    assert!(
        repos.iter().any(|r| r["name"] == "sub/deep/p001"),
        "{repos:?}"
    );
    // Two discovery pages and one snapshot query per 2 projects (each
    // ~120 of GitLab's 250); nothing wanted exists, and no directory on
    // the way does either, so nothing more is read.
    assert_eq!(report["requests"], 2 + 60);
    assert_eq!(
        emu.request_counts(),
        [((Site::Gitlab, "POST /api/graphql".to_owned()), 2 + 60)].into(),
    );
    assert_eq!(refused(&emu), Vec::<String>::new());
    emu.reset_counters();
    sweep(dir.path(), &["sweep"]).await;
    assert_eq!(emu.total_requests(), 2, "{:?}", emu.request_counts());
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

/// What drover renders for a Rust project `acme/{name}` on GitLab, as the
/// files an in-line project holds.
fn in_line_files(dir: &Path, name: &str) -> Vec<(String, String)> {
    use drover::model::RemoteRepo;
    use drover::render::{RenderContext, Renderer};
    let config = drover::config::Config::load(&dir.join("fleet.yaml")).unwrap();
    let renderer = Renderer::new(&config.templates).unwrap();
    let facts = drover::forge::forge_facts(&config);
    let repo = RemoteRepo::named(name, &format!("acme/{name}"));
    let base = crate::harness::rust_files(name);
    let base: Vec<(&str, &str)> = base.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let repo_facts = drover::facts::Facts::read(&drover::facts::snapshot_of(&base));
    let ctx = RenderContext::new(&config, &facts, &repo, "rust", &repo_facts);
    let policy = config.policy("rust").unwrap();
    let (desired, _) = renderer.desired_files(policy, facts.ci, &[], &ctx).unwrap();
    desired
        .iter()
        .filter_map(|f| Some((f.path.as_str().to_owned(), drover::drift::new_file(f)?)))
        .collect()
}

/// GitLab's snapshot query lists trees with blob ids but no contents: a
/// managed file whose id is its rendering's id is in line unread. Only
/// `block` files (whose outside belongs to the project) and files that
/// differ are read, one request each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_line_files_are_compared_by_blob_id_without_reading_them() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Gitlab, "gitlabber", TOKEN).unwrap();
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    for i in 0..12 {
        let name = format!("svc{i:02}");
        let mut seed = rust(&name);
        for (path, text) in in_line_files(dir.path(), &name) {
            // svc00's Dockerfile is stale.
            let text = if i == 0 && path == "Dockerfile" {
                text.replace("FROM", "from")
            } else {
                text
            };
            seed = seed.file(&path, text);
        }
        emu.create_repo(Forge::Gitlab, &format!("acme/{name}"), seed)
            .unwrap();
    }

    let run = sweep(dir.path(), &["sweep", "--json"]).await;
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let drifted: Vec<&str> = report["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == "drifted")
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(drifted, ["svc00"], "{}", run.stdout);
    let drift = &report["repositories"][0]["drift"];
    assert_eq!(drift.as_array().unwrap().len(), 1, "{drift}");
    let mut read: Vec<String> = emu
        .exchanges()
        .into_iter()
        .filter(|e| {
            e.route.as_deref() == Some("/api/v4/projects/{id}/repository/files/{file_path}/raw")
        })
        .map(|e| {
            let project = e.path.split('/').nth(4).unwrap().to_owned();
            let file = e.path.split('/').nth(7).unwrap().replace("%2F", "/");
            format!("{project}:{}", file.replace("%2E", "."))
        })
        .collect();
    read.sort();
    read.dedup();
    // Per project: the `.dockerignore` (block), and what the facts need
    // as text — `Cargo.toml` and, for a service, its `src/main.rs` (its
    // port); and svc00's stale Dockerfile.
    assert_eq!(read.len(), 37, "{read:#?}");
    for file in [":Cargo.toml", ":src/main.rs"] {
        assert_eq!(
            read.iter().filter(|r| r.ends_with(file)).count(),
            12,
            "{read:#?}"
        );
    }
    assert_eq!(
        read.iter()
            .filter(|r| r.ends_with(":.dockerignore"))
            .count(),
        12,
        "{read:#?}"
    );
    assert!(read.iter().any(|r| r.ends_with(":Dockerfile")), "{read:#?}");
    let mrs = emu.proposals(Forge::Gitlab, "acme/svc00").unwrap();
    assert_eq!(mrs.len(), 1, "{mrs:#?}");
    let want = in_line_files(dir.path(), "svc00")
        .into_iter()
        .find(|(p, _)| p == "Dockerfile")
        .unwrap()
        .1;
    let got = emu
        .file(Forge::Gitlab, "acme/svc00", "drover/sync", "Dockerfile")
        .unwrap()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&got), want);
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

/// Drift fixed by hand on the default branch: drover closes its merge
/// request with a note; the next sweep writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_request_is_closed_once_its_drift_is_fixed_by_hand() {
    let emu = gitlab().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    let first = sweep(dir.path(), &["sweep", "--json"]).await;
    let report: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    crate::harness::fix_by_hand(
        &emu,
        Forge::Gitlab,
        "acme/billing-api",
        crate::harness::report_of(&report, "billing-api"),
    );

    let second = sweep(dir.path(), &["sweep"]).await;
    assert!(
        second.stdout.contains("billing-api: in line → closed "),
        "{}",
        second.stdout
    );
    let mr = &emu.proposals(Forge::Gitlab, "acme/billing-api").unwrap()[0];
    assert_eq!(mr.state, ProposalState::Closed);
    assert_eq!(mr.comments.len(), 1, "{:#?}", mr.comments);
    assert!(mr.comments[0].body.contains("now matches the templates"));
    let ledger = &emu.proposals(Forge::Gitlab, "acme/backend/ledger").unwrap()[0];
    assert_eq!(ledger.state, ProposalState::Open);

    emu.reset_counters();
    sweep(dir.path(), &["sweep"]).await;
    assert_eq!(writes(&emu), 0, "{:?}", emu.request_counts());
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

/// A project in a nested subgroup gets Kubernetes names the Kubernetes API
/// accepts (RFC 1123 labels; the JSON schemas do not check names) and its
/// image under its whole path in the group's registry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_subgroup_project_gets_valid_names_and_its_full_image_path() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Gitlab, "gitlabber", TOKEN).unwrap();
    emu.create_repo(Forge::Gitlab, "acme/platform/core/api", rust("api"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    let run = sweep(dir.path(), &["sweep"]).await;
    assert!(
        run.stdout.contains("platform/core/api: drifted"),
        "{}",
        run.stdout
    );
    let file = |path: &str| {
        let bytes = emu
            .file(Forge::Gitlab, "acme/platform/core/api", "drover/sync", path)
            .unwrap()
            .unwrap_or_else(|| panic!("{path} not proposed"));
        String::from_utf8(bytes).unwrap()
    };
    let label = regex::Regex::new(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$").unwrap();
    for path in [
        "deploy/k8s/deployment.yaml",
        "deploy/k8s/service.yaml",
        "deploy/k8s/hpa.yaml",
    ] {
        let doc: serde_yaml::Value = serde_yaml::from_str(&file(path)).unwrap();
        let name = doc["metadata"]["name"].as_str().unwrap();
        assert_eq!(name, "platform-core-api", "{path}");
        assert!(label.is_match(name), "{path}: {name}");
        let app = doc["metadata"]["labels"]["app.kubernetes.io/name"]
            .as_str()
            .unwrap();
        assert!(label.is_match(app), "{path}: {app}");
        if path.ends_with("deployment.yaml") {
            let container = &doc["spec"]["template"]["spec"]["containers"][0];
            assert!(label.is_match(container["name"].as_str().unwrap()));
            let image = container["image"].as_str().unwrap();
            assert!(image.ends_with("/acme/platform/core/api:latest"), "{image}");
        }
    }
    assert!(file(".gitlab-ci.yml").contains("/acme/platform/core/api"));
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

/// The facts need manifests' texts, which GitLab's batched query does not
/// give: each is read once per version (cached by blob id in the store),
/// not once per sweep of a drifted project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_is_read_once_per_version_not_once_per_sweep() {
    let emu = gitlab().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    let reads = |file: &str| {
        emu.exchanges()
            .into_iter()
            .filter(|e| {
                e.route.as_deref() == Some("/api/v4/projects/{id}/repository/files/{file_path}/raw")
                    && e.path.contains(&file.replace('/', "%2F"))
            })
            .count()
    };
    sweep(dir.path(), &["sweep"]).await;
    let first = reads("Cargo.toml");
    assert!(first >= 1, "the first sweep reads the manifest");
    // The project stays drifted (its merge request is open): the next
    // sweeps snapshot it again, and find the manifest's text cached.
    sweep(dir.path(), &["sweep"]).await;
    sweep(dir.path(), &["sweep"]).await;
    assert_eq!(reads("Cargo.toml"), first);
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

/// GraphQL answers the emulator refused as GitLab does: over the
/// complexity or depth limit.
fn refused(emu: &Emulator) -> Vec<String> {
    emu.exchanges()
        .into_iter()
        .filter(|e| e.path == "/api/graphql")
        .filter_map(|e| e.response_body)
        .filter(|b| b.contains("which exceeds max"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_batches_are_sized_to_gitlabs_complexity_limit() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Gitlab, "gitlabber", TOKEN).unwrap();
    for i in 0..12 {
        let name = format!("svc-{i:02}");
        emu.create_repo(Forge::Gitlab, &format!("acme/{name}"), rust(&name))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);

    let run = sweep(dir.path(), &["sweep"]).await;
    assert!(run.stdout.contains("12 drifted"), "{}", run.stdout);
    // Not one query refused: every batch was sized to fit 250 up front.
    assert_eq!(refused(&emu), Vec::<String>::new());
    let graphql = emu.request_count(Site::Gitlab, "POST /api/graphql");
    eprintln!(
        "GitLab first sweep, 12 drifted projects: {} requests {:?}",
        emu.total_requests(),
        emu.request_counts()
    );
    // Discovery, two projects a snapshot query (each ~120 of 250), and a
    // follow-up for the directories on the way to missing ones.
    assert!(
        graphql <= 1 + 6 + 2,
        "{graphql}: {:?}",
        emu.request_counts()
    );

    // The re-sweep, every project drifted with its merge request open:
    // the merge requests come with the batched follow-up, not by REST, and
    // drover's branch tip is the one the store remembers (same commit id),
    // not read again.
    emu.reset_counters();
    let run = sweep(dir.path(), &["sweep"]).await;
    assert!(run.stdout.contains("unchanged"), "{}", run.stdout);
    assert_eq!(refused(&emu), Vec::<String>::new());
    eprintln!(
        "GitLab re-sweep, 12 drifted projects with open merge requests: {} requests {:?}",
        emu.total_requests(),
        emu.request_counts()
    );
    // Nor is `src/main.rs` (a service's entry source, which the facts
    // need once the cached `Cargo.toml` says "server") read again: the
    // text cache is asked once more before the forge.
    for route in [
        "GET /api/v4/projects/{id}/merge_requests",
        "GET /api/v4/projects/{id}/repository/branches/{branch}",
        "GET /api/v4/projects/{id}/repository/files/{file_path}/raw",
    ] {
        assert_eq!(emu.request_count(Site::Gitlab, route), 0, "{route}");
    }
    // Discovery, 6 snapshot queries and one follow-up with the 12
    // projects' merge requests (9 each): nothing else.
    assert_eq!(
        emu.request_counts(),
        [((Site::Gitlab, "POST /api/graphql".to_owned()), 1 + 6 + 1)].into(),
    );

    // Someone else pushes to drover's branch: its id is not the one
    // remembered, so the tip is read (and found not drover's).
    human_commit(&emu, dir.path(), "acme/svc-03", "NOTES.md", "mine\n").await;
    emu.reset_counters();
    let run = sweep(dir.path(), &["sweep"]).await;
    assert!(
        run.stdout.contains("hands off") && run.stdout.contains("has commits by dev@example.com"),
        "{}",
        run.stdout
    );
    assert_eq!(
        emu.request_count(
            Site::Gitlab,
            "GET /api/v4/projects/{id}/repository/branches/{branch}"
        ),
        1
    );
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

#[tokio::test]
async fn drovers_complexity_figures_are_what_gitlab_counts() {
    use drover::forge::gitlab::{
        lookup_query, snapshot_part, snapshot_query, Part, DISCOVER, DISCOVERY, LOOKUP_PART,
    };
    let emu = gitlab().await;
    let repo = drover::model::RemoteRepo {
        name: "api".into(),
        full_name: "acme/api".into(),
        default_branch: "main".into(),
        head: Some("0123456789abcdef0123456789abcdef01234567".into()),
        archived: false,
        fork: false,
        empty: false,
        forge_id: "1".into(),
        web_url: String::new(),
        private: true,
        description: None,
    };
    for (dirs, branch, merge_requests) in [
        (0, true, false),
        (1, true, false),
        (7, true, false),
        (3, false, true),
        (0, false, true),
        (2, true, true),
    ] {
        let part = Part {
            repo: &repo,
            dirs: (0..dirs).map(|i| format!("d{i}/e")).collect(),
            branch,
            merge_requests,
        };
        let query = snapshot_query(&[part], "drover/sync");
        let score = emu
            .gitlab_graphql_score(&query, serde_json::json!({}))
            .expect("drover's snapshot query validates");
        assert_eq!(
            score.complexity,
            snapshot_part(dirs, branch, merge_requests),
            "{query}"
        );
        assert!(score.depth <= 15, "{score:?}");
    }
    let discovery = emu
        .gitlab_graphql_score(
            DISCOVER,
            serde_json::json!({ "group": "acme", "after": null }),
        )
        .unwrap();
    assert_eq!(discovery.complexity, DISCOVERY);
    let lookup = emu
        .gitlab_graphql_score(&lookup_query(&["acme/a", "acme/b"]), serde_json::json!({}))
        .unwrap();
    assert_eq!(lookup.complexity, 2 * LOOKUP_PART);
}
