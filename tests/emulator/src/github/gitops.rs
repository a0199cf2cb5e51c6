//! git2 operations GitHub's API needs beyond [`crate::gitstore`]: object
//! kinds, ancestry (fast-forward checks), commit counts and diffs between
//! revisions (pull-request stats, `GET /commits/{ref}` files), and merges:
//! a merge commit, a squash commit, or a rebase onto the base branch.

use std::path::Path;

use git2::{DiffOptions, ObjectType, Oid, Repository, Signature, Time};

use crate::error::{Error, Result};
use crate::gitstore::Person;

fn open(git_dir: &Path) -> Result<Repository> {
    Ok(Repository::open_bare(git_dir)?)
}

fn oid(s: &str) -> Result<Oid> {
    Oid::from_str(s).map_err(|_| Error::Invalid(format!("object id {s}")))
}

/// `commit`, `tree`, `blob` or `tag` for an existing full object id.
pub fn object_kind(git_dir: &Path, id: &str) -> Option<&'static str> {
    if id.len() != 40 {
        return None;
    }
    let repo = open(git_dir).ok()?;
    let obj = repo.find_object(Oid::from_str(id).ok()?, None).ok()?;
    match obj.kind()? {
        ObjectType::Commit => Some("commit"),
        ObjectType::Tree => Some("tree"),
        ObjectType::Blob => Some("blob"),
        ObjectType::Tag => Some("tag"),
        _ => None,
    }
}

/// The tree of a commit, or the tree itself, for a full object id.
pub fn tree_of(git_dir: &Path, id: &str) -> Option<String> {
    let repo = open(git_dir).ok()?;
    let obj = repo.find_object(Oid::from_str(id).ok()?, None).ok()?;
    obj.peel_to_tree().ok().map(|t| t.id().to_string())
}

/// Whether the repository has no refs at all (GitHub: "empty").
pub fn is_empty(git_dir: &Path) -> bool {
    open(git_dir)
        .and_then(|r| Ok(r.references()?.next().is_none()))
        .unwrap_or(true)
}

/// Whether `ancestor` is `descendant` or one of its ancestors.
pub fn is_ancestor(git_dir: &Path, ancestor: &str, descendant: &str) -> Result<bool> {
    if ancestor == descendant {
        return Ok(true);
    }
    let repo = open(git_dir)?;
    Ok(repo.graph_descendant_of(oid(descendant)?, oid(ancestor)?)?)
}

/// Commits reachable from `head` and not from `base`, oldest first.
pub fn commits_between(git_dir: &Path, base: &str, head: &str) -> Result<Vec<String>> {
    let repo = open(git_dir)?;
    let mut walk = repo.revwalk()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)?;
    walk.push(oid(head)?)?;
    walk.hide(oid(base)?)?;
    walk.map(|o| Ok(o?.to_string())).collect()
}

/// Commits reachable from `head`, newest first (by committer time, then
/// topology); with `path`, only those whose first-parent diff touches it.
pub fn history(git_dir: &Path, head: &str, path: Option<&str>) -> Result<Vec<String>> {
    let repo = open(git_dir)?;
    let mut walk = repo.revwalk()?;
    walk.set_sorting(git2::Sort::TIME | git2::Sort::TOPOLOGICAL)?;
    walk.push(oid(head)?)?;
    let entry = |tree: &git2::Tree<'_>, p: &str| {
        tree.get_path(std::path::Path::new(p)).ok().map(|e| e.id())
    };
    let mut out = Vec::new();
    for id in walk {
        let id = id?;
        if let Some(p) = path {
            let c = repo.find_commit(id)?;
            let mine = entry(&c.tree()?, p);
            let parent = match c.parents().next() {
                Some(parent) => entry(&parent.tree()?, p),
                None => None,
            };
            if mine == parent {
                continue;
            }
        }
        out.push(id.to_string());
    }
    Ok(out)
}

/// The merge base of two commits, if any.
pub fn merge_base(git_dir: &Path, a: &str, b: &str) -> Option<String> {
    let repo = open(git_dir).ok()?;
    repo.merge_base(oid(a).ok()?, oid(b).ok()?)
        .ok()
        .map(|o| o.to_string())
}

/// One changed file between two trees.
#[derive(Clone, Debug, PartialEq)]
pub struct FileDiff {
    pub filename: String,
    pub previous_filename: Option<String>,
    /// `added`, `removed`, `modified`, `renamed`, `changed`.
    pub status: &'static str,
    pub additions: usize,
    pub deletions: usize,
    /// The new blob id (the old one for removals).
    pub sha: String,
    pub patch: Option<String>,
}

/// Changed files from tree-ish `from` (or the empty tree) to tree-ish `to`.
pub fn diff(git_dir: &Path, from: Option<&str>, to: &str) -> Result<Vec<FileDiff>> {
    let repo = open(git_dir)?;
    let tree = |id: &str| -> Result<git2::Tree<'_>> {
        Ok(repo.find_object(oid(id)?, None)?.peel_to_tree()?)
    };
    let old = from.map(tree).transpose()?;
    let new = tree(to)?;
    let mut opts = DiffOptions::new();
    opts.context_lines(3);
    let diff = repo.diff_tree_to_tree(old.as_ref(), Some(&new), Some(&mut opts))?;
    let mut out = Vec::new();
    for (i, delta) in diff.deltas().enumerate() {
        let path = |f: git2::DiffFile<'_>| {
            f.path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let (status, sha) = match delta.status() {
            git2::Delta::Added => ("added", delta.new_file().id()),
            git2::Delta::Deleted => ("removed", delta.old_file().id()),
            git2::Delta::Renamed => ("renamed", delta.new_file().id()),
            git2::Delta::Modified => ("modified", delta.new_file().id()),
            _ => ("changed", delta.new_file().id()),
        };
        let (mut additions, mut deletions, mut patch) = (0, 0, None);
        if let Ok(Some(mut p)) = git2::Patch::from_diff(&diff, i) {
            if let Ok((_, a, d)) = p.line_stats() {
                additions = a;
                deletions = d;
            }
            if let Ok(buf) = p.to_buf() {
                let text = String::from_utf8_lossy(&buf).into_owned();
                // GitHub's `patch` starts at the first hunk header.
                patch = text.find("\n@@").map(|at| text[at + 1..].to_string());
            }
        }
        out.push(FileDiff {
            filename: path(delta.new_file()),
            previous_filename: (status == "renamed").then(|| path(delta.old_file())),
            status,
            additions,
            deletions,
            sha: sha.to_string(),
            patch,
        });
    }
    Ok(out)
}

/// The tree of merging `head` into `base`, or `None` on conflicts.
pub fn merge_tree(git_dir: &Path, base: &str, head: &str) -> Result<Option<String>> {
    let repo = open(git_dir)?;
    let ours = repo.find_commit(oid(base)?)?;
    let theirs = repo.find_commit(oid(head)?)?;
    let mut index = repo.merge_commits(&ours, &theirs, None)?;
    if index.has_conflicts() {
        return Ok(None);
    }
    Ok(Some(index.write_tree_to(&repo)?.to_string()))
}

fn signature(p: &Person) -> Result<Signature<'static>> {
    Ok(match p.time {
        Some(t) => Signature::new(&p.name, &p.email, &Time::new(t, 0))?,
        None => Signature::now(&p.name, &p.email)?,
    })
}

/// Writes a commit with `tree` and `parents`; returns its id.
pub fn commit(
    git_dir: &Path,
    tree: &str,
    parents: &[&str],
    message: &str,
    author: &Person,
    committer: &Person,
) -> Result<String> {
    let repo = open(git_dir)?;
    let tree = repo.find_tree(oid(tree)?)?;
    let parents = parents
        .iter()
        .map(|p| Ok(repo.find_commit(oid(p)?)?))
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    let id = repo.commit(
        None,
        &signature(author)?,
        &signature(committer)?,
        message,
        &tree,
        &refs,
    )?;
    Ok(id.to_string())
}

/// Replays the commits of `head` not in `base` onto `base` with
/// `committer` (GitHub's "rebase and merge"). `None` on conflicts.
pub fn rebase(
    git_dir: &Path,
    base: &str,
    head: &str,
    committer: &Person,
) -> Result<Option<String>> {
    let picks = commits_between(git_dir, base, head)?;
    let repo = open(git_dir)?;
    let mut onto = repo.find_commit(oid(base)?)?;
    let committer = signature(committer)?;
    for pick in picks {
        let commit = repo.find_commit(oid(&pick)?)?;
        if commit.parent_count() > 1 {
            continue;
        }
        let mut index = repo.cherrypick_commit(&commit, &onto, 0, None)?;
        if index.has_conflicts() {
            return Ok(None);
        }
        let tree = repo.find_tree(index.write_tree_to(&repo)?)?;
        let id = repo.commit(
            None,
            &commit.author(),
            &committer,
            commit.message().unwrap_or_default(),
            &tree,
            &[&onto],
        )?;
        onto = repo.find_commit(id)?;
    }
    Ok(Some(onto.id().to_string()))
}
