//! The forge interface and its implementations. Only this module knows a
//! forge's wire format; it speaks the plain types of `model` to the rest.
//!
//! A forge does three things for a sweep: list the owner's repositories
//! (discover), read default-branch heads and managed paths without cloning
//! (snapshot, batched), and open or update one proposal per repository
//! (propose), idempotently: the same proposal twice changes nothing.

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

/// A forge, as a sweep sees it.
#[async_trait]
pub trait Forge: Send + Sync {
    /// Every repository of the owner (all pages).
    async fn discover(&self) -> Result<Vec<RemoteRepo>, ForgeError>;

    /// Default-branch heads, the wanted paths and the wanted directories'
    /// entries of many repositories, in as few requests as the forge
    /// allows. One result per repository, in order: one repository's
    /// failure does not fail the others.
    async fn snapshot(
        &self,
        repos: &[RemoteRepo],
        wanted: &Wanted,
    ) -> Vec<Result<Snapshot, ForgeError>>;

    /// The bytes of `paths` at commit `head`, for paths a snapshot answered
    /// as [`crate::model::Actual::Blob`]. Only forges that answer blob ids
    /// implement it.
    async fn read_files(
        &self,
        repo: &RemoteRepo,
        head: &str,
        paths: &[RepoPath],
    ) -> Result<Vec<Vec<u8>>, ForgeError> {
        let _ = (head, paths);
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
}
