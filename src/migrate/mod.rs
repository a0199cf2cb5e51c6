//! `drover migrate`: every repository of the fleet moved to the forge of
//! fleet.yaml's `migrate_to:`, with its CI re-rendered for its new home.
//!
//! Per repository, each step recorded in the store's journal before the
//! next starts: create the target (an empty one, or one holding only
//! objects of this history, is adopted; one with other history is a
//! conflict, left alone) → mirror the source into a bare repository in the
//! state directory and push every branch and tag → verify the target's
//! refs equal the mirror's, names and ids → re-render the forge-dependent
//! files (a proposal on the target, or with `direct` one commit on its
//! default branch) → archive the source when asked. Nothing on the source
//! is deleted or rewritten. A run that is interrupted continues from the
//! journal; a run after success does nothing. When every repository is
//! through, fleet.yaml's `forge:` is rewritten as text.

use std::collections::HashMap;
use std::path::PathBuf;

use futures::stream::{self, StreamExt};

mod report;
mod rerender;
mod steps;

pub use report::{
    Estimate, JournalEntry, MigrationReport, MigrationResult, RepoMigration, Rerender, TargetAction,
};
pub use steps::StepError;

use crate::config::Config;
use crate::forge::{Forge, ForgeError, Profile};
use crate::git::remote::{self, Refs};
use crate::model::{GitRemote, RemoteRepo};
use crate::render::Renderer;
use crate::store::Store;
use crate::sweep::select::Selection;

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    /// Print the plan; create, push and change nothing.
    pub dry_run: bool,
    /// Only repositories whose name matches (a glob).
    pub only: Option<globset::GlobMatcher>,
    /// Archive each source repository once its target is verified.
    pub archive_source: bool,
    /// Commit the re-rendered files on the target's default branch instead
    /// of proposing them.
    pub direct: bool,
    /// Repositories moved at once.
    pub concurrency: usize,
}

/// A migration's failure as a whole (a repository's failure is in its
/// outcome instead).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("listing the repositories of the {side} forge: {error}")]
    Discover {
        side: &'static str,
        error: ForgeError,
    },
    #[error("state store: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// Everything a migration works with.
pub struct Migration<'a> {
    pub source_config: &'a Config,
    pub target_config: &'a Config,
    pub renderer: &'a Renderer,
    pub source: &'a dyn Forge,
    pub target: &'a dyn Forge,
    /// The journal; `None` for a dry run without a store.
    pub store: Option<&'a Store>,
    /// Where the bare mirrors live.
    pub mirrors: PathBuf,
    /// `ssh_key:` of each side: git goes over SSH with it.
    pub source_ssh: Option<crate::model::Secret>,
    pub target_ssh: Option<crate::model::Secret>,
}

/// The remote of `name` on `forge`, over SSH when a key is configured.
fn remote_of(
    forge: &dyn Forge,
    name: &str,
    ssh: &Option<crate::model::Secret>,
) -> Result<GitRemote, String> {
    let remote = forge.git_remote(name).map_err(|e| e.to_string())?;
    Ok(match ssh {
        Some(key) => remote.over_ssh(key.clone()),
        None => remote,
    })
}

/// Where a run reports how far it is.
pub trait Progress: Sync {
    /// How many repositories the run goes through.
    fn start(&self, total: usize) {
        let _ = total;
    }
    /// `repo` reached `step`; its last step is its result (`migrated`,
    /// `done`, `planned`, `conflict`, `skipped` or `failed`).
    fn step(&self, repo: &str, step: &str);
}

impl<F: Fn(&str, &str) + Sync> Progress for F {
    fn step(&self, repo: &str, step: &str) {
        self(repo, step)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("worker thread: {e}"))?
}

fn forge_label(config: &Config) -> String {
    let f = &config.fleet.forge;
    format!(
        "{} {}{}",
        f.kind,
        f.owner.as_deref().unwrap_or(""),
        f.url
            .as_deref()
            .map(|u| format!(" at {u}"))
            .unwrap_or_default()
    )
}

/// The journal key of `source` moving to the target.
fn journal_key(target: &Config, source: &str) -> String {
    let f = &target.fleet.forge;
    format!(
        "{}|{}|{}|{source}",
        f.kind,
        f.url.as_deref().unwrap_or(""),
        f.owner.as_deref().unwrap_or("")
    )
}

/// Expected target API requests for one repository: create, default
/// branch, and the proposal (what one costs on the target, see
/// [`Profile::proposal_requests`]), plus a snapshot share.
fn estimate_requests(target: &dyn Profile, create: bool, rerender: bool, direct: bool) -> u64 {
    let proposal = match (rerender, direct) {
        (false, _) | (true, true) => 0,
        (true, false) => target.proposal_requests(),
    };
    u64::from(create) + 1 + proposal
}

/// Plans and (unless a dry run) runs the migration.
pub async fn run(
    m: &Migration<'_>,
    options: &MigrateOptions,
    progress: &dyn Progress,
) -> Result<MigrationReport, MigrateError> {
    let source_start = m.source.requests();
    let target_start = m.target.requests();
    let discovered = m
        .source
        .discover()
        .await
        .map_err(|error| MigrateError::Discover {
            side: "source",
            error,
        })?;
    let existing: HashMap<String, RemoteRepo> = m
        .target
        .discover()
        .await
        .map_err(|error| MigrateError::Discover {
            side: "target",
            error,
        })?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let selection = Selection::new(m.source_config);
    let target_profile = crate::forge::profile(m.target_config.fleet.forge.kind);
    let one = |repo: RemoteRepo| {
        let selection = &selection;
        let existing = &existing;
        async move {
            let repo = &repo;
            let mut outcome = RepoMigration {
                name: repo.name.clone(),
                source: repo.full_name.clone(),
                target: target_full_name(m.target_config, &repo.name),
                action: TargetAction::Skip,
                reason: None,
                branches: 0,
                tags: 0,
                commits: 0,
                bytes: 0,
                rerender: Vec::new(),
                estimated_requests: 0,
                result: MigrationResult::Skipped,
                detail: None,
                rerendered: None,
                archived: false,
            };
            let key = journal_key(m.target_config, &repo.full_name);
            let entry = match m.store.cloned() {
                Some(store) => {
                    let k = key.clone();
                    let read = blocking(move || {
                        store
                            .journal_entry::<JournalEntry>(&k)
                            .map_err(|e| e.to_string())
                    })
                    .await;
                    match read {
                        Ok(entry) => entry.unwrap_or_default(),
                        Err(e) => {
                            outcome.result = MigrationResult::Failed;
                            outcome.detail = Some(format!("the migration journal: {e}"));
                            progress.step(&repo.full_name, "failed");
                            return outcome;
                        }
                    }
                }
                None => JournalEntry::default(),
            };
            // An empty repository moves too: created, with nothing to
            // push; and a source this migration archived is still its own.
            let as_listed = RemoteRepo {
                empty: false,
                archived: repo.archived && !entry.created,
                ..repo.clone()
            };
            if let Some(why) = selection.skip_reason(&as_listed) {
                outcome.reason = Some(why);
                progress.step(&repo.full_name, "skipped");
                return outcome;
            }
            progress.step(&repo.full_name, "planning");
            let target = existing.get(&repo.name);
            let step = steps::migrate_repo(
                m,
                options,
                repo,
                target,
                (key, entry),
                &mut outcome,
                progress,
            );
            if let Err(e) = step.await {
                outcome.result = MigrationResult::Failed;
                outcome.detail = Some(e.to_string());
            }
            outcome.estimated_requests = match outcome.action {
                TargetAction::Done | TargetAction::Conflict | TargetAction::Skip => 0,
                ref a => estimate_requests(
                    target_profile,
                    *a == TargetAction::Create,
                    !outcome.rerender.is_empty(),
                    options.direct,
                ),
            };
            progress.step(&repo.full_name, outcome.result.as_str());
            outcome
        }
    };
    // A few repositories at once, in discovery order: the forges' own
    // limits on concurrent writes are far above this, and git transfers
    // overlap with API round trips.
    let chosen: Vec<RemoteRepo> = discovered
        .iter()
        .filter(|r| options.only.as_ref().is_none_or(|g| g.is_match(&r.name)))
        .cloned()
        .collect();
    progress.start(chosen.len());
    let outcomes: Vec<RepoMigration> = stream::iter(chosen)
        .map(one)
        .buffered(options.concurrency.clamp(1, 16))
        .collect()
        .await;
    let creations = outcomes
        .iter()
        .filter(|o| o.action == TargetAction::Create)
        .count();
    let requests: u64 = outcomes.iter().map(|o| o.estimated_requests).sum();
    let mut report = MigrationReport {
        from: forge_label(m.source_config),
        to: forge_label(m.target_config),
        dry_run: options.dry_run,
        direct: options.direct,
        repositories: outcomes,
        estimate: Estimate {
            creations,
            requests,
            limit: target_profile.limit_note(creations, requests),
        },
        source_requests: 0,
        target_requests: 0,
        fleet_updated: false,
        fleet_error: None,
    };
    let all_through = report.repositories.iter().all(|r| r.result.through());
    if !options.dry_run && options.only.is_none() && all_through {
        let note = format!(
            "moved from {} by drover migrate on {}",
            report.from,
            chrono::Utc::now().format("%Y-%m-%d")
        );
        let path = m.source_config.fleet_path.clone();
        let edited = blocking(move || {
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            let new = crate::config::fleet_text::retarget(&text, &note)?;
            crate::fsutil::write_atomically(&path, new.as_bytes()).map_err(|e| e.to_string())
        })
        .await;
        match edited {
            Ok(()) => report.fleet_updated = true,
            Err(e) => {
                tracing::error!("fleet.yaml was not updated: {e}");
                report.fleet_error = Some(e);
            }
        }
    }
    report.source_requests = m.source.requests().saturating_sub(source_start);
    report.target_requests = m.target.requests().saturating_sub(target_start);
    Ok(report)
}

/// The target's description: the source's, or where it came from.
fn carried_description(repo: &RemoteRepo) -> String {
    match &repo.description {
        Some(d) => d.clone(),
        None => format!("Migrated from {}", repo.web_url),
    }
}

/// The archived source's description: where it went, then what it said.
fn moved_description(repo: &RemoteRepo, to: &str) -> String {
    let moved = format!("Moved to {to}");
    match &repo.description {
        // Written by an earlier, interrupted run: as it is.
        Some(d) if *d == moved || d.starts_with(&format!("{moved} — ")) => d.clone(),
        Some(d) => format!("{moved} — {d}"),
        None => moved,
    }
}

/// `name`'s full name on the target before it exists.
fn target_full_name(target: &Config, name: &str) -> String {
    let owner = target.fleet.forge.owner.as_deref().unwrap_or("");
    crate::forge::profile(target.fleet.forge.kind).full_name(owner, name)
}

/// The mirror of `source`: a readable name, made unique by a digest of
/// the source forge and the full name (`a/b_c` and `a/b/c` differ).
fn mirror_dir(m: &Migration<'_>, source: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let safe: String = source
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let f = &m.source_config.fleet.forge;
    let digest = Sha256::digest(format!(
        "{}|{}|{source}",
        f.kind,
        f.url.as_deref().unwrap_or("")
    ));
    m.mirrors
        .join(format!("{safe}-{}.git", &hex::encode(digest)[..12]))
}

async fn save(m: &Migration<'_>, key: &str, entry: &JournalEntry) -> Result<(), String> {
    let Some(store) = m.store.cloned() else {
        return Ok(());
    };
    let key = key.to_owned();
    let entry = entry.clone();
    blocking(move || {
        store
            .put_journal_entry(&key, &entry)
            .map_err(|e| e.to_string())
    })
    .await
}

async fn ls_remote(remote: &GitRemote) -> Result<Refs, String> {
    Ok(advertised(remote).await?.0)
}

/// The remote's refs and the branch its HEAD names.
async fn advertised(remote: &GitRemote) -> Result<(Refs, Option<String>), String> {
    let remote = remote.clone();
    blocking(move || remote::ls_remote(&remote).map_err(|e| e.to_string())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archived_source_says_where_it_went_once_and_keeps_its_words() {
        let mut repo = RemoteRepo::named("app", "acme/app");
        let to = "https://github.com/acme/app";
        assert_eq!(moved_description(&repo, to), format!("Moved to {to}"));
        repo.description = Some("The app".into());
        let once = moved_description(&repo, to);
        assert_eq!(once, format!("Moved to {to} — The app"));
        // A retried archive (the first write landed, the archive did not).
        repo.description = Some(once.clone());
        assert_eq!(moved_description(&repo, to), once);
        // Words that merely start alike are kept.
        repo.description = Some("Moved to Rust in 2024".into());
        assert_eq!(
            moved_description(&repo, to),
            format!("Moved to {to} — Moved to Rust in 2024")
        );
    }

    #[test]
    fn the_estimate_counts_creation_default_branch_and_proposal() {
        use crate::model::ForgeKind::*;
        let (github, gitlab) = (crate::forge::profile(Github), crate::forge::profile(Gitlab));
        assert_eq!(estimate_requests(github, true, true, false), 8);
        assert_eq!(estimate_requests(github, false, false, false), 1);
        assert_eq!(estimate_requests(gitlab, true, true, true), 2);
        assert!(github.limit_note(600, 4_000).contains("throttled"));
        assert!(gitlab.limit_note(300, 900).contains("--only"));
    }
}
