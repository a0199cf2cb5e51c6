//! Notes on merge requests: list (`order_by` `created_at`/`updated_at`,
//! `sort`, default newest first; paginated), create, get, update, delete.
//!
//! Not in the shared OpenAPI subset (`SOURCES.md`: the notes section of
//! `openapi_v2.yaml` was not among the regions read), so the conformance
//! module lists these routes as known gaps; shapes follow GitLab's
//! `API::Entities::Note`.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::Value;

use super::entities::note_json;
use super::merge_requests::find_mr;
use super::params::Params;
use super::{created, not_found, ok, paged, readable, request_url, writable, Reply};
use crate::auth::Caller;
use crate::server::AppState;
use crate::world::Comment;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v4/projects/{id}/merge_requests/{merge_request_iid}/notes",
            get(list).post(create),
        )
        .route(
            "/api/v4/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}",
            get(get_one).put(update).delete(delete),
        )
}

async fn list(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, iid)): Path<(String, String)>,
    uri: Uri,
    params: Params,
) -> Reply {
    let page = params.page()?;
    let by_updated = params
        .one_of("order_by", &["created_at", "updated_at"])?
        .as_deref()
        == Some("updated_at");
    let asc = params.one_of("sort", &["asc", "desc"])?.as_deref() == Some("asc");
    let world = st.world.lock();
    let r = readable(&world, &caller, &id)?;
    let mid = find_mr(&world, r.id, &iid)?;
    let p = &world.proposals[&mid];
    let mut notes: Vec<&Comment> = p.comments.iter().collect();
    notes.sort_by_key(|c| {
        (
            if by_updated {
                c.updated_at
            } else {
                c.created_at
            },
            c.id,
        )
    });
    if !asc {
        notes.reverse();
    }
    let items: Vec<Value> = notes
        .into_iter()
        .map(|c| note_json(&world, c, p, &st.urls.gitlab))
        .collect();
    Ok(paged(&page, items, &request_url(&st.urls.gitlab, &uri)))
}

async fn create(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, iid)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let body = params.required_str("body")?;
    params.bool("internal")?;
    let mut world = st.world.lock();
    let (pid, user) = writable(&world, &caller, &id)?;
    let mid = find_mr(&world, pid, &iid)?;
    let note_id = world.next_id();
    let now = world.now();
    let p = world.proposals.get_mut(&mid).expect("found above");
    p.comments.push(Comment {
        id: note_id,
        author: user,
        body,
        created_at: now,
        updated_at: now,
    });
    p.updated_at = now;
    let p = &world.proposals[&mid];
    let c = p.comments.last().expect("just pushed");
    Ok(created(note_json(&world, c, p, &st.urls.gitlab)))
}

fn note_index(
    world: &crate::world::World,
    mid: u64,
    note: &str,
) -> Result<usize, axum::response::Response> {
    let n: u64 = note
        .parse()
        .map_err(|_| super::params::invalid("note_id"))?;
    world.proposals[&mid]
        .comments
        .iter()
        .position(|c| c.id == n)
        .ok_or_else(|| not_found("Note"))
}

async fn get_one(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, iid, note)): Path<(String, String, String)>,
) -> Reply {
    let world = st.world.lock();
    let r = readable(&world, &caller, &id)?;
    let mid = find_mr(&world, r.id, &iid)?;
    let i = note_index(&world, mid, &note)?;
    let p = &world.proposals[&mid];
    Ok(ok(note_json(&world, &p.comments[i], p, &st.urls.gitlab)))
}

async fn update(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, iid, note)): Path<(String, String, String)>,
    params: Params,
) -> Reply {
    let body = params.required_str("body")?;
    let mut world = st.world.lock();
    let (pid, user) = writable(&world, &caller, &id)?;
    let mid = find_mr(&world, pid, &iid)?;
    let i = note_index(&world, mid, &note)?;
    let now = world.now();
    let c = &mut world.proposals.get_mut(&mid).expect("found above").comments[i];
    if c.author != user {
        return Err(super::forbidden());
    }
    c.body = body;
    c.updated_at = now;
    let p = &world.proposals[&mid];
    Ok(ok(note_json(&world, &p.comments[i], p, &st.urls.gitlab)))
}

async fn delete(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, iid, note)): Path<(String, String, String)>,
) -> Reply {
    let mut world = st.world.lock();
    let (pid, _) = writable(&world, &caller, &id)?;
    let mid = find_mr(&world, pid, &iid)?;
    let i = note_index(&world, mid, &note)?;
    world
        .proposals
        .get_mut(&mid)
        .expect("found above")
        .comments
        .remove(i);
    Ok(StatusCode::NO_CONTENT.into_response())
}
