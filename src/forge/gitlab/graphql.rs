//! GitLab GraphQL: the discovery and lookup documents, the batched
//! snapshot query and their decoding. Every field used here is in the
//! shared 13.8-era schema (`forge-specs/gitlab/gitlab_schema.graphql`),
//! which the emulator checks each document against. That schema has no
//! blob contents and no commit parents or author e-mail, so the snapshot
//! query reads trees (names, modes, blob ids), whether drover's branch
//! exists and the merge requests from it; file contents and the branch
//! tip's details come from REST (see `mod.rs`). What each field costs
//! against GitLab's complexity limit is in [`super::complexity`].

use std::collections::{BTreeMap, BTreeSet};

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

/// The fields discovery and lookup read of a project.
const PROJECT_FIELDS: &str = "id fullPath path webUrl archived visibility description \
repository { rootRef empty tree { lastCommit { sha } } }";

/// Projects of the group by full path (`p{i}`), with the fields discovery
/// reads: the daemon's sweep of the projects webhooks named.
pub fn lookup_query(paths: &[&str]) -> String {
    let mut q = String::from("query DroverLookup {\n");
    for (i, path) in paths.iter().enumerate() {
        q.push_str(&format!(
            "  p{i}: project(fullPath: {}) {{ {PROJECT_FIELDS} }}\n",
            lit(path)
        ));
    }
    q.push('}');
    q
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

/// Entries of a directory as a `tree` answers them: the fewest fields that
/// say what each entry is, because GitLab counts every field against a
/// query's complexity (see [`super::complexity`]). No `pageInfo`: without
/// `first` a connection answers GitLab's page size, so a full page may
/// have more and is listed again by REST.
/// A blob's `sha` is its git object id: the field is documented as "last
/// commit SHA for the entry" but GitLab resolves it with `method: :id`
/// (app/graphql/types/tree/entry_type.rb), the entry's object id.
pub const ENTRIES: &str =
    "blobs { nodes { name mode sha } } trees { nodes { name } } submodules { nodes { name } }";

/// GitLab's page size (`default_max_page_size 100`).
pub const PAGE: usize = 100;

/// The directories a snapshot lists first: those holding a wanted path,
/// and the wanted listings. An ancestor is listed only when a directory
/// below it is missing (see [`settle`]): a directory that exists was
/// reached through trees only.
pub fn leaves(wanted: &Wanted) -> Vec<String> {
    let mut dirs: std::collections::BTreeSet<String> = wanted
        .paths
        .iter()
        .map(|p| parent(p.as_str()).to_owned())
        .collect();
    dirs.extend(wanted.dirs.iter().cloned());
    dirs.into_iter().collect()
}

/// The directory holding `path` (`""` for the root).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// One project's part of a snapshot query: the directories to list at
/// its head, and whether to read drover's branch tip and merge requests.
pub struct Part<'a> {
    pub repo: &'a RemoteRepo,
    pub dirs: Vec<String>,
    pub branch: bool,
    pub merge_requests: bool,
}

/// Merge requests from drover's branch read with a snapshot, newest first
/// (GitLab's default order, `created_desc`), as many as REST reads.
const MERGE_REQUESTS: usize = 20;

/// The snapshot query of a batch: for each project (`p{i}`), at its head,
/// the entries of each directory of its part (`t{j}`), drover's branch
/// tip if the branch exists (`branch`), and the merge requests from it
/// (`mrs`).
pub fn snapshot_query(parts: &[Part<'_>], branch: &str) -> String {
    let mut q = String::from("query DroverSnapshot {\n");
    for (i, part) in parts.iter().enumerate() {
        q.push_str(&part_text(i, part, branch));
    }
    q.push('}');
    q
}

/// The text of one project's part, aliased `p{i}`.
pub fn part_text(i: usize, part: &Part<'_>, branch: &str) -> String {
    let repo = part.repo;
    let head = repo.head.as_deref().unwrap_or("HEAD");
    let mut q = format!("  p{i}: project(fullPath: {}) {{", lit(&repo.full_name));
    if part.merge_requests {
        q.push_str(&format!(
            " mrs: mergeRequests(sourceBranches: [{}], first: {MERGE_REQUESTS}) {{ nodes {{ iid webUrl state diffHeadSha }} }}",
            lit(branch)
        ));
    }
    if part.dirs.is_empty() && !part.branch {
        q.push_str(" }\n");
        return q;
    }
    q.push_str(" repository {\n");
    for (j, dir) in part.dirs.iter().enumerate() {
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
    if part.branch {
        q.push_str(&format!(
            "    branch: tree(ref: {}) {{ lastCommit {{ sha }} }}\n",
            lit(branch)
        ));
    }
    q.push_str("  } }\n");
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
    /// Directories whose entries were inferred, not listed: only the
    /// subdirectories on the way to a directory that exists.
    pub inferred: BTreeSet<String>,
    /// Directories with more entries than one page: listed again by REST.
    pub truncated: Vec<String>,
    /// The tip of drover's branch, when the branch exists.
    pub branch_tip: Option<String>,
    /// The merge requests from drover's branch, when they were read.
    pub merge_requests: Option<Vec<MergeRequestNode>>,
}

/// A merge request as the snapshot query reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergeRequestNode {
    pub iid: String,
    pub web_url: Option<String>,
    pub state: String,
    pub diff_head_sha: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Named {
    name: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    sha: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Nodes<T> {
    nodes: Vec<T>,
}

/// Decodes `p{i}` of a snapshot answer whose part listed `dirs`; `None`
/// when the project is gone.
pub fn decode_project(value: &Value, dirs: &[String]) -> Result<Option<Decoded>, String> {
    if value.is_null() {
        return Ok(None);
    }
    // A part with neither directories nor the branch selects no
    // `repository`.
    let repo = match value.get("repository") {
        Some(Value::Null) => return Ok(None),
        Some(repo) => repo,
        None => &Value::Null,
    };
    let mut out = Decoded::default();
    for (j, dir) in dirs.iter().enumerate() {
        let tree = repo.get(format!("t{j}")).filter(|v| !v.is_null());
        let Some(tree) = tree else {
            out.trees.insert(dir.clone(), None);
            continue;
        };
        let mut entries = Vec::new();
        let mut full = false;
        for (field, kind, mode) in [
            ("blobs", "blob", "100644"),
            ("trees", "tree", "040000"),
            ("submodules", "commit", "160000"),
        ] {
            let page: Nodes<Named> = match tree.get(field).filter(|v| !v.is_null()) {
                Some(v) => serde_json::from_value(v.clone()).map_err(|e| e.to_string())?,
                None => continue,
            };
            full |= page.nodes.len() >= PAGE;
            entries.extend(page.nodes.into_iter().map(|n| Entry {
                name: n.name,
                kind: kind.into(),
                mode: n.mode.unwrap_or_else(|| mode.into()),
                oid: n.sha,
            }));
        }
        if full {
            out.truncated.push(dir.clone());
        }
        out.trees.insert(dir.clone(), Some(entries));
    }
    out.branch_tip = repo
        .get("branch")
        .and_then(|b| b.get("lastCommit"))
        .and_then(|c| c.get("sha"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    out.merge_requests = match value.get("mrs").filter(|v| !v.is_null()) {
        Some(v) => Some(
            serde_json::from_value::<Nodes<MergeRequestNode>>(v.clone())
                .map_err(|e| e.to_string())?
                .nodes,
        ),
        None => None,
    };
    Ok(Some(out))
}

/// Fills in what the first read of `wanted`'s [`leaves`] implies, and
/// says which directories must still be listed. Every directory on the
/// way to a leaf that exists is a tree (GitLab resolves a path through
/// trees only): recorded as inferred entries of its parent. For a leaf
/// that is missing, the first directory on its way that exists but is
/// not listed yet is, so that a symlink or a file in the way is told from
/// a plain absence; a way that ends at a missing entry needs nothing.
pub fn settle(decoded: &mut Decoded, wanted: &Wanted) -> Vec<String> {
    let listed = |d: &Decoded, dir: &str| d.trees.contains_key(dir) && !d.inferred.contains(dir);
    let mut need = BTreeSet::new();
    for leaf in leaves(wanted) {
        let Ok(path) = RepoPath::new(&leaf) else {
            continue; // the root
        };
        let chain: Vec<RepoPath> = path
            .ancestors()
            .chain(std::iter::once(path.clone()))
            .collect();
        match decoded.trees.get(&leaf) {
            Some(Some(_)) => {
                for dir in chain {
                    let up = parent(dir.as_str()).to_owned();
                    if listed(decoded, &up) {
                        continue;
                    }
                    let name = dir
                        .as_str()
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let entries = decoded
                        .trees
                        .entry(up.clone())
                        .or_insert_with(|| Some(Vec::new()));
                    if let Some(entries) = entries {
                        if !entries.iter().any(|e| e.name == name) {
                            entries.push(Entry {
                                name,
                                kind: "tree".into(),
                                mode: "040000".into(),
                                oid: None,
                            });
                        }
                    }
                    decoded.inferred.insert(up);
                }
            }
            _ => {
                // Down the way while the listings say "a tree": the first
                // directory not listed yet is all that is still needed.
                for dir in chain {
                    let up = parent(dir.as_str());
                    let name = dir.as_str().rsplit('/').next().unwrap_or_default();
                    let entry = match decoded.trees.get(up) {
                        Some(Some(entries)) => entries.iter().find(|e| e.name == name),
                        Some(None) => break,
                        None => None,
                    };
                    match entry {
                        Some(e) if e.kind == "tree" && e.mode != SYMLINK => continue,
                        Some(_) => break,
                        None if listed(decoded, up) => break,
                        None => {
                            need.insert(up.to_owned());
                            break;
                        }
                    }
                }
            }
        }
    }
    need.into_iter().collect()
}

/// Adds a follow-up read of `dirs` to a project's first one.
pub fn merge_listed(decoded: &mut Decoded, more: Decoded) {
    for (dir, entries) in more.trees {
        decoded.inferred.remove(&dir);
        decoded.trees.insert(dir, entries);
    }
    decoded.truncated.extend(more.truncated);
    if more.merge_requests.is_some() {
        decoded.merge_requests = more.merge_requests;
    }
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

    fn repo() -> RemoteRepo {
        RemoteRepo {
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
        }
    }

    #[test]
    fn the_snapshot_query_reads_the_leaves_at_the_head_and_drovers_branch() {
        let wanted = Wanted {
            paths: paths(&["deploy/k8s/a.yaml", "Dockerfile"]),
            dirs: vec!["src".into()],
        };
        assert_eq!(leaves(&wanted), ["", "deploy/k8s", "src"]);
        let repo = repo();
        let part = Part {
            repo: &repo,
            dirs: leaves(&wanted),
            branch: true,
            merge_requests: true,
        };
        let q = snapshot_query(&[part], "drover/sync");
        assert!(
            q.contains(r#"p0: project(fullPath: "acme/backend/api")"#),
            "{q}"
        );
        assert!(q.contains(r#"t0: tree(ref: "abc") {"#), "{q}");
        assert!(
            q.contains(r#"t1: tree(ref: "abc", path: "deploy/k8s")"#),
            "{q}"
        );
        assert!(!q.contains(r#"path: "deploy")"#), "{q}");
        assert!(
            q.contains(r#"branch: tree(ref: "drover/sync") { lastCommit { sha } }"#),
            "{q}"
        );
        assert!(
            q.contains(r#"mrs: mergeRequests(sourceBranches: ["drover/sync"], first: 20)"#),
            "{q}"
        );
    }

    fn blob(name: &str, mode: &str) -> Value {
        json!({ "name": name, "mode": mode, "sha": format!("{name}-id") })
    }

    #[test]
    fn a_present_leaf_implies_its_ancestors_and_a_missing_one_lists_them() {
        let wanted = Wanted {
            paths: paths(&["a/b/c/x.yaml", "a/d/y.yaml", "Dockerfile"]),
            dirs: vec![],
        };
        let dirs = leaves(&wanted);
        assert_eq!(dirs, ["", "a/b/c", "a/d"]);
        let answer = json!({ "repository": {
            "t0": { "blobs": { "nodes": [blob("Dockerfile", "100644")] }, "trees": { "nodes": [{ "name": "a" }] }, "submodules": { "nodes": [] } },
            "t1": { "blobs": { "nodes": [blob("x.yaml", "100644")] }, "trees": { "nodes": [] }, "submodules": { "nodes": [] } },
            "t2": null
        }});
        let mut d = decode_project(&answer, &dirs).unwrap().unwrap();
        // a/b/c exists, so a/b and a/b/c are trees; a/d is missing: `a`
        // is listed to tell why (the root was listed already).
        assert_eq!(settle(&mut d, &wanted), ["a"]);
        assert_eq!(
            classify(&d.trees, &RepoPath::new("a/b/c/x.yaml").unwrap()),
            Ok(Actual::Blob {
                oid: "x.yaml-id".into()
            })
        );
        // `a/d` is a symlink in `a`'s listing.
        let more = json!({ "repository": {
            "t0": { "blobs": { "nodes": [blob("d", "120000")] }, "trees": { "nodes": [{ "name": "b" }] }, "submodules": { "nodes": [] } }
        }});
        merge_listed(
            &mut d,
            decode_project(&more, &["a".to_owned()]).unwrap().unwrap(),
        );
        assert_eq!(
            classify(&d.trees, &RepoPath::new("a/d/y.yaml").unwrap()),
            Ok(Actual::ThroughSymlink {
                link: RepoPath::new("a/d").unwrap()
            })
        );
        assert_eq!(
            classify(&d.trees, &RepoPath::new("a/b/c/x.yaml").unwrap()),
            Ok(Actual::Blob {
                oid: "x.yaml-id".into()
            })
        );
        assert_eq!(
            classify(&d.trees, &RepoPath::new("Dockerfile").unwrap()),
            Ok(Actual::Blob {
                oid: "Dockerfile-id".into()
            })
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
        let many: Vec<Value> = (0..PAGE)
            .map(|i| json!({ "name": format!("d{i}") }))
            .collect();
        let mut trees = many.clone();
        trees.push(json!({ "name": "docs" }));
        trees.push(json!({ "name": "vendor" }));
        let answer = json!({ "repository": {
            "t0": {
                "blobs": { "nodes": [
                    { "name": "Cargo.toml", "mode": "100644" },
                    { "name": "link", "mode": "120000" },
                    { "name": "sym", "mode": "120000", "sha": "5a" } ] },
                "trees": { "nodes": trees },
                "submodules": { "nodes": [] }
            },
            "t1": null,
            "t2": null,
            "t3": { "blobs": { "nodes": [] }, "trees": { "nodes": [] },
                    "submodules": { "nodes": [ { "name": "lib" } ] } }
        }, "mrs": { "nodes": [ { "iid": "3", "webUrl": "u", "state": "opened", "diffHeadSha": "tip" } ] } });
        let wanted = Wanted {
            paths: ps.clone(),
            dirs: vec!["".into()],
        };
        let dirs = vec!["".to_owned(), "gone".into(), "link".into(), "vendor".into()];
        let d = decode_project(&answer, &dirs).unwrap().unwrap();
        assert!(listings(&d.trees, &wanted)[""]
            .iter()
            .any(|l| l.kind == EntryKind::Dir));
        // A full page may have more: listed again by REST.
        assert_eq!(d.truncated, [""]);
        assert_eq!(d.branch_tip, None);
        assert_eq!(d.merge_requests.as_ref().map(Vec::len), Some(1));
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
        assert!(decode_project(&json!({ "repository": null }), &dirs)
            .unwrap()
            .is_none());
    }
}
