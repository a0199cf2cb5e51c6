//! `GET` and `POST /projects/{id}/repository/commits`: the commit log
//! (`ref_name`, `path`, `since`, `until`, `author`, `all`, `first_parent`,
//! `with_stats`, offset pagination) and commit creation with actions (the
//! JSON body of `commit-create.from-docs.json`, applied by [`super::actions`]).
//! A created commit is answered with 201 and a `CommitDetail` (with `stats`
//! unless `stats: false`).

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::Value;

use super::actions::{self, CommitRequest};
use super::entities::{commit_detail_json, commit_json};
use super::git::{self, CommitData};
use super::params::Params;
use super::{
    bad_param, created, internal, not_found, open_git, paged, readable, request_url, writable,
    Reply,
};
use crate::auth::Caller;
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v4/projects/{id}/repository/commits",
        get(list_commits).post(create_commit),
    )
}

/// Parses GitLab's ISO 8601 times (`2021-09-20T11:50:22.001`, `…Z`, `…+02:00`).
fn parse_time(name: &str, s: &str) -> Result<i64, axum::response::Response> {
    let t = s.trim();
    let (main, offset) = match t.rfind(['+', '-']).filter(|&i| i > 10) {
        Some(i) => (&t[..i], Some(&t[i..])),
        None => (t.trim_end_matches('Z'), None),
    };
    let main = main.split('.').next().unwrap_or(main);
    let parsed = humantime::parse_rfc3339_weak(main)
        .or_else(|_| humantime::parse_rfc3339_weak(&format!("{main} 00:00:00")))
        .map_err(|_| super::params::invalid(name))?;
    let mut secs = parsed
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if let Some(o) = offset {
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let digits: String = o[1..].chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 4 {
            let h: i64 = digits[..2].parse().unwrap_or(0);
            let m: i64 = digits[2..].parse().unwrap_or(0);
            secs -= sign * (h * 3600 + m * 60);
        }
    }
    Ok(secs)
}

async fn list_commits(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    uri: Uri,
    params: Params,
) -> Reply {
    let page = params.page()?;
    let path = params.str("path")?;
    let since = params
        .str("since")?
        .map(|s| parse_time("since", &s))
        .transpose()?;
    let until = params
        .str("until")?
        .map(|s| parse_time("until", &s))
        .transpose()?;
    let author = params.str("author")?.map(|a| a.to_lowercase());
    let all = params.bool("all")?.unwrap_or(false);
    let first_parent = params.bool("first_parent")?.unwrap_or(false);
    let with_stats = params.bool("with_stats")?.unwrap_or(false);
    params.one_of("order", &["default", "topo"])?;
    params.bool("trailers")?;
    let world = st.world.lock();
    let r = readable(&world, &caller, &id)?;
    let repo = open_git(r)?;
    let mut walk = repo.revwalk().map_err(internal)?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)
        .map_err(internal)?;
    if first_parent {
        walk.simplify_first_parent().map_err(internal)?;
    }
    if all {
        for (_, head) in git::branches(&repo) {
            walk.push(head).map_err(internal)?;
        }
    } else {
        let rev = params
            .str("ref_name")?
            .unwrap_or_else(|| r.default_branch.clone());
        match git::resolve(&repo, &rev) {
            Some(oid) => walk.push(oid).map_err(internal)?,
            None if git::branches(&repo).is_empty() => {}
            None => return Err(not_found("Reference")),
        }
    }
    let mut items = Vec::new();
    for oid in walk.flatten() {
        let Ok(c) = repo.find_commit(oid) else {
            continue;
        };
        let when = c.committer().when().seconds();
        if since.is_some_and(|s| when < s) || until.is_some_and(|u| when > u) {
            continue;
        }
        if let Some(a) = &author {
            let sig = c.author();
            let name = sig.name().unwrap_or_default().to_lowercase();
            let email = sig.email().unwrap_or_default().to_lowercase();
            if !name.contains(a.as_str()) && !email.contains(a.as_str()) {
                continue;
            }
        }
        if let Some(p) = path.as_deref() {
            if git::last_commit_for_path(&repo, oid, p) != Some(oid) {
                continue;
            }
        }
        let data = CommitData::of(&c);
        let mut v = commit_json(&data, &r.full_path, &st.urls.gitlab);
        if with_stats {
            v["stats"] = git::stats_json(&repo, &c);
        }
        items.push(v);
    }
    Ok(paged(&page, items, &request_url(&st.urls.gitlab, &uri)))
}

async fn create_commit(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    params: Params,
) -> Reply {
    params.require(&["branch", "commit_message", "actions"])?;
    let req = CommitRequest {
        branch: params.required_str("branch")?,
        commit_message: params.required_str("commit_message")?,
        start_branch: params.str("start_branch")?,
        start_sha: params.str("start_sha")?,
        actions: actions::parse_actions(params.get("actions"))?,
        author_name: params.str("author_name")?,
        author_email: params.str("author_email")?,
        force: params.bool("force")?.unwrap_or(false),
        files_api: false,
    };
    let stats = params.bool("stats")?.unwrap_or(true);
    if let Some(sp) = params.str("start_project")? {
        let world = st.world.lock();
        let same = super::find_project(&world, &id).map(|r| r.id);
        if super::find_project(&world, &sp).map(|r| r.id) != same {
            return Err(bad_param(
                "start_project: only the same project is emulated",
            ));
        }
    }
    let mut world = st.world.lock();
    let (pid, user) = writable(&world, &caller, &id)?;
    let oid = actions::commit(&mut world, pid, &user, &req)?;
    let r = &world.repos[&pid];
    let repo = open_git(r)?;
    let c = repo.find_commit(oid).map_err(internal)?;
    let s = stats.then(|| git::stats_json(&repo, &c));
    let body: Value = commit_detail_json(&CommitData::of(&c), r, &st.urls.gitlab, s);
    Ok(created(body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_times() {
        assert_eq!(
            super::parse_time("s", "1970-01-01T01:00:00Z").unwrap(),
            3600
        );
        assert_eq!(
            super::parse_time("s", "1970-01-01T01:00:00.123").unwrap(),
            3600
        );
        assert_eq!(
            super::parse_time("s", "1970-01-01T03:00:00+02:00").unwrap(),
            3600
        );
        assert!(super::parse_time("s", "yesterday").is_err());
    }
}
