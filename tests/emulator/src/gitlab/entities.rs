//! GitLab's JSON entities, shaped after GitLab's API entities and the
//! go-gitlab fixtures in `forge-specs/gitlab/fixtures/`: projects (with
//! namespace, `_links`, `forked_from_project` on forks only), groups,
//! users, commits (`short_id` is 11 characters, as GitLab writes it),
//! branches, merge requests and notes.

use serde_json::{json, Value};

use super::git::CommitData;
use super::state;
use super::{ts, ts_opt};
use crate::world::{
    Comment, Forge, Owner, OwnerKind, Proposal, ProposalState, Repository, Visibility, World,
};

fn visibility(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "public",
        Visibility::Private => "private",
        Visibility::Internal => "internal",
    }
}

/// The owner's web URL: `/groups/a/b` for groups, `/login` for users.
pub fn owner_web_url(owner: &Owner, base: &str) -> String {
    match owner.kind {
        OwnerKind::User => format!("{base}/{}", owner.name),
        _ => format!("{base}/groups/{}", owner.path),
    }
}

/// `Acme / Platform`: the names of a group and its parents.
pub fn full_name(world: &World, owner: &Owner) -> String {
    let mut names = vec![owner.name.clone()];
    let mut parent = owner.parent;
    while let Some(p) = parent.and_then(|id| world.owners.get(&id)) {
        names.push(p.name.clone());
        parent = p.parent;
    }
    names.reverse();
    names.join(" / ")
}

/// The namespace a project embeds.
pub fn namespace_json(owner: &Owner, base: &str) -> Value {
    json!({
        "id": owner.id,
        "name": owner.name,
        "path": owner.name,
        "kind": if owner.kind == OwnerKind::User { "user" } else { "group" },
        "full_path": owner.path,
        "parent_id": owner.parent,
        "avatar_url": null,
        "web_url": owner_web_url(owner, base),
    })
}

/// A user as GitLab embeds it (`author`, `reviewers`, …).
pub fn user_json(world: &World, login: &str, base: &str) -> Value {
    let id = world
        .owner(Forge::Gitlab, login)
        .filter(|o| o.kind == OwnerKind::User)
        .map(|o| o.id);
    json!({
        "id": id,
        "username": login,
        "name": login,
        "state": "active",
        "locked": false,
        "avatar_url": null,
        "web_url": format!("{base}/{login}"),
    })
}

/// The login of the GitLab user with `id`.
pub fn login_of(world: &World, id: u64) -> Option<String> {
    world
        .owners
        .get(&id)
        .filter(|o| o.forge == Forge::Gitlab && o.kind == OwnerKind::User)
        .map(|o| o.name.clone())
}

/// A project's display name (`name`), which may differ from its path.
pub fn project_name(world: &World, r: &Repository) -> String {
    state::project(world, r.id)
        .name
        .unwrap_or_else(|| r.name.clone())
}

fn host(base: &str) -> &str {
    base.split("://").nth(1).unwrap_or(base)
}

/// The fields every project shape shares (GitLab's `BasicProjectDetails`).
pub fn basic_project_json(world: &World, r: &Repository, base: &str) -> Value {
    let owner = world.owners.get(&r.owner_id);
    let name = project_name(world, r);
    let name_with_namespace = match owner {
        Some(o) if o.kind != OwnerKind::User => format!("{} / {name}", full_name(world, o)),
        Some(o) => format!("{} / {name}", o.name),
        None => name.clone(),
    };
    let web_url = format!("{base}/{}", r.full_path);
    json!({
        "id": r.id,
        "description": r.description,
        "name": name,
        "name_with_namespace": name_with_namespace,
        "path": r.name,
        "path_with_namespace": r.full_path,
        "created_at": ts(r.created_at),
        "default_branch": r.default_branch,
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": format!("git@{}:{}.git", host(base), r.full_path),
        "http_url_to_repo": format!("{web_url}.git"),
        "web_url": web_url,
        "readme_url": null,
        "forks_count": state::forks_count(world, r.id),
        "avatar_url": null,
        "star_count": 0,
        "last_activity_at": ts(r.updated_at),
        "namespace": owner.map(|o| namespace_json(o, base)),
    })
}

/// A project as `GET /projects/{id}` and the listings return it.
pub fn project_json(world: &World, r: &Repository, base: &str) -> Value {
    let extra = state::project(world, r.id);
    let mut v = basic_project_json(world, r, base);
    // One open of the repository: is it empty, is there a README?
    let (empty, readme) = match super::git::open(&r.git_dir) {
        Ok(repo) => {
            let head = super::git::branch_head(&repo, &r.default_branch);
            let readme = head
                .and_then(|h| repo.find_commit(h).ok())
                .and_then(|c| c.tree().ok())
                .is_some_and(|t| t.get_name("README.md").is_some());
            (super::git::branches(&repo).is_empty(), readme)
        }
        Err(_) => (true, false),
    };
    let api = format!("{base}/api/v4/projects/{}", r.id);
    let o = v.as_object_mut().expect("an object");
    if readme {
        o.insert(
            "readme_url".into(),
            json!(format!(
                "{base}/{}/-/blob/{}/README.md",
                r.full_path, r.default_branch
            )),
        );
    }
    o.insert(
        "_links".into(),
        json!({
            "self": api,
            "issues": format!("{api}/issues"),
            "merge_requests": format!("{api}/merge_requests"),
            "repo_branches": format!("{api}/repository/branches"),
            "labels": format!("{api}/labels"),
            "events": format!("{api}/events"),
            "members": format!("{api}/members"),
            "cluster_agents": format!("{api}/cluster_agents"),
        }),
    );
    if let Some(owner) = world
        .owners
        .get(&r.owner_id)
        .filter(|o| o.kind == OwnerKind::User)
    {
        o.insert("owner".into(), user_json(world, &owner.name, base));
    }
    let fields = json!({
        "empty_repo": empty,
        "archived": r.archived,
        "visibility": visibility(r.visibility),
        "packages_enabled": true,
        "issues_enabled": true,
        "merge_requests_enabled": true,
        "wiki_enabled": true,
        "jobs_enabled": true,
        "snippets_enabled": true,
        "container_registry_enabled": false,
        "service_desk_enabled": false,
        "can_create_merge_request_in": true,
        "issues_access_level": "enabled",
        "repository_access_level": "enabled",
        "merge_requests_access_level": "enabled",
        "forking_access_level": "enabled",
    });
    let more = json!({
        "wiki_access_level": "enabled",
        "builds_access_level": "enabled",
        "snippets_access_level": "enabled",
        "resolve_outdated_diff_discussions": false,
        "shared_runners_enabled": true,
        "lfs_enabled": true,
        "creator_id": extra.creator.as_deref().and_then(|c| world.owner(Forge::Gitlab, c)).map(|o| o.id),
        "import_status": "none",
        "open_issues_count": 0,
        "ci_default_git_depth": 20,
        "public_jobs": true,
        "shared_with_groups": [],
        "only_allow_merge_if_pipeline_succeeds": false,
        "allow_merge_on_skipped_pipeline": null,
        "only_allow_merge_if_all_discussions_are_resolved": false,
        "remove_source_branch_after_merge": extra.remove_source_branch_after_merge,
        "request_access_enabled": true,
        "merge_method": extra.merge_method.as_str(),
        "squash_option": "default_off",
        "autoclose_referenced_issues": true,
        "updated_at": ts(r.updated_at),
    });
    if let (Value::Object(f), Value::Object(m)) = (fields, more) {
        o.extend(f);
        o.extend(m);
    }
    if r.fork {
        let parent = extra.forked_from.and_then(|id| world.repos.get(&id));
        let value = match parent {
            Some(p) => basic_project_json(world, p, base),
            // Seeded as a fork of an unrecorded parent.
            None => json!({ "id": null, "path_with_namespace": null }),
        };
        o.insert("forked_from_project".into(), value);
    }
    v
}

/// A group (`GET /groups/{id}` adds `projects` and `shared_projects`).
pub fn group_json(world: &World, g: &Owner, base: &str) -> Value {
    json!({
        "id": g.id,
        "web_url": owner_web_url(g, base),
        "name": g.name,
        "path": g.name,
        "description": "",
        "visibility": "public",
        "share_with_group_lock": false,
        "require_two_factor_authentication": false,
        "two_factor_grace_period": 48,
        "project_creation_level": "developer",
        "auto_devops_enabled": null,
        "subgroup_creation_level": "maintainer",
        "emails_disabled": null,
        "mentions_disabled": null,
        "lfs_enabled": true,
        "default_branch_protection": 2,
        "avatar_url": null,
        "request_access_enabled": true,
        "full_name": full_name(world, g),
        "full_path": g.path,
        "created_at": ts(g.created_at),
        "parent_id": g.parent,
    })
}

/// The 11-character short id GitLab gives commits.
pub fn short_id(sha: &str) -> String {
    sha.chars().take(11).collect()
}

/// A commit (`API::Entities::Commit`).
pub fn commit_json(c: &CommitData, project_path: &str, base: &str) -> Value {
    json!({
        "id": c.id,
        "short_id": short_id(&c.id),
        "created_at": c.committed,
        "parent_ids": c.parents,
        "title": c.title(),
        "message": c.message,
        "author_name": c.author_name,
        "author_email": c.author_email,
        "authored_date": c.authored,
        "committer_name": c.committer_name,
        "committer_email": c.committer_email,
        "committed_date": c.committed,
        "trailers": {},
        "extended_trailers": {},
        "web_url": format!("{base}/{project_path}/-/commit/{}", c.id),
    })
}

/// A commit with details (`API::Entities::CommitDetail`): `stats` when
/// given, `status`, `project_id`, `last_pipeline`.
pub fn commit_detail_json(
    c: &CommitData,
    project: &Repository,
    base: &str,
    stats: Option<Value>,
) -> Value {
    let mut v = commit_json(c, &project.full_path, base);
    let o = v.as_object_mut().expect("an object");
    if let Some(s) = stats {
        o.insert("stats".into(), s);
    }
    o.insert("status".into(), Value::Null);
    o.insert("project_id".into(), json!(project.id));
    o.insert("last_pipeline".into(), Value::Null);
    v
}

/// A branch (`API::Entities::Branch`).
pub fn branch_json(
    name: &str,
    commit: &CommitData,
    r: &Repository,
    merged: bool,
    base: &str,
) -> Value {
    let default = name == r.default_branch;
    json!({
        "name": name,
        "commit": commit_json(commit, &r.full_path, base),
        "merged": merged,
        "protected": default,
        "developers_can_push": false,
        "developers_can_merge": false,
        "can_push": true,
        "default": default,
        "web_url": format!("{base}/{}/-/tree/{name}", r.full_path),
    })
}

/// A merge request's state as GitLab names it.
pub fn mr_state(s: ProposalState) -> &'static str {
    match s {
        ProposalState::Open => "opened",
        ProposalState::Closed => "closed",
        ProposalState::Merged => "merged",
    }
}

/// What [`mr_json`] needs from git, computed by the caller.
#[derive(Clone, Debug, Default)]
pub struct MrGit {
    /// Source branch head (or the head when merged).
    pub sha: Option<String>,
    pub base_sha: Option<String>,
    pub start_sha: Option<String>,
    pub has_conflicts: bool,
    pub changes_count: Option<usize>,
}

/// A merge request: `MergeRequestBasic` (listings) or with `detail`
/// (`MergeRequest`: `diff_refs`, `changes_count`, `user`, …).
pub fn mr_json(
    world: &World,
    p: &Proposal,
    r: &Repository,
    g: &MrGit,
    base: &str,
    detail: Option<Option<&str>>,
) -> Value {
    let extra = state::mr(world, p.id);
    let user = |l: &str| user_json(world, l, base);
    let opt_user = |l: &Option<String>| l.as_deref().map_or(Value::Null, user);
    let assignees: Vec<Value> = extra.assignees.iter().map(|a| user(a)).collect();
    let mergeable = p.state == ProposalState::Open && !g.has_conflicts;
    let (merge_status, detailed) = match p.state {
        ProposalState::Open if g.has_conflicts => ("cannot_be_merged", "conflict"),
        ProposalState::Open => ("can_be_merged", "mergeable"),
        _ => ("can_be_merged", "not_open"),
    };
    let mut labels = p.labels.clone();
    labels.sort();
    let mut v = json!({
        "id": p.id,
        "iid": p.number,
        "project_id": r.id,
        "title": p.title,
        "description": p.body,
        "state": mr_state(p.state),
        "created_at": ts(p.created_at),
        "updated_at": ts(p.updated_at),
        "merged_by": opt_user(&extra.merged_by),
        "merge_user": opt_user(&extra.merged_by),
        "merged_at": ts_opt(p.merged_at),
        "closed_by": opt_user(&extra.closed_by),
        "closed_at": ts_opt(p.closed_at),
        "target_branch": p.base,
        "source_branch": p.head,
        "user_notes_count": p.comments.len(),
        "upvotes": 0,
        "downvotes": 0,
        "author": user(&p.author),
        "assignee": assignees.first().cloned().unwrap_or(Value::Null),
        "assignees": assignees,
        "reviewers": p.reviewers.iter().map(|l| user(l)).collect::<Vec<_>>(),
        "source_project_id": r.id,
        "target_project_id": r.id,
        "labels": labels,
    });
    extend(
        &mut v,
        json!({
            "draft": p.draft,
            "work_in_progress": p.draft,
            "milestone": null,
            "merge_when_pipeline_succeeds": false,
            "merge_status": merge_status,
            "detailed_merge_status": detailed,
            "sha": g.sha,
            "merge_commit_sha": p.merge_commit,
            "squash_commit_sha": extra.squash_commit,
            "discussion_locked": null,
            "should_remove_source_branch": extra.should_remove_source_branch,
            "force_remove_source_branch": extra.force_remove_source_branch,
            "prepared_at": ts(p.created_at),
            "reference": format!("!{}", p.number),
        }),
    );
    let short = format!("!{}", p.number);
    extend(
        &mut v,
        json!({
            "references": {
                "short": short,
                "relative": short,
                "full": format!("{}{short}", r.full_path),
            },
            "web_url": format!("{base}/{}/-/merge_requests/{}", r.full_path, p.number),
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": null,
                "human_total_time_spent": null,
            },
            "squash": extra.squash,
            "squash_on_merge": extra.squash,
            "task_completion_status": { "count": 0, "completed_count": 0 },
            "has_conflicts": g.has_conflicts,
            "blocking_discussions_resolved": true,
        }),
    );
    if let Some(viewer) = detail {
        let more = json!({
            "subscribed": false,
            "changes_count": g.changes_count.map(|n| n.to_string()),
            "latest_build_started_at": null,
            "latest_build_finished_at": null,
            "first_deployed_to_production_at": null,
            "pipeline": null,
            "head_pipeline": null,
            "diff_refs": {
                "base_sha": g.base_sha,
                "head_sha": g.sha,
                "start_sha": g.start_sha,
            },
            "merge_error": null,
            "first_contribution": false,
            "user": { "can_merge": viewer.is_some() && mergeable },
        });
        extend(&mut v, more);
    }
    v
}

/// Adds the fields of `more` (an object) to `v` (an object).
pub fn extend(v: &mut Value, more: Value) {
    if let (Value::Object(o), Value::Object(m)) = (v, more) {
        o.extend(m);
    }
}

/// A note on a merge request.
pub fn note_json(world: &World, c: &Comment, p: &Proposal, base: &str) -> Value {
    json!({
        "id": c.id,
        "type": null,
        "body": c.body,
        "attachment": null,
        "author": user_json(world, &c.author, base),
        "created_at": ts(c.created_at),
        "updated_at": ts(c.updated_at),
        "system": false,
        "noteable_id": p.id,
        "noteable_type": "MergeRequest",
        "project_id": p.repo_id,
        "resolvable": false,
        "confidential": false,
        "internal": false,
        "imported": false,
        "imported_from": "none",
        "noteable_iid": p.number,
        "commands_changes": {},
    })
}
