//! REST git data API: blobs (utf-8 and base64), trees (`base_tree`,
//! entries with `content` or `sha`, `sha: null` deleting, `?recursive`),
//! commits (author / committer / dates); refs are in `rest_refs`. As on
//! GitHub, the git data API refuses an empty repository (409 `Git
//! Repository is empty.`).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::gitstore::{self, EntryKind, Person, TreeWrite};
use crate::server::AppState;
use crate::world::Repository;

use super::gitops;
use super::http::{created, node_id, ok, Base, Gh, Params};
use super::shapes::{git_commit_json, noreply};

pub fn routes() -> Router<AppState> {
    let r = "/repos/{owner}/{repo}";
    Router::new()
        .route(&format!("{r}/git/blobs"), post(create_blob))
        .route(&format!("{r}/git/blobs/{{file_sha}}"), get(get_blob))
        .route(&format!("{r}/git/trees"), post(create_tree))
        .route(&format!("{r}/git/trees/{{tree_sha}}"), get(get_tree))
        .route(&format!("{r}/git/commits"), post(create_commit))
        .route(&format!("{r}/git/commits/{{commit_sha}}"), get(get_commit))
}

/// Base64 as GitHub writes blob and file content: lines of 60 characters,
/// each ending with `\n`.
pub fn wrapped_base64(bytes: &[u8]) -> String {
    let flat = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(flat.len() + flat.len() / 60 + 1);
    for chunk in flat.as_bytes().chunks(60) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Decodes base64 the way GitHub accepts it (line breaks allowed).
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let clean: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// The repository for a git data write: visible, writable, not empty.
pub fn git_target<'w>(
    gh: &Gh,
    world: &'w crate::world::World,
    p: &Params,
) -> Result<(&'w Repository, String), Response> {
    let repo = gh.repo(world, p)?;
    let user = gh.writable(repo)?;
    if gitops::is_empty(&repo.git_dir) {
        return Err(gh.error(StatusCode::CONFLICT, "Git Repository is empty."));
    }
    Ok((repo, user))
}

/// The repository for a git data read: visible, not empty.
pub fn git_source<'w>(
    gh: &Gh,
    world: &'w crate::world::World,
    p: &Params,
) -> Result<&'w Repository, Response> {
    let repo = gh.repo(world, p)?;
    if gitops::is_empty(&repo.git_dir) {
        return Err(gh.error(StatusCode::CONFLICT, "Git Repository is empty."));
    }
    Ok(repo)
}

#[derive(Deserialize)]
struct CreateBlob {
    content: String,
    encoding: Option<String>,
}

async fn create_blob(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: CreateBlob = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let world = gh.st.world.lock();
    let (repo, _) = match git_target(&gh, &world, &p) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let bytes = match req.encoding.as_deref().unwrap_or("utf-8") {
        "utf-8" | "utf8" => req.content.into_bytes(),
        "base64" => match decode_base64(&req.content) {
            Some(b) => b,
            None => return gh.invalid_request("content is not valid Base64"),
        },
        other => {
            return gh.invalid_request(&format!(
                "encoding {other:?} must be either 'utf-8' or 'base64'"
            ))
        }
    };
    match gitstore::write_blob(&repo.git_dir, &bytes) {
        Ok(sha) => {
            let url = format!("{}/git/blobs/{sha}", gh.base.repo_api(&repo.full_path));
            created(json!({ "sha": sha, "url": url }), &url)
        }
        Err(e) => gh.error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn get_blob(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let repo = match git_source(&gh, &world, &p) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let sha = &p["file_sha"];
    if gitops::object_kind(&repo.git_dir, sha) != Some("blob") {
        return gh.not_found();
    }
    match gitstore::read_blob(&repo.git_dir, sha) {
        Ok(Some(content)) => ok(json!({
            "sha": sha,
            "node_id": node_id("Blob", format!("{}:{sha}", repo.id)),
            "size": content.len(),
            "url": format!("{}/git/blobs/{sha}", gh.base.repo_api(&repo.full_path)),
            "content": wrapped_base64(&content),
            "encoding": "base64",
        })),
        _ => gh.not_found(),
    }
}

/// A mode as GitHub writes it in trees (`100644`, `040000`…).
pub fn mode_string(mode: i32) -> String {
    format!("{mode:06o}")
}

fn kind_str(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Blob => "blob",
        EntryKind::Tree => "tree",
        EntryKind::Commit => "commit",
    }
}

/// `git-tree` for a tree id, non-recursive or recursive (up to 100,000
/// entries, then `truncated`).
fn tree_json(repo: &Repository, tree: &str, recursive: bool, base: &Base) -> Option<Value> {
    const LIMIT: usize = 100_000;
    let entries = gitstore::list_tree(&repo.git_dir, tree, "", recursive)
        .ok()
        .flatten()?;
    let api = base.repo_api(&repo.full_path);
    let truncated = entries.len() > LIMIT;
    let items: Vec<Value> = entries
        .iter()
        .take(LIMIT)
        .map(|e| {
            let mut v = json!({
                "path": e.path,
                "mode": mode_string(e.mode),
                "type": kind_str(e.kind),
                "sha": e.oid,
            });
            match e.kind {
                EntryKind::Blob => {
                    v["size"] = json!(e.size.unwrap_or(0));
                    v["url"] = json!(format!("{api}/git/blobs/{}", e.oid));
                }
                EntryKind::Tree => v["url"] = json!(format!("{api}/git/trees/{}", e.oid)),
                EntryKind::Commit => {}
            }
            v
        })
        .collect();
    Some(json!({
        "sha": tree,
        "url": format!("{api}/git/trees/{tree}"),
        "tree": items,
        "truncated": truncated,
    }))
}

#[derive(Deserialize)]
struct CreateTree {
    tree: Vec<TreeItem>,
    base_tree: Option<String>,
}

#[derive(Deserialize)]
struct TreeItem {
    path: Option<String>,
    mode: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Absent, `null` (delete) or an object id.
    #[serde(default, deserialize_with = "present")]
    sha: Option<Option<String>>,
    content: Option<String>,
}

/// Distinguishes an absent field (`None`) from `null` (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

async fn create_tree(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: CreateTree = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let world = gh.st.world.lock();
    let (repo, _) = match git_target(&gh, &world, &p) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let git = &repo.git_dir;
    let base_tree = match &req.base_tree {
        Some(id) => match gitops::tree_of(git, id) {
            Some(t) => Some(t),
            None => return gh.unprocessable("Invalid tree info"),
        },
        None => None,
    };
    let existing: std::collections::HashSet<String> = match &base_tree {
        Some(t) => gitstore::list_tree(git, t, "", true)
            .ok()
            .flatten()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.path)
            .collect(),
        None => Default::default(),
    };
    let mut writes = Vec::new();
    for item in &req.tree {
        let Some(path) = item.path.as_deref().filter(|p| !p.is_empty()) else {
            return gh.invalid_request("tree.path is required");
        };
        if path.starts_with('/') || path.ends_with('/') || path.split('/').any(|s| s.is_empty()) {
            return gh.unprocessable(&format!(
                "tree.path contains a malformed path component: {path}"
            ));
        }
        let mode = match item.mode.as_deref() {
            Some(m @ ("100644" | "100755" | "040000" | "160000" | "120000")) => {
                i32::from_str_radix(m, 8).unwrap_or(0o100644)
            }
            Some(other) => return gh.invalid_request(&format!("tree.mode {other:?} is invalid")),
            None => return gh.invalid_request("tree.mode is required"),
        };
        let kind = item.kind.as_deref().unwrap_or("blob");
        let expected = match mode {
            0o040000 => "tree",
            0o160000 => "commit",
            _ => "blob",
        };
        if kind != expected {
            return gh.unprocessable(&format!("tree.type {kind:?} does not match mode"));
        }
        let oid = match (&item.sha, &item.content) {
            (Some(Some(_)), Some(_)) => {
                return gh.unprocessable(
                    "Must supply either tree.sha or tree.content. Request will be rejected if both are present.",
                )
            }
            (Some(Some(sha)), None) => {
                let found = gitops::object_kind(git, sha);
                if kind != "commit" && found != Some(kind) {
                    return gh.unprocessable(&format!("GitRPC::BadObjectState: {sha}"));
                }
                Some(sha.clone())
            }
            (Some(None), _) => {
                if !existing.contains(path) {
                    // Deleting what the base tree lacks changes nothing.
                    continue;
                }
                None
            }
            (None, Some(content)) => {
                if kind != "blob" {
                    return gh.unprocessable("tree.content is only valid for blobs");
                }
                match gitstore::write_blob(git, content.as_bytes()) {
                    Ok(id) => Some(id),
                    Err(e) => return gh.error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                }
            }
            (None, None) => {
                return gh.invalid_request("Must supply either tree.sha or tree.content.")
            }
        };
        writes.push(TreeWrite {
            path: path.to_string(),
            mode,
            oid,
        });
    }
    match gitstore::write_tree(git, base_tree.as_deref(), &writes) {
        Ok(sha) => {
            let body = tree_json(repo, &sha, false, &gh.base).unwrap_or(Value::Null);
            let location = format!("{}/git/trees/{sha}", gh.base.repo_api(&repo.full_path));
            created(body, &location)
        }
        Err(e) => gh.unprocessable(&e.to_string()),
    }
}

async fn get_tree(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let repo = match git_source(&gh, &world, &p) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let rev = &p["tree_sha"];
    // A tree id, a commit id, or a branch / tag name.
    let tree = gitops::tree_of(&repo.git_dir, rev).or_else(|| {
        gitstore::commit_info(&repo.git_dir, rev)
            .ok()
            .flatten()
            .map(|c| c.tree)
    });
    // Any value of `recursive` (even 0 or false) recurses, as documented.
    let recursive = gh.q("recursive").is_some();
    match tree.and_then(|t| tree_json(repo, &t, recursive, &gh.base)) {
        Some(v) => ok(v),
        None => gh.not_found(),
    }
}

#[derive(Deserialize)]
struct Identity {
    name: Option<String>,
    email: Option<String>,
    date: Option<String>,
}

#[derive(Deserialize)]
struct CreateCommit {
    message: String,
    tree: String,
    #[serde(default)]
    parents: Vec<String>,
    author: Option<Identity>,
    committer: Option<Identity>,
}

/// Parses an ISO 8601 date (`2024-01-01T10:00:00Z` or with an offset).
fn parse_date(s: &str) -> Option<i64> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
        return Some(secs);
    }
    // An explicit offset: `…+02:00`.
    let (main, sign, off) = match s.rfind(['+', '-']) {
        Some(i) if i > 10 => (&s[..i], if &s[i..=i] == "+" { 1 } else { -1 }, &s[i + 1..]),
        _ => return None,
    };
    let t = humantime::parse_rfc3339_weak(main).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    let (h, m) = off.split_once(':').unwrap_or((off, "0"));
    let offset = h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60;
    Some(secs - sign * offset)
}

fn identity(
    gh: &Gh,
    given: Option<&Identity>,
    fallback: &Person,
    now: i64,
) -> Result<Person, Response> {
    let Some(i) = given else {
        return Ok(Person {
            time: Some(now),
            ..fallback.clone()
        });
    };
    let time = match &i.date {
        Some(d) => match parse_date(d) {
            Some(t) => t,
            None => {
                return Err(
                    gh.invalid_request(&format!("author.date {d:?} is not a valid date-time"))
                )
            }
        },
        None => now,
    };
    Ok(Person {
        name: i.name.clone().unwrap_or_else(|| fallback.name.clone()),
        email: i.email.clone().unwrap_or_else(|| fallback.email.clone()),
        time: Some(time),
    })
}

async fn create_commit(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: CreateCommit = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let world = gh.st.world.lock();
    let (repo, user) = match git_target(&gh, &world, &p) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let git = &repo.git_dir;
    if gitops::object_kind(git, &req.tree) != Some("tree") {
        return gh.unprocessable("Tree SHA does not exist");
    }
    for parent in &req.parents {
        if gitops::object_kind(git, parent) != Some("commit") {
            return gh.unprocessable("Parent SHA does not exist or is not a commit object");
        }
    }
    let now = world.now();
    let me = noreply(&world, &user);
    let author = match identity(&gh, req.author.as_ref(), &me, now) {
        Ok(a) => a,
        Err(e) => return e,
    };
    // Without a committer, GitHub uses the author.
    let committer = match identity(&gh, req.committer.as_ref(), &author, now) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let parents: Vec<&str> = req.parents.iter().map(String::as_str).collect();
    let sha = match gitops::commit(git, &req.tree, &parents, &req.message, &author, &committer) {
        Ok(s) => s,
        Err(e) => return gh.error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    match gitstore::commit_info(git, &sha) {
        Ok(Some(info)) => {
            let body = git_commit_json(&info, &repo.full_path, &gh.base, repo.id);
            let location = format!("{}/git/commits/{sha}", gh.base.repo_api(&repo.full_path));
            created(body, &location)
        }
        _ => gh.error(StatusCode::INTERNAL_SERVER_ERROR, "commit vanished"),
    }
}

async fn get_commit(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let repo = match git_source(&gh, &world, &p) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let sha = &p["commit_sha"];
    if gitops::object_kind(&repo.git_dir, sha) != Some("commit") {
        return gh.not_found();
    }
    match gitstore::commit_info(&repo.git_dir, sha) {
        Ok(Some(info)) => ok(git_commit_json(&info, &repo.full_path, &gh.base, repo.id)),
        _ => gh.not_found(),
    }
}
