//! The fleet-wide sweep: discover → snapshot → plan → propose → follow
//! up → record, each step in a file of its own:
//!
//! - `plan.rs` — what to read, each repository resolved and rendered once,
//!   the comparison (fit, misfits, takeovers, drift, words);
//! - `limits.rs` — `limits:` between planning and proposing;
//! - `followups.rs` — hands-off notices and closing what was fixed by hand;
//! - `records.rs` — the store: records read, records and history written;
//! - `report.rs` — the public report, and the planning state kept apart;
//! - `facts.rs` — the facts' reads; `select.rs` — selection, detection.
//!
//! A sweep never fails as a whole once discovery has succeeded: every
//! repository ends with its own outcome (in line, drifted, skipped or
//! misfit with a reason, failed with a reason), and one repository's
//! failure does not stop the others.

mod budget;
mod facts;
mod followups;
mod limits;
mod plan;
mod records;
mod report;
pub mod select;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use futures::stream::{self, StreamExt};
use tracing::Instrument;

pub use facts::complete_facts;
pub use plan::{complete_snapshot, wanted, words, MANAGED_HEADER};
pub use report::{
    Actions, RepoReport, RepoState, SweepReport, SweepSummary, Takeover, Tally, Totals,
};
pub use select::{detect_language, language_for, Only, Selection};

use crate::config::Config;
use crate::drift::{self, FileDrift};
use crate::forge::{Forge, ForgeError};
use crate::model::{FileChange, RemoteRepo};
use crate::proposal::Proposal;
use crate::render::{ForgeFacts, Renderer};
use crate::store::{Store, StoreError};
use report::Planned;

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
    /// the next sweep (reported drifted and waiting, "not reached" — not
    /// failed: nothing went wrong with them), and the sweep goes straight
    /// to writing the store.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// The repositories, when the caller already has them (the daemon
    /// looks up the few webhooks named): no discovery.
    pub known: Option<Vec<RemoteRepo>>,
}

/// Why a drifted repository was not proposed to: the sweep was stopped
/// before it got there.
pub const NOT_REACHED: &str = "not reached: drover was shutting down; the next sweep goes on";

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
            known: None,
        }
    }
}

/// A sweep that could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("listing repositories: {0}")]
    Discover(#[from] ForgeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs a sweep: plans every repository and, unless `dry_run`, proposes
/// for each drifted one. Fails only if the repositories cannot be listed
/// (or the store cannot be read or written). The whole report, in
/// discovery order: for a caller that shows every repository at once
/// (`plan`, `check`, tests). A caller that needs less uses [`run_into`].
pub async fn run(
    config: &Config,
    renderer: &Renderer,
    forge: &dyn Forge,
    store: Option<&Store>,
    options: &SweepOptions,
) -> Result<SweepReport, SweepError> {
    let mut reports: Vec<(usize, RepoReport)> = Vec::new();
    let summary = run_into(config, renderer, forge, store, options, &mut |i, r| {
        reports.push((i, r))
    })
    .await?;
    Ok(SweepReport::gathered(summary, reports))
}

/// Where a sweep hands each repository's report as soon as it is done
/// with the repository, with its place in discovery order.
pub type Sink<'s> = &'s mut (dyn FnMut(usize, RepoReport) + Send);

/// Runs a sweep as a stream: the repositories are gone through a batch at
/// a time — read, rendered, compared, proposed to, followed up, recorded
/// in the store and handed to `sink` — so what the sweep holds at once is
/// one batch and the list of repositories, never the fleet's plans,
/// records or reports (ARCHITECTURE.md, Memory).
///
/// First, without reading anything: every repository discovered is
/// looked up in the store (a batch of records at a time); those skipped,
/// refused or in line by an unchanged head and rendering are done there.
/// Then the rest, those the last sweep's budget did not reach first, a
/// snapshot batch at a time.
pub async fn run_into(
    config: &Config,
    renderer: &Renderer,
    forge: &dyn Forge,
    store: Option<&Store>,
    options: &SweepOptions,
    sink: Sink<'_>,
) -> Result<SweepSummary, SweepError> {
    let start_requests = forge.requests();
    let start_traffic = forge.traffic();
    let started_at = crate::store::now();
    let discovered = match &options.known {
        Some(known) => known.clone(),
        None => forge.discover().await?,
    };
    let mut sweep = Sweep {
        config,
        renderer,
        forge,
        store,
        options,
        facts: crate::forge::forge_facts(config),
        wanted: wanted(config),
        allowance: limits::Allowance::new(&config.fleet.limits),
        author: None,
        accounts: crate::proposal::Accounts::default(),
        tally: Tally::default(),
        names: Vec::new(),
        sink,
    };

    // What needs no reading, and what does (with whether the last sweep's
    // budget left it waiting).
    let selection = Selection::new(config);
    let mut to_read: Vec<(usize, bool)> = Vec::new();
    for (n, chunk) in discovered.chunks(RECORDS_BATCH).enumerate() {
        let records = records::load(store, chunk).await?;
        let mut done = Batch::default();
        for (offset, (repo, record)) in chunk.iter().zip(records).enumerate() {
            let index = n * RECORDS_BATCH + offset;
            sweep.allowance.stored(record.as_ref());
            if options
                .only
                .as_ref()
                .is_some_and(|only| !only.matches(repo))
            {
                continue;
            }
            // Every selected repository gets a record, skipped ones
            // included: `drover status` shows them.
            let planned = if let Some(reason) = selection.skip_reason(repo) {
                Planned::new(repo, RepoState::Skipped { reason })
            } else if let Some(reason) = not_drovers_branch(config, repo) {
                Planned::new(repo, RepoState::Failed { reason })
            } else if let Some(done) =
                plan::unchanged_in_line(config, renderer, &sweep.facts, repo, record.as_ref())
            {
                done
            } else {
                to_read.push((index, budget::was_waiting(record.as_ref())));
                continue;
            };
            done.push(index, planned, record);
        }
        sweep.finish(done).await?;
    }

    // What the last sweep's budget did not reach goes first.
    budget::waiting_first(&mut to_read, |(_, waiting)| *waiting);
    let total = to_read.len() as u64;
    for (n, batch) in to_read.chunks(SNAPSHOT_BATCH).enumerate() {
        let done = (n * SNAPSHOT_BATCH) as u64;
        forge.progress(done, total - done);
        let indices: Vec<usize> = batch.iter().map(|(i, _)| *i).collect();
        sweep.read(&discovered, &indices).await?;
    }

    let requests = forge.requests().saturating_sub(start_requests);
    if let (Some(store), false) = (store, options.dry_run) {
        let history = records::history_entry(
            config,
            options,
            &sweep.tally,
            &sweep.names,
            started_at,
            requests,
        );
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.put_history(&history))
            .await
            .expect("store writer panicked")?;
    }
    Ok(SweepSummary {
        forge: config.fleet.forge.kind.to_string(),
        dry_run: options.dry_run,
        templates_fingerprint: renderer.templates_fingerprint().to_owned(),
        tally: sweep.tally,
        requests,
        traffic: forge.traffic().since(&start_traffic),
    })
}

/// How many records are looked up in the store at once before reading.
const RECORDS_BATCH: usize = 256;

/// Repositories the sweep is done with (or about to be), with their
/// places in discovery order and their records before the sweep.
#[derive(Default)]
struct Batch {
    indices: Vec<usize>,
    planned: Vec<Planned>,
    records: HashMap<String, crate::store::RepoRecord>,
}

impl Batch {
    fn push(&mut self, index: usize, planned: Planned, record: Option<crate::store::RepoRecord>) {
        if let Some(record) = record {
            self.records
                .insert(planned.report.full_name.clone(), record);
        }
        self.indices.push(index);
        self.planned.push(planned);
    }
}

/// One sweep's state between its batches: what the whole sweep shares
/// (limits, who commits, reviewers' accounts, the tally), never the
/// repositories' plans.
struct Sweep<'a, 's> {
    config: &'a Config,
    renderer: &'a Renderer,
    forge: &'a dyn Forge,
    store: Option<&'a Store>,
    options: &'a SweepOptions,
    facts: ForgeFacts,
    wanted: crate::model::Wanted,
    allowance: limits::Allowance<'a>,
    /// Who drover's commits are by, once something needed it: the
    /// forge's answer, or what a failure to ask leaves the repositories.
    author: Option<Result<crate::config::Author, RepoState>>,
    /// Reviewers' accounts, looked up once for the whole sweep.
    accounts: crate::proposal::Accounts,
    tally: Tally,
    /// The repositories' names, for the history of a sweep of named ones.
    names: Vec<String>,
    sink: Sink<'s>,
}

impl Sweep<'_, '_> {
    /// Reads, plans, proposes to, follows up and records the repositories
    /// of `discovered` at `indices` (one snapshot batch).
    async fn read(
        &mut self,
        discovered: &[RemoteRepo],
        indices: &[usize],
    ) -> Result<(), SweepError> {
        let (config, renderer, forge, options) =
            (self.config, self.renderer, self.forge, self.options);
        let repos: Vec<RemoteRepo> = indices.iter().map(|i| discovered[*i].clone()).collect();
        // Looked up again rather than kept from the first pass: on a
        // first sweep or after a template change, that would be the
        // fleet's records (a few lookups a batch, from sled's cache).
        let records = records::load(self.store, &repos).await?;
        forge.remember_tips(
            repos
                .iter()
                .zip(&records)
                .filter_map(|(repo, r)| {
                    Some((
                        repo.full_name.clone(),
                        r.as_ref()?.proposal.as_ref()?.tip.clone()?,
                    ))
                })
                .collect(),
        );
        let mut snapshots = forge.snapshot(&repos, &self.wanted).await;
        let cache = self.store.map(|store| facts::TextCache {
            store,
            write: !options.dry_run,
        });
        facts::complete_facts(forge, &repos, &mut snapshots, cache).await;
        let facts = &self.facts;
        let plans = futures::future::join_all(repos.iter().zip(snapshots).map(
            |(repo, snapshot)| async move {
                match snapshot {
                    Ok(snapshot) => {
                        plan::plan_one(config, renderer, facts, forge, repo, snapshot).await
                    }
                    Err(e) => Planned::new(repo, budget::state_of("snapshot", &e)),
                }
            },
        ))
        .await;
        let mut batch = Batch::default();
        for ((index, planned), record) in indices.iter().zip(plans).zip(records) {
            batch.push(*index, planned, record);
        }
        if !options.dry_run {
            self.propose(&repos, &mut batch).await;
        }
        self.finish(batch).await
    }

    /// Limits, proposals and follow-ups for a planned batch.
    async fn propose(&mut self, repos: &[RemoteRepo], batch: &mut Batch) {
        let (config, forge, options) = (self.config, self.forge, self.options);
        for p in &batch.planned {
            self.allowance
                .seen(p, batch.records.get(&p.report.full_name));
        }
        self.allowance.hold_back(&mut batch.planned);
        let proposing =
            |p: &Planned| p.report.state == RepoState::Drifted && p.report.waiting.is_none();
        // Who the commits are by: `defaults.author`, unless the forge's
        // credentials decide it (a GitHub App's bot) — asked once, when
        // something is first to be proposed or closed.
        let needed = batch.planned.iter().any(|p| match p.report.state {
            RepoState::Drifted => p.report.waiting.is_none(),
            // An open proposal to close, or drover's branch to tidy up.
            RepoState::InLine => p.seen.open_proposal().is_some() || p.seen.branch_tip.is_some(),
            _ => false,
        });
        if needed && self.author.is_none() {
            self.author = Some(match forge.author().await {
                Ok(author) => Ok(author.unwrap_or_else(|| config.fleet.defaults.author.clone())),
                Err(e) => {
                    tracing::warn!("finding who drover's commits are by: {e}");
                    Err(budget::state_of("finding who commits", &e))
                }
            });
        }
        let author = match &self.author {
            Some(Ok(author)) => author.clone(),
            Some(Err(state)) => {
                // Nothing is written without knowing who writes it: what
                // would be proposed waits (or fails) as the error says,
                // and everything read is still recorded.
                for p in batch.planned.iter_mut().filter(|p| proposing(p)) {
                    p.report.state = state.clone();
                }
                return;
            }
            None => config.fleet.defaults.author.clone(),
        };
        let author = &author;
        let by_name: HashMap<&str, &RemoteRepo> =
            repos.iter().map(|r| (r.name.as_str(), r)).collect();
        let (records, accounts) = (&batch.records, &self.accounts);
        let mut to_propose: Vec<&mut Planned> =
            batch.planned.iter_mut().filter(|p| proposing(p)).collect();
        budget::waiting_first(&mut to_propose, |p| {
            budget::was_waiting(records.get(&p.report.full_name))
        });
        let jobs = to_propose.into_iter().map(|planned| {
            let repo = by_name[planned.report.name.as_str()];
            let span = tracing::info_span!("repo", name = %repo.full_name.escape_debug());
            async move {
                if options.stopping() {
                    planned.report.waiting = Some(NOT_REACHED.into());
                    return;
                }
                let record = records.get(&repo.full_name);
                if let Some(done) = records::declined_before(planned, record) {
                    planned.report.proposal = Some(done);
                    return;
                }
                let proposal = build_proposal(config, author, repo, planned, record, accounts);
                // The words now live in `proposal`, for as long as
                // the forge needs them.
                planned.seen.text = None;
                planned.seen.words = Some(proposal.words_digest());
                tracing::debug!(fingerprint = %proposal.fingerprint, "proposing");
                match forge.propose(repo, &proposal).await {
                    Ok(p) => planned.report.proposal = Some(p),
                    Err(e) => planned.report.state = budget::state_of("propose", &e),
                }
            }
            .instrument(span)
        });
        stream::iter(jobs)
            .buffer_unordered(options.concurrency.max(1))
            .collect::<()>()
            .await;
        if !options.stopping() {
            let planned = &mut batch.planned;
            followups::tell_hands_off(forge, planned, &by_name, records, options).await;
            let ours = own_emails(config, author);
            followups::close_fixed_by_hand(&ours, forge, planned, &by_name, options).await;
            followups::settle(config, &ours, forge, planned, &by_name, options).await;
        }
    }

    /// Records a batch the sweep is done with (unless dry-running) and
    /// hands its reports on.
    async fn finish(&mut self, batch: Batch) -> Result<(), SweepError> {
        if let (Some(store), false) = (self.store, self.options.dry_run) {
            records::save(store, &batch.planned, &batch.records).await?;
        }
        for (index, planned) in batch.indices.into_iter().zip(batch.planned) {
            self.tally.add(&planned.report);
            if self.options.only.is_some() {
                self.names.push(planned.report.name.clone());
            }
            (self.sink)(index, planned.report);
        }
        Ok(())
    }
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

/// Render and compare one repository against a snapshot that holds what
/// the comparison needs (read from a mirror, or completed). Pure.
pub fn plan_repo(
    config: &Config,
    renderer: &Renderer,
    facts: &ForgeFacts,
    repo: &RemoteRepo,
    snapshot: &crate::model::Snapshot,
) -> RepoReport {
    plan::plan_complete(config, renderer, facts, repo, snapshot).report
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
    facts::complete_facts(forge, std::slice::from_ref(repo), &mut snapshots, None).await;
    let snapshot = snapshots
        .into_iter()
        .next()
        .unwrap_or_else(|| Err(ForgeError::Malformed("no snapshot".into())))?;
    let mut planned = plan::plan_one(config, renderer, &facts, forge, repo, snapshot).await;
    if planned.report.state != RepoState::Drifted {
        return Ok(planned.report);
    }
    planned.report.drift.retain(|d| keep(d));
    let Some(language) = planned.report.language.clone() else {
        return Ok(planned.report);
    };
    if planned.report.drift.is_empty() {
        planned.report.state = RepoState::InLine;
        planned.report.fingerprint = None;
        return Ok(planned.report);
    }
    let policy = config.policy(&language).expect("planned with this policy");
    plan::compose_text(config, renderer, policy, repo, &mut planned);
    let author = forge
        .author()
        .await?
        .unwrap_or_else(|| config.fleet.defaults.author.clone());
    let proposal = build_proposal(config, &author, repo, &planned, None, &Default::default());
    planned.report.proposal = Some(forge.propose(repo, &proposal).await?);
    Ok(planned.report)
}

/// The addresses drover's own commits carry: the forge's author (a GitHub
/// App's bot) and, when it differs, fleet.yaml's `defaults.author`
/// ([`earlier_email`]).
fn own_emails(config: &Config, author: &crate::config::Author) -> Vec<String> {
    std::iter::once(author.email.clone())
        .chain(earlier_email(config, author))
        .collect()
}

/// fleet.yaml's `defaults.author` address when the forge commits as
/// someone else now: commits made before the fleet ran as an app carry it.
fn earlier_email(config: &Config, author: &crate::config::Author) -> Option<String> {
    let email = &config.fleet.defaults.author.email;
    (*email != author.email).then(|| email.clone())
}

/// The proposal for a planned repository; `record` is the store's, for
/// what the last sweep sent and what the forge left out.
fn build_proposal(
    config: &Config,
    author: &crate::config::Author,
    repo: &RemoteRepo,
    planned: &Planned,
    record: Option<&crate::store::RepoRecord>,
    accounts: &crate::proposal::Accounts,
) -> Proposal {
    let (report, seen) = (&planned.report, &planned.seen);
    // Only for the proposal the record speaks of, while it is open.
    let sent = record
        .and_then(|r| r.proposal.as_ref())
        .filter(|p| p.state == crate::model::ProposalFate::Open)
        .filter(|p| seen.open_proposal().is_some_and(|o| o.url == p.url))
        .map(|p| p.sent.clone())
        .unwrap_or_default();
    let text = seen.text.clone().expect("drifted reports carry their text");
    let defaults = &config.fleet.defaults;
    let over = config.fleet.repositories.overrides.get(&repo.name);
    Proposal {
        branch: defaults.branch.as_str().to_owned(),
        title: text.title,
        body: text.body,
        commit_message: text.commit_message,
        base: report.head.clone(),
        base_tree: seen.head_tree.clone(),
        changes: report
            .drift
            .iter()
            .map(|d| FileChange {
                path: d.path.clone(),
                content: d.after.clone(),
            })
            .collect(),
        patch: drift::patch_of(&report.drift),
        author: author.clone(),
        also_ours: earlier_email(config, author).into_iter().collect(),
        labels: over
            .and_then(|o| o.labels.clone())
            .unwrap_or_else(|| defaults.labels.clone()),
        reviewers: over
            .and_then(|o| o.reviewers.clone())
            .unwrap_or_else(|| defaults.reviewers.clone()),
        fingerprint: report.fingerprint.clone().unwrap_or_default(),
        default_branch: repo.default_branch.clone(),
        branch_tip: seen.branch_tip.clone(),
        existing: seen.existing.clone(),
        note: seen.note.clone(),
        retry: sent.missing,
        words_sent: sent.words,
        accounts: accounts.clone(),
    }
}
