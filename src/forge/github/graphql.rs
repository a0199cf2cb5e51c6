//! GitHub GraphQL: the discovery document, the batched snapshot query
//! builder, and their response types. Every document built here validates
//! against GitHub's official schema (tested against the emulator, which
//! checks each one).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::{
    Actual, BranchTip, EntryKind, ExistingProposal, Listed, ProposalFate, RemoteRepo, RepoPath,
    Snapshot, Wanted,
};

/// The `rateLimit` a query asks for, as a budget observation.
pub fn rate_limit(data: &serde_json::Value) -> Option<crate::forge::budget::Observed> {
    let r = data.get("rateLimit")?;
    let reset = r.get("resetAt")?.as_str()?;
    let reset = chrono::DateTime::parse_from_rfc3339(reset)
        .ok()?
        .timestamp();
    Some(crate::forge::budget::Observed {
        limit: None,
        remaining: r.get("remaining")?.as_u64()?,
        reset: u64::try_from(reset).ok(),
        cost: r.get("cost").and_then(serde_json::Value::as_u64),
    })
}

/// One page of the owner's repositories, with their heads.
pub const DISCOVER: &str = r#"query DroverDiscover($owner: String!, $after: String) {
  rateLimit { remaining resetAt cost }
  repositoryOwner(login: $owner) {
    repositories(first: 100, after: $after, ownerAffiliations: [OWNER], orderBy: {field: NAME, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        name
        nameWithOwner
        url
        isArchived
        isFork
        isEmpty
        isPrivate
        description
        defaultBranchRef { name target { oid } }
      }
    }
  }
}"#;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverData {
    pub repository_owner: Option<Owner>,
}

#[derive(Debug, Deserialize)]
pub struct Owner {
    pub repositories: Connection<RepoNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<T> {
    pub page_info: PageInfo,
    pub nodes: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoNode {
    pub name: String,
    pub name_with_owner: String,
    pub url: String,
    pub is_archived: bool,
    pub is_fork: bool,
    pub is_empty: bool,
    /// Absent (it never is on GitHub) counts as private: a private
    /// repository is never carried as a public one.
    #[serde(default = "private_unless_said")]
    pub is_private: bool,
    #[serde(default)]
    pub description: Option<String>,
    pub default_branch_ref: Option<BranchRef>,
}

fn private_unless_said() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct BranchRef {
    pub name: String,
    pub target: Option<Target>,
}

#[derive(Debug, Deserialize)]
pub struct Target {
    pub oid: String,
}

impl From<RepoNode> for RemoteRepo {
    fn from(n: RepoNode) -> RemoteRepo {
        let head = n
            .default_branch_ref
            .as_ref()
            .and_then(|b| b.target.as_ref())
            .map(|t| t.oid.clone());
        RemoteRepo {
            default_branch: n
                .default_branch_ref
                .map(|b| b.name)
                .unwrap_or_else(|| "main".into()),
            empty: n.is_empty || head.is_none(),
            head,
            archived: n.is_archived,
            fork: n.is_fork,
            forge_id: n.name_with_owner.clone(),
            web_url: n.url,
            private: n.is_private,
            description: n.description.filter(|d| !d.is_empty()),
            full_name: n.name_with_owner,
            name: n.name,
        }
    }
}

/// The fields discovery reads of a repository, for a look-up by name.
const REPO_FIELDS: &str = "name nameWithOwner url isArchived isFork isEmpty isPrivate description defaultBranchRef { name target { oid } }";

/// One query looking up these repositories of `owner` by name (`r{i}`),
/// as discovery describes them: what a webhook's sweep needs, in one
/// request instead of listing the owner's every repository.
pub fn lookup_query(owner: &str, names: &[&str]) -> String {
    let mut q = String::from("query DroverLookup {\n");
    for (i, name) in names.iter().enumerate() {
        q.push_str(&format!(
            "  r{i}: repository(owner: {}, name: {}) {{ {REPO_FIELDS} }}\n",
            lit(owner),
            lit(name)
        ));
    }
    q.push('}');
    q
}

/// A GraphQL string literal (JSON's escaping is GraphQL's).
fn lit(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// The snapshot query for a batch of repositories, each read at its head.
pub fn snapshot_query(repos: &[RemoteRepo], wanted: &Wanted, branch: &str) -> String {
    let dirs = wanted.directories();
    let paths = &wanted.paths;
    // What the query cost and what is left: the budget is paced by it.
    let mut q = String::from("query DroverSnapshot {\n  rateLimit { remaining resetAt cost }\n");
    for (i, repo) in repos.iter().enumerate() {
        let (owner, name) = repo
            .full_name
            .split_once('/')
            .unwrap_or(("", &repo.full_name));
        let head = repo.head.as_deref().unwrap_or("HEAD");
        q.push_str(&format!(
            "  r{i}: repository(owner: {}, name: {}) {{\n",
            lit(owner),
            lit(name)
        ));
        for (j, dir) in dirs.iter().enumerate() {
            q.push_str(&format!(
                "    t{j}: object(expression: {}) {{ ... on Tree {{ oid entries {{ name mode type }} }} }}\n",
                lit(&format!("{head}:{dir}"))
            ));
        }
        for (j, path) in paths.iter().enumerate() {
            q.push_str(&format!(
                "    p{j}: object(expression: {}) {{ ... on Blob {{ oid text isBinary isTruncated }} }}\n",
                lit(&format!("{head}:{path}"))
            ));
        }
        q.push_str(&format!(
            "    branch: ref(qualifiedName: {}) {{ target {{ oid ... on Commit {{ message author {{ email }} committer {{ email }} parents(first: 2) {{ nodes {{ oid }} }} }} }} }}\n",
            lit(&format!("refs/heads/{branch}"))
        ));
        q.push_str(&format!(
            "    proposals: pullRequests(headRefName: {}, first: 5, orderBy: {{field: CREATED_AT, direction: DESC}}) {{ nodes {{ number url state headRefOid }} }}\n",
            lit(branch)
        ));
        q.push_str("  }\n");
    }
    q.push('}');
    q
}

#[derive(Debug, Deserialize)]
pub struct TreeObject {
    pub oid: Option<String>,
    #[serde(default)]
    pub entries: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    pub name: String,
    pub mode: u32,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobObject {
    pub oid: Option<String>,
    pub text: Option<String>,
    #[serde(default)]
    pub is_binary: Option<bool>,
    #[serde(default)]
    pub is_truncated: bool,
}

#[derive(Debug, Deserialize)]
pub struct RefObject {
    pub target: Option<CommitObject>,
}

#[derive(Debug, Deserialize)]
pub struct CommitObject {
    pub oid: String,
    #[serde(default)]
    pub message: String,
    pub author: Option<Person>,
    pub committer: Option<Person>,
    pub parents: Option<Nodes<Target>>,
}

#[derive(Debug, Deserialize)]
pub struct Person {
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Nodes<T> {
    pub nodes: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullNode {
    pub number: u64,
    pub url: String,
    pub state: String,
    pub head_ref_oid: Option<String>,
}

const SYMLINK: u32 = 0o120000;

/// A blob whose text GraphQL did not give (binary or too large): its oid,
/// for a REST read.
pub struct NeedsBlob {
    pub path: RepoPath,
    pub oid: String,
}

/// Decodes one repository's part of a snapshot answer.
pub fn decode_repo(
    value: &serde_json::Value,
    head: Option<String>,
    wanted: &Wanted,
) -> Result<(Snapshot, Vec<NeedsBlob>), String> {
    let dirs = wanted.directories();
    let paths = &wanted.paths;
    let mut trees: BTreeMap<String, Option<TreeObject>> = BTreeMap::new();
    for (j, dir) in dirs.iter().enumerate() {
        let tree = match value.get(format!("t{j}")) {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| e.to_string())?),
        };
        trees.insert(dir.clone(), tree);
    }
    let entry = |path: &str| -> Option<&Entry> {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        trees
            .get(dir)?
            .as_ref()?
            .entries
            .iter()
            .find(|e| e.name == name)
    };
    let mut snapshot = Snapshot {
        head,
        head_tree: trees
            .get("")
            .and_then(|t| t.as_ref())
            .and_then(|t| t.oid.clone()),
        ..Snapshot::default()
    };
    for dir in &wanted.dirs {
        // A wanted directory is listed when every step to it is a tree.
        let reachable = RepoPath::new(dir).map_or(dir.is_empty(), |p| {
            p.ancestors()
                .chain(std::iter::once(p.clone()))
                .all(|a| entry(a.as_str()).is_some_and(|e| e.kind == "tree"))
        });
        if let Some(Some(tree)) = trees.get(dir).filter(|_| reachable) {
            let listed = tree
                .entries
                .iter()
                .map(|e| Listed {
                    name: e.name.clone(),
                    kind: match (e.kind.as_str(), e.mode) {
                        (_, SYMLINK) => EntryKind::Symlink,
                        ("tree", _) => EntryKind::Dir,
                        ("blob", _) => EntryKind::File,
                        _ => EntryKind::Other,
                    },
                })
                .collect();
            snapshot.listings.insert(dir.clone(), listed);
        }
    }
    let mut needs = Vec::new();
    for (j, path) in paths.iter().enumerate() {
        let mut actual = None;
        for ancestor in path.ancestors() {
            match entry(ancestor.as_str()) {
                Some(e) if e.mode == SYMLINK => {
                    actual = Some(Actual::ThroughSymlink { link: ancestor });
                    break;
                }
                Some(e) if e.kind != "tree" => {
                    actual = Some(Actual::NotAFile);
                    break;
                }
                Some(_) => {}
                None => {
                    actual = Some(Actual::Missing);
                    break;
                }
            }
        }
        let actual = match actual {
            Some(a) => a,
            None => match entry(path.as_str()) {
                None => Actual::Missing,
                Some(e) if e.kind != "blob" => Actual::NotAFile,
                Some(e) => {
                    let blob: Option<BlobObject> = match value.get(format!("p{j}")) {
                        None | Some(serde_json::Value::Null) => None,
                        Some(v) => {
                            Some(serde_json::from_value(v.clone()).map_err(|e| e.to_string())?)
                        }
                    };
                    let blob =
                        blob.ok_or_else(|| format!("{path}: listed in its tree but not readable"))?;
                    // Text that is not the blob it claims to be (altered
                    // on the way) is read again by id, and verified there.
                    let altered = match (&blob.text, &blob.oid) {
                        (Some(text), Some(oid)) => !crate::forge::hashes_to(text.as_bytes(), oid),
                        _ => false,
                    };
                    match (
                        &blob.text,
                        blob.is_binary == Some(true) || blob.is_truncated || altered,
                    ) {
                        (Some(text), false) if e.mode == SYMLINK => Actual::Symlink {
                            target: text.clone(),
                        },
                        (Some(text), false) => Actual::File {
                            content: text.clone().into_bytes(),
                        },
                        _ => {
                            let oid = blob
                                .oid
                                .ok_or_else(|| format!("{path}: blob without oid"))?;
                            needs.push(NeedsBlob {
                                path: path.clone(),
                                oid,
                            });
                            Actual::Missing
                        }
                    }
                }
            },
        };
        snapshot.files.insert(path.clone(), actual);
    }
    if let Some(branch) = value.get("branch").filter(|v| !v.is_null()) {
        let r: RefObject = serde_json::from_value(branch.clone()).map_err(|e| e.to_string())?;
        if let Some(c) = r.target {
            snapshot.branch = Some(BranchTip {
                commit: c.oid,
                parents: c
                    .parents
                    .map(|p| p.nodes.into_iter().map(|n| n.oid).collect())
                    .unwrap_or_default(),
                author_email: c.author.and_then(|a| a.email),
                committer_email: c.committer.and_then(|a| a.email),
                message: c.message,
            });
        }
    }
    if let Some(proposals) = value.get("proposals").filter(|v| !v.is_null()) {
        let n: Nodes<PullNode> =
            serde_json::from_value(proposals.clone()).map_err(|e| e.to_string())?;
        snapshot.proposals = n
            .nodes
            .into_iter()
            .map(|p| ExistingProposal {
                number: p.number,
                url: p.url,
                state: match p.state.as_str() {
                    "OPEN" => ProposalFate::Open,
                    "MERGED" => ProposalFate::Merged,
                    _ => ProposalFate::Closed,
                },
                head: p.head_ref_oid,
            })
            .collect();
    }
    Ok((snapshot, needs))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(ps: &[&str]) -> Vec<RepoPath> {
        ps.iter().map(|p| RepoPath::new(p).unwrap()).collect()
    }

    #[test]
    fn directories_are_the_root_and_every_ancestor() {
        let wanted = Wanted {
            paths: paths(&[
                "Cargo.toml",
                "deploy/k8s/hpa.yaml",
                ".github/workflows/ci.yml",
            ]),
            dirs: vec!["".into(), "src/bin".into()],
        };
        assert_eq!(
            wanted.directories(),
            [
                "",
                ".github",
                ".github/workflows",
                "deploy",
                "deploy/k8s",
                "src",
                "src/bin"
            ]
        );
    }

    #[test]
    fn the_snapshot_query_reads_each_repo_at_its_head() {
        let repo = RemoteRepo {
            name: "api".into(),
            full_name: "acme/api".into(),
            default_branch: "main".into(),
            head: Some("abc".into()),
            archived: false,
            fork: false,
            empty: false,
            forge_id: "acme/api".into(),
            web_url: String::new(),
            private: false,
            description: None,
        };
        let wanted = Wanted {
            paths: paths(&["a/b.txt"]),
            dirs: vec![],
        };
        let q = snapshot_query(&[repo], &wanted, "drover/sync");
        assert!(
            q.contains(r#"r0: repository(owner: "acme", name: "api")"#),
            "{q}"
        );
        assert!(q.contains(r#"t1: object(expression: "abc:a")"#), "{q}");
        assert!(
            q.contains(r#"p0: object(expression: "abc:a/b.txt")"#),
            "{q}"
        );
        assert!(
            q.contains(r#"ref(qualifiedName: "refs/heads/drover/sync")"#),
            "{q}"
        );
    }

    #[test]
    fn decoding_sees_files_symlinks_binaries_and_drovers_branch() {
        let ps = paths(&["Cargo.toml", "link/x.yaml", "bin.dat", "sym", "cut.txt"]);
        let answer = json!({
            "t0": { "oid": "root", "entries": [
                { "name": "Cargo.toml", "mode": 33188, "type": "blob" },
                { "name": "link", "mode": 40960, "type": "blob" },
                { "name": "bin.dat", "mode": 33188, "type": "blob" },
                { "name": "sym", "mode": 40960, "type": "blob" },
                { "name": "cut.txt", "mode": 33188, "type": "blob" }
            ]},
            "t1": null,
            "p0": { "oid": "835889ac34a449a2a456d08acffa74d8160aa5d9", "text": "[package]\n", "isBinary": false, "isTruncated": false },
            "p1": null,
            "p2": { "oid": "2", "text": null, "isBinary": true, "isTruncated": false },
            "p3": { "oid": "d09b80733baa4f6b198f2cf2d62bbfc5b6cbf1f0", "text": "../outside", "isBinary": false, "isTruncated": false },
            // Not the text of its blob: read again by id.
            "p4": { "oid": "835889ac34a449a2a456d08acffa74d8160aa5d9", "text": "[pack", "isBinary": false, "isTruncated": false },
            "branch": { "target": { "oid": "tip", "message": "x\n\nDrover-Fingerprint: ff\n",
                "author": { "email": "d@x" }, "committer": { "email": "d@x" },
                "parents": { "nodes": [ { "oid": "head" } ] } } },
            "proposals": { "nodes": [ { "number": 7, "url": "u", "state": "CLOSED", "headRefOid": "tip" } ] }
        });
        let wanted = Wanted {
            paths: ps.clone(),
            dirs: vec!["".into(), "link".into()],
        };
        let (snap, needs) = decode_repo(&answer, Some("head".into()), &wanted).unwrap();
        assert_eq!(snap.listings.len(), 1, "the root; `link` is a symlink");
        assert_eq!(
            snap.listings[""]
                .iter()
                .map(|l| (l.name.as_str(), l.kind))
                .collect::<Vec<_>>(),
            [
                ("Cargo.toml", EntryKind::File),
                ("link", EntryKind::Symlink),
                ("bin.dat", EntryKind::File),
                ("sym", EntryKind::Symlink),
                ("cut.txt", EntryKind::File)
            ]
        );
        assert_eq!(snap.head_tree.as_deref(), Some("root"));
        assert_eq!(
            snap.files[&ps[0]],
            Actual::File {
                content: b"[package]\n".to_vec()
            }
        );
        assert_eq!(
            snap.files[&ps[1]],
            Actual::ThroughSymlink {
                link: RepoPath::new("link").unwrap()
            }
        );
        assert_eq!(
            snap.files[&ps[3]],
            Actual::Symlink {
                target: "../outside".into()
            }
        );
        let needed: Vec<(&str, &str)> = needs
            .iter()
            .map(|n| (n.path.as_str(), n.oid.as_str()))
            .collect();
        assert_eq!(
            needed,
            [
                ("bin.dat", "2"),
                ("cut.txt", "835889ac34a449a2a456d08acffa74d8160aa5d9")
            ]
        );
        let tip = snap.branch.unwrap();
        assert_eq!(
            (tip.fingerprint(), tip.is_by("d@x"), tip.parents.as_slice()),
            (Some("ff"), true, &["head".to_owned()][..])
        );
        assert_eq!(snap.proposals[0].state, ProposalFate::Closed);
    }
}
