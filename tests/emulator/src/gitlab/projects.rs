//! Projects: get (`ProjectWithAccess`), create (`namespace_id`, `path`,
//! `name`, `description`, `visibility`, `default_branch`,
//! `initialize_with_readme`), update, delete, archive and unarchive.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::{json, Value};

use super::entities::project_json;
use super::params::Params;
use super::state::{self, MergeMethod};
use super::{api_error, bad_param, created, not_found, ok, readable, require_user, Reply};
use crate::auth::Caller;
use crate::gitstore::{self, FileChange};
use crate::server::AppState;
use crate::world::{Forge, OwnerKind, Visibility, World};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v4/projects", post(create_project))
        .route(
            "/api/v4/projects/{id}",
            get(get_project).put(update_project).delete(delete_project),
        )
        .route("/api/v4/projects/{id}/archive", post(archive))
        .route("/api/v4/projects/{id}/unarchive", post(unarchive))
}

async fn get_project(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    params: Params,
) -> Reply {
    for flag in ["statistics", "with_custom_attributes", "license"] {
        params.bool(flag)?;
    }
    let world = st.world.lock();
    let r = readable(&world, &caller, &id)?;
    let mut body = project_json(&world, r, &st.urls.gitlab);
    let access = caller
        .user
        .as_ref()
        .map(|_| json!({ "access_level": 40, "notification_level": 3 }));
    body["permissions"] = json!({ "project_access": access, "group_access": null });
    Ok(ok(body))
}

/// GitLab's path from a name: lowercase, runs of other characters → `-`.
fn parameterize(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn parse_visibility(v: &str) -> Visibility {
    match v {
        "public" => Visibility::Public,
        "internal" => Visibility::Internal,
        _ => Visibility::Private,
    }
}

async fn create_project(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Params,
) -> Reply {
    let user = require_user(&caller)?;
    let name = params.str("name")?;
    let path = params.str("path")?;
    if name.is_none() && path.is_none() {
        return Err(bad_param(
            "name, path are missing, at least one parameter must be provided",
        ));
    }
    let path = path.unwrap_or_else(|| parameterize(name.as_deref().unwrap_or_default()));
    let name = name.unwrap_or_else(|| path.clone());
    let description = params.str("description")?;
    let visibility = params.one_of("visibility", &["private", "internal", "public"])?;
    let readme = params.bool("initialize_with_readme")?.unwrap_or(false);
    let default_branch = params
        .str("default_branch")?
        .unwrap_or_else(|| "main".into());
    let namespace = params.str("namespace_id")?;

    let mut world = st.world.lock();
    let owner_path = match namespace {
        Some(ns) => {
            let found = match ns.parse::<u64>() {
                Ok(n) => world.owners.get(&n),
                Err(_) => world.owner(Forge::Gitlab, &ns),
            };
            match found.filter(|o| o.forge == Forge::Gitlab) {
                Some(o) => o.path.clone(),
                None => return Err(not_found("Namespace")),
            }
        }
        None => world
            .owner(Forge::Gitlab, &user)
            .map(|o| o.path.clone())
            .ok_or_else(|| not_found("Namespace"))?,
    };
    let full_path = format!("{owner_path}/{path}");
    if world.repo(Forge::Gitlab, &full_path).is_some() {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            json!({ "name": ["has already been taken"], "path": ["has already been taken"] }),
        ));
    }
    let kind = world
        .owner(Forge::Gitlab, &owner_path)
        .map_or(OwnerKind::Group, |o| o.kind);
    let id = world
        .create_repo_record(Forge::Gitlab, &full_path, kind, &default_branch)
        .map_err(|e| bad_param(e.to_string()))?;
    {
        let r = world.repos.get_mut(&id).expect("just created");
        r.description = description.clone();
        r.visibility = parse_visibility(visibility.as_deref().unwrap_or("private"));
    }
    let extra = world
        .ext_mut::<state::State>()
        .projects
        .entry(id)
        .or_default();
    extra.creator = Some(user.clone());
    if name != path {
        extra.name = Some(name.clone());
    }
    if readme {
        let mut text = format!("# {name}\n");
        if let Some(d) = description.as_deref().filter(|d| !d.is_empty()) {
            text.push_str(&format!("\n{d}\n"));
        }
        let mut author = gitstore::Person::new(&user, &format!("{user}@example.com"));
        author.time = Some(world.now());
        world
            .commit_files(
                id,
                &default_branch,
                &[FileChange::write("README.md", text)],
                "Initial commit",
                &author,
            )
            .map_err(super::internal)?;
    }
    let r = &world.repos[&id];
    Ok(created(project_json(&world, r, &st.urls.gitlab)))
}

const UPDATABLE: &[&str] = &[
    "name",
    "path",
    "description",
    "default_branch",
    "visibility",
    "merge_method",
    "remove_source_branch_after_merge",
    "topics",
    "tag_list",
    "issues_enabled",
    "merge_requests_enabled",
    "wiki_enabled",
    "jobs_enabled",
    "snippets_enabled",
    "lfs_enabled",
    "request_access_enabled",
    "squash_option",
    "only_allow_merge_if_pipeline_succeeds",
    "only_allow_merge_if_all_discussions_are_resolved",
];

async fn update_project(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    params: Params,
) -> Reply {
    require_user(&caller)?;
    if !UPDATABLE.iter().any(|k| params.has(k)) {
        return Err(bad_param(format!(
            "{} are missing, at least one parameter must be provided",
            UPDATABLE.join(", ")
        )));
    }
    let merge_method = params.one_of("merge_method", &["merge", "rebase_merge", "ff"])?;
    let visibility = params.one_of("visibility", &["private", "internal", "public"])?;
    let remove_after = params.bool("remove_source_branch_after_merge")?;
    let mut world = st.world.lock();
    let pid = readable(&world, &caller, &id)?.id;
    if let Some(b) = params.str("default_branch")? {
        let git_dir = world.repos[&pid].git_dir.clone();
        if gitstore::resolve(&git_dir, &format!("refs/heads/{b}"))
            .ok()
            .flatten()
            .is_none()
            && !super::git::is_empty(&git_dir)
        {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                json!({ "base": [format!("Could not change HEAD: branch '{b}' does not exist")] }),
            ));
        }
        gitstore::set_head(&git_dir, &b).map_err(super::internal)?;
        world.repos.get_mut(&pid).expect("exists").default_branch = b;
    }
    if let Some(path) = params.str("path")? {
        let owner = world.owners[&world.repos[&pid].owner_id].path.clone();
        let full_path = format!("{owner}/{path}");
        if world
            .repo(Forge::Gitlab, &full_path)
            .is_some_and(|r| r.id != pid)
        {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                json!({ "path": ["has already been taken"] }),
            ));
        }
        let r = world.repos.get_mut(&pid).expect("exists");
        r.name = path;
        r.full_path = full_path;
    }
    let now = world.now();
    {
        let r = world.repos.get_mut(&pid).expect("exists");
        if params.has("description") {
            r.description = params.str("description")?;
        }
        if let Some(v) = &visibility {
            r.visibility = parse_visibility(v);
        }
        r.updated_at = now;
    }
    let name = params.str("name")?;
    let extra = world
        .ext_mut::<state::State>()
        .projects
        .entry(pid)
        .or_default();
    if let Some(m) = merge_method.as_deref().and_then(MergeMethod::parse) {
        extra.merge_method = m;
    }
    if let Some(b) = remove_after {
        extra.remove_source_branch_after_merge = b;
    }
    if let Some(n) = name {
        extra.name = Some(n);
    }
    Ok(ok(project_json(
        &world,
        &world.repos[&pid],
        &st.urls.gitlab,
    )))
}

async fn delete_project(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Reply {
    require_user(&caller)?;
    let mut world = st.world.lock();
    let pid = readable(&world, &caller, &id)?.id;
    world.repos.remove(&pid);
    world.proposals.retain(|_, p| p.repo_id != pid);
    Ok(api_error(StatusCode::ACCEPTED, "202 Accepted"))
}

fn set_archived(world: &mut World, pid: u64, archived: bool) {
    let now = world.now();
    if let Some(r) = world.repos.get_mut(&pid) {
        r.archived = archived;
        r.updated_at = now;
    }
}

async fn archive(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Reply {
    archive_to(st, caller, id, true)
}

async fn unarchive(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Reply {
    archive_to(st, caller, id, false)
}

fn archive_to(st: AppState, caller: Caller, id: String, archived: bool) -> Reply {
    require_user(&caller)?;
    let mut world = st.world.lock();
    let pid = readable(&world, &caller, &id)?.id;
    set_archived(&mut world, pid, archived);
    let body: Value = project_json(&world, &world.repos[&pid], &st.urls.gitlab);
    Ok(created(body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_become_paths() {
        assert_eq!(super::parameterize("My  Project!"), "my-project");
        assert_eq!(super::parameterize("api_v2.rs"), "api_v2.rs");
    }
}
