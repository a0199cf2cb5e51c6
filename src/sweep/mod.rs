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
pub use report::{Actions, RepoReport, RepoState, SweepReport, Takeover, Totals};
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

    let discovered = match &options.known {
        Some(known) => known.clone(),
        None => forge.discover().await?,
    };
    let records = match store {
        Some(store) => records::load_records(store, &discovered).await?,
        None => HashMap::new(),
    };
    forge.remember_tips(
        records
            .iter()
            .filter_map(|(name, r)| Some((name.clone(), r.proposal.as_ref()?.tip.clone()?)))
            .collect(),
    );
    // Sized once: a doubling vector of a 10,000-repository fleet's plans
    // keeps 60 % more than it holds (issue 19).
    let mut planned: Vec<Option<Planned>> = Vec::with_capacity(discovered.len());
    let mut to_read: Vec<(usize, RemoteRepo)> = Vec::new();
    for repo in discovered {
        if options
            .only
            .as_ref()
            .is_some_and(|only| !only.matches(&repo))
        {
            continue;
        }
        // Every selected repository gets a plan, and so a record, skipped
        // ones included: `drover status` shows them.
        if let Some(reason) = selection.skip_reason(&repo) {
            planned.push(Some(Planned::new(&repo, RepoState::Skipped { reason })));
            continue;
        }
        if let Some(reason) = not_drovers_branch(config, &repo) {
            planned.push(Some(Planned::new(&repo, RepoState::Failed { reason })));
            continue;
        }
        match plan::unchanged_in_line(
            config,
            renderer,
            &facts,
            &repo,
            records.get(&repo.full_name),
        ) {
            Some(done) => planned.push(Some(done)),
            None => {
                to_read.push((planned.len(), repo));
                planned.push(None);
            }
        }
    }

    // What the last sweep's budget did not reach goes first.
    budget::waiting_first(&mut to_read, |(_, r)| budget::was_waiting(&records, r));
    let wanted = wanted(config);
    for (done, batch) in to_read.chunks(SNAPSHOT_BATCH).enumerate() {
        let done = (done * SNAPSHOT_BATCH) as u64;
        forge.progress(done, to_read.len() as u64 - done);
        let repos: Vec<RemoteRepo> = batch.iter().map(|(_, r)| r.clone()).collect();
        let mut snapshots = forge.snapshot(&repos, &wanted).await;
        let cache = store.map(|store| facts::TextCache {
            store,
            write: !options.dry_run,
        });
        facts::complete_facts(forge, &repos, &mut snapshots, cache).await;
        let facts = &facts;
        let plans = futures::future::join_all(batch.iter().zip(snapshots).map(
            |((_, repo), snapshot)| async move {
                match snapshot {
                    Ok(snapshot) => {
                        plan::plan_one(config, renderer, facts, forge, repo, snapshot).await
                    }
                    Err(e) => Planned::new(repo, budget::state_of("snapshot", &e)),
                }
            },
        ))
        .await;
        for ((slot, _), plan) in batch.iter().zip(plans) {
            planned[*slot] = Some(plan);
        }
    }
    let mut planned: Vec<Planned> = planned
        .into_iter()
        .map(|p| p.expect("every slot filled"))
        .collect();

    if !options.dry_run {
        limits::hold_back_over_limits(&config.fleet.limits, &mut planned, &records);
        // Who the commits are by: `defaults.author`, unless the forge's
        // credentials decide it (a GitHub App's bot) — asked only when
        // something is to be proposed or closed.
        let needed = planned.iter().any(|p| match p.report.state {
            RepoState::Drifted => p.report.waiting.is_none(),
            // An open proposal to close, or drover's branch to tidy up.
            RepoState::InLine => p.seen.open_proposal().is_some() || p.seen.branch_tip.is_some(),
            _ => false,
        });
        let (author, writes) = match needed {
            true => match forge.author().await {
                Ok(author) => (author, true),
                Err(e) => {
                    // Nothing is written without knowing who writes it:
                    // what would be proposed waits (or fails) as the
                    // error says, and everything read is still recorded.
                    tracing::warn!("finding who drover's commits are by: {e}");
                    for p in planned.iter_mut().filter(|p| {
                        p.report.state == RepoState::Drifted && p.report.waiting.is_none()
                    }) {
                        p.report.state = budget::state_of("finding who commits", &e);
                    }
                    (None, false)
                }
            },
            false => (None, true),
        };
        let author = author.unwrap_or_else(|| config.fleet.defaults.author.clone());
        let author = &author;
        let by_name: HashMap<&str, &RemoteRepo> =
            to_read.iter().map(|(_, r)| (r.name.as_str(), r)).collect();
        // Reviewers' accounts, looked up once for the whole sweep.
        let accounts = crate::proposal::Accounts::default();
        let (records, accounts) = (&records, &accounts);
        let mut to_propose: Vec<&mut Planned> = planned
            .iter_mut()
            .filter(|p| p.report.state == RepoState::Drifted && p.report.waiting.is_none())
            .collect();
        budget::waiting_first(&mut to_propose, |p| {
            budget::was_waiting(records, by_name[p.report.name.as_str()])
        });
        let proposing = to_propose.len() as u64;
        let proposed = std::sync::atomic::AtomicU64::new(0);
        forge.progress(0, proposing);
        let proposed = &proposed;
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
                let done = proposed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                forge.progress(done, proposing.saturating_sub(done));
            }
            .instrument(span)
        });
        stream::iter(jobs)
            .buffer_unordered(options.concurrency.max(1))
            .collect::<()>()
            .await;
        if writes && !options.stopping() {
            followups::tell_hands_off(forge, &mut planned, &by_name, records, options).await;
            let ours = own_emails(config, author);
            followups::close_fixed_by_hand(&ours, forge, &mut planned, &by_name, options).await;
            followups::settle(config, &ours, forge, &planned, &by_name, options).await;
        }
        if let Some(store) = store {
            let history = records::history_entry(
                config,
                options,
                &planned,
                started_at,
                forge.requests().saturating_sub(start_requests),
            );
            records::save_records(store, &planned, records, history).await?;
        }
    }

    Ok(SweepReport {
        forge: config.fleet.forge.kind.to_string(),
        dry_run: options.dry_run,
        templates_fingerprint: renderer.templates_fingerprint().to_owned(),
        repositories: planned.into_iter().map(|p| p.report).collect(),
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
