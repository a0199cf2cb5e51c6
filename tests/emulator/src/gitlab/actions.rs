//! The commit engine behind `POST /projects/{id}/repository/commits` and
//! the files API, following `commit-create.from-docs.json` and GitLab's
//! `Commits::CreateService` / `Files::MultiService` rules:
//!
//! - `start_branch` defaults to `branch` unless `start_sha` is given; on a
//!   non-empty repository it must exist ("You can only create or edit files
//!   when you are on a branch");
//! - committing into an existing `branch` from a different start needs
//!   `force: true` ("A branch called '…' already exists. Switch to that
//!   branch in order to make changes"); with `force` the branch is reset to
//!   the new commit on top of the start;
//! - actions apply in order: `create` (the path must not exist), `update`,
//!   `delete`, `chmod` (it must), `move` (`previous_path` must exist, the
//!   destination must not; without `content` the content is kept);
//! - `last_commit_id` on update/move/delete must be the last commit that
//!   touched the file on the start branch, else 400 "The file has changed
//!   since you started editing it: PATH";
//! - `encoding` is `text` (default) or `base64`; updates keep the mode
//!   (a symlink stays a symlink), `chmod` sets or clears the execute bit.
//!
//! The result is a real commit written with git2 and the branch moved.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use git2::{IndexEntry, IndexTime, Oid};
use serde_json::Value;

use super::git;
use super::repository::valid_branch_name;
use super::{api_error, bad_param, internal};
use crate::world::World;

/// One action of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Create,
    Update,
    Delete,
    Move,
    Chmod,
}

/// An action as the request described it.
#[derive(Clone, Debug)]
pub struct Action {
    pub kind: Kind,
    pub file_path: String,
    pub previous_path: Option<String>,
    /// Decoded content, when given.
    pub content: Option<Vec<u8>>,
    pub last_commit_id: Option<String>,
    pub execute_filemode: Option<bool>,
}

/// A whole commit request.
#[derive(Clone, Debug, Default)]
pub struct CommitRequest {
    pub branch: String,
    pub commit_message: String,
    pub start_branch: Option<String>,
    pub start_sha: Option<String>,
    pub actions: Vec<Action>,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub force: bool,
    /// The files API words the `last_commit_id` conflict differently.
    pub files_api: bool,
}

fn field_error(i: usize, field: &str, what: &str) -> Response {
    bad_param(format!("actions[{i}][{field}] {what}"))
}

/// Parses the `actions` array of a commit body (Grape's validations).
pub fn parse_actions(value: Option<&Value>) -> Result<Vec<Action>, Response> {
    let Some(value) = value else {
        return Err(bad_param("actions is missing"));
    };
    let Value::Array(items) = value else {
        return Err(bad_param("actions is invalid"));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(o) = item else {
            return Err(bad_param("actions is invalid"));
        };
        let text = |k: &str| -> Result<Option<String>, Response> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(field_error(i, k, "is invalid")),
            }
        };
        let kind = match text("action")?.as_deref() {
            None => return Err(field_error(i, "action", "is missing")),
            Some("create") => Kind::Create,
            Some("update") => Kind::Update,
            Some("delete") => Kind::Delete,
            Some("move") => Kind::Move,
            Some("chmod") => Kind::Chmod,
            Some(_) => return Err(field_error(i, "action", "does not have a valid value")),
        };
        let file_path =
            text("file_path")?.ok_or_else(|| field_error(i, "file_path", "is missing"))?;
        let previous_path = text("previous_path")?;
        if kind == Kind::Move && previous_path.is_none() {
            return Err(field_error(i, "previous_path", "is missing"));
        }
        let encoding = text("encoding")?.unwrap_or_else(|| "text".into());
        let content = match (text("content")?, encoding.as_str()) {
            (None, "text" | "base64") => None,
            (Some(c), "text") => Some(c.into_bytes()),
            (Some(c), "base64") => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(c.trim())
                    .map_err(|_| field_error(i, "content", "is invalid"))?,
            ),
            _ => return Err(field_error(i, "encoding", "does not have a valid value")),
        };
        let execute_filemode = match o.get("execute_filemode") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if s == "true" || s == "false" => Some(s == "true"),
            Some(_) => return Err(field_error(i, "execute_filemode", "is invalid")),
        };
        if kind == Kind::Chmod && execute_filemode.is_none() {
            return Err(field_error(i, "execute_filemode", "is missing"));
        }
        out.push(Action {
            kind,
            file_path: file_path.trim_matches('/').to_string(),
            previous_path: previous_path.map(|p| p.trim_matches('/').to_string()),
            content,
            last_commit_id: text("last_commit_id")?,
            execute_filemode,
        });
    }
    Ok(out)
}

fn error(message: impl Into<String>) -> Response {
    api_error(StatusCode::BAD_REQUEST, message.into())
}

/// The files of a tree, flattened: path → (blob id, mode).
type Files = BTreeMap<String, (Oid, u32)>;

fn flatten(repo: &git2::Repository, commit: Option<Oid>) -> Result<Files, git2::Error> {
    let mut files = Files::new();
    let Some(c) = commit else {
        return Ok(files);
    };
    let tree = repo.find_commit(c)?.tree()?;
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
        if e.kind() != Some(git2::ObjectType::Tree) {
            let name = e.name().unwrap_or_default();
            files.insert(format!("{dir}{name}"), (e.id(), e.filemode() as u32));
        }
        git2::TreeWalkResult::Ok
    })?;
    Ok(files)
}

/// Whether `path` collides with a directory or has a file as an ancestor.
fn collides(files: &Files, path: &str) -> Option<&'static str> {
    let dir = format!("{path}/");
    if files
        .range(dir.clone()..)
        .next()
        .is_some_and(|(k, _)| k.starts_with(&dir))
    {
        return Some("A directory with this name already exists");
    }
    let mut prefix = String::new();
    for part in path
        .split('/')
        .take(path.split('/').count().saturating_sub(1))
    {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        if files.contains_key(&prefix) {
            return Some("A file with this name already exists");
        }
    }
    None
}

/// Applies `req` to project `pid` as `user`: writes a real commit, moves
/// the branch, and returns the commit id.
pub fn commit(
    world: &mut World,
    pid: u64,
    user: &str,
    req: &CommitRequest,
) -> Result<Oid, Response> {
    let now = world.now();
    let (git_dir, default_branch) = {
        let r = &world.repos[&pid];
        (r.git_dir.clone(), r.default_branch.clone())
    };
    let repo = git::open(&git_dir).map_err(internal)?;
    let empty = git::branches(&repo).is_empty();
    if req.start_branch.is_some() && req.start_sha.is_some() {
        return Err(bad_param("start_branch, start_sha are mutually exclusive"));
    }
    let start_branch = match (&req.start_branch, &req.start_sha) {
        (Some(b), _) => Some(b.clone()),
        (None, None) => Some(req.branch.clone()),
        (None, Some(_)) => None,
    };
    if let Some(sb) = &start_branch {
        if !empty && git::branch_head(&repo, sb).is_none() {
            return Err(error(
                "You can only create or edit files when you are on a branch",
            ));
        }
    }
    let existing = git::branch_head(&repo, &req.branch);
    let different = start_branch.as_deref() != Some(req.branch.as_str());
    if !empty && different && existing.is_some() && !req.force {
        return Err(error(format!(
            "A branch called '{}' already exists. Switch to that branch in order to make changes",
            req.branch
        )));
    }
    if !valid_branch_name(&req.branch) {
        return Err(error("Branch name is invalid"));
    }
    let start = match (&req.start_sha, &start_branch) {
        (Some(sha), _) => {
            let oid = Oid::from_str(sha)
                .ok()
                .filter(|_| sha.len() == 40)
                .and_then(|o| repo.find_commit(o).ok())
                .map(|c| c.id());
            Some(oid.ok_or_else(|| error(format!("Invalid start SHA: {sha}")))?)
        }
        (None, Some(b)) => git::branch_head(&repo, b),
        (None, None) => None,
    };
    let mut files = flatten(&repo, start).map_err(internal)?;
    for a in &req.actions {
        let changed = |path: &str| -> Result<(), Response> {
            let (Some(expected), Some(s)) = (&a.last_commit_id, start) else {
                return Ok(());
            };
            let last = git::last_commit_for_path(&repo, s, path).map(|o| o.to_string());
            if last.as_deref().is_some_and(|l| l != expected) {
                return Err(error(if req.files_api {
                    "You are attempting to update a file that has changed since you started editing it.".to_string()
                } else {
                    format!("The file has changed since you started editing it: {path}")
                }));
            }
            Ok(())
        };
        let path = a.file_path.clone();
        match a.kind {
            Kind::Create => {
                if files.contains_key(&path) {
                    return Err(error("A file with this name already exists"));
                }
                if let Some(m) = collides(&files, &path) {
                    return Err(error(m));
                }
                let blob = repo
                    .blob(a.content.as_deref().unwrap_or_default())
                    .map_err(internal)?;
                // `execute_filemode` is only considered for `chmod`.
                files.insert(path, (blob, 0o100644));
            }
            Kind::Update => {
                let Some((_, mode)) = files.get(&path).copied() else {
                    return Err(error("A file with this name doesn't exist"));
                };
                changed(&path)?;
                let blob = repo
                    .blob(a.content.as_deref().unwrap_or_default())
                    .map_err(internal)?;
                files.insert(path, (blob, mode));
            }
            Kind::Delete => {
                if !files.contains_key(&path) {
                    return Err(error("A file with this name doesn't exist"));
                }
                changed(&path)?;
                files.remove(&path);
            }
            Kind::Move => {
                let previous = a.previous_path.clone().unwrap_or_default();
                let Some((old_blob, mode)) = files.get(&previous).copied() else {
                    return Err(error("A file with this name doesn't exist"));
                };
                changed(&previous)?;
                files.remove(&previous);
                if files.contains_key(&path) {
                    return Err(error("A file with this name already exists"));
                }
                if let Some(m) = collides(&files, &path) {
                    return Err(error(m));
                }
                let blob = match &a.content {
                    Some(c) => repo.blob(c).map_err(internal)?,
                    None => old_blob,
                };
                files.insert(path, (blob, mode));
            }
            Kind::Chmod => {
                let Some((blob, mode)) = files.get(&path).copied() else {
                    return Err(error("A file with this name doesn't exist"));
                };
                let mode = match (mode, a.execute_filemode) {
                    (0o100644 | 0o100755, Some(true)) => 0o100755,
                    (0o100644 | 0o100755, Some(false)) => 0o100644,
                    (m, _) => m,
                };
                files.insert(path, (blob, mode));
            }
        }
    }
    let mut index = git2::Index::new().map_err(internal)?;
    for (path, (oid, mode)) in &files {
        let entry = IndexEntry {
            ctime: IndexTime::new(0, 0),
            mtime: IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: *mode,
            uid: 0,
            gid: 0,
            file_size: 0,
            id: *oid,
            flags: (path.len().min(0xfff)) as u16,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        };
        index.add(&entry).map_err(internal)?;
    }
    let tree_id = index.write_tree_to(&repo).map_err(internal)?;
    let tree = repo.find_tree(tree_id).map_err(internal)?;
    let email = format!("{user}@example.com");
    let author = git::signature(
        req.author_name.as_deref().unwrap_or(user),
        req.author_email.as_deref().unwrap_or(&email),
        now,
    )
    .map_err(internal)?;
    let committer = git::signature(user, &email, now).map_err(internal)?;
    let parents: Vec<git2::Commit<'_>> = start
        .map(|s| repo.find_commit(s))
        .transpose()
        .map_err(internal)?
        .into_iter()
        .collect();
    let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    let oid = repo
        .commit(
            None,
            &author,
            &committer,
            &req.commit_message,
            &tree,
            &parent_refs,
        )
        .map_err(internal)?;
    let refname = format!("refs/heads/{}", req.branch);
    let moved = match (existing, different || req.force) {
        (Some(old), false) => repo
            .reference_matching(&refname, oid, true, old, "gitlab: commit")
            .map(|_| ()),
        _ => repo
            .reference(&refname, oid, true, "gitlab: commit")
            .map(|_| ()),
    };
    moved.map_err(|e| error(format!("Could not update {}: {}", req.branch, e.message())))?;
    let r = world.repos.get_mut(&pid).expect("project exists");
    if empty && req.branch != default_branch {
        let _ = repo.set_head(&refname);
        r.default_branch = req.branch.clone();
    }
    r.updated_at = now;
    r.pushed_at = Some(now);
    Ok(oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_validation_names_the_field() {
        let bad = serde_json::json!([{ "action": "rename", "file_path": "a" }]);
        assert!(parse_actions(Some(&bad)).is_err());
        let ok = serde_json::json!([
            { "action": "create", "file_path": "/a", "content": "aGk=", "encoding": "base64" },
            { "action": "chmod", "file_path": "a", "execute_filemode": true }
        ]);
        let parsed = parse_actions(Some(&ok)).unwrap();
        assert_eq!(parsed[0].file_path, "a");
        assert_eq!(parsed[0].content.as_deref(), Some(&b"hi"[..]));
        assert_eq!(parsed[1].kind, Kind::Chmod);
    }

    #[test]
    fn directory_collisions() {
        let mut files = Files::new();
        files.insert("a/b".into(), (Oid::zero(), 0o100644));
        assert!(collides(&files, "a").is_some());
        assert!(collides(&files, "a/b/c").is_some());
        assert!(collides(&files, "a/c").is_none());
    }
}
