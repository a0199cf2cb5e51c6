//! The files a move changes: what the target's policy renders differently
//! from what the source's own rendering would (its CI in, the old CI out,
//! forge links rewritten), read from the mirror; and the `--direct` commit
//! that carries them.

use super::{blocking, ls_remote, Migration};
use crate::drift::Change;
use crate::git::remote;
use crate::model::{FileChange, GitRemote, RemoteRepo};
use crate::sweep::{self, RepoState};

pub(super) type Changes = (Vec<(String, Change)>, Vec<FileChange>);

/// Where the mirror keeps the `--direct` commit alive (never pushed as
/// itself: only refs/heads and refs/tags are carried).
const KEEP_REF: &str = "refs/drover/migrate";

/// The files the target's policy renders differently from what the
/// source's default branch holds (the new forge's CI in, the old ones'
/// out, links rewritten), read from the mirror.
pub(super) async fn rerender_changes(
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
pub(super) async fn direct_commit(
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
