//! REST: `/rate_limit`, `/user`, organisations, repository listing (with
//! pagination by `Link`), get / create / update (rename, archive, default
//! branch, visibility) / delete, and branches.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::gitstore::{self, FileChange};
use crate::server::{AppState, Site};
use crate::world::{Forge, Label, OwnerKind, Repository, Visibility, World};

use super::gitops;
use super::http::{created, no_content, ok, Gh, Params};
use super::rest_commits::commit_json;
use super::shapes::{
    full_repo_json, noreply, org_json, private_user_json, repo_json, short_branch_json,
    DEFAULT_LABELS,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rate_limit", get(rate_limit))
        .route("/user", get(get_user))
        .route("/orgs/{org}", get(get_org))
        .route("/orgs/{org}/repos", get(list_org_repos).post(create_repo))
        .route("/organizations/{org_id}/repos", get(list_org_repos))
        .route("/user/repos", get(list_user_repos).post(create_repo))
        .route(
            "/repos/{owner}/{repo}",
            get(get_repo).patch(update_repo).delete(delete_repo),
        )
        .route("/repositories/{repository_id}", get(get_repo))
        .route("/repos/{owner}/{repo}/branches", get(list_branches))
        .route("/repositories/{repository_id}/branches", get(list_branches))
        .route("/repos/{owner}/{repo}/branches/{*branch}", get(get_branch))
}

async fn rate_limit(gh: Gh) -> Response {
    let budget = |name: &'static str| {
        let b = gh.st.rate_limits.peek(Site::Github, &gh.caller, name);
        json!({ "limit": b.limit, "used": b.used, "remaining": b.remaining(), "reset": b.reset })
    };
    let core = budget("core");
    let reset = core["reset"].as_i64().unwrap_or(0);
    // Budgets the emulator does not spend: full, resetting within a minute.
    let fixed = |limit: u64| json!({ "limit": limit, "used": 0, "remaining": limit, "reset": reset.min(now() + 60) });
    let authed = gh.caller.user.is_some();
    ok(json!({
        "resources": {
            "core": core,
            "graphql": budget("graphql"),
            "search": fixed(if authed { 30 } else { 10 }),
            "code_search": fixed(10),
            "integration_manifest": fixed(5000),
            "source_import": fixed(100),
            "dependency_snapshots": fixed(100),
        },
        "rate": core,
    }))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn get_user(gh: Gh) -> Response {
    let login = match gh.user() {
        Ok(l) => l,
        Err(e) => return e,
    };
    let world = gh.st.world.lock();
    match world.owner(Forge::Github, &login) {
        Some(u) => ok(private_user_json(&world, u, &gh.base)),
        None => gh.not_found(),
    }
}

async fn get_org(gh: Gh, Path(org): Path<String>) -> Response {
    let world = gh.st.world.lock();
    match world.owner(Forge::Github, &org) {
        Some(o) if o.kind == OwnerKind::Organization => ok(org_json(&world, o, &gh.base)),
        _ => gh.not_found(),
    }
}

/// Sorts repositories by GitHub's `sort` / `direction` parameters.
fn sort_repos(gh: &Gh, repos: &mut [&Repository], default_sort: &str) -> Result<(), Response> {
    let sort = gh.q("sort").unwrap_or(default_sort);
    let key = |r: &Repository| -> (String, i64, u64) {
        match sort {
            "full_name" => (r.full_path.to_ascii_lowercase(), 0, r.id),
            "updated" => (String::new(), r.updated_at, r.id),
            "pushed" => (String::new(), r.pushed_at.unwrap_or(r.created_at), r.id),
            _ => (String::new(), r.created_at, r.id),
        }
    };
    if !matches!(sort, "created" | "updated" | "pushed" | "full_name") {
        return Err(gh.invalid_request(&format!("sort {sort:?} is not a valid value")));
    }
    let asc = match gh.q("direction") {
        Some("asc") => true,
        Some("desc") => false,
        Some(other) => {
            return Err(gh.invalid_request(&format!("direction {other:?} is not a valid value")))
        }
        None => sort == "full_name",
    };
    repos.sort_by_key(|r| key(r));
    if !asc {
        repos.reverse();
    }
    Ok(())
}

/// A page of repositories as JSON with its `Link` header.
fn repo_page(gh: &Gh, world: &World, repos: Vec<&Repository>, link_path: &str) -> Response {
    let (page, link) = gh.paginate(repos, link_path);
    let items: Vec<Value> = page
        .into_iter()
        .map(|r| repo_json(world, r, &gh.base))
        .collect();
    let mut response = ok(Value::Array(items));
    if let Some(v) = link.and_then(|l| axum::http::HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(axum::http::header::LINK, v);
    }
    response
}

async fn list_org_repos(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let org = match p.get("org_id") {
        Some(id) => id.parse().ok().and_then(|id| world.owners.get(&id)),
        None => world.owner(Forge::Github, &p["org"]),
    };
    let Some(org) = org.filter(|o| o.forge == Forge::Github && o.kind == OwnerKind::Organization)
    else {
        return gh.not_found();
    };
    let kind = gh.q("type").unwrap_or("all");
    let authed = gh.caller.user.is_some();
    let mut repos: Vec<&Repository> = world
        .repos_of(org.id, false)
        .into_iter()
        .filter(|r| authed || r.visibility == Visibility::Public)
        .filter(|r| match kind {
            "public" => r.visibility == Visibility::Public,
            "private" => r.visibility != Visibility::Public,
            "forks" => r.fork,
            "sources" => !r.fork,
            _ => true,
        })
        .collect();
    if let Err(e) = sort_repos(&gh, &mut repos, "created") {
        return e;
    }
    repo_page(
        &gh,
        &world,
        repos,
        &format!("/organizations/{}/repos", org.id),
    )
}

/// `/user/repos`: the user's own repositories and (every user being a
/// member of every organisation here) the organisations' repositories.
async fn list_user_repos(gh: Gh) -> Response {
    let login = match gh.user() {
        Ok(l) => l,
        Err(e) => return e,
    };
    if gh.q("type").is_some() && (gh.q("visibility").is_some() || gh.q("affiliation").is_some()) {
        return gh.validation_with(
            "If you specify visibility or affiliation, you cannot specify type.",
            vec![],
        );
    }
    let world = gh.st.world.lock();
    let me = world.owner(Forge::Github, &login).map(|o| o.id);
    let affiliation = match gh.q("type") {
        Some("owner") => "owner".to_string(),
        Some("member") => "organization_member".to_string(),
        _ => gh
            .q("affiliation")
            .unwrap_or("owner,collaborator,organization_member")
            .to_string(),
    };
    let visibility = match gh.q("type") {
        Some(t @ ("public" | "private")) => t,
        _ => gh.q("visibility").unwrap_or("all"),
    };
    let mut repos: Vec<&Repository> = world
        .repos
        .values()
        .filter(|r| r.forge == Forge::Github)
        .filter(|r| {
            let owner = world.owners.get(&r.owner_id);
            let mine = Some(r.owner_id) == me;
            let org = owner.is_some_and(|o| o.kind == OwnerKind::Organization);
            (mine && affiliation.contains("owner"))
                || (org && affiliation.contains("organization_member"))
        })
        .filter(|r| match visibility {
            "public" => r.visibility == Visibility::Public,
            "private" => r.visibility != Visibility::Public,
            _ => true,
        })
        .collect();
    if let Err(e) = sort_repos(&gh, &mut repos, "full_name") {
        return e;
    }
    repo_page(&gh, &world, repos, "/user/repos")
}

async fn get_repo(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    match gh.repo(&world, &p) {
        Ok(r) => ok(full_repo_json(&world, r, &gh.base)),
        Err(e) => e,
    }
}

#[derive(Deserialize)]
struct CreateRepo {
    name: String,
    description: Option<String>,
    #[serde(default)]
    private: bool,
    visibility: Option<String>,
    #[serde(default)]
    auto_init: bool,
}

/// Repository names GitHub accepts: other characters become `-`.
fn clean_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn name_taken(gh: &Gh) -> Response {
    gh.validation_with(
        "Repository creation failed.",
        vec![
            json!({ "resource": "Repository", "code": "custom", "field": "name",
                     "message": "name already exists on this account" }),
        ],
    )
}

async fn create_repo(gh: Gh, org: Option<Path<String>>, body: Bytes) -> Response {
    let login = match gh.user() {
        Ok(l) => l,
        Err(e) => return e,
    };
    let req: CreateRepo = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let name = clean_name(req.name.trim());
    if name.is_empty() {
        return gh.validation(vec![
            json!({ "resource": "Repository", "code": "missing_field", "field": "name" }),
        ]);
    }
    let mut world = gh.st.world.lock();
    let (owner, kind) = match &org {
        Some(Path(org)) => match world.owner(Forge::Github, org) {
            Some(o) if o.kind == OwnerKind::Organization => {
                (o.name.clone(), OwnerKind::Organization)
            }
            _ => return gh.not_found(),
        },
        None => (login.clone(), OwnerKind::User),
    };
    let full = format!("{owner}/{name}");
    if world.repo(Forge::Github, &full).is_some() {
        return name_taken(&gh);
    }
    let id = match world.create_repo_record(Forge::Github, &full, kind, "main") {
        Ok(id) => id,
        Err(e) => return gh.error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let private = req.private || req.visibility.as_deref() == Some("private");
    let mut labels = Vec::new();
    for (n, color, description) in DEFAULT_LABELS {
        labels.push(Label {
            id: world.next_id(),
            name: n.into(),
            color: color.into(),
            description: Some(description.into()),
        });
    }
    if let Some(r) = world.repos.get_mut(&id) {
        r.description = req.description.clone().filter(|d| !d.is_empty());
        r.visibility = if private {
            Visibility::Private
        } else {
            Visibility::Public
        };
        r.labels = labels;
    }
    if req.auto_init {
        let mut readme = format!("# {name}\n");
        if let Some(d) = req.description.as_deref().filter(|d| !d.is_empty()) {
            readme.push_str(&format!("{d}\n"));
        }
        let mut author = noreply(&world, &login);
        author.time = Some(world.now());
        let change = [FileChange::write("README.md", readme)];
        if let Err(e) = world.commit_files(id, "main", &change, "Initial commit", &author) {
            return gh.error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
        }
    }
    let r = &world.repos[&id];
    created(
        full_repo_json(&world, r, &gh.base),
        &gh.base.repo_api(&full),
    )
}

#[derive(Deserialize)]
struct UpdateRepo {
    name: Option<String>,
    description: Option<String>,
    private: Option<bool>,
    visibility: Option<String>,
    default_branch: Option<String>,
    archived: Option<bool>,
}

async fn update_repo(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    if let Err(e) = gh.user() {
        return e;
    }
    let req: UpdateRepo = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut world = gh.st.world.lock();
    let (id, archived, git_dir, owner) = match gh.repo(&world, &p) {
        Ok(r) => {
            let owner = r.full_path.rsplit_once('/').map(|(o, _)| o.to_string());
            (
                r.id,
                r.archived,
                r.git_dir.clone(),
                owner.unwrap_or_default(),
            )
        }
        Err(e) => return e,
    };
    let other_changes = req.name.is_some()
        || req.description.is_some()
        || req.private.is_some()
        || req.visibility.is_some()
        || req.default_branch.is_some();
    if archived && req.archived != Some(false) && other_changes {
        return gh.error(
            StatusCode::FORBIDDEN,
            "Repository was archived so is read-only.",
        );
    }
    if let Some(branch) = &req.default_branch {
        let exists = gitstore::resolve(&git_dir, &format!("refs/heads/{branch}"))
            .ok()
            .flatten()
            .is_some();
        if !exists && !gitops::is_empty(&git_dir) {
            return gh.validation(vec![json!({ "resource": "Repository", "code": "invalid",
                                            "field": "default_branch" })]);
        }
        if let Err(e) = gitstore::set_head(&git_dir, branch) {
            return gh.error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
        }
    }
    let new_name = req.name.as_deref().map(|n| clean_name(n.trim()));
    if let Some(n) = &new_name {
        let full = format!("{owner}/{n}");
        if n.is_empty() {
            return gh.validation(vec![
                json!({ "resource": "Repository", "code": "missing_field", "field": "name" }),
            ]);
        }
        if world
            .repo(Forge::Github, &full)
            .is_some_and(|other| other.id != id)
        {
            return name_taken(&gh);
        }
    }
    let now = world.now();
    let r = world.repos.get_mut(&id).expect("looked up above");
    if let Some(n) = new_name {
        r.full_path = format!("{owner}/{n}");
        r.name = n;
    }
    if let Some(d) = req.description {
        r.description = (!d.is_empty()).then_some(d);
    }
    let private = req
        .private
        .or(req.visibility.as_deref().map(|v| v == "private"));
    if let Some(private) = private {
        r.visibility = if private {
            Visibility::Private
        } else {
            Visibility::Public
        };
    }
    if let Some(b) = req.default_branch {
        r.default_branch = b;
    }
    if let Some(a) = req.archived {
        r.archived = a;
    }
    r.updated_at = now;
    let r = &world.repos[&id];
    ok(full_repo_json(&world, r, &gh.base))
}

async fn delete_repo(gh: Gh, Path(p): Path<Params>) -> Response {
    if let Err(e) = gh.user() {
        return e;
    }
    let mut world = gh.st.world.lock();
    let id = match gh.repo(&world, &p) {
        Ok(r) if r.archived => {
            return gh.error(
                StatusCode::FORBIDDEN,
                "Repository was archived so is read-only.",
            )
        }
        Ok(r) => r.id,
        Err(e) => return e,
    };
    world.repos.remove(&id);
    world.proposals.retain(|_, p| p.repo_id != id);
    no_content()
}

async fn list_branches(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let repo = match gh.repo(&world, &p) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let refs = gitstore::refs(&repo.git_dir).unwrap_or_default();
    let branches: Vec<Value> = if gh.q("protected") == Some("true") {
        Vec::new()
    } else {
        refs.iter()
            .filter_map(|(name, oid)| Some((name.strip_prefix("refs/heads/")?, oid)))
            .map(|(name, oid)| short_branch_json(name, oid, repo, &gh.base))
            .collect()
    };
    gh.list(branches, &format!("/repositories/{}/branches", repo.id))
}

async fn get_branch(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let repo = match gh.repo(&world, &p) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let branch = &p["branch"];
    let info = gitstore::resolve(&repo.git_dir, &format!("refs/heads/{branch}"))
        .ok()
        .flatten()
        .and_then(|oid| gitstore::commit_info(&repo.git_dir, &oid).ok().flatten());
    let Some(info) = info else {
        return gh.error(StatusCode::NOT_FOUND, "Branch not found");
    };
    let api = gh.base.repo_api(&repo.full_path);
    ok(json!({
        "name": branch,
        "commit": commit_json(&world, repo, &info, &gh.base, true),
        "_links": {
            "self": format!("{api}/branches/{branch}"),
            "html": format!("{}/tree/{branch}", gh.base.repo_web(&repo.full_path)),
        },
        "protected": false,
        "protection": {
            "enabled": false,
            "required_status_checks": { "enforcement_level": "off", "contexts": [], "checks": [] },
        },
        "protection_url": format!("{api}/branches/{branch}/protection"),
    }))
}
