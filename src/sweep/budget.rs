//! A sweep bigger than the forge's rate-limit budget: the forge client
//! paces its requests and waits for resets up to `forge.max_wait_secs`
//! (`forge::budget`); past that, what could not be done is *waiting for
//! budget* — a state of its own, not a failure — and the next sweep does
//! those repositories first, so a fleet larger than one window's budget
//! is covered across sweeps instead of failing the same tail every time.

use super::report::RepoState;
use crate::forge::ForgeError;
use crate::model::Outcome;
use crate::store::RepoRecord;

/// What a forge error leaves a repository as: waiting for budget when the
/// forge's rate limit refused (or would have made drover wait longer than
/// it may), failed otherwise. `what` names the step.
pub(crate) fn state_of(what: &str, e: &ForgeError) -> RepoState {
    match e {
        ForgeError::RateLimited { retry_after_secs } => RepoState::WaitingForBudget {
            reason: format!(
                "{what}: the forge's rate-limit budget is spent for {retry_after_secs} s more, longer than drover waits (forge.max_wait_secs); the next sweep does this repository first"
            ),
        },
        other => RepoState::Failed {
            reason: format!("{what}: {other}"),
        },
    }
}

/// Whether the last sweep left the repository of `record` waiting for
/// budget.
pub(crate) fn was_waiting(record: Option<&RepoRecord>) -> bool {
    record.is_some_and(|r| r.outcome == Outcome::WaitingForBudget)
}

/// `items` with those the last sweep left waiting first, each group in
/// its own order.
pub(crate) fn waiting_first<T>(items: &mut [T], waiting: impl Fn(&T) -> bool) {
    items.sort_by_key(|item| !waiting(item));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_spent_budget_leaves_a_repository_waiting() {
        let spent = ForgeError::RateLimited {
            retry_after_secs: 3600,
        };
        match state_of("propose", &spent) {
            RepoState::WaitingForBudget { reason } => {
                assert!(reason.starts_with("propose: "), "{reason}");
                assert!(reason.contains("3600 s"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let broken = ForgeError::Api {
            status: Some(500),
            message: "boom".into(),
        };
        assert_eq!(
            state_of("snapshot", &broken),
            RepoState::Failed {
                reason: "snapshot: boom".into()
            }
        );
    }

    #[test]
    fn those_left_waiting_go_first_each_group_in_its_order() {
        let mut names = ["a", "b", "c", "d", "e"];
        waiting_first(&mut names, |n| ["b", "e"].contains(n));
        assert_eq!(names, ["b", "e", "a", "c", "d"]);
    }
}
