//! The per-repository pipeline and the fleet-wide sweep:
//! discover → snapshot → render → compare → propose.
//!
//! A sweep never fails as a whole once discovery has succeeded: every
//! repository ends with its own outcome (in line, drifted, skipped with a
//! reason, failed with a reason), and one repository's failure does not
//! stop the others.

mod facts;
pub mod select;

pub use facts::complete_facts;

use std::collections::{BTreeSet, HashMap};

use futures::stream::{self, StreamExt};
use serde::Serialize;
use tracing::Instrument;

pub use select::{detect_language, language_for, Only, Selection};

use crate::config::Config;
use crate::drift::{self, FileDrift};
use crate::facts::{Facts, Kind};
use crate::forge::{Forge, ForgeError};
use crate::model::{
    Actual, FileChange, ForgeNote, Mode, Outcome, ProposalFate, Proposed, RemoteRepo, RepoPath,
    Snapshot, Wanted, Wrote,
};
use crate::proposal::{self, Proposal, ProposalFacts};
use crate::render::{ForgeFacts, RenderContext, Renderer, SkippedFile};
use crate::store::{ProposalRecord, RepoRecord, Store, StoreError, SweepRecord};

/// How many repositories are snapshot in one forge call.
const SNAPSHOT_BATCH: usize = 50;

/// Knobs of one sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Compute and report, write nothing.
    pub dry_run: bool,
    /// Only this repository.
    pub only: Option<Only>,
    /// Repositories proposed to at once.
    pub concurrency: usize,
    /// Set by a shutdown: repositories not yet proposed to are left for
    /// the next sweep (reported failed, so they are looked at again), and
    /// the sweep goes straight to writing the store.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl SweepOptions {
    fn stopping(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
    }
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            dry_run: true,
            only: None,
            concurrency: 8,
            stop: None,
        }
    }
}

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
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            RepoState::InLine => "in line",
            RepoState::Drifted => "drifted",
            RepoState::Skipped { .. } => "skipped",
            RepoState::Misfit { .. } => "misfit",
            RepoState::Failed { .. } => "failed",
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
    /// What the repository declares, when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<Facts>,
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
    #[serde(skip)]
    render_key: Option<String>,
    /// drover's branch and proposals, as the snapshot saw them.
    #[serde(skip)]
    branch_tip: Option<crate::model::BranchTip>,
    #[serde(skip)]
    existing: Vec<crate::model::ExistingProposal>,
    #[serde(skip)]
    head_tree: Option<String>,
    /// The forge's own note on the snapshot, for its `propose`,
    /// `comment` and `close`.
    #[serde(skip)]
    note: ForgeNote,
    /// The proposal's words, kept for the forge step.
    #[serde(skip)]
    text: Option<proposal::ProposalText>,
}

impl RepoReport {
    fn new(repo: &RemoteRepo, state: RepoState) -> RepoReport {
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
            render_key: None,
            branch_tip: None,
            existing: Vec::new(),
            head_tree: None,
            note: ForgeNote::default(),
            text: None,
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
}

/// What a sweep did to proposals.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Actions {
    pub opened: usize,
    pub updated: usize,
    pub closed: usize,
}

impl SweepReport {
    pub fn totals(&self) -> Totals {
        SweepReport::totals_of(&self.repositories)
    }

    pub fn actions(&self) -> Actions {
        SweepReport::actions_of(&self.repositories)
    }

    fn actions_of(reports: &[RepoReport]) -> Actions {
        let mut a = Actions::default();
        for r in reports {
            match r.proposal.as_ref().map(|p| p.wrote) {
                Some(Wrote::Opened) => a.opened += 1,
                Some(Wrote::Updated) => a.updated += 1,
                _ => {}
            }
            if r.closed.is_some() {
                a.closed += 1;
            }
        }
        a
    }

    fn totals_of(reports: &[RepoReport]) -> Totals {
        let mut t = Totals::default();
        for r in reports {
            match r.state {
                RepoState::InLine => t.in_line += 1,
                RepoState::Drifted => t.drifted += 1,
                RepoState::Skipped { .. } => t.skipped += 1,
                RepoState::Misfit { .. } => t.misfit += 1,
                RepoState::Failed { .. } => t.failed += 1,
            }
        }
        t
    }
}

/// Runs a sweep: plans every repository and, unless `dry_run`, proposes
/// for each drifted one. Fails only if the repositories cannot be listed.
pub async fn run(
    config: &Config,
    renderer: &Renderer,
    forge: &dyn Forge,
    store: Option<&Store>,
    options: &SweepOptions,
) -> Result<SweepReport, SweepError> {
    let start_requests = forge.requests();
    let start_traffic = forge.traffic();
    let started_at = crate::store::now();
    let facts = crate::forge::forge_facts(config);
    let selection = Selection::new(config);

    let discovered = forge.discover().await?;
    let records = match store {
        Some(store) => load_records(store, &discovered).await?,
        None => HashMap::new(),
    };
    let mut reports: Vec<Option<RepoReport>> = Vec::new();
    let mut to_read: Vec<(usize, RemoteRepo)> = Vec::new();
    let mut selected: Vec<RemoteRepo> = Vec::new();
    for repo in discovered {
        if options
            .only
            .as_ref()
            .is_some_and(|only| !only.matches(&repo))
        {
            continue;
        }
        // Recorded too, skipped ones included: `drover status` shows them.
        selected.push(repo.clone());
        if let Some(reason) = selection.skip_reason(&repo) {
            reports.push(Some(RepoReport::new(&repo, RepoState::Skipped { reason })));
            continue;
        }
        if let Some(reason) = not_drovers_branch(config, &repo) {
            reports.push(Some(RepoReport::new(&repo, RepoState::Failed { reason })));
            continue;
        }
        match unchanged_in_line(
            config,
            renderer,
            &facts,
            &repo,
            records.get(&repo.full_name),
        ) {
            Some(report) => reports.push(Some(report)),
            None => {
                to_read.push((reports.len(), repo));
                reports.push(None);
            }
        }
    }

    let wanted = wanted(config);
    for batch in to_read.chunks(SNAPSHOT_BATCH) {
        let repos: Vec<RemoteRepo> = batch.iter().map(|(_, r)| r.clone()).collect();
        let mut snapshots = forge.snapshot(&repos, &wanted).await;
        facts::complete_facts(forge, &repos, &mut snapshots).await;
        let facts = &facts;
        let snapshots = futures::future::join_all(batch.iter().zip(snapshots).map(
            |((_, repo), snapshot)| async move {
                complete_snapshot(config, renderer, facts, forge, repo, snapshot?).await
            },
        ))
        .await;
        for ((slot, repo), snapshot) in batch.iter().zip(snapshots) {
            let report = match snapshot {
                Ok(snapshot) => plan_repo(config, renderer, facts, repo, &snapshot),
                Err(e) => RepoReport::new(
                    repo,
                    RepoState::Failed {
                        reason: format!("snapshot: {e}"),
                    },
                ),
            };
            reports[*slot] = Some(report);
        }
    }
    let mut reports: Vec<RepoReport> = reports
        .into_iter()
        .map(|r| r.expect("every slot filled"))
        .collect();

    if !options.dry_run {
        hold_back_over_limits(&config.fleet.limits, &mut reports, &records);
        let by_name: HashMap<&str, &RemoteRepo> =
            to_read.iter().map(|(_, r)| (r.name.as_str(), r)).collect();
        let jobs = reports
            .iter_mut()
            .filter(|r| r.state == RepoState::Drifted && r.waiting.is_none())
            .map(|report| {
                let repo = by_name[report.name.as_str()];
                let span = tracing::info_span!("repo", name = %repo.full_name.escape_debug());
                async move {
                    if options.stopping() {
                        report.state = RepoState::Failed {
                            reason:
                                "not proposed: drover was shutting down; the next sweep goes on"
                                    .into(),
                        };
                        return;
                    }
                    let proposal = build_proposal(config, repo, report);
                    tracing::debug!(fingerprint = %proposal.fingerprint, "proposing");
                    match forge.propose(repo, &proposal).await {
                        Ok(p) => report.proposal = Some(p),
                        Err(e) => {
                            report.state = RepoState::Failed {
                                reason: format!("propose: {e}"),
                            }
                        }
                    }
                }
                .instrument(span)
            });
        stream::iter(jobs)
            .buffer_unordered(options.concurrency.max(1))
            .collect::<()>()
            .await;
        if !options.stopping() {
            tell_hands_off(forge, &mut reports, &by_name, &records, options).await;
            close_fixed_by_hand(config, forge, &mut reports, &by_name, options).await;
        }
        if let Some(store) = store {
            let history = history_entry(
                config,
                options,
                &reports,
                started_at,
                forge.requests().saturating_sub(start_requests),
            );
            save_records(store, &selected, &reports, &records, history).await?;
        }
    }

    Ok(SweepReport {
        forge: config.fleet.forge.kind.to_string(),
        dry_run: options.dry_run,
        templates_fingerprint: renderer.templates_fingerprint().to_owned(),
        repositories: reports,
        requests: forge.requests().saturating_sub(start_requests),
        traffic: forge.traffic().since(&start_traffic),
    })
}

/// Why drover may not work on `repo`: its branch is the repository's
/// default branch (compared without case, as some forges' disks do), a
/// branch drover does not own. Nothing is read or written for it.
pub fn not_drovers_branch(config: &Config, repo: &RemoteRepo) -> Option<String> {
    let branch = config.fleet.defaults.branch.as_str();
    repo.default_branch.eq_ignore_ascii_case(branch).then(|| {
        format!(
            "drover's branch is this repository's default branch (`{branch}`): drover writes only a branch of its own; choose another defaults.branch"
        )
    })
}

/// Replaces the snapshot's [`Actual::Blob`] entries (files known by blob id
/// only) by their content where the comparison needs it. A `whole` file
/// whose id is the id of its rendering is in line without being read: the
/// rendering is its content. `exists` files need no content; `block`,
/// `absent` and differing `whole` files are read from the forge, one
/// request each, verified against their blob ids. Paths no policy manages (detection markers) stay ids.
pub async fn complete_snapshot(
    config: &Config,
    renderer: &Renderer,
    facts: &ForgeFacts,
    forge: &dyn Forge,
    repo: &RemoteRepo,
    mut snapshot: Snapshot,
) -> Result<Snapshot, ForgeError> {
    if !snapshot
        .files
        .values()
        .any(|a| matches!(a, Actual::Blob { .. }))
    {
        return Ok(snapshot);
    }
    let Some(language) = language_for(config, repo, &snapshot) else {
        return Ok(snapshot);
    };
    let over = config.fleet.repositories.overrides.get(&repo.name);
    let Some(policy) = config.policy(&language) else {
        return Ok(snapshot);
    };
    let ctx = RenderContext::new(config, facts, repo, &language, &Facts::read(&snapshot));
    let skips = over.map(|o| o.skip.as_slice()).unwrap_or_default();
    // A rendering error is the plan's to report; nothing to read for it.
    let Ok((desired, _)) = renderer.desired_files(policy, facts.ci, skips, &ctx) else {
        return Ok(snapshot);
    };
    let mut reads: Vec<(RepoPath, String)> = Vec::new();
    for want in &desired {
        let Some(Actual::Blob { oid }) = snapshot.files.get(&want.path) else {
            continue;
        };
        if want.mode == Mode::Exists || reads.iter().any(|(p, _)| *p == want.path) {
            continue;
        }
        if let (Mode::Whole, Some(rendered)) = (want.mode, want.content.as_deref()) {
            if crate::git::blob_id_like(rendered.as_bytes(), oid).as_deref() == Some(oid.as_str()) {
                let content = rendered.as_bytes().to_vec();
                snapshot
                    .files
                    .insert(want.path.clone(), Actual::File { content });
                continue;
            }
        }
        reads.push((want.path.clone(), oid.clone()));
    }
    if reads.is_empty() {
        return Ok(snapshot);
    }
    let head = snapshot
        .head
        .clone()
        .ok_or_else(|| ForgeError::Conflict(format!("{} has no head", repo.full_name)))?;
    let contents = forge.read_files(repo, &head, &reads).await?;
    for ((path, _), content) in reads.into_iter().zip(contents) {
        snapshot.files.insert(path, Actual::File { content });
    }
    Ok(snapshot)
}

/// A sweep that could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("listing repositories: {0}")]
    Discover(#[from] ForgeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn load_records(
    store: &Store,
    repos: &[RemoteRepo],
) -> Result<HashMap<String, RepoRecord>, SweepError> {
    let store = store.clone();
    let names: Vec<String> = repos.iter().map(|r| r.full_name.clone()).collect();
    let records = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
        let mut out = HashMap::new();
        for name in names {
            if let Some(record) = store.repo(&name)? {
                out.insert(name, record);
            }
        }
        Ok(out)
    })
    .await
    .expect("store reader panicked")?;
    Ok(records)
}

async fn save_records(
    store: &Store,
    repos: &[RemoteRepo],
    reports: &[RepoReport],
    previous: &HashMap<String, RepoRecord>,
    history: SweepRecord,
) -> Result<(), SweepError> {
    let names: std::collections::HashSet<&str> =
        repos.iter().map(|r| r.full_name.as_str()).collect();
    let now = crate::store::now();
    let records: Vec<(String, RepoRecord)> = reports
        .iter()
        .filter(|r| names.contains(r.full_name.as_str()))
        .map(|r| {
            let outcome = r.state.outcome();
            let reason = match &r.state {
                RepoState::Skipped { reason } | RepoState::Failed { reason } => {
                    Some(reason.clone())
                }
                // Shown by `drover status`.
                RepoState::Drifted => r.waiting.clone(),
                _ => None,
            };
            let record = RepoRecord {
                // A failure must be retried in full next time.
                head: if outcome == Outcome::Failed {
                    None
                } else {
                    r.head.clone()
                },
                language: r.language.clone(),
                render_key: r.render_key.clone(),
                outcome,
                reason,
                updated_at: now,
                proposal: proposal_record(r, previous.get(&r.full_name), now),
            };
            (r.full_name.clone(), record)
        })
        .collect();
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.put_sweep(&records, &history))
        .await
        .expect("store writer panicked")?;
    Ok(())
}

/// Says once, on the proposal, that drover keeps its hands off it: the
/// first sweep that finds someone else's work on it comments; later ones
/// see `hands_off` in the store and stay quiet. A failed comment marks the
/// repository failed, so the next sweep tries again.
async fn tell_hands_off(
    forge: &dyn Forge,
    reports: &mut [RepoReport],
    repos: &HashMap<&str, &RemoteRepo>,
    records: &HashMap<String, RepoRecord>,
    options: &SweepOptions,
) {
    let told = |name: &str| {
        records
            .get(name)
            .and_then(|r| r.proposal.as_ref())
            .is_some_and(|p| p.state == ProposalFate::HandsOff)
    };
    let jobs = reports
        .iter_mut()
        .filter(|r| !told(&r.full_name))
        .filter_map(|r| {
            let proposed = r
                .proposal
                .as_ref()
                .filter(|p| p.fate == ProposalFate::HandsOff)?;
            let reason = proposed.reason.as_deref().unwrap_or_default();
            let repo = *repos.get(r.name.as_str())?;
            // The open proposal, or what the forge named as the other
            // person's (a sourcehut patchset).
            let target = r
                .existing
                .iter()
                .find(|p| p.state == ProposalFate::Open)
                .cloned()
                .or_else(|| {
                    proposed
                        .number
                        .map(|number| crate::model::ExistingProposal {
                            number,
                            url: proposed.url.clone(),
                            state: ProposalFate::Open,
                            head: None,
                        })
                })?;
            let text = format!(
                "drover found work by someone else here ({reason}), so from now on it \
                 will not update this change: it is yours. drover proposes again for \
                 {} only once this is merged or closed and its branch is gone.",
                r.full_name
            );
            Some((r, repo, target, text))
        })
        .map(|(report, repo, target, text)| async move {
            match forge.comment(repo, &target, &report.note, &text).await {
                Ok(()) | Err(ForgeError::Unsupported(_)) => {}
                Err(e) => {
                    report.state = RepoState::Failed {
                        reason: format!("telling {} that drover steps back: {e}", target.url),
                    };
                    // Not recorded as hands-off: the next sweep says it again.
                    report.proposal = None;
                }
            }
        });
    stream::iter(jobs)
        .buffer_unordered(options.concurrency.max(1))
        .collect::<()>()
        .await;
}

/// The history's entry for this sweep.
fn history_entry(
    config: &Config,
    options: &SweepOptions,
    reports: &[RepoReport],
    started_at: i64,
    requests: u64,
) -> SweepRecord {
    let totals = SweepReport::totals_of(reports);
    let actions = SweepReport::actions_of(reports);
    SweepRecord {
        started_at,
        finished_at: crate::store::now(),
        forge: config.fleet.forge.kind.to_string(),
        // The repository's name, however it was asked for.
        only: options.only.as_ref().map(|only| {
            reports
                .first()
                .map_or_else(|| only.as_str().to_owned(), |r| r.name.clone())
        }),
        in_line: totals.in_line,
        drifted: totals.drifted,
        skipped: totals.skipped,
        failed: totals.failed,
        opened: actions.opened,
        updated: actions.updated,
        closed: actions.closed,
        requests,
    }
}

/// Closes drover's open proposal in every repository that is in line again
/// without it (fixed by hand on the default branch), with a short comment.
/// Not where drover's branch carries someone else's commits (hands-off),
/// nor where the default branch's head is drover's tip (merged by a push).
/// A forge without the operation leaves the proposal open; a failure marks
/// the repository failed, so the next sweep looks again.
async fn close_fixed_by_hand(
    config: &Config,
    forge: &dyn Forge,
    reports: &mut [RepoReport],
    repos: &HashMap<&str, &RemoteRepo>,
    options: &SweepOptions,
) {
    let email = config.fleet.defaults.author.email.as_str();
    let jobs = reports
        .iter_mut()
        .filter(|r| r.state == RepoState::InLine)
        // drover's own branch, and not merged by a push of its tip (the
        // forge marks that proposal merged itself).
        .filter(|r| {
            r.branch_tip
                .as_ref()
                .is_none_or(|t| t.is_by(email) && r.head.as_ref() != Some(&t.commit))
        })
        .filter_map(|r| {
            let repo = *repos.get(r.name.as_str())?;
            let open = r
                .existing
                .iter()
                .find(|p| p.state == ProposalFate::Open)?
                .clone();
            Some((r, repo, open))
        })
        .map(|(report, repo, open)| async move {
            let head = report.head.as_deref().unwrap_or("its head");
            let short = &head[..head.len().min(12)];
            let comment = format!(
                "The default branch of {} now matches the templates (at {short}), so this \
                 change is no longer needed. Closed by drover.",
                report.full_name
            );
            match forge.close(repo, &open, &report.note, &comment).await {
                Ok(()) => report.closed = Some(open.url.clone()),
                Err(ForgeError::Unsupported(_)) => {}
                Err(e) => {
                    report.state = RepoState::Failed {
                        reason: format!("closing {}: {e}", open.url),
                    }
                }
            }
        });
    stream::iter(jobs)
        .buffer_unordered(options.concurrency.max(1))
        .collect::<()>()
        .await;
}

/// Applies `limits:`: a drifted repository without an open proposal needs a
/// new one, and gets it only while fewer than `open_proposals` are open
/// fleet-wide and fewer than `new_per_sweep` were opened this sweep; the
/// rest wait, in name order, for a later sweep. Open proposals are counted
/// from what the snapshots saw and, for repositories that failed this
/// sweep or were not part of it, from the store. Open proposals are always updated.
fn hold_back_over_limits(
    limits: &crate::config::Limits,
    reports: &mut [RepoReport],
    records: &HashMap<String, RepoRecord>,
) {
    if limits.open_proposals.is_none() && limits.new_per_sweep.is_none() {
        return;
    }
    let has_open = |r: &RepoReport| r.existing.iter().any(|p| p.state == ProposalFate::Open);
    let stored_open = |name: &str| {
        records
            .get(name)
            .and_then(|rec| rec.proposal.as_ref())
            .is_some_and(|p| p.state == ProposalFate::Open)
    };
    let here: std::collections::HashSet<&str> =
        reports.iter().map(|r| r.full_name.as_str()).collect();
    let mut open = reports
        .iter()
        .filter(|r| match r.state {
            RepoState::Drifted => has_open(r),
            RepoState::Failed { .. } => stored_open(&r.full_name),
            _ => false,
        })
        .count()
        // With `--repo`, the others' open proposals are known from the store.
        + records
            .keys()
            .filter(|name| !here.contains(name.as_str()) && stored_open(name))
            .count();
    let mut opened = 0;
    for r in reports.iter_mut() {
        if r.state != RepoState::Drifted || has_open(r) {
            continue;
        }
        let why = match (limits.open_proposals, limits.new_per_sweep) {
            (Some(max), _) if open >= max => Some(format!(
                "{open} drover proposals are open, the most `limits.open_proposals` allows ({max})"
            )),
            (_, Some(max)) if opened >= max => Some(format!(
                "{opened} new proposals this sweep, the most `limits.new_per_sweep` allows ({max})"
            )),
            _ => None,
        };
        match why {
            Some(why) => r.waiting = Some(format!("waits for a later sweep: {why}")),
            None => {
                open += 1;
                opened += 1;
            }
        }
    }
}

/// What the store keeps of a repository's proposal after this sweep: the
/// proposal's outcome if there was one; the previous record when the
/// repository failed or waits (nothing new is known); once it is in line,
/// the merged proposal that brought it there, if any; none when skipped.
fn proposal_record(
    report: &RepoReport,
    previous: Option<&RepoRecord>,
    now: i64,
) -> Option<ProposalRecord> {
    let before = previous.and_then(|p| p.proposal.as_ref());
    let Some(proposed) = &report.proposal else {
        return match report.state {
            RepoState::Failed { .. } | RepoState::Drifted | RepoState::Misfit { .. } => {
                before.cloned()
            }
            // In line by drover's proposal, merged (or applied): recorded
            // until the repository drifts again.
            RepoState::InLine => match report.existing.first() {
                Some(merged) if merged.state == ProposalFate::Merged => Some(ProposalRecord {
                    number: Some(merged.number),
                    url: merged.url.clone(),
                    state: ProposalFate::Merged,
                    fingerprint: before.map(|b| b.fingerprint.clone()).unwrap_or_default(),
                    opened_at: before.map_or(now, |b| b.opened_at),
                    reason: None,
                }),
                Some(_) => None,
                None => before.filter(|b| b.state == ProposalFate::Merged).cloned(),
            },
            RepoState::Skipped { .. } => None,
        };
    };
    let url = proposed.url.clone();
    let opened_at = match (proposed.wrote, before) {
        (Wrote::Opened, _) => now,
        (_, Some(b)) if b.url == url => b.opened_at,
        _ => now,
    };
    let number = proposed.number.or_else(|| {
        report
            .existing
            .iter()
            .find(|e| e.url == url)
            .map(|e| e.number)
    });
    Some(ProposalRecord {
        number,
        url,
        state: proposed.fate,
        fingerprint: report.fingerprint.clone().unwrap_or_default(),
        opened_at,
        reason: proposed.reason.clone(),
    })
}

/// A report without reading anything, when the store says the repository
/// was in line at this very head with this very rendering.
fn unchanged_in_line(
    config: &Config,
    renderer: &Renderer,
    facts: &ForgeFacts,
    repo: &RemoteRepo,
    record: Option<&RepoRecord>,
) -> Option<RepoReport> {
    let record = record?;
    if repo.head.is_none() || record.head != repo.head {
        return None;
    }
    let over = config.fleet.repositories.overrides.get(&repo.name);
    // No policy matched this very head, and the detection rules are the same.
    if record.outcome == Outcome::Skipped
        && record.language.is_none()
        && over.and_then(|o| o.language.as_ref()).is_none()
        && record.render_key.as_deref() == Some(detect_key(config).as_str())
    {
        let reason = record
            .reason
            .clone()
            .unwrap_or_else(|| "no policy matches".into());
        let mut report = RepoReport::new(repo, RepoState::Skipped { reason });
        report.head = repo.head.clone();
        report.render_key = record.render_key.clone();
        report.unchanged = true;
        return Some(report);
    }
    if record.outcome != Outcome::InLine {
        return None;
    }
    let language = record.language.as_deref()?;
    if over
        .and_then(|o| o.language.as_deref())
        .is_some_and(|l| l != language)
    {
        return None;
    }
    let policy = config.policy(language)?;
    // The key leaves the facts out: they follow from the head.
    let ctx = RenderContext::new(config, facts, repo, language, &Facts::default());
    let skips = over.map(|o| o.skip.as_slice()).unwrap_or_default();
    let key = renderer.render_key(policy, &ctx, skips);
    if record.render_key.as_deref() != Some(&key) {
        return None;
    }
    let mut report = RepoReport::new(repo, RepoState::InLine);
    report.language = Some(language.to_owned());
    report.head = repo.head.clone();
    report.render_key = Some(key);
    report.unchanged = true;
    Some(report)
}

/// A digest of how languages are detected: when it changes, repositories
/// no policy matched must be looked at again.
fn detect_key(config: &Config) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for p in &config.policies {
        hasher.update(&p.language);
        hasher.update(serde_json::to_vec(&p.detect).expect("detect serialises"));
    }
    format!("detect:{}", hex::encode(hasher.finalize()))
}

/// Every path any policy could need — markers and managed destinations —
/// and what the repository facts read.
pub fn wanted(config: &Config) -> Wanted {
    let ci = crate::forge::ci_flavor(config);
    let facts = crate::facts::wanted();
    let mut paths: BTreeSet<RepoPath> = facts.paths.into_iter().collect();
    for policy in &config.policies {
        paths.extend(policy.detect.markers.iter().cloned());
        paths.extend(
            policy
                .files
                .iter()
                .filter(|f| f.applies_to(ci))
                .map(|f| f.path.clone()),
        );
    }
    Wanted {
        paths: paths.into_iter().collect(),
        dirs: facts.dirs,
    }
}

/// Render and compare one repository against its snapshot. Pure.
pub fn plan_repo(
    config: &Config,
    renderer: &Renderer,
    facts: &ForgeFacts,
    repo: &RemoteRepo,
    snapshot: &Snapshot,
) -> RepoReport {
    let mut report = RepoReport::new(repo, RepoState::InLine);
    report.head = snapshot.head.clone();
    report.branch_tip = snapshot.branch.clone();
    report.existing = snapshot.proposals.clone();
    report.head_tree = snapshot.head_tree.clone();
    report.note = snapshot.note.clone();
    let over = config.fleet.repositories.overrides.get(&repo.name);
    let Some(language) = language_for(config, repo, snapshot) else {
        let markers: Vec<String> = config
            .policies
            .iter()
            .flat_map(|p| p.detect.markers.iter().map(|m| m.to_string()))
            .collect();
        report.render_key = Some(detect_key(config));
        report.state = RepoState::Skipped {
            reason: format!(
                "no policy matches: none of {} found (set `language:` in its override to choose one)",
                markers.join(", ")
            ),
        };
        return report;
    };
    let policy = config
        .policy(&language)
        .expect("override languages are validated");
    report.language = Some(language.clone());
    let repo_facts = Facts::read(snapshot);
    let ctx = RenderContext::new(config, facts, repo, &language, &repo_facts);
    report.kind = Some(ctx.repo.kind);
    let skips = over.map(|o| o.skip.as_slice()).unwrap_or_default();
    let (mut desired, mut skipped) = match renderer.desired_files(policy, facts.ci, skips, &ctx) {
        Ok(d) => d,
        Err(e) => {
            report.state = RepoState::Failed {
                reason: format!("render: {e}"),
            };
            return report;
        }
    };
    report.render_key = Some(renderer.render_key(policy, &ctx, skips));
    // The fit check: what a rendering refers to must exist here.
    desired.retain(|want| {
        let Some(content) = want.content.as_deref() else {
            return true;
        };
        let problems = crate::fit::check(&want.path, content, &repo_facts, snapshot);
        if problems.is_empty() {
            return true;
        }
        skipped.push(SkippedFile {
            path: want.path.clone(),
            reason: problems.join("; "),
            misfit: true,
        });
        false
    });
    report.facts = Some(repo_facts);
    let misfits: Vec<String> = skipped
        .iter()
        .filter(|s| s.misfit)
        .map(|s| format!("{}: {}", s.path, s.reason))
        .collect();
    report.skipped_files = skipped;
    if !misfits.is_empty() {
        // What does not fit withholds the rest, but for files that stand
        // alone.
        desired.retain(|d| d.stands_alone);
    }
    report.takeovers = takeovers(&mut desired, snapshot);
    match drift::compare(&desired, snapshot) {
        Ok(drifts) if drifts.is_empty() && misfits.is_empty() => {}
        Ok(drifts) if drifts.is_empty() => {
            report.state = RepoState::Misfit {
                reason: misfits.join("; "),
            };
        }
        Ok(mut drifts) => {
            for d in &mut drifts {
                d.takeover = report
                    .takeovers
                    .iter()
                    .find(|t| t.path == d.path && t.action == "replaced")
                    .map(|t| t.lines);
            }
            report.drift = drifts;
            compose_text(renderer, policy, repo, &mut report);
            report.state = RepoState::Drifted;
        }
        Err(e) => {
            report.state = RepoState::Failed {
                reason: e.to_string(),
            }
        }
    }
    report
}

/// The header every shipped template writes first: a file that carries
/// it was written by drover.
pub const MANAGED_HEADER: &str = "Managed by drover";

/// Finds managed files that exist without drover's header (written by
/// hand, or by another tool): a `keep` file is taken out of `desired` and
/// reported kept; a `replace` file stays and is reported replaced. Block
/// and exists modes never take a file over.
fn takeovers(desired: &mut Vec<crate::render::DesiredFile>, snapshot: &Snapshot) -> Vec<Takeover> {
    let mut found = Vec::new();
    desired.retain(|want| {
        if !matches!(want.mode, Mode::Whole | Mode::Absent) {
            return true;
        }
        let Actual::File { content } = snapshot.get(&want.path) else {
            return true;
        };
        let head: String = String::from_utf8_lossy(&content[..content.len().min(2048)])
            .lines()
            .take(10)
            .collect();
        if head.contains(MANAGED_HEADER)
            || Some(content.as_slice()) == want.content.as_deref().map(str::as_bytes)
        {
            return true;
        }
        let keep = want.takeover == crate::config::Takeover::Keep;
        found.push(Takeover {
            path: want.path.clone(),
            lines: String::from_utf8_lossy(content).lines().count(),
            action: if keep { "kept" } else { "replaced" },
        });
        !keep
    });
    found
}

/// The proposal's words and fingerprint for the report's drift.
fn compose_text(
    renderer: &Renderer,
    policy: &crate::config::Policy,
    repo: &RemoteRepo,
    report: &mut RepoReport,
) {
    let revision = renderer.policy_fingerprint(policy);
    let text = proposal::compose(&ProposalFacts {
        repo_name: &repo.name,
        full_name: &repo.full_name,
        language: &policy.language,
        template_revision: &revision,
        drifts: &report.drift,
    });
    report.fingerprint = Some(text.fingerprint.clone());
    report.text = Some(text);
}

/// Plans one repository already known (no discovery) and proposes only
/// the drift `keep` accepts — the rest is the next sweep's. What `drover
/// migrate` does on its target.
pub async fn propose_only(
    config: &Config,
    renderer: &Renderer,
    forge: &dyn Forge,
    repo: &RemoteRepo,
    keep: impl Fn(&FileDrift) -> bool,
) -> Result<RepoReport, ForgeError> {
    if let Some(reason) = not_drovers_branch(config, repo) {
        return Err(ForgeError::Conflict(format!(
            "{}: {reason}",
            repo.full_name
        )));
    }
    let facts = crate::forge::forge_facts(config);
    let mut snapshots = forge
        .snapshot(std::slice::from_ref(repo), &wanted(config))
        .await;
    facts::complete_facts(forge, std::slice::from_ref(repo), &mut snapshots).await;
    let snapshot = snapshots
        .into_iter()
        .next()
        .unwrap_or_else(|| Err(ForgeError::Malformed("no snapshot".into())))?;
    let snapshot = complete_snapshot(config, renderer, &facts, forge, repo, snapshot).await?;
    let mut report = plan_repo(config, renderer, &facts, repo, &snapshot);
    if report.state != RepoState::Drifted {
        return Ok(report);
    }
    report.drift.retain(|d| keep(d));
    let Some(language) = report.language.clone() else {
        return Ok(report);
    };
    if report.drift.is_empty() {
        report.state = RepoState::InLine;
        report.text = None;
        report.fingerprint = None;
        return Ok(report);
    }
    let policy = config.policy(&language).expect("planned with this policy");
    compose_text(renderer, policy, repo, &mut report);
    let proposal = build_proposal(config, repo, &report);
    report.proposal = Some(forge.propose(repo, &proposal).await?);
    Ok(report)
}

fn build_proposal(config: &Config, repo: &RemoteRepo, report: &RepoReport) -> Proposal {
    let text = report
        .text
        .clone()
        .expect("drifted reports carry their text");
    let defaults = &config.fleet.defaults;
    let over = config.fleet.repositories.overrides.get(&repo.name);
    Proposal {
        branch: defaults.branch.as_str().to_owned(),
        title: text.title,
        body: text.body,
        commit_message: text.commit_message,
        base: report.head.clone(),
        base_tree: report.head_tree.clone(),
        changes: report
            .drift
            .iter()
            .map(|d| FileChange {
                path: d.path.clone(),
                content: d.after.clone(),
            })
            .collect(),
        patch: drift::patch_of(&report.drift),
        author: defaults.author.clone(),
        labels: over
            .and_then(|o| o.labels.clone())
            .unwrap_or_else(|| defaults.labels.clone()),
        reviewers: over
            .and_then(|o| o.reviewers.clone())
            .unwrap_or_else(|| defaults.reviewers.clone()),
        fingerprint: report.fingerprint.clone().unwrap_or_default(),
        default_branch: repo.default_branch.clone(),
        branch_tip: report.branch_tip.clone(),
        existing: report.existing.clone(),
        note: report.note.clone(),
    }
}
