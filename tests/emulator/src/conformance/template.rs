//! Path templates (`/repos/{owner}/{repo}/git/refs/{ref}`) and matching
//! request paths against them, segment by segment on the raw (still
//! percent-encoded) path, so GitLab's `acme%2Fapi` is one segment and an
//! unencoded `acme/api` does not match, as on GitLab.
//!
//! GitHub takes a few parameters with slashes unencoded: `{path}` of the
//! contents API and `{ref}` of the git-refs and commits APIs
//! (`git/refs/heads/drover/sync`). When such a parameter ends a template it
//! consumes every remaining segment (a lone trailing empty segment included,
//! as in `contents/` for the root directory). Every other parameter is
//! exactly one non-empty segment.

use super::gaps::Api;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Literal(String),
    Param(String),
    /// The rest of the path, slashes included.
    Rest(String),
}

/// A parsed path template.
#[derive(Clone, Debug)]
pub struct Template {
    text: String,
    segments: Vec<Seg>,
}

/// GitHub parameters that may carry unencoded slashes (see the module doc).
const GITHUB_SLASHED: [&str; 2] = ["path", "ref"];

fn split(path: &str) -> Vec<&str> {
    path.strip_prefix('/').unwrap_or(path).split('/').collect()
}

impl Template {
    /// Parses `text` for `api`.
    pub fn new(api: Api, text: &str) -> Template {
        let parts = split(text);
        let last = parts.len().saturating_sub(1);
        let segments = parts
            .iter()
            .enumerate()
            .map(
                |(i, s)| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name)
                        if i == last && api == Api::Github && GITHUB_SLASHED.contains(&name) =>
                    {
                        Seg::Rest(name.to_string())
                    }
                    Some(name) => Seg::Param(name.to_string()),
                    None => Seg::Literal(s.to_string()),
                },
            )
            .collect();
        Template {
            text: text.to_string(),
            segments,
        }
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The raw parameter values if `path` matches.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let parts = split(path);
        let mut params = Vec::new();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Seg::Literal(l) => {
                    if parts.get(i) != Some(&l.as_str()) {
                        return None;
                    }
                }
                Seg::Param(name) => {
                    let value = parts.get(i).filter(|v| !v.is_empty())?;
                    params.push((name.clone(), value.to_string()));
                }
                Seg::Rest(name) => {
                    let rest = parts.get(i..).filter(|r| !r.is_empty())?;
                    if rest.len() > 1 && rest.iter().any(|s| s.is_empty()) {
                        return None;
                    }
                    params.push((name.clone(), rest.join("/")));
                    return Some(params);
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(params)
    }

    /// Specificity, higher first: more literal segments, then no rest-of-path
    /// parameter.
    pub fn rank(&self) -> (usize, bool) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Seg::Literal(_)))
            .count();
        let rest = self.segments.iter().any(|s| matches!(s, Seg::Rest(_)));
        (literals, !rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(t: &Template, path: &str) -> Option<Vec<String>> {
        t.matches(path)
            .map(|p| p.into_iter().map(|(k, v)| format!("{k}={v}")).collect())
    }

    #[test]
    fn segments_and_rest_parameters() {
        let t = Template::new(Api::Github, "/repos/{owner}/{repo}/git/refs/{ref}");
        assert_eq!(
            params(&t, "/repos/acme/api/git/refs/heads/drover/sync").unwrap(),
            ["owner=acme", "repo=api", "ref=heads/drover/sync"]
        );
        assert!(t.matches("/repos/acme/api/git/refs").is_none());
        assert!(t.matches("/repos/acme/api/git/refs/heads//x").is_none());
        let c = Template::new(Api::Github, "/repos/{owner}/{repo}/contents/{path}");
        assert_eq!(params(&c, "/repos/a/b/contents/").unwrap()[2], "path=");
        let p = Template::new(Api::Github, "/repos/{owner}/{repo}/pulls/{pull_number}");
        assert!(p.matches("/repos/a/b/pulls/1/merge").is_none());
        assert!(p.matches("/repos/a//pulls/1").is_none());
        let g = Template::new(
            Api::Gitlab,
            "/api/v4/projects/{id}/repository/files/{file_path}/raw",
        );
        assert_eq!(
            params(
                &g,
                "/api/v4/projects/acme%2Fapi/repository/files/src%2Fmain.rs/raw"
            )
            .unwrap(),
            ["id=acme%2Fapi", "file_path=src%2Fmain.rs"]
        );
        assert!(g
            .matches("/api/v4/projects/acme/api/repository/files/a/raw")
            .is_none());
    }
}
