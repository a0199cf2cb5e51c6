//! `Repository { rootRef empty exists tree(path, recursive, ref) }`,
//! `Tree { lastCommit blobs trees submodules }`, `Commit`, and the tree
//! entries `Blob`, `TreeEntry`, `Submodule`, as the 13.8-era schema in
//! `forge-specs/gitlab/gitlab_schema.graphql` defines them. That schema has
//! no blob contents (no `Repository.blobs`/`rawTextBlob`): file contents are
//! read over REST.

use std::sync::Arc;

use super::connection::{Connection, MakeNode};
use crate::gitlab::git::{self, CommitData};
use crate::gitlab::repository::mode_string;
use crate::gitstore::{self, EntryKind, TreeEntry};
use crate::graphql::{not_emulated, Args, FieldValue, Object};
use crate::server::Ctx;

/// A project's repository.
pub struct Repository(pub u64);

impl Object for Repository {
    fn type_name(&self) -> &str {
        "Repository"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        let r = world.repos.get(&self.0).ok_or("project vanished")?;
        let repo = git::open(&r.git_dir).map_err(|e| e.message().to_string())?;
        let empty = git::branches(&repo).is_empty();
        Ok(match name {
            "exists" => FieldValue::scalar(true),
            "empty" => FieldValue::scalar(empty),
            "rootRef" => FieldValue::opt_scalar((!empty).then(|| r.default_branch.clone())),
            "tree" => {
                // The schema's default is `"head"`: the default branch.
                let rev = args
                    .str("ref")
                    .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("head"))
                    .unwrap_or(&r.default_branch);
                let path = args
                    .str("path")
                    .unwrap_or_default()
                    .trim_matches('/')
                    .to_string();
                let Some(commit) = git::resolve(&repo, rev) else {
                    return Ok(FieldValue::Null);
                };
                let exists = path.is_empty()
                    || repo
                        .find_commit(commit)
                        .and_then(|c| c.tree())
                        .ok()
                        .and_then(|t| git::entry_at(&t, &path))
                        .is_some_and(|(_, _, k)| k == Some(git2::ObjectType::Tree));
                if !exists {
                    return Ok(FieldValue::Null);
                }
                FieldValue::object(Tree {
                    repo: self.0,
                    commit: commit.to_string(),
                    path,
                    recursive: args.bool("recursive").unwrap_or(false),
                })
            }
            other => return Err(not_emulated("Repository", other)),
        })
    }
}

/// A tree at a commit.
pub struct Tree {
    repo: u64,
    commit: String,
    path: String,
    recursive: bool,
}

impl Tree {
    fn entries(&self, ctx: &Ctx, kind: EntryKind) -> Result<Vec<TreeEntry>, String> {
        let world = ctx.state.world.lock();
        let r = world.repos.get(&self.repo).ok_or("project vanished")?;
        let all = gitstore::list_tree(&r.git_dir, &self.commit, &self.path, self.recursive)
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        Ok(all.into_iter().filter(|e| e.kind == kind).collect())
    }
}

impl Object for Tree {
    fn type_name(&self) -> &str {
        "Tree"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let (kind, conn, edge) = match name {
            "lastCommit" => {
                let world = ctx.state.world.lock();
                let r = world.repos.get(&self.repo).ok_or("project vanished")?;
                let repo = git::open(&r.git_dir).map_err(|e| e.message().to_string())?;
                let start =
                    git2::Oid::from_str(&self.commit).map_err(|e| e.message().to_string())?;
                let last = git::last_commit_for_path(&repo, start, &self.path);
                return Ok(FieldValue::opt_object(last.map(|sha| Commit {
                    repo: self.repo,
                    sha: sha.to_string(),
                })));
            }
            "blobs" => (EntryKind::Blob, "BlobConnection", "BlobEdge"),
            "trees" => (EntryKind::Tree, "TreeEntryConnection", "TreeEntryEdge"),
            "submodules" => (EntryKind::Commit, "SubmoduleConnection", "SubmoduleEdge"),
            other => return Err(not_emulated("Tree", other)),
        };
        let (base, full_path) = {
            let world = ctx.state.world.lock();
            let r = world.repos.get(&self.repo).ok_or("project vanished")?;
            (ctx.state.urls.gitlab.clone(), r.full_path.clone())
        };
        let items: Vec<(String, MakeNode)> = self
            .entries(ctx, kind)?
            .into_iter()
            .map(|e| {
                let entry = Arc::new(Entry {
                    entry: e.clone(),
                    web_path: format!(
                        "/{full_path}/-/{}/{}/{}",
                        if kind == EntryKind::Tree {
                            "tree"
                        } else {
                            "blob"
                        },
                        self.commit,
                        e.path
                    ),
                    base: base.clone(),
                });
                let make: MakeNode = Arc::new(move || FieldValue::object(EntryRef(entry.clone())));
                (e.path, make)
            })
            .collect();
        Ok(FieldValue::object(Connection::page(
            conn, edge, items, args,
        )?))
    }
}

/// A tree entry snapshot.
struct Entry {
    entry: TreeEntry,
    web_path: String,
    base: String,
}

struct EntryRef(Arc<Entry>);

impl Object for EntryRef {
    fn type_name(&self) -> &str {
        match self.0.entry.kind {
            EntryKind::Blob => "Blob",
            EntryKind::Tree => "TreeEntry",
            EntryKind::Commit => "Submodule",
        }
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Result<FieldValue, String> {
        let e = &self.0.entry;
        let kind = match e.kind {
            EntryKind::Blob => "blob",
            EntryKind::Tree => "tree",
            EntryKind::Commit => "commit",
        };
        Ok(match name {
            "id" => FieldValue::scalar(format!(
                "gid://gitlab/Gitlab::Graphql::Representation::TreeEntry/{}",
                e.oid
            )),
            "sha" => FieldValue::scalar(e.oid.clone()),
            "name" => FieldValue::scalar(e.name.clone()),
            "path" => FieldValue::scalar(e.path.clone()),
            "flatPath" => FieldValue::scalar(e.path.clone()),
            "type" => FieldValue::scalar(kind),
            "mode" => FieldValue::scalar(mode_string(e.mode)),
            "lfsOid" => FieldValue::Null,
            "webPath" => FieldValue::scalar(self.0.web_path.clone()),
            "webUrl" => FieldValue::scalar(format!("{}{}", self.0.base, self.0.web_path)),
            "treeUrl" => FieldValue::Null,
            other => return Err(not_emulated(self.type_name(), other)),
        })
    }
}

/// A commit of a project.
pub struct Commit {
    pub repo: u64,
    pub sha: String,
}

impl Object for Commit {
    fn type_name(&self) -> &str {
        "Commit"
    }

    fn field(&self, name: &str, _: &Args, ctx: &Ctx) -> Result<FieldValue, String> {
        let world = ctx.state.world.lock();
        let r = world.repos.get(&self.repo).ok_or("project vanished")?;
        let repo = git::open(&r.git_dir).map_err(|e| e.message().to_string())?;
        let oid = git2::Oid::from_str(&self.sha).map_err(|e| e.message().to_string())?;
        let c = CommitData::of(&repo.find_commit(oid).map_err(|e| e.message().to_string())?);
        let web_path = format!("/{}/-/commit/{}", r.full_path, c.id);
        let description = c
            .message
            .split_once('\n')
            .map(|(_, rest)| rest.trim().to_string())
            .filter(|d| !d.is_empty());
        Ok(match name {
            "id" => FieldValue::scalar(format!("gid://gitlab/Commit/{}", c.id)),
            "sha" => FieldValue::scalar(c.id.clone()),
            "shortId" => FieldValue::scalar(crate::gitlab::entities::short_id(&c.id)),
            "title" | "titleHtml" => FieldValue::scalar(c.title().to_string()),
            "message" => FieldValue::scalar(c.message.clone()),
            "description" | "descriptionHtml" => FieldValue::opt_scalar(description),
            "authorName" => FieldValue::scalar(c.author_name.clone()),
            "authoredDate" => FieldValue::scalar(c.authored.clone()),
            "authorGravatar" | "signatureHtml" | "author" => FieldValue::Null,
            "webPath" => FieldValue::scalar(web_path.clone()),
            "webUrl" => FieldValue::scalar(format!("{}{web_path}", ctx.state.urls.gitlab)),
            other => return Err(not_emulated("Commit", other)),
        })
    }
}
