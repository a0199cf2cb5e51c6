//! What a sweep does after proposing, from what the snapshots saw: say
//! once that drover keeps its hands off someone else's work, close a
//! proposal whose drift was fixed by hand, and tidy up after a merge.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};

use super::report::{Planned, RepoState};
use super::SweepOptions;
use crate::config::Config;
use crate::forge::{Forge, ForgeError};
use crate::model::{ExistingProposal, ProposalFate, RemoteRepo};
use crate::store::RepoRecord;

/// Says once, on the proposal, that drover keeps its hands off it: the
/// first sweep that finds someone else's work on it comments; later ones
/// see `hands_off` in the store and stay quiet. A failed comment marks the
/// repository failed, so the next sweep tries again.
pub(crate) async fn tell_hands_off(
    forge: &dyn Forge,
    planned: &mut [Planned],
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
    let jobs = planned
        .iter_mut()
        .filter(|p| !told(&p.report.full_name))
        .filter_map(|p| {
            let proposed = p
                .report
                .proposal
                .as_ref()
                .filter(|x| x.fate == ProposalFate::HandsOff)?;
            let reason = proposed.reason.as_deref().unwrap_or_default();
            let repo = *repos.get(p.report.name.as_str())?;
            // The open proposal, or what the forge named as the other
            // person's (a sourcehut patchset).
            let target = p.seen.open_proposal().cloned().or_else(|| {
                proposed.number.map(|number| ExistingProposal {
                    number,
                    url: proposed.url.clone(),
                    state: ProposalFate::Open,
                    head: None,
                })
            })?;
            // One sentence, true on every forge (no word of branches: a
            // sourcehut thread has none).
            let text = format!(
                "drover found someone else's work here ({reason}), so this change is \
                 yours now and drover proposes again for {} only once it is merged or closed.",
                p.report.full_name
            );
            Some((p, repo, target, text))
        })
        .map(|(planned, repo, target, text)| async move {
            match forge
                .comment(repo, &target, &planned.seen.note, &text)
                .await
            {
                Ok(()) | Err(ForgeError::Unsupported(_)) => {}
                Err(e) => {
                    planned.report.state = super::budget::state_of(
                        &format!("telling {} that drover steps back", target.url),
                        &e,
                    );
                    // Not recorded as hands-off: the next sweep says it again.
                    planned.report.proposal = None;
                }
            }
        });
    stream::iter(jobs)
        .buffer_unordered(options.concurrency.max(1))
        .collect::<()>()
        .await;
}

/// Closes drover's open proposal in every repository that is in line again
/// without it (fixed by hand on the default branch), with a short comment.
/// Not where drover's branch carries someone else's commits (hands-off),
/// nor where the default branch's head is drover's tip (merged by a push).
/// A forge without the operation leaves the proposal open; a failure marks
/// the repository failed, so the next sweep looks again.
pub(crate) async fn close_fixed_by_hand(
    ours: &[String],
    forge: &dyn Forge,
    planned: &mut [Planned],
    repos: &HashMap<&str, &RemoteRepo>,
    options: &SweepOptions,
) {
    let jobs = planned
        .iter_mut()
        .filter(|p| p.report.state == RepoState::InLine)
        // drover's own branch, and not merged by a push of its tip (the
        // forge marks that proposal merged itself).
        .filter(|p| {
            p.seen
                .branch_tip
                .as_ref()
                .is_none_or(|t| t.is_by_any(ours) && p.report.head.as_ref() != Some(&t.commit))
        })
        .filter_map(|p| {
            let repo = *repos.get(p.report.name.as_str())?;
            let open = p.seen.open_proposal()?.clone();
            Some((p, repo, open))
        })
        .map(|(planned, repo, open)| async move {
            let head = planned.report.head.as_deref().unwrap_or("its head");
            let short = &head[..head.len().min(12)];
            let comment = format!(
                "The default branch of {} now matches the templates (at {short}), so this \
                 change is no longer needed. Closed by drover.",
                planned.report.full_name
            );
            match forge.close(repo, &open, &planned.seen.note, &comment).await {
                Ok(()) => planned.report.closed = Some(open.url.clone()),
                Err(ForgeError::Unsupported(_)) => {}
                Err(e) => {
                    planned.report.state =
                        super::budget::state_of(&format!("closing {}", open.url), &e)
                }
            }
        });
    stream::iter(jobs)
        .buffer_unordered(options.concurrency.max(1))
        .collect::<()>()
        .await;
}

/// Tidies up where drover's proposal was merged (or applied) and the
/// repository is in line by it, or a person just declined it: the forge
/// deletes drover's branch or marks the patchset applied
/// ([`Forge::settle`]). The branch is offered only when it holds drover's
/// own commit (by one of `ours`, drover's addresses) and that is what was merged or closed, never
/// someone else's work. A declined proposal whose branch goes is told so
/// (the store then remembers the decline). A failure is logged, not the
/// repository's: nothing is lost, and a branch left is offered again next
/// time.
pub(crate) async fn settle(
    config: &Config,
    ours: &[String],
    forge: &dyn Forge,
    planned: &[Planned],
    repos: &HashMap<&str, &RemoteRepo>,
    options: &SweepOptions,
) {
    let branch = config.fleet.defaults.branch.as_str();
    let jobs = planned
        .iter()
        .filter_map(|p| {
            let declined = p
                .report
                .proposal
                .as_ref()
                .filter(|d| d.fate == ProposalFate::Declined);
            let done = match (&p.report.state, declined) {
                (RepoState::InLine, _) => p
                    .seen
                    .existing
                    .first()
                    .filter(|e| e.state == ProposalFate::Merged)?,
                (RepoState::Drifted, Some(d)) => p.seen.existing.iter().find(|e| e.url == d.url)?,
                _ => return None,
            };
            let repo = *repos.get(p.report.name.as_str())?;
            // drover's own commit, and what was merged or closed: nothing
            // else is on the branch.
            let tip =
                p.seen.branch_tip.as_ref().filter(|t| {
                    t.is_by_any(ours) && done.head.as_deref() == Some(t.commit.as_str())
                });
            Some((p, repo, done, tip, declined.is_some()))
        })
        .map(|(planned, repo, done, tip, declined)| async move {
            let note = &planned.seen.note;
            if let Err(e) = forge.settle(repo, done, tip, note).await {
                tracing::warn!(repo = %repo.full_name, "tidying up after {}: {e}", done.url);
                return;
            }
            if declined && tip.is_some() {
                let text = format!(
                    "drover will not propose these changes to {} again until its templates \
                     render something else, and its branch {branch} is deleted.",
                    planned.report.full_name
                );
                if let Err(e) = forge.comment(repo, done, note, &text).await {
                    tracing::warn!(repo = %repo.full_name, "commenting on {}: {e}", done.url);
                }
            }
        });
    stream::iter(jobs)
        .buffer_unordered(options.concurrency.max(1))
        .collect::<()>()
        .await;
}
