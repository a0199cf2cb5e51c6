//! REST issue endpoints, which on the emulator address pull requests (they
//! share numbers with issues): comments (list with `since` and pagination,
//! create, get, edit, delete), labels on an issue (add — creating unknown
//! labels with color `ededed` as GitHub does —, set, list, remove one or
//! all) and the repository's labels (list, create, get, update, delete).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::server::AppState;
use crate::world::{Comment, Forge, Label, World};

use super::http::{created, no_content, ok, Gh, Params};
use super::shapes::{comment_json, label_json};

pub fn routes() -> Router<AppState> {
    let r = "/repos/{owner}/{repo}";
    Router::new()
        .route(
            &format!("{r}/issues/{{issue_number}}/comments"),
            get(list_comments).post(create_comment),
        )
        .route(
            "/repositories/{repository_id}/issues/{issue_number}/comments",
            get(list_comments),
        )
        .route(
            &format!("{r}/issues/comments/{{comment_id}}"),
            get(get_comment).patch(edit_comment).delete(delete_comment),
        )
        .route(
            &format!("{r}/issues/{{issue_number}}/labels"),
            get(issue_labels)
                .post(add_labels)
                .put(set_labels)
                .delete(clear_labels),
        )
        .route(
            &format!("{r}/issues/{{issue_number}}/labels/{{name}}"),
            axum::routing::delete(remove_label),
        )
        .route(&format!("{r}/labels"), get(repo_labels).post(create_label))
        .route("/repositories/{repository_id}/labels", get(repo_labels))
        .route(
            &format!("{r}/labels/{{name}}"),
            get(get_label).patch(update_label).delete(delete_label),
        )
}

/// Repository id and proposal id of `issue_number`.
fn locate(gh: &Gh, world: &World, p: &Params) -> Result<(u64, u64), Response> {
    let repo_id = gh.repo(world, p)?.id;
    let number: u64 = p
        .get("issue_number")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| gh.not_found())?;
    world
        .proposals
        .values()
        .find(|x| x.repo_id == repo_id && x.number == number && x.forge == Forge::Github)
        .map(|x| (repo_id, x.id))
        .ok_or_else(|| gh.not_found())
}

async fn list_comments(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let (repo_id, id) = match locate(&gh, &world, &p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let since = gh.q("since").and_then(|s| {
        humantime::parse_rfc3339_weak(s)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
    });
    let repo = &world.repos[&repo_id];
    let pr = &world.proposals[&id];
    let items: Vec<Value> = pr
        .comments
        .iter()
        .filter(|c| since.is_none_or(|s| c.updated_at >= s))
        .map(|c| comment_json(&world, repo, pr.number, c, &gh.base))
        .collect();
    gh.list(
        items,
        &format!("/repositories/{repo_id}/issues/{}/comments", pr.number),
    )
}

#[derive(Deserialize)]
struct CommentBody {
    body: String,
}

async fn create_comment(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: CommentBody = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut world = gh.st.world.lock();
    let (repo_id, id) = match locate(&gh, &world, &p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let user = match gh.writable(&world.repos[&repo_id]) {
        Ok(u) => u,
        Err(e) => return e,
    };
    if req.body.trim().is_empty() {
        return gh.validation(vec![
            json!({ "resource": "IssueComment", "code": "missing_field", "field": "body" }),
        ]);
    }
    let comment_id = world.next_id();
    let now = world.now();
    let comment = Comment {
        id: comment_id,
        author: user,
        body: req.body,
        created_at: now,
        updated_at: now,
    };
    let pr = world.proposals.get_mut(&id).expect("located");
    pr.comments.push(comment.clone());
    pr.updated_at = now;
    let number = pr.number;
    let v = comment_json(&world, &world.repos[&repo_id], number, &comment, &gh.base);
    let location = v["url"].as_str().unwrap_or_default().to_string();
    created(v, &location)
}

/// Repository id, proposal id and index of comment `comment_id`.
fn find_comment(gh: &Gh, world: &World, p: &Params) -> Result<(u64, u64, usize), Response> {
    let repo_id = gh.repo(world, p)?.id;
    let cid: u64 = p
        .get("comment_id")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| gh.not_found())?;
    world
        .proposals
        .values()
        .filter(|x| x.repo_id == repo_id)
        .find_map(|x| {
            x.comments
                .iter()
                .position(|c| c.id == cid)
                .map(|i| (repo_id, x.id, i))
        })
        .ok_or_else(|| gh.not_found())
}

fn render_comment(gh: &Gh, world: &World, repo_id: u64, id: u64, i: usize) -> Value {
    let pr = &world.proposals[&id];
    comment_json(
        world,
        &world.repos[&repo_id],
        pr.number,
        &pr.comments[i],
        &gh.base,
    )
}

async fn get_comment(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    match find_comment(&gh, &world, &p) {
        Ok((r, id, i)) => ok(render_comment(&gh, &world, r, id, i)),
        Err(e) => e,
    }
}

async fn edit_comment(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: CommentBody = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut world = gh.st.world.lock();
    let (repo_id, id, i) = match find_comment(&gh, &world, &p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Err(e) = gh.writable(&world.repos[&repo_id]) {
        return e;
    }
    let now = world.now();
    let c = &mut world.proposals.get_mut(&id).expect("found").comments[i];
    c.body = req.body;
    c.updated_at = now;
    ok(render_comment(&gh, &world, repo_id, id, i))
}

async fn delete_comment(gh: Gh, Path(p): Path<Params>) -> Response {
    let mut world = gh.st.world.lock();
    let (repo_id, id, i) = match find_comment(&gh, &world, &p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Err(e) = gh.writable(&world.repos[&repo_id]) {
        return e;
    }
    world
        .proposals
        .get_mut(&id)
        .expect("found")
        .comments
        .remove(i);
    no_content()
}

/// The labels of an issue as a JSON list.
fn issue_label_list(gh: &Gh, world: &World, repo_id: u64, id: u64) -> Value {
    let repo = &world.repos[&repo_id];
    Value::Array(
        world.proposals[&id]
            .labels
            .iter()
            .filter_map(|n| repo.labels.iter().find(|l| &l.name == n))
            .map(|l| label_json(l, &repo.full_path, &gh.base))
            .collect(),
    )
}

/// Label names from any of the documented body shapes: `{labels: [names]}`,
/// `{labels: [{name}]}`, `[names]`, `[{name}]`, or a single name.
fn label_names(v: &Value) -> Option<Vec<String>> {
    let list = match v {
        Value::Object(o) => match o.get("labels") {
            Some(l) => l,
            None => return Some(Vec::new()),
        },
        Value::String(s) => return Some(vec![s.clone()]),
        other => other,
    };
    list.as_array()?
        .iter()
        .map(|item| match item {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("name")?.as_str().map(str::to_string),
            _ => None,
        })
        .collect()
}

/// Adds (`replace` false) or sets the labels of an issue, creating unknown
/// repository labels.
fn apply_labels(gh: &Gh, p: &Params, body: &Bytes, replace: bool) -> Response {
    let value: Value = match gh.body(body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let Some(names) = label_names(&value) else {
        return gh.invalid_request("labels must be a list of names or of {name} objects");
    };
    let mut world = gh.st.world.lock();
    let (repo_id, id) = match locate(gh, &world, p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Err(e) = gh.writable(&world.repos[&repo_id]) {
        return e;
    }
    let mut resolved = Vec::new();
    for name in names.iter().filter(|n| !n.trim().is_empty()) {
        let known = world.repos[&repo_id]
            .labels
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
            .map(|l| l.name.clone());
        let name = match known {
            Some(n) => n,
            None => {
                let label = Label {
                    id: world.next_id(),
                    name: name.clone(),
                    color: "ededed".into(),
                    description: None,
                };
                let repo = world.repos.get_mut(&repo_id).expect("located");
                repo.labels.push(label);
                name.clone()
            }
        };
        if !resolved.contains(&name) {
            resolved.push(name);
        }
    }
    let now = world.now();
    let pr = world.proposals.get_mut(&id).expect("located");
    if replace {
        pr.labels = resolved;
    } else {
        for n in resolved {
            if !pr.labels.contains(&n) {
                pr.labels.push(n);
            }
        }
    }
    pr.updated_at = now;
    ok(issue_label_list(gh, &world, repo_id, id))
}

async fn issue_labels(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    match locate(&gh, &world, &p) {
        Ok((repo_id, id)) => {
            let items = match issue_label_list(&gh, &world, repo_id, id) {
                Value::Array(a) => a,
                _ => Vec::new(),
            };
            let number = world.proposals[&id].number;
            gh.list(
                items,
                &format!("/repositories/{repo_id}/issues/{number}/labels"),
            )
        }
        Err(e) => e,
    }
}

async fn add_labels(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    apply_labels(&gh, &p, &body, false)
}

async fn set_labels(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    apply_labels(&gh, &p, &body, true)
}

async fn clear_labels(gh: Gh, Path(p): Path<Params>) -> Response {
    let mut world = gh.st.world.lock();
    let (repo_id, id) = match locate(&gh, &world, &p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Err(e) = gh.writable(&world.repos[&repo_id]) {
        return e;
    }
    world
        .proposals
        .get_mut(&id)
        .expect("located")
        .labels
        .clear();
    no_content()
}

async fn remove_label(gh: Gh, Path(p): Path<Params>) -> Response {
    let mut world = gh.st.world.lock();
    let (repo_id, id) = match locate(&gh, &world, &p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Err(e) = gh.writable(&world.repos[&repo_id]) {
        return e;
    }
    let name = &p["name"];
    let pr = world.proposals.get_mut(&id).expect("located");
    let before = pr.labels.len();
    pr.labels.retain(|l| !l.eq_ignore_ascii_case(name));
    if pr.labels.len() == before {
        return gh.error(StatusCode::NOT_FOUND, "Label does not exist");
    }
    ok(issue_label_list(&gh, &world, repo_id, id))
}

async fn repo_labels(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    let repo = match gh.repo(&world, &p) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let items: Vec<Value> = repo
        .labels
        .iter()
        .map(|l| label_json(l, &repo.full_path, &gh.base))
        .collect();
    gh.list(items, &format!("/repositories/{}/labels", repo.id))
}

#[derive(Deserialize)]
struct LabelBody {
    name: Option<String>,
    new_name: Option<String>,
    color: Option<String>,
    description: Option<String>,
}

fn valid_color(c: &str) -> bool {
    c.len() == 6 && c.chars().all(|ch| ch.is_ascii_hexdigit())
}

fn invalid_color(gh: &Gh) -> Response {
    gh.validation(vec![
        json!({ "resource": "Label", "code": "invalid", "field": "color" }),
    ])
}

async fn create_label(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: LabelBody = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(name) = req.name.filter(|n| !n.trim().is_empty()) else {
        return gh.invalid_request("name is required");
    };
    let color = req
        .color
        .map(|c| c.trim_start_matches('#').to_string())
        .unwrap_or_else(|| "ededed".into());
    if !valid_color(&color) {
        return invalid_color(&gh);
    }
    let mut world = gh.st.world.lock();
    let repo_id = match gh.repo(&world, &p) {
        Ok(r) => r.id,
        Err(e) => return e,
    };
    if let Err(e) = gh.writable(&world.repos[&repo_id]) {
        return e;
    }
    if world.repos[&repo_id]
        .labels
        .iter()
        .any(|l| l.name.eq_ignore_ascii_case(&name))
    {
        return gh.validation(vec![
            json!({ "resource": "Label", "code": "already_exists", "field": "name" }),
        ]);
    }
    let label = Label {
        id: world.next_id(),
        name,
        color,
        description: req.description,
    };
    let repo = world.repos.get_mut(&repo_id).expect("looked up");
    repo.labels.push(label.clone());
    let v = label_json(&label, &repo.full_path, &gh.base);
    let location = v["url"].as_str().unwrap_or_default().to_string();
    created(v, &location)
}

/// Repository id and index of label `name`.
fn find_label(gh: &Gh, world: &World, p: &Params) -> Result<(u64, usize), Response> {
    let repo = gh.repo(world, p)?;
    repo.labels
        .iter()
        .position(|l| l.name.eq_ignore_ascii_case(&p["name"]))
        .map(|i| (repo.id, i))
        .ok_or_else(|| gh.not_found())
}

async fn get_label(gh: Gh, Path(p): Path<Params>) -> Response {
    let world = gh.st.world.lock();
    match find_label(&gh, &world, &p) {
        Ok((r, i)) => {
            let repo = &world.repos[&r];
            ok(label_json(&repo.labels[i], &repo.full_path, &gh.base))
        }
        Err(e) => e,
    }
}

async fn update_label(gh: Gh, Path(p): Path<Params>, body: Bytes) -> Response {
    let req: LabelBody = match gh.body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut world = gh.st.world.lock();
    let (repo_id, i) = match find_label(&gh, &world, &p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Err(e) = gh.writable(&world.repos[&repo_id]) {
        return e;
    }
    let color = req.color.map(|c| c.trim_start_matches('#').to_string());
    if color.as_deref().is_some_and(|c| !valid_color(c)) {
        return invalid_color(&gh);
    }
    let old = world.repos[&repo_id].labels[i].name.clone();
    let new_name = req.new_name.or(req.name).filter(|n| !n.trim().is_empty());
    let repo = world.repos.get_mut(&repo_id).expect("found");
    let label = &mut repo.labels[i];
    if let Some(n) = &new_name {
        label.name = n.clone();
    }
    if let Some(c) = color {
        label.color = c;
    }
    if let Some(d) = req.description {
        label.description = Some(d);
    }
    let label = label.clone();
    let full = repo.full_path.clone();
    if let Some(n) = new_name {
        for pr in world
            .proposals
            .values_mut()
            .filter(|x| x.repo_id == repo_id)
        {
            for l in pr.labels.iter_mut().filter(|l| **l == old) {
                *l = n.clone();
            }
        }
    }
    ok(label_json(&label, &full, &gh.base))
}

async fn delete_label(gh: Gh, Path(p): Path<Params>) -> Response {
    let mut world = gh.st.world.lock();
    let (repo_id, i) = match find_label(&gh, &world, &p) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Err(e) = gh.writable(&world.repos[&repo_id]) {
        return e;
    }
    let name = world
        .repos
        .get_mut(&repo_id)
        .expect("found")
        .labels
        .remove(i)
        .name;
    for pr in world
        .proposals
        .values_mut()
        .filter(|x| x.repo_id == repo_id)
    {
        pr.labels.retain(|l| *l != name);
    }
    no_content()
}
