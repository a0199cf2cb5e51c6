//! One repository's move, one function per journal step. Each step saves
//! the journal entry before the next starts, so a rerun resumes at the
//! first step not done; each fails with a [`StepError`] naming the step.
//!
//! mirror → target (create, adopt, resume or conflict) → create → push →
//! verify → re-render (propose or commit) → archive → done

use super::report::{JournalEntry, MigrationResult, RepoMigration, Rerender, TargetAction};
use super::rerender::{direct_commit, rerender_changes, Changes};
use super::{
    advertised, blocking, carried_description, ls_remote, mirror_dir, moved_description, remote_of,
    save, target_full_name, MigrateOptions, Migration, Progress,
};
use crate::forge::ForgeError;
use crate::git::remote::{self, Refs};
use crate::model::{GitRemote, RemoteRepo};
use crate::sweep::{self, RepoState};

/// A step of a repository's move that failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("fetching the source: {0}")]
    Fetch(String),
    #[error("the source has no {0}")]
    NoDefaultBranch(String),
    #[error("creating the target: {0}")]
    Create(ForgeError),
    #[error("pushing: {0}")]
    Push(String),
    #[error("verification failed: {}", .0.join("; "))]
    Verify(Vec<String>),
    #[error("setting the default branch: {0}")]
    DefaultBranch(ForgeError),
    #[error("re-rendering: {0}")]
    Rerender(String),
    #[error("proposing on the target: {0}")]
    Propose(String),
    #[error("archiving the source: {0}")]
    Archive(ForgeError),
    /// Git, the journal or a worker thread, with what was being done.
    #[error("{0}")]
    Other(String),
}

impl From<String> for StepError {
    fn from(message: String) -> StepError {
        StepError::Other(message)
    }
}

/// The source as its bare mirror holds it.
struct Mirror {
    dir: std::path::PathBuf,
    refs: Refs,
    default_ref: String,
    drover_ref: String,
    head: Option<String>,
}

/// One repository, from the first missing step on.
pub(super) async fn migrate_repo(
    m: &Migration<'_>,
    options: &MigrateOptions,
    repo: &RemoteRepo,
    existing: Option<&RemoteRepo>,
    (key, mut entry): (String, JournalEntry),
    out: &mut RepoMigration,
    progress: &dyn Progress,
) -> Result<(), StepError> {
    if entry.done {
        out.action = TargetAction::Done;
        out.result = MigrationResult::Done;
        out.target = entry.target.clone();
        out.rerendered = entry.rerendered.clone();
        out.archived = entry.archived;
        out.detail = Some(format!("already migrated to {}", entry.target_web));
        return Ok(());
    }
    let target_profile = crate::forge::profile(m.target_config.fleet.forge.kind);
    if let Some(problem) = target_profile.name_problem(&repo.name) {
        out.action = TargetAction::Conflict;
        out.result = MigrationResult::Conflict;
        out.reason = Some(format!(
            "the target refuses the name `{}`: {problem}",
            repo.name
        ));
        return Ok(());
    }
    let mirror = mirror(m, repo, out).await?;
    let target_remote = remote_of(m.target, &repo.name, &m.target_ssh)?;
    out.action = match target_action(repo, existing, &entry, &mirror, &target_remote, out).await? {
        Some(action) => action,
        None => return Ok(()),
    };
    // What re-rendering for the target changes, read from the mirror.
    // The target as it will be: the source's default branch (CI triggers
    // name it), whatever an adopted repository's is now.
    let stub = RemoteRepo {
        default_branch: repo.default_branch.clone(),
        head: mirror.head.clone(),
        ..existing.cloned().unwrap_or_else(|| {
            RemoteRepo::named(&repo.name, &target_full_name(m.target_config, &repo.name))
        })
    };
    let changes: Changes = match &mirror.head {
        Some(_) => rerender_changes(m, &mirror.dir, repo, &stub)
            .await
            .map_err(StepError::Rerender)?,
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
        out.result = MigrationResult::Planned;
        return Ok(());
    }

    if !entry.created {
        entry = create(m, repo, existing, out, progress).await?;
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
    if !entry.verified {
        progress.step(&repo.full_name, "pushing");
        push(&mirror, &target_remote).await?;
        entry.pushed_refs = Some(mirror.refs.len());
        save(m, &key, &entry).await?;
        progress.step(&repo.full_name, "verifying");
        verify(m, repo, &mirror, &target_remote, &target_repo).await?;
        entry.verified = true;
        save(m, &key, &entry).await?;
    }
    if entry.rerendered.is_none() {
        let text = rerender(
            m,
            options,
            repo,
            &mirror,
            &target_remote,
            &target_repo,
            changes,
            &mut entry,
            progress,
        )
        .await?;
        entry.rerendered = Some(text);
        save(m, &key, &entry).await?;
    }
    out.rerendered = entry.rerendered.clone();
    if options.archive_source && !entry.archived {
        progress.step(&repo.full_name, "archiving the source");
        m.source
            .archive(repo, &moved_description(repo, &entry.target_web))
            .await
            .map_err(StepError::Archive)?;
        entry.archived = true;
        save(m, &key, &entry).await?;
    }
    out.archived = entry.archived;
    entry.done = true;
    save(m, &key, &entry).await?;
    out.result = MigrationResult::Migrated;
    Ok(())
}

/// The mirror: every branch and tag of the source, fetched into a bare
/// repository, and its history counted.
async fn mirror(
    m: &Migration<'_>,
    repo: &RemoteRepo,
    out: &mut RepoMigration,
) -> Result<Mirror, StepError> {
    let source_remote = remote_of(m.source, &repo.name, &m.source_ssh)?;
    let dir = mirror_dir(m, &repo.full_name);
    let refs = {
        let (dir, remote) = (dir.clone(), source_remote.clone());
        blocking(move || remote::fetch_mirror(&dir, &remote).map_err(|e| e.to_string()))
            .await
            .map_err(StepError::Fetch)?
    };
    out.branches = refs.keys().filter(|r| r.starts_with("refs/heads/")).count();
    out.tags = refs.keys().filter(|r| r.starts_with("refs/tags/")).count();
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
    let head = refs.get(&default_ref).cloned();
    if head.is_none() && !refs.is_empty() {
        return Err(StepError::NoDefaultBranch(default_ref));
    }
    Ok(Mirror {
        dir,
        refs,
        default_ref,
        drover_ref,
        head,
    })
}

/// What happens to the target: create it, adopt an empty one, resume one
/// holding only this history — or, when it holds other history, nothing
/// (`None`: a conflict, said in `out`).
async fn target_action(
    repo: &RemoteRepo,
    existing: Option<&RemoteRepo>,
    entry: &JournalEntry,
    mirror: &Mirror,
    target_remote: &GitRemote,
    out: &mut RepoMigration,
) -> Result<Option<TargetAction>, StepError> {
    let Some(t) = existing.filter(|_| !entry.created) else {
        return Ok(Some(if entry.created {
            TargetAction::Resume
        } else {
            TargetAction::Create
        }));
    };
    out.target = t.full_name.clone();
    let refs = ls_remote(target_remote).await?;
    let dir = mirror.dir.clone();
    let foreign =
        blocking(move || remote::missing_objects(&dir, &refs).map_err(|e| e.to_string())).await?;
    if !foreign.is_empty() {
        out.result = MigrationResult::Conflict;
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
        return Ok(None);
    }
    Ok(Some(if t.empty || t.head.is_none() {
        TargetAction::Adopt
    } else {
        TargetAction::Resume
    }))
}

/// Step 1: the target repository, created with the source's visibility
/// and description (private when the target refuses a public one, and
/// said), or the existing one adopted.
async fn create(
    m: &Migration<'_>,
    repo: &RemoteRepo,
    existing: Option<&RemoteRepo>,
    out: &mut RepoMigration,
    progress: &dyn Progress,
) -> Result<JournalEntry, StepError> {
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
                        .map_err(StepError::Create)?
                }
                other => other.map_err(StepError::Create)?,
            }
        }
    };
    Ok(JournalEntry {
        source: repo.full_name.clone(),
        target: target.full_name.clone(),
        target_id: target.forge_id.clone(),
        target_web: target.web_url.clone(),
        target_default_branch: target.default_branch.clone(),
        created: true,
        ..JournalEntry::default()
    })
}

/// Step 2: every branch and tag, the default branch first. Until
/// verified, each run pushes what the target lacks: a source that moved
/// between an interrupted run and this one is carried as it is now.
async fn push(mirror: &Mirror, target_remote: &GitRemote) -> Result<(), StepError> {
    let on_target = ls_remote(target_remote).await?;
    let mut refspecs: Vec<String> = mirror
        .refs
        .iter()
        .filter(|(name, oid)| on_target.get(*name) != Some(*oid))
        .map(|(name, _)| format!("+{name}:{name}"))
        .collect();
    refspecs.sort_by_key(|s| !s.ends_with(&format!(":{}", mirror.default_ref)));
    // The target is drover's (created, or adopted holding only this
    // history): a ref the source no longer has goes, so the refs end
    // equal. drover's own proposal branch stays.
    refspecs.extend(
        on_target
            .keys()
            .filter(|name| !mirror.refs.contains_key(*name) && **name != mirror.drover_ref)
            .map(|name| format!(":{name}")),
    );
    let (dir, remote) = (mirror.dir.clone(), target_remote.clone());
    blocking(move || remote::push(&dir, &remote, &refspecs).map_err(|e| e.to_string()))
        .await
        .map_err(StepError::Push)
}

/// Step 3: the target's refs are the source's, both ways; the default
/// branch as on the source (one request only when the target's HEAD names
/// another).
async fn verify(
    m: &Migration<'_>,
    repo: &RemoteRepo,
    mirror: &Mirror,
    target_remote: &GitRemote,
    target_repo: &RemoteRepo,
) -> Result<(), StepError> {
    let (on_target, head) = advertised(target_remote).await?;
    let short = |oid: &str| oid[..12.min(oid.len())].to_owned();
    let mut differ: Vec<String> = mirror
        .refs
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
            .filter(|(name, _)| !mirror.refs.contains_key(*name) && **name != mirror.drover_ref)
            .map(|(name, oid)| format!("{name}: only on the target, at {}", short(oid))),
    );
    if !differ.is_empty() {
        return Err(StepError::Verify(differ));
    }
    if mirror.head.is_some() && head.as_deref() != Some(mirror.default_ref.as_str()) {
        m.target
            .set_default_branch(target_repo, &repo.default_branch)
            .await
            .map_err(StepError::DefaultBranch)?;
    }
    Ok(())
}

/// Step 4: the forge-dependent files, re-rendered for the target: one
/// fast-forward commit with `--direct`, else a proposal of only what the
/// move changes. Returns what was done, for the journal.
#[allow(clippy::too_many_arguments)]
async fn rerender(
    m: &Migration<'_>,
    options: &MigrateOptions,
    repo: &RemoteRepo,
    mirror: &Mirror,
    target_remote: &GitRemote,
    target_repo: &RemoteRepo,
    changes: Changes,
    entry: &mut JournalEntry,
    progress: &dyn Progress,
) -> Result<String, StepError> {
    if changes.0.is_empty() {
        return Ok("nothing to re-render".to_owned());
    }
    if options.direct {
        progress.step(&repo.full_name, "committing re-rendered files");
        let head = mirror.head.as_deref().unwrap_or_default();
        let commit = direct_commit(
            m,
            &mirror.dir,
            target_remote,
            &mirror.default_ref,
            head,
            changes.1,
        )
        .await?;
        entry.direct_commit = Some(commit.clone());
        return Ok(format!(
            "commit {} on {}",
            &commit[..12],
            repo.default_branch
        ));
    }
    progress.step(&repo.full_name, "proposing re-rendered files");
    let on_target = ls_remote(target_remote).await?;
    let known = RemoteRepo {
        default_branch: repo.default_branch.clone(),
        head: on_target.get(&mirror.default_ref).cloned(),
        ..target_repo.clone()
    };
    let moved: Vec<String> = changes.0.iter().map(|(p, _)| p.clone()).collect();
    let report = sweep::propose_only(m.target_config, m.renderer, m.target, &known, |d| {
        moved.iter().any(|p| p == d.path.as_str())
    })
    .await
    .map_err(|e| StepError::Propose(e.to_string()))?;
    match (&report.state, &report.proposal) {
        (RepoState::Failed { reason }, _) => Err(StepError::Propose(reason.clone())),
        // Not proposed yet: the step is not done, and a resumed migration
        // proposes it.
        (RepoState::WaitingForBudget { reason }, _) => Err(StepError::Propose(format!(
            "waiting for the forge's rate-limit budget: {reason}"
        ))),
        (_, Some(p)) => Ok(format!("proposal {}", p.url)),
        (state, None) => Ok(format!("nothing proposed ({})", state.label())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_names_itself_in_its_error() {
        let api = || ForgeError::Api {
            status: Some(403),
            message: "no".into(),
        };
        let cases: Vec<(StepError, &str)> = vec![
            (StepError::Fetch("timeout".into()), "fetching the source: timeout"),
            (
                StepError::NoDefaultBranch("refs/heads/main".into()),
                "the source has no refs/heads/main",
            ),
            (StepError::Create(api()), "creating the target: no"),
            (
                StepError::Verify(vec!["refs/heads/a: source 1, target 2".into(), "refs/tags/t: only on the target, at 3".into()]),
                "verification failed: refs/heads/a: source 1, target 2; refs/tags/t: only on the target, at 3",
            ),
            (StepError::DefaultBranch(api()), "setting the default branch: no"),
            (StepError::Archive(api()), "archiving the source: no"),
            (StepError::from("git: broken".to_owned()), "git: broken"),
        ];
        for (error, want) in cases {
            assert_eq!(error.to_string(), want);
        }
    }
}
