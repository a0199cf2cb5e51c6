//! The GitHub forge: discovery and snapshots through GraphQL (100
//! repositories per discovery page, heads included; 25 repositories per
//! snapshot query), proposals through REST git data and pulls. Requests go
//! through octocrab; GitHub Enterprise is supported by pointing `forge.url`
//! at `https://HOST/api/v3` (GraphQL then goes to `https://HOST/api/graphql`,
//! not under `/api/v3`).

pub mod app;
mod graphql;
mod hook;
pub mod profile;
pub mod rest;

use async_trait::async_trait;
use http::Method;
use octocrab::Octocrab;
use serde_json::{json, Value};

use super::http::{enc, RawResponse, RetryPolicy, Transport};
use super::{Forge, ForgeError};
use crate::model::{Actual, Proposed, RemoteRepo, RepoPath, Secret, Snapshot, Wanted};
use crate::proposal::{decide, Decision, Proposal, Seen};
use app::AppAuth;

pub use graphql::{snapshot_query, DISCOVER};
use rest::{ref_path, repo_path};

/// Repositories per snapshot query.
const SNAPSHOT_BATCH: usize = 25;

pub struct GithubForge {
    rest: Octocrab,
    graphql: Octocrab,
    owner: String,
    branch: String,
    /// Where git reaches repositories (`https://github.com` for the
    /// public API, `https://HOST` for Enterprise).
    git_root: String,
    credentials: Credentials,
    transport: Transport,
    /// Where repositories of the owner are created, found out once.
    create_path: tokio::sync::OnceCell<String>,
}

/// How drover signs in: a token fleet.yaml names, or a GitHub App whose
/// installation tokens it takes and renews itself.
pub enum Credentials {
    Token(Secret),
    App(Box<AppAuth>),
}

/// A description GitHub takes: one line (other forges allow several), at
/// most 350 characters.
fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(350) {
        Some((cut, _)) => flat[..cut].to_owned(),
        None => flat,
    }
}

/// The git host for an API root: `https://api.github.com` →
/// `https://github.com`, `https://HOST/api/v3` → `https://HOST`; any
/// other root serves git itself.
pub fn git_root(api: &str) -> String {
    let api = api.trim_end_matches('/');
    if api == "https://api.github.com" {
        return "https://github.com".into();
    }
    api.strip_suffix("/api/v3").unwrap_or(api).to_owned()
}

/// The GraphQL root for an API root: `https://api.github.com` →
/// `https://api.github.com`, `https://HOST/api/v3` → `https://HOST/api`
/// (octocrab posts to `{root}/graphql`).
/// How many installation tokens one call may be sent with before a 401
/// is the answer (each after the one before was refused).
const APP_TOKEN_TRIES: usize = 3;

/// The budget GraphQL queries spend (points, not requests).
const LANE_GRAPHQL: &str = "graphql";
/// The app's own calls (JWT-signed), a budget apart.
pub(super) const LANE_APP: &str = "app";

/// The budget a call as the installation (or a token) spends: REST and
/// GraphQL have budgets of their own.
fn lane(graphql: bool) -> &'static str {
    if graphql {
        LANE_GRAPHQL
    } else {
        "core"
    }
}

pub fn graphql_root(api: &str) -> String {
    let api = api.trim_end_matches('/');
    match api.strip_suffix("/v3") {
        Some(root) if root.ends_with("/api") => root.to_owned(),
        _ => api.to_owned(),
    }
}

impl GithubForge {
    pub fn new(
        api: &str,
        owner: &str,
        branch: &str,
        credentials: Credentials,
        policy: RetryPolicy,
    ) -> Result<GithubForge, ForgeError> {
        // No credentials in the client: each request carries the token
        // current when it is sent (an app's is renewed as it goes).
        let build = |base: &str| -> Result<Octocrab, ForgeError> {
            Octocrab::builder()
                .base_uri(base)
                .map_err(|e| ForgeError::Api {
                    status: None,
                    message: format!("bad forge.url `{base}`: {e}"),
                })?
                .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
                .build()
                .map_err(|e| ForgeError::Api {
                    status: None,
                    message: format!("cannot build the GitHub client: {e}"),
                })
        };
        Ok(GithubForge {
            rest: build(api)?,
            graphql: build(&graphql_root(api))?,
            owner: owner.to_owned(),
            branch: branch.to_owned(),
            git_root: git_root(api),
            credentials,
            transport: Transport::new(policy),
            create_path: tokio::sync::OnceCell::new(),
        })
    }

    /// One REST or GraphQL call with retries, each answer handed to
    /// `accept` inside the retry loop, signed with the token in hand. As
    /// an app, a 401 (the installation token expired or was revoked
    /// early) takes a new token and sends again — each time with a token
    /// other than the one refused, at most [`APP_TOKEN_TRIES`] in all, since
    /// concurrent calls may wear out the token another call just took.
    async fn call<T>(
        &self,
        graphql: bool,
        method: Method,
        path: &str,
        body: Option<Value>,
        accept: impl Fn(RawResponse) -> Result<T, ForgeError>,
    ) -> Result<T, ForgeError> {
        let app = match &self.credentials {
            Credentials::Token(token) => {
                return self
                    .send(lane(graphql), &method, path, body, token, accept)
                    .await
            }
            Credentials::App(app) => app,
        };
        let mut token = self.app_token(app).await?;
        let refused = |r: &RawResponse| r.status == http::StatusCode::UNAUTHORIZED;
        for _ in 1..APP_TOKEN_TRIES {
            let answer = self
                .send(lane(graphql), &method, path, body.clone(), &token, |r| {
                    if refused(&r) {
                        Ok(None)
                    } else {
                        accept(r).map(Some)
                    }
                })
                .await?;
            if let Some(answer) = answer {
                return Ok(answer);
            }
            token = self.app_token_after_401(app, &token).await?;
        }
        self.send(lane(graphql), &method, path, body, &token, accept)
            .await
    }

    /// One REST or GraphQL call with `token` as bearer, with retries, on
    /// the rate-limit budget `lane` names: `graphql` (which also picks the
    /// base), `core` for REST, `app` for the app's own JWT-signed calls,
    /// whose budget GitHub keeps apart from the installation's.
    async fn send<T>(
        &self,
        lane: &'static str,
        method: &Method,
        path: &str,
        body: Option<Value>,
        token: &Secret,
        accept: impl Fn(RawResponse) -> Result<T, ForgeError>,
    ) -> Result<T, ForgeError> {
        let client = if lane == LANE_GRAPHQL {
            &self.graphql
        } else {
            &self.rest
        };
        let what = format!("{method} {path}");
        let mut auth =
            http::HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                ForgeError::Api {
                    status: None,
                    message: "the GitHub token holds characters an HTTP header cannot carry".into(),
                }
            })?;
        auth.set_sensitive(true);
        self.transport
            .send_on(
                lane,
                &what,
                || {
                    let request = http::Request::builder()
                        .method(method.clone())
                        .uri(path)
                        .header(http::header::AUTHORIZATION, auth.clone());
                    let request = client.build_request(request, body.as_ref());
                    async move {
                        let request = request.map_err(|e| ForgeError::Api {
                            status: None,
                            message: format!("{method} {path}: cannot build the request: {e}"),
                        })?;
                        let sent = client.execute(request).await;
                        let response = sent.map_err(|e| ForgeError::Network(e.to_string()))?;
                        let status = response.status();
                        let headers = response.headers().clone();
                        let text = client
                            .body_to_string(response)
                            .await
                            .map_err(|e| ForgeError::Network(e.to_string()))?;
                        Ok(RawResponse {
                            status,
                            headers,
                            body: text.into(),
                        })
                    }
                },
                accept,
            )
            .await
    }

    /// Where the owner's repositories are created: the organisation's, or
    /// the token's user's own — never quietly another account's.
    async fn create_path(&self) -> Result<String, ForgeError> {
        let org_path = format!("/orgs/{}", enc(&self.owner));
        let org = self.call(false, Method::GET, &org_path, None, Ok).await?;
        match org.status.as_u16() {
            200 => Ok(format!("{org_path}/repos")),
            404 => {
                let me: Value = self.rest_json(Method::GET, "/user", None).await?;
                let login = me["login"].as_str().unwrap_or_default();
                if !login.eq_ignore_ascii_case(&self.owner) {
                    return Err(ForgeError::Api {
                        status: Some(404),
                        message: format!(
                            "forge.owner `{}` is neither an organisation the token sees nor the token's user (`{login}`)",
                            self.owner
                        ),
                    });
                }
                Ok("/user/repos".to_owned())
            }
            _ => Err(rest::error(&org).context(&format!("GET {org_path}"))),
        }
    }

    /// A call whose success status is expected, its answer handed to
    /// `accept` inside the retry loop; any other status becomes an error
    /// that says what to do.
    async fn expect_and<T>(
        &self,
        graphql: bool,
        method: Method,
        path: &str,
        body: Option<Value>,
        accept: impl Fn(RawResponse) -> Result<T, ForgeError>,
    ) -> Result<T, ForgeError> {
        self.call(graphql, method.clone(), path, body, |response| {
            if response.status.is_success() {
                accept(response)
            } else {
                Err(rest::error(&response))
            }
        })
        .await
    }

    /// A REST call whose success status is expected.
    async fn rest(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<RawResponse, ForgeError> {
        self.expect_and(false, method, path, body, Ok).await
    }

    /// A REST call that must succeed with a JSON body of type `T`; a body
    /// that does not decode is asked for again.
    async fn rest_json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, ForgeError> {
        self.expect_and(false, method, path, body, |r| r.json())
            .await
    }

    /// A GraphQL query's `data`; an answer that does not decode is asked
    /// for again.
    async fn graphql<T: serde::de::DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<T, ForgeError> {
        let body = json!({ "query": query, "variables": variables });
        self.expect_and(true, Method::POST, "/graphql", Some(body), |response| {
            let value: Value = response.json()?;
            if let Some(seen) = value.get("data").and_then(graphql::rate_limit) {
                self.transport.observe("graphql", seen);
            }
            if let Some(errors) = value
                .get("errors")
                .and_then(Value::as_array)
                .filter(|e| !e.is_empty())
            {
                // Per-alias NOT_FOUND errors come with partial data; others fail.
                let fatal: Vec<&str> = errors
                    .iter()
                    .filter(|e| e.get("type").and_then(Value::as_str) != Some("NOT_FOUND"))
                    .filter_map(|e| e.get("message").and_then(Value::as_str))
                    .collect();
                if !fatal.is_empty() || value.get("data").is_none_or(Value::is_null) {
                    return Err(ForgeError::Api {
                        status: None,
                        message: format!("GraphQL: {}", fatal.join("; ")),
                    });
                }
            }
            serde_json::from_value(value["data"].clone())
                .map_err(|e| ForgeError::Malformed(format!("GraphQL data: {e}")))
        })
        .await
    }

    /// One snapshot query for `repos`, then the blobs too large or binary
    /// for it; fails as a whole only when the query does.
    async fn snapshot_batch(
        &self,
        repos: &[RemoteRepo],
        wanted: &Wanted,
    ) -> Result<Vec<Result<Snapshot, ForgeError>>, ForgeError> {
        let query = snapshot_query(repos, wanted, &self.branch);
        let data: Value = self.graphql(&query, json!({})).await?;
        let mut out = Vec::with_capacity(repos.len());
        for (i, repo) in repos.iter().enumerate() {
            let part = &data[format!("r{i}")];
            if part.is_null() {
                out.push(Err(ForgeError::Api {
                    status: Some(404),
                    message: format!("{} not found", repo.full_name),
                }));
                continue;
            }
            let decoded = graphql::decode_repo(part, repo.head.clone(), wanted)
                .map_err(|e| ForgeError::Malformed(format!("{}: {e}", repo.full_name)));
            let result = match decoded {
                Ok((mut snapshot, needs)) => {
                    let mut failed = None;
                    for need in needs {
                        match self.blob(repo, &need.path, &need.oid).await {
                            Ok(content) => {
                                snapshot.files.insert(need.path, Actual::File { content });
                            }
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                    }
                    match failed {
                        Some(e) => Err(e),
                        None => Ok(snapshot),
                    }
                }
                Err(e) => Err(e),
            };
            out.push(result);
        }
        Ok(out)
    }

    /// A blob's bytes by its id, verified against it: bytes that do not
    /// hash to it are asked for again, never returned.
    async fn blob(
        &self,
        repo: &RemoteRepo,
        path: &RepoPath,
        oid: &str,
    ) -> Result<Vec<u8>, ForgeError> {
        let what = format!("{}: {path}", repo.full_name);
        let url = format!("{}/git/blobs/{}", repo_path(repo)?, enc(oid));
        self.expect_and(false, Method::GET, &url, None, |r| {
            super::verified(rest::decode_blob(&r.json()?)?, oid, &what)
        })
        .await
    }
}

impl GithubForge {
    /// Deletes drover's branch (the callers check it is drover's own).
    async fn delete_branch(&self, repo: &RemoteRepo) -> Result<(), ForgeError> {
        let branch = format!(
            "{}/git/refs/heads/{}",
            repo_path(repo)?,
            ref_path(&self.branch)
        );
        match self.rest(Method::DELETE, &branch, None).await {
            // Gone already (deleted by hand, or by a crash's earlier try).
            Ok(_)
            | Err(ForgeError::Api {
                status: Some(404 | 422),
                ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// On drover's open pull request, the reviewers and labels GitHub
    /// refused last time, asked for again (only they).
    async fn ask_again(
        &self,
        repo: &RemoteRepo,
        p: &Proposal,
        done: Proposed,
    ) -> Result<Proposed, ForgeError> {
        match done.number {
            Some(n) if done.fate == crate::model::ProposalFate::Open && !p.retry.is_empty() => {
                let (missing, warnings) = self.label_and_request(repo, n, &p.retry).await?;
                Ok(done.with_missing(missing, warnings))
            }
            _ => Ok(done),
        }
    }
}

#[async_trait]
impl Forge for GithubForge {
    async fn discover(&self) -> Result<Vec<RemoteRepo>, ForgeError> {
        let mut repos = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data: graphql::DiscoverData = self
                .graphql(
                    graphql::DISCOVER,
                    json!({ "owner": self.owner, "after": after }),
                )
                .await?;
            let owner = data.repository_owner.ok_or_else(|| ForgeError::Api {
                status: Some(404),
                message: format!("no GitHub organisation or user `{}` (check forge.owner and the token's access)", self.owner),
            })?;
            let page = owner.repositories;
            repos.extend(page.nodes.into_iter().map(RemoteRepo::from));
            match (page.page_info.has_next_page, page.page_info.end_cursor) {
                (true, Some(cursor)) => after = Some(cursor),
                _ => break,
            }
        }
        Ok(repos)
    }

    async fn lookup(
        &self,
        full_names: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<RemoteRepo>, ForgeError> {
        let prefix = format!("{}/", self.owner);
        let names: Vec<&str> = full_names
            .iter()
            .filter_map(|f| f.strip_prefix(&prefix))
            .filter(|n| !n.contains('/'))
            .collect();
        let mut repos = Vec::new();
        for chunk in names.chunks(SNAPSHOT_BATCH) {
            let data: Value = self
                .graphql(&graphql::lookup_query(&self.owner, chunk), json!({}))
                .await?;
            for i in 0..chunk.len() {
                let node = &data[format!("r{i}")];
                if node.is_null() {
                    continue;
                }
                let node: graphql::RepoNode = serde_json::from_value(node.clone())
                    .map_err(|e| ForgeError::Malformed(format!("GraphQL lookup: {e}")))?;
                repos.push(RemoteRepo::from(node));
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

    async fn comment(
        &self,
        repo: &RemoteRepo,
        proposal: &crate::model::ExistingProposal,
        _note: &crate::model::ForgeNote,
        text: &str,
    ) -> Result<(), ForgeError> {
        self.rest(
            Method::POST,
            &format!("{}/issues/{}/comments", repo_path(repo)?, proposal.number),
            Some(json!({ "body": text })),
        )
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
        let n = proposal.number;
        // The comment first: a crash between the two leaves an open pull
        // request with an explanation, closed on the next sweep. The
        // branch is drover's own (the sweep closes only those), so it goes
        // too, as Renovate does: nothing stale is left behind.
        let comment = format!("{comment} Its branch {} is deleted.", self.branch);
        self.comment(repo, proposal, note, &comment).await?;
        self.rest(
            Method::PATCH,
            &format!("{}/pulls/{n}", repo_path(repo)?),
            Some(json!({ "state": "closed" })),
        )
        .await?;
        self.delete_branch(repo).await
    }

    /// Deletes drover's branch once what it carried was merged (the sweep
    /// offers it only when it holds nothing unmerged).
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
        let branch_url = format!("{}/tree/{}", repo.web_url, p.branch);
        let (commit, update) = match decide(&Seen::of_branch(p, &branch_url)) {
            Decision::Leave(done) => return self.ask_again(repo, p, done).await,
            Decision::Write { commit, update } => (commit, update),
        };
        if commit {
            let commit = self.write_commit(repo, p, base).await?;
            self.point_branch(repo, &p.branch, &commit, p.branch_tip.is_some())
                .await?;
        }
        match update {
            Some(pr) => {
                // A new version with the same words (a moved default
                // branch) leaves the title and body as they are.
                if p.words_changed() {
                    let path = format!("{}/pulls/{}", repo_path(repo)?, pr.number);
                    self.rest(
                        Method::PATCH,
                        &path,
                        Some(json!({ "title": p.title, "body": p.body })),
                    )
                    .await?;
                }
                self.ask_again(repo, p, Proposed::updated(pr.url, Some(pr.number)))
                    .await
            }
            None => self.open_pull(repo, p).await,
        }
    }

    fn git_remote(&self, name: &str) -> Result<crate::model::GitRemote, ForgeError> {
        // As an app, the installation token of the last API call (git's
        // credential callback cannot wait for a new one): whoever reaches
        // for git has listed the repositories first.
        let token = match &self.credentials {
            Credentials::Token(token) => token.clone(),
            Credentials::App(app) => app.last_token().ok_or_else(|| ForgeError::Api {
                status: None,
                message: "no installation token yet: git is reached after the API".into(),
            })?,
        };
        Ok(crate::model::GitRemote {
            url: format!("{}/{}/{name}.git", self.git_root, self.owner),
            user: "x-access-token".into(),
            token,
            ssh_key: None,
        })
    }

    async fn author(&self) -> Result<Option<crate::config::Author>, ForgeError> {
        match &self.credentials {
            Credentials::Token(_) => Ok(None),
            Credentials::App(app) => self.app_bot(app).await.map(Some),
        }
    }

    async fn create_repo(
        &self,
        name: &str,
        description: &str,
        private: bool,
    ) -> Result<RemoteRepo, ForgeError> {
        let body = json!({
            "name": name,
            "description": one_line(description),
            "private": private,
            "auto_init": false,
        });
        let path = self
            .create_path
            .get_or_try_init(|| self.create_path())
            .await?;
        let created: Value = self.rest_json(Method::POST, path, Some(body)).await?;
        let text = |key: &str| created[key].as_str().unwrap_or_default().to_owned();
        Ok(RemoteRepo {
            default_branch: text("default_branch"),
            forge_id: text("full_name"),
            web_url: text("html_url"),
            ..RemoteRepo::created(&text("name"), &text("full_name"), private, description)
        })
    }

    async fn set_default_branch(&self, repo: &RemoteRepo, branch: &str) -> Result<(), ForgeError> {
        self.rest(
            Method::PATCH,
            &repo_path(repo)?,
            Some(json!({ "default_branch": branch })),
        )
        .await?;
        Ok(())
    }

    async fn archive(&self, repo: &RemoteRepo, description: &str) -> Result<(), ForgeError> {
        if repo.archived {
            return Ok(());
        }
        // One request: GitHub refuses edits to an archived repository.
        self.rest(
            Method::PATCH,
            &repo_path(repo)?,
            Some(json!({ "description": one_line(description), "archived": true })),
        )
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
    fn descriptions_become_one_line_github_takes() {
        assert_eq!(one_line("The app\n\nwith  notes\t"), "The app with notes");
        assert_eq!(one_line(&"é".repeat(400)).chars().count(), 350);
        assert_eq!(git_root("https://api.github.com"), "https://github.com");
        assert_eq!(
            git_root("https://ghe.example/api/v3/"),
            "https://ghe.example"
        );
        assert_eq!(git_root("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
    }

    #[test]
    fn graphql_goes_to_the_api_root_on_enterprise() {
        assert_eq!(
            graphql_root("https://api.github.com"),
            "https://api.github.com"
        );
        assert_eq!(
            graphql_root("https://ghe.example.com/api/v3/"),
            "https://ghe.example.com/api"
        );
        assert_eq!(
            graphql_root("http://127.0.0.1:4000"),
            "http://127.0.0.1:4000"
        );
    }
}
