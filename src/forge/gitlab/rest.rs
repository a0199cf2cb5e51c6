//! GitLab REST v4: the wire types drover reads, errors that say what to
//! do, and the writes of a proposal — one commit with actions on drover's
//! branch, then the merge request (opened, or adopted and updated).

use http::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::GitlabForge;
use crate::forge::http::RawResponse;
use crate::forge::ForgeError;
use crate::model::{BranchTip, ExistingProposal, Missing, ProposalFate, Proposed, RemoteRepo};
use crate::proposal::Proposal;

/// A path segment or query value, percent-encoded (a file path's `/`
/// becomes `%2F`, as GitLab wants it in `repository/files/{file_path}`).
pub use crate::forge::http::enc;

/// A branch, as `GET /projects/{id}/repository/branches/{branch}` gives it.
#[derive(Debug, Deserialize)]
pub struct Branch {
    pub commit: Commit,
}

#[derive(Debug, Deserialize)]
pub struct Commit {
    pub id: String,
    #[serde(default)]
    pub parent_ids: Vec<String>,
    pub author_email: Option<String>,
    #[serde(default)]
    pub message: String,
}

impl From<Commit> for BranchTip {
    /// GitLab commits through the API as the token's user and records
    /// drover only as the author, so the committer is not compared.
    fn from(c: Commit) -> BranchTip {
        BranchTip {
            commit: c.id,
            parents: c.parent_ids,
            author_email: c.author_email,
            committer_email: None,
            message: c.message,
        }
    }
}

/// A merge request, as far as drover reads it.
#[derive(Debug, Deserialize)]
pub struct MergeRequest {
    pub iid: u64,
    pub web_url: String,
    #[serde(default)]
    pub state: String,
    pub sha: Option<String>,
    /// Who GitLab made reviewers, and the labels it set: what it left out
    /// of a request is not an error there, only missing here.
    #[serde(default)]
    pub reviewers: Vec<UserRef>,
    #[serde(default)]
    pub labels: Vec<String>,
}

/// A user as a merge request names it.
#[derive(Debug, Deserialize)]
pub struct UserRef {
    pub username: String,
}

impl TryFrom<super::graphql::MergeRequestNode> for MergeRequest {
    type Error = String;

    /// GraphQL's merge request: `iid` is a string there, `diffHeadSha` the
    /// source branch's head, as REST's `sha`.
    fn try_from(n: super::graphql::MergeRequestNode) -> Result<MergeRequest, String> {
        Ok(MergeRequest {
            iid: n
                .iid
                .parse()
                .map_err(|_| format!("merge request iid `{}` is not a number", n.iid))?,
            web_url: n.web_url.unwrap_or_default(),
            state: n.state,
            sha: n.diff_head_sha,
            // Only a write's answer is compared with what was asked.
            reviewers: Vec::new(),
            labels: Vec::new(),
        })
    }
}

impl From<MergeRequest> for ExistingProposal {
    fn from(m: MergeRequest) -> ExistingProposal {
        ExistingProposal {
            number: m.iid,
            url: m.web_url,
            state: match m.state.as_str() {
                "opened" | "locked" => ProposalFate::Open,
                "merged" => ProposalFate::Merged,
                _ => ProposalFate::Closed,
            },
            head: m.sha,
        }
    }
}

#[derive(Debug, Deserialize)]
struct User {
    id: u64,
    username: String,
}

/// GitLab's error bodies: `{"message": "…" | […] | {…}}` or `{"error": "…"}`.
fn detail(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let m = v.get("message").or_else(|| v.get("error"))?;
    Some(match m {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })
}

/// A failed call as an error a user can act on. Never echoes headers.
pub fn error(response: &RawResponse) -> ForgeError {
    let status = response.status.as_u16();
    let detail = detail(&response.body).unwrap_or_else(|| format!("HTTP {status}"));
    let hint = match status {
        401 => " — GitLab rejected the token: check the variable or file forge.token names, and that the token has not expired",
        403 => " — the token may not do this: drover needs a token with the `api` scope and at least the Developer role in the group",
        404 => " — not found, or not visible to the token",
        _ => "",
    };
    // The request (method and path) is said by the transport's context,
    // once; here the status and the forge's own words.
    let said = if detail == format!("HTTP {status}") {
        detail
    } else {
        format!("HTTP {status}: {detail}")
    };
    ForgeError::Api {
        status: Some(status),
        message: format!("{said}{hint}"),
    }
}

impl GitlabForge {
    /// drover's branch tip, with what the 13.8 schema's `Commit` lacks
    /// (parents, author e-mail); `None` when the branch is gone.
    pub(super) async fn branch_tip(
        &self,
        repo: &RemoteRepo,
    ) -> Result<Option<BranchTip>, ForgeError> {
        let path = format!(
            "/projects/{}/repository/branches/{}",
            repo.forge_id,
            enc(&self.branch)
        );
        match self.rest_json::<Branch>(Method::GET, &path, None).await {
            Ok(branch) => Ok(Some(branch.commit.into())),
            // Deleted since the snapshot query saw it.
            Err(ForgeError::Api {
                status: Some(404), ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The merge requests from drover's branch (newest first), by REST:
    /// where the snapshot query did not read them.
    pub(super) async fn merge_requests(
        &self,
        repo: &RemoteRepo,
    ) -> Result<Vec<ExistingProposal>, ForgeError> {
        let list = format!(
            "/projects/{}/merge_requests?source_branch={}&state=all&order_by=created_at&sort=desc&per_page=20",
            repo.forge_id,
            enc(&self.branch)
        );
        let mrs: Vec<MergeRequest> = self.rest_json(Method::GET, &list, None).await?;
        Ok(mrs.into_iter().map(Into::into).collect())
    }

    /// One commit on `base` holding the proposal's changes, on drover's
    /// branch (rewritten with `force` when it exists); the commit written
    /// (GitLab answers it whole: parents, author, message).
    pub(super) async fn write_commit(
        &self,
        repo: &RemoteRepo,
        p: &Proposal,
        base: &str,
    ) -> Result<BranchTip, ForgeError> {
        let mut actions = Vec::with_capacity(p.changes.len());
        for c in &p.changes {
            let action = match &c.content {
                None => json!({ "action": "delete", "file_path": c.path.as_str() }),
                Some(bytes) => {
                    let verb = if self.exists_at(repo, p, &c.path, base).await? {
                        "update"
                    } else {
                        "create"
                    };
                    match std::str::from_utf8(bytes) {
                        Ok(text) => {
                            json!({ "action": verb, "file_path": c.path.as_str(), "content": text })
                        }
                        Err(_) => {
                            use base64::Engine;
                            json!({ "action": verb, "file_path": c.path.as_str(), "encoding": "base64",
                                "content": base64::engine::general_purpose::STANDARD.encode(bytes) })
                        }
                    }
                }
            };
            actions.push(action);
        }
        let path = format!("/projects/{}/repository/commits", repo.forge_id);
        let body = |force: bool| {
            json!({
                "branch": p.branch,
                "start_sha": base,
                "force": force,
                "commit_message": p.commit_message,
                "author_name": p.author.name,
                "author_email": p.author.email,
                "actions": actions,
            })
        };
        let exists = p.branch_tip.is_some();
        let written = |r: RawResponse| r.json::<Commit>().map(BranchTip::from);
        match self
            .rest_and(Method::POST, &path, Some(body(exists)), written)
            .await
        {
            Ok(tip) => Ok(tip),
            // The branch appeared since the snapshot (a crash after the
            // commit, a race): rewrite it, as drover would have.
            Err(ForgeError::Api {
                status: Some(400),
                message,
            }) if !exists && message.contains("already exists") => {
                self.rest_and(Method::POST, &path, Some(body(true)), written)
                    .await
            }
            Err(e) => Err(e),
        }
    }

    /// Opens the merge request; adopts and updates an open one the
    /// snapshot did not see (409).
    pub(super) async fn open_merge_request(
        &self,
        repo: &RemoteRepo,
        p: &Proposal,
    ) -> Result<Proposed, ForgeError> {
        let path = format!("/projects/{}/merge_requests", repo.forge_id);
        let mut body = json!({
            "source_branch": p.branch,
            "target_branch": p.default_branch,
            "title": p.title,
            "description": p.body,
            "remove_source_branch": true,
        });
        let mut left = Left::default();
        let labels = left.settable_labels(&p.labels);
        if !labels.is_empty() {
            body["labels"] = json!(labels.join(","));
        }
        let reviewers = self.reviewer_ids(p, &p.reviewers, &mut left).await?;
        if !reviewers.is_empty() {
            body["reviewer_ids"] = json!(reviewers.iter().map(|r| r.1).collect::<Vec<_>>());
        }
        match self
            .rest_json::<MergeRequest>(Method::POST, &path, Some(body))
            .await
        {
            Ok(mr) => {
                left.compare(&mr, &reviewers, &labels);
                let (missing, warnings) = left.done();
                Ok(Proposed::opened(mr.web_url, Some(mr.iid)).with_missing(missing, warnings))
            }
            Err(ForgeError::Api {
                status: Some(409),
                message,
            }) => {
                let list = format!(
                    "{path}?source_branch={}&state=opened&per_page=20",
                    enc(&p.branch)
                );
                let open: Vec<MergeRequest> = self.rest_json(Method::GET, &list, None).await?;
                let mr = open.into_iter().next().ok_or(ForgeError::Api {
                    status: Some(409),
                    message,
                })?;
                let done = Proposed::updated(mr.web_url, Some(mr.iid));
                self.update_merge_request(repo, p, mr.iid, true, done).await
            }
            Err(e) => Err(e),
        }
    }

    /// One `PUT` on drover's open merge request: the new title and
    /// description when `words`, and what GitLab left out last time
    /// (`p.retry`): the missing labels added, the reviewers set again with
    /// the missing ones among them. Nothing to say, no request.
    pub(super) async fn update_merge_request(
        &self,
        repo: &RemoteRepo,
        p: &Proposal,
        iid: u64,
        words: bool,
        done: Proposed,
    ) -> Result<Proposed, ForgeError> {
        let mut body = serde_json::Map::new();
        if words {
            body.insert("title".into(), json!(p.title));
            body.insert("description".into(), json!(p.body));
        }
        let mut left = Left::default();
        let labels = left.settable_labels(&p.retry.labels);
        if !labels.is_empty() {
            body.insert("add_labels".into(), json!(labels.join(",")));
        }
        // `reviewer_ids` replaces the reviewers: all of them are sent, and
        // only when one that was missing can now be asked.
        let mut reviewers = Vec::new();
        if !p.retry.reviewers.is_empty() {
            let all = self.reviewer_ids(p, &p.reviewers, &mut left).await?;
            if all.iter().any(|(name, _)| p.retry.reviewers.contains(name)) {
                body.insert(
                    "reviewer_ids".into(),
                    json!(all.iter().map(|r| r.1).collect::<Vec<_>>()),
                );
                reviewers = all;
            }
        }
        if !body.is_empty() {
            let path = format!("/projects/{}/merge_requests/{iid}", repo.forge_id);
            let mr: MergeRequest = self
                .rest_json(Method::PUT, &path, Some(Value::Object(body)))
                .await?;
            left.compare(&mr, &reviewers, &labels);
        }
        let (missing, warnings) = left.done();
        Ok(done.with_missing(missing, warnings))
    }

    /// The GitLab ids of `names`, each looked up once per sweep
    /// (`GET /users?username=`, `p.accounts`); a name GitLab has no user
    /// for is left out, and said.
    async fn reviewer_ids(
        &self,
        p: &Proposal,
        names: &[String],
        left: &mut Left,
    ) -> Result<Vec<(String, u64)>, ForgeError> {
        let mut ids = Vec::with_capacity(names.len());
        for name in names {
            let id = p
                .accounts
                .id(name, || async {
                    let path = format!("/users?username={}", enc(name));
                    let users: Vec<User> = self.rest_json(Method::GET, &path, None).await?;
                    Ok::<_, ForgeError>(
                        users
                            .into_iter()
                            .find(|u| u.username.eq_ignore_ascii_case(name))
                            .map(|u| u.id),
                    )
                })
                .await?;
            match id {
                Some(id) => ids.push((name.clone(), id)),
                None => left.reviewer(name, "is not a GitLab user"),
            }
        }
        Ok(ids)
    }
}

/// What GitLab left out of a merge request, by name and in words. GitLab
/// does not refuse a reviewer it cannot add (no access to the project, or
/// more than one on GitLab Free) nor a label the token may not create: it
/// leaves them out of what it sets, so drover compares.
#[derive(Default)]
struct Left {
    missing: Missing,
    warnings: Vec<String>,
}

impl Left {
    fn reviewer(&mut self, name: &str, why: &str) {
        self.missing.reviewers.push(name.to_owned());
        self.warnings
            .push(format!("reviewer {name} not set: {why}"));
    }

    fn label(&mut self, name: &str, why: &str) {
        self.missing.labels.push(name.to_owned());
        self.warnings.push(format!("label {name} not set: {why}"));
    }

    /// The labels GitLab can be sent: its `labels` parameter is a
    /// comma-separated list, and a label's name cannot hold a comma.
    fn settable_labels(&mut self, labels: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(labels.len());
        for l in labels {
            if l.contains(',') || l.trim().is_empty() {
                self.label(
                    l,
                    "a GitLab label's name cannot contain a comma or be blank",
                );
            } else {
                out.push(l.clone());
            }
        }
        out
    }

    /// What was asked and is not on the merge request GitLab answered.
    fn compare(&mut self, mr: &MergeRequest, reviewers: &[(String, u64)], labels: &[String]) {
        for (name, _) in reviewers {
            if !mr
                .reviewers
                .iter()
                .any(|r| r.username.eq_ignore_ascii_case(name))
            {
                self.reviewer(
                    name,
                    "GitLab left them out (no access to the project, or one reviewer only on this plan)",
                );
            }
        }
        for l in labels {
            if !mr.labels.iter().any(|m| m == l) {
                self.label(l, "GitLab left it out (the token may not create labels)");
            }
        }
    }

    fn done(self) -> (Missing, Vec<String>) {
        (self.missing, self.warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_branches_are_encoded_as_one_segment() {
        assert_eq!(enc("deploy/k8s/a b.yaml"), "deploy%2Fk8s%2Fa%20b.yaml");
        assert_eq!(enc("drover/sync"), "drover%2Fsync");
    }

    #[test]
    fn error_bodies_in_every_gitlab_shape_are_read() {
        assert_eq!(
            detail(br#"{"message":"404 Project Not Found"}"#).unwrap(),
            "404 Project Not Found"
        );
        assert_eq!(
            detail(br#"{"message":["Another open merge request already exists"]}"#).unwrap(),
            "Another open merge request already exists"
        );
        assert_eq!(
            detail(br#"{"error":"title is missing"}"#).unwrap(),
            "title is missing"
        );
    }

    #[test]
    fn merge_request_states_map_to_proposal_states() {
        let mr: MergeRequest = serde_json::from_value(serde_json::json!({
            "iid": 3, "web_url": "u", "state": "closed", "sha": "s"
        }))
        .unwrap();
        let p = ExistingProposal::from(mr);
        assert_eq!(
            (p.number, p.state, p.head.as_deref()),
            (3, ProposalFate::Closed, Some("s"))
        );
    }
}
