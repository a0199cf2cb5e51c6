//! GitHub GraphQL git objects: `Ref`, and the `GitObject`s `Blob`, `Tree`
//! (with `TreeEntry`), `Commit` and `Tag`, found by `object(expression:
//! "REV:path")` (git's own revision syntax, `HEAD` being the default
//! branch) or by oid.
//!
//! Values as GitHub gives them: `TreeEntry.mode` as a decimal int (33188
//! file, 33261 executable, 40960 symlink, 16384 tree, 57344 submodule),
//! `Blob.text` null for binary content (a NUL byte in the first 8000 bytes,
//! git's heuristic), and for text that is not UTF-8 (a Latin-1 file) the
//! bytes decoded as UTF-8 with U+FFFD for what is not, as GitHub gives it,
//! cut at 512 KiB with `isTruncated`, `GitActor.date`
//! with the commit's own UTC offset.

use std::path::Path;

use git2::{ObjectType, Oid, Repository as Git};
use serde_json::json;

use crate::graphql::{not_emulated, Args, FieldValue, Object};
use crate::server::Ctx;
use crate::world::{rfc3339, Repository};

use super::graphql_conn::{Conn, Leaf};
use super::graphql_repo::{pull_requests, PullRequest, Repo};
use super::http::{node_id, Base};

/// `Blob.text` is cut beyond this many bytes.
const TEXT_LIMIT: usize = 512 * 1024;

fn open(git_dir: &Path) -> Option<Git> {
    Git::open_bare(git_dir).ok()
}

/// A ref by full name, if it exists.
pub struct RefObj {
    repo: RepoRef,
    name: String,
    oid: String,
}

impl RefObj {
    pub fn load(repo: &Repository, name: &str) -> Option<RefObj> {
        let git = open(&repo.git_dir)?;
        let r = git.find_reference(name).ok()?;
        Some(RefObj {
            repo: RepoRef::of(repo),
            name: name.to_string(),
            oid: r.target()?.to_string(),
        })
    }

    fn split(&self) -> (&str, &str) {
        for prefix in ["refs/heads/", "refs/tags/"] {
            if let Some(rest) = self.name.strip_prefix(prefix) {
                return (prefix, rest);
            }
        }
        match self.name.rfind('/') {
            Some(i) => (&self.name[..=i], &self.name[i + 1..]),
            None => ("", &self.name),
        }
    }
}

impl Object for RefObj {
    fn type_name(&self) -> &str {
        "Ref"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let (prefix, short) = self.split();
        Ok(match name {
            "id" => FieldValue::scalar(node_id("Ref", format!("{}:{}", self.repo.id, self.name))),
            "name" => FieldValue::scalar(short),
            "prefix" => FieldValue::scalar(prefix),
            "repository" => FieldValue::object(Repo(self.repo.id)),
            "target" => FieldValue::opt_object(find(&self.repo, &self.oid)),
            "associatedPullRequests" => {
                let mut world = ctx.state.world.lock();
                super::pulls::sync(&mut world, self.repo.id);
                let head = (prefix == "refs/heads/").then_some(short);
                let ids = match head {
                    Some(h) => pull_requests(&world, self.repo.id, args, Some(h)),
                    None => Vec::new(),
                };
                FieldValue::object(Conn::page(
                    "associatedPullRequests",
                    "PullRequestConnection",
                    ids,
                    args,
                    |id| FieldValue::object(PullRequest(*id)),
                )?)
            }
            other => return Err(not_emulated("Ref", other)),
        })
    }
}

/// What git objects need of their repository.
#[derive(Clone)]
pub struct RepoRef {
    id: u64,
    git_dir: std::path::PathBuf,
    full_path: String,
}

impl RepoRef {
    pub fn of(r: &Repository) -> Self {
        RepoRef {
            id: r.id,
            git_dir: r.git_dir.clone(),
            full_path: r.full_path.clone(),
        }
    }
}

/// A git object of a repository; `path` is where it was reached (trees).
pub struct GitObj {
    repo: RepoRef,
    oid: String,
    kind: &'static str,
    path: Option<String>,
}

fn kind_name(k: Option<ObjectType>) -> Option<&'static str> {
    match k? {
        ObjectType::Blob => Some("Blob"),
        ObjectType::Tree => Some("Tree"),
        ObjectType::Commit => Some("Commit"),
        ObjectType::Tag => Some("Tag"),
        _ => None,
    }
}

/// `Repository.object(expression:)`: `REV`, `REV:path`, `REV:` (root tree).
pub fn by_expression(repo: &Repository, expr: &str) -> Option<GitObj> {
    let git = open(&repo.git_dir)?;
    let obj = git.revparse_single(expr).ok()?;
    let kind = kind_name(obj.kind())?;
    let path = expr
        .split_once(':')
        .map(|(_, p)| p.trim_matches('/').to_string());
    Some(GitObj {
        repo: RepoRef::of(repo),
        oid: obj.id().to_string(),
        kind,
        path,
    })
}

/// `Repository.object(oid:)` and ref targets.
pub fn by_oid(repo: &Repository, oid: &str) -> Option<GitObj> {
    find(&RepoRef::of(repo), oid)
}

fn find(repo: &RepoRef, oid: &str) -> Option<GitObj> {
    let git = open(&repo.git_dir)?;
    let obj = git.find_object(Oid::from_str(oid).ok()?, None).ok()?;
    Some(GitObj {
        repo: repo.clone(),
        oid: obj.id().to_string(),
        kind: kind_name(obj.kind())?,
        path: None,
    })
}

/// Whether content counts as binary (git's heuristic: a NUL byte early
/// on). Text in another encoding is not binary: its `text` is lossy.
fn is_binary(content: &[u8]) -> bool {
    content[..content.len().min(8000)].contains(&0)
}

/// `2024-01-01T12:00:00+02:00` for a signature's time.
fn git_timestamp(t: git2::Time) -> String {
    let offset = t.offset_minutes();
    let local = rfc3339(t.seconds() + i64::from(offset) * 60);
    if offset == 0 {
        return local;
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let o = offset.abs();
    format!(
        "{}{sign}{:02}:{:02}",
        local.trim_end_matches('Z'),
        o / 60,
        o % 60
    )
}

fn actor(sig: &git2::Signature<'_>) -> FieldValue {
    FieldValue::object(Leaf::new(
        "GitActor",
        json!({
            "name": sig.name(),
            "email": sig.email(),
            "date": git_timestamp(sig.when()),
        }),
    ))
}

impl GitObj {
    fn base(&self, ctx: &Ctx) -> Base {
        Base::plain(&ctx.state)
    }

    fn common(&self, name: &str, ctx: &Ctx) -> Option<FieldValue> {
        Some(match name {
            "id" => {
                FieldValue::scalar(node_id(self.kind, format!("{}:{}", self.repo.id, self.oid)))
            }
            "oid" => FieldValue::scalar(self.oid.clone()),
            "abbreviatedOid" => FieldValue::scalar(self.oid[..7].to_string()),
            "repository" => FieldValue::object(Repo(self.repo.id)),
            "commitUrl" | "url" if self.kind == "Commit" => FieldValue::scalar(format!(
                "{}/commit/{}",
                self.base(ctx).repo_web(&self.repo.full_path),
                self.oid
            )),
            "commitResourcePath" | "resourcePath" if self.kind == "Commit" => {
                FieldValue::scalar(format!("/{}/commit/{}", self.repo.full_path, self.oid))
            }
            _ => return None,
        })
    }

    fn blob(&self, name: &str) -> Result<FieldValue, String> {
        let git = open(&self.repo.git_dir).ok_or("repository unreadable")?;
        let blob = git
            .find_blob(Oid::from_str(&self.oid).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let content = blob.content();
        let binary = is_binary(content);
        Ok(match name {
            "byteSize" => FieldValue::scalar(content.len()),
            "isBinary" => FieldValue::scalar(binary),
            "isTruncated" => FieldValue::scalar(!binary && content.len() > TEXT_LIMIT),
            "text" if binary => FieldValue::Null,
            "text" => {
                let text = String::from_utf8_lossy(&content[..content.len().min(TEXT_LIMIT)]);
                FieldValue::scalar(text.into_owned())
            }
            other => return Err(not_emulated("Blob", other)),
        })
    }

    fn tree(&self, name: &str) -> Result<FieldValue, String> {
        match name {
            "entries" => {
                let entries = crate::gitstore::list_tree(&self.repo.git_dir, &self.oid, "", false)
                    .map_err(|e| e.to_string())?
                    .unwrap_or_default();
                let prefix = self.path.clone().filter(|p| !p.is_empty());
                Ok(FieldValue::list(entries.into_iter().map(|e| {
                    FieldValue::object(Entry {
                        repo: self.repo.clone(),
                        path: match &prefix {
                            Some(p) => format!("{p}/{}", e.name),
                            None => e.name.clone(),
                        },
                        entry: e,
                    })
                })))
            }
            other => Err(not_emulated("Tree", other)),
        }
    }

    fn commit(&self, name: &str, args: &Args) -> Result<FieldValue, String> {
        let git = open(&self.repo.git_dir).ok_or("repository unreadable")?;
        let c = git
            .find_commit(Oid::from_str(&self.oid).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let message = c.message().unwrap_or_default().to_string();
        let (headline, body) = message.split_once('\n').unwrap_or((&message, ""));
        Ok(match name {
            "message" => FieldValue::scalar(message.clone()),
            "messageHeadline" => FieldValue::scalar(headline.trim_end()),
            "messageBody" => FieldValue::scalar(body.trim()),
            "author" => actor(&c.author()),
            "committer" => actor(&c.committer()),
            "authoredDate" => FieldValue::scalar(rfc3339(c.author().when().seconds())),
            "committedDate" => FieldValue::scalar(rfc3339(c.committer().when().seconds())),
            "authoredByCommitter" => {
                FieldValue::scalar(c.author().email() == c.committer().email())
            }
            "committedViaWeb" => {
                FieldValue::scalar(c.committer().email() == Some("noreply@github.com"))
            }
            "tree" => FieldValue::object(GitObj {
                repo: self.repo.clone(),
                oid: c.tree_id().to_string(),
                kind: "Tree",
                path: Some(String::new()),
            }),
            "parents" => {
                let parents: Vec<String> = c.parent_ids().map(|p| p.to_string()).collect();
                let page = Conn::page("parents", "CommitConnection", parents, args, |_| {
                    FieldValue::Null
                })?;
                return Ok(FieldValue::object(ParentConn {
                    page,
                    repo: self.repo.clone(),
                }));
            }
            other => return Err(not_emulated("Commit", other)),
        })
    }
}

/// `Commit.parents`: a connection whose nodes are commits.
struct ParentConn {
    page: Conn<String>,
    repo: RepoRef,
}

impl Object for ParentConn {
    fn type_name(&self) -> &str {
        "CommitConnection"
    }
    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        match name {
            "nodes" => Ok(FieldValue::list(
                self.page
                    .oids()
                    .map(|oid| FieldValue::opt_object(find(&self.repo, oid))),
            )),
            "edges" => Err(not_emulated("CommitConnection", "edges")),
            other => self.page.field(other, args, ctx),
        }
    }
}

impl Conn<String> {
    /// The items of a page of oids.
    pub fn oids(&self) -> impl Iterator<Item = &str> {
        self.items().map(String::as_str)
    }
}

impl Object for GitObj {
    fn type_name(&self) -> &str {
        self.kind
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        if let Some(v) = self.common(name, ctx) {
            return Ok(v);
        }
        match self.kind {
            "Blob" => self.blob(name),
            "Tree" => self.tree(name),
            "Commit" => self.commit(name, args),
            _ => {
                let git = open(&self.repo.git_dir).ok_or("repository unreadable")?;
                let tag = git
                    .find_tag(Oid::from_str(&self.oid).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
                Ok(match name {
                    "name" => FieldValue::scalar(tag.name().unwrap_or_default()),
                    "message" => FieldValue::opt_scalar(tag.message().map(str::to_string)),
                    "tagger" => tag.tagger().as_ref().map_or(FieldValue::Null, actor),
                    "target" => {
                        FieldValue::opt_object(find(&self.repo, &tag.target_id().to_string()))
                    }
                    other => return Err(not_emulated("Tag", other)),
                })
            }
        }
    }
}

/// One `TreeEntry`.
struct Entry {
    repo: RepoRef,
    path: String,
    entry: crate::gitstore::TreeEntry,
}

impl Object for Entry {
    fn type_name(&self) -> &str {
        "TreeEntry"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Result<FieldValue, String> {
        use crate::gitstore::EntryKind;
        let e = &self.entry;
        let b64 = |s: &str| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(s)
        };
        let text = || {
            (e.kind == EntryKind::Blob)
                .then(|| {
                    crate::gitstore::read_blob(&self.repo.git_dir, &e.oid)
                        .ok()
                        .flatten()
                })
                .flatten()
        };
        Ok(match name {
            "name" => FieldValue::scalar(e.name.clone()),
            "nameRaw" => FieldValue::scalar(b64(&e.name)),
            "path" => FieldValue::scalar(self.path.clone()),
            "pathRaw" => FieldValue::scalar(b64(&self.path)),
            "mode" => FieldValue::scalar(e.mode),
            "oid" => FieldValue::scalar(e.oid.clone()),
            "type" => FieldValue::scalar(match e.kind {
                EntryKind::Blob => "blob",
                EntryKind::Tree => "tree",
                EntryKind::Commit => "commit",
            }),
            "size" => FieldValue::scalar(e.size.unwrap_or(0)),
            "extension" => FieldValue::opt_scalar(
                (e.kind == EntryKind::Blob)
                    .then(|| {
                        e.name
                            .rfind('.')
                            .filter(|i| *i > 0)
                            .map(|i| e.name[i..].to_string())
                    })
                    .flatten(),
            ),
            "isGenerated" => FieldValue::scalar(false),
            "language" | "submodule" => FieldValue::Null,
            "lineCount" => FieldValue::opt_scalar(
                text()
                    .filter(|c| !is_binary(c))
                    .map(|c| c.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count()),
            ),
            "repository" => FieldValue::object(Repo(self.repo.id)),
            "object" => {
                if e.kind == EntryKind::Commit {
                    return Ok(FieldValue::Null);
                }
                let kind = if e.kind == EntryKind::Tree {
                    "Tree"
                } else {
                    "Blob"
                };
                FieldValue::object(GitObj {
                    repo: self.repo.clone(),
                    oid: e.oid.clone(),
                    kind,
                    path: Some(self.path.clone()),
                })
            }
            other => return Err(not_emulated("TreeEntry", other)),
        })
    }
}
