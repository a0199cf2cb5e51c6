//! git.sr.ht GraphQL: the discovery document, the batched snapshot query
//! and the decoding of their answers into `model` types.
//!
//! A snapshot reads, per repository and at the discovered head, one
//! `path(revspec, path)` per ancestor directory of the wanted paths (its
//! `mode` tells a directory from a symlink or a file) and one per wanted
//! path (mode and blob). Reading entries by path instead of listing trees
//! means no tree ever needs paging. Modes are go-git's, in decimal.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use crate::model::{Actual, EntryKind, Listed, RemoteRepo, RepoPath, Snapshot, Wanted};

/// One page (25) of a user's repositories, with their heads.
pub const DISCOVER: &str = r#"query DroverDiscover($owner: String!, $cursor: Cursor) {
  user(username: $owner) {
    repositories(cursor: $cursor) {
      cursor
      results { id name visibility description HEAD { name target } }
    }
  }
}"#;

pub const MODE_TREE: u32 = 0o040000;
pub const MODE_SYMLINK: u32 = 0o120000;
pub const MODE_SUBMODULE: u32 = 0o160000;

#[derive(Debug, Deserialize)]
pub struct DiscoverData {
    pub user: Option<DiscoverUser>,
}

#[derive(Debug, Deserialize)]
pub struct DiscoverUser {
    pub repositories: Page<RepoNode>,
}

#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub cursor: Option<String>,
    pub results: Vec<T>,
}

#[derive(Debug, Deserialize)]
pub struct RepoNode {
    pub id: Value,
    pub name: String,
    pub visibility: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "HEAD")]
    pub head: Option<HeadRef>,
}

#[derive(Debug, Deserialize)]
pub struct HeadRef {
    pub name: String,
    pub target: Option<String>,
}

impl RepoNode {
    /// The repository as drover sees it. sourcehut has neither archived
    /// repositories nor forks (a clone pushed elsewhere is just another
    /// repository), so both are always `false`.
    pub fn into_remote(self, owner: &str, web_root: &str) -> RemoteRepo {
        let head = self.head.as_ref().and_then(|h| h.target.clone());
        let default_branch = self
            .head
            .as_ref()
            .map(|h| h.name.trim_start_matches("refs/heads/").to_owned())
            .unwrap_or_else(|| "main".into());
        let full_name =
            crate::forge::Profile::full_name(&super::profile::Sourcehut, owner, &self.name);
        RemoteRepo {
            empty: head.is_none(),
            head,
            default_branch,
            archived: false,
            fork: false,
            forge_id: match &self.id {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            web_url: format!("{}/{full_name}", web_root.trim_end_matches('/')),
            private: self.visibility != "PUBLIC",
            description: self.description.filter(|d| !d.is_empty()),
            full_name,
            name: self.name,
        }
    }
}

/// A GraphQL string literal (JSON's escaping is GraphQL's).
pub fn lit(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// Every proper ancestor directory of the wanted paths, sorted.
pub fn directories(paths: &[RepoPath]) -> Vec<RepoPath> {
    let dirs: BTreeSet<RepoPath> = paths.iter().flat_map(|p| p.ancestors()).collect();
    dirs.into_iter().collect()
}

/// The snapshot query for a batch of `owner`'s repositories, each read at
/// its discovered head (`r{i}`: `head`, `t{j}` per directory, `p{j}` per
/// wanted path).
pub fn snapshot_query(owner: &str, repos: &[RemoteRepo], wanted: &Wanted) -> String {
    let paths = &wanted.paths;
    let dirs = directories(paths);
    let mut q = format!(
        "query DroverSnapshot {{\n  u: user(username: {}) {{\n",
        lit(owner)
    );
    for (i, repo) in repos.iter().enumerate() {
        let rev = lit(repo.head.as_deref().unwrap_or("HEAD"));
        q.push_str(&format!(
            "    r{i}: repository(name: {}) {{\n      head: revparse_single(revspec: {rev}) {{ id tree {{ id }} }}\n      recent: log(from: {rev}) {{ results {{ message }} }}\n",
            lit(&repo.name)
        ));
        for (j, dir) in dirs.iter().enumerate() {
            q.push_str(&format!(
                "      t{j}: path(revspec: {rev}, path: {}) {{ mode }}\n",
                lit(dir.as_str())
            ));
        }
        for (j, path) in paths.iter().enumerate() {
            q.push_str(&format!(
                "      p{j}: path(revspec: {rev}, path: {}) {{ mode object {{ ... on TextBlob {{ id text size content }} ... on BinaryBlob {{ id size content }} }} }}\n",
                lit(path.as_str())
            ));
        }
        for (j, dir) in wanted.dirs.iter().enumerate() {
            if dir.is_empty() {
                q.push_str(&format!(
                    "      l{j}: revparse_single(revspec: {rev}) {{ tree {{ {LIST} }} }}\n"
                ));
            } else {
                q.push_str(&format!(
                    "      l{j}: path(revspec: {rev}, path: {}) {{ mode object {{ ... on Tree {{ {LIST} }} }} }}\n",
                    lit(dir)
                ));
            }
        }
        q.push_str("    }\n");
    }
    q.push_str("  }\n}");
    q
}

/// A tree's entries (the first page).
const LIST: &str = "entries { cursor results { name mode } }";

/// The first page of each wanted directory's entries (`l{j}`). A
/// directory reached through a symlink is not listed: its `path` answer
/// is the link, not a tree.
fn decode_listings(value: &Value, wanted: &Wanted) -> BTreeMap<String, Vec<Listed>> {
    let mut out = BTreeMap::new();
    for (j, dir) in wanted.dirs.iter().enumerate() {
        let part = &value[format!("l{j}")];
        let tree = if dir.is_empty() {
            &part["tree"]
        } else if part["mode"].as_u64() == Some(u64::from(MODE_TREE)) {
            &part["object"]
        } else {
            continue;
        };
        let Some(results) = tree["entries"]["results"].as_array() else {
            continue;
        };
        let mut listed: Vec<Listed> = results
            .iter()
            .filter_map(|e| {
                let name = e["name"].as_str()?.to_owned();
                let kind = match e["mode"].as_u64()? as u32 {
                    MODE_TREE => EntryKind::Dir,
                    MODE_SYMLINK => EntryKind::Symlink,
                    MODE_SUBMODULE => EntryKind::Other,
                    _ => EntryKind::File,
                };
                Some(Listed { name, kind })
            })
            .collect();
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        out.insert(dir.clone(), listed);
    }
    out
}

/// The `Drover-Fingerprint:` trailers in the messages of the default
/// branch's newest commits (the first page of its log): the patches that
/// were applied there.
pub fn applied_fingerprints(part: &Value) -> Vec<String> {
    part["recent"]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["message"].as_str())
        .flat_map(|m| m.lines())
        .filter_map(|l| l.trim_end().strip_prefix("Drover-Fingerprint: "))
        .map(|f| f.trim().to_owned())
        .collect()
}

#[derive(Debug, Deserialize)]
struct Entry {
    mode: u32,
    #[serde(default)]
    object: Option<BlobObject>,
}

#[derive(Debug, Default, Deserialize)]
struct BlobObject {
    id: Option<String>,
    text: Option<String>,
    size: Option<u64>,
    content: Option<String>,
}

/// A blob GraphQL did not give whole (binary, or text past 128 KiB, or
/// text that is not the blob it claims to be): the URL of its bytes, to
/// be fetched with the same token and verified against its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedsBlob {
    pub path: RepoPath,
    pub url: String,
    pub oid: String,
}

fn entry(value: &Value, key: &str) -> Result<Option<Entry>, String> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| format!("{key}: {e}")),
    }
}

/// Decodes one repository's part (`r{i}`) of a snapshot answer.
pub fn decode_repo(
    value: &Value,
    head: Option<String>,
    wanted: &Wanted,
) -> Result<(Snapshot, Vec<NeedsBlob>), String> {
    let paths = &wanted.paths;
    let dirs = directories(paths);
    let mut dir_modes = std::collections::BTreeMap::new();
    for (j, dir) in dirs.iter().enumerate() {
        dir_modes.insert(dir.clone(), entry(value, &format!("t{j}"))?.map(|e| e.mode));
    }
    let mut snapshot = Snapshot {
        head,
        head_tree: value["head"]["tree"]["id"].as_str().map(str::to_owned),
        listings: decode_listings(value, wanted),
        ..Snapshot::default()
    };
    let mut needs = Vec::new();
    for (j, path) in paths.iter().enumerate() {
        let mut blocked = None;
        for ancestor in path.ancestors() {
            match dir_modes.get(&ancestor).copied().flatten() {
                Some(MODE_TREE) => {}
                Some(MODE_SYMLINK) => {
                    blocked = Some(Actual::ThroughSymlink { link: ancestor });
                    break;
                }
                Some(_) => {
                    blocked = Some(Actual::NotAFile);
                    break;
                }
                None => {
                    blocked = Some(Actual::Missing);
                    break;
                }
            }
        }
        let actual = match blocked {
            Some(a) => a,
            None => match entry(value, &format!("p{j}"))? {
                None => Actual::Missing,
                Some(e) if e.mode == MODE_TREE || e.mode == MODE_SUBMODULE => Actual::NotAFile,
                Some(e) => {
                    let blob = e.object.unwrap_or_default();
                    let oid = blob
                        .id
                        .clone()
                        .ok_or_else(|| format!("{path}: blob without id"))?;
                    // Text cut at 128 KiB, or altered on the way, is read
                    // again from its URL and verified there.
                    let whole = match (&blob.text, blob.size) {
                        (Some(text), Some(size)) => {
                            text.len() as u64 == size
                                && crate::forge::hashes_to(text.as_bytes(), &oid)
                        }
                        _ => false,
                    };
                    match (e.mode, whole) {
                        (MODE_SYMLINK, true) => Actual::Symlink {
                            target: blob.text.unwrap_or_default(),
                        },
                        (_, true) => Actual::File {
                            content: blob.text.unwrap_or_default().into_bytes(),
                        },
                        (_, false) => {
                            let url = blob
                                .content
                                .ok_or_else(|| format!("{path}: blob without content URL"))?;
                            needs.push(NeedsBlob {
                                path: path.clone(),
                                url,
                                oid,
                            });
                            // Replaced once the bytes are read.
                            Actual::Missing
                        }
                    }
                }
            },
        };
        snapshot.files.insert(path.clone(), actual);
    }
    Ok((snapshot, needs))
}

/// Whether a GraphQL error at `path` (its `path` array) only concerns what
/// a snapshot does not need: a submodule's or tree's `object` at a wanted
/// path, which the entry's mode already tells.
pub fn is_harmless(path: &[Value]) -> bool {
    matches!(path, [.., Value::String(p), Value::String(o)] if p.starts_with('p') && o == "object")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(ps: &[&str]) -> Vec<RepoPath> {
        ps.iter().map(|p| RepoPath::new(p).unwrap()).collect()
    }

    fn repo(name: &str, head: &str) -> RemoteRepo {
        RemoteRepo {
            name: name.into(),
            full_name: format!("~acme/{name}"),
            default_branch: "main".into(),
            head: Some(head.into()),
            archived: false,
            fork: false,
            empty: false,
            forge_id: "1".into(),
            web_url: String::new(),
            private: false,
            description: None,
        }
    }

    #[test]
    fn the_query_reads_every_ancestor_and_path_at_the_head() {
        let q = snapshot_query(
            "acme",
            &[repo("api", "abc")],
            &Wanted {
                paths: paths(&["deploy/k8s/a.yaml", "Cargo.toml"]),
                dirs: vec!["".into(), "src".into()],
            },
        );
        assert!(
            q.contains(r#"l0: revparse_single(revspec: "abc") { tree { entries"#),
            "{q}"
        );
        assert!(
            q.contains(
                r#"l1: path(revspec: "abc", path: "src") { mode object { ... on Tree { entries"#
            ),
            "{q}"
        );
        assert!(q.contains(r#"u: user(username: "acme")"#), "{q}");
        assert!(q.contains(r#"r0: repository(name: "api")"#), "{q}");
        assert!(
            q.contains(r#"head: revparse_single(revspec: "abc") { id tree { id } }"#),
            "{q}"
        );
        assert!(
            q.contains(r#"t1: path(revspec: "abc", path: "deploy/k8s") { mode }"#),
            "{q}"
        );
        assert!(
            q.contains(r#"p1: path(revspec: "abc", path: "Cargo.toml")"#),
            "{q}"
        );
    }

    #[test]
    fn decoding_sees_files_symlinks_directories_and_large_blobs() {
        let ps = paths(&[
            "Cargo.toml",
            "link/x.yaml",
            "big.bin",
            "sym",
            "dir",
            "gone",
            "cut.txt",
        ]);
        let answer = json!({
            "head": { "id": "abc", "tree": { "id": "root" } },
            "t0": { "mode": 40960 },
            "p0": { "mode": 33188, "object": { "id": "835889ac34a449a2a456d08acffa74d8160aa5d9", "text": "[package]\n", "size": 10, "content": "u0" } },
            "p1": null,
            "p2": { "mode": 33188, "object": { "id": "b2", "size": 900000, "content": "http://x/blob" } },
            "p3": { "mode": 40960, "object": { "id": "d09b80733baa4f6b198f2cf2d62bbfc5b6cbf1f0", "text": "../outside", "size": 10, "content": "u3" } },
            "p4": { "mode": 16384, "object": {} },
            "p5": null,
            // Not the text of its blob: read again from its URL.
            "p6": { "mode": 33188, "object": { "id": "835889ac34a449a2a456d08acffa74d8160aa5d9", "text": "[packag\n", "size": 10, "content": "u6" } },
            "l0": { "tree": { "entries": { "cursor": null, "results": [
                { "name": "src", "mode": 16384 }, { "name": "Cargo.toml", "mode": 33188 }
            ] } } },
            "l1": { "mode": 40960, "object": {} }
        });
        let wanted = Wanted {
            paths: ps.clone(),
            dirs: vec!["".into(), "link".into()],
        };
        let (snap, needs) = decode_repo(&answer, Some("abc".into()), &wanted).unwrap();
        assert_eq!(
            snap.listings,
            BTreeMap::from([(
                String::new(),
                vec![
                    Listed {
                        name: "Cargo.toml".into(),
                        kind: EntryKind::File
                    },
                    Listed {
                        name: "src".into(),
                        kind: EntryKind::Dir
                    }
                ]
            )])
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
        assert_eq!(snap.files[&ps[4]], Actual::NotAFile);
        assert_eq!(snap.files[&ps[5]], Actual::Missing);
        assert_eq!(
            needs,
            [
                NeedsBlob {
                    path: ps[2].clone(),
                    url: "http://x/blob".into(),
                    oid: "b2".into()
                },
                NeedsBlob {
                    path: ps[6].clone(),
                    url: "u6".into(),
                    oid: "835889ac34a449a2a456d08acffa74d8160aa5d9".into()
                }
            ]
        );
    }

    #[test]
    fn discovery_nodes_become_remote_repos() {
        let node: RepoNode = serde_json::from_value(json!({
            "id": 7, "name": "api", "visibility": "PUBLIC",
            "HEAD": { "name": "refs/heads/trunk", "target": "abc" }
        }))
        .unwrap();
        let r = node.into_remote("acme", "https://git.sr.ht/");
        assert_eq!(
            (
                r.full_name.as_str(),
                r.default_branch.as_str(),
                r.forge_id.as_str()
            ),
            ("~acme/api", "trunk", "7")
        );
        assert_eq!(r.web_url, "https://git.sr.ht/~acme/api");
        assert!(!r.empty && !r.archived && !r.fork);
        let empty: RepoNode = serde_json::from_value(
            json!({ "id": 8, "name": "new", "visibility": "PRIVATE", "HEAD": null }),
        )
        .unwrap();
        assert!(empty.into_remote("acme", "https://git.sr.ht").empty);
    }

    #[test]
    fn only_object_errors_at_wanted_paths_are_harmless() {
        assert!(is_harmless(&[
            json!("u"),
            json!("r0"),
            json!("p3"),
            json!("object")
        ]));
        assert!(!is_harmless(&[json!("u"), json!("r0"), json!("head")]));
        assert!(!is_harmless(&[json!("u"), json!("r0")]));
    }
}
