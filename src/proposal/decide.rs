//! The proposal decision: the same rule on every forge, so that running a
//! sweep twice changes nothing and a person's word stands. From what a
//! forge's snapshot saw of drover's earlier work ([`Seen`], each forge
//! reads it from its own snapshot), in this order:
//!
//! 1. someone else's work is there (commits on drover's branch, a version
//!    of their own in drover's thread): hands off;
//! 2. drover's open proposal already carries exactly these changes on
//!    this base: unchanged;
//! 3. a person closed a proposal carrying exactly these changes without
//!    merging it: declined, not proposed again;
//! 4. otherwise write: a new version (unless drover's branch carries the
//!    changes already), then update the open proposal or open one.
//!
//! Forges only read (the snapshot) and write (what [`Decision::Write`]
//! says).

use super::Proposal;
use crate::model::{ExistingProposal, ProposalFate, Proposed};

/// What the snapshot saw of drover's earlier work in one repository, in
/// the decision's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// Someone else's work where drover would write.
    pub theirs: Option<Theirs>,
    /// drover's open proposal: the one that carries the changes, if one
    /// does, else the newest.
    pub open: Option<ExistingProposal>,
    /// drover's latest version (its branch's tip, or the open patchset)
    /// carries exactly these changes on this base.
    pub carried: bool,
    /// A proposal carrying exactly these changes that was closed without
    /// merge.
    pub declined: Option<ExistingProposal>,
}

/// Someone else's work, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theirs {
    pub url: String,
    pub number: Option<u64>,
    pub reason: String,
}

/// What the forge does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to write: the proposal stays as it is, and this is why.
    Leave(Proposed),
    /// Write the changes: a new version when `commit` (drover's branch
    /// does not carry them yet), then a new version of `update` or, when
    /// there is none, a new proposal.
    Write {
        commit: bool,
        update: Option<ExistingProposal>,
    },
}

/// The decision for what the snapshot saw.
pub fn decide(seen: &Seen) -> Decision {
    if let Some(theirs) = &seen.theirs {
        return Decision::Leave(Proposed::hands_off(
            theirs.url.clone(),
            theirs.number,
            theirs.reason.clone(),
        ));
    }
    if let (true, Some(open)) = (seen.carried, &seen.open) {
        return Decision::Leave(Proposed::unchanged(open.url.clone(), Some(open.number)));
    }
    if let Some(closed) = &seen.declined {
        return Decision::Leave(Proposed::declined(closed.url.clone(), Some(closed.number)));
    }
    Decision::Write {
        commit: !seen.carried,
        update: seen.open.clone(),
    }
}

impl Seen {
    /// What forges that propose from a branch (GitHub, GitLab) saw: the
    /// branch's tip and the proposals from it, as the proposal carries
    /// them. The tip is someone else's unless drover authored (and, where
    /// the forge says, committed) it; it carries the changes when it is
    /// one commit on the base with the changes' fingerprint; a proposal
    /// closed at that very tip declined them. `branch_url` is where
    /// someone else's branch is shown when no proposal is open.
    pub fn of_branch(p: &Proposal, branch_url: &str) -> Seen {
        let open = p
            .existing
            .iter()
            .find(|e| e.state == ProposalFate::Open)
            .cloned();
        let Some(tip) = &p.branch_tip else {
            return Seen {
                open,
                ..Seen::default()
            };
        };
        if !tip.is_by(&p.author.email) && !tip.is_by_any(&p.also_ours) {
            let who = tip.author_email.as_deref().unwrap_or("someone else");
            return Seen {
                theirs: Some(Theirs {
                    url: open
                        .as_ref()
                        .map_or_else(|| branch_url.to_owned(), |o| o.url.clone()),
                    number: open.as_ref().map(|o| o.number),
                    reason: format!(
                        "branch {} has commits by {who}; drover leaves it alone",
                        p.branch
                    ),
                }),
                open,
                ..Seen::default()
            };
        }
        let carried = p
            .base
            .as_ref()
            .is_some_and(|base| tip.parents == [base.clone()])
            && tip.fingerprint() == Some(p.fingerprint.as_str());
        let declined = p
            .existing
            .iter()
            .find(|e| {
                carried
                    && e.state == ProposalFate::Closed
                    && e.head.as_deref() == Some(tip.commit.as_str())
            })
            .cloned();
        Seen {
            theirs: None,
            open,
            carried,
            declined,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BranchTip, Wrote};

    fn proposal(number: u64, state: ProposalFate, head: Option<&str>) -> ExistingProposal {
        ExistingProposal {
            number,
            url: format!("https://forge/pull/{number}"),
            state,
            head: head.map(str::to_owned),
        }
    }

    fn theirs() -> Theirs {
        Theirs {
            url: "https://forge/theirs".into(),
            number: Some(9),
            reason: "their own version".into(),
        }
    }

    #[test]
    fn the_decision_table() {
        let open = proposal(1, ProposalFate::Open, Some("tip"));
        let closed = proposal(2, ProposalFate::Closed, Some("tip"));
        let cases: Vec<(&str, Seen, Decision)> = vec![
            (
                "nothing yet: write and open",
                Seen::default(),
                Decision::Write {
                    commit: true,
                    update: None,
                },
            ),
            (
                "someone else's work wins over everything",
                Seen {
                    theirs: Some(theirs()),
                    open: Some(open.clone()),
                    carried: true,
                    declined: Some(closed.clone()),
                },
                Decision::Leave(Proposed::hands_off(
                    "https://forge/theirs".into(),
                    Some(9),
                    "their own version".into(),
                )),
            ),
            (
                "open and carrying these changes: unchanged",
                Seen {
                    open: Some(open.clone()),
                    carried: true,
                    ..Seen::default()
                },
                Decision::Leave(Proposed::unchanged(open.url.clone(), Some(1))),
            ),
            (
                "open with other changes: a new version of it",
                Seen {
                    open: Some(open.clone()),
                    ..Seen::default()
                },
                Decision::Write {
                    commit: true,
                    update: Some(open.clone()),
                },
            ),
            (
                "closed while carrying these changes: declined",
                Seen {
                    carried: true,
                    declined: Some(closed.clone()),
                    ..Seen::default()
                },
                Decision::Leave(Proposed::declined(closed.url.clone(), Some(2))),
            ),
            (
                "declined, though another version is open",
                Seen {
                    open: Some(open.clone()),
                    declined: Some(closed.clone()),
                    ..Seen::default()
                },
                Decision::Leave(Proposed::declined(closed.url.clone(), Some(2))),
            ),
            (
                "the branch carries them but no proposal is open: open one, no new commit",
                Seen {
                    carried: true,
                    ..Seen::default()
                },
                Decision::Write {
                    commit: false,
                    update: None,
                },
            ),
        ];
        for (what, seen, want) in cases {
            assert_eq!(decide(&seen), want, "{what}");
        }
    }

    fn tip(parents: &[&str], fingerprint: &str, author: &str) -> BranchTip {
        BranchTip {
            commit: "tip".into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            author_email: Some(author.into()),
            committer_email: None,
            message: format!("drover: sync\n\nDrover-Fingerprint: {fingerprint}\n"),
        }
    }

    fn branch_proposal(tip: Option<BranchTip>, existing: Vec<ExistingProposal>) -> Proposal {
        let author = crate::config::Author::default();
        Proposal {
            branch: "drover/sync".into(),
            title: String::new(),
            body: String::new(),
            commit_message: String::new(),
            base: Some("base".into()),
            base_tree: None,
            changes: Vec::new(),
            patch: String::new(),
            branch_tip: tip.map(|t| BranchTip {
                author_email: t.author_email.map(|a| {
                    if a == "drover" {
                        author.email.clone()
                    } else {
                        a
                    }
                }),
                ..t
            }),
            author,
            also_ours: Vec::new(),
            labels: Vec::new(),
            reviewers: Vec::new(),
            fingerprint: "ff".into(),
            default_branch: "main".into(),
            existing,
            note: Default::default(),
            retry: Default::default(),
            words_sent: None,
            accounts: Default::default(),
        }
    }

    #[test]
    fn drovers_earlier_address_is_still_drover_once_it_runs_as_an_app() {
        // The open proposal's commit is by fleet.yaml's author; drover now
        // commits as a GitHub App's bot.
        let open = proposal(1, ProposalFate::Open, Some("tip"));
        let mut p = branch_proposal(Some(tip(&["base"], "ff", "drover")), vec![open]);
        let earlier = p.author.email.clone();
        p.author.email = "9+drover[bot]@users.noreply.github.com".into();
        let url = "https://forge/tree/drover/sync";
        assert!(
            Seen::of_branch(&p, url).theirs.is_some(),
            "without it: hands-off"
        );
        p.also_ours = vec![earlier];
        let seen = Seen::of_branch(&p, url);
        assert_eq!(seen.theirs, None);
        assert!(seen.carried, "the same changes on the same base");
    }

    #[test]
    fn what_a_branch_says() {
        let open = proposal(1, ProposalFate::Open, Some("tip"));
        let closed_here = proposal(2, ProposalFate::Closed, Some("tip"));
        let closed_elsewhere = proposal(3, ProposalFate::Closed, Some("older"));
        let merged = proposal(4, ProposalFate::Merged, Some("tip"));
        let url = "https://forge/tree/drover/sync";
        let cases: Vec<(&str, Proposal, Decision)> = vec![
            (
                "no branch",
                branch_proposal(None, vec![]),
                Decision::Write {
                    commit: true,
                    update: None,
                },
            ),
            (
                "no branch, an open proposal (its branch was deleted)",
                branch_proposal(None, vec![open.clone()]),
                Decision::Write {
                    commit: true,
                    update: Some(open.clone()),
                },
            ),
            (
                "someone else's commit, no proposal: the branch is shown",
                branch_proposal(Some(tip(&["base"], "ff", "dev@example.com")), vec![]),
                Decision::Leave(Proposed::hands_off(
                    url.into(),
                    None,
                    "branch drover/sync has commits by dev@example.com; drover leaves it alone"
                        .into(),
                )),
            ),
            (
                "someone else's commit on the open proposal",
                branch_proposal(
                    Some(tip(&["base"], "ff", "dev@example.com")),
                    vec![open.clone()],
                ),
                Decision::Leave(Proposed::hands_off(
                    open.url.clone(),
                    Some(1),
                    "branch drover/sync has commits by dev@example.com; drover leaves it alone"
                        .into(),
                )),
            ),
            (
                "the same changes on the same base, open",
                branch_proposal(Some(tip(&["base"], "ff", "drover")), vec![open.clone()]),
                Decision::Leave(Proposed::unchanged(open.url.clone(), Some(1))),
            ),
            (
                "the same changes on an older base: a new commit",
                branch_proposal(Some(tip(&["old"], "ff", "drover")), vec![open.clone()]),
                Decision::Write {
                    commit: true,
                    update: Some(open.clone()),
                },
            ),
            (
                "other changes: a new commit",
                branch_proposal(Some(tip(&["base"], "ee", "drover")), vec![open.clone()]),
                Decision::Write {
                    commit: true,
                    update: Some(open.clone()),
                },
            ),
            (
                "closed at this very tip: declined",
                branch_proposal(
                    Some(tip(&["base"], "ff", "drover")),
                    vec![closed_here.clone()],
                ),
                Decision::Leave(Proposed::declined(closed_here.url.clone(), Some(2))),
            ),
            (
                "closed at another commit: opened again from the branch as it is",
                branch_proposal(
                    Some(tip(&["base"], "ff", "drover")),
                    vec![closed_elsewhere, merged],
                ),
                Decision::Write {
                    commit: false,
                    update: None,
                },
            ),
            (
                "closed at this tip, but the changes moved on: a new commit",
                branch_proposal(Some(tip(&["base"], "ee", "drover")), vec![closed_here]),
                Decision::Write {
                    commit: true,
                    update: None,
                },
            ),
        ];
        for (what, p, want) in cases {
            let got = decide(&Seen::of_branch(&p, url));
            assert_eq!(got, want, "{what}");
            if let Decision::Leave(done) = got {
                assert_eq!(done.wrote, Wrote::Nothing, "{what}");
            }
        }
    }
}
