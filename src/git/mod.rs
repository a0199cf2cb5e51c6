//! Git work through git2: reading a branch's files without a work tree and
//! committing to drover's branch without touching the work tree, the index
//! or the default branch; `remote` mirrors, pushes and lists refs for
//! `drover migrate`. Only this module imports git2.
//!
//! Every function here blocks: callers run them on blocking threads
//! (`tokio::task::spawn_blocking`), opening the repository inside the
//! closure because git2 repositories are not `Sync`.

use std::path::Path;

pub mod remote;

use git2::{build::TreeUpdateBuilder, ErrorCode, FileMode, ObjectType, Oid, Repository, Signature};

use crate::config::Author;
use crate::model::FileChange;
use crate::model::{Actual, EntryKind, Listed, RepoPath, Snapshot, Wanted};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(transparent)]
    Git(#[from] git2::Error),
    /// The default branch moved between the snapshot and the commit.
    #[error("{0}")]
    Moved(String),
    #[error("{0}")]
    Invalid(String),
    /// The remote refused some refs of a push.
    #[error("push rejected: {0}")]
    Rejected(String),
    #[error("{0}")]
    Io(String),
}

/// The git blob id `content` would have in a repository whose object ids
/// look like `like` (40 hex digits: SHA-1; 64: SHA-256); `None` for an id
/// of neither kind. Pure: it hashes, it opens nothing.
pub fn blob_id_like(content: &[u8], like: &str) -> Option<String> {
    // Hashed here, not by libgit2: the first call into libgit2 sets up
    // OpenSSL, which reads every system certificate (0.6 MB of heap and 4
    // MB of libcrypto mapped, in a sweep that never speaks git; issue 19).
    fn blob_id<D: sha2::Digest>(content: &[u8]) -> String {
        let mut h = D::new();
        h.update(format!("blob {}\0", content.len()));
        h.update(content);
        hex::encode(h.finalize())
    }
    match like.len() {
        40 => Some(blob_id::<sha1::Sha1>(content)),
        64 => Some(blob_id::<sha2::Sha256>(content)),
        _ => None,
    }
}

/// The branch HEAD names and its commit (`None` while unborn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub branch: String,
    pub commit: Option<String>,
}

/// The default branch of the repository at `path`, or `None` when `path`
/// is not a git repository.
pub fn default_branch(path: &Path) -> Result<Option<Head>, GitError> {
    let repo = match Repository::open(path) {
        Ok(r) => r,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let head_ref = repo.find_reference("HEAD")?;
    let target = head_ref.symbolic_target().ok_or_else(|| {
        GitError::Invalid("HEAD is detached; drover needs a default branch".into())
    })?;
    let branch = target
        .strip_prefix("refs/heads/")
        .unwrap_or(target)
        .to_owned();
    let commit = match repo.refname_to_id(target) {
        Ok(oid) => Some(oid.to_string()),
        Err(e) if e.code() == ErrorCode::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    Ok(Some(Head { branch, commit }))
}

/// The head of `branch` and what each path is in its tree.
pub fn read_paths(path: &Path, branch: &str, wanted: &Wanted) -> Result<Snapshot, GitError> {
    let repo = Repository::open(path)?;
    let commit = repo
        .find_reference(&format!("refs/heads/{branch}"))?
        .peel_to_commit()?;
    let tree = commit.tree()?;
    let mut snap = Snapshot {
        head: Some(commit.id().to_string()),
        ..Snapshot::default()
    };
    for p in &wanted.paths {
        snap.files.insert(p.clone(), read_path(&repo, &tree, p)?);
    }
    for dir in &wanted.dirs {
        if let Some(listed) = list_dir(&repo, &tree, dir)? {
            snap.listings.insert(dir.clone(), listed);
        }
    }
    Ok(snap)
}

/// The entries of `dir` (`""` the root) in `tree`, if it is a directory
/// reached through directories only.
fn list_dir(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    dir: &str,
) -> Result<Option<Vec<Listed>>, GitError> {
    let sub;
    let tree = if dir.is_empty() {
        tree
    } else {
        match tree.get_path(Path::new(dir)) {
            Ok(entry) if entry.kind() == Some(ObjectType::Tree) => {
                sub = repo.find_tree(entry.id())?;
                &sub
            }
            Ok(_) => return Ok(None),
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    };
    let mut listed: Vec<Listed> = tree
        .iter()
        .map(|e| Listed {
            name: e.name().unwrap_or_default().to_owned(),
            kind: if e.filemode() == i32::from(FileMode::Link) {
                EntryKind::Symlink
            } else {
                match e.kind() {
                    Some(ObjectType::Tree) => EntryKind::Dir,
                    Some(ObjectType::Blob) => EntryKind::File,
                    _ => EntryKind::Other,
                }
            },
        })
        .collect();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Some(listed))
}

fn read_path(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    path: &RepoPath,
) -> Result<Actual, GitError> {
    for ancestor in path.ancestors() {
        match tree.get_path(Path::new(ancestor.as_str())) {
            Ok(entry) if entry.kind() == Some(ObjectType::Tree) => {}
            Ok(entry) if entry.filemode() == i32::from(FileMode::Link) => {
                return Ok(Actual::ThroughSymlink { link: ancestor })
            }
            Ok(_) => return Ok(Actual::NotAFile),
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(Actual::Missing),
            Err(e) => return Err(e.into()),
        }
    }
    let entry = match tree.get_path(Path::new(path.as_str())) {
        Ok(entry) => entry,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(Actual::Missing),
        Err(e) => return Err(e.into()),
    };
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(Actual::NotAFile);
    }
    let blob = repo.find_blob(entry.id())?;
    if entry.filemode() == i32::from(FileMode::Link) {
        return Ok(Actual::Symlink {
            target: String::from_utf8_lossy(blob.content()).into_owned(),
        });
    }
    Ok(Actual::File {
        content: blob.content().to_vec(),
    })
}

/// A commit drover wants on its branch.
pub struct CommitRequest<'a> {
    pub default_branch: &'a str,
    /// The head the changes were computed against; if the default branch
    /// has moved since, nothing is written.
    pub expected_base: Option<&'a str>,
    pub branch: &'a str,
    pub message: &'a str,
    pub author: &'a Author,
    pub changes: &'a [FileChange],
}

/// What happened to drover's branch. Each carries the branch's commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitResult {
    Created(String),
    Updated(String),
    /// The branch already holds exactly this change on this base.
    Unchanged(String),
    /// Someone else committed to the branch; it was left as it is.
    ForeignCommits {
        tip: String,
        author: String,
    },
}

/// Puts `changes` in one commit on the default branch's head and points
/// drover's branch at it, unless the branch already holds the same tree on
/// the same head, or carries someone else's commits.
pub fn commit_on_branch(path: &Path, req: &CommitRequest<'_>) -> Result<CommitResult, GitError> {
    // The default branch (and the work tree checked out on it) is never
    // written.
    if req.branch == req.default_branch {
        return Err(GitError::Invalid(format!(
            "refusing to commit on {}: it is the default branch, not drover's own",
            req.branch
        )));
    }
    let repo = Repository::open(path)?;
    let head = repo
        .find_reference(&format!("refs/heads/{}", req.default_branch))?
        .peel_to_commit()?;
    if let Some(expected) = req.expected_base {
        if head.id().to_string() != expected {
            return Err(GitError::Moved(format!(
                "{} moved from {expected} to {} during the sweep; the next sweep will redo this repository",
                req.default_branch,
                head.id()
            )));
        }
    }
    let tree_id = apply_changes(&repo, &head.tree()?, req.changes)?;

    let branch_ref = format!("refs/heads/{}", req.branch);
    let existing = match repo.find_reference(&branch_ref) {
        Ok(r) => Some(r.peel_to_commit()?),
        Err(e) if e.code() == ErrorCode::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(tip) = &existing {
        if let Some(author) = foreign_author(&repo, tip.id(), head.id(), &req.author.email)? {
            return Ok(CommitResult::ForeignCommits {
                tip: tip.id().to_string(),
                author,
            });
        }
        if tip.tree_id() == tree_id && tip.parent_ids().collect::<Vec<_>>() == [head.id()] {
            return Ok(CommitResult::Unchanged(tip.id().to_string()));
        }
    }
    let tree = repo.find_tree(tree_id)?;
    let sig = Signature::now(&req.author.name, &req.author.email)?;
    let commit = repo.commit(None, &sig, &sig, req.message, &tree, &[&head])?;
    repo.reference(&branch_ref, commit, true, "drover: sync managed files")?;
    Ok(match existing {
        None => CommitResult::Created(commit.to_string()),
        Some(_) => CommitResult::Updated(commit.to_string()),
    })
}

/// The tree `base` becomes with `changes` (an existing file keeps its
/// executable bit).
pub fn apply_changes(
    repo: &Repository,
    base_tree: &git2::Tree<'_>,
    changes: &[FileChange],
) -> Result<Oid, GitError> {
    let mut update = TreeUpdateBuilder::new();
    for change in changes {
        let path = change.path.as_str();
        match &change.content {
            Some(bytes) => {
                let blob = repo.blob(bytes)?;
                let mode = match base_tree.get_path(Path::new(path)) {
                    Ok(e) if e.filemode() == i32::from(FileMode::BlobExecutable) => {
                        FileMode::BlobExecutable
                    }
                    _ => FileMode::Blob,
                };
                update.upsert(path, blob, mode);
            }
            None => {
                update.remove(path);
            }
        }
    }
    Ok(update.create_updated(repo, base_tree)?)
}

/// The first author other than drover among the branch's own commits (those
/// not reachable from the default branch).
fn foreign_author(
    repo: &Repository,
    tip: Oid,
    head: Oid,
    drover_email: &str,
) -> Result<Option<String>, GitError> {
    let mut walk = repo.revwalk()?;
    walk.push(tip)?;
    walk.hide(head)?;
    for oid in walk {
        let commit = repo.find_commit(oid?)?;
        let author = commit.author();
        if author.email() != Some(drover_email) {
            return Ok(Some(format!(
                "{} <{}>",
                author.name().unwrap_or("?"),
                author.email().unwrap_or("?")
            )));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_are_libgit2s_for_any_content() {
        for content in [&b""[..], &[0xff, 0, 0x80][..], &[b'x'; 70_000][..]] {
            let git = Oid::hash_object(ObjectType::Blob, content)
                .unwrap()
                .to_string();
            assert_eq!(blob_id_like(content, &git).as_deref(), Some(git.as_str()));
        }
    }

    /// The real forges speak HTTPS only, and the emulator is plain HTTP on
    /// loopback: without this check a git2 built without TLS would pass
    /// every other test and fail on first contact with github.com.
    #[test]
    fn git2_is_built_with_https() {
        assert!(
            git2::Version::get().https(),
            "git2 was built without HTTPS support: enable its `https` feature"
        );
    }

    #[test]
    fn blob_ids_are_gits_for_both_object_formats() {
        // `printf 'hello\n' | git hash-object --stdin` (and with
        // `--object-format=sha256` in a SHA-256 repository).
        let sha1 = "ce013625030ba8dba906f756967f9e9ca394464a";
        assert_eq!(blob_id_like(b"hello\n", sha1).as_deref(), Some(sha1));
        let sha256 = "2cf8d83d9ee29543b34a87727421fdecb7e3f3a183d337639025de576db9ebb4";
        assert_eq!(blob_id_like(b"hello\n", sha256).as_deref(), Some(sha256));
        assert_eq!(blob_id_like(b"hello\n", "abc"), None);
    }
}
