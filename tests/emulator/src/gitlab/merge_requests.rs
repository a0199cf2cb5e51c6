//! Merge requests: list (`state`, `source_branch`, `target_branch`,
//! `labels`, `author_username`, `reviewer_username`, `iids[]`, `search`,
//! `order_by`, `sort`, pagination), create (409 "Another open merge request
//! already exists for this source branch: !N" on a duplicate), get, update
//! (`title`, `description`, `labels`, `add_labels`, `remove_labels`,
//! `reviewer_ids`, `assignee_ids`, `target_branch`, `state_event:
//! close|reopen`, `remove_source_branch`, `squash`), delete, and merge
//! (`PUT …/merge`: a real merge commit, or a fast-forward when the project's
//! `merge_method` is `ff`, optional squash; then state `merged`).

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{json, Value};

use super::entities::{login_of, mr_json, MrGit};
use super::git;
use super::params::Params;
use super::state::{self, MrExtra};
use super::{
    api_error, bad_param, created, internal, not_found, ok, open_git, paged, readable, request_url,
    require_user, writable, Reply,
};
use crate::auth::Caller;
use crate::server::AppState;
use crate::world::{Label, Proposal, ProposalState, Repository, World};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v4/projects/{id}/merge_requests",
            get(list).post(create),
        )
        .route(
            "/api/v4/projects/{id}/merge_requests/{merge_request_iid}",
            get(get_one).put(update).delete(delete),
        )
}

/// What git says about a merge request now.
pub fn mr_git(repo: &git2::Repository, p: &Proposal, extra: &MrExtra) -> MrGit {
    let head = git::branch_head(repo, &p.head);
    let target = git::branch_head(repo, &p.base);
    if p.state == ProposalState::Merged {
        let sha = extra.merged_head.clone().or(head.map(|h| h.to_string()));
        return MrGit {
            sha,
            base_sha: extra.merged_base.clone(),
            start_sha: extra.merged_base.clone(),
            has_conflicts: false,
            changes_count: None,
        };
    }
    let base = match (target, head) {
        (Some(t), Some(h)) => repo.merge_base(t, h).ok(),
        _ => None,
    };
    let changes = match (base, head) {
        (Some(b), Some(h)) => {
            let old = repo.find_commit(b).and_then(|c| c.tree()).ok();
            let new = repo.find_commit(h).and_then(|c| c.tree()).ok();
            repo.diff_tree_to_tree(old.as_ref(), new.as_ref(), None)
                .ok()
                .map(|d| d.deltas().len())
        }
        _ => None,
    };
    let conflicts = match (target, head) {
        (Some(t), Some(h)) => p.state == ProposalState::Open && !git::mergeable(repo, t, h),
        _ => false,
    };
    MrGit {
        sha: head.map(|h| h.to_string()),
        base_sha: base.map(|b| b.to_string()),
        start_sha: target.map(|t| t.to_string()),
        has_conflicts: conflicts,
        changes_count: changes,
    }
}

/// The JSON of one merge request (`detail` for single-MR answers).
pub fn render(
    world: &World,
    base: &str,
    r: &Repository,
    p: &Proposal,
    detail: Option<Option<&str>>,
) -> Value {
    let extra = state::mr(world, p.id);
    let g = git::open(&r.git_dir)
        .map(|repo| mr_git(&repo, p, &extra))
        .unwrap_or_default();
    mr_json(world, p, r, &g, base, detail)
}

/// The merge request `iid` of project `pid`, or 404.
pub fn find_mr(world: &World, pid: u64, iid: &str) -> Result<u64, Response> {
    let n: u64 = iid
        .parse()
        .map_err(|_| bad_param("merge_request_iid is invalid"))?;
    world
        .proposals
        .values()
        .find(|p| p.repo_id == pid && p.number == n)
        .map(|p| p.id)
        .ok_or_else(|| not_found("Merge Request"))
}

fn matches_labels(p: &Proposal, wanted: &[String]) -> bool {
    match wanted {
        [one] if one.eq_ignore_ascii_case("none") => p.labels.is_empty(),
        [one] if one.eq_ignore_ascii_case("any") => !p.labels.is_empty(),
        _ => wanted.iter().all(|w| p.labels.iter().any(|l| l == w)),
    }
}

async fn list(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    uri: Uri,
    params: Params,
) -> Reply {
    let page = params.page()?;
    let state_filter = params
        .one_of("state", &["opened", "closed", "locked", "merged", "all"])?
        .unwrap_or_else(|| "all".into());
    let source = params.str("source_branch")?;
    let target = params.str("target_branch")?;
    let labels = params.list("labels")?;
    let author = params.str("author_username")?;
    let author_id = params.u64("author_id")?;
    let reviewer = params.str("reviewer_username")?;
    let reviewer_id = params.u64("reviewer_id")?;
    let iids = params.id_list("iids")?;
    let search = params.str("search")?.map(|s| s.to_lowercase());
    let order_by = params
        .one_of(
            "order_by",
            &[
                "created_at",
                "label_priority",
                "milestone_due",
                "popularity",
                "priority",
                "title",
                "updated_at",
                "merged_at",
            ],
        )?
        .unwrap_or_else(|| "created_at".into());
    let asc = params.one_of("sort", &["asc", "desc"])?.as_deref() == Some("asc");
    params.one_of("view", &["simple"])?;
    params.one_of(
        "scope",
        &[
            "created-by-me",
            "assigned-to-me",
            "created_by_me",
            "assigned_to_me",
            "reviews_for_me",
            "all",
        ],
    )?;
    params.one_of("wip", &["yes", "no"])?;
    params.bool("with_labels_details")?;
    params.bool("with_merge_status_recheck")?;
    let world = st.world.lock();
    let r = readable(&world, &caller, &id)?;
    let author_login = author_id.and_then(|i| login_of(&world, i));
    let reviewer_login = reviewer_id.and_then(|i| login_of(&world, i));
    let mut mrs: Vec<&Proposal> = world
        .proposals_of(r.id)
        .into_iter()
        .filter(|p| state_filter == "all" || super::entities::mr_state(p.state) == state_filter)
        .filter(|p| source.as_deref().is_none_or(|s| p.head == s))
        .filter(|p| target.as_deref().is_none_or(|t| p.base == t))
        .filter(|p| labels.as_deref().is_none_or(|l| matches_labels(p, l)))
        .filter(|p| author.as_deref().is_none_or(|a| p.author == a))
        .filter(|p| author_id.is_none() || author_login.as_deref() == Some(p.author.as_str()))
        .filter(|p| {
            reviewer
                .as_deref()
                .is_none_or(|u| p.reviewers.iter().any(|x| x == u))
        })
        .filter(|p| {
            reviewer_id.is_none()
                || reviewer_login
                    .as_ref()
                    .is_some_and(|u| p.reviewers.contains(u))
        })
        .filter(|p| iids.as_deref().is_none_or(|i| i.contains(&p.number)))
        .filter(|p| {
            search.as_deref().is_none_or(|s| {
                p.title.to_lowercase().contains(s) || p.body.to_lowercase().contains(s)
            })
        })
        .collect();
    mrs.sort_by(|a, b| {
        let key = match order_by.as_str() {
            "title" => a.title.cmp(&b.title),
            "updated_at" => a.updated_at.cmp(&b.updated_at),
            "merged_at" => a.merged_at.cmp(&b.merged_at),
            _ => a.created_at.cmp(&b.created_at),
        };
        key.then(a.id.cmp(&b.id))
    });
    if !asc {
        mrs.reverse();
    }
    let items: Vec<Value> = mrs
        .into_iter()
        .map(|p| render(&world, &st.urls.gitlab, r, p, None))
        .collect();
    Ok(paged(&page, items, &request_url(&st.urls.gitlab, &uri)))
}

/// `Draft:`, `[Draft]`, `(Draft)` and the older `WIP:` prefixes.
pub fn is_draft(title: &str) -> bool {
    let t = title.trim_start().to_ascii_lowercase();
    ["draft:", "[draft]", "(draft)", "draft -", "wip:", "[wip]"]
        .iter()
        .any(|p| t.starts_with(p))
}

/// Adds labels GitLab would create on first use to the project.
fn ensure_labels(world: &mut World, pid: u64, names: &[String]) {
    let missing: Vec<String> = {
        let r = &world.repos[&pid];
        names
            .iter()
            .filter(|n| !r.labels.iter().any(|l| &l.name == *n))
            .cloned()
            .collect()
    };
    for name in missing {
        let id = world.next_id();
        if let Some(r) = world.repos.get_mut(&pid) {
            r.labels.push(Label {
                id,
                name,
                color: "#6699cc".into(),
                description: None,
            });
        }
    }
}

fn dedup_sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

fn logins(world: &World, ids: &[u64]) -> Vec<String> {
    ids.iter().filter_map(|i| login_of(world, *i)).collect()
}

/// 409 when another open MR has the same source and target branches.
fn duplicate(
    world: &World,
    pid: u64,
    head: &str,
    base: &str,
    except: Option<u64>,
) -> Result<(), Response> {
    let other = world.proposals.values().find(|p| {
        p.repo_id == pid
            && p.state == ProposalState::Open
            && p.head == head
            && p.base == base
            && Some(p.id) != except
    });
    match other {
        Some(o) => Err(api_error(
            StatusCode::CONFLICT,
            json!([format!(
                "Another open merge request already exists for this source branch: !{}",
                o.number
            )]),
        )),
        None => Ok(()),
    }
}

async fn create(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    params: Params,
) -> Reply {
    params.require(&["source_branch", "target_branch", "title"])?;
    let head = params.required_str("source_branch")?;
    let base = params.required_str("target_branch")?;
    let title = params.required_str("title")?;
    let description = params.str("description")?.unwrap_or_default();
    let labels = params.list("labels")?.unwrap_or_default();
    let reviewer_ids = params.id_list("reviewer_ids")?.unwrap_or_default();
    let mut assignee_ids = params.id_list("assignee_ids")?.unwrap_or_default();
    if let Some(a) = params.u64("assignee_id")? {
        assignee_ids.push(a);
    }
    let remove_source = params.bool("remove_source_branch")?.unwrap_or(false);
    let squash = params.bool("squash")?.unwrap_or(false);
    let draft = is_draft(&title) || params.bool("draft")?.unwrap_or(false);
    if let Some(tp) = params.str("target_project_id")? {
        let world = st.world.lock();
        if super::find_project(&world, &tp).map(|r| r.id)
            != super::find_project(&world, &id).map(|r| r.id)
        {
            return Err(bad_param(
                "target_project_id: only same-project merge requests are emulated",
            ));
        }
    }
    let mut world = st.world.lock();
    let (pid, user) = writable(&world, &caller, &id)?;
    if head == base {
        return Err(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(["You can't use same project/branch for source and target"]),
        ));
    }
    {
        let repo = open_git(&world.repos[&pid])?;
        for (which, b) in [("Source", &head), ("Target", &base)] {
            if git::branch_head(&repo, b).is_none() {
                return Err(api_error(
                    StatusCode::BAD_REQUEST,
                    json!({ "base": [format!("{which} branch \"{b}\" does not exist")] }),
                ));
            }
        }
    }
    duplicate(&world, pid, &head, &base, None)?;
    let labels = dedup_sorted(labels);
    ensure_labels(&mut world, pid, &labels);
    let number = world.take_number(pid).map_err(internal)?;
    let pid_mr = world.next_id();
    let now = world.now();
    let proposal = Proposal {
        id: pid_mr,
        forge: crate::world::Forge::Gitlab,
        repo_id: pid,
        number,
        head,
        base,
        title,
        body: description,
        state: ProposalState::Open,
        draft,
        author: user.clone(),
        labels,
        reviewers: logins(&world, &reviewer_ids),
        comments: Vec::new(),
        created_at: now,
        updated_at: now,
        closed_at: None,
        merged_at: None,
        merge_commit: None,
    };
    let assignees = logins(&world, &assignee_ids);
    world.proposals.insert(pid_mr, proposal);
    world.ext_mut::<state::State>().mrs.insert(
        pid_mr,
        MrExtra {
            force_remove_source_branch: remove_source,
            squash,
            assignees,
            ..MrExtra::default()
        },
    );
    let r = &world.repos[&pid];
    Ok(created(render(
        &world,
        &st.urls.gitlab,
        r,
        &world.proposals[&pid_mr],
        Some(Some(&user)),
    )))
}

async fn get_one(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, iid)): Path<(String, String)>,
    params: Params,
) -> Reply {
    for flag in [
        "render_html",
        "include_diverged_commits_count",
        "include_rebase_in_progress",
    ] {
        params.bool(flag)?;
    }
    let world = st.world.lock();
    let r = readable(&world, &caller, &id)?;
    let mid = find_mr(&world, r.id, &iid)?;
    let viewer = caller.user.as_deref();
    Ok(ok(render(
        &world,
        &st.urls.gitlab,
        r,
        &world.proposals[&mid],
        Some(viewer),
    )))
}

const UPDATABLE: &[&str] = &[
    "add_labels",
    "allow_collaboration",
    "allow_maintainer_to_push",
    "assignee_id",
    "assignee_ids",
    "description",
    "discussion_locked",
    "labels",
    "milestone_id",
    "remove_labels",
    "remove_source_branch",
    "reviewer_ids",
    "squash",
    "state_event",
    "target_branch",
    "title",
];

async fn update(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, iid)): Path<(String, String)>,
    params: Params,
) -> Reply {
    if !UPDATABLE.iter().any(|k| params.has(k)) {
        return Err(bad_param(format!(
            "{} are missing, at least one parameter must be provided",
            UPDATABLE.join(", ")
        )));
    }
    let state_event = params.one_of("state_event", &["close", "reopen"])?;
    let title = params.str("title")?;
    let description = params.str("description")?;
    let labels = params.list("labels")?;
    let add = params.list("add_labels")?;
    let remove = params.list("remove_labels")?;
    let reviewer_ids = params.id_list("reviewer_ids")?;
    let assignee_ids = params.id_list("assignee_ids")?;
    let target = params.str("target_branch")?;
    let remove_source = params.bool("remove_source_branch")?;
    let squash = params.bool("squash")?;
    let mut world = st.world.lock();
    let (pid, user) = writable(&world, &caller, &id)?;
    let mid = find_mr(&world, pid, &iid)?;
    let (head, base, state_now) = {
        let p = &world.proposals[&mid];
        (
            p.head.clone(),
            target.clone().unwrap_or_else(|| p.base.clone()),
            p.state,
        )
    };
    if state_event.as_deref() == Some("reopen") && state_now == ProposalState::Closed {
        duplicate(&world, pid, &head, &base, Some(mid))?;
    }
    if let Some(t) = &target {
        let repo = open_git(&world.repos[&pid])?;
        if git::branch_head(&repo, t).is_none() {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                json!({ "base": [format!("Target branch \"{t}\" does not exist")] }),
            ));
        }
        if state_now == ProposalState::Open {
            duplicate(&world, pid, &head, t, Some(mid))?;
        }
    }
    let mut all_labels: Vec<String> = Vec::new();
    for l in [&labels, &add].into_iter().flatten() {
        all_labels.extend(l.iter().cloned());
    }
    ensure_labels(&mut world, pid, &all_labels);
    let reviewers = reviewer_ids.map(|ids| logins(&world, &ids));
    let assignees = assignee_ids.map(|ids| logins(&world, &ids));
    let now = world.now();
    let mut closed = false;
    {
        let p = world.proposals.get_mut(&mid).expect("found above");
        if let Some(t) = title {
            p.draft = is_draft(&t);
            p.title = t;
        }
        if let Some(d) = description {
            p.body = d;
        }
        if let Some(l) = labels {
            p.labels = dedup_sorted(l);
        }
        if let Some(a) = add {
            p.labels.extend(a);
            p.labels = dedup_sorted(std::mem::take(&mut p.labels));
        }
        if let Some(rm) = remove {
            p.labels.retain(|l| !rm.contains(l));
        }
        if let Some(r) = reviewers {
            p.reviewers = r;
        }
        if let Some(t) = target {
            p.base = t;
        }
        match (state_event.as_deref(), p.state) {
            (Some("close"), ProposalState::Open) => {
                p.state = ProposalState::Closed;
                p.closed_at = Some(now);
                closed = true;
            }
            (Some("reopen"), ProposalState::Closed) => {
                p.state = ProposalState::Open;
                p.closed_at = None;
            }
            _ => {}
        }
        p.updated_at = now;
    }
    let extra = world.ext_mut::<state::State>().mrs.entry(mid).or_default();
    if closed {
        extra.closed_by = Some(user.clone());
    } else if state_event.as_deref() == Some("reopen") {
        extra.closed_by = None;
    }
    if let Some(a) = assignees {
        extra.assignees = a;
    }
    if let Some(b) = remove_source {
        extra.force_remove_source_branch = b;
    }
    if let Some(s) = squash {
        extra.squash = s;
    }
    let r = &world.repos[&pid];
    Ok(ok(render(
        &world,
        &st.urls.gitlab,
        r,
        &world.proposals[&mid],
        Some(Some(&user)),
    )))
}

async fn delete(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, iid)): Path<(String, String)>,
) -> Reply {
    require_user(&caller)?;
    let mut world = st.world.lock();
    let (pid, _) = writable(&world, &caller, &id)?;
    let mid = find_mr(&world, pid, &iid)?;
    world.proposals.remove(&mid);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn draft_prefixes() {
        assert!(super::is_draft("Draft: x"));
        assert!(super::is_draft("[Draft] x"));
        assert!(!super::is_draft("Drafting tools"));
    }
}
