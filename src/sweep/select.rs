//! Which repositories a sweep works on, and which language each one is.

use globset::GlobMatcher;

use crate::config::{Config, Policy};
use crate::model::{Actual, RemoteRepo, Snapshot};

/// The fleet's include/exclude patterns and ignore overrides, compiled.
pub struct Selection {
    include: Vec<GlobMatcher>,
    exclude: Vec<GlobMatcher>,
    archived: bool,
    forks: bool,
    ignored: Vec<(String, String)>,
}

impl Selection {
    pub fn new(config: &Config) -> Selection {
        let repos = &config.fleet.repositories;
        Selection {
            include: repos.include.iter().map(|p| p.matcher()).collect(),
            exclude: repos.exclude.iter().map(|p| p.matcher()).collect(),
            archived: repos.archived,
            forks: repos.forks,
            ignored: repos
                .overrides
                .iter()
                .filter_map(|(name, o)| o.ignore.clone().map(|why| (name.clone(), why)))
                .collect(),
        }
    }

    /// Why a repository is left out of this sweep, if it is.
    pub fn skip_reason(&self, repo: &RemoteRepo) -> Option<String> {
        if !self.include.is_empty() && !self.include.iter().any(|m| m.is_match(&repo.name)) {
            return Some("not matched by repositories.include".into());
        }
        if let Some(m) = self.exclude.iter().find(|m| m.is_match(&repo.name)) {
            return Some(format!("excluded by pattern `{}`", m.glob()));
        }
        if let Some((_, why)) = self.ignored.iter().find(|(n, _)| n == &repo.name) {
            return Some(format!("ignored in fleet.yaml: {why}"));
        }
        if repo.archived && !self.archived {
            return Some(
                "archived (set repositories.archived: true to sweep archived repositories)".into(),
            );
        }
        if repo.fork && !self.forks {
            return Some("a fork (set repositories.forks: true to sweep forks)".into());
        }
        if repo.empty {
            return Some("empty repository: no commit to base a proposal on".into());
        }
        None
    }
}

/// The first policy (in detection order) one of whose markers is a file.
pub fn detect_language<'a>(policies: &'a [Policy], snapshot: &Snapshot) -> Option<&'a str> {
    policies
        .iter()
        .find(|p| {
            p.detect
                .markers
                .iter()
                .any(|m| matches!(snapshot.get(m), Actual::File { .. } | Actual::Blob { .. }))
        })
        .map(|p| p.language.as_str())
}

/// The repository's language: its override's `language:`, else the first
/// policy whose marker it has. `None` when neither says.
pub fn language_for(config: &Config, repo: &RemoteRepo, snapshot: &Snapshot) -> Option<String> {
    let over = config.fleet.repositories.overrides.get(&repo.name);
    over.and_then(|o| o.language.clone())
        .or_else(|| detect_language(&config.policies, snapshot).map(str::to_owned))
}

/// The repositories a sweep is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Only {
    /// By its name relative to the owner, as `--repo` takes it
    /// (`backend/ledger` in a GitLab subgroup).
    Name(String),
    /// By its full name, as webhooks and the store name it
    /// (`acme/backend/ledger`, `~acme/ledger`).
    FullName(String),
    /// Several, by their full names: the daemon's webhooks that queued up
    /// while it swept, coalesced into one sweep.
    FullNames(std::collections::BTreeSet<String>),
}

impl Only {
    pub fn matches(&self, repo: &RemoteRepo) -> bool {
        match self {
            Only::Name(name) => *name == repo.name,
            Only::FullName(full_name) => *full_name == repo.full_name,
            Only::FullNames(names) => names.contains(&repo.full_name),
        }
    }

    /// The name as given (the names, comma-separated).
    pub fn describe(&self) -> String {
        match self {
            Only::Name(n) | Only::FullName(n) => n.clone(),
            Only::FullNames(names) => names.iter().cloned().collect::<Vec<_>>().join(", "),
        }
    }
}
