//! The sourcehut forge: discovery and snapshots through git.sr.ht GraphQL,
//! the state of drover's patchsets through lists.sr.ht GraphQL, proposals
//! as patch mail over SMTP (lettre).
//!
//! Costs: discovery is one request per 25 repositories (heads included);
//! a snapshot batch of 25 repositories is one git.sr.ht query plus one
//! lists.sr.ht query for all of the batch's lists, plus one GET per blob
//! too large or binary for GraphQL's `text`. `propose` decides from what
//! the snapshot saw and only writes: one mail, and for a new version one
//! `updatePatchset` retiring the old one.
//!
//! sourcehut has no archived repositories and no forks, so discovery
//! reports neither; an empty repository (no `HEAD`) is reported empty.

mod git;
mod hook;
mod lists;
mod mail;
pub mod profile;

use std::collections::BTreeMap;

use async_trait::async_trait;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::HeaderValue;
use serde_json::{json, Value};

use super::http::{RawResponse, RetryPolicy, Transport};
use super::{Forge, ForgeError, Profile};
use crate::config::{ListAddress, ListRule, Smtp};
use crate::model::{
    Actual, ForgeNote, ProposalFate, Proposed, RemoteRepo, Secret, Snapshot, Wanted,
};
use crate::proposal::{decide, Decision, Proposal};

pub use git::{snapshot_query, DISCOVER};
use lists::{ListState, Status};
pub use mail::{compose, subject, PatchMail};

/// Repositories per snapshot query.
const SNAPSHOT_BATCH: usize = 25;

/// Where and as whom the sourcehut forge works.
pub struct SourcehutConfig {
    /// git.sr.ht's root (`https://git.sr.ht`).
    pub git_url: String,
    /// lists.sr.ht's root (`https://lists.sr.ht`).
    pub lists_url: String,
    /// The user whose repositories are swept (bare, without `~`).
    pub owner: String,
    pub token: Secret,
    pub list_rule: ListRule,
    /// The mail server, with its resolved password; `None` for a forge
    /// that only plans.
    pub smtp: Option<(Smtp, Option<Secret>)>,
    /// Who drover's replies (closing a patchset, stepping back) are from.
    pub author: crate::config::Author,
    pub policy: RetryPolicy,
}

pub struct SourcehutForge {
    http: reqwest::Client,
    git_url: String,
    lists_url: String,
    owner: String,
    auth: HeaderValue,
    list_rule: ListRule,
    mailer: Option<mail::Mailer>,
    author: crate::config::Author,
    token: Secret,
    transport: Transport,
}

/// Which sourcehut service a query goes to.
#[derive(Clone, Copy)]
enum Service {
    Git,
    Lists,
}

impl SourcehutForge {
    pub fn new(config: SourcehutConfig) -> Result<SourcehutForge, ForgeError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.token.expose()))
            .map_err(|_| ForgeError::Api {
                status: None,
                message: "forge.token holds characters a header cannot carry".into(),
            })?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .user_agent(concat!("drover/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| ForgeError::Network(e.to_string()))?;
        let mailer = match &config.smtp {
            Some((smtp, password)) => Some(mail::Mailer::new(smtp, password.clone())?),
            None => None,
        };
        Ok(SourcehutForge {
            http,
            git_url: config.git_url.trim_end_matches('/').to_owned(),
            lists_url: config.lists_url.trim_end_matches('/').to_owned(),
            owner: config.owner.trim_start_matches('~').to_owned(),
            auth,
            list_rule: config.list_rule,
            mailer,
            author: config.author,
            token: config.token.clone(),
            transport: Transport::new(config.policy),
        })
    }

    async fn update_repository(&self, repo: &RemoteRepo, input: Value) -> Result<(), ForgeError> {
        let id: i64 = repo.forge_id.parse().map_err(|_| ForgeError::Api {
            status: None,
            message: format!("{}: not a sourcehut repository id", repo.forge_id),
        })?;
        let answer = self
            .graphql(
                Service::Git,
                "mutation($id: Int!, $input: RepoInput!) { updateRepository(id: $id, input: $input) { id } }",
                json!({ "id": id, "input": input }),
            )
            .await?;
        let data = Self::data(answer, |_| false)?;
        if data["updateRepository"].is_null() {
            return Err(ForgeError::Api {
                status: None,
                message: format!("updateRepository {}: refused", repo.full_name),
            });
        }
        Ok(())
    }

    fn root(&self, service: Service) -> (&str, &'static str) {
        match service {
            Service::Git => (&self.git_url, "git.sr.ht"),
            Service::Lists => (&self.lists_url, "lists.sr.ht"),
        }
    }

    /// One request through the transport, with the token in a header
    /// only; a 2xx answer is handed to `accept` inside the retry loop.
    async fn send<T>(
        &self,
        what: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
        accept: impl Fn(RawResponse) -> Result<T, ForgeError>,
    ) -> Result<T, ForgeError> {
        let refuse = |response: RawResponse| {
            if response.status.is_success() {
                return accept(response);
            }
            let hint = match response.status.as_u16() {
                401 => " (the token was refused: check forge.token)",
                403 => " (the token lacks access: it needs the git.sr.ht and lists.sr.ht scopes, read-write for lists)",
                _ => "",
            };
            Err(ForgeError::Api {
                status: Some(response.status.as_u16()),
                message: format!("{what}: {}{hint}", response.status),
            })
        };
        self.transport
            .send_and(
                what,
                || RawResponse::read(request().header(AUTHORIZATION, self.auth.clone())),
                refuse,
            )
            .await
    }

    /// A GraphQL request; the whole answer (`data` and `errors`). An
    /// answer that does not parse is asked for again.
    async fn graphql(
        &self,
        service: Service,
        query: &str,
        variables: Value,
    ) -> Result<Value, ForgeError> {
        let (root, name) = self.root(service);
        let url = format!("{root}/query");
        let what = format!("POST {name}/query");
        let body = serde_json::to_vec(&json!({ "query": query, "variables": variables }))
            .expect("JSON serialises");
        self.send(
            &what,
            || {
                self.http
                    .post(&url)
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone())
            },
            |r| r.json(),
        )
        .await
    }

    /// `data`, failing on any error that `harmless` does not excuse.
    fn data(answer: Value, harmless: impl Fn(&[Value]) -> bool) -> Result<Value, ForgeError> {
        let fatal: Vec<String> = answer
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|e| {
                let path = e.get("path").and_then(Value::as_array);
                !path.is_some_and(|p| harmless(p))
            })
            .map(|e| e["message"].as_str().unwrap_or("unknown error").to_owned())
            .collect();
        let data = answer.get("data").cloned().unwrap_or(Value::Null);
        if !fatal.is_empty() || data.is_null() {
            return Err(ForgeError::Api {
                status: None,
                message: format!("GraphQL: {}", fatal.join("; ")),
            });
        }
        Ok(data)
    }

    fn list_of(&self, repo: &RemoteRepo) -> Result<ListAddress, ForgeError> {
        self.list_rule
            .resolve(&self.owner, &repo.name)
            .map_err(|message| ForgeError::Api {
                status: None,
                message,
            })
    }

    /// One git.sr.ht query and one lists.sr.ht query for `repos`, then
    /// the blobs GraphQL did not give whole; fails as a whole only when a
    /// query does.
    async fn snapshot_batch(
        &self,
        repos: &[RemoteRepo],
        wanted: &Wanted,
    ) -> Result<Vec<Result<Snapshot, ForgeError>>, ForgeError> {
        let query = snapshot_query(&self.owner, repos, wanted);
        let answer = self.graphql(Service::Git, &query, json!({})).await?;
        // Errors are sorted per repository: one bad repository does not
        // fail its batch.
        let mut repo_errors: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for e in answer["errors"].as_array().into_iter().flatten() {
            let path = e["path"].as_array().cloned().unwrap_or_default();
            if git::is_harmless(&path) {
                continue;
            }
            let message = e["message"].as_str().unwrap_or("unknown error").to_owned();
            match path
                .get(1)
                .and_then(Value::as_str)
                .and_then(|a| a.strip_prefix('r'))
            {
                Some(i) => repo_errors
                    .entry(i.parse().unwrap_or(usize::MAX))
                    .or_default()
                    .push(message),
                None => {
                    return Err(ForgeError::Api {
                        status: None,
                        message: format!("GraphQL: {message}"),
                    })
                }
            }
        }
        let lists = self.read_lists(repos).await?;
        let user = &answer["data"]["u"];
        let mut out = Vec::with_capacity(repos.len());
        for (i, repo) in repos.iter().enumerate() {
            out.push(
                self.snapshot_one(repo, i, user, wanted, &repo_errors, &lists)
                    .await,
            );
        }
        Ok(out)
    }

    async fn snapshot_one(
        &self,
        repo: &RemoteRepo,
        i: usize,
        user: &Value,
        wanted: &Wanted,
        repo_errors: &BTreeMap<usize, Vec<String>>,
        lists: &BTreeMap<String, ListState>,
    ) -> Result<Snapshot, ForgeError> {
        if let Some(messages) = repo_errors.get(&i) {
            return Err(ForgeError::Api {
                status: None,
                message: format!("{}: {}", repo.full_name, messages.join("; ")),
            });
        }
        let part = &user[format!("r{i}")];
        if part.is_null() {
            return Err(ForgeError::Api {
                status: Some(404),
                message: format!("{} not found", repo.full_name),
            });
        }
        let (mut snapshot, needs) = git::decode_repo(part, repo.head.clone(), wanted)
            .map_err(|e| ForgeError::Malformed(format!("{}: {e}", repo.full_name)))?;
        for need in needs {
            let content = self.blob(repo, &need).await?;
            snapshot.files.insert(need.path, Actual::File { content });
        }
        let mut state = lists.get(&repo.full_name).cloned().unwrap_or_default();
        // A patch `git am`ed onto the default branch keeps its trailer:
        // that patchset was applied, whatever its status on the list.
        let applied = git::applied_fingerprints(part);
        for set in &mut state.patchsets {
            if set.status.state() == ProposalFate::Open && applied.contains(&set.fingerprint) {
                set.status = Status::Applied;
                state.unmarked_applied.push(set.id);
            }
        }
        snapshot.proposals = state.proposals();
        snapshot.note = ForgeNote::new(state);
        Ok(snapshot)
    }

    /// The state of every batch repository's list, in one query.
    async fn read_lists(
        &self,
        repos: &[RemoteRepo],
    ) -> Result<BTreeMap<String, ListState>, ForgeError> {
        let addresses = repos
            .iter()
            .map(|r| self.list_of(r))
            .collect::<Result<Vec<_>, _>>()?;
        let distinct = lists::distinct(&addresses);
        let answer = self
            .graphql(
                Service::Lists,
                &lists::patchsets_query(&distinct),
                json!({}),
            )
            .await?;
        let data = Self::data(answer, |_| false)?;
        let mut out = BTreeMap::new();
        for (k, list) in distinct.iter().enumerate() {
            let members: Vec<&RemoteRepo> = repos
                .iter()
                .zip(&addresses)
                .filter(|(_, a)| *a == list)
                .map(|(r, _)| r)
                .collect();
            let names: Vec<&str> = members.iter().map(|r| r.name.as_str()).collect();
            let states = lists::decode_list(&data[format!("l{k}")], list, &self.lists_url, &names)
                .map_err(|e| ForgeError::Malformed(format!("lists.sr.ht: {e}")))?;
            for repo in members {
                let state = states.get(&repo.name).cloned().unwrap_or_default();
                out.insert(repo.full_name.clone(), state);
            }
        }
        Ok(out)
    }

    /// A blob's bytes from its `content` URL (same host, same token),
    /// verified against its id: bytes that do not hash to it are asked
    /// for again, never returned.
    async fn blob(&self, repo: &RemoteRepo, need: &git::NeedsBlob) -> Result<Vec<u8>, ForgeError> {
        let what = format!("{}: {}", repo.full_name, need.path);
        // The token goes with the request: only to git.sr.ht itself.
        let origin = |url: &str| reqwest::Url::parse(url).ok().map(|u| u.origin());
        if origin(&need.url).is_none() || origin(&need.url) != origin(&self.git_url) {
            return Err(ForgeError::Api {
                status: None,
                message: format!("{what}: its content URL is not on {}", self.git_url),
            });
        }
        self.send(
            "GET git.sr.ht blob",
            || self.http.get(&need.url),
            |r| super::verified(r.body.to_vec(), &need.oid, &what),
        )
        .await
    }

    /// Mails the patch, retrying on transient failures: the Message-ID is
    /// fixed, so a mail that did arrive before a failure is not filed twice.
    async fn mail(&self, message: lettre::Message) -> Result<(), ForgeError> {
        let mailer = self.mailer.as_ref().ok_or_else(|| ForgeError::Api {
            status: None,
            message: "sourcehut proposals are mailed: configure `forge.smtp`".into(),
        })?;
        let what = format!("SMTP {}", mailer.server());
        self.transport
            .send(&what, || {
                let message = message.clone();
                async move {
                    mailer.send_once(message).await?;
                    Ok(RawResponse {
                        status: http::StatusCode::OK,
                        headers: http::HeaderMap::new(),
                        body: bytes::Bytes::new(),
                    })
                }
            })
            .await
            .map(|_| ())
    }

    /// The subject and Message-ID of the patchset (drover's, or a version
    /// by someone else in its thread) with id `id`, as the snapshot saw it.
    fn thread_of(
        &self,
        repo: &RemoteRepo,
        note: &ForgeNote,
        id: u64,
    ) -> Result<(String, String), ForgeError> {
        // lists.sr.ht keeps a patchset's subject without its `[PATCH …]`
        // prefix: the reply's subject is the thread's, prefix and all.
        let thread = |version: u32, subject: &str| {
            if subject.starts_with('[') {
                subject.to_owned()
            } else {
                mail::subject(&repo.name, version, subject)
            }
        };
        let found = note.get::<ListState>().and_then(|s| {
            s.patchsets
                .iter()
                .find(|p| p.id == id)
                .map(|p| (thread(p.version, &p.subject), p.message_id.clone()))
                .or_else(|| {
                    s.foreign
                        .iter()
                        .find(|f| f.id == id)
                        .map(|f| (thread(1, &f.subject), f.message_id.clone()))
                })
        });
        found.ok_or_else(|| {
            ForgeError::Conflict(format!(
                "{}: patchset {id} was not seen by the snapshot",
                repo.full_name
            ))
        })
    }

    /// Someone sent their own version in drover's thread: drover's open
    /// versions there are marked SUPERSEDED (theirs is the one to review).
    /// A list drover may not mark is a warning; the proposal is theirs
    /// either way.
    async fn step_back(
        &self,
        state: &ListState,
        list: &ListAddress,
        done: Proposed,
    ) -> Result<Proposed, ForgeError> {
        let mut warnings = Vec::new();
        let taken: Vec<&str> = state
            .foreign
            .iter()
            .filter(|f| f.status.state() == ProposalFate::Open)
            .map(|f| f.thread_root.as_str())
            .collect();
        for own in state
            .open()
            .filter(|s| taken.contains(&s.thread_root.as_str()))
        {
            match self.supersede(own.id, list).await {
                Ok(()) => {}
                // lists.sr.ht's `null`: not the list's owner. Any other
                // failure fails the repository, to be tried again.
                Err(ForgeError::Api {
                    status: None,
                    message,
                }) if message.contains("could not be marked superseded") => warnings.push(message),
                Err(e) => return Err(e),
            }
        }
        Ok(done.with_warnings(warnings))
    }

    /// Retires an earlier version; lists.sr.ht answers `null` unless the
    /// token's user owns the list.
    async fn supersede(&self, id: u64, list: &ListAddress) -> Result<(), ForgeError> {
        let answer = self
            .graphql(Service::Lists, &lists::supersede_mutation(id), json!({}))
            .await?;
        let data = Self::data(answer, |_| false)?;
        if data["updatePatchset"].is_null() {
            return Err(ForgeError::Api {
                status: None,
                message: format!(
                    "patchset {id} could not be marked superseded: only the owner of ~{}/{} may (the new version was mailed)",
                    list.owner, list.name
                ),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl Forge for SourcehutForge {
    async fn discover(&self) -> Result<Vec<RemoteRepo>, ForgeError> {
        let mut repos: Vec<RemoteRepo> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let answer = self
                .graphql(
                    Service::Git,
                    DISCOVER,
                    json!({ "owner": self.owner, "cursor": cursor }),
                )
                .await?;
            let data: git::DiscoverData = serde_json::from_value(Self::data(answer, |_| false)?)
                .map_err(|e| ForgeError::Malformed(format!("git.sr.ht discovery: {e}")))?;
            let user = data.user.ok_or_else(|| ForgeError::Api {
                status: Some(404),
                message: format!(
                    "no sourcehut user `{}` (forge.owner is the bare username, without `~`; check the token's access)",
                    self.owner
                ),
            })?;
            let page = user.repositories;
            for node in page.results {
                tracing::debug!(forge = "sourcehut", repo = %node.name.escape_debug(), visibility = %node.visibility.escape_debug(), "discovered");
                let repo = node.into_remote(&self.owner, &self.git_url);
                // Upstream's cursor is a timestamp: a page can repeat
                // repositories updated in the same second.
                if !repos.iter().any(|r| r.forge_id == repo.forge_id) {
                    repos.push(repo);
                }
            }
            match page.cursor {
                Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
                _ => break,
            }
        }
        Ok(repos)
    }

    async fn snapshot(
        &self,
        repos: &[RemoteRepo],
        wanted: &Wanted,
    ) -> Vec<Result<Snapshot, ForgeError>> {
        let mut out = Vec::with_capacity(repos.len());
        for batch in repos.chunks(SNAPSHOT_BATCH) {
            out.extend(super::halving(batch, |b| self.snapshot_batch(b, wanted)).await);
        }
        out
    }

    async fn propose(&self, repo: &RemoteRepo, p: &Proposal) -> Result<Proposed, ForgeError> {
        let list = self.list_of(repo)?;
        let state: &ListState = p.note.get().ok_or_else(|| {
            ForgeError::Conflict(format!("{} was not snapshotted", repo.full_name))
        })?;
        if !state.exists {
            return Err(ForgeError::Api {
                status: Some(404),
                message: format!(
                    "no mailing list ~{}/{} for {}: create it, or point forge.list_address at an existing one",
                    list.owner, list.name, repo.full_name
                ),
            });
        }
        // A mail is always a new version: a patchset that carries these
        // changes is never written again.
        let update = match decide(&state.seen(&p.fingerprint, &p.patch)) {
            Decision::Leave(done) if done.fate == ProposalFate::HandsOff => {
                return self.step_back(state, &list, done).await
            }
            Decision::Leave(done) => return Ok(done),
            Decision::Write { update, .. } => update,
        };
        // A new version answers the thread of the newest open one.
        let previous = update.and_then(|u| state.patchsets.iter().find(|s| s.id == u.number));
        let version = previous.map_or(1, |prev| {
            state
                .patchsets
                .iter()
                .filter(|s| s.thread_root == prev.thread_root)
                .map(|s| s.version)
                .max()
                .unwrap_or(prev.version)
                + 1
        });
        let id = mail::message_id(&p.fingerprint, &p.author.email);
        let composed = compose(
            &repo.name,
            version,
            &p.commit_message,
            &p.patch,
            id.clone(),
            previous.map(|prev| prev.thread_root.clone()),
        );
        self.mail(mail::message(&composed, &p.author, &list.address)?)
            .await?;
        let url = format!(
            "{}/~{}/{}/%3C{}%3E",
            self.lists_url, list.owner, list.name, id
        );
        if previous.is_none() {
            return Ok(Proposed::opened(url, None));
        }
        for old in state.open() {
            self.supersede(old.id, &list).await?;
        }
        Ok(Proposed::updated(url, None))
    }

    /// A reply in the patchset's thread.
    async fn comment(
        &self,
        repo: &RemoteRepo,
        proposal: &crate::model::ExistingProposal,
        note: &crate::model::ForgeNote,
        text: &str,
    ) -> Result<(), ForgeError> {
        let list = self.list_of(repo)?;
        let (subject, parent) = self.thread_of(repo, note, proposal.number)?;
        let id = mail::message_id("reply", &self.author.email);
        let composed = mail::reply(&subject, &parent, text, id);
        self.mail(mail::message(&composed, &self.author, &list.address)?)
            .await
    }

    /// Marks the patchsets `git am` applied onto the default branch
    /// APPLIED on the list, as a maintainer would. lists.sr.ht answers
    /// `null` unless the token's user owns the list: then it stays as it
    /// is, and drover says so in its log.
    async fn settle(
        &self,
        repo: &RemoteRepo,
        _merged: &crate::model::ExistingProposal,
        _tip: Option<&crate::model::BranchTip>,
        note: &crate::model::ForgeNote,
    ) -> Result<(), ForgeError> {
        let Some(state) = note.get::<ListState>() else {
            return Ok(());
        };
        for id in &state.unmarked_applied {
            let answer = self
                .graphql(Service::Lists, &lists::applied_mutation(*id), json!({}))
                .await?;
            if Self::data(answer, |_| false)?["updatePatchset"].is_null() {
                tracing::warn!(
                    repo = %repo.full_name,
                    "patchset {id} was applied but cannot be marked so: only the list's owner may"
                );
            }
        }
        Ok(())
    }

    /// A reply saying why, then the patchset marked superseded (by the
    /// default branch).
    async fn close(
        &self,
        repo: &RemoteRepo,
        proposal: &crate::model::ExistingProposal,
        note: &crate::model::ForgeNote,
        comment: &str,
    ) -> Result<(), ForgeError> {
        self.comment(repo, proposal, note, comment).await?;
        let list = self.list_of(repo)?;
        self.supersede(proposal.number, &list).await
    }

    fn git_remote(&self, name: &str) -> Result<crate::model::GitRemote, ForgeError> {
        Ok(crate::model::GitRemote {
            url: format!("{}/~{}/{name}", self.git_url, self.owner),
            user: self.owner.clone(),
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
        let answer = self
            .graphql(
                Service::Git,
                "mutation($name: String!, $visibility: Visibility!, $description: String) { \
                 createRepository(name: $name, visibility: $visibility, description: $description) { id name } }",
                json!({
                    "name": name,
                    "visibility": if private { "PRIVATE" } else { "PUBLIC" },
                    "description": description,
                }),
            )
            .await?;
        let data = Self::data(answer, |_| false)?;
        let created = &data["createRepository"];
        let id = created["id"].as_i64().ok_or_else(|| ForgeError::Api {
            status: None,
            message: format!("createRepository {name}: no repository in the answer"),
        })?;
        let full_name = profile::Sourcehut.full_name(&self.owner, name);
        Ok(RemoteRepo {
            forge_id: id.to_string(),
            web_url: format!("{}/{full_name}", self.git_url),
            ..RemoteRepo::created(name, &full_name, private, description)
        })
    }

    async fn set_default_branch(&self, repo: &RemoteRepo, branch: &str) -> Result<(), ForgeError> {
        self.update_repository(repo, json!({ "HEAD": branch }))
            .await
    }

    /// sourcehut has no archived state: the description says where the
    /// repository went, and nothing else changes.
    async fn archive(&self, repo: &RemoteRepo, description: &str) -> Result<(), ForgeError> {
        self.update_repository(repo, json!({ "description": description }))
            .await
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
