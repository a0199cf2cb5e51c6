//! Git smart HTTP for every emulated repository, served by real git:
//! `git http-backend` run as a CGI program per request.
//!
//! URL conventions: GitHub `/{owner}/{repo}.git/…` (the `.git` is optional,
//! as on github.com), GitLab `/{group}/{sub}/{project}.git/…`, sourcehut
//! `/~{user}/{repo}/…` on the git.sr.ht listener. Auth as the forges do it:
//! HTTP Basic with the token as password (any user name; GitLab's `oauth2`
//! included). Anonymous clones of public repositories are allowed; pushes
//! and private repositories answer 401 with `WWW-Authenticate: Basic` so
//! git retries with credentials. Pushing to an archived repository is
//! refused with 403 like GitHub does.

use std::path::PathBuf;
use std::process::Stdio;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncWriteExt;

use crate::auth::{self, Caller};
use crate::server::{RouteTemplate, Site, SiteState};
use crate::world::Visibility;

/// A request path split into repository and git service path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitTarget {
    /// Repository full path as the world stores it (`acme/web`, `~alice/web`).
    pub repo_path: String,
    /// `info/refs`, `git-upload-pack`, `git-receive-pack`, `HEAD`, `objects/…`.
    pub rest: String,
}

/// Recognises a git smart HTTP path on `site`.
pub fn match_path(site: Site, path: &str) -> Option<GitTarget> {
    const ENDINGS: [&str; 4] = [
        "/info/refs",
        "/git-upload-pack",
        "/git-receive-pack",
        "/HEAD",
    ];
    let (repo, rest) = if let Some(i) = path.find("/objects/") {
        (&path[..i], &path[i + 1..])
    } else {
        let end = ENDINGS.iter().find(|e| path.ends_with(*e))?;
        (&path[..path.len() - end.len()], &end[1..])
    };
    let repo = repo.trim_start_matches('/');
    let segments: Vec<&str> = repo.split('/').collect();
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return None;
    }
    let with_suffix = repo.ends_with(".git");
    let ok = match site {
        Site::Github => {
            segments.len() == 2
                && (with_suffix || !matches!(segments[0], "repos" | "api" | "orgs" | "users"))
        }
        Site::Gitlab => segments.len() >= 2 && with_suffix && segments[0] != "api",
        Site::SrhtGit => segments.len() == 2 && segments[0].starts_with('~'),
        Site::SrhtLists => false,
    };
    ok.then(|| GitTarget {
        repo_path: repo.trim_end_matches(".git").to_string(),
        rest: rest.to_string(),
    })
}

fn template(site: Site, rest: &str) -> String {
    let rest = if rest.starts_with("objects/") {
        "objects/{object}"
    } else {
        rest
    };
    match site {
        Site::Github => format!("/{{owner}}/{{repo}}.git/{rest}"),
        Site::Gitlab => format!("/{{namespace}}/{{project}}.git/{rest}"),
        _ => format!("/~{{user}}/{{repo}}/{rest}"),
    }
}

/// Answers one git request for `target`.
pub async fn serve(st: SiteState, target: GitTarget, request: Request) -> Response {
    let mut response = serve_inner(&st, &target, request).await;
    response
        .extensions_mut()
        .insert(RouteTemplate(template(st.site, &target.rest)));
    response
}

struct RepoAccess {
    id: u64,
    git_dir: PathBuf,
    private: bool,
    archived: bool,
}

async fn serve_inner(st: &SiteState, target: &GitTarget, request: Request) -> Response {
    let forge = st.site.forge();
    let caller = request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(|| auth::caller(st, request.headers(), request.uri().query()));
    let repo = {
        let world = st.shared.world.lock();
        world.repo(forge, &target.repo_path).map(|r| RepoAccess {
            id: r.id,
            git_dir: r.git_dir.clone(),
            private: r.visibility != Visibility::Public,
            archived: r.archived,
        })
    };
    let push = target.rest == "git-receive-pack"
        || request
            .uri()
            .query()
            .is_some_and(|q| q.contains("service=git-receive-pack"));
    if caller.bad_token() {
        return auth::git_challenge(st.site);
    }
    let Some(repo) = repo else {
        if caller.user.is_none() {
            return auth::git_challenge(st.site);
        }
        return (StatusCode::NOT_FOUND, "Repository not found.\n").into_response();
    };
    if caller.user.is_none() && (push || repo.private) {
        return auth::git_challenge(st.site);
    }
    if push && repo.archived {
        return (
            StatusCode::FORBIDDEN,
            "This repository was archived so it is read-only.\n",
        )
            .into_response();
    }
    let response = match run_backend(st, &repo, &target.rest, caller.user.as_deref(), request).await
    {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("git http-backend: {e}\n"),
            )
                .into_response()
        }
    };
    if push && target.rest == "git-receive-pack" && response.status().is_success() {
        let mut world = st.shared.world.lock();
        let now = world.now();
        if let Some(r) = world.repos.get_mut(&repo.id) {
            r.updated_at = now;
            r.pushed_at = Some(now);
        }
        mark_merged_by_push(&mut world, repo.id, &repo.git_dir, now);
    }
    response
}

/// Like GitHub and GitLab: an open pull or merge request whose source
/// branch tip is now contained in its target branch (someone merged it
/// with git and pushed) becomes merged.
fn mark_merged_by_push(
    world: &mut crate::world::World,
    repo_id: u64,
    git_dir: &std::path::Path,
    now: crate::world::Timestamp,
) {
    for p in world.proposals.values_mut() {
        if p.repo_id != repo_id
            || p.state != crate::world::ProposalState::Open
            || p.forge == crate::world::Forge::Sourcehut
        {
            continue;
        }
        let Ok(Some(tip)) = crate::gitstore::resolve(git_dir, &p.head) else {
            continue;
        };
        if crate::gitstore::reachable(git_dir, &tip, &p.base).unwrap_or(false) {
            p.state = crate::world::ProposalState::Merged;
            p.merged_at = Some(now);
            p.closed_at = Some(now);
            p.updated_at = now;
            p.merge_commit = crate::gitstore::resolve(git_dir, &p.base).ok().flatten();
        }
    }
}

async fn run_backend(
    st: &SiteState,
    repo: &RepoAccess,
    rest: &str,
    user: Option<&str>,
    request: Request,
) -> std::io::Result<Response> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let project_root = repo.git_dir.parent().unwrap_or(&repo.git_dir).to_path_buf();
    let dir_name = repo
        .git_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &project_root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PROJECT_ROOT", &project_root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("/{dir_name}/{rest}"))
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(ct) = header(header::CONTENT_TYPE) {
        cmd.env("CONTENT_TYPE", ct);
    }
    if let Some(enc) = header(header::CONTENT_ENCODING) {
        cmd.env("HTTP_CONTENT_ENCODING", enc);
    }
    if let Some(proto) = parts
        .headers
        .get("git-protocol")
        .and_then(|v| v.to_str().ok())
    {
        cmd.env("GIT_PROTOCOL", proto);
    }
    if let Some(user) = user {
        cmd.env("REMOTE_USER", user);
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take();
    let writer = tokio::spawn(async move {
        if let Some(stdin) = stdin.as_mut() {
            let _ = stdin.write_all(&body).await;
            let _ = stdin.shutdown().await;
        }
    });
    let output = child.wait_with_output().await?;
    let _ = writer.await;
    if !output.stderr.is_empty() {
        tracing::debug!(site = st.site.as_str(), stderr = %String::from_utf8_lossy(&output.stderr), "git http-backend");
    }
    Ok(cgi_response(&output.stdout))
}

/// Turns CGI output (headers, blank line, body) into an HTTP response.
fn cgi_response(out: &[u8]) -> Response {
    let (head, body) = match find(out, b"\r\n\r\n") {
        Some(i) => (&out[..i], &out[i + 4..]),
        None => match find(out, b"\n\n") {
            Some(i) => (&out[..i], &out[i + 2..]),
            None => (&out[..0], out),
        },
    };
    let mut response = Response::new(Body::from(body.to_vec()));
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().and_then(|c| c.parse().ok());
            if let Some(status) = code.and_then(|c| StatusCode::from_u16(c).ok()) {
                *response.status_mut() = status;
            }
        } else if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.trim()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(n, v);
        }
    }
    response
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_per_forge() {
        let t = |site, path| match_path(site, path).map(|t| (t.repo_path, t.rest));
        let some = |r: &str, rest: &str| Some((r.to_string(), rest.to_string()));
        assert_eq!(
            t(Site::Github, "/acme/web.git/info/refs"),
            some("acme/web", "info/refs")
        );
        assert_eq!(
            t(Site::Github, "/acme/web/git-upload-pack"),
            some("acme/web", "git-upload-pack")
        );
        assert_eq!(t(Site::Github, "/repos/acme/info/refs"), None);
        assert_eq!(t(Site::Github, "/repos/acme/web"), None);
        assert_eq!(
            t(Site::Gitlab, "/g/sub/p.git/git-receive-pack"),
            some("g/sub/p", "git-receive-pack")
        );
        assert_eq!(t(Site::Gitlab, "/g/sub/p/info/refs"), None);
        assert_eq!(t(Site::Gitlab, "/api/v4/x.git/info/refs"), None);
        assert_eq!(
            t(Site::SrhtGit, "/~alice/web/info/refs"),
            some("~alice/web", "info/refs")
        );
        assert_eq!(
            t(Site::SrhtGit, "/~alice/web/objects/ab/cdef"),
            some("~alice/web", "objects/ab/cdef")
        );
        assert_eq!(t(Site::SrhtGit, "/query"), None);
        assert_eq!(t(Site::Github, "/a/../b/info/refs"), None);
    }

    #[test]
    fn cgi_headers_map_to_the_response() {
        let r = cgi_response(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.headers()["content-type"], "text/plain");
        let r = cgi_response(b"Content-Type: application/x-git-upload-pack-advertisement\n\nbody");
        assert_eq!(r.status(), StatusCode::OK);
    }
}
