//! GitHub REST: the wire types drover reads, error messages that say what
//! to do, and the writes of a proposal (tree, commit, ref, pull request,
//! labels, reviewers).

use base64::Engine;
use http::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::GithubForge;
use crate::forge::http::{enc, RawResponse};
use crate::forge::ForgeError;
use crate::model::{Missing, Proposed, RemoteRepo};
use crate::proposal::Proposal;

/// `/repos/{owner}/{name}` for a repository, each name percent-encoded
/// (a name a forge answered is not trusted to be one path segment); a
/// name that is empty, `.` or `..` — which URL parsers resolve as a
/// directory step even encoded — is refused.
pub fn repo_path(repo: &RemoteRepo) -> Result<String, ForgeError> {
    let (owner, name) = repo
        .full_name
        .split_once('/')
        .unwrap_or(("", &repo.full_name));
    for part in [owner, name] {
        if matches!(part, "" | "." | "..") || part.contains('/') {
            return Err(ForgeError::Api {
                status: None,
                message: format!(
                    "`{}` is not an owner/name GitHub repository name",
                    repo.full_name.escape_default()
                ),
            });
        }
    }
    Ok(format!("/repos/{}/{}", enc(owner), enc(name)))
}

/// A branch name as the tail of a `git/refs/heads/…` path: each
/// component percent-encoded, `/` kept between them.
pub(super) fn ref_path(branch: &str) -> String {
    branch.split('/').map(enc).collect::<Vec<_>>().join("/")
}

/// GitHub's error body.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub message: String,
    #[serde(default)]
    pub errors: Vec<Value>,
}

/// An object with a sha (trees, commits).
#[derive(Debug, Deserialize)]
pub struct Sha {
    pub sha: String,
}

/// A pull request, as far as drover reads it.
#[derive(Debug, Deserialize)]
pub struct Pull {
    pub number: u64,
    pub html_url: String,
}

/// A blob read through REST.
#[derive(Debug, Deserialize)]
pub struct Blob {
    pub content: String,
    pub encoding: String,
}

pub fn decode_blob(value: &Value) -> Result<Vec<u8>, ForgeError> {
    let blob: Blob = serde_json::from_value(value.clone())
        .map_err(|e| ForgeError::Malformed(format!("blob: {e}")))?;
    match blob.encoding.as_str() {
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(blob.content.replace(['\n', '\r'], ""))
            .map_err(|e| ForgeError::Malformed(format!("blob base64: {e}"))),
        _ => Ok(blob.content.into_bytes()),
    }
}

/// A failed REST call as an error a user can act on. Never echoes headers.
pub fn error(response: &RawResponse) -> ForgeError {
    let hint = match response.status.as_u16() {
        401 => " — GitHub rejected the token: check the variable or file forge.token names (or, as an app, that it is installed and not suspended)",
        403 => " — the token lacks a permission: drover needs contents, pull requests and issues write access (metadata read)",
        404 => " — not found, or the token cannot see it",
        _ => "",
    };
    error_with(response, hint)
}

/// A failed call signed with the app's JWT (the app endpoints).
pub fn app_error(response: &RawResponse) -> ForgeError {
    let hint = match response.status.as_u16() {
        401 => " — GitHub refused the app's JWT: check forge.app.id, that forge.app.private_key is a current key of that app, and this machine's clock",
        403 | 404 => " — check forge.app.id and that the app is installed on forge.owner",
        _ => "",
    };
    error_with(response, hint)
}

fn error_with(response: &RawResponse, hint: &str) -> ForgeError {
    let status = response.status.as_u16();
    let detail = serde_json::from_slice::<ErrorBody>(&response.body)
        .map(|b| {
            let extra: Vec<String> = b
                .errors
                .iter()
                .filter_map(|e| {
                    e.get("message")
                        .or_else(|| e.get("code"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect();
            if extra.is_empty() {
                b.message
            } else {
                format!("{} ({})", b.message, extra.join("; "))
            }
        })
        .unwrap_or_else(|_| format!("HTTP {status}"));
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

impl GithubForge {
    /// One commit on `base` holding the proposal's changes; its sha.
    pub(super) async fn write_commit(
        &self,
        repo: &RemoteRepo,
        p: &Proposal,
        base: &str,
    ) -> Result<String, ForgeError> {
        let base_tree = match &p.base_tree {
            Some(t) => t.clone(),
            None => {
                let v: Value = self
                    .rest_json(
                        Method::GET,
                        &format!("{}/git/commits/{}", repo_path(repo)?, enc(base)),
                        None,
                    )
                    .await?;
                v["tree"]["sha"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ForgeError::Malformed("commit without tree".into()))?
            }
        };
        // `content` in a tree entry is taken as UTF-8 text: bytes that are
        // not (a binary or a Latin-1 file) become a blob first, sent as
        // base64, and the entry names it by sha.
        let mut entries: Vec<Value> = Vec::with_capacity(p.changes.len());
        for c in &p.changes {
            let path = c.path.as_str();
            entries.push(match c.content.as_deref() {
                Some(bytes) => match std::str::from_utf8(bytes) {
                    Ok(text) => {
                        json!({ "path": path, "mode": "100644", "type": "blob", "content": text })
                    }
                    Err(_) => {
                        let blob = self.create_blob(repo, bytes).await?;
                        json!({ "path": path, "mode": "100644", "type": "blob", "sha": blob })
                    }
                },
                None => {
                    json!({ "path": path, "mode": "100644", "type": "blob", "sha": Value::Null })
                }
            });
        }
        let tree: Sha = self
            .rest_json(
                Method::POST,
                &format!("{}/git/trees", repo_path(repo)?),
                Some(json!({ "base_tree": base_tree, "tree": entries })),
            )
            .await?;
        let person = json!({ "name": p.author.name, "email": p.author.email });
        let commit: Sha = self
            .rest_json(
                Method::POST,
                &format!("{}/git/commits", repo_path(repo)?),
                Some(json!({ "message": p.commit_message, "tree": tree.sha, "parents": [base], "author": person, "committer": person })),
            )
            .await?;
        Ok(commit.sha)
    }

    /// Stores `bytes` as a blob (sent as base64, so any bytes survive);
    /// its sha.
    async fn create_blob(&self, repo: &RemoteRepo, bytes: &[u8]) -> Result<String, ForgeError> {
        let blob: Sha = self
            .rest_json(
                Method::POST,
                &format!("{}/git/blobs", repo_path(repo)?),
                Some(json!({
                    "content": base64::engine::general_purpose::STANDARD.encode(bytes),
                    "encoding": "base64",
                })),
            )
            .await?;
        Ok(blob.sha)
    }

    /// Points drover's branch at `commit`, creating it if needed.
    pub(super) async fn point_branch(
        &self,
        repo: &RemoteRepo,
        branch: &str,
        commit: &str,
        exists: bool,
    ) -> Result<(), ForgeError> {
        let update = format!("{}/git/refs/heads/{}", repo_path(repo)?, ref_path(branch));
        if exists {
            self.rest(
                Method::PATCH,
                &update,
                Some(json!({ "sha": commit, "force": true })),
            )
            .await?;
            return Ok(());
        }
        let create = format!("{}/git/refs", repo_path(repo)?);
        match self
            .rest(
                Method::POST,
                &create,
                Some(json!({ "ref": format!("refs/heads/{branch}"), "sha": commit })),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Created since the snapshot (a crash after the ref, a race).
            Err(ForgeError::Api {
                status: Some(422), ..
            }) => {
                self.rest(
                    Method::PATCH,
                    &update,
                    Some(json!({ "sha": commit, "force": true })),
                )
                .await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Opens the pull request, with labels and reviewers; adopts an open
    /// one the snapshot did not see.
    pub(super) async fn open_pull(
        &self,
        repo: &RemoteRepo,
        p: &Proposal,
    ) -> Result<Proposed, ForgeError> {
        let pulls = format!("{}/pulls", repo_path(repo)?);
        let body = json!({
            "title": p.title,
            "head": p.branch,
            "base": p.default_branch,
            "body": p.body,
            "maintainer_can_modify": false,
        });
        let pull: Pull = match self.rest_json(Method::POST, &pulls, Some(body)).await {
            Ok(pull) => pull,
            Err(ForgeError::Api {
                status: Some(422),
                message,
            }) if message.contains("already exists") => {
                let owner = repo.full_name.split('/').next().unwrap_or_default();
                let list = format!(
                    "{pulls}?head={}&state=open",
                    enc(&format!("{owner}:{}", p.branch))
                );
                let open: Vec<Pull> = self.rest_json(Method::GET, &list, None).await?;
                let pull = open.into_iter().next().ok_or(ForgeError::Api {
                    status: Some(422),
                    message,
                })?;
                let path = format!("{pulls}/{}", pull.number);
                self.rest(
                    Method::PATCH,
                    &path,
                    Some(json!({ "title": p.title, "body": p.body })),
                )
                .await?;
                return Ok(Proposed::updated(pull.html_url, Some(pull.number)));
            }
            Err(e) => return Err(e),
        };
        let all = Missing {
            reviewers: p.reviewers.clone(),
            labels: p.labels.clone(),
        };
        let (missing, warnings) = self.label_and_request(repo, pull.number, &all).await?;
        Ok(Proposed::opened(pull.html_url, Some(pull.number)).with_missing(missing, warnings))
    }
}

impl GithubForge {
    /// Labels the pull request and asks its reviewers (both added to what
    /// it has: a retry names only what is missing). What GitHub refuses
    /// for good (a reviewer who is not a collaborator, a label it would
    /// not create) is a warning, not a failure: the pull request stands,
    /// and the store keeps what is missing for the next sweep.
    pub(super) async fn label_and_request(
        &self,
        repo: &RemoteRepo,
        number: u64,
        want: &Missing,
    ) -> Result<(Missing, Vec<String>), ForgeError> {
        let (mut missing, mut warnings) = (Missing::default(), Vec::new());
        if !want.labels.is_empty() {
            let path = format!("{}/issues/{number}/labels", repo_path(repo)?);
            match self
                .rest(Method::POST, &path, Some(json!({ "labels": want.labels })))
                .await
            {
                Ok(_) => {}
                Err(e) if refused(&e) => {
                    warnings.push(format!("labels {} not set: {e}", want.labels.join(", ")));
                    missing.labels = want.labels.clone();
                }
                Err(e) => return Err(e),
            }
        }
        let path = format!("{}/pulls/{number}/requested_reviewers", repo_path(repo)?);
        // One request for all; when GitHub refuses it (a 422 does not say
        // whom), one each, so that the others are still asked.
        let mut batches: Vec<Vec<String>> = vec![want.reviewers.clone()];
        while let Some(batch) = batches.pop() {
            if batch.is_empty() {
                continue;
            }
            match self
                .rest(Method::POST, &path, Some(json!({ "reviewers": batch })))
                .await
            {
                Ok(_) => {}
                Err(e) if refused(&e) && batch.len() > 1 => {
                    batches.extend(batch.into_iter().rev().map(|r| vec![r]));
                }
                Err(e) if refused(&e) => {
                    warnings.push(format!(
                        "reviewer {} refused (not a collaborator of {}, or the author)",
                        batch[0], repo.full_name
                    ));
                    missing.reviewers.push(batch[0].clone());
                }
                Err(e) => return Err(e),
            }
        }
        Ok((missing, warnings))
    }
}

/// A refusal that asking again will not change (validation, permission).
fn refused(e: &ForgeError) -> bool {
    matches!(
        e,
        ForgeError::Api {
            status: Some(403 | 404 | 422),
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_answers_stay_one_path_segment_each() {
        let path = |full: &str| repo_path(&RemoteRepo::named("x", full));
        assert_eq!(path("acme/billing-api").unwrap(), "/repos/acme/billing-api");
        assert_eq!(
            path("acme/a?b#c%d e").unwrap(),
            "/repos/acme/a%3Fb%23c%25d%20e"
        );
        for bad in ["acme/..", "acme/.", "acme/a/b", "/x", "acme/", "plain"] {
            assert!(path(bad).is_err(), "{bad}");
        }
        assert_eq!(ref_path("drover/sync"), "drover/sync");
        assert_eq!(ref_path("a/b#c?d"), "a/b%23c%3Fd");
    }
}
