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
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::drift::Change;
use crate::forge::{Forge, ForgeError, Profile};
use crate::git::remote::{self, Refs};
use crate::model::{FileChange, GitRemote, RemoteRepo};
use crate::render::Renderer;
use crate::store::Store;
use crate::sweep::{self, select::Selection, RepoState};

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
    /// `planned`, `migrated`, `done`, `conflict`, `skipped` or `failed`.
    pub result: String,
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
    pub fn count(&self, result: &str) -> usize {
        self.repositories
            .iter()
            .filter(|r| r.result == result)
            .count()
    }
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
                result: "skipped".into(),
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
                            outcome.result = "failed".into();
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
            let step = migrate_repo(
                m,
                options,
                repo,
                target,
                (key, entry),
                &mut outcome,
                progress,
            );
            if let Err(e) = step.await {
                outcome.result = "failed".into();
                outcome.detail = Some(e);
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
            progress.step(&repo.full_name, &outcome.result);
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
    let all_through = report
        .repositories
        .iter()
        .all(|r| matches!(r.result.as_str(), "migrated" | "done" | "skipped"));
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

/// One repository, from the first missing step on.
async fn migrate_repo(
    m: &Migration<'_>,
    options: &MigrateOptions,
    repo: &RemoteRepo,
    existing: Option<&RemoteRepo>,
    (key, mut entry): (String, JournalEntry),
    out: &mut RepoMigration,
    progress: &dyn Progress,
) -> Result<(), String> {
    if entry.done {
        out.action = TargetAction::Done;
        out.result = "done".into();
        out.target = entry.target.clone();
        out.rerendered = entry.rerendered.clone();
        out.archived = entry.archived;
        out.detail = Some(format!("already migrated to {}", entry.target_web));
        return Ok(());
    }
    let target_profile = crate::forge::profile(m.target_config.fleet.forge.kind);
    if let Some(problem) = target_profile.name_problem(&repo.name) {
        out.action = TargetAction::Conflict;
        out.result = "conflict".into();
        out.reason = Some(format!(
            "the target refuses the name `{}`: {problem}",
            repo.name
        ));
        return Ok(());
    }

    // The mirror: every branch and tag of the source.
    let source_remote = remote_of(m.source, &repo.name, &m.source_ssh)?;
    let dir = mirror_dir(m, &repo.full_name);
    let mirror_refs = {
        let (dir, remote) = (dir.clone(), source_remote.clone());
        blocking(move || {
            remote::fetch_mirror(&dir, &remote).map_err(|e| format!("fetching the source: {e}"))
        })
        .await?
    };
    out.branches = mirror_refs
        .keys()
        .filter(|r| r.starts_with("refs/heads/"))
        .count();
    out.tags = mirror_refs
        .keys()
        .filter(|r| r.starts_with("refs/tags/"))
        .count();
    let (commits, bytes) = {
        let dir = dir.clone();
        blocking(move || remote::history(&dir).map_err(|e| e.to_string())).await?
    };
    out.commits = commits;
    out.bytes = bytes;
    let default_ref = format!("refs/heads/{}", repo.default_branch);
    let drover_ref = format!(
        "refs/heads/{}",
        m.target_config.fleet.defaults.branch.as_str()
    );
    let source_head = mirror_refs.get(&default_ref).cloned();
    if source_head.is_none() && !mirror_refs.is_empty() {
        return Err(format!("the source has no {default_ref}"));
    }

    // The target: create, adopt, resume or conflict.
    let target_remote = remote_of(m.target, &repo.name, &m.target_ssh)?;
    out.action = match existing {
        _ if entry.created => TargetAction::Resume,
        None => TargetAction::Create,
        Some(t) => {
            out.target = t.full_name.clone();
            let refs = ls_remote(&target_remote).await?;
            let dir = dir.clone();
            let foreign =
                blocking(move || remote::missing_objects(&dir, &refs).map_err(|e| e.to_string()))
                    .await?;
            if !foreign.is_empty() {
                out.result = "conflict".into();
                out.reason = Some(format!(
                    "{} already exists with other history ({} not from {}: {}); left untouched",
                    t.full_name,
                    if foreign.len() == 1 {
                        "1 ref".to_owned()
                    } else {
                        format!("{} refs", foreign.len())
                    },
                    repo.full_name,
                    foreign.join(", ")
                ));
                out.action = TargetAction::Conflict;
                return Ok(());
            }
            if t.empty || t.head.is_none() {
                TargetAction::Adopt
            } else {
                TargetAction::Resume
            }
        }
    };

    // What re-rendering for the target changes, read from the mirror.
    // The target as it will be: the source's default branch (CI triggers
    // name it), whatever an adopted repository's is now.
    let stub = RemoteRepo {
        default_branch: repo.default_branch.clone(),
        head: source_head.clone(),
        ..existing.cloned().unwrap_or_else(|| {
            RemoteRepo::named(&repo.name, &target_full_name(m.target_config, &repo.name))
        })
    };
    let changes = match &source_head {
        Some(_) => rerender_changes(m, &dir, repo, &stub).await?,
        None => (Vec::new(), Vec::new()),
    };
    out.rerender = changes
        .0
        .iter()
        .map(|(path, change)| Rerender {
            path: path.clone(),
            change: *change,
        })
        .collect();
    if options.dry_run {
        out.result = "planned".into();
        return Ok(());
    }

    // 1. The target repository.
    if !entry.created {
        let target = match existing {
            Some(t) => t.clone(),
            None => {
                progress.step(&repo.full_name, "creating the target");
                let description = carried_description(repo);
                match m
                    .target
                    .create_repo(&repo.name, &description, repo.private)
                    .await
                {
                    // An owner or instance that allows no public
                    // repositories: private then, and said.
                    Err(ForgeError::Api {
                        status: Some(400 | 403 | 422),
                        message,
                    }) if !repo.private => {
                        out.detail = Some(format!(
                            "created private: the target refused a public repository ({message})"
                        ));
                        m.target
                            .create_repo(&repo.name, &description, true)
                            .await
                            .map_err(|e| format!("creating the target: {e}"))?
                    }
                    other => other.map_err(|e| format!("creating the target: {e}"))?,
                }
            }
        };
        entry = JournalEntry {
            source: repo.full_name.clone(),
            target: target.full_name.clone(),
            target_id: target.forge_id.clone(),
            target_web: target.web_url.clone(),
            target_default_branch: target.default_branch.clone(),
            created: true,
            ..JournalEntry::default()
        };
        save(m, &key, &entry).await?;
    }
    out.target = entry.target.clone();
    let target_repo = RemoteRepo {
        default_branch: entry.target_default_branch.clone(),
        forge_id: entry.target_id.clone(),
        web_url: entry.target_web.clone(),
        private: repo.private,
        ..RemoteRepo::named(&repo.name, &entry.target)
    };

    // 2. Every branch and tag, the default branch first. Until verified,
    // each run pushes what the target lacks: a source that moved between
    // an interrupted run and this one is carried as it is now.
    if !entry.verified {
        progress.step(&repo.full_name, "pushing");
        let on_target = ls_remote(&target_remote).await?;
        let mut refspecs: Vec<String> = mirror_refs
            .iter()
            .filter(|(name, oid)| on_target.get(*name) != Some(*oid))
            .map(|(name, _)| format!("+{name}:{name}"))
            .collect();
        refspecs.sort_by_key(|s| !s.ends_with(&format!(":{default_ref}")));
        // The target is drover's (created, or adopted holding only this
        // history): a ref the source no longer has goes, so the refs end
        // equal. drover's own proposal branch stays.
        refspecs.extend(
            on_target
                .keys()
                .filter(|name| !mirror_refs.contains_key(*name) && *name != &drover_ref)
                .map(|name| format!(":{name}")),
        );
        let (dir, remote) = (dir.clone(), target_remote.clone());
        blocking(move || {
            remote::push(&dir, &remote, &refspecs).map_err(|e| format!("pushing: {e}"))
        })
        .await?;
        entry.pushed_refs = Some(mirror_refs.len());
        save(m, &key, &entry).await?;
    }

    // 3. The target's refs are the source's.
    if !entry.verified {
        progress.step(&repo.full_name, "verifying");
        let (on_target, head) = advertised(&target_remote).await?;
        let short = |oid: &str| oid[..12.min(oid.len())].to_owned();
        let mut differ: Vec<String> = mirror_refs
            .iter()
            .filter(|(name, oid)| on_target.get(*name) != Some(*oid))
            .map(|(name, oid)| {
                format!(
                    "{name}: source {}, target {}",
                    short(oid),
                    on_target.get(name).map_or("missing".into(), |t| short(t))
                )
            })
            .collect();
        differ.extend(
            on_target
                .iter()
                .filter(|(name, _)| !mirror_refs.contains_key(*name) && *name != &drover_ref)
                .map(|(name, oid)| format!("{name}: only on the target, at {}", short(oid))),
        );
        if !differ.is_empty() {
            return Err(format!("verification failed: {}", differ.join("; ")));
        }
        // The default branch as on the source (one request only when the
        // target's HEAD names another).
        if source_head.is_some() && head.as_deref() != Some(default_ref.as_str()) {
            m.target
                .set_default_branch(&target_repo, &repo.default_branch)
                .await
                .map_err(|e| format!("setting the default branch: {e}"))?;
        }
        entry.verified = true;
        save(m, &key, &entry).await?;
    }

    // 4. The forge-dependent files, re-rendered for the target.
    if entry.rerendered.is_none() {
        let text = if changes.0.is_empty() {
            "nothing to re-render".to_owned()
        } else if options.direct {
            progress.step(&repo.full_name, "committing re-rendered files");
            let head = source_head.as_deref().unwrap_or_default();
            let commit =
                direct_commit(m, &dir, &target_remote, &default_ref, head, changes.1).await?;
            entry.direct_commit = Some(commit.clone());
            format!("commit {} on {}", &commit[..12], repo.default_branch)
        } else {
            progress.step(&repo.full_name, "proposing re-rendered files");
            let on_target = ls_remote(&target_remote).await?;
            let known = RemoteRepo {
                default_branch: repo.default_branch.clone(),
                head: on_target.get(&default_ref).cloned(),
                ..target_repo.clone()
            };
            let moved: Vec<String> = changes.0.iter().map(|(p, _)| p.clone()).collect();
            let report = sweep::propose_only(m.target_config, m.renderer, m.target, &known, |d| {
                moved.iter().any(|p| p == d.path.as_str())
            })
            .await
            .map_err(|e| format!("proposing on the target: {e}"))?;
            match (&report.state, &report.proposal) {
                (RepoState::Failed { reason }, _) => {
                    return Err(format!("proposing on the target: {reason}"))
                }
                (_, Some(p)) => format!("proposal {}", p.url),
                (state, None) => format!("nothing proposed ({})", state.label()),
            }
        };
        entry.rerendered = Some(text);
        save(m, &key, &entry).await?;
    }
    out.rerendered = entry.rerendered.clone();

    // 5. The source, archived and pointing at the new home.
    if options.archive_source && !entry.archived {
        progress.step(&repo.full_name, "archiving the source");
        m.source
            .archive(repo, &moved_description(repo, &entry.target_web))
            .await
            .map_err(|e| format!("archiving the source: {e}"))?;
        entry.archived = true;
        save(m, &key, &entry).await?;
    }
    out.archived = entry.archived;
    entry.done = true;
    save(m, &key, &entry).await?;
    out.result = "migrated".into();
    Ok(())
}

type Changes = (Vec<(String, Change)>, Vec<FileChange>);

/// Where the mirror keeps the `--direct` commit alive (never pushed as
/// itself: only refs/heads and refs/tags are carried).
const KEEP_REF: &str = "refs/drover/migrate";

/// The files the target's policy renders differently from what the
/// source's default branch holds (the new forge's CI in, the old ones'
/// out, links rewritten), read from the mirror.
async fn rerender_changes(
    m: &Migration<'_>,
    dir: &std::path::Path,
    source: &RemoteRepo,
    target: &RemoteRepo,
) -> Result<Changes, String> {
    let wanted = sweep::wanted(m.target_config);
    let (dir, branch) = (dir.to_path_buf(), source.default_branch.clone());
    let snapshot = blocking(move || {
        let read = |w: &crate::model::Wanted| {
            crate::git::read_paths(&dir, &branch, w).map_err(|e| e.to_string())
        };
        let mut snapshot = read(&wanted)?;
        // The facts' follow-up reads, from the mirror as well.
        for _ in 0..crate::facts::MAX_ROUNDS {
            let more = crate::facts::follow_up(&snapshot);
            if more == crate::model::Wanted::default() {
                break;
            }
            let extra = read(&more)?;
            snapshot.files.extend(extra.files);
            for d in more.dirs {
                let listed = extra.listings.get(&d).cloned().unwrap_or_default();
                snapshot.listings.insert(d, listed);
            }
        }
        Ok::<_, String>(snapshot)
    })
    .await?;
    let facts = crate::forge::forge_facts(m.target_config);
    let report = sweep::plan_repo(m.target_config, m.renderer, &facts, target, &snapshot);
    if let RepoState::Failed { reason } = &report.state {
        return Err(format!("re-rendering: {reason}"));
    }
    // What the source's own rendering would change anyway is the next
    // sweep's business, not the move's: only drift the new forge causes
    // is carried (its CI in, the old CI out, forge links rewritten).
    let here = crate::forge::forge_facts(m.source_config);
    let before = sweep::plan_repo(m.source_config, m.renderer, &here, source, &snapshot);
    let moved: Vec<&crate::drift::FileDrift> = report
        .drift
        .iter()
        .filter(|t| {
            !before.drift.iter().any(|s| {
                s.path == t.path
                    && (s.after == t.after
                        || (s.change == Change::Create && t.change == Change::Create))
            })
        })
        .collect();
    let list = moved
        .iter()
        .map(|d| (d.path.as_str().to_owned(), d.change))
        .collect();
    let files = moved
        .iter()
        .map(|d| FileChange {
            path: d.path.clone(),
            content: d.after.clone(),
        })
        .collect();
    Ok((list, files))
}

/// One commit with the re-rendered files on the target's default branch,
/// fast-forward only. A commit of an interrupted run already there (the
/// target's branch descends from the source head) is kept.
async fn direct_commit(
    m: &Migration<'_>,
    dir: &std::path::Path,
    target: &GitRemote,
    default_ref: &str,
    source_head: &str,
    changes: Vec<FileChange>,
) -> Result<String, String> {
    let on_target = ls_remote(target).await?;
    let (dir, target) = (dir.to_path_buf(), target.clone());
    let (default_ref, source_head) = (default_ref.to_owned(), source_head.to_owned());
    let author = m.target_config.fleet.defaults.author.clone();
    let files: Vec<String> = changes
        .iter()
        .map(|c| {
            let verb = if c.content.is_some() {
                "write"
            } else {
                "remove"
            };
            format!("- {verb} {}", c.path.as_str())
        })
        .collect();
    let message = format!(
        "Re-render CI and forge files for the new forge\n\n\
         drover migrate moved this repository; these files are rendered for\n\
         its new home (the old forge's CI configuration goes):\n\n{}\n",
        files.join("\n")
    );
    blocking(move || {
        if let Some(tip) = on_target.get(&default_ref) {
            // This migration's commit of an interrupted run, on this head
            // or on the head the source had then.
            if remote::earlier_commit(&dir, KEEP_REF, tip, &source_head)
                .map_err(|e| e.to_string())?
            {
                return Ok(tip.clone());
            }
        }
        let commit = remote::commit_on(&dir, &source_head, &changes, &message, &author, KEEP_REF)
            .map_err(|e| e.to_string())?;
        remote::push(&dir, &target, &[format!("{commit}:{default_ref}")])
            .map_err(|e| format!("pushing the re-rendered files: {e}"))?;
        Ok(commit)
    })
    .await
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
