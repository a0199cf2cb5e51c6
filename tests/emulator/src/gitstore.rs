//! Real git content for emulated repositories: one bare repository per
//! [`crate::world::Repository`], read and written with git2.
//!
//! Every forge's API handlers use these helpers to answer reads (refs,
//! trees, blobs, commits, files at a ref) and to perform API-side writes
//! (GitHub git data API, contents API, GitLab commits with actions). Pushes
//! arrive through [`crate::githttp`] instead, served by real `git`.
//!
//! Functions open the repository on each call: git2 handles are not `Sync`,
//! and opening a bare repository is cheap. They are blocking; callers in
//! async code run them briefly under the world lock or on a blocking thread.

use std::collections::BTreeMap;
use std::path::Path;

use git2::{ObjectType, Oid, Repository, Signature, Time, TreeWalkMode, TreeWalkResult};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An author or committer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub email: String,
    /// Seconds since the epoch; `None` means now.
    pub time: Option<i64>,
}

impl Person {
    /// The identity the emulator uses for seeded commits.
    pub fn emulator() -> Self {
        Person::new("Drover Emulator", "emulator@drover.invalid")
    }

    pub fn new(name: &str, email: &str) -> Self {
        Person {
            name: name.into(),
            email: email.into(),
            time: None,
        }
    }

    fn signature(&self) -> Result<Signature<'static>> {
        Ok(match self.time {
            Some(t) => Signature::new(&self.name, &self.email, &Time::new(t, 0))?,
            None => Signature::now(&self.name, &self.email)?,
        })
    }
}

/// One change in an API-side commit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FileChange {
    /// Create or overwrite a regular file.
    Write { path: String, content: Vec<u8> },
    /// Create or overwrite with an explicit mode (e.g. `0o100755`).
    WriteMode {
        path: String,
        content: Vec<u8>,
        mode: i32,
    },
    /// Remove a file.
    Delete { path: String },
}

impl FileChange {
    pub fn write(path: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        FileChange::Write {
            path: path.into(),
            content: content.into(),
        }
    }
    pub fn delete(path: impl Into<String>) -> Self {
        FileChange::Delete { path: path.into() }
    }
}

/// What a tree entry points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    Blob,
    Tree,
    /// A submodule (gitlink).
    Commit,
}

/// One entry of a tree listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeEntry {
    /// Path from the repository root.
    pub path: String,
    pub name: String,
    pub mode: i32,
    pub kind: EntryKind,
    pub oid: String,
    /// Blob size in bytes, for blobs.
    pub size: Option<usize>,
}

/// A commit's metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommitInfo {
    pub oid: String,
    pub tree: String,
    pub parents: Vec<String>,
    pub message: String,
    pub author: Person,
    pub committer: Person,
}

/// One entry given to [`write_tree`], GitHub `POST /git/trees` style.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeWrite {
    /// Path relative to the tree root; may contain `/`.
    pub path: String,
    pub mode: i32,
    /// `Some(oid)` to point at an existing object, `None` to delete.
    pub oid: Option<String>,
}

/// Creates an empty bare repository whose HEAD names `default_branch`, with
/// receive-pack enabled for git smart HTTP.
pub fn init_bare(git_dir: &Path, default_branch: &str) -> Result<()> {
    let mut opts = git2::RepositoryInitOptions::new();
    opts.bare(true)
        .initial_head(default_branch)
        .mkpath(true)
        .no_reinit(true);
    let repo = Repository::init_opts(git_dir, &opts)?;
    let mut config = repo.config()?;
    config.set_bool("http.receivepack", true)?;
    config.set_bool("http.uploadpack", true)?;
    config.set_bool("uploadpack.allowAnySHA1InWant", true)?;
    Ok(())
}

fn open(git_dir: &Path) -> Result<Repository> {
    Ok(Repository::open_bare(git_dir)?)
}

/// Points HEAD at `refs/heads/{branch}` (the default branch).
pub fn set_head(git_dir: &Path, branch: &str) -> Result<()> {
    open(git_dir)?.set_head(&format!("refs/heads/{branch}"))?;
    Ok(())
}

/// Whether `rev`'s commit is reachable from `tip`'s (or is it). `false`
/// when either names nothing.
pub fn reachable(git_dir: &Path, rev: &str, tip: &str) -> Result<bool> {
    let repo = open(git_dir)?;
    let (Some(c), Some(t)) = (resolve_in(&repo, rev), resolve_in(&repo, tip)) else {
        return Ok(false);
    };
    Ok(c == t || repo.graph_descendant_of(t, c)?)
}

/// Resolves a revision (branch name, tag name, full ref, or object id,
/// full or abbreviated) to the commit it names. `None` if it names nothing.
pub fn resolve(git_dir: &Path, rev: &str) -> Result<Option<String>> {
    let repo = open(git_dir)?;
    Ok(resolve_in(&repo, rev).map(|c| c.to_string()))
}

fn resolve_in(repo: &Repository, rev: &str) -> Option<Oid> {
    let candidates = [
        rev.to_string(),
        format!("refs/heads/{rev}"),
        format!("refs/tags/{rev}"),
    ];
    for name in &candidates {
        if let Ok(r) = repo.find_reference(name) {
            if let Ok(c) = r.peel_to_commit() {
                return Some(c.id());
            }
        }
    }
    let obj = repo.revparse_single(rev).ok()?;
    obj.peel_to_commit().ok().map(|c| c.id())
}

fn resolve_required(repo: &Repository, rev: &str) -> Result<Oid> {
    resolve_in(repo, rev).ok_or_else(|| Error::NotFound(format!("revision {rev}")))
}

/// Every ref (full name → object id); HEAD is not included.
pub fn refs(git_dir: &Path) -> Result<BTreeMap<String, String>> {
    let repo = open(git_dir)?;
    let mut out = BTreeMap::new();
    for r in repo.references()? {
        let r = r?;
        if let (Some(name), Some(target)) = (r.name(), r.target()) {
            out.insert(name.to_string(), target.to_string());
        }
    }
    Ok(out)
}

/// Sets `name` (a full ref) to `oid`. With `expected`, only if the ref
/// currently points there (compare-and-swap, as a non-forced ref update).
pub fn set_ref(git_dir: &Path, name: &str, oid: &str, expected: Option<&str>) -> Result<()> {
    let repo = open(git_dir)?;
    let target = Oid::from_str(oid).map_err(|_| Error::Invalid(format!("object id {oid}")))?;
    repo.find_object(target, None)
        .map_err(|_| Error::NotFound(format!("object {oid}")))?;
    match expected {
        Some(old) => {
            let old = Oid::from_str(old).map_err(|_| Error::Invalid(format!("object id {old}")))?;
            repo.reference_matching(name, target, true, old, "emulator: update ref")
                .map_err(|e| Error::Conflict(format!("ref {name}: {}", e.message())))?;
        }
        None => {
            repo.reference(name, target, true, "emulator: set ref")?;
        }
    }
    Ok(())
}

/// Deletes a ref; `NotFound` if it does not exist.
pub fn delete_ref(git_dir: &Path, name: &str) -> Result<()> {
    let repo = open(git_dir)?;
    let mut r = repo
        .find_reference(name)
        .map_err(|_| Error::NotFound(format!("ref {name}")))?;
    r.delete()?;
    Ok(())
}

/// Reads the file at `path` in the tree of `rev`. `None` if the revision or
/// the path do not exist, or the path is not a blob.
pub fn read_file(git_dir: &Path, rev: &str, path: &str) -> Result<Option<Vec<u8>>> {
    let repo = open(git_dir)?;
    let Some(commit) = resolve_in(&repo, rev) else {
        return Ok(None);
    };
    let tree = repo.find_commit(commit)?.tree()?;
    let entry = match tree.get_path(Path::new(path.trim_start_matches('/'))) {
        Ok(e) => e,
        Err(_) => return Ok(None),
    };
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(None);
    }
    let content = repo.find_blob(entry.id())?.content().to_vec();
    Ok(Some(content))
}

/// The content of a blob by id.
pub fn read_blob(git_dir: &Path, oid: &str) -> Result<Option<Vec<u8>>> {
    let repo = open(git_dir)?;
    let Ok(oid) = Oid::from_str(oid) else {
        return Ok(None);
    };
    Ok(repo.find_blob(oid).ok().map(|b| b.content().to_vec()))
}

/// Lists the tree at `dir` (empty for the root) in `rev`, which may be a
/// commit-ish or a tree id. `None` if it does not exist.
pub fn list_tree(
    git_dir: &Path,
    rev: &str,
    dir: &str,
    recursive: bool,
) -> Result<Option<Vec<TreeEntry>>> {
    let repo = open(git_dir)?;
    let root = match resolve_in(&repo, rev) {
        Some(c) => repo.find_commit(c)?.tree()?,
        None => match Oid::from_str(rev).ok().and_then(|o| repo.find_tree(o).ok()) {
            Some(t) => t,
            None => return Ok(None),
        },
    };
    let dir = dir.trim_matches('/');
    let tree = if dir.is_empty() {
        root
    } else {
        match root.get_path(Path::new(dir)) {
            Ok(e) if e.kind() == Some(ObjectType::Tree) => repo.find_tree(e.id())?,
            _ => return Ok(None),
        }
    };
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut out = Vec::new();
    let mut walk_err = None;
    tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
        let name = entry.name().unwrap_or_default().to_string();
        let kind = match entry.kind() {
            Some(ObjectType::Tree) => EntryKind::Tree,
            Some(ObjectType::Commit) => EntryKind::Commit,
            _ => EntryKind::Blob,
        };
        let size = if kind == EntryKind::Blob {
            match repo.find_blob(entry.id()) {
                Ok(b) => Some(b.size()),
                Err(e) => {
                    walk_err = Some(e);
                    return TreeWalkResult::Abort;
                }
            }
        } else {
            None
        };
        out.push(TreeEntry {
            path: format!("{prefix}{parent}{name}"),
            name,
            mode: entry.filemode(),
            kind,
            oid: entry.id().to_string(),
            size,
        });
        if recursive || kind != EntryKind::Tree {
            TreeWalkResult::Ok
        } else {
            TreeWalkResult::Skip
        }
    })?;
    if let Some(e) = walk_err {
        return Err(e.into());
    }
    Ok(Some(out))
}

/// Metadata of the commit `rev` names.
pub fn commit_info(git_dir: &Path, rev: &str) -> Result<Option<CommitInfo>> {
    let repo = open(git_dir)?;
    let Some(oid) = resolve_in(&repo, rev) else {
        return Ok(None);
    };
    let commit = info(&repo.find_commit(oid)?);
    Ok(Some(commit))
}

/// Up to `limit` commits reachable from `rev`, newest first.
pub fn log(git_dir: &Path, rev: &str, limit: usize) -> Result<Vec<CommitInfo>> {
    let repo = open(git_dir)?;
    let start = resolve_required(&repo, rev)?;
    let mut walk = repo.revwalk()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)?;
    walk.push(start)?;
    let mut out = Vec::new();
    for oid in walk.take(limit) {
        out.push(info(&repo.find_commit(oid?)?));
    }
    Ok(out)
}

fn person(sig: &Signature<'_>) -> Person {
    Person {
        name: sig.name().unwrap_or_default().to_string(),
        email: sig.email().unwrap_or_default().to_string(),
        time: Some(sig.when().seconds()),
    }
}

fn info(c: &git2::Commit<'_>) -> CommitInfo {
    CommitInfo {
        oid: c.id().to_string(),
        tree: c.tree_id().to_string(),
        parents: c.parent_ids().map(|p| p.to_string()).collect(),
        message: c.message().unwrap_or_default().to_string(),
        author: person(&c.author()),
        committer: person(&c.committer()),
    }
}

/// Writes a blob, returning its id.
pub fn write_blob(git_dir: &Path, content: &[u8]) -> Result<String> {
    Ok(open(git_dir)?.blob(content)?.to_string())
}

/// Writes a tree from `entries` applied on top of `base_tree` (GitHub
/// `base_tree` semantics: entries replace, `oid: None` deletes, paths may
/// be nested). Returns the new tree id.
pub fn write_tree(
    git_dir: &Path,
    base_tree: Option<&str>,
    entries: &[TreeWrite],
) -> Result<String> {
    let repo = open(git_dir)?;
    let base = match base_tree {
        Some(id) => {
            let oid = Oid::from_str(id).map_err(|_| Error::Invalid(format!("tree id {id}")))?;
            Some(
                repo.find_tree(oid)
                    .map_err(|_| Error::NotFound(format!("tree {id}")))?,
            )
        }
        None => None,
    };
    let mut updates = git2::build::TreeUpdateBuilder::new();
    for e in entries {
        match &e.oid {
            Some(id) => {
                let oid =
                    Oid::from_str(id).map_err(|_| Error::Invalid(format!("object id {id}")))?;
                updates.upsert(e.path.as_str(), oid, filemode(e.mode)?);
            }
            None => {
                updates.remove(e.path.as_str());
            }
        }
    }
    let base = match base {
        Some(t) => t,
        None => repo.find_tree(repo.treebuilder(None)?.write()?)?,
    };
    Ok(updates.create_updated(&repo, &base)?.to_string())
}

fn filemode(mode: i32) -> Result<git2::FileMode> {
    Ok(match mode {
        0o100644 => git2::FileMode::Blob,
        0o100755 => git2::FileMode::BlobExecutable,
        0o120000 => git2::FileMode::Link,
        0o040000 => git2::FileMode::Tree,
        0o160000 => git2::FileMode::Commit,
        other => return Err(Error::Invalid(format!("file mode {other:o}"))),
    })
}

/// Writes a commit object (no ref is moved). Returns its id.
pub fn write_commit(
    git_dir: &Path,
    tree: &str,
    parents: &[String],
    message: &str,
    author: &Person,
    committer: &Person,
) -> Result<String> {
    let repo = open(git_dir)?;
    let tree_oid = Oid::from_str(tree).map_err(|_| Error::Invalid(format!("tree id {tree}")))?;
    let tree = repo
        .find_tree(tree_oid)
        .map_err(|_| Error::NotFound(format!("tree {tree_oid}")))?;
    let mut parent_commits = Vec::new();
    for p in parents {
        let oid = Oid::from_str(p).map_err(|_| Error::Invalid(format!("commit id {p}")))?;
        parent_commits.push(
            repo.find_commit(oid)
                .map_err(|_| Error::NotFound(format!("commit {p}")))?,
        );
    }
    let parent_refs: Vec<&git2::Commit<'_>> = parent_commits.iter().collect();
    let oid = repo.commit(
        None,
        &author.signature()?,
        &committer.signature()?,
        message,
        &tree,
        &parent_refs,
    )?;
    Ok(oid.to_string())
}

/// Commits `changes` on top of `refs/heads/{branch}` (or as a root commit
/// if the branch does not exist) and moves the branch. Returns the commit id.
pub fn commit_files(
    git_dir: &Path,
    branch: &str,
    changes: &[FileChange],
    message: &str,
    author: &Person,
) -> Result<String> {
    let refname = format!("refs/heads/{branch}");
    let (parent, base_tree) = {
        let repo = open(git_dir)?;
        match repo.find_reference(&refname).ok().and_then(|r| r.target()) {
            Some(oid) => {
                let c = repo.find_commit(oid)?;
                (Some(oid.to_string()), Some(c.tree_id().to_string()))
            }
            None => (None, None),
        }
    };
    let mut writes = Vec::new();
    for change in changes {
        writes.push(match change {
            FileChange::Write { path, content } => TreeWrite {
                path: path.clone(),
                mode: 0o100644,
                oid: Some(write_blob(git_dir, content)?),
            },
            FileChange::WriteMode {
                path,
                content,
                mode,
            } => TreeWrite {
                path: path.clone(),
                mode: *mode,
                oid: Some(write_blob(git_dir, content)?),
            },
            FileChange::Delete { path } => TreeWrite {
                path: path.clone(),
                mode: 0,
                oid: None,
            },
        });
    }
    let tree = write_tree(git_dir, base_tree.as_deref(), &writes)?;
    let parents: Vec<String> = parent.iter().cloned().collect();
    let commit = write_commit(git_dir, &tree, &parents, message, author, author)?;
    set_ref(git_dir, &refname, &commit, parent.as_deref())?;
    Ok(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_read_list_and_refs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join("r.git");
        init_bare(&git, "main").unwrap();
        assert!(refs(&git).unwrap().is_empty());
        let c1 = commit_files(
            &git,
            "main",
            &[
                FileChange::write("README.md", "hi\n"),
                FileChange::write("src/lib.rs", ""),
            ],
            "init",
            &Person::emulator(),
        )
        .unwrap();
        let c2 = commit_files(
            &git,
            "main",
            &[
                FileChange::delete("README.md"),
                FileChange::write("src/a/b.rs", "b"),
            ],
            "second",
            &Person::emulator(),
        )
        .unwrap();
        assert_eq!(resolve(&git, "main").unwrap().as_deref(), Some(c2.as_str()));
        assert_eq!(
            resolve(&git, &c1[..10]).unwrap().as_deref(),
            Some(c1.as_str())
        );
        assert_eq!(
            read_file(&git, &c1, "README.md").unwrap().as_deref(),
            Some(&b"hi\n"[..])
        );
        assert_eq!(read_file(&git, "main", "README.md").unwrap(), None);
        let paths: Vec<_> = list_tree(&git, "main", "", true)
            .unwrap()
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(paths, ["src", "src/a", "src/a/b.rs", "src/lib.rs"]);
        let top = list_tree(&git, "main", "src", false).unwrap().unwrap();
        assert_eq!(top.len(), 2);
        let info = commit_info(&git, "main").unwrap().unwrap();
        assert_eq!(info.parents, vec![c1.clone()]);
        assert_eq!(log(&git, "main", 10).unwrap().len(), 2);
        assert!(set_ref(&git, "refs/heads/main", &c1, Some(&c1)).is_err());
        set_ref(&git, "refs/heads/topic", &c1, None).unwrap();
        assert_eq!(refs(&git).unwrap().len(), 2);
        delete_ref(&git, "refs/heads/topic").unwrap();
        assert_eq!(refs(&git).unwrap().len(), 1);
    }
}
