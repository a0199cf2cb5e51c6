//! The local forge: a directory whose subdirectories are repositories. A
//! git repository (with a work tree or bare) gets its proposal as one commit
//! on drover's branch, based on the default branch's head; the work tree,
//! the index and the default branch are never written. A plain directory
//! gets a patch file under the state directory that `git apply` accepts.
//!
//! All file and git work runs on blocking threads.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{Forge, ForgeError, Profile};
use crate::git::{self, CommitRequest, CommitResult};
use crate::model::{Actual, EntryKind, Listed, Proposed, RemoteRepo, RepoPath, Snapshot, Wanted};
use crate::proposal::Proposal;

pub mod profile;

const GIT_PREFIX: &str = "git:";
const DIR_PREFIX: &str = "dir:";

/// Repositories in a directory.
pub struct LocalForge {
    root: PathBuf,
    patches: PathBuf,
}

impl LocalForge {
    /// `root` holds the repositories; patch files go to `patches`.
    pub fn new(root: PathBuf, patches: PathBuf) -> LocalForge {
        LocalForge { root, patches }
    }
}

/// Runs file and git work on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ForgeError> + Send + 'static,
) -> Result<T, ForgeError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ForgeError::Io(format!("worker thread failed: {e}")))?
}

#[async_trait]
impl Forge for LocalForge {
    async fn discover(&self) -> Result<Vec<RemoteRepo>, ForgeError> {
        let root = self.root.clone();
        blocking(move || discover(&root)).await
    }

    async fn snapshot(
        &self,
        repos: &[RemoteRepo],
        wanted: &Wanted,
    ) -> Vec<Result<Snapshot, ForgeError>> {
        let repos = repos.to_vec();
        let wanted = wanted.clone();
        let n = repos.len();
        match blocking(move || Ok(repos.iter().map(|r| snapshot(r, &wanted)).collect())).await {
            Ok(all) => all,
            Err(e) => vec![Err(e); n],
        }
    }

    async fn propose(
        &self,
        repo: &RemoteRepo,
        proposal: &Proposal,
    ) -> Result<Proposed, ForgeError> {
        let repo = repo.clone();
        let proposal = proposal.clone();
        let patches = self.patches.clone();
        blocking(move || {
            if let Some(dir) = repo.forge_id.strip_prefix(GIT_PREFIX) {
                propose_commit(Path::new(dir), &repo, &proposal)
            } else {
                write_patch(&patches, &repo, &proposal)
            }
        })
        .await
    }
}

fn discover(root: &Path) -> Result<Vec<RemoteRepo>, ForgeError> {
    let entries = std::fs::read_dir(root).map_err(|e| {
        ForgeError::Io(format!(
            "cannot list repositories in {}: {e}",
            root.display()
        ))
    })?;
    let mut repos = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ForgeError::Io(e.to_string()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !path.is_dir() {
            continue;
        }
        let abs = std::fs::canonicalize(&path).map_err(|e| ForgeError::Io(e.to_string()))?;
        let name = name.strip_suffix(".git").unwrap_or(&name).to_owned();
        let web_url = format!("file://{}", abs.display());
        let repo = match git::default_branch(&abs) {
            Ok(Some(head)) => RemoteRepo {
                full_name: profile::Local.full_name("", &name),
                name,
                default_branch: head.branch,
                head: head.commit.clone(),
                archived: false,
                fork: false,
                empty: head.commit.is_none(),
                forge_id: format!("{GIT_PREFIX}{}", abs.display()),
                web_url,
                private: false,
                description: None,
            },
            Ok(None) => RemoteRepo {
                full_name: profile::Local.full_name("", &name),
                name,
                // What `git init` would name it; templates render it into CI
                // triggers, so it must be a real branch name.
                default_branch: "main".into(),
                head: None,
                archived: false,
                fork: false,
                empty: false,
                forge_id: format!("{DIR_PREFIX}{}", abs.display()),
                web_url,
                private: false,
                description: None,
            },
            Err(e) => return Err(ForgeError::Git(format!("{}: {e}", abs.display()))),
        };
        repos.push(repo);
    }
    repos.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(repos)
}

fn snapshot(repo: &RemoteRepo, wanted: &Wanted) -> Result<Snapshot, ForgeError> {
    if let Some(dir) = repo.forge_id.strip_prefix(GIT_PREFIX) {
        return git::read_paths(Path::new(dir), &repo.default_branch, wanted)
            .map_err(|e| ForgeError::Git(e.to_string()));
    }
    let dir = Path::new(
        repo.forge_id
            .strip_prefix(DIR_PREFIX)
            .unwrap_or(&repo.forge_id),
    );
    let mut snap = Snapshot::default();
    for path in &wanted.paths {
        snap.files.insert(path.clone(), read_plain(dir, path)?);
    }
    for want in &wanted.dirs {
        if let Some(listed) = list_plain(dir, want)? {
            snap.listings.insert(want.clone(), listed);
        }
    }
    Ok(snap)
}

/// The entries of a directory of a plain directory repository, if it is
/// one reached without following a symlink. `.git` is not listed.
fn list_plain(dir: &Path, want: &str) -> Result<Option<Vec<Listed>>, ForgeError> {
    if let Ok(path) = RepoPath::new(want) {
        let through_links = path
            .ancestors()
            .chain([path.clone()])
            .any(|a| std::fs::symlink_metadata(dir.join(a.as_str())).map_or(true, |m| !m.is_dir()));
        if through_links {
            return Ok(None);
        }
    }
    let full = dir.join(want);
    let entries = match std::fs::read_dir(&full) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ForgeError::Io(format!("{}: {e}", full.display()))),
    };
    let mut listed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ForgeError::Io(format!("{}: {e}", full.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == ".git" {
            continue;
        }
        let kind = match entry.file_type() {
            Ok(t) if t.is_symlink() => EntryKind::Symlink,
            Ok(t) if t.is_dir() => EntryKind::Dir,
            Ok(t) if t.is_file() => EntryKind::File,
            _ => EntryKind::Other,
        };
        listed.push(Listed { name, kind });
    }
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Some(listed))
}

/// Reads a path of a plain directory, refusing to follow symlinks anywhere
/// along it.
fn read_plain(dir: &Path, path: &RepoPath) -> Result<Actual, ForgeError> {
    for ancestor in path.ancestors() {
        match std::fs::symlink_metadata(dir.join(ancestor.as_str())) {
            Ok(m) if m.file_type().is_symlink() => {
                return Ok(Actual::ThroughSymlink { link: ancestor })
            }
            Ok(m) if !m.is_dir() => return Ok(Actual::NotAFile),
            Ok(_) => {}
            Err(_) => return Ok(Actual::Missing),
        }
    }
    let full = dir.join(path.as_str());
    match std::fs::symlink_metadata(&full) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Actual::Missing),
        Err(e) => Err(ForgeError::Io(format!("{}: {e}", full.display()))),
        Ok(m) if m.file_type().is_symlink() => Ok(Actual::Symlink {
            target: std::fs::read_link(&full)
                .map(|t| t.display().to_string())
                .unwrap_or_default(),
        }),
        Ok(m) if m.is_dir() => Ok(Actual::NotAFile),
        Ok(_) => std::fs::read(&full)
            .map(|content| Actual::File { content })
            .map_err(|e| ForgeError::Io(format!("{}: {e}", full.display()))),
    }
}

fn propose_commit(
    dir: &Path,
    repo: &RemoteRepo,
    proposal: &Proposal,
) -> Result<Proposed, ForgeError> {
    let request = CommitRequest {
        default_branch: &repo.default_branch,
        expected_base: proposal.base.as_deref(),
        branch: &proposal.branch,
        message: &proposal.commit_message,
        author: &proposal.author,
        changes: &proposal.changes,
    };
    let result = git::commit_on_branch(dir, &request).map_err(|e| match e {
        git::GitError::Moved(m) => ForgeError::Conflict(m),
        other => ForgeError::Git(other.to_string()),
    })?;
    let url = |commit: &str| {
        format!(
            "{} (branch {} at {})",
            repo.web_url,
            proposal.branch,
            &commit[..commit.len().min(12)]
        )
    };
    Ok(match result {
        CommitResult::Created(c) => Proposed::opened(url(&c), None),
        CommitResult::Updated(c) => Proposed::updated(url(&c), None),
        CommitResult::Unchanged(c) => Proposed::unchanged(url(&c), None),
        CommitResult::ForeignCommits { tip, author } => Proposed::hands_off(
            url(&tip),
            None,
            format!(
                "branch {} has commits by {author}; drover leaves it alone",
                proposal.branch
            ),
        ),
    })
}

/// The proposal as `git format-patch` writes a commit: a mail `git am`
/// applies (author, subject, the message's body, then the diff), which
/// `git apply` also accepts. No date: the same proposal is the same file.
fn format_patch(proposal: &Proposal) -> String {
    let (title, rest) = proposal
        .commit_message
        .split_once('\n')
        .unwrap_or((&proposal.commit_message, ""));
    let body = rest.trim_matches('\n');
    let author = &proposal.author;
    let mut mail = format!(
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n\
         From: {} <{}>\n\
         Subject: [PATCH] {}\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=UTF-8\n\
         Content-Transfer-Encoding: 8bit\n\n",
        author.name,
        author.email,
        title.trim()
    );
    if !body.is_empty() {
        mail.push_str(body);
        mail.push('\n');
    }
    mail.push_str("---\n");
    mail.push_str(&proposal.patch);
    if !proposal.patch.ends_with('\n') {
        mail.push('\n');
    }
    mail.push_str(&format!("-- \ndrover {}\n", env!("CARGO_PKG_VERSION")));
    mail
}

fn write_patch(
    patches: &Path,
    repo: &RemoteRepo,
    proposal: &Proposal,
) -> Result<Proposed, ForgeError> {
    let file = patches.join(format!("{}.patch", repo.name.replace('/', "__")));
    let url = file.display().to_string();
    let existing = std::fs::read_to_string(&file).ok();
    let mail = format_patch(proposal);
    if existing.as_deref() == Some(mail.as_str()) {
        return Ok(Proposed::unchanged(url, None));
    }
    std::fs::create_dir_all(patches)
        .map_err(|e| ForgeError::Io(format!("cannot create {}: {e}", patches.display())))?;
    // Write then rename, so a crash never leaves half a patch.
    let tmp = file.with_extension("patch.tmp");
    std::fs::write(&tmp, &mail)
        .and_then(|()| std::fs::rename(&tmp, &file))
        .map_err(|e| ForgeError::Io(format!("cannot write {}: {e}", file.display())))?;
    Ok(match existing {
        None => Proposed::opened(url, None),
        Some(_) => Proposed::updated(url, None),
    })
}
