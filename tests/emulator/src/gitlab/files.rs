//! The repository files API: `GET` (metadata and base64 content), `HEAD`
//! (metadata as `X-Gitlab-*` headers only), `GET …/raw`, and `POST`,
//! `PUT`, `DELETE` (single-file commits through [`super::actions`]). The
//! `{file_path}` segment is URL-encoded (`src%2Fmain.rs`).
//!
//! The JSON bodies of the writes are not in the shared specs (the OpenAPI
//! declares only a multipart `file`); they follow GitLab's files API:
//! `branch`, `commit_message`, `content`, `encoding`, `author_name`,
//! `author_email`, `start_branch`, `execute_filemode`, `last_commit_id`.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine;
use serde_json::json;

use super::actions::{self, Action, CommitRequest, Kind};
use super::git;
use super::params::Params;
use super::repository::raw_response;
use super::{bad_param, created, not_found, ok, open_git, readable, writable, Reply};
use crate::auth::Caller;
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v4/projects/{id}/repository/files/{file_path}",
            get(get_file)
                .head(head_file)
                .post(create_file)
                .put(update_file)
                .delete(delete_file),
        )
        .route(
            "/api/v4/projects/{id}/repository/files/{file_path}/raw",
            get(raw_file),
        )
}

/// A file at a ref, with what GitLab reports about it.
struct FileAt {
    file_name: String,
    file_path: String,
    rev: String,
    blob_id: String,
    commit_id: String,
    last_commit_id: String,
    executable: bool,
    content: Vec<u8>,
}

impl FileAt {
    fn sha256(&self) -> String {
        super::sha256::hex(&self.content)
    }

    fn headers(&self, mut response: Response) -> Response {
        let pairs = [
            ("x-gitlab-blob-id", self.blob_id.clone()),
            ("x-gitlab-commit-id", self.commit_id.clone()),
            ("x-gitlab-content-sha256", self.sha256()),
            ("x-gitlab-encoding", "base64".to_string()),
            ("x-gitlab-execute-filemode", self.executable.to_string()),
            ("x-gitlab-file-name", self.file_name.clone()),
            ("x-gitlab-file-path", self.file_path.clone()),
            ("x-gitlab-last-commit-id", self.last_commit_id.clone()),
            ("x-gitlab-ref", self.rev.clone()),
            ("x-gitlab-size", self.content.len().to_string()),
        ];
        for (name, value) in pairs {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        response
    }
}

fn read(
    st: &AppState,
    caller: &Caller,
    id: &str,
    path: &str,
    rev: Option<String>,
) -> Result<FileAt, Response> {
    let world = st.world.lock();
    let r = readable(&world, caller, id)?;
    let rev = rev.unwrap_or_else(|| r.default_branch.clone());
    let repo = open_git(r)?;
    let commit = git::resolve(&repo, &rev).ok_or_else(|| not_found("Commit"))?;
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(super::internal)?;
    let (blob_id, mode, kind) = git::entry_at(&tree, path).ok_or_else(|| not_found("File"))?;
    if kind != Some(git2::ObjectType::Blob) {
        return Err(not_found("File"));
    }
    let content = repo
        .find_blob(blob_id)
        .map_err(super::internal)?
        .content()
        .to_vec();
    let last = git::last_commit_for_path(&repo, commit, path).unwrap_or(commit);
    let path = path.trim_matches('/');
    Ok(FileAt {
        file_name: path.rsplit('/').next().unwrap_or(path).to_string(),
        file_path: path.to_string(),
        rev,
        blob_id: blob_id.to_string(),
        commit_id: commit.to_string(),
        last_commit_id: last.to_string(),
        executable: mode == 0o100755,
        content,
    })
}

async fn get_file(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, path)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let rev = params.required_str("ref")?;
    let f = read(&st, &caller, &id, &path, Some(rev))?;
    let body = json!({
        "file_name": f.file_name,
        "file_path": f.file_path,
        "size": f.content.len(),
        "encoding": "base64",
        "content_sha256": f.sha256(),
        "ref": f.rev,
        "blob_id": f.blob_id,
        "commit_id": f.commit_id,
        "last_commit_id": f.last_commit_id,
        "execute_filemode": f.executable,
        "content": base64::engine::general_purpose::STANDARD.encode(&f.content),
    });
    Ok(f.headers(ok(body)))
}

async fn head_file(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, path)): Path<(String, String)>,
    params: Params,
) -> Response {
    let Ok(Some(rev)) = params.str("ref") else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match read(&st, &caller, &id, &path, Some(rev)) {
        Ok(f) => f.headers(StatusCode::OK.into_response()),
        Err(e) => e.status().into_response(),
    }
}

async fn raw_file(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, path)): Path<(String, String)>,
    params: Params,
) -> Reply {
    params.bool("lfs")?;
    let rev = params.str("ref")?;
    let f = read(&st, &caller, &id, &path, rev)?;
    let name = f.file_name.clone();
    let content = f.content.clone();
    Ok(f.headers(raw_response(content, Some(&name))))
}

/// The single-file commit a files-API write describes.
fn request(params: &Params, kind: Kind, path: &str) -> Result<CommitRequest, Response> {
    let mut required = vec!["branch", "commit_message"];
    if matches!(kind, Kind::Create | Kind::Update) {
        required.push("content");
    }
    params.require(&required)?;
    let encoding = params.one_of("encoding", &["text", "base64"])?;
    let content = match (params.str("content")?, encoding.as_deref()) {
        (None, _) => None,
        (Some(c), Some("base64")) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(c.trim())
                .map_err(|_| bad_param("content is invalid"))?,
        ),
        (Some(c), _) => Some(c.into_bytes()),
    };
    let action = Action {
        kind,
        file_path: path.trim_matches('/').to_string(),
        previous_path: None,
        content,
        last_commit_id: params.str("last_commit_id")?,
        execute_filemode: params.bool("execute_filemode")?,
    };
    let mut actions = vec![action.clone()];
    if action.kind != Kind::Delete && action.execute_filemode.is_some() {
        actions.push(Action {
            kind: Kind::Chmod,
            content: None,
            last_commit_id: None,
            ..action
        });
    }
    Ok(CommitRequest {
        branch: params.required_str("branch")?,
        commit_message: params.required_str("commit_message")?,
        start_branch: params.str("start_branch")?,
        start_sha: None,
        actions,
        author_name: params.str("author_name")?,
        author_email: params.str("author_email")?,
        force: false,
        files_api: true,
    })
}

fn write(st: &AppState, caller: &Caller, id: &str, req: &CommitRequest) -> Result<(), Response> {
    let mut world = st.world.lock();
    let (pid, user) = writable(&world, caller, id)?;
    actions::commit(&mut world, pid, &user, req).map(|_| ())
}

async fn create_file(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, path)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let req = request(&params, Kind::Create, &path)?;
    write(&st, &caller, &id, &req)?;
    Ok(created(json!({ "file_path": path, "branch": req.branch })))
}

async fn update_file(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, path)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let req = request(&params, Kind::Update, &path)?;
    write(&st, &caller, &id, &req)?;
    Ok(ok(json!({ "file_path": path, "branch": req.branch })))
}

async fn delete_file(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, path)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let req = request(&params, Kind::Delete, &path)?;
    write(&st, &caller, &id, &req)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
