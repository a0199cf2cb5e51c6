//! GitLab GraphQL: the discovery document, the batched snapshot query and
//! their decoding. Every field used here is in the shared 13.8-era schema
//! (`forge-specs/gitlab/gitlab_schema.graphql`), which the emulator checks
//! each document against. That schema has no blob contents, no commit
//! parents or author e-mail and no merge requests by source branch, so the
//! snapshot query reads trees (names, types, modes) and whether drover's
//! branch exists; file contents, the branch tip's details and merge
//! requests come from REST (see `mod.rs`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::model::{Actual, EntryKind, Listed, RemoteRepo, RepoPath, Wanted};

/// One page of the group's projects, subgroups included, with their heads
/// (the text of `docs/forge-protocol.md`).
pub const DISCOVER: &str = r#"query DroverDiscover($group: ID!, $after: String) {
  group(fullPath: $group) {
    projects(includeSubgroups: true, first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id fullPath path webUrl archived visibility description
        repository { rootRef empty tree { lastCommit { sha } } }
      }
    }
  }
}"#;

/// One project of the group by its full path, with the fields discovery
/// reads: the daemon's sweep of a project a webhook named.
pub const LOOKUP: &str = r#"query DroverLookup($path: ID!) {
  project(fullPath: $path) {
    id fullPath path webUrl archived visibility description
    repository { rootRef empty tree { lastCommit { sha } } }
  }
}"#;

#[derive(Debug, Deserialize)]
pub struct LookupData {
    pub project: Option<ProjectNode>,
}

#[derive(Debug, Deserialize)]
pub struct DiscoverData {
    pub group: Option<Group>,
}

#[derive(Debug, Deserialize)]
pub struct Group {
    pub projects: Connection<ProjectNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<T> {
    pub page_info: PageInfo,
    pub nodes: Vec<T>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    #[serde(default)]
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectNode {
    pub id: String,
    pub full_path: String,
    pub web_url: String,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub repository: Option<RepositoryNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryNode {
    pub root_ref: Option<String>,
    #[serde(default)]
    pub empty: bool,
    pub tree: Option<TreeHead>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeHead {
    pub last_commit: Option<CommitSha>,
}

#[derive(Debug, Deserialize)]
pub struct CommitSha {
    pub sha: String,
}

/// The numeric id in a global id (`gid://gitlab/Project/42` → `42`).
pub fn numeric_id(gid: &str) -> Option<&str> {
    let id = gid.rsplit('/').next()?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

impl ProjectNode {
    /// The project as drover sees it; `group` is the discovered group's
    /// full path, so that `name` is relative to it (`backend/api`).
    ///
    /// Forks: the 13.8 schema cannot tell (no fork-parent field), so every
    /// project is reported as not a fork (ARCHITECTURE.md, GitLab).
    pub fn into_remote(self, group: &str) -> Result<RemoteRepo, String> {
        let id = numeric_id(&self.id)
            .ok_or_else(|| format!("unexpected project id `{}`", self.id))?
            .to_owned();
        let repo = self.repository;
        let head = repo
            .as_ref()
            .and_then(|r| r.tree.as_ref())
            .and_then(|t| t.last_commit.as_ref())
            .map(|c| c.sha.clone());
        let name = self
            .full_path
            .strip_prefix(group)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(&self.full_path)
            .to_owned();
        Ok(RemoteRepo {
            name,
            default_branch: repo
                .as_ref()
                .and_then(|r| r.root_ref.clone())
                .unwrap_or_else(|| "main".into()),
            empty: repo.as_ref().is_none_or(|r| r.empty) || head.is_none(),
            head,
            archived: self.archived,
            fork: false,
            forge_id: id,
            web_url: self.web_url,
            private: self.visibility.as_deref() != Some("public"),
            description: self.description.filter(|d| !d.is_empty()),
            full_name: self.full_path,
        })
    }
}

/// A GraphQL string literal (JSON's escaping is GraphQL's).
fn lit(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// Entries of a directory as a `tree` answers them.
/// A blob's `sha` is its git object id: the field is documented as "last
/// commit SHA for the entry" but GitLab resolves it with `method: :id`
/// (app/graphql/types/tree/entry_type.rb), the entry's object id.
const ENTRIES: &str = "blobs { pageInfo { hasNextPage } nodes { name type mode sha } } \
trees { pageInfo { hasNextPage } nodes { name } } \
submodules { pageInfo { hasNextPage } nodes { name } }";

/// The snapshot query of a batch: for each project (`p{i}`), at its head,
/// the entries of every directory on the way to a wanted path (`t{j}`), and
/// drover's branch tip if the branch exists (`branch`).
pub fn snapshot_query(repos: &[RemoteRepo], wanted: &Wanted, branch: &str) -> String {
    let dirs = wanted.directories();
    let mut q = String::from("query DroverSnapshot {\n");
    for (i, repo) in repos.iter().enumerate() {
        let head = repo.head.as_deref().unwrap_or("HEAD");
        q.push_str(&format!(
            "  p{i}: project(fullPath: {}) {{ repository {{\n",
            lit(&repo.full_name)
        ));
        for (j, dir) in dirs.iter().enumerate() {
            let path = if dir.is_empty() {
                String::new()
            } else {
                format!(", path: {}", lit(dir))
            };
            q.push_str(&format!(
                "    t{j}: tree(ref: {}{path}) {{ {ENTRIES} }}\n",
                lit(head)
            ));
        }
        q.push_str(&format!(
            "    branch: tree(ref: {}) {{ lastCommit {{ sha }} }}\n",
            lit(branch)
        ));
        q.push_str("  } }\n");
    }
    q.push('}');
    q
}

/// One entry of a directory: `kind` is `blob`, `tree` or `commit`
/// (a submodule), `mode` git's octal mode as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: String,
    pub mode: String,
    /// The git object id, where the answer gave it.
    pub oid: Option<String>,
}

/// One project's part of a snapshot answer.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Entries per directory; `None` when the directory does not exist.
    pub trees: BTreeMap<String, Option<Vec<Entry>>>,
    /// Directories with more entries than one page: listed again by REST.
    pub truncated: Vec<String>,
    /// The tip of drover's branch, when the branch exists.
    pub branch_tip: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Named {
    name: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    sha: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    page_info: PageInfo,
    nodes: Vec<Named>,
}

/// Decodes `p{i}` of a snapshot answer; `None` when the project is gone.
pub fn decode_project(value: &Value, wanted: &Wanted) -> Result<Option<Decoded>, String> {
    let Some(repo) = value.get("repository").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let mut out = Decoded::default();
    for (j, dir) in wanted.directories().into_iter().enumerate() {
        let tree = repo.get(format!("t{j}")).filter(|v| !v.is_null());
        let Some(tree) = tree else {
            out.trees.insert(dir, None);
            continue;
        };
        let mut entries = Vec::new();
        let mut more = false;
        for (field, kind, mode) in [
            ("blobs", "blob", "100644"),
            ("trees", "tree", "040000"),
            ("submodules", "commit", "160000"),
        ] {
            let page: Page = match tree.get(field).filter(|v| !v.is_null()) {
                Some(v) => serde_json::from_value(v.clone()).map_err(|e| e.to_string())?,
                None => continue,
            };
            more |= page.page_info.has_next_page;
            entries.extend(page.nodes.into_iter().map(|n| Entry {
                name: n.name,
                kind: n.kind.unwrap_or_else(|| kind.into()),
                mode: n.mode.unwrap_or_else(|| mode.into()),
                oid: n.sha,
            }));
        }
        if more {
            out.truncated.push(dir.clone());
        }
        out.trees.insert(dir, Some(entries));
    }
    out.branch_tip = repo
        .get("branch")
        .and_then(|b| b.get("lastCommit"))
        .and_then(|c| c.get("sha"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Some(out))
}

const SYMLINK: &str = "120000";

/// The entries of each wanted directory that is reachable through trees
/// only (not through a symlink, not a file).
pub fn listings(
    trees: &BTreeMap<String, Option<Vec<Entry>>>,
    wanted: &Wanted,
) -> BTreeMap<String, Vec<Listed>> {
    let entry = |p: &str| -> Option<&Entry> {
        let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
        trees.get(dir)?.as_ref()?.iter().find(|e| e.name == name)
    };
    let mut out = BTreeMap::new();
    for dir in &wanted.dirs {
        let reachable = RepoPath::new(dir).map_or(dir.is_empty(), |p| {
            p.ancestors()
                .chain(std::iter::once(p.clone()))
                .all(|a| entry(a.as_str()).is_some_and(|e| e.kind == "tree"))
        });
        let Some(Some(entries)) = trees.get(dir).filter(|_| reachable) else {
            continue;
        };
        let mut listed: Vec<Listed> = entries
            .iter()
            .map(|e| Listed {
                name: e.name.clone(),
                kind: match (e.kind.as_str(), e.mode.as_str()) {
                    (_, SYMLINK) => EntryKind::Symlink,
                    ("tree", _) => EntryKind::Dir,
                    ("blob", _) => EntryKind::File,
                    _ => EntryKind::Other,
                },
            })
            .collect();
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        out.insert(dir.clone(), listed);
    }
    out
}

/// A wanted path whose content must be read: a symlink (its target), or
/// a file whose id the answer lacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub symlink: bool,
    /// The blob id to verify the content against, when the answer had it.
    pub oid: Option<String>,
}

/// What each wanted path is, from the directory entries. A regular file
/// is its blob id ([`Actual::Blob`]); a symlink, or a file whose id the
/// answer lacked, still needs its content read: such paths come back as
/// `Err(Unread)`.
pub fn classify(
    trees: &BTreeMap<String, Option<Vec<Entry>>>,
    path: &RepoPath,
) -> Result<Actual, Unread> {
    let entry = |p: &str| -> Option<&Entry> {
        let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
        trees.get(dir)?.as_ref()?.iter().find(|e| e.name == name)
    };
    for ancestor in path.ancestors() {
        match entry(ancestor.as_str()) {
            Some(e) if e.mode == SYMLINK => return Ok(Actual::ThroughSymlink { link: ancestor }),
            Some(e) if e.kind != "tree" => return Ok(Actual::NotAFile),
            Some(_) => {}
            None => return Ok(Actual::Missing),
        }
    }
    match entry(path.as_str()) {
        None => Ok(Actual::Missing),
        Some(e) if e.kind != "blob" => Ok(Actual::NotAFile),
        Some(e) if e.mode == SYMLINK => Err(Unread {
            symlink: true,
            oid: e.oid.clone(),
        }),
        Some(e) => match &e.oid {
            Some(oid) => Ok(Actual::Blob { oid: oid.clone() }),
            None => Err(Unread {
                symlink: false,
                oid: None,
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(ps: &[&str]) -> Vec<RepoPath> {
        ps.iter().map(|p| RepoPath::new(p).unwrap()).collect()
    }

    #[test]
    fn discovered_projects_are_named_relative_to_the_group() {
        let node: ProjectNode = serde_json::from_value(json!({
            "id": "gid://gitlab/Project/42", "fullPath": "acme/backend/api", "path": "api",
            "webUrl": "https://gitlab.example.com/acme/backend/api", "archived": false,
            "repository": { "rootRef": "trunk", "empty": false, "tree": { "lastCommit": { "sha": "abc" } } }
        }))
        .unwrap();
        let repo = node.into_remote("acme").unwrap();
        assert_eq!(
            (
                repo.name.as_str(),
                repo.forge_id.as_str(),
                repo.default_branch.as_str()
            ),
            ("backend/api", "42", "trunk")
        );
        assert_eq!((repo.head.as_deref(), repo.empty), (Some("abc"), false));
        let empty: ProjectNode = serde_json::from_value(json!({
            "id": "gid://gitlab/Project/7", "fullPath": "acme/e", "webUrl": "u", "archived": true,
            "repository": { "rootRef": null, "empty": true, "tree": null }
        }))
        .unwrap();
        let repo = empty.into_remote("acme").unwrap();
        assert!(repo.empty && repo.archived && repo.head.is_none());
        assert_eq!(numeric_id("gid://gitlab/Project/x"), None);
    }

    #[test]
    fn the_snapshot_query_reads_trees_at_the_head_and_drovers_branch() {
        let repo = RemoteRepo {
            name: "backend/api".into(),
            full_name: "acme/backend/api".into(),
            default_branch: "main".into(),
            head: Some("abc".into()),
            archived: false,
            fork: false,
            empty: false,
            forge_id: "42".into(),
            web_url: String::new(),
            private: false,
            description: None,
        };
        let wanted = Wanted {
            paths: paths(&["deploy/k8s/a.yaml"]),
            dirs: vec![],
        };
        let q = snapshot_query(&[repo], &wanted, "drover/sync");
        assert!(
            q.contains(r#"p0: project(fullPath: "acme/backend/api")"#),
            "{q}"
        );
        assert!(q.contains(r#"t0: tree(ref: "abc") {"#), "{q}");
        assert!(
            q.contains(r#"t2: tree(ref: "abc", path: "deploy/k8s")"#),
            "{q}"
        );
        assert!(
            q.contains(r#"branch: tree(ref: "drover/sync") { lastCommit { sha } }"#),
            "{q}"
        );
    }

    #[test]
    fn decoding_sees_files_symlinks_directories_and_submodules() {
        let ps = paths(&[
            "Cargo.toml",
            "link/x.yaml",
            "sym",
            "docs",
            "vendor/lib",
            "gone/a",
        ]);
        let answer = json!({ "repository": {
            "t0": {
                "blobs": { "pageInfo": { "hasNextPage": false }, "nodes": [
                    { "name": "Cargo.toml", "type": "blob", "mode": "100644" },
                    { "name": "link", "type": "blob", "mode": "120000" },
                    { "name": "sym", "type": "blob", "mode": "120000", "sha": "5a" } ] },
                "trees": { "pageInfo": { "hasNextPage": true }, "nodes": [ { "name": "docs" }, { "name": "vendor" } ] },
                "submodules": { "pageInfo": { "hasNextPage": false }, "nodes": [] }
            },
            "t1": null,
            "t2": null,
            "t3": { "blobs": { "nodes": [] }, "trees": { "nodes": [] },
                    "submodules": { "nodes": [ { "name": "lib" } ] } },
            "branch": { "lastCommit": { "sha": "tip" } }
        }});
        let wanted = Wanted {
            paths: ps.clone(),
            dirs: vec!["".into()],
        };
        let d = decode_project(&answer, &wanted).unwrap().unwrap();
        assert!(listings(&d.trees, &wanted)[""]
            .iter()
            .any(|l| l.kind == EntryKind::Dir));
        assert_eq!(d.truncated, [""]);
        assert_eq!(d.branch_tip.as_deref(), Some("tip"));
        let got: Vec<_> = ps.iter().map(|p| classify(&d.trees, p)).collect();
        assert_eq!(
            got,
            [
                Err(Unread {
                    symlink: false,
                    oid: None
                }),
                Ok(Actual::ThroughSymlink {
                    link: RepoPath::new("link").unwrap()
                }),
                Err(Unread {
                    symlink: true,
                    oid: Some("5a".into())
                }),
                Ok(Actual::NotAFile),
                Ok(Actual::NotAFile),
                Ok(Actual::Missing),
            ]
        );
        assert!(decode_project(&json!({ "repository": null }), &wanted)
            .unwrap()
            .is_none());
    }
}
