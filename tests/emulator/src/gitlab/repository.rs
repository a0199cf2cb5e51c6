//! Repository reads and branches: tree (`path`, `ref`, `recursive`, offset
//! pagination; entries `{id, name, type, path, mode}` with mode strings
//! like `100644`, `120000`, `040000`), blobs and raw blobs, compare, commit
//! list and get, and branches (list, get, HEAD, create, delete).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine;
use serde_json::{json, Value};

use super::entities::{branch_json, commit_detail_json, commit_json};
use super::git::{self, CommitData};
use super::params::Params;
use super::{
    api_error, bad_param, created, not_found, ok, open_git, paged, readable, request_url, writable,
    Reply,
};
use crate::auth::Caller;
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v4/projects/{id}/repository/tree", get(tree))
        .route("/api/v4/projects/{id}/repository/blobs/{sha}", get(blob))
        .route(
            "/api/v4/projects/{id}/repository/blobs/{sha}/raw",
            get(blob_raw),
        )
        .route("/api/v4/projects/{id}/repository/compare", get(compare))
        .route(
            "/api/v4/projects/{id}/repository/commits/{sha}",
            get(get_commit),
        )
        .route(
            "/api/v4/projects/{id}/repository/branches",
            get(list_branches).post(create_branch),
        )
        .route(
            "/api/v4/projects/{id}/repository/branches/{branch}",
            get(get_branch).head(head_branch).delete(delete_branch),
        )
}

/// The mode string GitLab writes: `100644`, `100755`, `120000`, `040000`, `160000`.
pub fn mode_string(mode: i32) -> String {
    format!("{mode:06o}")
}

async fn tree(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    uri: Uri,
    params: Params,
) -> Reply {
    let page = params.page()?;
    let recursive = params.bool("recursive")?.unwrap_or(false);
    let path = params.str("path")?.unwrap_or_default();
    params.one_of("pagination", &["legacy", "keyset", "none"])?;
    let world = st.world.lock();
    let r = readable(&world, &caller, &id)?;
    let rev = params
        .str("ref")?
        .unwrap_or_else(|| r.default_branch.clone());
    let repo = open_git(r)?;
    let Some(commit) = git::resolve(&repo, &rev) else {
        return Err(not_found("Tree"));
    };
    let entries = crate::gitstore::list_tree(&r.git_dir, &commit.to_string(), &path, recursive)
        .map_err(super::internal)?
        .ok_or_else(|| not_found("invalid revision or path"))?;
    let mut entries = entries;
    if !recursive {
        // Trees first, then blobs, then submodules, each by name.
        let rank = |k: crate::gitstore::EntryKind| match k {
            crate::gitstore::EntryKind::Tree => 0,
            crate::gitstore::EntryKind::Blob => 1,
            crate::gitstore::EntryKind::Commit => 2,
        };
        entries.sort_by(|a, b| rank(a.kind).cmp(&rank(b.kind)).then(a.name.cmp(&b.name)));
    }
    let items: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let kind = match e.kind {
                crate::gitstore::EntryKind::Tree => "tree",
                crate::gitstore::EntryKind::Blob => "blob",
                crate::gitstore::EntryKind::Commit => "commit",
            };
            json!({ "id": e.oid, "name": e.name, "type": kind, "path": e.path, "mode": mode_string(e.mode) })
        })
        .collect();
    Ok(paged(&page, items, &request_url(&st.urls.gitlab, &uri)))
}

fn read_blob(
    st: &AppState,
    caller: &Caller,
    id: &str,
    sha: &str,
) -> Result<(String, Vec<u8>), Response> {
    let world = st.world.lock();
    let r = readable(&world, caller, id)?;
    let repo = open_git(r)?;
    let blob = git2::Oid::from_str(sha)
        .ok()
        .and_then(|o| repo.find_blob(o).ok())
        .or_else(|| {
            repo.revparse_single(sha)
                .ok()
                .and_then(|o| o.peel_to_blob().ok())
        })
        .ok_or_else(|| not_found("Blob"))?;
    Ok((blob.id().to_string(), blob.content().to_vec()))
}

async fn blob(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, sha)): Path<(String, String)>,
) -> Reply {
    let (oid, content) = read_blob(&st, &caller, &id, &sha)?;
    Ok(ok(json!({
        "size": content.len(),
        "encoding": "base64",
        "content": base64::engine::general_purpose::STANDARD.encode(&content),
        "sha": oid,
    })))
}

async fn blob_raw(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, sha)): Path<(String, String)>,
) -> Reply {
    let (_, content) = read_blob(&st, &caller, &id, &sha)?;
    Ok(raw_response(content, None))
}

/// Raw content as GitLab sends it: `text/plain; charset=utf-8` for text,
/// `application/octet-stream` otherwise.
pub fn raw_response(content: Vec<u8>, file_name: Option<&str>) -> Response {
    let text = std::str::from_utf8(&content).is_ok() && !content.contains(&0);
    let mut response = Body::from(content).into_response();
    let kind = if text {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(kind));
    if let Some(v) = file_name
        .and_then(|n| header::HeaderValue::from_str(&format!("inline; filename=\"{n}\"")).ok())
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

async fn compare(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    params: Params,
) -> Reply {
    params.require(&["from", "to"])?;
    let from = params.required_str("from")?;
    let to = params.required_str("to")?;
    let straight = params.bool("straight")?.unwrap_or(false);
    params.bool("unidiff")?;
    params.u64("from_project_id")?;
    let world = st.world.lock();
    let r = readable(&world, &caller, &id)?;
    let repo = open_git(r)?;
    let (Some(f), Some(t)) = (git::resolve(&repo, &from), git::resolve(&repo, &to)) else {
        return Err(not_found("Ref"));
    };
    let base = if straight {
        Some(f)
    } else {
        repo.merge_base(f, t).ok()
    };
    let old = base
        .and_then(|b| repo.find_commit(b).ok())
        .and_then(|c| c.tree().ok());
    let new = repo
        .find_commit(t)
        .and_then(|c| c.tree())
        .map_err(super::internal)?;
    let commits: Vec<Value> = git::commits_between(&repo, Some(f), t)
        .into_iter()
        .filter_map(|o| repo.find_commit(o).ok())
        .map(|c| commit_json(&CommitData::of(&c), &r.full_path, &st.urls.gitlab))
        .collect();
    let diffs = git::diffs(&repo, old.as_ref(), Some(&new));
    Ok(ok(json!({
        "commit": commits.last().cloned(),
        "commits": commits,
        "diffs": diffs,
        "compare_timeout": false,
        "compare_same_ref": from == to,
        "web_url": format!("{}/{}/-/compare/{from}...{to}", st.urls.gitlab, r.full_path),
    })))
}

async fn get_commit(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, sha)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let stats = params.bool("stats")?.unwrap_or(true);
    let world = st.world.lock();
    let r = readable(&world, &caller, &id)?;
    let repo = open_git(r)?;
    let oid = git::resolve(&repo, &sha).ok_or_else(|| not_found("Commit"))?;
    let c = repo.find_commit(oid).map_err(super::internal)?;
    let s = stats.then(|| git::stats_json(&repo, &c));
    Ok(ok(commit_detail_json(
        &CommitData::of(&c),
        r,
        &st.urls.gitlab,
        s,
    )))
}

/// Whether `head` is merged into the default branch (and is not it).
fn merged(repo: &git2::Repository, name: &str, head: git2::Oid, default: &str) -> bool {
    if name == default {
        return false;
    }
    git::branch_head(repo, default)
        .is_some_and(|d| d == head || repo.graph_descendant_of(d, head).unwrap_or(false))
}

fn one_branch(
    st: &AppState,
    r: &crate::world::Repository,
    repo: &git2::Repository,
    name: &str,
    head: git2::Oid,
) -> Result<Value, Response> {
    let c = repo.find_commit(head).map_err(super::internal)?;
    let m = merged(repo, name, head, &r.default_branch);
    Ok(branch_json(
        name,
        &CommitData::of(&c),
        r,
        m,
        &st.urls.gitlab,
    ))
}

async fn list_branches(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    uri: Uri,
    params: Params,
) -> Reply {
    let page = params.page()?;
    let search = params.str("search")?;
    let sort = params.one_of("sort", &["name_asc", "updated_asc", "updated_desc"])?;
    let page_token = params.str("page_token")?;
    params.str("regex")?;
    let world = st.world.lock();
    let r = readable(&world, &caller, &id)?;
    let repo = open_git(r)?;
    let mut heads = git::branches(&repo);
    if let Some(s) = search.as_deref() {
        let (prefix, suffix) = (s.starts_with('^'), s.ends_with('$'));
        let needle = s.trim_start_matches('^').trim_end_matches('$');
        heads.retain(|(n, _)| match (prefix, suffix) {
            (true, true) => n == needle,
            (true, false) => n.starts_with(needle),
            (false, true) => n.ends_with(needle),
            _ => n.contains(needle),
        });
    }
    if let Some(token) = page_token {
        heads.retain(|(n, _)| n.as_str() > token.as_str());
    }
    if sort.as_deref().is_some_and(|s| s.starts_with("updated")) {
        let time = |o: &git2::Oid| {
            repo.find_commit(*o)
                .map(|c| c.time().seconds())
                .unwrap_or(0)
        };
        heads.sort_by_key(|(_, o)| time(o));
        if sort.as_deref() == Some("updated_desc") {
            heads.reverse();
        }
    }
    let mut items = Vec::new();
    for (name, head) in &heads {
        items.push(one_branch(&st, r, &repo, name, *head)?);
    }
    Ok(paged(&page, items, &request_url(&st.urls.gitlab, &uri)))
}

async fn get_branch(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, branch)): Path<(String, String)>,
) -> Reply {
    let world = st.world.lock();
    let r = readable(&world, &caller, &id)?;
    let repo = open_git(r)?;
    let head = git::branch_head(&repo, &branch).ok_or_else(|| not_found("Branch"))?;
    Ok(ok(one_branch(&st, r, &repo, &branch, head)?))
}

async fn head_branch(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, branch)): Path<(String, String)>,
) -> Response {
    let world = st.world.lock();
    let exists = readable(&world, &caller, &id)
        .ok()
        .and_then(|r| git::open(&r.git_dir).ok())
        .is_some_and(|repo| git::branch_head(&repo, &branch).is_some());
    if exists {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// Whether git accepts `name` as a branch name.
pub fn valid_branch_name(name: &str) -> bool {
    !name.is_empty()
        && name != "HEAD"
        && git2::Reference::is_valid_name(&format!("refs/heads/{name}"))
}

async fn create_branch(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    params: Params,
) -> Reply {
    params.require(&["branch", "ref"])?;
    let branch = params.required_str("branch")?;
    let rev = params.required_str("ref")?;
    let world = st.world.lock();
    let (pid, _) = writable(&world, &caller, &id)?;
    let r = &world.repos[&pid];
    let repo = open_git(r)?;
    if !valid_branch_name(&branch) {
        return Err(api_error(StatusCode::BAD_REQUEST, "Branch name is invalid"));
    }
    if git::branch_head(&repo, &branch).is_some() {
        return Err(api_error(StatusCode::BAD_REQUEST, "Branch already exists"));
    }
    let target = git::resolve(&repo, &rev).ok_or_else(|| {
        api_error(
            StatusCode::BAD_REQUEST,
            format!("Invalid reference name: {rev}"),
        )
    })?;
    repo.reference(
        &format!("refs/heads/{branch}"),
        target,
        false,
        "gitlab: create branch",
    )
    .map_err(|e| bad_param(e.message().to_string()))?;
    Ok(created(one_branch(&st, r, &repo, &branch, target)?))
}

async fn delete_branch(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, branch)): Path<(String, String)>,
) -> Reply {
    let world = st.world.lock();
    let (pid, _) = writable(&world, &caller, &id)?;
    let r = &world.repos[&pid];
    let repo = open_git(r)?;
    let mut reference = repo
        .find_reference(&format!("refs/heads/{branch}"))
        .map_err(|_| not_found("Branch"))?;
    if branch == r.default_branch {
        // Gitaly's pre-receive check refuses it; the API answers 400.
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            "The default branch of a project cannot be deleted.",
        ));
    }
    reference.delete().map_err(super::internal)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
