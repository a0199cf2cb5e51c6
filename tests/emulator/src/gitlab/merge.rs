//! `PUT /projects/{id}/merge_requests/{merge_request_iid}/merge`: merges
//! for real with git2. The project's `merge_method` decides: `merge` (the
//! default) always writes a merge commit with both parents, `rebase_merge`
//! does so only when the source is on top of the target, `ff` fast-forwards
//! only. `squash` first squashes the source into one commit on the merge
//! base. Optional `sha` must be the source head (409 otherwise); a closed,
//! merged, draft or conflicting merge request answers 405; with
//! `should_remove_source_branch` (or the MR's `remove_source_branch`) the
//! source branch is deleted afterwards.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::put;
use axum::{Extension, Router};

use super::git::{self, MergeFailure};
use super::merge_requests::{find_mr, render};
use super::params::Params;
use super::state::{self, MergeMethod};
use super::{api_error, internal, ok, open_git, writable, Reply};
use crate::auth::Caller;
use crate::server::AppState;
use crate::world::ProposalState;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v4/projects/{id}/merge_requests/{merge_request_iid}/merge",
        put(merge),
    )
}

fn not_allowed() -> Response {
    api_error(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed")
}

async fn merge(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, iid)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let merge_message = params.str("merge_commit_message")?;
    let squash_message = params.str("squash_commit_message")?;
    let squash_param = params.bool("squash")?;
    let remove_param = params.bool("should_remove_source_branch")?;
    let sha = params.str("sha")?;
    params.bool("merge_when_pipeline_succeeds")?;
    params.bool("auto_merge")?;
    let mut world = st.world.lock();
    let (pid, user) = writable(&world, &caller, &id)?;
    let mid = find_mr(&world, pid, &iid)?;
    let p = world.proposals[&mid].clone();
    let r = world.repos[&pid].clone();
    let extra = state::mr(&world, mid);
    let method = state::project(&world, pid).merge_method;
    if p.state != ProposalState::Open || p.draft {
        return Err(not_allowed());
    }
    let repo = open_git(&r)?;
    let (Some(head), Some(target)) = (
        git::branch_head(&repo, &p.head),
        git::branch_head(&repo, &p.base),
    ) else {
        return Err(not_allowed());
    };
    if sha.as_deref().is_some_and(|s| s != head.to_string()) {
        return Err(api_error(
            StatusCode::CONFLICT,
            format!("SHA does not match HEAD of source branch: {head}"),
        ));
    }
    let now = world.now();
    let email = format!("{user}@example.com");
    let me = git::signature(&user, &email, now).map_err(internal)?;
    let base = repo.merge_base(target, head).map_err(|_| not_allowed())?;
    let squash = squash_param.unwrap_or(extra.squash);
    let mut merged_head = head;
    let mut squash_commit = None;
    if squash {
        let author = repo
            .find_commit(head)
            .map_err(internal)?
            .author()
            .to_owned();
        let message = squash_message.unwrap_or_else(|| p.title.clone());
        let c =
            git::squash(&repo, base, head, &message, &author, &me).map_err(|_| not_allowed())?;
        squash_commit = Some(c.to_string());
        merged_head = c;
    }
    let message = merge_message.unwrap_or_else(|| {
        format!(
            "Merge branch '{}' into '{}'\n\n{}\n\nSee merge request {}!{}",
            p.head, p.base, p.title, r.full_path, p.number
        )
    });
    let ff_only = method == MergeMethod::Ff;
    if method == MergeMethod::RebaseMerge && base != target {
        return Err(not_allowed());
    }
    let new_target = match git::merge(&repo, target, merged_head, ff_only, &message, &me) {
        Ok(o) => o,
        Err(MergeFailure::Conflict | MergeFailure::NotFastForward) => return Err(not_allowed()),
        Err(MergeFailure::Git(e)) => return Err(internal(e)),
    };
    repo.reference_matching(
        &format!("refs/heads/{}", p.base),
        new_target,
        true,
        target,
        "gitlab: merge",
    )
    .map_err(|_| not_allowed())?;
    let remove = remove_param.unwrap_or(extra.force_remove_source_branch)
        || state::project(&world, pid).remove_source_branch_after_merge;
    if remove {
        if let Ok(mut reference) = repo.find_reference(&format!("refs/heads/{}", p.head)) {
            let _ = reference.delete();
        }
    }
    {
        let p = world.proposals.get_mut(&mid).expect("found above");
        p.state = ProposalState::Merged;
        p.merged_at = Some(now);
        p.updated_at = now;
        p.merge_commit = (new_target != merged_head).then(|| new_target.to_string());
    }
    if let Some(rr) = world.repos.get_mut(&pid) {
        rr.updated_at = now;
        rr.pushed_at = Some(now);
    }
    let extra = world.ext_mut::<state::State>().mrs.entry(mid).or_default();
    extra.merged_by = Some(user.clone());
    extra.merged_head = Some(merged_head.to_string());
    extra.merged_base = Some(target.to_string());
    extra.squash_commit = squash_commit;
    extra.should_remove_source_branch = remove_param;
    let r = &world.repos[&pid];
    Ok(ok(render(
        &world,
        &st.urls.gitlab,
        r,
        &world.proposals[&mid],
        Some(Some(&user)),
    )))
}
