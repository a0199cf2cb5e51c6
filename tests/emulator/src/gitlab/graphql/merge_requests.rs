//! `Project.mergeRequests` and `Project.mergeRequest` of the 13.8-era
//! schema: filtered by `iids`, `sourceBranches`, `targetBranches`, `state`
//! and `labels`, ordered by `sort` (default `created_desc`), paged as every
//! GitLab connection. A `MergeRequest` answers from the same rendering as
//! REST's `MergeRequestBasic`, so the two cannot disagree (`diffHeadSha`
//! is REST's `sha`).

use std::sync::Arc;

use serde_json::Value;

use super::connection::{Connection, MakeNode};
use crate::gitlab::merge_requests::render;
use crate::graphql::{not_emulated, Args, FieldValue, Object};
use crate::server::Ctx;
use crate::world::{Proposal, Repository, World};

fn strings(args: &Args, name: &str) -> Option<Vec<String>> {
    args.get(name).and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    })
}

fn matches(p: &Proposal, args: &Args) -> bool {
    let state = args.str("state").unwrap_or("all");
    let in_list =
        |name: &str, value: &str| strings(args, name).is_none_or(|l| l.iter().any(|x| x == value));
    (state == "all" || crate::gitlab::entities::mr_state(p.state) == state)
        && in_list("sourceBranches", &p.head)
        && in_list("targetBranches", &p.base)
        && in_list("iids", &p.number.to_string())
        && strings(args, "labels").is_none_or(|l| l.iter().all(|w| p.labels.contains(w)))
}

/// `mergeRequests(...)` of project `r`.
pub fn connection(
    world: &World,
    base: &str,
    r: &Repository,
    args: &Args,
) -> Result<FieldValue, String> {
    let mut mrs: Vec<&Proposal> = world
        .proposals_of(r.id)
        .into_iter()
        .filter(|p| matches(p, args))
        .collect();
    let sort = args
        .str("sort")
        .unwrap_or("created_desc")
        .to_ascii_lowercase();
    mrs.sort_by(|a, b| {
        let key = if sort.starts_with("updated") {
            a.updated_at.cmp(&b.updated_at)
        } else {
            a.created_at.cmp(&b.created_at)
        };
        key.then(a.id.cmp(&b.id))
    });
    if !sort.ends_with("_asc") {
        mrs.reverse();
    }
    let items: Vec<(String, MakeNode)> = mrs
        .into_iter()
        .map(|p| {
            let json = render(world, base, r, p, None);
            let make: MakeNode = Arc::new(move || FieldValue::object(MergeRequest(json.clone())));
            (p.id.to_string(), make)
        })
        .collect();
    Ok(FieldValue::object(Connection::page(
        "MergeRequestConnection",
        "MergeRequestEdge",
        items,
        args,
    )?))
}

/// `mergeRequest(iid:)` of project `r`.
pub fn one(world: &World, base: &str, r: &Repository, args: &Args) -> Result<FieldValue, String> {
    let iid = args.required_str("iid")?;
    Ok(FieldValue::opt_object(
        world
            .proposals_of(r.id)
            .into_iter()
            .find(|p| p.number.to_string() == iid)
            .map(|p| MergeRequest(render(world, base, r, p, None))),
    ))
}

/// A merge request, from its REST rendering.
struct MergeRequest(Value);

impl Object for MergeRequest {
    fn type_name(&self) -> &str {
        "MergeRequest"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Result<FieldValue, String> {
        let v = &self.0;
        let rest = |key: &str| FieldValue::Scalar(v[key].clone());
        Ok(match name {
            "id" => FieldValue::scalar(format!("gid://gitlab/MergeRequest/{}", v["id"])),
            "iid" => FieldValue::scalar(v["iid"].to_string()),
            "webUrl" => rest("web_url"),
            "state" => rest("state"),
            "diffHeadSha" => rest("sha"),
            "mergeCommitSha" => rest("merge_commit_sha"),
            "sourceBranch" => rest("source_branch"),
            "targetBranch" => rest("target_branch"),
            "title" => rest("title"),
            "description" => rest("description"),
            "createdAt" => rest("created_at"),
            "updatedAt" => rest("updated_at"),
            "mergedAt" => rest("merged_at"),
            "draft" | "workInProgress" => rest("draft"),
            "projectId" | "sourceProjectId" | "targetProjectId" => rest("project_id"),
            other => return Err(not_emulated("MergeRequest", other)),
        })
    }
}
