//! Progress over the repositories of a long command, on stderr: a bar on a
//! terminal, plain lines otherwise (a log, CI, a pipe), nothing with
//! `--quiet`. `migrate` reports its steps to it through
//! `migrate::Progress`; `plan` and `sweep` through [`Watched`], a forge
//! that tells the bar what the sweep asks of it, so the sweep itself knows
//! nothing of progress.

use std::collections::HashSet;
use std::io::IsTerminal as _;
use std::sync::Mutex;

use async_trait::async_trait;

use super::output::{cell, plural};
use super::Global;
use crate::forge::{http, Forge, ForgeError};
use crate::model::{
    ExistingProposal, ForgeNote, GitRemote, Proposed, RemoteRepo, RepoPath, Snapshot, Wanted,
};
use crate::proposal::Proposal;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Bar,
    Lines,
    Nothing,
}

impl Shown {
    /// A bar when stderr is a terminal (and `bar_allowed`), lines
    /// otherwise, nothing with `--quiet`.
    pub fn of(global: &Global, bar_allowed: bool) -> Shown {
        if global.quiet {
            Shown::Nothing
        } else if bar_allowed && std::io::stderr().is_terminal() {
            Shown::Bar
        } else {
            Shown::Lines
        }
    }
}

/// The progress of one command over the repositories.
pub struct Bar {
    pub(super) bar: indicatif::ProgressBar,
    shown: Shown,
    /// What the lines start with: `plan`, `sweep`.
    label: &'static str,
    /// Repositories counted already (a sweep may read one twice).
    counted: Mutex<HashSet<String>>,
}

impl Bar {
    pub fn new(shown: Shown, label: &'static str) -> Bar {
        let bar = indicatif::ProgressBar::new(0);
        if shown == Shown::Bar {
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} repositories [{elapsed}] {msg}",
                )
                .expect("valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
        } else {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        Bar {
            bar,
            shown,
            label,
            counted: Mutex::new(HashSet::new()),
        }
    }

    fn line(&self, text: &str) {
        if self.shown == Shown::Lines {
            eprintln!("{}: {text}", self.label);
        }
    }

    /// How many repositories the run goes through.
    pub fn start(&self, total: usize) {
        self.bar.set_length(total as u64);
        self.line(&plural(total, "repository", "repositories"));
    }

    /// `repo` reached `step`; `last` when that is its result, which
    /// counts it.
    pub fn step(&self, repo: &str, step: &str, last: bool) {
        let repo = cell(repo);
        if self.shown == Shown::Bar {
            self.bar.set_message(format!("{repo}: {step}"));
        }
        if last {
            self.bar.inc(1);
        }
        self.line(&format!("{repo}: {step}"));
    }

    /// `repos` were read; each counts once, however often it is read.
    pub fn read(&self, repos: &[RemoteRepo]) {
        let new = {
            let mut counted = self.counted.lock().expect("not poisoned");
            repos
                .iter()
                .filter(|r| counted.insert(r.full_name.clone()))
                .count()
        };
        if new == 0 {
            return;
        }
        self.bar.inc(new as u64);
        let (pos, len) = (self.bar.position(), self.bar.length().unwrap_or(0));
        self.line(&format!("read {pos} of {len}"));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The sweep `plan` and `sweep` share: fleet.yaml loaded, its forge
/// opened, the store opened (created only when the sweep writes), only
/// `repo` when one is named (which must exist), and progress shown as
/// `global` says, the lines starting with `label`. The whole report, in
/// discovery order.
pub async fn sweep_fleet(
    global: &Global,
    label: &'static str,
    dry_run: bool,
    repo: Option<&str>,
) -> anyhow::Result<Swept> {
    let mut reports = Vec::new();
    let streamed = sweep_fleet_into(global, label, dry_run, repo, &mut |i, r| {
        reports.push((i, r))
    })
    .await?;
    Ok(Swept {
        config: streamed.config,
        renderer: streamed.renderer,
        report: crate::sweep::SweepReport::gathered(streamed.summary, reports),
    })
}

/// [`sweep_fleet`], each repository's report handed to `sink` as the
/// sweep is done with it ([`crate::sweep::run_into`]).
pub async fn sweep_fleet_into(
    global: &Global,
    label: &'static str,
    dry_run: bool,
    repo: Option<&str>,
    sink: crate::sweep::Sink<'_>,
) -> anyhow::Result<Streamed> {
    let (config, renderer) = super::load(global).await?;
    let forge = crate::forge::open(&config)?;
    let store = super::open_store(&config, !dry_run).await?;
    let options = crate::sweep::SweepOptions {
        dry_run,
        only: repo.map(|name| crate::sweep::Only::Name(name.to_owned())),
        ..crate::sweep::SweepOptions::default()
    };
    let bar = Bar::new(Shown::of(global, true), label);
    let watched = Watched {
        forge: forge.as_ref(),
        bar: &bar,
    };
    let summary =
        crate::sweep::run_into(&config, &renderer, &watched, store.as_ref(), &options, sink).await;
    bar.finish();
    let summary = summary?;
    if let Some(name) = repo {
        anyhow::ensure!(
            summary.tally.repositories > 0,
            "no repository named `{name}` on the forge"
        );
    }
    Ok(Streamed {
        config,
        renderer,
        summary,
    })
}

/// A streamed sweep's summary, with what it was made from.
pub struct Streamed {
    pub config: crate::config::Config,
    pub renderer: crate::render::Renderer,
    pub summary: crate::sweep::SweepSummary,
}

/// A sweep's report, with what it was made from.
pub struct Swept {
    pub config: crate::config::Config,
    pub renderer: crate::render::Renderer,
    pub report: crate::sweep::SweepReport,
}

/// A forge that reports to a [`Bar`] as a sweep uses it: the repositories
/// discovered, each one read, each proposal written.
pub struct Watched<'a> {
    pub forge: &'a dyn Forge,
    pub bar: &'a Bar,
}

#[async_trait]
impl Forge for Watched<'_> {
    async fn discover(&self) -> Result<Vec<RemoteRepo>, ForgeError> {
        let repos = self.forge.discover().await?;
        self.bar.start(repos.len());
        Ok(repos)
    }

    async fn lookup(
        &self,
        full_names: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<RemoteRepo>, ForgeError> {
        let repos = self.forge.lookup(full_names).await?;
        self.bar.start(repos.len());
        Ok(repos)
    }

    fn remember_tips(&self, tips: Vec<(String, crate::model::BranchTip)>) {
        self.forge.remember_tips(tips);
    }

    async fn snapshot(
        &self,
        repos: &[RemoteRepo],
        wanted: &Wanted,
    ) -> Vec<Result<Snapshot, ForgeError>> {
        let snapshots = self.forge.snapshot(repos, wanted).await;
        self.bar.read(repos);
        snapshots
    }

    async fn read_files(
        &self,
        repo: &RemoteRepo,
        head: &str,
        files: &[(RepoPath, String)],
    ) -> Result<Vec<Vec<u8>>, ForgeError> {
        self.forge.read_files(repo, head, files).await
    }

    async fn comment(
        &self,
        repo: &RemoteRepo,
        proposal: &ExistingProposal,
        note: &ForgeNote,
        text: &str,
    ) -> Result<(), ForgeError> {
        self.forge.comment(repo, proposal, note, text).await
    }

    async fn close(
        &self,
        repo: &RemoteRepo,
        proposal: &ExistingProposal,
        note: &ForgeNote,
        comment: &str,
    ) -> Result<(), ForgeError> {
        self.forge.close(repo, proposal, note, comment).await
    }

    async fn author(&self) -> Result<Option<crate::config::Author>, ForgeError> {
        self.forge.author().await
    }

    async fn settle(
        &self,
        repo: &RemoteRepo,
        merged: &ExistingProposal,
        tip: Option<&crate::model::BranchTip>,
        note: &ForgeNote,
    ) -> Result<(), ForgeError> {
        self.forge.settle(repo, merged, tip, note).await
    }

    async fn propose(
        &self,
        repo: &RemoteRepo,
        proposal: &Proposal,
    ) -> Result<Proposed, ForgeError> {
        let proposed = self.forge.propose(repo, proposal).await;
        let step = if proposed.is_ok() {
            "proposed"
        } else {
            "failed"
        };
        self.bar.step(&repo.name, step, false);
        proposed
    }

    fn requests(&self) -> u64 {
        self.forge.requests()
    }

    fn git_remote(&self, name: &str) -> Result<GitRemote, ForgeError> {
        self.forge.git_remote(name)
    }

    async fn create_repo(
        &self,
        name: &str,
        description: &str,
        private: bool,
    ) -> Result<RemoteRepo, ForgeError> {
        self.forge.create_repo(name, description, private).await
    }

    async fn set_default_branch(&self, repo: &RemoteRepo, branch: &str) -> Result<(), ForgeError> {
        self.forge.set_default_branch(repo, branch).await
    }

    async fn archive(&self, repo: &RemoteRepo, description: &str) -> Result<(), ForgeError> {
        self.forge.archive(repo, description).await
    }

    fn traffic(&self) -> http::Traffic {
        self.forge.traffic()
    }

    fn progress(&self, done: u64, left: u64) {
        self.forge.progress(done, left);
    }
}
