//! Groups: `GET /groups/{id}` and `GET /groups/{id}/projects` (with
//! `include_subgroups`, `archived`, `search`, `visibility`, `order_by`,
//! `sort`, `simple` and offset pagination). A group is addressed by id or
//! URL-encoded full path (`acme%2Fplatform`).

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::Value;

use super::entities::{basic_project_json, group_json, project_json};
use super::params::Params;
use super::{not_found, ok, Reply};
use crate::auth::Caller;
use crate::server::AppState;
use crate::world::{Forge, Owner, OwnerKind, Repository, Visibility, World};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v4/groups/{id}", get(get_group))
        .route("/api/v4/groups/{id}/projects", get(group_projects))
}

/// A group by id or full path.
pub fn find_group<'w>(world: &'w World, id: &str) -> Option<&'w Owner> {
    let found = match id.parse::<u64>() {
        Ok(n) => world.owners.get(&n),
        Err(_) => world.owner(Forge::Gitlab, id),
    };
    found.filter(|o| o.forge == Forge::Gitlab && o.kind == OwnerKind::Group)
}

fn visible(r: &Repository, caller: &Caller) -> bool {
    r.visibility == Visibility::Public || caller.user.is_some()
}

async fn get_group(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    params: Params,
) -> Reply {
    let world = st.world.lock();
    let group = find_group(&world, &id).ok_or_else(|| not_found("Group"))?;
    let with_projects = params.bool("with_projects")?.unwrap_or(true);
    let mut body = group_json(&world, group, &st.urls.gitlab);
    if with_projects {
        let projects: Vec<Value> = world
            .repos_of(group.id, false)
            .into_iter()
            .filter(|r| visible(r, &caller))
            .map(|r| project_json(&world, r, &st.urls.gitlab))
            .collect();
        body["projects"] = Value::Array(projects);
        body["shared_projects"] = Value::Array(Vec::new());
    }
    Ok(ok(body))
}

async fn group_projects(
    State(st): State<AppState>,
    uri: Uri,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    params: Params,
) -> Reply {
    let page = params.page()?;
    let include_subgroups = params.bool("include_subgroups")?.unwrap_or(false);
    let archived = params.bool("archived")?;
    let simple = params.bool("simple")?.unwrap_or(false);
    let search = params.str("search")?.map(|s| s.to_lowercase());
    let visibility = params.one_of("visibility", &["private", "internal", "public"])?;
    let order_by = params
        .one_of(
            "order_by",
            &[
                "id",
                "name",
                "path",
                "created_at",
                "updated_at",
                "last_activity_at",
                "similarity",
                "star_count",
            ],
        )?
        .unwrap_or_else(|| "created_at".into());
    let desc = params.one_of("sort", &["asc", "desc"])?.as_deref() != Some("asc");
    for flag in [
        "active",
        "owned",
        "starred",
        "with_issues_enabled",
        "with_merge_requests_enabled",
        "with_shared",
        "include_ancestor_groups",
        "with_custom_attributes",
        "with_security_reports",
    ] {
        params.bool(flag)?;
    }
    params.u64("min_access_level")?;

    let world = st.world.lock();
    let group = find_group(&world, &id).ok_or_else(|| not_found("Group"))?;
    let mut projects: Vec<&Repository> = world
        .repos_of(group.id, include_subgroups)
        .into_iter()
        .filter(|r| visible(r, &caller))
        .filter(|r| archived.is_none_or(|a| r.archived == a))
        .filter(|r| {
            visibility.as_deref().is_none_or(|v| {
                v == match r.visibility {
                    Visibility::Public => "public",
                    Visibility::Private => "private",
                    Visibility::Internal => "internal",
                }
            })
        })
        .filter(|r| {
            search.as_deref().is_none_or(|s| {
                r.name.to_lowercase().contains(s) || r.full_path.to_lowercase().contains(s)
            })
        })
        .collect();
    projects.sort_by(|a, b| {
        let key = match order_by.as_str() {
            "name" => a.name.cmp(&b.name),
            "path" => a.full_path.cmp(&b.full_path),
            "created_at" => a.created_at.cmp(&b.created_at),
            "updated_at" | "last_activity_at" => a.updated_at.cmp(&b.updated_at),
            _ => std::cmp::Ordering::Equal,
        };
        key.then(a.id.cmp(&b.id))
    });
    if desc {
        projects.reverse();
    }
    let url = super::request_url(&st.urls.gitlab, &uri);
    let (slice, headers) = page.apply(projects, &url);
    let body: Vec<Value> = slice
        .into_iter()
        .map(|r| {
            if simple {
                basic_project_json(&world, r, &st.urls.gitlab)
            } else {
                project_json(&world, r, &st.urls.gitlab)
            }
        })
        .collect();
    Ok(headers.set(ok(Value::Array(body))))
}
