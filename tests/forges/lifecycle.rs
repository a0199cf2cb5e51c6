//! The proposal lifecycle, rule by rule, on each forge. Every rule is one
//! function run against the emulated GitHub, GitLab and sourcehut: a fleet
//! of two drifted Rust repositories (`api`, `web`), a first sweep that
//! proposes for both, then what a person does on the forge and the sweeps
//! after it, asserted on the emulator's resulting state.
//!
//! "Nothing is written" is checked on the forge's whole observable state
//! (refs, proposals with their titles, bodies, states and comments,
//! patchsets, mail) and, on GitHub and GitLab, on the write requests too.

use std::path::{Path, PathBuf};

use drover_emulator::world::PatchsetStatus;
use drover_emulator::{
    CommitSeed, Emulator, EmulatorConfig, Forge, OwnerKind, Person, ProposalState, Site,
};

use crate::harness::{drover, git, rust, write_fleet, Run};

const GH_TOKEN: &str = "ghp_lifecycleTokenValue123";
const GL_TOKEN: &str = "glpat-lifecycleTokenValue123";
const SR_TOKEN: &str = "srht-lifecycle-token-value";
const SMTP_PASSWORD: &str = "smtp-lifecycle-password";
const AUTHOR: &str = "drover@example.com";
const REPOS: [&str; 2] = ["api", "web"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Github,
    Gitlab,
    Sourcehut,
}

/// One drover proposal as the forge shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    /// `open`, `closed`, `merged`; on sourcehut the patchset status
    /// (`proposed`, `superseded`, `rejected`, `applied`).
    state: String,
    version: u32,
    url_id: u64,
    body: String,
}

struct Lab {
    kind: Kind,
    emu: Emulator,
    dir: tempfile::TempDir,
    /// Override lines for fleet.yaml's `repositories.overrides`.
    overrides: String,
}

impl Lab {
    async fn new(kind: Kind) -> Lab {
        let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
        let forge = forge_of(kind);
        match kind {
            Kind::Github => {
                emu.create_owner(forge, OwnerKind::Organization, "acme")
                    .unwrap();
                emu.create_token(forge, "octo", GH_TOKEN).unwrap();
            }
            Kind::Gitlab => emu.create_token(forge, "gitlabber", GL_TOKEN).unwrap(),
            Kind::Sourcehut => emu.create_token(forge, "acme", SR_TOKEN).unwrap(),
        }
        for name in REPOS {
            emu.create_repo(forge, &format!("acme/{name}"), rust(name))
                .unwrap();
            if kind == Kind::Sourcehut {
                emu.srht_create_list("acme", &list_of(name)).unwrap();
            }
        }
        let lab = Lab {
            kind,
            emu,
            dir: tempfile::tempdir().unwrap(),
            overrides: String::new(),
        };
        lab.write_fleet();
        lab
    }

    fn forge(&self) -> Forge {
        forge_of(self.kind)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The emulator's name for a repository.
    fn path(&self, repo: &str) -> String {
        match self.kind {
            Kind::Sourcehut => format!("~acme/{repo}"),
            _ => format!("acme/{repo}"),
        }
    }

    fn write_fleet(&self) {
        let forge = match self.kind {
            Kind::Github => format!(
                "forge:\n  kind: github\n  url: {}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\n",
                self.emu.github_url()
            ),
            Kind::Gitlab => format!(
                "forge:\n  kind: gitlab\n  url: {}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\n",
                self.emu.gitlab_url()
            ),
            Kind::Sourcehut => format!(
                "forge:\n  kind: sourcehut\n  url: {}\n  lists_url: {}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\n  smtp:\n    host: 127.0.0.1\n    port: {}\n    username: acme\n    password: env:DROVER_TEST_SMTP_PASSWORD\n    security: plain\n",
                self.emu.srht_git_url(),
                self.emu.srht_lists_url(),
                self.emu.smtp_addr().port()
            ),
        };
        let overrides = if self.overrides.is_empty() {
            String::new()
        } else {
            format!("repositories:\n  overrides:\n{}", self.overrides)
        };
        write_fleet(
            self.dir(),
            &format!(
                "{forge}defaults:\n  labels: [drover]\n  author:\n    name: drover\n    email: {AUTHOR}\n{overrides}"
            ),
        );
    }

    fn token(&self) -> &'static str {
        match self.kind {
            Kind::Github => GH_TOKEN,
            Kind::Gitlab => GL_TOKEN,
            Kind::Sourcehut => SR_TOKEN,
        }
    }

    async fn drover(&self, args: &[&str]) -> Run {
        let env = [
            ("DROVER_TEST_TOKEN", self.token()),
            ("DROVER_TEST_SMTP_PASSWORD", SMTP_PASSWORD),
        ];
        let run = drover(self.dir(), args, &env).await;
        for text in [&run.stdout, &run.stderr] {
            assert!(
                !text.contains(self.token()) && !text.contains(SMTP_PASSWORD),
                "a secret leaked:\n{text}"
            );
        }
        run
    }

    async fn sweep(&self) -> Run {
        let run = self.drover(&["sweep"]).await;
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        self.emu.assert_conformant();
        run
    }

    /// `drover status --json`, by repository name.
    async fn status(&self, repo: &str) -> serde_json::Value {
        let run = drover(self.dir(), &["status", "--json"], &[]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let lines: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let full = match self.kind {
            Kind::Sourcehut => format!("~acme/{repo}"),
            _ => format!("acme/{repo}"),
        };
        lines
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["repository"] == full.as_str())
            .unwrap_or_else(|| panic!("{full} in {lines:#}"))
            .clone()
    }

    /// drover's proposals for `repo`, oldest first.
    fn proposals(&self, repo: &str) -> Vec<View> {
        match self.kind {
            Kind::Sourcehut => self
                .emu
                .srht_patchsets("acme", &list_of(repo))
                .unwrap()
                .into_iter()
                .map(|p| View {
                    state: format!("{:?}", p.status).to_lowercase(),
                    version: p.version,
                    url_id: p.id,
                    body: String::from_utf8_lossy(&p.mails[0].raw).into_owned(),
                })
                .collect(),
            _ => self
                .emu
                .proposals(self.forge(), &self.path(repo))
                .unwrap()
                .into_iter()
                .map(|p| View {
                    state: match p.state {
                        ProposalState::Open => "open",
                        ProposalState::Closed => "closed",
                        ProposalState::Merged => "merged",
                    }
                    .into(),
                    version: 1,
                    url_id: p.number,
                    body: p.body,
                })
                .collect(),
        }
    }

    /// What drover said on `repo`'s proposals: comments (GitHub, GitLab),
    /// replies in the threads (sourcehut).
    fn comments(&self, repo: &str) -> Vec<String> {
        match self.kind {
            Kind::Sourcehut => self
                .emu
                .srht_list_mails("acme", &list_of(repo))
                .unwrap()
                .into_iter()
                .filter(|m| m.subject.as_deref().is_some_and(|s| s.starts_with("Re: ")))
                .map(|m| {
                    // A reply keeps its thread's subject, prefix and all.
                    let subject = m.subject.clone().unwrap_or_default();
                    assert!(
                        subject.starts_with(&format!("Re: [PATCH {repo}")),
                        "{subject}"
                    );
                    String::from_utf8_lossy(&m.raw).into_owned()
                })
                .collect(),
            _ => self
                .emu
                .proposals(self.forge(), &self.path(repo))
                .unwrap()
                .into_iter()
                .flat_map(|p| p.comments.into_iter().map(|c| c.body))
                .collect(),
        }
    }

    /// Everything a person could see change on the forge for `repo`.
    fn footprint(&self, repo: &str) -> String {
        let refs = self.emu.refs(self.forge(), &self.path(repo)).unwrap();
        let proposals = match self.kind {
            Kind::Sourcehut => format!(
                "{:?}",
                self.emu
                    .srht_patchsets("acme", &list_of(repo))
                    .unwrap()
                    .iter()
                    .map(|p| (p.id, p.status, p.version, p.updated_at, p.mails.len()))
                    .collect::<Vec<_>>()
            ),
            _ => format!(
                "{:?}",
                self.emu
                    .proposals(self.forge(), &self.path(repo))
                    .unwrap()
                    .iter()
                    .map(|p| {
                        (
                            p.number,
                            p.state,
                            p.title.clone(),
                            p.body.clone(),
                            p.updated_at,
                            p.comments.len(),
                        )
                    })
                    .collect::<Vec<_>>()
            ),
        };
        let mail = match self.kind {
            Kind::Sourcehut => self
                .emu
                .srht_list_mails("acme", &list_of(repo))
                .unwrap()
                .len(),
            _ => 0,
        };
        format!("{refs:?}\n{proposals}\nmail on the list: {mail}")
    }

    /// Write requests since the last reset (GitHub, GitLab REST writes;
    /// on sourcehut every write is a mail or a lists mutation, seen in the
    /// footprint).
    fn writes(&self) -> u64 {
        let site = match self.kind {
            Kind::Github => Site::Github,
            Kind::Gitlab => Site::Gitlab,
            Kind::Sourcehut => return 0,
        };
        self.emu
            .request_counts()
            .into_iter()
            .filter(|((s, route), _)| {
                *s == site
                    && !route.starts_with("GET ")
                    && !route.starts_with("HEAD ")
                    && !route.ends_with("/graphql")
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// Runs a sweep and asserts that it wrote nothing at all.
    async fn assert_sweep_writes_nothing(&self) {
        let before: Vec<String> = REPOS.iter().map(|r| self.footprint(r)).collect();
        let mail = self.emu.inbox().len();
        self.emu.reset_counters();
        self.sweep().await;
        let after: Vec<String> = REPOS.iter().map(|r| self.footprint(r)).collect();
        assert_eq!(before, after, "{:?}: a sweep changed the forge", self.kind);
        assert_eq!(
            self.emu.inbox().len(),
            mail,
            "{:?}: a sweep sent mail",
            self.kind
        );
        assert_eq!(
            self.writes(),
            0,
            "{:?}: write requests {:?}",
            self.kind,
            self.emu.request_counts()
        );
    }

    fn main(&self, repo: &str) -> String {
        self.emu
            .resolve(self.forge(), &self.path(repo), "main")
            .unwrap()
            .unwrap()
    }

    /// drover's branch tip: (commit, parents, fingerprint trailer).
    fn tip(&self, repo: &str) -> Option<(String, Vec<String>, String)> {
        let info = self
            .emu
            .commit_info(self.forge(), &self.path(repo), "drover/sync")
            .unwrap()?;
        let fp = info
            .message
            .lines()
            .find_map(|l| l.strip_prefix("Drover-Fingerprint: "))
            .unwrap_or_default()
            .to_owned();
        Some((info.oid, info.parents, fp))
    }

    fn commit_main(&self, repo: &str, seed: CommitSeed) -> String {
        self.emu
            .commit(self.forge(), &self.path(repo), seed)
            .unwrap()
    }

    /// Changes what the templates render for `repo`.
    fn change_templates(&mut self, repo: &str, port: u16) {
        self.overrides = format!("    {repo}:\n      variables:\n        port: {port}\n");
        self.write_fleet();
    }

    fn clone_url(&self, repo: &str) -> String {
        let user = match self.kind {
            Kind::Github => "x-access-token",
            Kind::Gitlab => "oauth2",
            Kind::Sourcehut => "acme",
        };
        self.emu.clone_url(self.forge(), &self.path(repo)).replacen(
            "://",
            &format!("://{user}:{}@", self.token()),
            1,
        )
    }

    /// A maintainer takes drover's change: merges the branch with git
    /// (GitHub, GitLab: the forge marks the proposal merged), or `git am`s
    /// the newest patchset and pushes (sourcehut).
    async fn merge(&self, repo: &str) {
        let url = self.clone_url(repo);
        let scratch = self.dir().join(format!("merge-{repo}"));
        let mbox = match self.kind {
            Kind::Sourcehut => {
                let sets = self.emu.srht_patchsets("acme", &list_of(repo)).unwrap();
                Some(
                    self.emu
                        .srht_patchset_mbox(sets.last().unwrap().id)
                        .unwrap(),
                )
            }
            _ => None,
        };
        let root = self.dir().to_path_buf();
        tokio::task::spawn_blocking(move || {
            git(&root, &["clone", "-q", &url, scratch.to_str().unwrap()]);
            match mbox {
                Some(mbox) => {
                    let file = root.join("take.mbox");
                    std::fs::write(&file, mbox).unwrap();
                    git(&scratch, &["am", "-q", file.to_str().unwrap()]);
                }
                None => {
                    git(
                        &scratch,
                        &["merge", "-q", "--ff-only", "origin/drover/sync"],
                    );
                }
            }
            git(&scratch, &["push", "-q", "origin", "main"]);
        })
        .await
        .unwrap();
    }

    /// A person commits exactly what drover renders to the default branch.
    async fn fix_by_hand(&self, repo: &str) {
        let out = self.dir().join(format!("rendered-{repo}"));
        let run = self
            .drover(&["render", "--repo", repo, "--out", out.to_str().unwrap()])
            .await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let mut seed = CommitSeed::new("main", "Bring CI and deploy files up to date")
            .author(Person::new("Dev", "dev@example.com"));
        for path in files_under(&out) {
            let content = std::fs::read(out.join(&path)).unwrap();
            seed = seed.write(&path, content);
        }
        self.commit_main(repo, seed);
    }

    /// Someone else works on drover's proposal: a commit on drover's
    /// branch (GitHub, GitLab), or their own next version of the patch in
    /// drover's thread (sourcehut).
    async fn take_over(&self, repo: &str) {
        match self.kind {
            Kind::Sourcehut => {
                let first = &self.emu.srht_patchsets("acme", &list_of(repo)).unwrap()[0];
                let parent = first.mails[0].message_id.clone().unwrap();
                let to = first.mails[0].envelope_to.clone();
                let raw = format!(
                    "From: Dev <dev@example.com>\r\nTo: {to}\r\nSubject: [PATCH {repo} v2] Use a smaller base image\r\nMessage-ID: <dev.1@example.com>\r\nIn-Reply-To: {parent}\r\nReferences: {parent}\r\nDate: Thu, 03 Dec 2026 12:00:00 +0000\r\nContent-Type: text/plain\r\n\r\nA smaller image than drover's.\r\n---\r\ndiff --git a/Dockerfile b/Dockerfile\r\nnew file mode 100644\r\n--- /dev/null\r\n+++ b/Dockerfile\r\n@@ -0,0 +1 @@\r\n+FROM scratch\r\n-- \r\n2.47.0\r\n",
                    to = to[0],
                    parent = angle(&parent),
                );
                drover_emulator::sourcehut::smtp::deliver(
                    self.emu.state(),
                    "dev@example.com",
                    to,
                    raw.into_bytes(),
                );
            }
            _ => {
                self.emu
                    .commit(
                        self.forge(),
                        &self.path(repo),
                        CommitSeed::new("drover/sync", "Use a smaller base image")
                            .write("Dockerfile", "FROM scratch\n")
                            .author(Person::new("Dev", "dev@example.com")),
                    )
                    .unwrap();
            }
        }
    }

    /// A maintainer closes drover's proposal without merging it (rejects
    /// the patchset on sourcehut).
    fn decline(&self, repo: &str) {
        let mut world = self.emu.world().lock();
        match self.kind {
            Kind::Sourcehut => {
                let id = world
                    .patchsets
                    .values()
                    .filter(|p| p.prefix.as_deref() == Some(repo))
                    .map(|p| p.id)
                    .max()
                    .unwrap();
                world.patchsets.get_mut(&id).unwrap().status = PatchsetStatus::Rejected;
            }
            _ => {
                let repo_id = world.repo(self.forge(), &self.path(repo)).unwrap().id;
                let proposal = world
                    .proposals
                    .values_mut()
                    .find(|p| p.repo_id == repo_id && p.state == ProposalState::Open)
                    .unwrap();
                proposal.state = ProposalState::Closed;
            }
        }
    }

    /// The state drover's open proposal is in on this forge.
    fn open_state(&self) -> &'static str {
        match self.kind {
            Kind::Sourcehut => "proposed",
            _ => "open",
        }
    }

    /// A first sweep: one open proposal per repository.
    async fn start(kind: Kind) -> Lab {
        let lab = Lab::new(kind).await;
        let run = lab.sweep().await;
        for repo in REPOS {
            let views = lab.proposals(repo);
            assert_eq!(views.len(), 1, "{kind:?} {repo}: {views:?}\n{}", run.stdout);
            assert_eq!(views[0].state, lab.open_state());
        }
        lab
    }
}

fn forge_of(kind: Kind) -> Forge {
    match kind {
        Kind::Github => Forge::Github,
        Kind::Gitlab => Forge::Gitlab,
        Kind::Sourcehut => Forge::Sourcehut,
    }
}

/// The sourcehut list a repository's patches go to.
fn list_of(repo: &str) -> String {
    format!("{repo}-devel")
}

fn angle(id: &str) -> String {
    if id.starts_with('<') {
        id.to_owned()
    } else {
        format!("<{id}>")
    }
}

fn files_under(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path: PathBuf = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

// ---- the rules ----

/// The same drift again: no commit, no edit, no comment, no mail.
async fn same_drift_writes_nothing(kind: Kind) {
    let lab = Lab::start(kind).await;
    lab.assert_sweep_writes_nothing().await;
    lab.assert_sweep_writes_nothing().await;
    crate::harness::assert_absent_under(&lab.dir().join(".drover"), lab.token());
    crate::harness::assert_absent_under(&lab.dir().join(".drover"), SMTP_PASSWORD);
}

/// Different drift: the proposal is updated in place (a new commit on the
/// same branch, title and body updated); on sourcehut a v2 answering v1,
/// and v1 superseded. The other repository is untouched.
async fn different_drift_updates_in_place(kind: Kind) {
    let mut lab = Lab::start(kind).await;
    let before = lab.proposals("api");
    let web = lab.footprint("web");
    let old_tip = lab.tip("api");
    lab.change_templates("api", 9090);
    lab.sweep().await;
    let after = lab.proposals("api");
    assert_eq!(lab.footprint("web"), web, "{kind:?}: web untouched");
    match kind {
        Kind::Sourcehut => {
            assert_eq!(after.len(), 2, "{after:?}");
            assert_eq!(
                (
                    after[0].state.as_str(),
                    after[1].state.as_str(),
                    after[1].version
                ),
                ("superseded", "proposed", 2)
            );
            let sets = lab.emu.srht_patchsets("acme", "api-devel").unwrap();
            assert_eq!(sets[1].mails[0].in_reply_to, sets[0].mails[0].message_id);
            assert!(after[1].body.contains("EXPOSE 9090"), "{}", after[1].body);
        }
        _ => {
            assert_eq!(after.len(), 1, "{after:?}");
            assert_eq!(
                (after[0].state.as_str(), after[0].url_id),
                ("open", before[0].url_id)
            );
            let (_, parents, fp) = lab.tip("api").unwrap();
            let (old, _, old_fp) = old_tip.unwrap();
            assert_ne!(fp, old_fp, "a new commit with the new content");
            assert_eq!(
                parents,
                [lab.main("api")],
                "one commit on the default branch"
            );
            assert_ne!(lab.tip("api").unwrap().0, old);
            assert!(
                after[0].body.contains(&fp),
                "the body names the new content"
            );
            assert_ne!(after[0].body, before[0].body);
            let dockerfile = lab
                .emu
                .file(lab.forge(), &lab.path("api"), "drover/sync", "Dockerfile")
                .unwrap()
                .unwrap();
            assert!(String::from_utf8_lossy(&dockerfile).contains("EXPOSE 9090"));
        }
    }
    lab.assert_sweep_writes_nothing().await;
}

/// The default branch moved. drover's rule: on GitHub and GitLab its
/// commit always sits on the current head, so any move regenerates it (a
/// new commit on the new head, the same proposal); on sourcehut a mailed
/// patch is applied by `git am` wherever the head is, so a new version is
/// mailed only when the move changed the files the patch touches (it would
/// no longer apply).
async fn a_moved_default_branch_regenerates_what_no_longer_applies(kind: Kind) {
    let lab = Lab::start(kind).await;
    let mails = lab.emu.inbox().len();
    let head = lab.commit_main(
        "api",
        CommitSeed::new("main", "docs: readme").write("README.md", "# api\n"),
    );
    lab.emu.reset_counters();
    lab.sweep().await;
    match kind {
        Kind::Sourcehut => {
            assert_eq!(lab.emu.inbox().len(), mails, "the patch still applies");
            assert_eq!(lab.proposals("api").len(), 1);
        }
        _ => {
            let (_, parents, _) = lab.tip("api").unwrap();
            assert_eq!(parents, [head], "{kind:?}: regenerated on the new head");
            // The same changes, the same words: the title and body drover
            // sent are not sent again.
            let words = match kind {
                Kind::Github => lab.emu.request_count(
                    Site::Github,
                    "PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
                ),
                _ => lab.emu.request_count(
                    Site::Gitlab,
                    "PUT /api/v4/projects/{id}/merge_requests/{merge_request_iid}",
                ),
            };
            assert_eq!(words, 0, "{kind:?}: {:?}", lab.emu.request_counts());
            assert_eq!(lab.proposals("api").len(), 1);
            assert_eq!(lab.proposals("api")[0].state, "open");
        }
    }
    // A hand-written Dockerfile lands on the default branch: the change
    // drover proposed no longer applies as it was.
    let head = lab.commit_main(
        "api",
        CommitSeed::new("main", "A Dockerfile").write(
            "Dockerfile",
            "# Managed by drover from template rust/Dockerfile (an older version)\nFROM rust:1\n",
        ),
    );
    lab.sweep().await;
    let views = lab.proposals("api");
    match kind {
        Kind::Sourcehut => {
            assert_eq!(
                views.iter().map(|v| v.state.as_str()).collect::<Vec<_>>(),
                ["superseded", "proposed"]
            );
            assert!(views[1].body.contains("-FROM rust:1"), "{}", views[1].body);
        }
        _ => {
            assert_eq!(views.len(), 1);
            let (_, parents, _) = lab.tip("api").unwrap();
            assert_eq!(parents, [head]);
        }
    }
    lab.assert_sweep_writes_nothing().await;
}

/// Someone else works on drover's proposal: drover says so once and
/// leaves it alone; status shows it hands-off.
async fn someone_elses_work_means_hands_off(kind: Kind) {
    let lab = Lab::start(kind).await;
    lab.take_over("api").await;
    let tip = lab.tip("api");
    let web = lab.footprint("web");
    let run = lab.sweep().await;
    assert!(run.stdout.contains("hands off"), "{kind:?}: {}", run.stdout);
    let said = lab.comments("api");
    assert_eq!(said.len(), 1, "{kind:?}: said once: {said:?}");
    assert!(said[0].contains("this change is yours now"), "{}", said[0]);
    // A mail's body comes after its headers.
    let body = said[0].split_once("\n\n").map_or(&said[0][..], |(_, b)| b);
    let sentence = body.lines().find(|l| l.contains("is yours now")).unwrap();
    assert!(
        !sentence.contains(". "),
        "{kind:?}: one sentence: {sentence}"
    );
    if kind == Kind::Sourcehut {
        assert!(!body.contains("branch"), "no branches on sourcehut: {body}");
        // drover's version gives way to theirs on the list.
        let views = lab.proposals("api");
        let states: Vec<&str> = views.iter().map(|v| v.state.as_str()).collect();
        assert_eq!(states, ["superseded", "proposed"], "{views:?}");
    }
    assert_eq!(lab.tip("api"), tip, "{kind:?}: the branch is theirs");
    assert_eq!(lab.footprint("web"), web);
    assert_eq!(lab.status("api").await["state"], "hands_off");
    lab.assert_sweep_writes_nothing().await;
    assert_eq!(lab.comments("api").len(), 1);
}

/// Closed without merge (rejected): not proposed again for the same
/// content; a new proposal once the templates render something else.
async fn a_declined_change_is_not_proposed_again(kind: Kind) {
    let mut lab = Lab::start(kind).await;
    lab.decline("api");
    let run = lab.sweep().await;
    assert!(
        run.stdout.contains("declined earlier, not proposed again"),
        "{kind:?}: {}",
        run.stdout
    );
    assert_eq!(lab.proposals("api").len(), 1);
    assert_eq!(lab.status("api").await["state"], "declined");
    if kind != Kind::Sourcehut {
        // Its branch goes, and drover says so once; the store remembers.
        assert!(lab.tip("api").is_none(), "{kind:?}: the branch is deleted");
        let said = lab.comments("api");
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("its branch drover/sync is deleted"),
            "{}",
            said[0]
        );
    }
    lab.assert_sweep_writes_nothing().await;
    assert_eq!(lab.status("api").await["state"], "declined");

    lab.change_templates("api", 9191);
    lab.sweep().await;
    let views = lab.proposals("api");
    assert_eq!(views.len(), 2, "{kind:?}: {views:?}");
    assert_eq!(views[1].state, lab.open_state());
    assert_ne!(
        views[0].state,
        lab.open_state(),
        "the declined one stays declined"
    );
    assert_eq!(lab.status("api").await["state"], "proposal_open");
}

/// Merged (applied): recorded, and the repository is in line.
async fn a_merged_change_is_recorded_in_line(kind: Kind) {
    let lab = Lab::start(kind).await;
    lab.merge("api").await;
    let run = lab.sweep().await;
    assert!(
        run.stdout.contains("api: in line"),
        "{kind:?}: {}",
        run.stdout
    );
    let status = lab.status("api").await;
    assert_eq!(status["state"], "merged", "{status}");
    assert!(
        status["url"].is_string(),
        "the merged proposal is recorded: {status}"
    );
    assert!(lab.comments("api").is_empty(), "nothing to say on a merge");
    match kind {
        // Marked so on the list, as a maintainer would.
        Kind::Sourcehut => assert_eq!(lab.proposals("api")[0].state, "applied"),
        _ => {
            assert_eq!(lab.proposals("api")[0].state, "merged");
            // drover's branch does not outlive what it carried.
            assert!(lab.tip("api").is_none(), "{kind:?}: the branch is deleted");
        }
    }
    lab.assert_sweep_writes_nothing().await;
    assert_eq!(lab.status("api").await["state"], "merged");
}

/// The drift fixed by hand on the default branch: drover closes its
/// proposal (sourcehut: a reply, and the patchset superseded) with one
/// short comment; the other repository's proposal stays open.
async fn a_drift_fixed_by_hand_closes_the_proposal(kind: Kind) {
    let lab = Lab::start(kind).await;
    lab.fix_by_hand("api").await;
    let web = lab.footprint("web");
    lab.sweep().await;
    let views = lab.proposals("api");
    let closed = match kind {
        Kind::Sourcehut => "superseded",
        _ => "closed",
    };
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].state, closed, "{kind:?}");
    let said = lab.comments("api");
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("no longer needed"), "{}", said[0]);
    if kind != Kind::Sourcehut {
        // drover's own branch goes with it, and the comment says so.
        assert!(
            said[0].contains("Its branch drover/sync is deleted."),
            "{}",
            said[0]
        );
        assert!(lab.tip("api").is_none(), "{kind:?}: the branch is deleted");
    }
    assert_eq!(lab.footprint("web"), web);
    assert_eq!(lab.status("api").await["state"], "in_line");
    lab.assert_sweep_writes_nothing().await;
}

macro_rules! on_every_forge {
    ($($rule:ident),* $(,)?) => {
        mod github {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $rule() { super::$rule(super::Kind::Github).await })*
        }
        mod gitlab {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $rule() { super::$rule(super::Kind::Gitlab).await })*
        }
        mod sourcehut {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $rule() { super::$rule(super::Kind::Sourcehut).await })*
        }
    };
}

on_every_forge!(
    same_drift_writes_nothing,
    different_drift_updates_in_place,
    a_moved_default_branch_regenerates_what_no_longer_applies,
    someone_elses_work_means_hands_off,
    a_declined_change_is_not_proposed_again,
    a_merged_change_is_recorded_in_line,
    a_drift_fixed_by_hand_closes_the_proposal,
);
