//! GitHub GraphQL `Repository` and `PullRequest`: repository fields
//! (`defaultBranchRef`, `ref(qualifiedName:)`, `object(expression:|oid:)`,
//! `pullRequests(headRefName, baseRefName, states, labels, orderBy)`…) and
//! pull-request fields with head/base oids kept by [`super::pulls`].

use serde_json::{json, Value};

use crate::graphql::{not_emulated, Args, FieldValue, Object};
use crate::server::Ctx;
use crate::world::{rfc3339, Forge, ProposalState, Visibility};

use super::graphql::{base, OwnerObj};
use super::graphql_conn::{Conn, Leaf};
use super::graphql_git::{self, RefObj};
use super::http::{node_id, Base};
use super::pulls;

/// A repository by world id; fields read the world when resolved.
pub struct Repo(pub u64);

impl Object for Repo {
    fn type_name(&self) -> &str {
        "Repository"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let mut world = ctx.state.world.lock();
        let r = world
            .repos
            .get(&self.0)
            .ok_or("repository vanished")?
            .clone();
        let b = base(ctx);
        let git = &r.git_dir;
        Ok(match name {
            "id" => FieldValue::scalar(node_id("Repository", r.id)),
            "databaseId" => FieldValue::scalar(r.id),
            "name" => FieldValue::scalar(r.name.clone()),
            "nameWithOwner" => FieldValue::scalar(r.full_path.clone()),
            "url" => FieldValue::scalar(b.repo_web(&r.full_path)),
            "resourcePath" => FieldValue::scalar(format!("/{}", r.full_path)),
            "sshUrl" => FieldValue::scalar(format!("git@{}:{}.git", host(&b), r.full_path)),
            "description" => FieldValue::opt_scalar(r.description.clone()),
            "isArchived" => FieldValue::scalar(r.archived),
            "isFork" => FieldValue::scalar(r.fork),
            "isPrivate" => FieldValue::scalar(r.visibility != Visibility::Public),
            "isEmpty" => FieldValue::scalar(super::gitops::is_empty(git)),
            "isDisabled" | "isLocked" | "isTemplate" | "isMirror" => FieldValue::scalar(false),
            "visibility" => FieldValue::scalar(if r.visibility == Visibility::Public {
                "PUBLIC"
            } else {
                "PRIVATE"
            }),
            "createdAt" => FieldValue::scalar(rfc3339(r.created_at)),
            "updatedAt" => FieldValue::scalar(rfc3339(r.updated_at)),
            "pushedAt" => FieldValue::opt_scalar(r.pushed_at.map(rfc3339)),
            "archivedAt" => FieldValue::Null,
            "owner" => FieldValue::opt_object(world.owners.get(&r.owner_id).map(OwnerObj::new)),
            "defaultBranchRef" => {
                let name = format!("refs/heads/{}", r.default_branch);
                FieldValue::opt_object(RefObj::load(&r, &name))
            }
            "ref" => {
                let q = args.required_str("qualifiedName")?;
                let candidates = [
                    q.to_string(),
                    format!("refs/heads/{q}"),
                    format!("refs/tags/{q}"),
                ];
                FieldValue::opt_object(candidates.iter().find_map(|n| {
                    (n.starts_with("refs/"))
                        .then(|| RefObj::load(&r, n))
                        .flatten()
                }))
            }
            "object" => {
                let found = match (args.str("expression"), args.str("oid")) {
                    (Some(expr), _) => graphql_git::by_expression(&r, expr),
                    (None, Some(oid)) => graphql_git::by_oid(&r, oid),
                    (None, None) => None,
                };
                FieldValue::opt_object(found)
            }
            "pullRequests" => {
                pulls::sync(&mut world, r.id);
                let ids = pull_requests(&world, r.id, args, None);
                FieldValue::object(Conn::page(
                    "pullRequests",
                    "PullRequestConnection",
                    ids,
                    args,
                    |id| FieldValue::object(PullRequest(*id)),
                )?)
            }
            other => return Err(not_emulated("Repository", other)),
        })
    }
}

fn host(b: &Base) -> String {
    let h = b
        .web
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    h.split(':').next().unwrap_or(h).to_string()
}

/// Pull request ids of a repository per `states`, `headRefName`,
/// `baseRefName`, `labels` and `orderBy` (default: by number).
pub fn pull_requests(
    world: &crate::world::World,
    repo_id: u64,
    args: &Args,
    head: Option<&str>,
) -> Vec<u64> {
    let states: Option<Vec<&str>> = args
        .get("states")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let head = head.or(args.str("headRefName"));
    let labels: Option<Vec<&str>> = args
        .get("labels")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let mut prs: Vec<&crate::world::Proposal> = world
        .proposals_of(repo_id)
        .into_iter()
        .filter(|p| p.forge == Forge::Github)
        .filter(|p| {
            states
                .as_ref()
                .is_none_or(|s| s.contains(&state_name(p.state)))
        })
        .filter(|p| head.is_none_or(|h| p.head == h))
        .filter(|p| args.str("baseRefName").is_none_or(|b| p.base == b))
        .filter(|p| {
            labels
                .as_ref()
                .is_none_or(|l| l.iter().any(|l| p.labels.iter().any(|x| x == l)))
        })
        .collect();
    let order = args.get("orderBy");
    match order.and_then(|o| o["field"].as_str()) {
        Some("UPDATED_AT") => prs.sort_by_key(|p| (p.updated_at, p.number)),
        Some("COMMENTS") => prs.sort_by_key(|p| (p.comments.len() as i64, p.number)),
        Some(_) => prs.sort_by_key(|p| (p.created_at, p.number)),
        None => prs.sort_by_key(|p| (0, p.number)),
    }
    if order.and_then(|o| o["direction"].as_str()) == Some("DESC") {
        prs.reverse();
    }
    prs.into_iter().map(|p| p.id).collect()
}

fn state_name(s: ProposalState) -> &'static str {
    match s {
        ProposalState::Open => "OPEN",
        ProposalState::Closed => "CLOSED",
        ProposalState::Merged => "MERGED",
    }
}

/// A pull request by proposal id.
pub struct PullRequest(pub u64);

impl Object for PullRequest {
    fn type_name(&self) -> &str {
        "PullRequest"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        let p = world
            .proposals
            .get(&self.0)
            .ok_or("pull request vanished")?;
        let r = world.repos.get(&p.repo_id).ok_or("repository vanished")?;
        let b = base(ctx);
        let x = pulls::extra(&world, p.id);
        let open = p.state == ProposalState::Open;
        let live = |branch: &str, fallback: &str| {
            let oid = open
                .then(|| {
                    crate::gitstore::resolve(&r.git_dir, &format!("refs/heads/{branch}"))
                        .ok()
                        .flatten()
                })
                .flatten();
            oid.unwrap_or_else(|| fallback.to_string())
        };
        let url = format!("{}/pull/{}", b.repo_web(&r.full_path), p.number);
        Ok(match name {
            "id" => FieldValue::scalar(node_id("PullRequest", p.id)),
            "databaseId" | "fullDatabaseId" => FieldValue::scalar(p.id),
            "number" => FieldValue::scalar(p.number),
            "url" | "permalink" => FieldValue::scalar(url),
            "resourcePath" => FieldValue::scalar(format!("/{}/pull/{}", r.full_path, p.number)),
            "state" => FieldValue::scalar(state_name(p.state)),
            "title" => FieldValue::scalar(p.title.clone()),
            "body" | "bodyText" => FieldValue::scalar(p.body.clone()),
            "headRefName" => FieldValue::scalar(p.head.clone()),
            "baseRefName" => FieldValue::scalar(p.base.clone()),
            "headRefOid" => FieldValue::scalar(live(&p.head, &x.head_sha)),
            "baseRefOid" => FieldValue::scalar(live(&p.base, &x.base_sha)),
            "merged" => FieldValue::scalar(p.state == ProposalState::Merged),
            "mergedAt" => FieldValue::opt_scalar(p.merged_at.map(rfc3339)),
            "closed" => FieldValue::scalar(!open),
            "closedAt" => FieldValue::opt_scalar(p.closed_at.map(rfc3339)),
            "isDraft" => FieldValue::scalar(p.draft),
            "locked" => FieldValue::scalar(false),
            "createdAt" => FieldValue::scalar(rfc3339(p.created_at)),
            "updatedAt" => FieldValue::scalar(rfc3339(p.updated_at)),
            "author" => {
                FieldValue::opt_object(world.owner(Forge::Github, &p.author).map(OwnerObj::new))
            }
            "repository" => FieldValue::object(Repo(r.id)),
            "mergeCommit" => FieldValue::opt_object(
                p.merge_commit
                    .as_deref()
                    .and_then(|c| graphql_git::by_oid(r, c)),
            ),
            "labels" => {
                let names = p.labels.clone();
                FieldValue::object(Conn::page("labels", "LabelConnection", names, args, |n| {
                    FieldValue::object(Leaf::new("Label", json!({ "name": n })))
                })?)
            }
            other => return Err(not_emulated("PullRequest", other)),
        })
    }
}
