//! REST commits: `GET /commits` (a page of history from `sha`, filtered by
//! `path`, `author`, `since`, `until`, with `Link` headers) and
//! `GET /commits/{ref}` (with `stats` and changed `files` and their
//! patches), in the spec's `commit` schema.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::gitstore::{self, CommitInfo};
use crate::server::AppState;
use crate::world::{Forge, Repository, World};

use super::gitops;
use super::http::{node_id, ok, Base, Gh, Params};
use super::shapes::{person_json, unsigned};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/repos/{owner}/{repo}/commits", get(list_commits))
        .route("/repositories/{repository_id}/commits", get(list_commits))
        .route("/repos/{owner}/{repo}/commits/{*ref}", get(get_commit))
}

fn epoch(s: &str) -> Option<i64> {
    humantime::parse_rfc3339_weak(s)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
}

async fn list_commits(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let repo = match gh.repo(&world, &p) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if gitops::is_empty(&repo.git_dir) {
        return gh.error(StatusCode::CONFLICT, "Git Repository is empty.");
    }
    let start = gh.q("sha").unwrap_or(&repo.default_branch).to_string();
    let Some(head) = gitstore::resolve(&repo.git_dir, &start).ok().flatten() else {
        return gh.not_found();
    };
    let path = gh
        .q("path")
        .map(|s| s.trim_matches('/').to_string())
        .filter(|s| !s.is_empty());
    let oids = gitops::history(&repo.git_dir, &head, path.as_deref()).unwrap_or_default();
    let (since, until) = (gh.q("since").and_then(epoch), gh.q("until").and_then(epoch));
    let author = gh.q("author").map(str::to_ascii_lowercase);
    let owner_id = |login: &str| world.owner(Forge::Github, login).map(|o| o.id);
    let infos: Vec<CommitInfo> = oids
        .iter()
        .filter_map(|o| gitstore::commit_info(&repo.git_dir, o).ok().flatten())
        .filter(|c| {
            let t = c.committer.time.unwrap_or(0);
            since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u)
        })
        .filter(|c| {
            author.as_deref().is_none_or(|a| {
                let email = c.author.email.to_ascii_lowercase();
                email == a
                    || owner_id(a)
                        .is_some_and(|id| email == format!("{id}+{a}@users.noreply.github.com"))
            })
        })
        .collect();
    let (page, link) = gh.paginate(infos, &format!("/repositories/{}/commits", repo.id));
    let items: Vec<Value> = page
        .iter()
        .map(|c| commit_json(&world, repo, c, &gh.base, false))
        .collect();
    let mut response = ok(Value::Array(items));
    if let Some(v) = link.and_then(|l| axum::http::HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(axum::http::header::LINK, v);
    }
    response
}

async fn get_commit(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let repo = match gh.repo(&world, &p) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if gitops::is_empty(&repo.git_dir) {
        return gh.error(StatusCode::CONFLICT, "Git Repository is empty.");
    }
    let rev = &p["ref"];
    match gitstore::commit_info(&repo.git_dir, rev).ok().flatten() {
        Some(info) => ok(commit_json(&world, repo, &info, &gh.base, true)),
        None => gh.unprocessable(&format!("No commit found for SHA: {rev}")),
    }
}

/// The GitHub user a commit identity belongs to (noreply addresses only).
fn identity_user(world: &World, email: &str, base: &Base) -> Value {
    let login = email
        .strip_suffix("@users.noreply.github.com")
        .and_then(|local| local.split_once('+').map(|(_, l)| l));
    match login.and_then(|l| world.owner(Forge::Github, l)) {
        Some(o) => super::shapes::owner_json(o, base),
        None => Value::Null,
    }
}

/// The `commit` schema: git data, GitHub users, stats and changed files.
pub fn commit_json(
    world: &World,
    repo: &Repository,
    c: &CommitInfo,
    base: &Base,
    with_files: bool,
) -> Value {
    let api = base.repo_api(&repo.full_path);
    let web = base.repo_web(&repo.full_path);
    let files = if with_files {
        gitops::diff(&repo.git_dir, c.parents.first().map(String::as_str), &c.oid)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let (additions, deletions) = files
        .iter()
        .fold((0, 0), |(a, d), f| (a + f.additions, d + f.deletions));
    let files: Vec<Value> = files
        .iter()
        .map(|f| {
            let path = super::http::encode_path(&f.filename, true);
            let mut v = json!({
                "sha": f.sha,
                "filename": f.filename,
                "status": f.status,
                "additions": f.additions,
                "deletions": f.deletions,
                "changes": f.additions + f.deletions,
                "blob_url": format!("{web}/blob/{}/{path}", c.oid),
                "raw_url": format!("{web}/raw/{}/{path}", c.oid),
                "contents_url": format!("{api}/contents/{path}?ref={}", c.oid),
            });
            if let Some(patch) = &f.patch {
                v["patch"] = json!(patch);
            }
            if let Some(prev) = &f.previous_filename {
                v["previous_filename"] = json!(prev);
            }
            v
        })
        .collect();
    let mut v = json!({
        "sha": c.oid,
        "node_id": node_id("Commit", format!("{}:{}", repo.id, c.oid)),
        "commit": {
            "author": person_json(&c.author),
            "committer": person_json(&c.committer),
            "message": c.message,
            "tree": { "sha": c.tree, "url": format!("{api}/git/trees/{}", c.tree) },
            "url": format!("{api}/git/commits/{}", c.oid),
            "comment_count": 0,
            "verification": unsigned(),
        },
        "url": format!("{api}/commits/{}", c.oid),
        "html_url": format!("{web}/commit/{}", c.oid),
        "comments_url": format!("{api}/commits/{}/comments", c.oid),
        "author": identity_user(world, &c.author.email, base),
        "committer": identity_user(world, &c.committer.email, base),
        "parents": c.parents.iter().map(|p| json!({
            "sha": p, "url": format!("{api}/commits/{p}"), "html_url": format!("{web}/commit/{p}"),
        })).collect::<Vec<_>>(),
    });
    if with_files {
        v["stats"] = json!({ "total": additions + deletions, "additions": additions, "deletions": deletions });
        v["files"] = json!(files);
    }
    v
}
