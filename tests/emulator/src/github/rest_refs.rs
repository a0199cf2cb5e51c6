//! REST git refs: get one (`git/ref/{ref}`), list by prefix
//! (`git/matching-refs/{ref}`), create (`refs/…` with two slashes, 422
//! `Reference already exists` / `Object does not exist`), update (a
//! non-fast-forward without `force` is 422 `Update is not a fast forward`)
//! and delete. Every change brings the repository's pull requests up to
//! date (a deleted head branch closes its pull request).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::Value;

use crate::gitstore;
use crate::server::AppState;
use crate::world::Repository;

use super::gitops;
use super::http::{created, no_content, ok, Base, Gh, Params};
use super::rest_git::{git_source, git_target};
use super::shapes::ref_json;

pub fn routes() -> Router<AppState> {
    let r = "/repos/{owner}/{repo}";
    Router::new()
        .route(&format!("{r}/git/ref/{{*ref}}"), get(get_ref))
        .route(
            &format!("{r}/git/matching-refs/{{*ref}}"),
            get(matching_refs),
        )
        .route(
            "/repositories/{repository_id}/git/matching-refs/{*ref}",
            get(matching_refs),
        )
        .route(&format!("{r}/git/refs"), post(create_ref))
        .route(
            &format!("{r}/git/refs/{{*ref}}"),
            axum::routing::patch(update_ref).delete(delete_ref),
        )
}

/// `git-ref` JSON for a full ref name and its target.
fn one_ref(repo: &Repository, name: &str, oid: &str, base: &Base) -> Value {
    let kind = gitops::object_kind(&repo.git_dir, oid).unwrap_or("commit");
    ref_json(name, oid, kind, repo, base)
}

async fn get_ref(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let repo = match git_source(&gh, &world, &p) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let name = format!("refs/{}", p["ref"]);
    let refs = gitstore::refs(&repo.git_dir).unwrap_or_default();
    match refs.get(&name) {
        Some(oid) => ok(one_ref(repo, &name, oid, &gh.base)),
        None => gh.not_found(),
    }
}

async fn matching_refs(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let repo = match git_source(&gh, &world, &p) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let prefix = format!("refs/{}", p["ref"]);
    let items: Vec<Value> = gitstore::refs(&repo.git_dir)
        .unwrap_or_default()
        .iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .map(|(name, oid)| one_ref(repo, name, oid, &gh.base))
        .collect();
    let link = format!("/repositories/{}/git/matching-refs/{}", repo.id, p["ref"]);
    gh.list(items, &link)
}

#[derive(Deserialize)]
struct CreateRef {
    #[serde(rename = "ref")]
    name: String,
    sha: String,
}

/// A ref name GitHub accepts: `refs/…` with at least two slashes, valid for git.
fn valid_ref(name: &str) -> bool {
    name.starts_with("refs/")
        && name.matches('/').count() >= 2
        && git2::Reference::is_valid_name(name)
}

async fn create_ref(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: CreateRef = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut world = gh.st.world.lock();
    let (repo, _) = match git_target(&gh, &world, &p) {
        Ok(t) => t,
        Err(e) => return e,
    };
    if !valid_ref(&req.name) {
        return gh.unprocessable(&format!("{} is not a valid ref name.", req.name));
    }
    let git = repo.git_dir.clone();
    if gitops::object_kind(&git, &req.sha).is_none() {
        return gh.unprocessable("Object does not exist");
    }
    if gitstore::refs(&git)
        .unwrap_or_default()
        .contains_key(&req.name)
    {
        return gh.unprocessable("Reference already exists");
    }
    if let Err(e) = gitstore::set_ref(&git, &req.name, &req.sha, None) {
        return gh.unprocessable(&e.to_string());
    }
    let body = one_ref(repo, &req.name, &req.sha, &gh.base);
    let location = body["url"].as_str().unwrap_or_default().to_string();
    let id = repo.id;
    touch(&mut world, id);
    created(body, &location)
}

/// Marks a repository as pushed to, and brings its pull requests up to date.
fn touch(world: &mut crate::world::World, id: u64) {
    let now = world.now();
    if let Some(r) = world.repos.get_mut(&id) {
        r.pushed_at = Some(now);
        r.updated_at = now;
    }
    super::pulls::sync(world, id);
}

#[derive(Deserialize)]
struct UpdateRef {
    sha: String,
    #[serde(default)]
    force: bool,
}

async fn update_ref(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: UpdateRef = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut world = gh.st.world.lock();
    let (repo, _) = match git_target(&gh, &world, &p) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let git = repo.git_dir.clone();
    let name = format!("refs/{}", p["ref"]);
    let Some(current) = gitstore::refs(&git).unwrap_or_default().get(&name).cloned() else {
        return gh.unprocessable("Reference does not exist");
    };
    if gitops::object_kind(&git, &req.sha).is_none() {
        return gh.unprocessable("Object does not exist");
    }
    if !req.force {
        let ff = gitops::is_ancestor(&git, &current, &req.sha).unwrap_or(false);
        if !ff {
            return gh.unprocessable("Update is not a fast forward");
        }
    }
    if gitstore::set_ref(&git, &name, &req.sha, Some(&current)).is_err() {
        return gh.unprocessable("Reference update failed");
    }
    let body = one_ref(repo, &name, &req.sha, &gh.base);
    let id = repo.id;
    touch(&mut world, id);
    ok(body)
}

async fn delete_ref(gh: Gh, Path(p): Path<Params>) -> Response {
    let mut world = gh.st.world.lock();
    let (repo, _) = match git_target(&gh, &world, &p) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let name = format!("refs/{}", p["ref"]);
    if gitstore::delete_ref(&repo.git_dir, &name).is_err() {
        // "Reference does not exist" on GitHub, but the description
        // documents this 422 without a body.
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    }
    let id = repo.id;
    touch(&mut world, id);
    no_content()
}
