//! GitHub GraphQL (`/graphql`, `/api/graphql`): the endpoint, the `Query`
//! root (`rateLimit`, `viewer`, `repository`, `repositoryOwner`,
//! `organization`, `user`), owners with their `repositories` connection
//! (`first`/`last`/`after`/`before` with opaque cursors, `pageInfo`,
//! `totalCount`, `ownerAffiliations`, `orderBy`, `isFork`, `isArchived`,
//! `privacy`); `Repository` and `PullRequest` are in `graphql_repo`,
//! connections in `graphql_conn`.
//!
//! Errors take GitHub's shape: a resolver returns [`typed`] messages, which
//! the endpoint turns into `{type, path, locations, message}` (e.g.
//! `NOT_FOUND` for a missing repository); pagination mistakes
//! (`MISSING_PAGINATION_BOUNDARIES`, `EXCESSIVE_PAGINATION`) are query
//! errors without `data`, and recorded as violations. Git objects live in
//! `graphql_git`. A query costs GitHub's score (`graphql_cost`): the
//! rate-limit layer spends one point, the endpoint the rest, and `rateLimit`
//! reports the score and the budget after it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};

use crate::auth::{self, Caller};
use crate::graphql::{execute, not_emulated, Args, FieldValue, GraphqlRequest, Object};
use crate::server::{AppState, Ctx, Site};
use crate::world::{rfc3339, Forge, Owner, OwnerKind, Repository, Visibility};

use super::graphql_conn::{Conn, Leaf};
use super::graphql_cost::{self, Cost};
use super::graphql_repo::Repo;
use super::http::{error_with, json_response, node_id, Base};
use super::shapes::owner_type;

const AUTH_DOC: &str =
    "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql";

/// Marks a field error with GitHub's error `type`.
pub fn typed(ty: &str, message: impl std::fmt::Display) -> String {
    format!("\u{1}{ty}\u{1}{message}")
}

/// Error types that GitHub reports before execution (no `data`).
const QUERY_ERRORS: [&str; 2] = ["MISSING_PAGINATION_BOUNDARIES", "EXCESSIVE_PAGINATION"];

pub async fn handler(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    if caller.bad_token() {
        return auth::unauthorized(Site::Github);
    }
    if caller.user.is_none() {
        return error_with(
            StatusCode::UNAUTHORIZED,
            "This endpoint requires you to be authenticated.",
            AUTH_DOC,
        );
    }
    let request: GraphqlRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            st.violation(format!("github: GraphQL request is not JSON: {e}"));
            return error_with(
                StatusCode::BAD_REQUEST,
                "Problems parsing JSON",
                "https://docs.github.com/graphql",
            );
        }
    };
    let state = st.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let schema = state.specs.graphql_schema(Site::Github)?;
        // The rate-limit layer spent one point; a costlier query spends the rest.
        let cost = graphql_cost::cost(&schema, &request).unwrap_or_default();
        if cost.cost > 1 {
            state
                .rate_limits
                .spend(Site::Github, &caller, "graphql", cost.cost - 1);
        }
        let ctx = Ctx { state, caller };
        Ok::<_, crate::Error>(execute(&schema, &request, &Query { cost }, &ctx))
    })
    .await;
    let outcome = match outcome {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            return json_response(
                StatusCode::OK,
                json!({ "errors": [{ "message": e.to_string() }] }),
            )
        }
        Err(e) => {
            return json_response(
                StatusCode::OK,
                json!({ "errors": [{ "message": e.to_string() }] }),
            )
        }
    };
    if let Some(v) = outcome.violation {
        st.violation(format!("github: {v}"));
    }
    let mut body = outcome.body;
    let mut query_error = None;
    if let Some(errors) = body.get_mut("errors").and_then(Value::as_array_mut) {
        for e in errors.iter_mut() {
            let Some(message) = e.get("message").and_then(Value::as_str) else {
                continue;
            };
            let Some((ty, rest)) = message
                .strip_prefix('\u{1}')
                .and_then(|m| m.split_once('\u{1}'))
            else {
                continue;
            };
            let (ty, rest) = (ty.to_string(), rest.to_string());
            if QUERY_ERRORS.contains(&ty.as_str()) {
                query_error = Some(rest.clone());
            }
            e["type"] = json!(ty);
            e["message"] = json!(rest);
        }
    }
    if let Some(message) = query_error {
        if let Some(o) = body.as_object_mut() {
            o.remove("data");
        }
        st.violation(format!("github: GraphQL query rejected: {message}"));
    }
    json_response(StatusCode::OK, body)
}

pub fn base(ctx: &Ctx) -> Base {
    Base::plain(&ctx.state)
}

/// The GraphQL `Query` root, knowing the request's rate-limit score.
pub struct Query {
    cost: Cost,
}

impl Object for Query {
    fn type_name(&self) -> &str {
        "Query"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        match name {
            "viewer" => {
                let login = ctx.caller.user.clone().unwrap_or_default();
                Ok(match world.owner(Forge::Github, &login) {
                    Some(o) => FieldValue::object(OwnerObj::new(o)),
                    None => FieldValue::Null,
                })
            }
            "rateLimit" => {
                let b = ctx
                    .state
                    .rate_limits
                    .peek(Site::Github, &ctx.caller, "graphql");
                Ok(FieldValue::object(Leaf::new(
                    "RateLimit",
                    json!({
                        "cost": self.cost.cost.max(1), "limit": b.limit,
                        "nodeCount": self.cost.node_count,
                        "remaining": b.remaining(), "used": b.used, "resetAt": rfc3339(b.reset),
                    }),
                )))
            }
            "repository" => {
                let (owner, repo) = (args.required_str("owner")?, args.required_str("name")?);
                match world.repo(Forge::Github, &format!("{owner}/{repo}")) {
                    Some(r) if visible(r, ctx) => Ok(FieldValue::object(Repo(r.id))),
                    _ => Err(typed(
                        "NOT_FOUND",
                        format!(
                            "Could not resolve to a Repository with the name '{owner}/{repo}'."
                        ),
                    )),
                }
            }
            "repositoryOwner" => {
                let login = args.required_str("login")?;
                Ok(FieldValue::opt_object(
                    world.owner(Forge::Github, login).map(OwnerObj::new),
                ))
            }
            "organization" | "user" => {
                let login = args.required_str("login")?;
                let kind = if name == "user" {
                    OwnerKind::User
                } else {
                    OwnerKind::Organization
                };
                match world.owner(Forge::Github, login).filter(|o| o.kind == kind) {
                    Some(o) => Ok(FieldValue::object(OwnerObj::new(o))),
                    None => {
                        let what = if name == "user" {
                            "a User"
                        } else {
                            "an Organization"
                        };
                        Err(typed(
                            "NOT_FOUND",
                            format!("Could not resolve to {what} with the login of '{login}'."),
                        ))
                    }
                }
            }
            other => Err(not_emulated("Query", other)),
        }
    }
}

pub fn visible(r: &Repository, ctx: &Ctx) -> bool {
    r.forge == Forge::Github && (r.visibility == Visibility::Public || ctx.caller.user.is_some())
}

/// An organisation or user by world id, with its concrete type name.
pub struct OwnerObj {
    id: u64,
    type_name: &'static str,
}

impl OwnerObj {
    pub fn new(owner: &Owner) -> Self {
        OwnerObj {
            id: owner.id,
            type_name: owner_type(owner),
        }
    }
}

impl Object for OwnerObj {
    fn type_name(&self) -> &str {
        self.type_name
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        let o = world.owners.get(&self.id).ok_or("owner vanished")?;
        let b = base(ctx);
        Ok(match name {
            "id" => FieldValue::scalar(node_id(owner_type(o), o.id)),
            "databaseId" => FieldValue::scalar(o.id),
            "login" => FieldValue::scalar(o.name.clone()),
            "name" => FieldValue::Null,
            "url" => FieldValue::scalar(format!("{}/{}", b.web, o.name)),
            "resourcePath" => FieldValue::scalar(format!("/{}", o.name)),
            "avatarUrl" => FieldValue::scalar(format!("{}/avatars/u/{}?v=4", b.web, o.id)),
            "createdAt" => FieldValue::scalar(rfc3339(o.created_at)),
            "repository" => {
                let repo = args.required_str("name")?;
                FieldValue::opt_object(
                    world
                        .repo(Forge::Github, &format!("{}/{repo}", o.name))
                        .filter(|r| visible(r, ctx))
                        .map(|r| Repo(r.id)),
                )
            }
            "repositories" => {
                let ids = repositories_of(&world, o.id, o.kind, args, ctx)?;
                FieldValue::object(Conn::page(
                    "repositories",
                    "RepositoryConnection",
                    ids,
                    args,
                    |id| FieldValue::object(Repo(*id)),
                )?)
            }
            other => return Err(not_emulated(owner_type(o), other)),
        })
    }
}

/// Repository ids of an owner per the `repositories` arguments, ordered.
fn repositories_of(
    world: &crate::world::World,
    owner_id: u64,
    kind: OwnerKind,
    args: &Args,
    ctx: &Ctx,
) -> Result<Vec<u64>, String> {
    let affiliations: Vec<String> = args
        .get("ownerAffiliations")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_else(|| vec!["OWNER".into(), "COLLABORATOR".into()]);
    let owned = affiliations.iter().any(|a| a == "OWNER");
    // Every user is a member of every organisation here.
    let member = kind == OwnerKind::User && affiliations.iter().any(|a| a == "ORGANIZATION_MEMBER");
    let mut repos: Vec<&Repository> = world
        .repos
        .values()
        .filter(|r| r.forge == Forge::Github && visible(r, ctx))
        .filter(|r| {
            (owned && r.owner_id == owner_id)
                || (member
                    && world
                        .owners
                        .get(&r.owner_id)
                        .is_some_and(|o| o.kind == OwnerKind::Organization))
        })
        .filter(|r| args.bool("isFork").is_none_or(|f| r.fork == f))
        .filter(|r| args.bool("isArchived").is_none_or(|a| r.archived == a))
        .filter(|r| match args.str("privacy").or(args.str("visibility")) {
            Some("PUBLIC") => r.visibility == Visibility::Public,
            Some("PRIVATE") => r.visibility != Visibility::Public,
            _ => true,
        })
        .collect();
    let order = args.get("orderBy");
    let field = order
        .and_then(|o| o["field"].as_str())
        .unwrap_or("CREATED_AT");
    let desc = order.and_then(|o| o["direction"].as_str()) == Some("DESC");
    match field {
        "NAME" => repos.sort_by_key(|r| (r.name.to_ascii_lowercase(), r.id)),
        "UPDATED_AT" => repos.sort_by_key(|r| (r.updated_at, r.id)),
        "PUSHED_AT" => repos.sort_by_key(|r| (r.pushed_at.unwrap_or(r.created_at), r.id)),
        _ => repos.sort_by_key(|r| (r.created_at, r.id)),
    }
    if desc {
        repos.reverse();
    }
    Ok(repos.into_iter().map(|r| r.id).collect())
}
