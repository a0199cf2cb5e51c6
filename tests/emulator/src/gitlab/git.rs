//! git2 helpers the GitLab handlers need beyond [`crate::gitstore`]: commit
//! metadata with time zones, revision resolution on an open repository,
//! per-path history (`last_commit_id`), diff stats and diffs, and merges.
//!
//! Functions take an open `git2::Repository`; handlers open it with
//! [`open`] under the world lock and drop it before answering.

use std::path::Path;

use git2::{Commit, DiffOptions, ObjectType, Oid, Repository, Signature, Time, Tree};
use serde_json::{json, Value};

/// Opens a bare repository.
pub fn open(git_dir: &Path) -> Result<Repository, git2::Error> {
    Repository::open_bare(git_dir)
}

/// Resolves a branch, tag, full ref or (abbreviated) commit id to a commit.
pub fn resolve(repo: &Repository, rev: &str) -> Option<Oid> {
    if rev.is_empty() {
        return None;
    }
    for name in [
        format!("refs/heads/{rev}"),
        format!("refs/tags/{rev}"),
        rev.to_string(),
    ] {
        if let Ok(r) = repo.find_reference(&name) {
            if let Ok(c) = r.peel_to_commit() {
                return Some(c.id());
            }
        }
    }
    if rev.len() >= 4 && rev.len() <= 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
        let obj = repo.revparse_single(rev).ok()?;
        return obj.peel_to_commit().ok().map(|c| c.id());
    }
    None
}

/// The head of `refs/heads/{branch}`.
pub fn branch_head(repo: &Repository, branch: &str) -> Option<Oid> {
    repo.find_reference(&format!("refs/heads/{branch}"))
        .ok()
        .and_then(|r| r.target())
}

/// Every branch and its head, sorted by name.
pub fn branches(repo: &Repository) -> Vec<(String, Oid)> {
    let mut out = Vec::new();
    if let Ok(iter) = repo.branches(Some(git2::BranchType::Local)) {
        for (b, _) in iter.flatten() {
            if let (Ok(Some(name)), Some(oid)) = (b.name(), b.get().target()) {
                out.push((name.to_string(), oid));
            }
        }
    }
    out.sort();
    out
}

/// Whether the repository has no branches at all (GitLab's `empty_repo`).
pub fn is_empty(git_dir: &Path) -> bool {
    open(git_dir).map_or(true, |r| branches(&r).is_empty())
}

/// A commit's metadata, as GitLab's commit entities need it.
#[derive(Clone, Debug)]
pub struct CommitData {
    pub id: String,
    pub parents: Vec<String>,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    pub authored: String,
    pub committer_name: String,
    pub committer_email: String,
    pub committed: String,
}

impl CommitData {
    pub fn of(c: &Commit<'_>) -> Self {
        let a = c.author();
        let m = c.committer();
        CommitData {
            id: c.id().to_string(),
            parents: c.parent_ids().map(|p| p.to_string()).collect(),
            message: String::from_utf8_lossy(c.message_bytes()).into_owned(),
            author_name: a.name().unwrap_or_default().to_string(),
            author_email: a.email().unwrap_or_default().to_string(),
            authored: git_time(a.when()),
            committer_name: m.name().unwrap_or_default().to_string(),
            committer_email: m.email().unwrap_or_default().to_string(),
            committed: git_time(m.when()),
        }
    }

    /// The first line of the message.
    pub fn title(&self) -> &str {
        self.message.lines().next().unwrap_or_default()
    }
}

/// A git time in GitLab's format with the commit's own offset:
/// `2012-05-28T04:42:42.000-07:00`.
pub fn git_time(t: Time) -> String {
    let offset = t.offset_minutes();
    let local = t.seconds() + i64::from(offset) * 60;
    let base = crate::world::rfc3339(local);
    let base = base.trim_end_matches('Z');
    if offset == 0 {
        format!("{base}.000Z")
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let o = offset.abs();
        format!("{base}.000{sign}{:02}:{:02}", o / 60, o % 60)
    }
}

/// A signature at `time` (world clock).
pub fn signature(name: &str, email: &str, time: i64) -> Result<Signature<'static>, git2::Error> {
    Signature::new(name, email, &Time::new(time, 0))
}

/// The object id and file mode at `path` in `tree`.
pub fn entry_at(tree: &Tree<'_>, path: &str) -> Option<(Oid, i32, Option<ObjectType>)> {
    let e = tree.get_path(Path::new(path.trim_matches('/'))).ok()?;
    Some((e.id(), e.filemode(), e.kind()))
}

/// The last commit reachable from `start` that changed `path` (git's
/// default history simplification: follow a parent the commit is
/// TREESAME to). `None` if the path never existed on that history.
pub fn last_commit_for_path(repo: &Repository, start: Oid, path: &str) -> Option<Oid> {
    let path = path.trim_matches('/');
    let at = |c: &Commit<'_>| -> Option<(Oid, i32)> {
        if path.is_empty() {
            return Some((c.tree_id(), 0o040000));
        }
        let tree = c.tree().ok()?;
        entry_at(&tree, path).map(|(o, m, _)| (o, m))
    };
    let mut current = repo.find_commit(start).ok()?;
    let mut guard = 0usize;
    loop {
        guard += 1;
        if guard > 100_000 {
            return None;
        }
        let here = at(&current);
        here?;
        let mut next = None;
        for parent in current.parents() {
            if at(&parent) == here {
                next = Some(parent);
                break;
            }
        }
        match next {
            Some(p) => current = p,
            None => return Some(current.id()),
        }
    }
}

/// Lines added and removed by `commit` against its first parent.
pub fn stats(repo: &Repository, commit: &Commit<'_>) -> (usize, usize) {
    let new = commit.tree().ok();
    let old = commit.parent(0).ok().and_then(|p| p.tree().ok());
    repo.diff_tree_to_tree(old.as_ref(), new.as_ref(), None)
        .and_then(|d| d.stats())
        .map(|s| (s.insertions(), s.deletions()))
        .unwrap_or((0, 0))
}

/// `{additions, deletions, total}`.
pub fn stats_json(repo: &Repository, commit: &Commit<'_>) -> Value {
    let (a, d) = stats(repo, commit);
    json!({ "additions": a, "deletions": d, "total": a + d })
}

fn mode_str(mode: u32) -> String {
    if mode == 0 {
        "0".to_string()
    } else {
        format!("{mode:06o}")
    }
}

/// GitLab diff entries (`old_path`, `new_path`, `a_mode`, `b_mode`, `diff`,
/// `new_file`, `renamed_file`, `deleted_file`) between two trees.
pub fn diffs(repo: &Repository, old: Option<&Tree<'_>>, new: Option<&Tree<'_>>) -> Vec<Value> {
    let mut opts = DiffOptions::new();
    opts.context_lines(3);
    let Ok(mut diff) = repo.diff_tree_to_tree(old, new, Some(&mut opts)) else {
        return Vec::new();
    };
    let _ = diff.find_similar(None);
    let mut out = Vec::new();
    for i in 0..diff.deltas().len() {
        let Some(delta) = diff.get_delta(i) else {
            continue;
        };
        let old_path = delta
            .old_file()
            .path()
            .map(|p| p.to_string_lossy().into_owned());
        let new_path = delta
            .new_file()
            .path()
            .map(|p| p.to_string_lossy().into_owned());
        let text = git2::Patch::from_diff(&diff, i)
            .ok()
            .flatten()
            .and_then(|mut p| p.to_buf().ok())
            .map(|b| patch_body(&String::from_utf8_lossy(&b)))
            .unwrap_or_default();
        let status = delta.status();
        out.push(json!({
            "old_path": old_path.clone().or(new_path.clone()),
            "new_path": new_path.or(old_path),
            "a_mode": mode_str(u32::from(delta.old_file().mode())),
            "b_mode": mode_str(u32::from(delta.new_file().mode())),
            "diff": text,
            "new_file": status == git2::Delta::Added,
            "renamed_file": status == git2::Delta::Renamed,
            "deleted_file": status == git2::Delta::Deleted,
            "generated_file": false,
        }));
    }
    out
}

/// GitLab's `diff` text starts at the first hunk (`@@ …`), without the
/// `diff --git` / `---` / `+++` header lines.
fn patch_body(patch: &str) -> String {
    match patch.find("\n@@") {
        Some(i) => patch[i + 1..].to_string(),
        None if patch.starts_with("@@") => patch.to_string(),
        None => match patch.find("Binary files") {
            Some(i) => patch[i..].to_string(),
            None => String::new(),
        },
    }
}

/// Commits reachable from `to` but not from `from`, oldest first.
pub fn commits_between(repo: &Repository, from: Option<Oid>, to: Oid) -> Vec<Oid> {
    let Ok(mut walk) = repo.revwalk() else {
        return Vec::new();
    };
    let _ = walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME | git2::Sort::REVERSE);
    if walk.push(to).is_err() {
        return Vec::new();
    }
    if let Some(f) = from {
        let _ = walk.hide(f);
    }
    walk.flatten().collect()
}

/// Why a merge could not be made.
#[derive(Debug)]
pub enum MergeFailure {
    /// Conflicting changes.
    Conflict,
    /// The method requires a fast-forward the history does not allow.
    NotFastForward,
    Git(git2::Error),
}

impl From<git2::Error> for MergeFailure {
    fn from(e: git2::Error) -> Self {
        MergeFailure::Git(e)
    }
}

/// Whether `source` merges into `target` without conflicts.
pub fn mergeable(repo: &Repository, target: Oid, source: Oid) -> bool {
    let (Ok(t), Ok(s)) = (repo.find_commit(target), repo.find_commit(source)) else {
        return false;
    };
    repo.merge_commits(&t, &s, None)
        .map(|i| !i.has_conflicts())
        .unwrap_or(false)
}

/// Merges `source` into `target`: a fast-forward when `ff_only` (failing
/// if `target` is not an ancestor of `source`), else a merge commit with
/// both parents. Returns the new target head; refs are not moved.
pub fn merge(
    repo: &Repository,
    target: Oid,
    source: Oid,
    ff_only: bool,
    message: &str,
    committer: &Signature<'_>,
) -> Result<Oid, MergeFailure> {
    let fast_forwardable = target == source || repo.graph_descendant_of(source, target)?;
    if ff_only {
        return if fast_forwardable {
            Ok(source)
        } else {
            Err(MergeFailure::NotFastForward)
        };
    }
    let t = repo.find_commit(target)?;
    let s = repo.find_commit(source)?;
    let mut index = repo.merge_commits(&t, &s, None)?;
    if index.has_conflicts() {
        return Err(MergeFailure::Conflict);
    }
    let tree_id = index.write_tree_to(repo)?;
    let tree = repo.find_tree(tree_id)?;
    Ok(repo.commit(None, committer, committer, message, &tree, &[&t, &s])?)
}

/// A squash commit: the tree of `source` as one commit whose parent is
/// `base` (the merge base with the target).
pub fn squash(
    repo: &Repository,
    base: Oid,
    source: Oid,
    message: &str,
    author: &Signature<'_>,
    committer: &Signature<'_>,
) -> Result<Oid, MergeFailure> {
    let parent = repo.find_commit(base)?;
    let tree = repo.find_commit(source)?.tree()?;
    Ok(repo.commit(None, author, committer, message, &tree, &[&parent])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_keep_their_offset() {
        assert_eq!(git_time(Time::new(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            git_time(Time::new(3600 * 10, -420)),
            "1970-01-01T03:00:00.000-07:00"
        );
    }

    #[test]
    fn diff_text_starts_at_the_hunk() {
        let p = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n";
        assert_eq!(patch_body(p), "@@ -1 +1 @@\n-a\n+b\n");
    }
}
