//! GitLab-only state, kept as a world extension (`world.ext_mut::<State>()`)
//! so `world.rs` stays forge-neutral: fork parents, project merge settings,
//! and merge-request details the shared [`crate::world::Proposal`] lacks.

use std::collections::HashMap;

use crate::world::World;

/// How a project merges merge requests (`merge_method`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MergeMethod {
    /// Always a merge commit (GitLab's default).
    #[default]
    Merge,
    /// Merge commit, only when the source is rebased on the target.
    RebaseMerge,
    /// Fast-forward only.
    Ff,
}

impl MergeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::RebaseMerge => "rebase_merge",
            MergeMethod::Ff => "ff",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "merge" => Some(MergeMethod::Merge),
            "rebase_merge" => Some(MergeMethod::RebaseMerge),
            "ff" => Some(MergeMethod::Ff),
            _ => None,
        }
    }
}

/// Project settings the world does not hold.
#[derive(Clone, Debug, Default)]
pub struct ProjectExtra {
    /// The display name when it differs from the path (`POST /projects`).
    pub name: Option<String>,
    /// The project this one was forked from (`forked_from_project`).
    pub forked_from: Option<u64>,
    pub merge_method: MergeMethod,
    pub remove_source_branch_after_merge: bool,
    /// The user who created the project through the API.
    pub creator: Option<String>,
}

/// Merge-request details the world's `Proposal` does not hold.
#[derive(Clone, Debug, Default)]
pub struct MrExtra {
    /// `remove_source_branch` as given at creation or update.
    pub force_remove_source_branch: bool,
    /// The merge parameter `should_remove_source_branch`.
    pub should_remove_source_branch: Option<bool>,
    pub squash: bool,
    pub merged_by: Option<String>,
    pub closed_by: Option<String>,
    pub squash_commit: Option<String>,
    /// The source head when merged (the branch may be gone afterwards).
    pub merged_head: Option<String>,
    /// Target head when merged (diff base after the fact).
    pub merged_base: Option<String>,
    pub assignees: Vec<String>,
}

/// All GitLab-only state.
#[derive(Debug, Default)]
pub struct State {
    pub projects: HashMap<u64, ProjectExtra>,
    /// By proposal id.
    pub mrs: HashMap<u64, MrExtra>,
}

impl State {
    /// A project's extra settings (defaults when never set).
    pub fn project(&self, id: u64) -> ProjectExtra {
        self.projects.get(&id).cloned().unwrap_or_default()
    }

    /// A merge request's extra details (defaults when never set).
    pub fn mr(&self, proposal_id: u64) -> MrExtra {
        self.mrs.get(&proposal_id).cloned().unwrap_or_default()
    }
}

/// Read access without creating the extension.
pub fn get(world: &World) -> Option<&State> {
    world.ext::<State>()
}

/// A project's extra settings.
pub fn project(world: &World, id: u64) -> ProjectExtra {
    get(world).map(|s| s.project(id)).unwrap_or_default()
}

/// A merge request's extra details.
pub fn mr(world: &World, proposal_id: u64) -> MrExtra {
    get(world).map(|s| s.mr(proposal_id)).unwrap_or_default()
}

/// Records that `project_id` is a fork of `parent_id` (tests seed forks
/// with this; `RepoSeed::fork()` alone gives a fork of an unknown parent).
pub fn set_forked_from(world: &mut World, project_id: u64, parent_id: u64) {
    if let Some(r) = world.repos.get_mut(&project_id) {
        r.fork = true;
    }
    world
        .ext_mut::<State>()
        .projects
        .entry(project_id)
        .or_default()
        .forked_from = Some(parent_id);
}

/// Projects forked from `id`.
pub fn forks_count(world: &World, id: u64) -> usize {
    get(world).map_or(0, |s| {
        s.projects
            .values()
            .filter(|p| p.forked_from == Some(id))
            .count()
    })
}
