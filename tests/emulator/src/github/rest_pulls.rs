//! REST pull requests: list (filters `state`, `head=owner:branch` — a head
//! without owner is ignored, as on GitHub — `base`, `sort`, `direction`),
//! create (422 on a duplicate open head, on no commits between the branches,
//! on missing branches), get, update (title, body, state, base), merge
//! (`PUT .../merge`: merge commit, squash or rebase, with `sha` checked) and
//! requested reviewers.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::gitstore;
use crate::server::AppState;
use crate::world::{Forge, Proposal, ProposalState, Repository, World};

use super::gitops;
use super::http::{created, error_with, no_content, ok, Gh, Params};
use super::pulls::{self, GhState, MergeRequest, Method};

pub fn routes() -> Router<AppState> {
    let r = "/repos/{owner}/{repo}/pulls";
    Router::new()
        .route(r, get(list).post(create))
        .route("/repositories/{repository_id}/pulls", get(list))
        .route(&format!("{r}/{{pull_number}}"), get(get_one).patch(update))
        .route(
            &format!("{r}/{{pull_number}}/merge"),
            get(is_merged).put(merge),
        )
        .route(
            &format!("{r}/{{pull_number}}/requested_reviewers"),
            get(list_reviewers)
                .post(add_reviewers)
                .delete(remove_reviewers),
        )
}

/// The repository id and the proposal id of `pull_number`, after a sync.
fn locate(gh: &Gh, world: &mut World, p: &Params) -> Result<(u64, u64), Response> {
    let repo_id = gh.repo(world, p)?.id;
    pulls::sync(world, repo_id);
    let number: u64 = p
        .get("pull_number")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| gh.not_found())?;
    let id = world
        .proposals
        .values()
        .find(|x| x.repo_id == repo_id && x.number == number && x.forge == Forge::Github)
        .map(|x| x.id)
        .ok_or_else(|| gh.not_found())?;
    Ok((repo_id, id))
}

fn render(gh: &Gh, world: &World, repo_id: u64, id: u64, full: bool) -> Value {
    let repo = &world.repos[&repo_id];
    pulls::pr_json(world, repo, &world.proposals[&id], &gh.base, full)
}

async fn list(gh: Gh, Path(p): Path<Params>) -> Response {
    let mut world = gh.st.world.lock();
    let (repo_id, owner) = match gh.repo(&world, &p) {
        Ok(r) => (
            r.id,
            r.full_path.split('/').next().unwrap_or("").to_string(),
        ),
        Err(e) => return e,
    };
    pulls::sync(&mut world, repo_id);
    let state = gh.q("state").unwrap_or("open");
    if !matches!(state, "open" | "closed" | "all") {
        return gh.invalid_request(&format!("state {state:?} is not a valid value"));
    }
    // `head` needs `owner:branch`; without the owner GitHub ignores it.
    let head = gh.q("head").and_then(|h| h.split_once(':'));
    let base = gh.q("base");
    let sort = gh.q("sort").unwrap_or("created");
    let mut prs: Vec<&Proposal> = world
        .proposals_of(repo_id)
        .into_iter()
        .filter(|x| x.forge == Forge::Github)
        .filter(|x| match state {
            "open" => x.state == ProposalState::Open,
            "closed" => x.state != ProposalState::Open,
            _ => true,
        })
        .filter(|x| head.is_none_or(|(o, b)| o.eq_ignore_ascii_case(&owner) && x.head == b))
        .filter(|x| base.is_none_or(|b| x.base == b))
        .collect();
    let desc = match gh.q("direction") {
        Some("asc") => false,
        Some("desc") => true,
        _ => sort == "created",
    };
    match sort {
        "updated" => prs.sort_by_key(|x| (x.updated_at, x.number)),
        "popularity" => prs.sort_by_key(|x| (x.comments.len(), x.number)),
        "long-running" => prs.sort_by_key(|x| (std::cmp::Reverse(x.created_at), x.number)),
        _ => prs.sort_by_key(|x| (x.created_at, x.number)),
    }
    if desc {
        prs.reverse();
    }
    let link = format!("/repositories/{repo_id}/pulls");
    let (page, link) = gh.paginate(prs, &link);
    let repo = &world.repos[&repo_id];
    let items: Vec<Value> = page
        .into_iter()
        .map(|x| pulls::pr_json(&world, repo, x, &gh.base, false))
        .collect();
    let mut response = ok(Value::Array(items));
    if let Some(v) = link.and_then(|l| axum::http::HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(axum::http::header::LINK, v);
    }
    response
}

#[derive(Deserialize)]
struct CreatePull {
    title: Option<String>,
    head: String,
    base: String,
    body: Option<String>,
    maintainer_can_modify: Option<bool>,
    #[serde(default)]
    draft: bool,
    issue: Option<u64>,
}

fn branch_oid(repo: &Repository, branch: &str) -> Option<String> {
    gitstore::resolve(&repo.git_dir, &format!("refs/heads/{branch}"))
        .ok()
        .flatten()
}

async fn create(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: CreatePull = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut world = gh.st.world.lock();
    let repo = match gh.repo(&world, &p) {
        Ok(r) => r.clone(),
        Err(e) => return e,
    };
    let user = match gh.writable(&repo) {
        Ok(u) => u,
        Err(e) => return e,
    };
    pulls::sync(&mut world, repo.id);
    let owner = repo.full_path.split('/').next().unwrap_or("").to_string();
    let head = match req.head.split_once(':') {
        Some((o, b)) if o.eq_ignore_ascii_case(&owner) => b.to_string(),
        Some(_) => {
            return gh.validation(vec![
                json!({ "resource": "PullRequest", "field": "head", "code": "invalid" }),
            ])
        }
        None => req.head.clone(),
    };
    let title = req.title.clone().unwrap_or_default();
    if title.trim().is_empty() && req.issue.is_none() {
        return gh.validation(vec![
            json!({ "resource": "PullRequest", "code": "missing_field", "field": "title" }),
        ]);
    }
    let Some(base_oid) = branch_oid(&repo, &req.base) else {
        return gh.validation(vec![
            json!({ "resource": "PullRequest", "field": "base", "code": "invalid" }),
        ]);
    };
    let Some(head_oid) = branch_oid(&repo, &head) else {
        return gh.validation(vec![
            json!({ "resource": "PullRequest", "field": "head", "code": "invalid" }),
        ]);
    };
    let duplicate = world.proposals.values().any(|x| {
        x.repo_id == repo.id
            && x.forge == Forge::Github
            && x.state == ProposalState::Open
            && x.head == head
            && x.base == req.base
    });
    if duplicate {
        return gh.validation(vec![json!({ "resource": "PullRequest", "code": "custom",
            "message": format!("A pull request already exists for {owner}:{head}.") })]);
    }
    if gitops::merge_base(&repo.git_dir, &base_oid, &head_oid).is_none() {
        return gh.validation(vec![json!({ "resource": "PullRequest", "code": "custom",
            "message": format!("The {head} branch has no history in common with {}", req.base) })]);
    }
    let ahead = gitops::commits_between(&repo.git_dir, &base_oid, &head_oid).unwrap_or_default();
    if ahead.is_empty() {
        return gh.validation(vec![json!({ "resource": "PullRequest", "code": "custom",
            "message": format!("No commits between {} and {head}", req.base) })]);
    }
    let number = match world.take_number(repo.id) {
        Ok(n) => n,
        Err(e) => return gh.error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let id = world.next_id();
    let now = world.now();
    world.proposals.insert(
        id,
        Proposal {
            id,
            forge: Forge::Github,
            repo_id: repo.id,
            number,
            head: head.clone(),
            base: req.base.clone(),
            title,
            body: req.body.clone().unwrap_or_default(),
            state: ProposalState::Open,
            draft: req.draft,
            author: user,
            labels: Vec::new(),
            reviewers: Vec::new(),
            comments: Vec::new(),
            created_at: now,
            updated_at: now,
            closed_at: None,
            merged_at: None,
            merge_commit: None,
        },
    );
    let extra = world.ext_mut::<GhState>().prs.entry(id).or_default();
    extra.head_sha = head_oid;
    extra.base_sha = base_oid;
    extra.maintainer_can_modify = req.maintainer_can_modify.unwrap_or(false);
    let body = render(&gh, &world, repo.id, id, true);
    let location = body["url"].as_str().unwrap_or_default().to_string();
    created(body, &location)
}

async fn get_one(gh: Gh, Path(p): Path<Params>) -> Response {
    let mut world = gh.st.world.lock();
    match locate(&gh, &mut world, &p) {
        Ok((repo_id, id)) => ok(render(&gh, &world, repo_id, id, true)),
        Err(e) => e,
    }
}

#[derive(Deserialize)]
struct UpdatePull {
    title: Option<String>,
    body: Option<String>,
    state: Option<String>,
    base: Option<String>,
    maintainer_can_modify: Option<bool>,
}

async fn update(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: UpdatePull = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut world = gh.st.world.lock();
    let (repo_id, id) = match locate(&gh, &mut world, &p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let repo = world.repos[&repo_id].clone();
    if let Err(e) = gh.writable(&repo) {
        return e;
    }
    let current = world.proposals[&id].clone();
    if let Some(b) = &req.base {
        if branch_oid(&repo, b).is_none() {
            return gh.validation(vec![
                json!({ "resource": "PullRequest", "field": "base", "code": "invalid" }),
            ]);
        }
    }
    let reopen = req.state.as_deref() == Some("open") && current.state != ProposalState::Open;
    match req.state.as_deref() {
        None | Some("open") | Some("closed") => {}
        Some(other) => return gh.invalid_request(&format!("state {other:?} is not a valid value")),
    }
    if current.state == ProposalState::Merged && req.state.is_some() {
        return gh.validation(vec![json!({ "resource": "PullRequest", "code": "custom",
            "message": "Cannot change the state of a merged pull request." })]);
    }
    if reopen {
        let base = req.base.clone().unwrap_or(current.base.clone());
        let clash = world.proposals.values().any(|x| {
            x.repo_id == repo_id
                && x.id != id
                && x.state == ProposalState::Open
                && x.head == current.head
                && x.base == base
        });
        if clash || branch_oid(&repo, &current.head).is_none() {
            return gh.validation(vec![json!({ "resource": "PullRequest", "code": "custom",
                "message": format!("state cannot be changed. A pull request already exists for {}:{}.",
                    repo.full_path.split('/').next().unwrap_or(""), current.head) })]);
        }
    }
    let now = world.now();
    if req.state.as_deref() == Some("closed") && current.state == ProposalState::Open {
        let x = pulls::extra(&world, id);
        if !x.head_sha.is_empty() && !x.base_sha.is_empty() {
            let frozen = pulls::stats(&repo.git_dir, &x.base_sha, &x.head_sha);
            world.ext_mut::<GhState>().prs.entry(id).or_default().frozen = Some(frozen);
        }
    }
    if let Some(m) = req.maintainer_can_modify {
        world
            .ext_mut::<GhState>()
            .prs
            .entry(id)
            .or_default()
            .maintainer_can_modify = m;
    }
    let pr = world.proposals.get_mut(&id).expect("located");
    if let Some(t) = req.title {
        pr.title = t;
    }
    if let Some(b) = req.body {
        pr.body = b;
    }
    if let Some(b) = req.base {
        pr.base = b;
    }
    match req.state.as_deref() {
        Some("closed") if pr.state == ProposalState::Open => {
            pr.state = ProposalState::Closed;
            pr.closed_at = Some(now);
        }
        Some("open") if pr.state == ProposalState::Closed => {
            pr.state = ProposalState::Open;
            pr.closed_at = None;
        }
        _ => {}
    }
    pr.updated_at = now;
    pulls::sync(&mut world, repo_id);
    ok(render(&gh, &world, repo_id, id, true))
}

async fn is_merged(gh: Gh, Path(p): Path<Params>) -> Response {
    let mut world = gh.st.world.lock();
    match locate(&gh, &mut world, &p) {
        Ok((_, id)) if world.proposals[&id].state == ProposalState::Merged => no_content(),
        // Documented without a body.
        Ok(_) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => e,
    }
}

#[derive(Deserialize, Default)]
struct MergeBody {
    commit_title: Option<String>,
    commit_message: Option<String>,
    sha: Option<String>,
    merge_method: Option<String>,
}

async fn merge(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: MergeBody = if body.trim_ascii() == b"null" {
        MergeBody::default()
    } else {
        match gh.body(&body) {
            Ok(r) => r,
            Err(e) => return e,
        }
    };
    let method = match req.merge_method.as_deref().unwrap_or("merge") {
        "merge" => Method::Merge,
        "squash" => Method::Squash,
        "rebase" => Method::Rebase,
        other => {
            return gh.invalid_request(&format!("merge_method {other:?} is not a valid value"))
        }
    };
    let mut world = gh.st.world.lock();
    let (repo_id, id) = match locate(&gh, &mut world, &p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let user = match gh.writable(&world.repos[&repo_id]) {
        Ok(u) => u,
        Err(e) => return e,
    };
    let request = MergeRequest {
        method,
        title: req.commit_title.as_deref(),
        message: req.commit_message.as_deref(),
        sha: req.sha.as_deref(),
        merger: &user,
    };
    match pulls::merge_pr(&mut world, id, &request) {
        Ok(sha) => {
            ok(json!({ "sha": sha, "merged": true, "message": "Pull Request successfully merged" }))
        }
        Err((status, message)) => error_with(status, &message, &gh.doc),
    }
}

fn review_request_json(gh: &Gh, world: &World, id: u64) -> Value {
    let users: Vec<Value> = world.proposals[&id]
        .reviewers
        .iter()
        .map(|r| super::shapes::login_json(world, r, &gh.base))
        .collect();
    json!({ "users": users, "teams": [] })
}

async fn list_reviewers(gh: Gh, Path(p): Path<Params>) -> Response {
    let mut world = gh.st.world.lock();
    match locate(&gh, &mut world, &p) {
        Ok((_, id)) => ok(review_request_json(&gh, &world, id)),
        Err(e) => e,
    }
}

#[derive(Deserialize)]
struct Reviewers {
    #[serde(default)]
    reviewers: Vec<String>,
    #[serde(default)]
    team_reviewers: Vec<String>,
}

/// GitHub says "Reviews may only be requested from collaborators. One or
/// more of the users or teams you specified is not a collaborator of the
/// OWNER/REPO repository." (or "Review cannot be requested from pull request
/// author."), but the description documents this 422 without a body.
fn not_collaborator() -> Response {
    StatusCode::UNPROCESSABLE_ENTITY.into_response()
}

async fn add_reviewers(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: Reviewers = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if req.reviewers.is_empty() && req.team_reviewers.is_empty() {
        return gh.invalid_request("reviewers or team_reviewers is required");
    }
    let mut world = gh.st.world.lock();
    let (repo_id, id) = match locate(&gh, &mut world, &p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Err(e) = gh.writable(&world.repos[&repo_id]) {
        return e;
    }
    // The emulator has no teams; every GitHub user is a collaborator.
    if !req.team_reviewers.is_empty() {
        return not_collaborator();
    }
    let mut logins = Vec::new();
    for r in &req.reviewers {
        match world.owner(Forge::Github, r) {
            Some(o) if o.kind != crate::world::OwnerKind::Organization => {
                logins.push(o.name.clone())
            }
            _ => return not_collaborator(),
        }
    }
    let author = world.proposals[&id].author.clone();
    if logins.iter().any(|l| l.eq_ignore_ascii_case(&author)) {
        return not_collaborator();
    }
    let now = world.now();
    let pr = world.proposals.get_mut(&id).expect("located");
    for l in logins {
        if !pr.reviewers.contains(&l) {
            pr.reviewers.push(l);
        }
    }
    pr.updated_at = now;
    let body = render(&gh, &world, repo_id, id, false);
    let location = body["url"].as_str().unwrap_or_default().to_string();
    created(body, &location)
}

async fn remove_reviewers(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: Reviewers = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut world = gh.st.world.lock();
    let (repo_id, id) = match locate(&gh, &mut world, &p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Err(e) = gh.writable(&world.repos[&repo_id]) {
        return e;
    }
    let now = world.now();
    let pr = world.proposals.get_mut(&id).expect("located");
    pr.reviewers
        .retain(|r| !req.reviewers.iter().any(|x| x.eq_ignore_ascii_case(r)));
    pr.updated_at = now;
    ok(render(&gh, &world, repo_id, id, false))
}
