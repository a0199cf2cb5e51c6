//! REST contents API: `GET` a file (base64 in 60-column lines; `encoding:
//! none` above 1 MiB; the raw media type answers the bytes), a directory (a
//! list), a symlink (the target file's content when it is a file in the
//! repository, else the symlink itself) or a submodule; `PUT` to create or
//! update a file (201 / 200, `sha` required to update) and `DELETE`, each an
//! API-side commit on the branch (the default branch if none is given).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::gitstore::{self, EntryKind, FileChange, Person, TreeEntry};
use crate::server::AppState;
use crate::world::Repository;

use super::http::{encode_path, json_response, ok, Base, Gh, Params};
use super::rest_git::{decode_base64, wrapped_base64};
use super::shapes::{git_commit_json, noreply};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/repos/{owner}/{repo}/contents", get(get_contents))
        .route("/repos/{owner}/{repo}/contents/", get(get_contents))
        .route(
            "/repos/{owner}/{repo}/contents/{*path}",
            get(get_contents).put(put_file).delete(delete_file),
        )
}

/// GitHub serves file content inline up to 1 MiB.
const INLINE_LIMIT: usize = 1024 * 1024;

struct Urls<'a> {
    repo: &'a Repository,
    base: &'a Base,
    rev: &'a str,
}

impl Urls<'_> {
    /// `url`, `git_url`, `html_url`, `download_url` and `_links` of an entry.
    fn entry(&self, path: &str, kind: &str, sha: &str) -> Value {
        let api = self.base.repo_api(&self.repo.full_path);
        let web = self.base.repo_web(&self.repo.full_path);
        let p = encode_path(path, true);
        let rev = encode_path(self.rev, true);
        let url = format!("{api}/contents/{p}?ref={rev}");
        let (git_url, html_url, download) = match kind {
            "dir" => (
                Some(format!("{api}/git/trees/{sha}")),
                Some(format!("{web}/tree/{rev}/{p}")),
                None,
            ),
            "submodule" => (Some(format!("{api}/git/trees/{sha}")), None, None),
            _ => (
                Some(format!("{api}/git/blobs/{sha}")),
                Some(format!("{web}/blob/{rev}/{p}")),
                Some(format!("{web}/raw/{rev}/{p}")),
            ),
        };
        json!({
            "url": url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": download,
            "_links": { "self": url, "git": git_url, "html": html_url },
        })
    }
}

fn kind_of(e: &TreeEntry) -> &'static str {
    match (e.kind, e.mode) {
        (EntryKind::Tree, _) => "dir",
        (EntryKind::Commit, _) => "submodule",
        (_, 0o120000) => "symlink",
        _ => "file",
    }
}

fn entry_json(e: &TreeEntry, urls: &Urls<'_>) -> Value {
    let kind = kind_of(e);
    let mut v = json!({
        "type": kind,
        "size": e.size.unwrap_or(0),
        "name": e.name,
        "path": e.path,
        "sha": e.oid,
    });
    super::shapes::merge(&mut v, urls.entry(&e.path, kind, &e.oid));
    v
}

/// The tree entry at `path` in `rev` (its parent directory listed).
fn find_entry(git: &std::path::Path, rev: &str, path: &str) -> Option<TreeEntry> {
    let (dir, _) = path.rsplit_once('/').unwrap_or(("", path));
    gitstore::list_tree(git, rev, dir, false)
        .ok()
        .flatten()?
        .into_iter()
        .find(|e| e.path == path)
}

/// Resolves a symlink target relative to the link's directory.
fn resolve_link(link_path: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = match link_path.rsplit_once('/') {
        Some((dir, _)) if !target.starts_with('/') => dir.split('/').collect(),
        _ => Vec::new(),
    };
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

fn file_json(e: &TreeEntry, content: &[u8], urls: &Urls<'_>) -> Value {
    let mut v = entry_json(e, urls);
    v["type"] = json!("file");
    if content.len() > INLINE_LIMIT {
        v["content"] = json!("");
        v["encoding"] = json!("none");
    } else {
        v["content"] = json!(wrapped_base64(content));
        v["encoding"] = json!("base64");
    }
    v
}

async fn get_contents(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let repo = match gh.repo(&world, &p) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let git = &repo.git_dir;
    let rev = gh
        .q("ref")
        .map(str::to_string)
        .unwrap_or_else(|| repo.default_branch.clone());
    if gitstore::resolve(git, &rev).ok().flatten().is_none() {
        if super::gitops::is_empty(git) {
            return gh.error(StatusCode::NOT_FOUND, "This repository is empty.");
        }
        return gh.error(
            StatusCode::NOT_FOUND,
            &format!("No commit found for the ref {rev}"),
        );
    }
    let urls = Urls {
        repo,
        base: &gh.base,
        rev: &rev,
    };
    let path = p.get("path").map_or("", |s| s.trim_matches('/'));
    let raw = gh
        .headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|a| a.contains(".raw"))
        .map(str::to_string);
    if path.is_empty() {
        let entries = gitstore::list_tree(git, &rev, "", false)
            .ok()
            .flatten()
            .unwrap_or_default();
        return ok(Value::Array(
            entries.iter().map(|e| entry_json(e, &urls)).collect(),
        ));
    }
    let Some(entry) = find_entry(git, &rev, path) else {
        return gh.not_found();
    };
    match kind_of(&entry) {
        "dir" => {
            let entries = gitstore::list_tree(git, &rev, path, false)
                .ok()
                .flatten()
                .unwrap_or_default();
            ok(Value::Array(
                entries.iter().map(|e| entry_json(e, &urls)).collect(),
            ))
        }
        "submodule" => {
            let mut v = entry_json(&entry, &urls);
            v["submodule_git_url"] = json!(format!("{}.git", gh.base.repo_web(&repo.full_path)));
            ok(v)
        }
        kind => {
            let content = gitstore::read_blob(git, &entry.oid)
                .ok()
                .flatten()
                .unwrap_or_default();
            if kind == "symlink" {
                let target = String::from_utf8_lossy(&content).into_owned();
                let followed = resolve_link(path, &target).and_then(|t| {
                    let e = find_entry(git, &rev, &t).filter(|e| kind_of(e) == "file")?;
                    let c = gitstore::read_blob(git, &e.oid).ok().flatten()?;
                    Some((e, c))
                });
                if let Some((e, c)) = followed {
                    return file_or_raw(&e, &c, &urls, raw.as_deref());
                }
                let mut v = entry_json(&entry, &urls);
                v["target"] = json!(target);
                return ok(v);
            }
            file_or_raw(&entry, &content, &urls, raw.as_deref())
        }
    }
}

fn file_or_raw(e: &TreeEntry, content: &[u8], urls: &Urls<'_>, raw: Option<&str>) -> Response {
    match raw {
        Some(media) => {
            let mut response = (StatusCode::OK, content.to_vec()).into_response();
            let headers = response.headers_mut();
            let media = media.split(';').next().unwrap_or(media).trim();
            if let Ok(v) = HeaderValue::from_str(&format!("{media}; charset=utf-8")) {
                headers.insert(header::CONTENT_TYPE, v);
            }
            headers.insert(
                "x-github-media-type",
                HeaderValue::from_static("github.v3; param=raw"),
            );
            response
        }
        None => ok(file_json(e, content, urls)),
    }
}

#[derive(Deserialize)]
struct Who {
    name: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
struct PutFile {
    message: String,
    content: String,
    sha: Option<String>,
    branch: Option<String>,
    committer: Option<Who>,
    author: Option<Who>,
}

#[derive(Deserialize)]
struct DeleteFile {
    message: String,
    sha: String,
    branch: Option<String>,
    committer: Option<Who>,
    author: Option<Who>,
}

fn person(who: Option<&Who>, fallback: &Person) -> Person {
    match who {
        Some(w) => Person {
            name: w.name.clone().unwrap_or_else(|| fallback.name.clone()),
            email: w.email.clone().unwrap_or_else(|| fallback.email.clone()),
            time: fallback.time,
        },
        None => fallback.clone(),
    }
}

/// One contents-API commit: checks, commits, answers `file-commit`.
struct Change<'a> {
    path: &'a str,
    message: &'a str,
    sha: Option<&'a str>,
    branch: Option<&'a str>,
    author: Option<&'a Who>,
    committer: Option<&'a Who>,
    /// New content, or `None` to delete.
    content: Option<Vec<u8>>,
}

fn commit_change(gh: &Gh, p: &Params, c: Change<'_>) -> Response {
    let mut world = gh.st.world.lock();
    let repo = match gh.repo(&world, p) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let user = match gh.writable(repo) {
        Ok(u) => u,
        Err(e) => return e,
    };
    let (id, git, full) = (repo.id, repo.git_dir.clone(), repo.full_path.clone());
    let branch = c.branch.unwrap_or(&repo.default_branch).to_string();
    let empty = super::gitops::is_empty(&git);
    let head = gitstore::resolve(&git, &format!("refs/heads/{branch}"))
        .ok()
        .flatten();
    if head.is_none() && !(empty && c.branch.is_none_or(|b| b == repo.default_branch)) {
        return gh.error(StatusCode::NOT_FOUND, &format!("Branch {branch} not found"));
    }
    let existing = head.as_deref().and_then(|h| find_entry(&git, h, c.path));
    match (&existing, c.sha, &c.content) {
        (Some(e), None, Some(_)) if e.kind == EntryKind::Blob => {
            return gh.unprocessable("Invalid request.\n\n\"sha\" wasn't supplied.")
        }
        (Some(e), Some(sha), _) if e.oid != sha => {
            return gh.error(
                StatusCode::CONFLICT,
                &format!("{} does not match {sha}", c.path),
            )
        }
        (None, _, None) => return gh.not_found(),
        _ => {}
    }
    let now = world.now();
    let mut me = noreply(&world, &user);
    me.time = Some(now);
    let author = person(c.author.or(c.committer), &me);
    let committer = person(c.committer, &me);
    let change = match &c.content {
        Some(bytes) => FileChange::write(c.path, bytes.clone()),
        None => FileChange::delete(c.path),
    };
    let commit = match gitstore::commit_files(&git, &branch, &[change], c.message, &author)
        .and_then(|oid| {
            // commit_files signs with the author; GitHub records the committer.
            if committer == author {
                return Ok(oid);
            }
            let info = gitstore::commit_info(&git, &oid)?.expect("just written");
            let fixed = super::gitops::commit(
                &git,
                &info.tree,
                &info.parents.iter().map(String::as_str).collect::<Vec<_>>(),
                c.message,
                &author,
                &committer,
            )?;
            gitstore::set_ref(&git, &format!("refs/heads/{branch}"), &fixed, Some(&oid))?;
            Ok(fixed)
        }) {
        Ok(oid) => oid,
        Err(e) => return gh.error(StatusCode::CONFLICT, &e.to_string()),
    };
    if let Some(r) = world.repos.get_mut(&id) {
        r.pushed_at = Some(now);
        r.updated_at = now;
    }
    super::pulls::sync(&mut world, id);
    let repo = &world.repos[&id];
    let info = gitstore::commit_info(&git, &commit).ok().flatten();
    let commit_v = info.map_or(Value::Null, |i| git_commit_json(&i, &full, &gh.base, id));
    let urls = Urls {
        repo,
        base: &gh.base,
        rev: &branch,
    };
    let content_v = match &c.content {
        Some(bytes) => match find_entry(&git, &commit, c.path) {
            Some(e) => {
                let mut v = entry_json(&e, &urls);
                v["size"] = json!(bytes.len());
                v
            }
            None => Value::Null,
        },
        None => Value::Null,
    };
    let status = if existing.is_none() && c.content.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json_response(status, json!({ "content": content_v, "commit": commit_v }))
}

async fn put_file(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: PutFile = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(content) = decode_base64(&req.content) else {
        return gh.invalid_request("content is not valid Base64");
    };
    let path = p
        .get("path")
        .map_or("", |s| s.trim_matches('/'))
        .to_string();
    commit_change(
        &gh,
        &p,
        Change {
            path: &path,
            message: &req.message,
            sha: req.sha.as_deref(),
            branch: req.branch.as_deref(),
            author: req.author.as_ref(),
            committer: req.committer.as_ref(),
            content: Some(content),
        },
    )
}

async fn delete_file(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: DeleteFile = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let path = p
        .get("path")
        .map_or("", |s| s.trim_matches('/'))
        .to_string();
    commit_change(
        &gh,
        &p,
        Change {
            path: &path,
            message: &req.message,
            sha: Some(&req.sha),
            branch: req.branch.as_deref(),
            author: req.author.as_ref(),
            committer: req.committer.as_ref(),
            content: None,
        },
    )
}
