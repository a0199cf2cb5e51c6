//! What a migration records and reports: the journal entry of each
//! repository (its steps), the target action, and the per-repository and
//! whole reports.

use serde::{Deserialize, Serialize};

use crate::drift::Change;

/// The steps one repository is through. Stored as JSON in the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub source: String,
    pub target: String,
    pub target_id: String,
    pub target_web: String,
    pub target_default_branch: String,
    /// The target exists and is drover's to push to.
    pub created: bool,
    pub pushed_refs: Option<usize>,
    pub verified: bool,
    pub direct_commit: Option<String>,
    pub rerendered: Option<String>,
    pub archived: bool,
    pub done: bool,
}

/// What happens to a repository's target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetAction {
    /// A new repository.
    Create,
    /// An empty repository of that name exists and is used.
    Adopt,
    /// The target holds part of this history (an interrupted run): go on.
    Resume,
    /// Already migrated.
    Done,
    /// Never touched: the reason says why.
    Conflict,
    /// Left out: the reason says why.
    Skip,
}

/// A file the target gets re-rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rerender {
    pub path: String,
    pub change: Change,
}

/// One repository's plan and, after a run, what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct RepoMigration {
    pub name: String,
    pub source: String,
    pub target: String,
    pub action: TargetAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub branches: usize,
    pub tags: usize,
    pub commits: usize,
    pub bytes: u64,
    pub rerender: Vec<Rerender>,
    /// Target API requests this repository is expected to cost.
    pub estimated_requests: u64,
    pub result: MigrationResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerendered: Option<String>,
    pub archived: bool,
}

/// The whole migration.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    pub from: String,
    pub to: String,
    pub dry_run: bool,
    pub direct: bool,
    pub repositories: Vec<RepoMigration>,
    /// Repositories to create and API requests expected on the target,
    /// with what its rate limits allow.
    pub estimate: Estimate,
    /// Requests the run made: on the source, on the target.
    pub source_requests: u64,
    pub target_requests: u64,
    /// fleet.yaml's `forge:` now points at the target.
    pub fleet_updated: bool,
    /// Why fleet.yaml could not be rewritten, when every repository was
    /// through but the edit failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub creations: usize,
    pub requests: u64,
    pub limit: String,
}

impl MigrationReport {
    pub fn count(&self, result: MigrationResult) -> usize {
        self.repositories
            .iter()
            .filter(|r| r.result == result)
            .count()
    }
}

/// What became of one repository in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationResult {
    /// A dry run's plan.
    Planned,
    /// Moved by this run.
    Migrated,
    /// Moved by an earlier run.
    Done,
    /// Never touched: the reason says why.
    Conflict,
    /// Left out: the reason says why.
    Skipped,
    /// Stopped at a step: the detail says which and why.
    Failed,
}

impl MigrationResult {
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationResult::Planned => "planned",
            MigrationResult::Migrated => "migrated",
            MigrationResult::Done => "done",
            MigrationResult::Conflict => "conflict",
            MigrationResult::Skipped => "skipped",
            MigrationResult::Failed => "failed",
        }
    }

    /// Through: nothing left to do for it.
    pub fn through(self) -> bool {
        matches!(
            self,
            MigrationResult::Migrated | MigrationResult::Done | MigrationResult::Skipped
        )
    }
}

impl std::fmt::Display for MigrationResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}
