//! GitLab GraphQL at `/api/graphql`, validated against the 13.8-era schema
//! `forge-specs/gitlab/gitlab_schema.graphql` before execution.
//!
//! Answered: `Query { currentUser project(fullPath) projects(ids, search,
//! first, after, last, before) group(fullPath) namespace(fullPath) echo
//! metadata }`, `Group`/`Namespace { id fullPath path name fullName webUrl
//! description visibility parent projects(includeSubgroups, search, first,
//! after, last, before) }`, `Project { id fullPath path name
//! nameWithNamespace description webUrl httpUrlToRepo sshUrlToRepo archived
//! visibility createdAt lastActivityAt forksCount starCount group namespace
//! repository mergeRequests mergeRequest … }` (see [`merge_requests`]), `User`, and the repository types in [`repository`].
//! Connections page at most 100 nodes (see [`connection`]). A query over
//! GitLab's complexity or depth limit is refused before it runs, as GitLab
//! refuses it (see [`complexity`]; the limits are
//! [`crate::EmulatorConfig::gitlab_graphql`]).
//!
//! The schema has no field saying whether a project is a fork
//! (`forksCount` counts forks *of* the project); fork status is REST's
//! `forked_from_project`.

pub mod complexity;
pub mod connection;
pub mod merge_requests;
pub mod repository;

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};

use self::connection::{Connection, MakeNode};
use self::repository::Repository as RepositoryObject;
use crate::auth::Caller;
use crate::gitlab::entities::{full_name, owner_web_url, project_name};
use crate::gitlab::{state, ts};
use crate::graphql::{not_emulated, Args, FieldValue, GraphqlRequest, Object};
use crate::server::{AppState, Ctx, Site};
use crate::world::{Forge, OwnerKind, Repository, Visibility, World};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/graphql", post(graphql))
}

async fn graphql(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(request): Json<GraphqlRequest>,
) -> Response {
    let state = st.clone();
    let scored = request.clone();
    let signed_in = caller.user.is_some();
    let refusals = tokio::task::spawn_blocking(move || {
        let schema = state.specs.graphql_schema(Site::Gitlab).ok()?;
        // A document that does not validate is answered (and recorded) by
        // the executor below.
        let doc = schema.validate(&scored.query).ok()?;
        let vars = scored.variables.clone().unwrap_or_default();
        let score = complexity::score(&doc, scored.operation_name.as_deref(), &vars)?;
        Some(state.gitlab_graphql.refusals(score, signed_in))
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default();
    if !refusals.is_empty() {
        let errors: Vec<_> = refusals
            .into_iter()
            .map(|message| serde_json::json!({ "message": message }))
            .collect();
        return Json(serde_json::json!({ "errors": errors })).into_response();
    }
    st.graphql(Site::Gitlab, caller, request, Query).await
}

fn visible(r: &Repository, ctx: &Ctx) -> bool {
    r.visibility == Visibility::Public || ctx.caller.user.is_some()
}

fn visibility(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "public",
        Visibility::Private => "private",
        Visibility::Internal => "internal",
    }
}

/// A connection over projects, ordered by id, cursors keyed by id.
fn project_connection(ids: Vec<u64>, args: &Args) -> Result<FieldValue, String> {
    let items: Vec<(String, MakeNode)> = ids
        .into_iter()
        .map(|id| {
            let make: MakeNode = Arc::new(move || FieldValue::object(Project(id)));
            (id.to_string(), make)
        })
        .collect();
    Ok(FieldValue::object(Connection::page(
        "ProjectConnection",
        "ProjectEdge",
        items,
        args,
    )?))
}

fn matches_search(r: &Repository, args: &Args) -> bool {
    args.str("search").is_none_or(|s| {
        let s = s.to_lowercase();
        r.name.to_lowercase().contains(&s) || r.full_path.to_lowercase().contains(&s)
    })
}

/// The root of queries.
pub struct Query;

impl Object for Query {
    fn type_name(&self) -> &str {
        "Query"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        Ok(match name {
            "currentUser" => FieldValue::opt_object(
                ctx.caller
                    .user
                    .as_ref()
                    .and_then(|u| world.owner(Forge::Gitlab, u))
                    .map(|o| User(o.id)),
            ),
            "project" => {
                let found = world
                    .repo(Forge::Gitlab, args.required_str("fullPath")?)
                    .filter(|r| visible(r, ctx));
                FieldValue::opt_object(found.map(|r| Project(r.id)))
            }
            "projects" => {
                let wanted: Option<Vec<u64>> =
                    args.get("ids").and_then(|v| v.as_array()).map(|ids| {
                        ids.iter()
                            .filter_map(|v| v.as_str())
                            .filter_map(|g| g.strip_prefix("gid://gitlab/Project/"))
                            .filter_map(|n| n.parse().ok())
                            .collect()
                    });
                let ids = world
                    .repos
                    .values()
                    .filter(|r| r.forge == Forge::Gitlab && visible(r, ctx))
                    .filter(|r| wanted.as_ref().is_none_or(|w| w.contains(&r.id)))
                    .filter(|r| matches_search(r, args))
                    .map(|r| r.id)
                    .collect();
                drop(world);
                return project_connection(ids, args);
            }
            "group" | "namespace" => {
                let found = world
                    .owner(Forge::Gitlab, args.required_str("fullPath")?)
                    .filter(|o| name == "namespace" || o.kind == OwnerKind::Group);
                FieldValue::opt_object(found.map(|o| Namespace {
                    id: o.id,
                    as_group: name == "group",
                }))
            }
            "echo" => FieldValue::scalar(format!(
                "{:?} says: {}",
                ctx.caller.user.as_deref().unwrap_or("nil"),
                args.required_str("text")?
            )),
            "metadata" => FieldValue::object(Metadata),
            other => return Err(not_emulated("Query", other)),
        })
    }
}

struct Metadata;

impl Object for Metadata {
    fn type_name(&self) -> &str {
        "Metadata"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Result<FieldValue, String> {
        Ok(match name {
            "version" => FieldValue::scalar("13.8.0-emulator"),
            "revision" => FieldValue::scalar("emulator"),
            other => return Err(not_emulated("Metadata", other)),
        })
    }
}

/// A group (`as_group`) or namespace (a group or a user's namespace).
pub struct Namespace {
    pub id: u64,
    pub as_group: bool,
}

fn namespace_projects(world: &World, owner: u64, args: &Args, ctx: &Ctx) -> Vec<u64> {
    let include = args.bool("includeSubgroups").unwrap_or(false);
    let mut ids: Vec<u64> = world
        .repos_of(owner, include)
        .into_iter()
        .filter(|r| visible(r, ctx) && matches_search(r, args))
        .map(|r| r.id)
        .collect();
    ids.sort_unstable();
    ids
}

impl Object for Namespace {
    fn type_name(&self) -> &str {
        if self.as_group {
            "Group"
        } else {
            "Namespace"
        }
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        let o = world.owners.get(&self.id).ok_or("group vanished")?;
        let base = &ctx.state.urls.gitlab;
        Ok(match name {
            "id" => FieldValue::scalar(format!(
                "gid://gitlab/{}/{}",
                if self.as_group { "Group" } else { "Namespace" },
                o.id
            )),
            "fullPath" => FieldValue::scalar(o.path.clone()),
            "path" | "name" => FieldValue::scalar(o.name.clone()),
            "fullName" => FieldValue::scalar(full_name(&world, o)),
            "webUrl" => FieldValue::scalar(owner_web_url(o, base)),
            "description" => FieldValue::scalar(""),
            "descriptionHtml" => FieldValue::scalar(""),
            "visibility" => FieldValue::scalar("public"),
            "requestAccessEnabled" | "lfsEnabled" => FieldValue::scalar(true),
            "parent" if self.as_group => FieldValue::opt_object(o.parent.map(|p| Namespace {
                id: p,
                as_group: true,
            })),
            "projects" => {
                let ids = namespace_projects(&world, o.id, args, ctx);
                drop(world);
                return project_connection(ids, args);
            }
            other => return Err(not_emulated(self.type_name(), other)),
        })
    }
}

/// A project.
pub struct Project(pub u64);

impl Object for Project {
    fn type_name(&self) -> &str {
        "Project"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        let r = world.repos.get(&self.0).ok_or("project vanished")?;
        let base = &ctx.state.urls.gitlab;
        let web_url = format!("{base}/{}", r.full_path);
        let owner = world.owners.get(&r.owner_id);
        let extra = state::project(&world, r.id);
        Ok(match name {
            "id" => FieldValue::scalar(format!("gid://gitlab/Project/{}", r.id)),
            "fullPath" => FieldValue::scalar(r.full_path.clone()),
            "path" => FieldValue::scalar(r.name.clone()),
            "name" => FieldValue::scalar(project_name(&world, r)),
            "nameWithNamespace" => FieldValue::scalar(match owner {
                Some(o) => format!("{} / {}", full_name(&world, o), project_name(&world, r)),
                None => project_name(&world, r),
            }),
            "description" => FieldValue::opt_scalar(r.description.clone()),
            "webUrl" => FieldValue::scalar(web_url.clone()),
            "httpUrlToRepo" => FieldValue::scalar(format!("{web_url}.git")),
            "sshUrlToRepo" => FieldValue::scalar(format!(
                "git@{}:{}.git",
                base.split("://").nth(1).unwrap_or(base),
                r.full_path
            )),
            "archived" => FieldValue::scalar(r.archived),
            "visibility" => FieldValue::scalar(visibility(r.visibility)),
            "createdAt" => FieldValue::scalar(ts(r.created_at)),
            "lastActivityAt" => FieldValue::scalar(ts(r.updated_at)),
            "forksCount" => FieldValue::scalar(state::forks_count(&world, r.id)),
            "starCount" | "containerRepositoriesCount" => FieldValue::scalar(0),
            "openIssuesCount" => FieldValue::scalar(0),
            "avatarUrl" | "tagList" | "importStatus" => FieldValue::Null,
            "issuesEnabled"
            | "mergeRequestsEnabled"
            | "wikiEnabled"
            | "snippetsEnabled"
            | "jobsEnabled"
            | "lfsEnabled"
            | "requestAccessEnabled"
            | "sharedRunnersEnabled" => FieldValue::scalar(true),
            "squashReadOnly" => FieldValue::scalar(false),
            "removeSourceBranchAfterMerge" => {
                FieldValue::scalar(extra.remove_source_branch_after_merge)
            }
            "mergeRequestsFfOnlyEnabled" => {
                FieldValue::scalar(extra.merge_method == state::MergeMethod::Ff)
            }
            "group" => {
                FieldValue::opt_object(owner.filter(|o| o.kind == OwnerKind::Group).map(|o| {
                    Namespace {
                        id: o.id,
                        as_group: true,
                    }
                }))
            }
            "namespace" => FieldValue::opt_object(owner.map(|o| Namespace {
                id: o.id,
                as_group: false,
            })),
            "repository" => FieldValue::object(RepositoryObject(r.id)),
            "mergeRequests" => merge_requests::connection(&world, base, r, args)?,
            "mergeRequest" => merge_requests::one(&world, base, r, args)?,
            other => return Err(not_emulated("Project", other)),
        })
    }
}

/// A user, by owner id.
pub struct User(pub u64);

impl Object for User {
    fn type_name(&self) -> &str {
        "User"
    }

    fn field(&self, name: &str, _: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        let o = world.owners.get(&self.0).ok_or("user vanished")?;
        let web_path = format!("/{}", o.name);
        Ok(match name {
            "id" => FieldValue::scalar(format!("gid://gitlab/User/{}", o.id)),
            "username" | "name" => FieldValue::scalar(o.name.clone()),
            "state" => FieldValue::scalar("active"),
            "webPath" => FieldValue::scalar(web_path.clone()),
            "webUrl" => FieldValue::scalar(format!("{}{web_path}", ctx.state.urls.gitlab)),
            "avatarUrl" | "publicEmail" | "location" | "email" | "status" => FieldValue::Null,
            "groupCount" => FieldValue::scalar(0),
            other => return Err(not_emulated("User", other)),
        })
    }
}
