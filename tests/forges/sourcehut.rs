//! `drover sweep` against the emulated sourcehut: one patchset per drifted
//! repository, mailed over SMTP, whose mbox `git am` applies onto the
//! default branch giving exactly the rendered files; a re-sweep mails
//! nothing; new drift becomes a v2 in reply that supersedes v1; neither
//! the token nor the SMTP password appears anywhere drover writes.

use std::path::Path;

use drover_emulator::world::PatchsetStatus;
use drover_emulator::{CommitSeed, Emulator, EmulatorConfig, Forge, RepoSeed, Site};

use crate::harness::{drover, git, rust, write_fleet};

const TOKEN: &str = "srht-acme-token-value-123";
const PASSWORD: &str = "smtp-password-value-456";
const AUTHOR: &str = "drover@example.com";

async fn sourcehut() -> Emulator {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Sourcehut, "acme", TOKEN).unwrap();
    emu.create_repo(Forge::Sourcehut, "acme/billing-api", rust("billing-api"))
        .unwrap();
    emu.create_repo(Forge::Sourcehut, "acme/payments", rust("payments"))
        .unwrap();
    let go = RepoSeed::default()
        .file("go.mod", "module example.com/ledger\n\ngo 1.22\n")
        .file(".gitlab-ci.yml", "test:\n  script: [go test ./...]\n");
    emu.create_repo(Forge::Sourcehut, "acme/ledger", go)
        .unwrap();
    emu.create_repo(
        Forge::Sourcehut,
        "acme/notes",
        RepoSeed::default().file("README.md", "# notes\n"),
    )
    .unwrap();
    for repo in ["billing-api", "payments", "ledger", "notes"] {
        emu.srht_create_list("acme", &format!("{repo}-devel"))
            .unwrap();
    }
    emu
}

fn fleet(dir: &Path, emu: &Emulator) {
    fleet_with(dir, emu, "");
}

/// The fleet with `extra` lines in the forge section.
fn fleet_with(dir: &Path, emu: &Emulator, extra: &str) {
    write_fleet(
        dir,
        &format!(
            "forge:
  kind: sourcehut
  url: {git}
  lists_url: {lists}
  owner: acme
  token: env:DROVER_TEST_TOKEN
  smtp:
    host: 127.0.0.1
    port: {port}
    username: acme
    password: env:DROVER_TEST_SMTP_PASSWORD
    security: plain
{extra}defaults:
  author:
    name: drover
    email: {AUTHOR}
",
            git = emu.srht_git_url(),
            lists = emu.srht_lists_url(),
            port = emu.smtp_addr().port(),
        ),
    );
}

const ENV: [(&str, &str); 2] = [
    ("DROVER_TEST_TOKEN", TOKEN),
    ("DROVER_TEST_SMTP_PASSWORD", PASSWORD),
];

/// A clone of `~acme/repo` with the token as password.
fn clone_url(emu: &Emulator, repo: &str) -> String {
    emu.clone_url(Forge::Sourcehut, &format!("~acme/{repo}"))
        .replacen("://", &format!("://acme:{TOKEN}@"), 1)
}

/// Clones `repo` into `scratch/name` and `git am`s its newest patchset.
async fn apply_latest(
    emu: &Emulator,
    repo: &str,
    scratch: &Path,
    name: &str,
) -> std::path::PathBuf {
    let sets = emu
        .srht_patchsets("acme", &format!("{repo}-devel"))
        .unwrap();
    let latest = sets.last().expect("a patchset");
    let mbox = emu.srht_patchset_mbox(latest.id).unwrap();
    let url = clone_url(emu, repo);
    let scratch = scratch.to_path_buf();
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        git(&scratch, &["clone", "-q", &url, &name]);
        let work = scratch.join(&name);
        std::fs::write(scratch.join(format!("{name}.mbox")), &mbox).unwrap();
        git(&work, &["am", "-q", &format!("../{name}.mbox")]);
        work
    })
    .await
    .unwrap()
}

/// Every file below `dir`, relative, sorted (`.git` left out).
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `git am` of the mailed patch gives exactly what `drover render` writes.
async fn assert_applies_to_rendered(emu: &Emulator, dir: &Path, repo: &str, tag: &str) {
    let work = apply_latest(emu, repo, dir, &format!("{repo}-{tag}")).await;
    let author = git(&work, &["log", "-1", "--format=%ae %s"]);
    assert!(
        author.starts_with(&format!("{AUTHOR} drover: ")),
        "{author}"
    );
    let out = dir.join(format!("{repo}-{tag}-rendered"));
    let run = drover(
        dir,
        &["render", "--repo", repo, "--out", out.to_str().unwrap()],
        &ENV,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rendered = files(&out);
    assert!(!rendered.is_empty());
    for path in &rendered {
        let want = std::fs::read_to_string(out.join(path)).unwrap();
        let got = std::fs::read_to_string(work.join(path))
            .unwrap_or_else(|_| panic!("{repo}: {path} missing after git am"));
        assert_eq!(got, want, "{repo}: {path}");
    }
    // The go policy replaces GitLab CI with the forge's own.
    assert!(!work.join(".gitlab-ci.yml").exists(), "{repo}");
}

/// Every mail the intake received: filed in patchsets, or left over.
fn mails(emu: &Emulator) -> usize {
    let filed: usize = ["billing-api", "payments", "ledger", "notes"]
        .iter()
        .flat_map(|r| patchsets(emu, r))
        .map(|p| p.mails.len())
        .sum();
    filed + emu.inbox().len()
}

fn patchsets(emu: &Emulator, repo: &str) -> Vec<drover_emulator::world::Patchset> {
    emu.srht_patchsets("acme", &format!("{repo}-devel"))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_mails_one_patchset_per_drifted_repository() {
    let emu = sourcehut().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);
    let mut outputs = Vec::new();

    let run = drover(dir.path(), &["sweep", "--json"], &ENV).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let first: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    outputs.push(run);
    for repo in ["billing-api", "payments", "ledger"] {
        let sets = patchsets(&emu, repo);
        assert_eq!(sets.len(), 1, "{repo}: exactly one patchset");
        let set = &sets[0];
        assert_eq!(
            (set.prefix.as_deref(), set.version, set.status),
            (Some(repo), 1, PatchsetStatus::Proposed)
        );
        assert!(set.subject.starts_with("drover: "), "{}", set.subject);
    }
    assert!(patchsets(&emu, "notes").is_empty());
    assert_eq!(mails(&emu), 3);

    // The mailed patches apply with `git am` and give the rendered files.
    assert_applies_to_rendered(&emu, dir.path(), "billing-api", "v1").await;
    assert_applies_to_rendered(&emu, dir.path(), "ledger", "v1").await;

    // payments takes its patch: applied and pushed, it is in line.
    let work = apply_latest(&emu, "payments", dir.path(), "payments-push").await;
    tokio::task::spawn_blocking(move || git(&work, &["push", "-q", "origin", "main"]))
        .await
        .unwrap();

    // Same drift again: no mail, no new patchset.
    let run = drover(dir.path(), &["sweep", "--json"], &ENV).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let second: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    outputs.push(run);
    assert_eq!(mails(&emu), 3, "a re-sweep mails nothing");
    for repo in ["billing-api", "payments", "ledger"] {
        assert_eq!(patchsets(&emu, repo).len(), 1, "{repo}");
    }
    emu.reset_counters();
    let run = drover(dir.path(), &["sweep", "--json"], &ENV).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let third: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    outputs.push(run);
    assert_eq!(mails(&emu), 3);
    assert_eq!(third["requests"], emu.total_requests());
    eprintln!(
        "sourcehut forge requests per sweep: first {}, re-sweep {}, re-sweep with payments in line {}",
        first["requests"], second["requests"], third["requests"]
    );
    assert!(
        third["requests"].as_u64().unwrap() <= 3,
        "discovery, one git.sr.ht and one lists.sr.ht query: {:?}",
        emu.request_counts()
    );

    // New drift on ledger: v2 in reply to v1, and v1 superseded.
    emu.commit(
        Forge::Sourcehut,
        "~acme/ledger",
        CommitSeed::new("main", "Drop the GitLab CI").delete(".gitlab-ci.yml"),
    )
    .unwrap();
    let run = drover(dir.path(), &["sweep"], &ENV).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    outputs.push(run);
    let sets = patchsets(&emu, "ledger");
    assert_eq!(sets.len(), 2, "{sets:#?}");
    assert_eq!(
        (sets[0].status, sets[1].status, sets[1].version),
        (PatchsetStatus::Superseded, PatchsetStatus::Proposed, 2)
    );
    let v1_id = sets[0].mails[0].message_id.clone();
    assert_eq!(sets[1].mails[0].in_reply_to, v1_id);
    assert_applies_to_rendered(&emu, dir.path(), "ledger", "v2").await;
    assert_eq!(patchsets(&emu, "billing-api").len(), 1);

    // Secrets are nowhere drover writes.
    for run in &outputs {
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains(TOKEN) && !text.contains(PASSWORD));
        }
    }
    for secret in [TOKEN, PASSWORD] {
        crate::harness::assert_absent_under(&dir.path().join(".drover"), secret);
    }
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

/// A sourcehut with `~acme/billing-api`, whose Dockerfile is an old
/// version drover wrote (its header) grown past GraphQL's 128 KiB of
/// `text`, so it is read from the blob's content URL.
async fn one_large_file() -> Emulator {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Sourcehut, "acme", TOKEN).unwrap();
    let big: String = std::iter::once(
        "# Managed by drover from template rust/Dockerfile (an older version)\n".to_owned(),
    )
    .chain((0..6000).map(|i| format!("RUN echo line {i:05} of a long Dockerfile\n")))
    .collect();
    assert!(big.len() > 128 * 1024);
    emu.create_repo(
        Forge::Sourcehut,
        "acme/billing-api",
        rust("billing-api").file("Dockerfile", big),
    )
    .unwrap();
    emu.srht_create_list("acme", "billing-api-devel").unwrap();
    emu
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_files_are_read_whole_and_a_rejected_patch_is_not_mailed_again() {
    let emu = one_large_file().await;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);

    let run = drover(dir.path(), &["sweep"], &ENV).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let blob_reads: u64 = emu
        .request_counts()
        .into_iter()
        .filter(|((site, route), _)| *site == Site::SrhtGit && route.contains("blob"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(blob_reads, 1, "{:?}", emu.request_counts());
    // The patch replaces the large file line by line, so it applies.
    assert_applies_to_rendered(&emu, dir.path(), "billing-api", "v1").await;

    // A maintainer rejects it: the same change is not mailed again.
    let id = patchsets(&emu, "billing-api")[0].id;
    emu.world().lock().patchsets.get_mut(&id).unwrap().status = PatchsetStatus::Rejected;
    let run = drover(dir.path(), &["sweep"], &ENV).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("declined earlier, not proposed again"),
        "{}",
        run.stdout
    );
    assert_eq!(patchsets(&emu, "billing-api").len(), 1);
    assert!(emu.inbox().is_empty());
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_cut_short_is_read_again_before_it_is_patched() {
    let emu = one_large_file().await;
    // The content URL's first answer is a clean 200 with half the bytes.
    emu.faults().add(
        drover_emulator::FaultRule::new(drover_emulator::Fault::ShortBody)
            .site(Site::SrhtGit)
            .path("/query/blob/*/*")
            .limit(1),
    );
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), &emu);

    let run = drover(dir.path(), &["sweep"], &ENV).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(emu.faults().injected_count(), 1);
    let blob_reads = emu.request_count(Site::SrhtGit, "GET /query/blob/{repo}/{oid}");
    assert_eq!(blob_reads, 2, "{:?}", emu.request_counts());
    assert_applies_to_rendered(&emu, dir.path(), "billing-api", "v1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_drover_does_not_own_gets_the_new_version_and_an_error() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_token(Forge::Sourcehut, "acme", TOKEN).unwrap();
    emu.create_repo(Forge::Sourcehut, "acme/ledger", rust("ledger"))
        .unwrap();
    emu.srht_create_list("bob", "ledger").unwrap();
    let dir = tempfile::tempdir().unwrap();
    fleet_with(
        dir.path(),
        &emu,
        "  list_address: \"u.bob.{repo}@lists.example.org\"\n",
    );
    let run = drover(dir.path(), &["sweep"], &ENV).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    emu.commit(
        Forge::Sourcehut,
        "~acme/ledger",
        CommitSeed::new("main", "Add GitLab CI")
            .write(".gitlab-ci.yml", "test:\n  script: [cargo test]\n"),
    )
    .unwrap();
    let run = drover(dir.path(), &["sweep"], &ENV).await;
    assert_eq!(run.code, 3, "partial: {}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("only the owner of ~bob/ledger"),
        "{}",
        run.stdout
    );
    let sets = emu.srht_patchsets("bob", "ledger").unwrap();
    assert_eq!(
        sets.iter()
            .map(|s| (s.version, s.status))
            .collect::<Vec<_>>(),
        [(1, PatchsetStatus::Proposed), (2, PatchsetStatus::Proposed)]
    );
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}
