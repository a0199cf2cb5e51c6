//! What the sweep reads from and writes to the store: the records of the
//! repositories it looks at, each repository's record after it (with its
//! proposal's fate), and the history entry — all in one transaction.

use std::collections::HashMap;

use super::report::{Planned, RepoState, Tally};
use super::{SweepError, SweepOptions};
use crate::config::Config;
use crate::model::{Outcome, ProposalFate, Proposed, RemoteRepo, Wrote};
use crate::store::{ProposalRecord, RepoRecord, Sent, Store, StoreError, SweepRecord};

/// The store's records of `repos`, in order (`None` where it has none):
/// read a batch at a time, off the executor's threads.
pub(crate) async fn load(
    store: Option<&Store>,
    repos: &[RemoteRepo],
) -> Result<Vec<Option<RepoRecord>>, SweepError> {
    let Some(store) = store else {
        return Ok(repos.iter().map(|_| None).collect());
    };
    let store = store.clone();
    let names: Vec<String> = repos.iter().map(|r| r.full_name.clone()).collect();
    let records = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
        names.iter().map(|name| store.repo(name)).collect()
    })
    .await
    .expect("store reader panicked")?;
    Ok(records)
}

/// Writes the records of a batch of repositories the sweep is done with;
/// `previous` holds their records before it.
pub(crate) async fn save(
    store: &Store,
    planned: &[Planned],
    previous: &HashMap<String, RepoRecord>,
) -> Result<(), SweepError> {
    if planned.is_empty() {
        return Ok(());
    }
    let now = crate::store::now();
    let records: Vec<(String, RepoRecord)> = planned
        .iter()
        .map(|p| {
            let r = &p.report;
            let outcome = r.state.outcome();
            let reason = match &r.state {
                RepoState::Skipped { reason }
                | RepoState::Failed { reason }
                | RepoState::WaitingForBudget { reason } => Some(reason.clone()),
                // Shown by `drover status`.
                RepoState::Drifted => r.waiting.clone(),
                _ => None,
            };
            let record = RepoRecord {
                // A failure, or what the budget did not allow, must be
                // done in full next time.
                head: if matches!(outcome, Outcome::Failed | Outcome::WaitingForBudget) {
                    None
                } else {
                    r.head.clone()
                },
                language: r.language.clone(),
                render_key: p.seen.render_key.clone(),
                outcome,
                reason,
                updated_at: now,
                proposal: proposal_record(p, previous.get(&r.full_name), now),
            };
            (r.full_name.clone(), record)
        })
        .collect();
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.put_repos(&records))
        .await
        .expect("store writer panicked")?;
    Ok(())
}

/// The history's entry for this sweep; `names`, the repositories of a
/// sweep of named ones.
pub(crate) fn history_entry(
    config: &Config,
    options: &SweepOptions,
    tally: &Tally,
    names: &[String],
    started_at: i64,
    requests: u64,
) -> SweepRecord {
    let (totals, actions) = (tally.totals, tally.actions);
    SweepRecord {
        started_at,
        finished_at: crate::store::now(),
        forge: config.fleet.forge.kind.to_string(),
        // The repository's name, however it was asked for.
        only: options.only.as_ref().map(|only| match names {
            [] => only.describe(),
            several => several.join(", "),
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

/// What the store keeps of a repository's proposal after this sweep: the
/// proposal's outcome if there was one; the previous record when the
/// repository failed or waits (nothing new is known); once it is in line,
/// the merged proposal that brought it there, if any; none when skipped.
pub(crate) fn proposal_record(
    planned: &Planned,
    previous: Option<&RepoRecord>,
    now: i64,
) -> Option<ProposalRecord> {
    let (report, seen) = (&planned.report, &planned.seen);
    let before = previous.and_then(|p| p.proposal.as_ref());
    let Some(proposed) = &report.proposal else {
        return match report.state {
            RepoState::Failed { .. }
            | RepoState::WaitingForBudget { .. }
            | RepoState::Drifted
            | RepoState::Misfit { .. } => before.cloned(),
            // In line by drover's proposal, merged (or applied): recorded
            // until the repository drifts again.
            RepoState::InLine => match seen.existing.first() {
                Some(merged) if merged.state == ProposalFate::Merged => Some(ProposalRecord {
                    number: Some(merged.number),
                    url: merged.url.clone(),
                    state: ProposalFate::Merged,
                    fingerprint: before.map(|b| b.fingerprint.clone()).unwrap_or_default(),
                    opened_at: before.map_or(now, |b| b.opened_at),
                    reason: None,
                    tip: None,
                    sent: Sent::default(),
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
        seen.existing
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
        // Keyed by the commit id where used, so a tip from an earlier
        // sweep is as good as the id still names it.
        tip: proposed.tip.clone().or_else(|| {
            before
                .filter(|b| b.url == proposed.url)
                .and_then(|b| b.tip.clone())
        }),
        sent: Sent {
            words: match (proposed.fate, proposed.wrote) {
                (ProposalFate::Open, Wrote::Opened | Wrote::Updated) => seen.words.clone(),
                // Not sent this time: the forge holds what was sent before.
                (ProposalFate::Open, Wrote::Nothing) => before
                    .filter(|b| b.url == proposed.url)
                    .and_then(|b| b.sent.words.clone()),
                _ => None,
            },
            missing: proposed.missing.clone(),
            warnings: proposed.warnings.clone(),
        },
    })
}

/// The store's word that a person declined these very changes, once
/// drover's branch is gone (deleted after the decline, so the forge can no
/// longer show the closed proposal at its tip): declined, with nothing
/// asked of the forge. Not while a proposal is open or the branch is there
/// (the forge's own decision reads those).
pub(crate) fn declined_before(planned: &Planned, record: Option<&RepoRecord>) -> Option<Proposed> {
    let (report, seen) = (&planned.report, &planned.seen);
    let p = record?.proposal.as_ref()?;
    let same = report.fingerprint.as_deref() == Some(p.fingerprint.as_str());
    (p.state == ProposalFate::Declined
        && same
        && seen.branch_tip.is_none()
        && seen.open_proposal().is_none())
    .then(|| Proposed::declined(p.url.clone(), p.number))
}
