//! `limits:` — caps on how many proposals are open and how many a sweep
//! opens. Pure, between planning and proposing.

use std::collections::HashMap;

use super::report::{Planned, RepoState};
use crate::model::ProposalFate;
use crate::store::RepoRecord;

/// Applies `limits:`: a drifted repository without an open proposal needs a
/// new one, and gets it only while fewer than `open_proposals` are open
/// fleet-wide and fewer than `new_per_sweep` were opened this sweep; the
/// rest wait, in name order, for a later sweep. Open proposals are counted
/// from what the snapshots saw and, for repositories that failed this
/// sweep or were not part of it, from the store. Open proposals are always updated.
pub(crate) fn hold_back_over_limits(
    limits: &crate::config::Limits,
    planned: &mut [Planned],
    records: &HashMap<String, RepoRecord>,
) {
    if limits.open_proposals.is_none() && limits.new_per_sweep.is_none() {
        return;
    }
    let has_open = |p: &Planned| p.seen.open_proposal().is_some();
    let stored_open = |name: &str| {
        records
            .get(name)
            .and_then(|rec| rec.proposal.as_ref())
            .is_some_and(|p| p.state == ProposalFate::Open)
    };
    let here: std::collections::HashSet<&str> = planned
        .iter()
        .map(|p| p.report.full_name.as_str())
        .collect();
    let mut open = planned
        .iter()
        .filter(|p| match p.report.state {
            RepoState::Drifted => has_open(p),
            // Not read this time: the store knows whether it is open.
            RepoState::Failed { .. } | RepoState::WaitingForBudget { .. } => {
                stored_open(&p.report.full_name)
            }
            _ => false,
        })
        .count()
        // With `--repo`, the others' open proposals are known from the store.
        + records
            .keys()
            .filter(|name| !here.contains(name.as_str()) && stored_open(name))
            .count();
    let mut opened = 0;
    for p in planned.iter_mut() {
        if p.report.state != RepoState::Drifted || has_open(p) {
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
            Some(why) => p.report.waiting = Some(format!("waits for a later sweep: {why}")),
            None => {
                open += 1;
                opened += 1;
            }
        }
    }
}
