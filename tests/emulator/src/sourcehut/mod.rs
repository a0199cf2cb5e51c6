//! sourcehut: git.sr.ht GraphQL (`POST /query` on the git listener),
//! lists.sr.ht GraphQL (`POST /query` on the lists listener), and the SMTP
//! intake where patch mail becomes patchsets.
//!
//! Both services require `Authorization: Bearer <token>`, also on the
//! download URLs their objects hand out (`Blob.content`, `Email.envelope`,
//! `Patchset.mbox`, `MailingList.archive`).
//!
//! | module | owns |
//! |---|---|
//! | [`git`], [`objects`], [`admin`] | git.sr.ht resolvers; git objects from the bare repositories; repository mutations |
//! | [`lists`] | lists.sr.ht resolvers |
//! | [`smtp`], [`intake`] | the SMTP server; filing mail on lists, assembling patchsets |
//! | [`subject`], [`mail`] | patch subject parsing; headers, addresses, bodies |
//! | [`cursor`] | opaque cursors and pages |
//! | [`state`] | sourcehut's world extension |
//! | [`inspect`] | `Emulator::srht_*` seeding and inspection, mbox |

pub mod admin;
pub mod cursor;
pub mod git;
pub mod inspect;
pub mod intake;
pub mod lists;
pub mod mail;
pub mod objects;
pub mod smtp;
pub mod state;
pub mod subject;

use axum::extract::{Path, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};

use crate::auth::{self, Caller};
use crate::graphql::GraphqlRequest;
use crate::server::{AppState, Site};
use crate::world::Forge;

/// git.sr.ht's routes.
pub fn git_router(state: AppState) -> Router {
    Router::new()
        .route("/query", post(git_query))
        .route("/query/blob/{repo}/{oid}", get(blob))
        .with_state(state)
}

/// lists.sr.ht's routes.
pub fn lists_router(state: AppState) -> Router {
    Router::new()
        .route("/query", post(lists_query))
        .route("/query/email/{id}", get(envelope))
        .route("/query/patchset/{file}", get(patchset_mbox))
        .route("/query/list/{file}", get(list_mbox))
        .with_state(state)
}

async fn git_query(
    AxState(st): AxState<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<GraphqlRequest>,
) -> Response {
    if caller.user.is_none() {
        return auth::unauthorized(Site::SrhtGit);
    }
    st.graphql(Site::SrhtGit, caller, request, git::GitRoot)
        .await
}

async fn lists_query(
    AxState(st): AxState<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<GraphqlRequest>,
) -> Response {
    if caller.user.is_none() {
        return auth::unauthorized(Site::SrhtLists);
    }
    st.graphql(Site::SrhtLists, caller, request, lists::ListsRoot)
        .await
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found\n").into_response()
}

fn raw(content_type: &'static str, bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

/// `Blob.content`: the raw blob.
async fn blob(
    AxState(st): AxState<AppState>,
    Extension(caller): Extension<Caller>,
    Path((repo, oid)): Path<(u64, String)>,
) -> Response {
    if caller.user.is_none() {
        return auth::unauthorized(Site::SrhtGit);
    }
    let git_dir = {
        let world = st.world.lock();
        match world
            .repos
            .get(&repo)
            .filter(|r| r.forge == Forge::Sourcehut)
        {
            Some(r) => r.git_dir.clone(),
            None => return not_found(),
        }
    };
    match crate::gitstore::read_blob(&git_dir, &oid) {
        Ok(Some(bytes)) => raw("application/octet-stream", bytes),
        _ => not_found(),
    }
}

/// `Email.envelope`: the raw message.
async fn envelope(
    AxState(st): AxState<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<u64>,
) -> Response {
    if caller.user.is_none() {
        return auth::unauthorized(Site::SrhtLists);
    }
    let world = st.world.lock();
    match world.ext::<state::State>().and_then(|s| s.emails.get(&id)) {
        Some(e) => raw("message/rfc822", e.mail.raw.clone()),
        None => not_found(),
    }
}

fn mbox_id(file: &str) -> Option<u64> {
    file.strip_suffix(".mbox")?.parse().ok()
}

/// `Patchset.mbox`: the patches as an mbox.
async fn patchset_mbox(
    AxState(st): AxState<AppState>,
    Extension(caller): Extension<Caller>,
    Path(file): Path<String>,
) -> Response {
    if caller.user.is_none() {
        return auth::unauthorized(Site::SrhtLists);
    }
    let world = st.world.lock();
    match mbox_id(&file).and_then(|id| inspect::patch_mails(&world, id)) {
        Some(mails) => raw("application/mbox", inspect::mbox(&mails)),
        None => not_found(),
    }
}

/// `MailingList.archive`: every mail of the list as an mbox.
async fn list_mbox(
    AxState(st): AxState<AppState>,
    Extension(caller): Extension<Caller>,
    Path(file): Path<String>,
) -> Response {
    if caller.user.is_none() {
        return auth::unauthorized(Site::SrhtLists);
    }
    let world = st.world.lock();
    let Some(id) = mbox_id(&file).filter(|id| world.lists.contains_key(id)) else {
        return not_found();
    };
    let mails: Vec<_> = world
        .ext::<state::State>()
        .map(|s| s.emails_of(id).map(|e| e.mail.clone()).collect())
        .unwrap_or_default();
    raw("application/mbox", inspect::mbox(&mails))
}
