//! The forge interface and its implementations. Only this module knows a
//! forge's wire format; it speaks the plain types of `model` to the rest.
//!
//! A forge does three things for a sweep: list the owner's repositories
//! (discover), read default-branch heads and managed paths without cloning
//! (snapshot, batched), and open or update one proposal per repository
//! (propose), idempotently: the same proposal twice changes nothing.

pub mod budget;
pub mod github;
pub mod gitlab;
pub mod hook;
pub mod http;
pub mod local;
pub mod profile;
pub mod sourcehut;

pub use profile::{ci_flavor, forge_facts, open, profile, OpenError, Profile};

use async_trait::async_trait;

use crate::model::{GitRemote, Proposed, RemoteRepo, RepoPath, Snapshot, Wanted};
use crate::proposal::Proposal;

/// A forge that failed. `is_transient` drives retries.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ForgeError {
    /// The forge answered, but not with what was asked.
    #[error("{message}")]
    Api {
        status: Option<u16>,
        message: String,
    },
    #[error("rate limited; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("network: {0}")]
    Network(String),
    /// A body that did not parse: truncated or garbled on the way.
    #[error("malformed response: {0}")]
    Malformed(String),
    #[error("git: {0}")]
    Git(String),
    #[error("{0}")]
    Io(String),
    /// The repository changed under drover during the sweep.
    #[error("{0}")]
    Conflict(String),
    /// This forge has no such operation.
    #[error("not supported: {0}")]
    Unsupported(String),
}

impl ForgeError {
    pub fn is_transient(&self) -> bool {
        match self {
            ForgeError::Api { status, .. } => matches!(status, Some(500..=599) | Some(429)),
            ForgeError::RateLimited { .. } | ForgeError::Network(_) | ForgeError::Malformed(_) => {
                true
            }
            _ => false,
        }
    }

    /// Whether a batch that failed this way may have failed for one
    /// repository's part of it — a GraphQL error, an answer that never
    /// decoded, a server error or a timeout, a query refused as too
    /// complex — so that asking for halves can save the others.
    /// Throttling and refused tokens would fail every half alike.
    pub fn may_be_one_repository(&self) -> bool {
        match self {
            ForgeError::Api { status, .. } => matches!(status, None | Some(500..=599)),
            ForgeError::Malformed(_) | ForgeError::Network(_) => true,
            _ => false,
        }
    }

    /// Prefixes the message with what was being done (`GET /repos/a/b`).
    pub fn context(self, what: &str) -> ForgeError {
        match self {
            ForgeError::Api { status, message } => ForgeError::Api {
                status,
                message: format!("{what}: {message}"),
            },
            ForgeError::Network(m) => ForgeError::Network(format!("{what}: {m}")),
            ForgeError::Malformed(m) => ForgeError::Malformed(format!("{what}: {m}")),
            other => other,
        }
    }
}

/// A batched read whose failure stays with the repository that caused it:
/// `batch` answers one result per repository of a slice of `repos`, or
/// fails the slice as a whole; a failed slice of several repositories
/// that [`ForgeError::may_be_one_repository`] is halved and each half
/// asked again, down to single repositories.
pub async fn halving<'r, T, F, Fut>(repos: &'r [RemoteRepo], batch: F) -> Vec<Result<T, ForgeError>>
where
    F: Fn(&'r [RemoteRepo]) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Result<T, ForgeError>>, ForgeError>>,
{
    let mut out: Vec<Option<Result<T, ForgeError>>> =
        std::iter::repeat_with(|| None).take(repos.len()).collect();
    let mut todo = vec![(0, repos.len())];
    while let Some((start, end)) = todo.pop() {
        if start == end {
            continue;
        }
        match batch(&repos[start..end]).await {
            Ok(results) => {
                for (slot, result) in out[start..end].iter_mut().zip(results) {
                    *slot = Some(result);
                }
            }
            Err(e) if end - start > 1 && e.may_be_one_repository() => {
                tracing::debug!(repositories = end - start, error = %e, "batch failed; asking for halves");
                let mid = start + (end - start) / 2;
                todo.push((mid, end));
                todo.push((start, mid));
            }
            Err(e) => {
                for slot in &mut out[start..end] {
                    *slot = Some(Err(e.clone()));
                }
            }
        }
    }
    out.into_iter()
        .zip(repos)
        .map(|(result, repo)| {
            result.unwrap_or_else(|| {
                Err(ForgeError::Malformed(format!(
                    "{}: no answer in its batch",
                    repo.full_name
                )))
            })
        })
        .collect()
}

/// `content` when it hashes to the git blob id `oid` (SHA-1 or SHA-256,
/// by its length); otherwise a transient error, so that a cut-off or
/// altered answer is asked for again and never becomes a proposal.
/// `what` names the file in the error.
pub fn verified(content: Vec<u8>, oid: &str, what: &str) -> Result<Vec<u8>, ForgeError> {
    match crate::git::blob_id_like(&content, oid) {
        Some(_) if hashes_to(&content, oid) => Ok(content),
        Some(_) => Err(ForgeError::Malformed(format!(
            "{what}: the {} bytes read do not hash to its blob id {oid} (cut off or altered on the way)",
            content.len()
        ))),
        None => Err(ForgeError::Api {
            status: None,
            message: format!(
                "{what}: blob id `{oid}` is neither a SHA-1 nor a SHA-256 id, so its content cannot be verified"
            ),
        }),
    }
}

/// Whether `content` is the blob with git id `oid` (SHA-1 or SHA-256).
pub fn hashes_to(content: &[u8], oid: &str) -> bool {
    crate::git::blob_id_like(content, oid).is_some_and(|id| id.eq_ignore_ascii_case(oid))
}

/// A forge, as a sweep sees it.
#[async_trait]
pub trait Forge: Send + Sync {
    /// Every repository of the owner (all pages).
    async fn discover(&self) -> Result<Vec<RemoteRepo>, ForgeError>;

    /// The owner's repositories with these full names, as `discover`
    /// describes them (heads included): what the daemon's sweep of the
    /// few a webhook named needs. By default the whole list, filtered; a
    /// forge that can look a repository up in one request does so.
    async fn lookup(
        &self,
        full_names: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<RemoteRepo>, ForgeError> {
        Ok(self
            .discover()
            .await?
            .into_iter()
            .filter(|r| full_names.contains(&r.full_name))
            .collect())
    }

    /// drover's branch tips the store remembers, by full name: a forge
    /// whose snapshot reads only the tip's id uses a remembered tip with
    /// the same id instead of reading the commit. By default ignored.
    fn remember_tips(&self, tips: Vec<(String, crate::model::BranchTip)>) {
        let _ = tips;
    }

    /// Default-branch heads, the wanted paths and the wanted directories'
    /// entries of many repositories, in as few requests as the forge
    /// allows. One result per repository, in order: one repository's
    /// failure does not fail the others.
    async fn snapshot(
        &self,
        repos: &[RemoteRepo],
        wanted: &Wanted,
    ) -> Vec<Result<Snapshot, ForgeError>>;

    /// The bytes of `files` — (path, blob id) as a snapshot answered them
    /// ([`crate::model::Actual::Blob`]) — at commit `head`, each verified
    /// against its blob id: content that does not hash to it is asked for
    /// again and never returned. Only forges that answer blob ids
    /// implement it.
    async fn read_files(
        &self,
        repo: &RemoteRepo,
        head: &str,
        files: &[(RepoPath, String)],
    ) -> Result<Vec<Vec<u8>>, ForgeError> {
        let _ = (head, files);
        Err(ForgeError::Unsupported(format!(
            "{}: reading files by path outside a snapshot",
            repo.full_name
        )))
    }

    /// Leaves `text` on a proposal (a comment; on sourcehut a reply in its
    /// thread). `note` is the forge's own, from the snapshot that saw it.
    async fn comment(
        &self,
        repo: &RemoteRepo,
        proposal: &crate::model::ExistingProposal,
        note: &crate::model::ForgeNote,
        text: &str,
    ) -> Result<(), ForgeError> {
        let _ = (proposal, note, text);
        Err(ForgeError::Unsupported(format!(
            "{}: commenting on proposals",
            repo.full_name
        )))
    }

    /// Closes drover's open proposal, leaving `comment` on it: the drift
    /// it fixed was fixed on the default branch by other means.
    async fn close(
        &self,
        repo: &RemoteRepo,
        proposal: &crate::model::ExistingProposal,
        note: &crate::model::ForgeNote,
        comment: &str,
    ) -> Result<(), ForgeError> {
        let _ = (proposal, note, comment);
        Err(ForgeError::Unsupported(format!(
            "{}: closing proposals",
            repo.full_name
        )))
    }

    /// Who drover's commits must be by when the forge's credentials say
    /// so (a GitHub App commits as its bot); `None`: `defaults.author`.
    async fn author(&self) -> Result<Option<crate::config::Author>, ForgeError> {
        Ok(None)
    }

    /// Tidies up after drover's proposal was merged (or applied) or
    /// declined, from what the snapshot saw: `merged` is that proposal,
    /// `tip` drover's branch when it holds only drover's own commit and
    /// that is what was merged or closed (the sweep checks both: the
    /// branch holds nothing else). GitHub and GitLab delete the branch when its tip is
    /// what was merged; sourcehut marks a patchset `git am`ed onto the
    /// default branch APPLIED on its list. Nothing by default.
    async fn settle(
        &self,
        repo: &RemoteRepo,
        merged: &crate::model::ExistingProposal,
        tip: Option<&crate::model::BranchTip>,
        note: &crate::model::ForgeNote,
    ) -> Result<(), ForgeError> {
        let _ = (repo, merged, tip, note);
        Ok(())
    }

    /// Opens or updates the repository's proposal.
    async fn propose(&self, repo: &RemoteRepo, proposal: &Proposal)
        -> Result<Proposed, ForgeError>;

    /// Requests sent to the forge so far.
    fn requests(&self) -> u64 {
        0
    }

    /// Where git fetches and pushes the repository `name` (relative to the
    /// owner), with the token for the credential callback.
    fn git_remote(&self, name: &str) -> Result<GitRemote, ForgeError> {
        Err(ForgeError::Unsupported(format!(
            "git access to {name} on this forge"
        )))
    }

    /// Creates an empty repository `name` under the owner, private
    /// (visible only to those given access) or public.
    async fn create_repo(
        &self,
        name: &str,
        description: &str,
        private: bool,
    ) -> Result<RemoteRepo, ForgeError> {
        let _ = (description, private);
        Err(ForgeError::Unsupported(format!("creating {name}")))
    }

    /// Makes `branch` (already pushed) the repository's default branch.
    async fn set_default_branch(&self, repo: &RemoteRepo, branch: &str) -> Result<(), ForgeError> {
        let _ = branch;
        Err(ForgeError::Unsupported(format!(
            "changing the default branch of {}",
            repo.full_name
        )))
    }

    /// Archives the repository (read-only where the forge can) with
    /// `description` saying where it moved. Deletes nothing.
    async fn archive(&self, repo: &RemoteRepo, description: &str) -> Result<(), ForgeError> {
        let _ = description;
        Err(ForgeError::Unsupported(format!(
            "archiving {}",
            repo.full_name
        )))
    }

    /// The forge's answers so far, by status, and its rate-limit budget.
    fn traffic(&self) -> http::Traffic {
        http::Traffic::default()
    }

    /// How far the sweep is through its current step, in repositories
    /// (`done == 0` starts a step): a forge with rate-limit budgets
    /// estimates what the rest will cost from what the done part cost,
    /// and spreads its requests until the reset when the rest would not
    /// fit in what is left.
    fn progress(&self, done: u64, left: u64) {
        let _ = (done, left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn repos(names: &[&str]) -> Vec<RemoteRepo> {
        names
            .iter()
            .map(|n| RemoteRepo::named(n, &format!("acme/{n}")))
            .collect()
    }

    /// Runs `halving` over `names` with a batch that fails as a whole with
    /// `error` whenever it holds `bad`; the answers by name, and the
    /// batches asked for.
    async fn halve(
        names: &[&str],
        bad: &str,
        error: ForgeError,
    ) -> (Vec<(String, bool)>, Vec<usize>) {
        let repos = repos(names);
        let asked = Mutex::new(Vec::new());
        let out = halving(&repos, |batch: &[RemoteRepo]| {
            asked.lock().unwrap().push(batch.len());
            let failed = batch.iter().any(|r| r.name == bad);
            let error = error.clone();
            async move {
                if failed {
                    return Err(error);
                }
                Ok(batch.iter().map(|r| Ok(r.name.clone())).collect())
            }
        })
        .await;
        let answers = names
            .iter()
            .zip(out)
            .map(|(n, r)| ((*n).to_owned(), r.is_ok()))
            .collect();
        (answers, asked.into_inner().unwrap())
    }

    #[tokio::test]
    async fn a_failed_batch_is_halved_down_to_the_repository_that_failed_it() {
        let names = ["a", "b", "c", "d", "e"];
        let (answers, asked) = halve(&names, "d", ForgeError::Malformed("cut".into())).await;
        let failed: Vec<&str> = answers
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(failed, ["d"]);
        assert_eq!(asked, [5, 2, 3, 1, 2, 1, 1]);

        // A GraphQL error or a server error may be one repository's too.
        for error in [
            ForgeError::Api {
                status: None,
                message: "Query has complexity of 300".into(),
            },
            ForgeError::Api {
                status: Some(502),
                message: "bad gateway".into(),
            },
        ] {
            let (answers, _) = halve(&names, "a", error).await;
            assert_eq!(answers.iter().filter(|(_, ok)| *ok).count(), 4);
        }
    }

    #[tokio::test]
    async fn a_batch_refused_for_everyone_is_not_halved() {
        for error in [
            ForgeError::Api {
                status: Some(401),
                message: "bad token".into(),
            },
            ForgeError::RateLimited {
                retry_after_secs: 3600,
            },
        ] {
            let (answers, asked) = halve(&["a", "b", "c"], "a", error).await;
            assert!(answers.iter().all(|(_, ok)| !ok));
            assert_eq!(asked, [3]);
        }
    }

    #[test]
    fn content_is_used_only_when_it_hashes_to_its_blob_id() {
        let sha1 = "ce013625030ba8dba906f756967f9e9ca394464a";
        let sha256 = "2cf8d83d9ee29543b34a87727421fdecb7e3f3a183d337639025de576db9ebb4";
        for oid in [sha1, sha256, &sha1.to_uppercase()] {
            assert_eq!(verified(b"hello\n".to_vec(), oid, "f").unwrap(), b"hello\n");
        }
        let cut = verified(b"hel".to_vec(), sha1, "acme/a: .dockerignore").unwrap_err();
        assert!(cut.is_transient(), "asked for again: {cut:?}");
        assert!(cut.to_string().contains("acme/a: .dockerignore"), "{cut}");
        let unknown = verified(b"hello\n".to_vec(), "abc", "f").unwrap_err();
        assert!(!unknown.is_transient(), "{unknown:?}");
    }
}
