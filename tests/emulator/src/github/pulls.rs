//! Pull requests as GitHub keeps them, on top of the world's [`Proposal`]:
//! head and base oids remembered while the branches exist, statistics frozen
//! when a pull request stops being open, GitHub closing a pull request whose
//! head or base branch was deleted, the `pull-request` /
//! `pull-request-simple` JSON, and merging (merge commit, squash, rebase)
//! that moves the base branch with a compare-and-swap.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::gitstore::{self, Person};
use crate::world::{rfc3339, Forge, Proposal, ProposalState, Repository, World};

use super::gitops;
use super::http::{node_id, Base};
use super::shapes::{association, label_json, login_json, merge, owner_json, repo_json};

/// GitHub's own state, stored with `World::ext_mut`.
#[derive(Default)]
pub struct GhState {
    /// Per proposal id.
    pub prs: HashMap<u64, PrExtra>,
}

/// What GitHub remembers about a pull request beyond the world's record.
#[derive(Clone, Debug, Default)]
pub struct PrExtra {
    /// The last head oid seen while the head branch existed.
    pub head_sha: String,
    /// The last base oid seen while open (at merge: the base before it).
    pub base_sha: String,
    pub maintainer_can_modify: bool,
    pub merged_by: Option<String>,
    /// Statistics frozen when the pull request was closed or merged.
    pub frozen: Option<Stats>,
}

/// `commits`, `additions`, `deletions`, `changed_files`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    pub commits: usize,
    pub additions: usize,
    pub deletions: usize,
    pub changed_files: usize,
}

/// Statistics of merging `head` into `base`, as GitHub counts them: the
/// commits not on base, and the diff from the merge base to the head.
pub fn stats(git_dir: &std::path::Path, base: &str, head: &str) -> Stats {
    let Some(mb) = gitops::merge_base(git_dir, base, head) else {
        return Stats::default();
    };
    let commits = gitops::commits_between(git_dir, base, head)
        .map(|c| c.len())
        .unwrap_or(0);
    let files = gitops::diff(git_dir, Some(&mb), head).unwrap_or_default();
    Stats {
        commits,
        additions: files.iter().map(|f| f.additions).sum(),
        deletions: files.iter().map(|f| f.deletions).sum(),
        changed_files: files.len(),
    }
}

/// The extra state of a proposal (default if never seen).
pub fn extra(world: &World, id: u64) -> PrExtra {
    world
        .ext::<GhState>()
        .and_then(|s| s.prs.get(&id))
        .cloned()
        .unwrap_or_default()
}

/// Brings the pull requests of a repository up to date with its refs:
/// remembers head/base oids, and closes open pull requests whose head or
/// base branch no longer exists (as GitHub does).
pub fn sync(world: &mut World, repo_id: u64) {
    let Some(repo) = world.repos.get(&repo_id) else {
        return;
    };
    let git_dir = repo.git_dir.clone();
    let refs = gitstore::refs(&git_dir).unwrap_or_default();
    let now = world.now();
    let open: Vec<(u64, String, String)> = world
        .proposals
        .values()
        .filter(|p| {
            p.repo_id == repo_id && p.forge == Forge::Github && p.state == ProposalState::Open
        })
        .map(|p| (p.id, p.head.clone(), p.base.clone()))
        .collect();
    for (id, head, base) in open {
        let head_sha = refs.get(&format!("refs/heads/{head}")).cloned();
        let base_sha = refs.get(&format!("refs/heads/{base}")).cloned();
        let extra = world.ext_mut::<GhState>().prs.entry(id).or_default();
        if let Some(h) = &head_sha {
            extra.head_sha = h.clone();
        }
        if let Some(b) = &base_sha {
            extra.base_sha = b.clone();
        }
        if head_sha.is_none() || base_sha.is_none() {
            if !extra.head_sha.is_empty() && !extra.base_sha.is_empty() {
                extra.frozen = Some(stats(&git_dir, &extra.base_sha, &extra.head_sha));
            }
            if let Some(p) = world.proposals.get_mut(&id) {
                p.state = ProposalState::Closed;
                p.closed_at = Some(now);
                p.updated_at = now;
            }
        }
    }
}

/// `pull-request` (`full`) or `pull-request-simple`.
pub fn pr_json(world: &World, repo: &Repository, p: &Proposal, base: &Base, full: bool) -> Value {
    let x = extra(world, p.id);
    let live = |branch: &str| {
        gitstore::resolve(&repo.git_dir, &format!("refs/heads/{branch}"))
            .ok()
            .flatten()
    };
    let open = p.state == ProposalState::Open;
    let head_sha = (if open { live(&p.head) } else { None }).unwrap_or(x.head_sha.clone());
    let base_sha = (if open { live(&p.base) } else { None }).unwrap_or(x.base_sha.clone());
    let api = base.repo_api(&repo.full_path);
    let url = format!("{api}/pulls/{}", p.number);
    let html = format!("{}/pull/{}", base.repo_web(&repo.full_path), p.number);
    let issue = format!("{api}/issues/{}", p.number);
    let owner = world.owners.get(&repo.owner_id);
    let owner_login = owner.map_or("", |o| o.name.as_str());
    let owner_v = owner.map_or(Value::Null, |o| owner_json(o, base));
    let repo_v = repo_json(world, repo, base);
    let side = |branch: &str, sha: &str| {
        json!({
            "label": format!("{owner_login}:{branch}"),
            "ref": branch,
            "sha": sha,
            "user": owner_v,
            "repo": repo_v,
        })
    };
    let labels: Vec<Value> = p
        .labels
        .iter()
        .filter_map(|name| repo.labels.iter().find(|l| &l.name == name))
        .map(|l| {
            let mut v = label_json(l, &repo.full_path, base);
            // `pull-request-simple` describes a label's description as a
            // string, never null (`pull-request` allows null).
            if !full && v["description"].is_null() {
                v["description"] = Value::from("");
            }
            v
        })
        .collect();
    let reviewers: Vec<Value> = p
        .reviewers
        .iter()
        .map(|r| login_json(world, r, base))
        .collect();
    let link = |href: String| json!({ "href": href });
    let links = json!({
        "self": link(url.clone()),
        "html": link(html.clone()),
        "issue": link(issue.clone()),
        "comments": link(format!("{issue}/comments")),
        "review_comments": link(format!("{url}/comments")),
        "review_comment": link(format!("{api}/pulls/comments{{/number}}")),
        "commits": link(format!("{url}/commits")),
        "statuses": link(format!("{api}/statuses/{head_sha}")),
    });
    let head_v = side(&p.head, &head_sha);
    let base_v = side(&p.base, &base_sha);
    let mut v = json!({
        "url": url,
        "id": p.id,
        "node_id": node_id("PullRequest", p.id),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "issue_url": issue,
        "commits_url": format!("{url}/commits"),
        "review_comments_url": format!("{url}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{issue}/comments"),
        "statuses_url": format!("{api}/statuses/{head_sha}"),
        "number": p.number,
        "state": if open { "open" } else { "closed" },
        "locked": false,
        "title": p.title,
        "user": login_json(world, &p.author, base),
        "body": if p.body.is_empty() { Value::Null } else { json!(p.body) },
        "labels": labels,
        "milestone": null,
        "active_lock_reason": null,
        "created_at": rfc3339(p.created_at),
        "updated_at": rfc3339(p.updated_at),
        "closed_at": p.closed_at.map(rfc3339),
        "merged_at": p.merged_at.map(rfc3339),
        "merge_commit_sha": p.merge_commit,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": reviewers,
        "requested_teams": [],
        "head": head_v,
        "base": base_v,
        "_links": links,
        "author_association": association(world, repo, &p.author),
        "auto_merge": null,
        "draft": p.draft,
    });
    if full {
        let stats = match x.frozen {
            Some(s) if !open => s,
            _ if head_sha.is_empty() || base_sha.is_empty() => Stats::default(),
            _ => stats(&repo.git_dir, &base_sha, &head_sha),
        };
        let mergeable = if open && !head_sha.is_empty() && !base_sha.is_empty() {
            gitops::merge_tree(&repo.git_dir, &base_sha, &head_sha)
                .ok()
                .map(|t| t.is_some())
        } else {
            None
        };
        let state = match mergeable {
            Some(true) => "clean",
            Some(false) => "dirty",
            None => "unknown",
        };
        merge(
            &mut v,
            json!({
                "merged": p.state == ProposalState::Merged,
                "mergeable": mergeable,
                "rebaseable": mergeable,
                "mergeable_state": state,
                "merged_by": x.merged_by.as_deref().map(|m| login_json(world, m, base)),
                "comments": p.comments.len(),
                "review_comments": 0,
                "maintainer_can_modify": x.maintainer_can_modify,
                "commits": stats.commits,
                "additions": stats.additions,
                "deletions": stats.deletions,
                "changed_files": stats.changed_files,
            }),
        );
    }
    v
}

/// How to merge (`merge_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Merge,
    Squash,
    Rebase,
}

/// A merge request as `PUT /pulls/{n}/merge` gives it.
pub struct MergeRequest<'a> {
    pub method: Method,
    pub title: Option<&'a str>,
    pub message: Option<&'a str>,
    /// The head oid the caller expects.
    pub sha: Option<&'a str>,
    pub merger: &'a str,
}

/// The committer of merges made on GitHub's web/API side.
pub fn github_committer(time: i64) -> Person {
    Person {
        name: "GitHub".into(),
        email: "noreply@github.com".into(),
        time: Some(time),
    }
}

/// Merges pull request `id`; returns the new base tip. Errors carry the
/// status and message GitHub answers with.
pub fn merge_pr(
    world: &mut World,
    id: u64,
    req: &MergeRequest<'_>,
) -> Result<String, (StatusCode, String)> {
    let not_mergeable = || {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "Pull Request is not mergeable".to_string(),
        )
    };
    let p = world
        .proposals
        .get(&id)
        .cloned()
        .ok_or_else(not_mergeable)?;
    sync(world, p.repo_id);
    let p = world
        .proposals
        .get(&id)
        .cloned()
        .ok_or_else(not_mergeable)?;
    if p.state != ProposalState::Open {
        return Err(not_mergeable());
    }
    let repo = world
        .repos
        .get(&p.repo_id)
        .cloned()
        .ok_or_else(not_mergeable)?;
    let git = &repo.git_dir;
    let x = extra(world, id);
    let (head, base) = (x.head_sha.clone(), x.base_sha.clone());
    if let Some(expected) = req.sha {
        if expected != head {
            return Err((
                StatusCode::CONFLICT,
                "Head branch was modified. Review and try the merge again.".into(),
            ));
        }
    }
    let now = world.now();
    let mut merger = super::shapes::noreply(world, req.merger);
    merger.time = Some(now);
    let committer = github_committer(now);
    let internal = |e: crate::Error| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let owner = world
        .owners
        .get(&repo.owner_id)
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let body = |default_title: String, default_message: String| {
        let title = req.title.map(str::to_string).unwrap_or(default_title);
        let message = req.message.map(str::to_string).unwrap_or(default_message);
        if message.is_empty() {
            title
        } else {
            format!("{title}\n\n{message}")
        }
    };
    let new_tip = match req.method {
        Method::Merge | Method::Squash => {
            let tree = gitops::merge_tree(git, &base, &head)
                .map_err(internal)?
                .ok_or_else(not_mergeable)?;
            if req.method == Method::Merge {
                let message = body(
                    format!("Merge pull request #{} from {owner}/{}", p.number, p.head),
                    p.title.clone(),
                );
                gitops::commit(git, &tree, &[&base, &head], &message, &merger, &committer)
                    .map_err(internal)?
            } else {
                let picks = gitops::commits_between(git, &base, &head).map_err(internal)?;
                let list: Vec<String> = picks
                    .iter()
                    .filter_map(|c| gitstore::commit_info(git, c).ok().flatten())
                    .map(|c| format!("* {}", c.message.trim_end()))
                    .collect();
                let message = body(format!("{} (#{})", p.title, p.number), list.join("\n\n"));
                gitops::commit(git, &tree, &[&base], &message, &merger, &committer)
                    .map_err(internal)?
            }
        }
        Method::Rebase => gitops::rebase(git, &base, &head, &committer)
            .map_err(internal)?
            .ok_or_else(not_mergeable)?,
    };
    let frozen = stats(git, &base, &head);
    gitstore::set_ref(
        git,
        &format!("refs/heads/{}", p.base),
        &new_tip,
        Some(&base),
    )
    .map_err(|_| {
        (
            StatusCode::CONFLICT,
            "Base branch was modified. Review and try the merge again.".to_string(),
        )
    })?;
    let extra = world.ext_mut::<GhState>().prs.entry(id).or_default();
    extra.merged_by = Some(req.merger.to_string());
    extra.frozen = Some(frozen);
    if let Some(p) = world.proposals.get_mut(&id) {
        p.state = ProposalState::Merged;
        p.merged_at = Some(now);
        p.closed_at = Some(now);
        p.updated_at = now;
        p.merge_commit = Some(new_tip.clone());
    }
    if let Some(r) = world.repos.get_mut(&repo.id) {
        r.pushed_at = Some(now);
        r.updated_at = now;
    }
    Ok(new_tip)
}
