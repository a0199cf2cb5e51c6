//! `limits:` — caps on how many proposals are open and how many a sweep
//! opens. Pure, between planning and proposing.
//!
//! A sweep goes through the fleet a batch at a time, so the count of open
//! proposals is kept as it goes ([`Allowance`]): it starts from the
//! store's word for every repository discovered (what the last sweep
//! left open), and each repository the sweep is done with replaces the
//! store's word by what was seen (a proposal merged or closed since no
//! longer counts; one found open that the store did not know of does).
//! A batch is held back against the count as it stands: a proposal merged
//! in a repository of a later batch frees its slot for the next sweep, so
//! the caps are never exceeded on what drover knows.

#[cfg(test)]
use std::collections::HashMap;

use super::report::{Planned, RepoState};
use crate::model::ProposalFate;
use crate::store::RepoRecord;

/// Whether the store says drover's proposal in this repository is open.
fn stored_open(record: Option<&RepoRecord>) -> bool {
    record
        .and_then(|rec| rec.proposal.as_ref())
        .is_some_and(|p| p.state == ProposalFate::Open)
}

/// What `limits:` still allows this sweep.
#[derive(Debug)]
pub(crate) struct Allowance<'l> {
    limits: &'l crate::config::Limits,
    /// Open proposals fleet-wide, as known now.
    open: isize,
    /// New proposals this sweep.
    opened: usize,
}

impl<'l> Allowance<'l> {
    pub fn new(limits: &'l crate::config::Limits) -> Allowance<'l> {
        Allowance {
            limits,
            open: 0,
            opened: 0,
        }
    }

    fn applies(&self) -> bool {
        self.limits.open_proposals.is_some() || self.limits.new_per_sweep.is_some()
    }

    /// A repository discovered, with its record: counted as the store
    /// says, until the sweep sees it.
    pub fn stored(&mut self, record: Option<&RepoRecord>) {
        self.open += isize::from(stored_open(record));
    }

    /// The sweep planned `p` (`record`, its record before): what was seen
    /// replaces what the store said. A repository not read (failed,
    /// waiting for budget) keeps the store's word.
    pub fn seen(&mut self, p: &Planned, record: Option<&RepoRecord>) {
        let stored = stored_open(record);
        let now = match p.report.state {
            RepoState::Drifted => p.seen.open_proposal().is_some(),
            RepoState::Failed { .. } | RepoState::WaitingForBudget { .. } => stored,
            _ => false,
        };
        self.open += isize::from(now) - isize::from(stored);
    }

    /// Applies `limits:` to a batch already [`seen`](Self::seen): a
    /// drifted repository without an open proposal needs a new one, and
    /// gets it only while fewer than `open_proposals` are open fleet-wide
    /// and fewer than `new_per_sweep` were opened this sweep; the rest
    /// wait, in the batch's order, for a later sweep. Open proposals are
    /// always updated.
    pub fn hold_back(&mut self, planned: &mut [Planned]) {
        if !self.applies() {
            return;
        }
        for p in planned.iter_mut() {
            if p.report.state != RepoState::Drifted || p.seen.open_proposal().is_some() {
                continue;
            }
            let open = self.open.max(0) as usize;
            let why = match (self.limits.open_proposals, self.limits.new_per_sweep) {
                (Some(max), _) if open >= max => Some(format!(
                    "{open} drover proposals are open, the most `limits.open_proposals` allows ({max})"
                )),
                (_, Some(max)) if self.opened >= max => Some(format!(
                    "{} new proposals this sweep, the most `limits.new_per_sweep` allows ({max})",
                    self.opened
                )),
                _ => None,
            };
            match why {
                Some(why) => p.report.waiting = Some(format!("waits for a later sweep: {why}")),
                None => {
                    self.open += 1;
                    self.opened += 1;
                }
            }
        }
    }
}

/// [`Allowance`] over one batch holding every planned repository:
/// `records` are the store's, those of repositories not planned included
/// (with `--repo`, the others' open proposals are known from the store).
#[cfg(test)]
pub(crate) fn hold_back_over_limits(
    limits: &crate::config::Limits,
    planned: &mut [Planned],
    records: &HashMap<String, RepoRecord>,
) {
    let mut allowance = Allowance::new(limits);
    for record in records.values() {
        allowance.stored(Some(record));
    }
    for p in planned.iter() {
        allowance.seen(p, records.get(&p.report.full_name));
    }
    allowance.hold_back(planned);
}
