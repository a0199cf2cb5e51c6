//! The GitLab forge (gitlab.com or self-hosted; `forge.owner` is a group's
//! full path, nested groups included): discovery through GraphQL (100
//! projects a page, subgroups included, heads included), snapshots through
//! GraphQL queries sized to GitLab's complexity limit ([`complexity`])
//! reading the directories that hold wanted paths at the discovered head,
//! and the merge requests from drover's branch where it exists; then REST
//! for what the 13.8-era schema cannot say (file contents; drover's branch
//! tip's parents and author), proposals through REST (one commit with
//! actions, then the merge request). Requests go through reqwest and the
//! shared [`Transport`]: `PRIVATE-TOKEN` on REST, `Authorization: Bearer`
//! on GraphQL, both marked sensitive.

mod complexity;
mod graphql;
mod hook;
pub mod profile;
pub mod rest;

use std::collections::BTreeSet;

use async_trait::async_trait;
use http::{HeaderValue, Method};
use serde_json::{json, Value};

use super::http::{RawResponse, RetryPolicy, Transport};
use super::{Forge, ForgeError};
use crate::model::{
    Actual, BranchTip, ForgeNote, ProposalFate, Proposed, RemoteRepo, RepoPath, Secret, Snapshot,
    Wanted,
};
use crate::proposal::{decide, Decision, Proposal, Seen};

pub use complexity::{snapshot_part, DISCOVERY, LOOKUP_PART, MAX_COMPLEXITY};
pub use graphql::{lookup_query, snapshot_query, Part, DISCOVER, ENTRIES};
use rest::enc;

pub struct GitlabForge {
    http: reqwest::Client,
    /// `https://HOST` (REST under `/api/v4`, GraphQL at `/api/graphql`).
    base: String,
    group: String,
    branch: String,
    token: Secret,
    transport: Transport,
    /// GitLab's complexity limit as this sweep has met it.
    budget: complexity::Budget,
    /// drover's branch tips the store remembers, by full name.
    tips: std::sync::Mutex<std::collections::HashMap<String, BranchTip>>,
}

/// GitLab's note on a snapshot: the wanted paths it found at the head. A
/// commit action is `update` for those, `create` otherwise.
struct Present(BTreeSet<RepoPath>);

/// The instance root for a configured URL: `https://gitlab.example.com/`
/// and `https://gitlab.example.com/api/v4` both mean
/// `https://gitlab.example.com`.
pub fn instance_root(url: &str) -> String {
    let url = url.trim_end_matches('/');
    url.strip_suffix("/api/v4").unwrap_or(url).to_owned()
}

impl GitlabForge {
    pub fn new(
        url: &str,
        group: &str,
        branch: &str,
        token: &Secret,
        policy: RetryPolicy,
    ) -> Result<GitlabForge, ForgeError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("drover/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(30))
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .map_err(|e| ForgeError::Api {
                status: None,
                message: format!("cannot build the GitLab client: {e}"),
            })?;
        Ok(GitlabForge {
            http,
            base: instance_root(url),
            group: group.trim_matches('/').to_owned(),
            branch: branch.to_owned(),
            token: token.clone(),
            transport: Transport::new(policy),
            budget: complexity::Budget::default(),
            tips: Default::default(),
        })
    }

    /// One call with retries, each answer handed to `accept` inside the
    /// retry loop. `path` is below `/api/v4`, or `/api/graphql` itself; it
    /// never carries the token.
    async fn call<T>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: impl Fn(RawResponse) -> Result<T, ForgeError>,
    ) -> Result<T, ForgeError> {
        let graphql = path == "/api/graphql";
        let url = if graphql {
            format!("{}{path}", self.base)
        } else {
            format!("{}/api/v4{path}", self.base)
        };
        let (name, value) = if graphql {
            ("authorization", format!("Bearer {}", self.token.expose()))
        } else {
            ("private-token", self.token.expose().to_owned())
        };
        let mut auth = HeaderValue::from_str(&value).map_err(|_| ForgeError::Api {
            status: None,
            message: "forge.token holds characters not allowed in an HTTP header".into(),
        })?;
        auth.set_sensitive(true);
        let what = format!("{method} {}", path.split('?').next().unwrap_or(path));
        self.transport
            .send_and(
                &what,
                || {
                    let mut request = self
                        .http
                        .request(method.clone(), &url)
                        .header(name, auth.clone());
                    if let Some(body) = body {
                        request = request.json(body);
                    }
                    RawResponse::read(request)
                },
                accept,
            )
            .await
    }

    /// A REST call that must succeed (2xx), its answer handed to `accept`
    /// inside the retry loop.
    async fn rest_and<T>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        accept: impl Fn(RawResponse) -> Result<T, ForgeError>,
    ) -> Result<T, ForgeError> {
        self.call(method.clone(), path, body.as_ref(), |response| {
            if response.status.is_success() {
                accept(response)
            } else {
                Err(rest::error(&response))
            }
        })
        .await
    }

    /// A REST call that must succeed (2xx).
    async fn rest(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<RawResponse, ForgeError> {
        self.rest_and(method, path, body, Ok).await
    }

    /// A REST call that must succeed with a JSON body of type `T`; a body
    /// that does not decode is asked for again.
    async fn rest_json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, ForgeError> {
        self.rest_and(method, path, body, |r| r.json()).await
    }

    /// A GraphQL query's `data`; an answer that does not decode is asked
    /// for again.
    async fn graphql<T: serde::de::DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<T, ForgeError> {
        let body = json!({ "query": query, "variables": variables });
        self.rest_and(Method::POST, "/api/graphql", Some(body), |response| {
            let value: Value = response.json()?;
            let errors: Vec<&str> = value
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("message").and_then(Value::as_str))
                .collect();
            if !errors.is_empty() {
                return Err(ForgeError::Api {
                    status: None,
                    message: format!("GitLab GraphQL: {}", errors.join("; ")),
                });
            }
            serde_json::from_value(value["data"].clone())
                .map_err(|e| ForgeError::Malformed(format!("GraphQL data: {e}")))
        })
        .await
    }

    /// Whether `path` exists at `base`: from the snapshot the proposal
    /// was made from, else one `HEAD` of the files API.
    async fn exists_at(
        &self,
        repo: &RemoteRepo,
        p: &Proposal,
        path: &RepoPath,
        base: &str,
    ) -> Result<bool, ForgeError> {
        if let Some(Present(present)) = p.note.get() {
            return Ok(present.contains(path));
        }
        let url = format!(
            "/projects/{}/repository/files/{}?ref={}",
            repo.forge_id,
            enc(path.as_str()),
            enc(base)
        );
        match self.rest(Method::HEAD, &url, None).await {
            Ok(_) => Ok(true),
            Err(ForgeError::Api {
                status: Some(404), ..
            }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Entries of a directory too large for one GraphQL page, from REST.
    async fn list_directory(
        &self,
        repo: &RemoteRepo,
        sha: &str,
        dir: &str,
    ) -> Result<Vec<graphql::Entry>, ForgeError> {
        #[derive(serde::Deserialize)]
        struct Item {
            name: String,
            #[serde(rename = "type")]
            kind: String,
            mode: String,
            id: String,
        }
        let mut entries = Vec::new();
        let mut page = 1;
        loop {
            let path = format!(
                "/projects/{}/repository/tree?path={}&ref={}&per_page=100&page={page}",
                repo.forge_id,
                enc(dir),
                enc(sha)
            );
            let (next, items) = self
                .rest_and(Method::GET, &path, None, |r| {
                    let next = r
                        .headers
                        .get("x-next-page")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u32>().ok());
                    Ok((next, r.json::<Vec<Item>>()?))
                })
                .await?;
            entries.extend(items.into_iter().map(|i| graphql::Entry {
                name: i.name,
                kind: i.kind,
                mode: i.mode,
                oid: Some(i.id),
            }));
            match next {
                Some(n) if n > page => page = n,
                _ => return Ok(entries),
            }
        }
    }

    /// A file's bytes at `sha`, verified against its blob id `oid` when
    /// the snapshot knows it: bytes that do not hash to it (a cut-off or
    /// altered answer) are asked for again, never returned.
    async fn raw(
        &self,
        repo: &RemoteRepo,
        path: &RepoPath,
        sha: &str,
        oid: Option<&str>,
    ) -> Result<Vec<u8>, ForgeError> {
        let url = format!(
            "/projects/{}/repository/files/{}/raw?ref={}",
            repo.forge_id,
            enc(path.as_str()),
            enc(sha)
        );
        let what = format!("{}: {path}", repo.full_name);
        self.rest_and(Method::GET, &url, None, |r| match oid {
            Some(oid) => super::verified(r.body.to_vec(), oid, &what),
            None => Ok(r.body.to_vec()),
        })
        .await
    }

    /// One project's snapshot from its part of the batch answer.
    async fn finish(
        &self,
        repo: &RemoteRepo,
        wanted: &Wanted,
        mut decoded: graphql::Decoded,
    ) -> Result<Snapshot, ForgeError> {
        let head = repo
            .head
            .clone()
            .ok_or_else(|| ForgeError::Conflict(format!("{} has no head", repo.full_name)))?;
        for dir in std::mem::take(&mut decoded.truncated) {
            let entries = self.list_directory(repo, &head, &dir).await?;
            decoded.trees.insert(dir, Some(entries));
        }
        let mut snapshot = Snapshot {
            head: Some(head.clone()),
            listings: graphql::listings(&decoded.trees, wanted),
            ..Snapshot::default()
        };
        let mut reads = Vec::new();
        for path in &wanted.paths {
            match graphql::classify(&decoded.trees, path) {
                Ok(actual) => {
                    snapshot.files.insert(path.clone(), actual);
                }
                Err(unread) => reads.push((path, unread)),
            }
        }
        let contents = futures::future::join_all(
            reads
                .iter()
                .map(|(path, unread)| self.raw(repo, path, &head, unread.oid.as_deref())),
        )
        .await;
        for ((path, unread), content) in reads.into_iter().zip(contents) {
            let content = content?;
            let actual = if unread.symlink {
                Actual::Symlink {
                    target: String::from_utf8_lossy(&content).into_owned(),
                }
            } else {
                Actual::File { content }
            };
            snapshot.files.insert(path.clone(), actual);
        }
        if let Some(sha) = &decoded.branch_tip {
            let remembered = self
                .tips
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&repo.full_name)
                .filter(|t| t.commit == *sha)
                .cloned();
            // A commit id names its parents, author and message for good.
            snapshot.branch = match remembered {
                Some(tip) => Some(tip),
                None => self.branch_tip(repo).await?,
            };
            snapshot.proposals = match decoded.merge_requests.take() {
                Some(nodes) => nodes
                    .into_iter()
                    .map(|n| rest::MergeRequest::try_from(n).map(Into::into))
                    .collect::<Result<_, _>>()
                    .map_err(|e| ForgeError::Malformed(format!("{}: {e}", repo.full_name)))?,
                None => self.merge_requests(repo).await?,
            };
        }
        let present = snapshot
            .files
            .iter()
            .filter(|(_, a)| **a != Actual::Missing)
            .map(|(p, _)| p.clone())
            .collect();
        snapshot.note = ForgeNote::new(Present(present));
        Ok(snapshot)
    }

    /// Reads `parts` with as few snapshot queries as GitLab's complexity
    /// limit allows, each batch sized up front; one answer per part, in
    /// order (`None`: the project is gone). A refusal that says GitLab
    /// counts differently re-sizes the rest; halving is the fallback for
    /// a batch that fails in a way one project could cause.
    async fn read_parts(
        &self,
        parts: &[Part<'_>],
    ) -> Vec<Result<Option<graphql::Decoded>, ForgeError>> {
        let costs: Vec<(u64, usize)> = parts
            .iter()
            .map(|p| {
                let cost = snapshot_part(p.dirs.len(), p.branch, p.merge_requests);
                (cost, graphql::part_text(0, p, &self.branch).len() + 4)
            })
            .collect();
        let mut out = Vec::with_capacity(parts.len());
        let mut start = 0;
        while start < parts.len() {
            let n = self.budget.fit(&costs[start..]);
            let batch = &parts[start..start + n];
            match self.query_parts(batch).await {
                Ok(answers) => out.extend(answers),
                Err(e) => {
                    let counted = costs[start..start + n].iter().map(|c| c.0).sum();
                    if n > 1 && self.budget.learn(&e.to_string(), counted) {
                        tracing::debug!(projects = n, error = %e, "GitLab counts more; re-sizing");
                        continue;
                    }
                    if n > 1 && e.may_be_one_repository() {
                        let (a, b) = batch.split_at(n / 2);
                        out.extend(self.halves(a).await);
                        out.extend(self.halves(b).await);
                    } else {
                        out.extend(batch.iter().map(|_| Err(e.clone())));
                    }
                }
            }
            start += n;
        }
        out
    }

    /// `batch` asked for whole, else in halves down to the project that
    /// fails it.
    fn halves<'a>(
        &'a self,
        batch: &'a [Part<'a>],
    ) -> futures::future::BoxFuture<'a, Vec<Result<Option<graphql::Decoded>, ForgeError>>> {
        Box::pin(async move {
            match self.query_parts(batch).await {
                Ok(answers) => answers,
                Err(e) if batch.len() > 1 && e.may_be_one_repository() => {
                    let (a, b) = batch.split_at(batch.len() / 2);
                    let mut out = self.halves(a).await;
                    out.extend(self.halves(b).await);
                    out
                }
                Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
            }
        })
    }

    /// One snapshot query for `batch`, decoded per project.
    async fn query_parts(
        &self,
        batch: &[Part<'_>],
    ) -> Result<Vec<Result<Option<graphql::Decoded>, ForgeError>>, ForgeError> {
        let query = snapshot_query(batch, &self.branch);
        let data: Value = self.graphql(&query, json!({})).await?;
        Ok(batch
            .iter()
            .enumerate()
            .map(|(i, part)| {
                graphql::decode_project(&data[format!("p{i}")], &part.dirs)
                    .map_err(|e| ForgeError::Malformed(format!("{}: {e}", part.repo.full_name)))
            })
            .collect())
    }
}

impl GitlabForge {
    /// Deletes drover's branch (the callers check it is drover's own).
    async fn delete_branch(&self, repo: &RemoteRepo) -> Result<(), ForgeError> {
        let branch = format!(
            "/projects/{}/repository/branches/{}",
            repo.forge_id,
            enc(&self.branch)
        );
        match self.rest(Method::DELETE, &branch, None).await {
            // Gone already (by hand, or by a crash's earlier try).
            Ok(_)
            | Err(ForgeError::Api {
                status: Some(404), ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Forge for GitlabForge {
    async fn discover(&self) -> Result<Vec<RemoteRepo>, ForgeError> {
        let mut repos = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data: graphql::DiscoverData = self
                .graphql(DISCOVER, json!({ "group": self.group, "after": after }))
                .await?;
            let group = data.group.ok_or_else(|| ForgeError::Api {
                status: Some(404),
                message: format!(
                    "no GitLab group `{}`, or the token cannot see it (forge.owner is a group's full path, such as `acme/backend`)",
                    self.group
                ),
            })?;
            let page = group.projects;
            for node in page.nodes {
                repos.push(
                    node.into_remote(&self.group)
                        .map_err(ForgeError::Malformed)?,
                );
            }
            match (page.page_info.has_next_page, page.page_info.end_cursor) {
                (true, Some(cursor)) => after = Some(cursor),
                _ => break,
            }
        }
        Ok(repos)
    }

    /// The named projects of the group, as many a request as GitLab's
    /// complexity limit allows, not the group's whole list.
    async fn lookup(
        &self,
        full_names: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<RemoteRepo>, ForgeError> {
        let inside = format!("{}/", self.group);
        let paths: Vec<&str> = full_names
            .iter()
            .filter(|p| p.starts_with(&inside))
            .map(String::as_str)
            .collect();
        let costs: Vec<(u64, usize)> = paths
            .iter()
            .map(|p| (LOOKUP_PART, lookup_query(&[p]).len()))
            .collect();
        let mut repos = Vec::new();
        let mut start = 0;
        while start < paths.len() {
            let n = self.budget.fit(&costs[start..]);
            let batch = &paths[start..start + n];
            let data: Value = match self.graphql(&lookup_query(batch), json!({})).await {
                Ok(data) => data,
                Err(e) => {
                    let counted = costs[start..start + n].iter().map(|c| c.0).sum();
                    if n > 1 && self.budget.learn(&e.to_string(), counted) {
                        continue;
                    }
                    return Err(e);
                }
            };
            for i in 0..n {
                let node = data[format!("p{i}")].clone();
                if node.is_null() {
                    continue;
                }
                let node: graphql::ProjectNode = serde_json::from_value(node)
                    .map_err(|e| ForgeError::Malformed(format!("GraphQL data: {e}")))?;
                repos.push(
                    node.into_remote(&self.group)
                        .map_err(ForgeError::Malformed)?,
                );
            }
            start += n;
        }
        Ok(repos)
    }

    /// First the directories holding wanted paths and drover's branch tip
    /// for every project; then, for the projects that need it, the merge
    /// requests from drover's branch and the directories on the way to a
    /// missing one (a round per level, rarely more than one); each round
    /// in batches sized to GitLab's complexity limit. Then the REST reads
    /// each project needs.
    async fn snapshot(
        &self,
        repos: &[RemoteRepo],
        wanted: &Wanted,
    ) -> Vec<Result<Snapshot, ForgeError>> {
        let leaves = graphql::leaves(wanted);
        let first: Vec<Part<'_>> = repos
            .iter()
            .map(|repo| Part {
                repo,
                dirs: leaves.clone(),
                branch: true,
                merge_requests: false,
            })
            .collect();
        let mut decoded = self.read_parts(&first).await;
        // A way deeper than the wanted paths' cannot need more rounds.
        let rounds = leaves
            .iter()
            .map(|d| d.split('/').count())
            .max()
            .unwrap_or(0)
            + 1;
        for round in 0..rounds {
            let mut follow = Vec::new();
            let mut parts = Vec::new();
            for (i, d) in decoded.iter_mut().enumerate() {
                if let Ok(Some(d)) = d {
                    let dirs = graphql::settle(d, wanted);
                    let merge_requests = round == 0 && d.branch_tip.is_some();
                    if !dirs.is_empty() || merge_requests {
                        follow.push(i);
                        parts.push(Part {
                            repo: &repos[i],
                            dirs,
                            branch: false,
                            merge_requests,
                        });
                    }
                }
            }
            if parts.is_empty() {
                break;
            }
            let more = self.read_parts(&parts).await;
            for (i, more) in follow.into_iter().zip(more) {
                decoded[i] = match (std::mem::replace(&mut decoded[i], Ok(None)), more) {
                    (Ok(Some(mut d)), Ok(Some(more))) => {
                        graphql::merge_listed(&mut d, more);
                        Ok(Some(d))
                    }
                    (Ok(Some(_)), Ok(None)) => Ok(None),
                    (_, Err(e)) => Err(e),
                    (first, _) => first,
                };
            }
        }
        let mut out = Vec::with_capacity(repos.len());
        for (repo, d) in repos.iter().zip(decoded) {
            out.push(match d {
                Ok(Some(d)) => self.finish(repo, wanted, d).await,
                Ok(None) => Err(ForgeError::Api {
                    status: Some(404),
                    message: format!("{} not found, or not visible to the token", repo.full_name),
                }),
                Err(e) => Err(e),
            });
        }
        out
    }

    fn remember_tips(&self, tips: Vec<(String, BranchTip)>) {
        self.tips
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(tips);
    }

    async fn read_files(
        &self,
        repo: &RemoteRepo,
        head: &str,
        files: &[(RepoPath, String)],
    ) -> Result<Vec<Vec<u8>>, ForgeError> {
        futures::future::join_all(
            files
                .iter()
                .map(|(path, oid)| self.raw(repo, path, head, Some(oid))),
        )
        .await
        .into_iter()
        .collect()
    }

    async fn comment(
        &self,
        repo: &RemoteRepo,
        proposal: &crate::model::ExistingProposal,
        _note: &crate::model::ForgeNote,
        text: &str,
    ) -> Result<(), ForgeError> {
        let notes = format!(
            "/projects/{}/merge_requests/{}/notes",
            repo.forge_id, proposal.number
        );
        self.rest(Method::POST, &notes, Some(json!({ "body": text })))
            .await?;
        Ok(())
    }

    async fn close(
        &self,
        repo: &RemoteRepo,
        proposal: &crate::model::ExistingProposal,
        note: &crate::model::ForgeNote,
        comment: &str,
    ) -> Result<(), ForgeError> {
        let mr = format!(
            "/projects/{}/merge_requests/{}",
            repo.forge_id, proposal.number
        );
        // The note first (a crash between leaves an explained open merge
        // request, closed on the next sweep). The sweep closes only where
        // drover's branch holds drover's own commit, so the branch goes
        // too, as `remove_source_branch` would have on a merge: nothing
        // stale is left behind.
        let comment = format!("{comment} Its branch {} is deleted.", self.branch);
        self.comment(repo, proposal, note, &comment).await?;
        self.rest(Method::PUT, &mr, Some(json!({ "state_event": "close" })))
            .await?;
        self.delete_branch(repo).await
    }

    /// Deletes drover's branch once what it carried was merged (offered
    /// only when it holds nothing unmerged). A merge by the button already
    /// did (`remove_source_branch`); a merge by a push of the branch does
    /// not.
    async fn settle(
        &self,
        repo: &RemoteRepo,
        _merged: &crate::model::ExistingProposal,
        tip: Option<&crate::model::BranchTip>,
        _note: &crate::model::ForgeNote,
    ) -> Result<(), ForgeError> {
        match tip {
            Some(_) => self.delete_branch(repo).await,
            None => Ok(()),
        }
    }

    async fn propose(&self, repo: &RemoteRepo, p: &Proposal) -> Result<Proposed, ForgeError> {
        let base = p
            .base
            .as_deref()
            .ok_or_else(|| ForgeError::Conflict("no default-branch head to base on".into()))?;
        let branch_url = format!("{}/-/tree/{}", repo.web_url, p.branch);
        let (commit, update) = match decide(&Seen::of_branch(p, &branch_url)) {
            Decision::Leave(done) => {
                let done = done.with_tip(p.branch_tip.clone());
                // Still open as it was: only what GitLab left out is asked
                // for again.
                return match done.number {
                    Some(iid) if done.fate == ProposalFate::Open && !p.retry.is_empty() => {
                        self.update_merge_request(repo, p, iid, false, done).await
                    }
                    _ => Ok(done),
                };
            }
            Decision::Write { commit, update } => (commit, update),
        };
        let tip = if commit {
            Some(self.write_commit(repo, p, base).await?)
        } else {
            p.branch_tip.clone()
        };
        let proposed = match update {
            // A new version with the same words (a moved default branch)
            // leaves the title and description as they are.
            Some(mr) => {
                let done = Proposed::updated(mr.url, Some(mr.number));
                self.update_merge_request(repo, p, mr.number, p.words_changed(), done)
                    .await?
            }
            None => self.open_merge_request(repo, p).await?,
        };
        Ok(proposed.with_tip(tip))
    }

    fn git_remote(&self, name: &str) -> Result<crate::model::GitRemote, ForgeError> {
        Ok(crate::model::GitRemote {
            url: format!("{}/{}/{name}.git", self.base, self.group),
            user: "oauth2".into(),
            token: self.token.clone(),
            ssh_key: None,
        })
    }

    async fn create_repo(
        &self,
        name: &str,
        description: &str,
        private: bool,
    ) -> Result<RemoteRepo, ForgeError> {
        // `sub/name` goes in the subgroup `sub`, which must exist.
        let (dir, path) = match name.rsplit_once('/') {
            Some((dir, path)) => (format!("{}/{dir}", self.group), path),
            None => (self.group.clone(), name),
        };
        let group: Value = self
            .rest_json(Method::GET, &format!("/groups/{}", rest::enc(&dir)), None)
            .await?;
        let body = json!({
            "name": path,
            "path": path,
            "namespace_id": group["id"],
            "description": description,
            "visibility": if private { "private" } else { "public" },
            "initialize_with_readme": false,
        });
        let created: Value = self
            .rest_json(Method::POST, "/projects", Some(body))
            .await?;
        let text = |key: &str| created[key].as_str().unwrap_or_default().to_owned();
        Ok(RemoteRepo {
            default_branch: created["default_branch"]
                .as_str()
                .unwrap_or("main")
                .to_owned(),
            forge_id: created["id"].to_string(),
            web_url: text("web_url"),
            ..RemoteRepo::created(name, &text("path_with_namespace"), private, description)
        })
    }

    async fn set_default_branch(&self, repo: &RemoteRepo, branch: &str) -> Result<(), ForgeError> {
        self.rest(
            Method::PUT,
            &format!("/projects/{}", repo.forge_id),
            Some(json!({ "default_branch": branch })),
        )
        .await?;
        Ok(())
    }

    async fn archive(&self, repo: &RemoteRepo, description: &str) -> Result<(), ForgeError> {
        if repo.archived {
            return Ok(());
        }
        let project = format!("/projects/{}", repo.forge_id);
        self.rest(
            Method::PUT,
            &project,
            Some(json!({ "description": description })),
        )
        .await?;
        self.rest(Method::POST, &format!("{project}/archive"), None)
            .await?;
        Ok(())
    }

    fn requests(&self) -> u64 {
        self.transport.requests()
    }

    fn traffic(&self) -> crate::forge::http::Traffic {
        self.transport.traffic()
    }

    fn progress(&self, done: u64, left: u64) {
        self.transport.progress(done, left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_root_accepts_the_api_url_too() {
        assert_eq!(instance_root("https://gitlab.com"), "https://gitlab.com");
        assert_eq!(
            instance_root("https://git.example.com/api/v4/"),
            "https://git.example.com"
        );
        assert_eq!(
            instance_root("http://127.0.0.1:4000/"),
            "http://127.0.0.1:4000"
        );
    }
}
