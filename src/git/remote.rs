//! git over the network for `drover migrate`, with git2 and no working
//! tree: a bare mirror of a repository, pushes of its refs, and the refs a
//! remote advertises. Tokens reach git only through the credential
//! callback, never in a URL. Blocking: callers run these off the async
//! threads.

use std::collections::BTreeMap;
use std::path::Path;

use git2::{Cred, Direction, FetchOptions, FetchPrune, PushOptions, RemoteCallbacks, Repository};

use super::GitError;
use crate::model::{FileChange, GitRemote};

/// Ref name → object id, for branches and tags (annotated tags by the
/// tag object's id, as a remote advertises them).
pub type Refs = BTreeMap<String, String>;

/// Whether a ref is one a migration carries: a branch or a tag.
pub fn carried(name: &str) -> bool {
    (name.starts_with("refs/heads/") || name.starts_with("refs/tags/")) && !name.ends_with("^{}")
}

fn callbacks(remote: &GitRemote) -> RemoteCallbacks<'_> {
    let mut callbacks = RemoteCallbacks::new();
    let mut tries = 0;
    callbacks.credentials(move |url, _user, allowed| {
        use git2::CredentialType as Kind;
        // The secret only for the host it belongs to (a redirect elsewhere
        // gets nothing), and only the way it is meant to be used.
        let way = match remote.ssh_key {
            Some(_) => Kind::SSH_KEY | Kind::SSH_MEMORY,
            None => Kind::USER_PASS_PLAINTEXT,
        };
        if origin(url) != origin(&remote.url) || !allowed.intersects(way) {
            return Err(git2::Error::from_str(&format!(
                "{} asks for credentials drover does not give it",
                origin(url)
            )));
        }
        // git2 asks again after a refusal; a second ask means the token
        // was refused, and asking forever would hang.
        tries += 1;
        if tries > 1 {
            return Err(git2::Error::from_str(
                "the forge refused drover's credentials for git (check forge.token's scopes, or forge.ssh_key)",
            ));
        }
        match &remote.ssh_key {
            Some(key) => Cred::ssh_key_from_memory(&remote.user, None, key.expose(), None),
            None => Cred::userpass_plaintext(&remote.user, remote.token.expose()),
        }
    });
    callbacks
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    let end = url[after..].find('/').map_or(url.len(), |i| after + i);
    &url[..end]
}

/// What `remote` advertises: its branches and tags, and the branch its
/// HEAD names (`None` while HEAD names a branch that does not exist).
pub fn ls_remote(remote: &GitRemote) -> Result<(Refs, Option<String>), GitError> {
    let mut handle = git2::Remote::create_detached(remote.url.as_str())?;
    let connection = handle.connect_auth(Direction::Fetch, Some(callbacks(remote)), None)?;
    let refs = connection
        .list()?
        .iter()
        .filter(|h| carried(h.name()))
        .map(|h| (h.name().to_owned(), h.oid().to_string()))
        .collect();
    let head = connection
        .default_branch()
        .ok()
        .and_then(|b| b.as_str().map(str::to_owned));
    Ok((refs, head))
}

/// Brings the bare mirror at `dir` (created if missing) level with
/// `remote`: every branch and tag, refs gone upstream pruned. Returns the
/// mirror's refs.
pub fn fetch_mirror(dir: &Path, remote: &GitRemote) -> Result<Refs, GitError> {
    clear_stale_locks(dir);
    let repo = match Repository::open_bare(dir) {
        Ok(r) => r,
        Err(_) => {
            std::fs::create_dir_all(dir).map_err(|e| GitError::Io(e.to_string()))?;
            Repository::init_bare(dir)?
        }
    };
    let mut handle = repo.remote_anonymous(&remote.url)?;
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(callbacks(remote))
        .prune(FetchPrune::On)
        .download_tags(git2::AutotagOption::None);
    handle.fetch(
        &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
        Some(&mut options),
        None,
    )?;
    local_refs(&repo)
}

/// Removes the `*.lock` files a killed git left in the mirror (a ref being
/// written, `packed-refs`, `config`). Safe: the mirror is drover's alone —
/// the state store's lock keeps a second drover process out of the state
/// directory, and one task works on a mirror at a time.
fn clear_stale_locks(dir: &Path) {
    fn walk(dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() && entry.file_name() != "objects" => walk(&path),
                Ok(t) if t.is_file() && path.extension().is_some_and(|e| e == "lock") => {
                    tracing::debug!(path = %path.display(), "removing a stale lock");
                    let _ = std::fs::remove_file(&path);
                }
                _ => {}
            }
        }
    }
    walk(dir);
}

/// The branches and tags of a local repository.
pub fn local_refs(repo: &Repository) -> Result<Refs, GitError> {
    let mut refs = Refs::new();
    for r in repo.references()? {
        let r = r?;
        let (Some(name), Some(target)) = (r.name(), r.target()) else {
            continue;
        };
        if carried(name) {
            refs.insert(name.to_owned(), target.to_string());
        }
    }
    Ok(refs)
}

/// Pushes `refspecs` from the repository at `dir` to `remote`; a ref the
/// remote rejects is an error naming it.
pub fn push(dir: &Path, remote: &GitRemote, refspecs: &[String]) -> Result<(), GitError> {
    if refspecs.is_empty() {
        return Ok(());
    }
    let repo = Repository::open_bare(dir)?;
    let mut handle = repo.remote_anonymous(&remote.url)?;
    let rejected = std::cell::RefCell::new(Vec::new());
    let mut callbacks = callbacks(remote);
    callbacks.push_update_reference(|name, status| {
        if let Some(why) = status {
            rejected.borrow_mut().push(format!("{name}: {why}"));
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    handle.push(refspecs, Some(&mut options))?;
    drop(options);
    let rejected = rejected.into_inner();
    if !rejected.is_empty() {
        return Err(GitError::Rejected(rejected.join("; ")));
    }
    Ok(())
}

/// The refs among `refs` whose objects the mirror at `dir` does not hold.
pub fn missing_objects(dir: &Path, refs: &Refs) -> Result<Vec<String>, GitError> {
    let repo = Repository::open_bare(dir)?;
    Ok(refs
        .iter()
        .filter(|(_, oid)| !has_object(&repo, oid))
        .map(|(name, _)| name.clone())
        .collect())
}

/// Whether `tip` is a commit an earlier, interrupted run made: the one
/// `keep_ref` holds in the mirror, or a descendant of `head` other than it.
pub fn earlier_commit(dir: &Path, keep_ref: &str, tip: &str, head: &str) -> Result<bool, GitError> {
    let repo = Repository::open_bare(dir)?;
    let kept = repo
        .find_reference(keep_ref)
        .ok()
        .and_then(|r| r.target())
        .is_some_and(|o| o.to_string() == tip);
    Ok(kept || (tip != head && descends_from(&repo, tip, head)))
}

/// Whether the mirror holds object `oid`.
fn has_object(repo: &Repository, oid: &str) -> bool {
    git2::Oid::from_str(oid).is_ok_and(|o| repo.odb().is_ok_and(|db| db.exists(o)))
}

/// Whether `descendant` is `ancestor` or has it in its history.
fn descends_from(repo: &Repository, descendant: &str, ancestor: &str) -> bool {
    let (Ok(d), Ok(a)) = (
        git2::Oid::from_str(descendant),
        git2::Oid::from_str(ancestor),
    ) else {
        return false;
    };
    d == a || repo.graph_descendant_of(d, a).unwrap_or(false)
}

/// How much history the mirror at `dir` holds: commits reachable from its
/// refs, and the bytes of its objects on disk.
pub fn history(dir: &Path) -> Result<(usize, u64), GitError> {
    let repo = Repository::open_bare(dir)?;
    let repo = &repo;
    let mut walk = repo.revwalk()?;
    for (_, oid) in local_refs(repo)? {
        let oid = git2::Oid::from_str(&oid)?;
        let commit = repo.find_object(oid, None)?.peel_to_commit();
        if let Ok(c) = commit {
            walk.push(c.id())?;
        }
    }
    let commits = walk.count();
    let bytes = dir_size(&repo.path().join("objects"));
    Ok((commits, bytes))
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

/// One commit on `parent` applying `changes`, written to the mirror at
/// `dir` and kept alive by `keep_ref` (outside refs/heads and refs/tags,
/// so never pushed as itself). Returns its id.
pub fn commit_on(
    dir: &Path,
    parent: &str,
    changes: &[FileChange],
    message: &str,
    author: &crate::config::Author,
    keep_ref: &str,
) -> Result<String, GitError> {
    let repo = Repository::open_bare(dir)?;
    let parent = repo.find_commit(git2::Oid::from_str(parent)?)?;
    let tree_id = super::apply_changes(&repo, &parent.tree()?, changes)?;
    let tree = repo.find_tree(tree_id)?;
    let sig = git2::Signature::now(&author.name, &author.email)?;
    let commit = repo.commit(None, &sig, &sig, message, &tree, &[&parent])?;
    repo.reference(keep_ref, commit, true, "drover migrate: re-rendered files")?;
    Ok(commit.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_only_to_its_own_origin() {
        assert_eq!(
            origin("https://github.com/acme/app.git"),
            "https://github.com"
        );
        assert_eq!(
            origin("http://127.0.0.1:9000/~a/b"),
            "http://127.0.0.1:9000"
        );
        assert_ne!(
            origin("https://github.com.evil.example/acme/app.git"),
            origin("https://github.com/acme/app.git")
        );
        assert_eq!(origin("https://host"), "https://host");
        assert_eq!(
            origin("ssh://git@git.sr.ht/~acme/app"),
            "ssh://git@git.sr.ht"
        );
    }

    #[test]
    fn over_ssh_the_same_path_is_reached_with_the_key() {
        let token = crate::model::Secret::new("tok");
        let https = |url: &str| GitRemote {
            url: url.into(),
            user: "x".into(),
            token: token.clone(),
            ssh_key: None,
        };
        let key = crate::model::Secret::new("-----BEGIN OPENSSH PRIVATE KEY-----");
        for (from, to) in [
            (
                "https://git.sr.ht/~acme/app",
                "ssh://git@git.sr.ht/~acme/app",
            ),
            (
                "https://github.com/acme/app.git",
                "ssh://git@github.com/acme/app.git",
            ),
            (
                "https://gitlab.example.com/acme/sub/app.git",
                "ssh://git@gitlab.example.com/acme/sub/app.git",
            ),
            (
                "https://gitlab.example.com:8443/acme/app.git",
                "ssh://git@gitlab.example.com/acme/app.git",
            ),
        ] {
            let ssh = https(from).over_ssh(key.clone());
            assert_eq!(ssh.url, to);
            assert_eq!(ssh.user, "git");
            assert!(!format!("{ssh:?}").contains("PRIVATE KEY"));
        }
    }

    #[test]
    fn a_killed_fetch_leaves_no_lock_behind_for_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        drop(repo);
        let lock = dir.path().join("refs/heads/main.lock");
        std::fs::write(&lock, "").unwrap();
        std::fs::write(dir.path().join("packed-refs.lock"), "").unwrap();
        clear_stale_locks(dir.path());
        assert!(!lock.exists());
        assert!(!dir.path().join("packed-refs.lock").exists());
        assert!(dir.path().join("HEAD").exists(), "nothing else goes");
    }

    #[test]
    fn only_branches_and_tags_are_carried() {
        assert!(carried("refs/heads/main"));
        assert!(carried("refs/tags/v1.0"));
        assert!(!carried("refs/tags/v1.0^{}"));
        assert!(!carried("refs/pull/1/head"));
        assert!(!carried("refs/merge-requests/1/head"));
        assert!(!carried("HEAD"));
    }
}
