//! What a sweep reports — per repository and as a whole — and, apart from
//! it, what the sweep keeps of each repository for its own later steps
//! (`Seen`): the public report is data for people and JSON; the planning
//! state never leaves the sweep.

use serde::Serialize;

use crate::drift::FileDrift;
use crate::facts::{Facts, Kind};
use crate::model::{
    BranchTip, ExistingProposal, ForgeNote, Outcome, Proposed, RemoteRepo, RepoPath, Wrote,
};
use crate::proposal::ProposalText;
use crate::render::SkippedFile;

/// Where a repository stands after a sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RepoState {
    InLine,
    Drifted,
    Skipped {
        reason: String,
    },
    /// Drifted, but what the templates render does not fit the repository
    /// (the reasons, one per file), so nothing is proposed.
    Misfit {
        reason: String,
    },
    Failed {
        reason: String,
    },
    /// Not finished because the forge's rate-limit budget ran out (not a
    /// failure: nothing is wrong with it); the next sweep does it first.
    WaitingForBudget {
        reason: String,
    },
}

impl RepoState {
    /// What the store keeps of it.
    pub fn outcome(&self) -> Outcome {
        match self {
            RepoState::InLine => Outcome::InLine,
            RepoState::Drifted => Outcome::Drifted,
            RepoState::Skipped { .. } => Outcome::Skipped,
            RepoState::Misfit { .. } => Outcome::Misfit,
            RepoState::Failed { .. } => Outcome::Failed,
            RepoState::WaitingForBudget { .. } => Outcome::WaitingForBudget,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            RepoState::InLine => "in line",
            RepoState::Drifted => "drifted",
            RepoState::Skipped { .. } => "skipped",
            RepoState::Misfit { .. } => "misfit",
            RepoState::Failed { .. } => "failed",
            RepoState::WaitingForBudget { .. } => "waiting for budget",
        }
    }
}

/// A managed path that exists without drover's header: written by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Takeover {
    pub path: RepoPath,
    /// Lines of the hand-written file.
    pub lines: usize,
    /// `kept` (not proposed, reported) or `replaced` (proposed, said first
    /// in the proposal).
    pub action: &'static str,
}

/// One repository's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct RepoReport {
    pub name: String,
    pub full_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// `service`, `cli` or `library`, when planned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// What the repository declares, when it was read (boxed: a report
    /// is kept for every repository of the fleet until the sweep ends, and
    /// most have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<Box<Facts>>,
    #[serde(flatten)]
    pub state: RepoState,
    /// Hand-written files at managed paths, kept or replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub takeovers: Vec<Takeover>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    pub drift: Vec<FileDrift>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_files: Vec<SkippedFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// In line by the store's record: head and rendering unchanged since
    /// the last sweep, so nothing was read.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unchanged: bool,
    /// In line again by other means: drover closed its proposal (URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
    /// Drifted, but a cap in `limits:` holds its new proposal back until a
    /// later sweep: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
}

impl RepoReport {
    pub(crate) fn new(repo: &RemoteRepo, state: RepoState) -> RepoReport {
        RepoReport {
            name: repo.name.clone(),
            full_name: repo.full_name.clone(),
            language: None,
            kind: None,
            facts: None,
            state,
            takeovers: Vec::new(),
            head: None,
            drift: Vec::new(),
            skipped_files: Vec::new(),
            proposal: None,
            fingerprint: None,
            unchanged: false,
            waiting: None,
            closed: None,
        }
    }
}

/// A whole sweep's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    pub forge: String,
    pub dry_run: bool,
    pub templates_fingerprint: String,
    pub repositories: Vec<RepoReport>,
    /// Forge requests this sweep made.
    pub requests: u64,
    /// The forge's answers during this sweep, by status, and its
    /// rate-limit budget at the end.
    pub traffic: crate::forge::http::Traffic,
}

/// Totals of a report, for the final line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub in_line: usize,
    pub drifted: usize,
    pub skipped: usize,
    pub misfit: usize,
    pub failed: usize,
    pub waiting_for_budget: usize,
}

/// What a sweep did to proposals.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Actions {
    pub opened: usize,
    pub updated: usize,
    pub closed: usize,
}

/// What a sweep counts of its repositories as it hands each report on:
/// all that the final line, the history, the daemon's metrics and the exit
/// status need, without the reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub repositories: usize,
    pub totals: Totals,
    pub actions: Actions,
    /// Drifted, held back for a later sweep (`limits:`, a shutdown).
    pub waiting: usize,
    /// Open proposals the forge left a reviewer or label out of.
    pub warned: usize,
}

impl Tally {
    pub fn add(&mut self, r: &RepoReport) {
        self.repositories += 1;
        let t = &mut self.totals;
        match r.state {
            RepoState::InLine => t.in_line += 1,
            RepoState::Drifted => t.drifted += 1,
            RepoState::Skipped { .. } => t.skipped += 1,
            RepoState::Misfit { .. } => t.misfit += 1,
            RepoState::Failed { .. } => t.failed += 1,
            RepoState::WaitingForBudget { .. } => t.waiting_for_budget += 1,
        }
        match r.proposal.as_ref().map(|p| p.wrote) {
            Some(Wrote::Opened) => self.actions.opened += 1,
            Some(Wrote::Updated) => self.actions.updated += 1,
            _ => {}
        }
        if r.closed.is_some() {
            self.actions.closed += 1;
        }
        self.waiting += usize::from(r.waiting.is_some());
        self.warned += usize::from(r.proposal.as_ref().is_some_and(|p| !p.warnings.is_empty()));
    }

    pub fn of<'r>(reports: impl IntoIterator<Item = &'r RepoReport>) -> Tally {
        let mut tally = Tally::default();
        for r in reports {
            tally.add(r);
        }
        tally
    }
}

/// A whole sweep's outcome without its repositories' reports, which went
/// one by one to the caller's sink ([`super::run_into`]).
#[derive(Debug, Clone, Serialize)]
pub struct SweepSummary {
    pub forge: String,
    pub dry_run: bool,
    pub templates_fingerprint: String,
    pub tally: Tally,
    pub requests: u64,
    pub traffic: crate::forge::http::Traffic,
}

impl SweepReport {
    /// The report of a streamed sweep: its summary and the reports its
    /// sink was handed, with their places in discovery order.
    pub fn gathered(summary: SweepSummary, mut reports: Vec<(usize, RepoReport)>) -> SweepReport {
        reports.sort_by_key(|(i, _)| *i);
        SweepReport {
            forge: summary.forge,
            dry_run: summary.dry_run,
            templates_fingerprint: summary.templates_fingerprint,
            repositories: reports.into_iter().map(|(_, r)| r).collect(),
            requests: summary.requests,
            traffic: summary.traffic,
        }
    }

    pub fn totals(&self) -> Totals {
        self.tally().totals
    }

    pub fn actions(&self) -> Actions {
        self.tally().actions
    }

    pub fn tally(&self) -> Tally {
        Tally::of(&self.repositories)
    }

    /// The summary of this report.
    pub fn summary(&self) -> SweepSummary {
        SweepSummary {
            forge: self.forge.clone(),
            dry_run: self.dry_run,
            templates_fingerprint: self.templates_fingerprint.clone(),
            tally: self.tally(),
            requests: self.requests,
            traffic: self.traffic.clone(),
        }
    }
}

/// What the sweep keeps of a repository between its steps, beside the
/// report: what the snapshot saw of drover's branch and proposals, the
/// render key the store records, and the proposal's words.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    pub render_key: Option<String>,
    pub branch_tip: Option<BranchTip>,
    pub existing: Vec<ExistingProposal>,
    pub head_tree: Option<String>,
    /// The forge's own note on the snapshot, for its `propose`, `comment`
    /// and `close`.
    pub note: ForgeNote,
    pub text: Option<ProposalText>,
    /// The digest of the title and body the proposal was built with, for
    /// the store (`proposal::words_digest`).
    pub words: Option<String>,
}

impl Seen {
    /// The open proposal drover's branch has, as the snapshot saw it.
    pub fn open_proposal(&self) -> Option<&ExistingProposal> {
        self.existing
            .iter()
            .find(|p| p.state == crate::model::ProposalFate::Open)
    }
}

/// One repository as the sweep carries it: its report and what it saw.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub report: RepoReport,
    pub seen: Seen,
}

impl Planned {
    pub fn new(repo: &RemoteRepo, state: RepoState) -> Planned {
        Planned {
            report: RepoReport::new(repo, state),
            seen: Seen::default(),
        }
    }
}
