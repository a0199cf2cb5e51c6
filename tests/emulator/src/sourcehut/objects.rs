//! git.sr.ht's git object types, read from the real bare repositories:
//! `Reference`, `Commit`, `Tree`, `TreeEntry`, `TextBlob`/`BinaryBlob`,
//! `Tag`, `Signature`, `Trailer`.
//!
//! As git.sr.ht (go-git) reports them: `TreeEntry.mode` is the git mode as
//! an integer (`33188` = 0o100644, `33261` = 0o100755, `40960` = 0o120000
//! symlink, `16384` = 0o040000 tree, `57344` = 0o160000 submodule), not the
//! `0644` the schema's doc string suggests; tree entries are sorted by name
//! and paged 25 at a time; a blob is a `TextBlob` when its first 512 bytes
//! are valid UTF-8 (so a multi-byte character cut at byte 512 makes a
//! `BinaryBlob`, as upstream); `text` is capped at 128 KiB and `base64` at
//! 32 KiB; `content` is a URL on the git listener
//! (`/query/blob/{repo}/{oid}`) answering the raw bytes.

use std::path::PathBuf;

use base64::Engine;
use git2::{ObjectType, Oid, Repository};

use super::cursor::{Cursor, Order, Paged};
use crate::graphql::{not_emulated, Args, FieldValue, Object};
use crate::server::Ctx;
use crate::world::rfc3339;

type Field = Result<FieldValue<Ctx>, String>;

/// A bare repository and the emulator id of its record.
#[derive(Clone, Debug)]
pub struct Git {
    pub dir: PathBuf,
    pub repo_id: u64,
}

impl Git {
    pub fn open(&self) -> Result<Repository, String> {
        Repository::open_bare(&self.dir).map_err(|e| e.message().to_string())
    }

    /// The object a revspec names, peeled to a commit (go-git
    /// `ResolveRevision`); the error upstream gives otherwise.
    pub fn resolve(&self, revspec: &str) -> Result<Oid, String> {
        let oid = crate::gitstore::resolve(&self.dir, revspec)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "reference not found".to_string())?;
        Oid::from_str(&oid).map_err(|e| e.message().to_string())
    }

    /// Any object by id as its GraphQL type, `None` if it does not exist.
    pub fn object(&self, oid: Oid) -> Result<Option<FieldValue<Ctx>>, String> {
        let repo = self.open()?;
        let Ok(obj) = repo.find_object(oid, None) else {
            return Ok(None);
        };
        let git = self.clone();
        Ok(Some(match obj.kind() {
            Some(ObjectType::Commit) => FieldValue::object(Commit { git, oid }),
            Some(ObjectType::Tree) => FieldValue::object(Tree { git, oid }),
            Some(ObjectType::Tag) => FieldValue::object(Tag { git, oid }),
            Some(ObjectType::Blob) => {
                let blob = repo.find_blob(oid).map_err(|e| e.message().to_string())?;
                let head = &blob.content()[..blob.size().min(512)];
                let text = std::str::from_utf8(head).is_ok();
                FieldValue::object(Blob {
                    git,
                    oid,
                    text,
                    size: blob.size(),
                })
            }
            _ => return Err("Unknown object type".into()),
        }))
    }
}

fn short(oid: Oid) -> String {
    oid.to_string()[..7].to_string()
}

/// `Reference`: `name`, `target` (an object id, or the ref a symbolic ref
/// points to), `follow`.
pub struct Reference {
    pub git: Git,
    pub name: String,
    pub target: String,
}

impl Object for Reference {
    fn type_name(&self) -> &str {
        "Reference"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        Ok(match name {
            "name" => FieldValue::scalar(self.name.clone()),
            "target" => FieldValue::scalar(self.target.clone()),
            "follow" => {
                let repo = self.git.open()?;
                let oid = repo
                    .find_reference(&self.name)
                    .and_then(|r| r.resolve())
                    .ok()
                    .and_then(|r| r.target())
                    .ok_or("reference not found")?;
                self.git.object(oid)?.unwrap_or(FieldValue::Null)
            }
            "artifact" => FieldValue::Null,
            "artifacts" => Paged::<()>::field(
                "ArtifactCursor",
                Vec::new(),
                &Cursor::first(None),
                Order::Exact,
                |_| String::new(),
                |_| FieldValue::Null,
            ),
            other => return Err(not_emulated("Reference", other)),
        })
    }
}

/// `Signature`.
pub struct Signature {
    name: String,
    email: String,
    time: i64,
}

impl Signature {
    fn of(sig: &git2::Signature<'_>) -> Signature {
        Signature {
            name: sig.name().unwrap_or_default().to_string(),
            email: sig.email().unwrap_or_default().to_string(),
            time: sig.when().seconds(),
        }
    }
}

impl Object for Signature {
    fn type_name(&self) -> &str {
        "Signature"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        Ok(match name {
            "name" => FieldValue::scalar(self.name.clone()),
            "email" => FieldValue::scalar(self.email.clone()),
            "time" => FieldValue::scalar(rfc3339(self.time)),
            other => return Err(not_emulated("Signature", other)),
        })
    }
}

/// `Trailer`.
struct Trailer(String, String);

impl Object for Trailer {
    fn type_name(&self) -> &str {
        "Trailer"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        Ok(match name {
            "name" => FieldValue::scalar(self.0.clone()),
            "value" => FieldValue::scalar(self.1.clone()),
            other => return Err(not_emulated("Trailer", other)),
        })
    }
}

/// The trailers of a commit message: `Token: value` lines of its last
/// paragraph, when every line of it is one.
pub fn trailers(message: &str) -> Vec<(String, String)> {
    let last = message.trim_end().rsplit("\n\n").next().unwrap_or("");
    let parsed: Vec<Option<(String, String)>> = last
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(':')?;
            let ok = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            ok.then(|| (k.to_string(), v.trim().to_string()))
        })
        .collect();
    if message.trim_end().contains("\n\n")
        && !parsed.is_empty()
        && parsed.iter().all(Option::is_some)
    {
        parsed.into_iter().flatten().collect()
    } else {
        Vec::new()
    }
}

/// `Commit`.
pub struct Commit {
    pub git: Git,
    pub oid: Oid,
}

impl Object for Commit {
    fn type_name(&self) -> &str {
        "Commit"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        let repo = self.git.open()?;
        let c = repo
            .find_commit(self.oid)
            .map_err(|e| e.message().to_string())?;
        let git = self.git.clone();
        Ok(match name {
            "type" => FieldValue::scalar("COMMIT"),
            "id" => FieldValue::scalar(self.oid.to_string()),
            "shortId" => FieldValue::scalar(short(self.oid)),
            "author" => FieldValue::object(Signature::of(&c.author())),
            "committer" => FieldValue::object(Signature::of(&c.committer())),
            "message" => FieldValue::scalar(c.message().unwrap_or_default()),
            "tree" => FieldValue::object(Tree {
                git,
                oid: c.tree_id(),
            }),
            "parents" => FieldValue::list(c.parent_ids().map(|oid| {
                FieldValue::object(Commit {
                    git: git.clone(),
                    oid,
                })
            })),
            "diff" => FieldValue::scalar(diff(&repo, &c)?),
            "trailers" => FieldValue::list(
                trailers(c.message().unwrap_or_default())
                    .into_iter()
                    .map(|(k, v)| FieldValue::object(Trailer(k, v))),
            ),
            other => return Err(not_emulated("Commit", other)),
        })
    }
}

/// The unified diff of a commit against its first parent.
fn diff(repo: &Repository, c: &git2::Commit<'_>) -> Result<String, String> {
    let err = |e: git2::Error| e.message().to_string();
    let new = c.tree().map_err(err)?;
    let old = match c.parents().next() {
        Some(p) => Some(p.tree().map_err(err)?),
        None => None,
    };
    let diff = repo
        .diff_tree_to_tree(old.as_ref(), Some(&new), None)
        .map_err(err)?;
    let mut out = Vec::new();
    diff.print(git2::DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            out.push(line.origin() as u8);
        }
        out.extend_from_slice(line.content());
        true
    })
    .map_err(err)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `Tree`.
pub struct Tree {
    pub git: Git,
    pub oid: Oid,
}

impl Tree {
    /// The entries, sorted by name as git.sr.ht sorts them.
    fn entries(&self) -> Result<Vec<TreeEntry>, String> {
        let repo = self.git.open()?;
        let tree = repo
            .find_tree(self.oid)
            .map_err(|e| e.message().to_string())?;
        let mut out: Vec<TreeEntry> = tree
            .iter()
            .map(|e| TreeEntry {
                git: self.git.clone(),
                name: e.name().unwrap_or_default().to_string(),
                mode: e.filemode(),
                oid: e.id(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

impl Object for Tree {
    fn type_name(&self) -> &str {
        "Tree"
    }

    fn field(&self, name: &str, args: &Args, _: &Ctx) -> Field {
        Ok(match name {
            "type" => FieldValue::scalar("TREE"),
            "id" => FieldValue::scalar(self.oid.to_string()),
            "shortId" => FieldValue::scalar(short(self.oid)),
            "entries" => Paged::field(
                "TreeEntryCursor",
                self.entries()?,
                &Cursor::from_args(args)?,
                Order::Asc,
                |e| e.name.clone(),
                |e| FieldValue::object(e.clone()),
            ),
            "entry" => {
                let path = args.str("path").unwrap_or("");
                FieldValue::opt_object(entry_at(&self.git, self.oid, path)?)
            }
            other => return Err(not_emulated("Tree", other)),
        })
    }
}

/// The entry at `path` (slash-separated) below tree `tree`, as go-git's
/// `FindEntry` finds it: no leading slash, no empty path.
pub fn entry_at(git: &Git, tree: Oid, path: &str) -> Result<Option<TreeEntry>, String> {
    if path.is_empty() || path.starts_with('/') || path.split('/').any(str::is_empty) {
        return Ok(None);
    }
    let repo = git.open()?;
    let tree = repo.find_tree(tree).map_err(|e| e.message().to_string())?;
    let Ok(e) = tree.get_path(std::path::Path::new(path)) else {
        return Ok(None);
    };
    Ok(Some(TreeEntry {
        git: git.clone(),
        name: e.name().unwrap_or_default().to_string(),
        mode: e.filemode(),
        oid: e.id(),
    }))
}

/// `TreeEntry`.
#[derive(Clone)]
pub struct TreeEntry {
    pub git: Git,
    pub name: String,
    pub mode: i32,
    pub oid: Oid,
}

impl Object for TreeEntry {
    fn type_name(&self) -> &str {
        "TreeEntry"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        Ok(match name {
            "id" => FieldValue::scalar(self.oid.to_string()),
            "name" => FieldValue::scalar(self.name.clone()),
            "mode" => FieldValue::scalar(self.mode),
            // A submodule's commit is not in this repository: go-git fails
            // the lookup, and git.sr.ht answers an error.
            "object" => self
                .git
                .object(self.oid)?
                .ok_or_else(|| format!("lookup object {}: object not found", self.oid))?,
            other => return Err(not_emulated("TreeEntry", other)),
        })
    }
}

/// `TextBlob` or `BinaryBlob`.
pub struct Blob {
    git: Git,
    oid: Oid,
    text: bool,
    size: usize,
}

impl Blob {
    fn content(&self, limit: usize) -> Result<Vec<u8>, String> {
        let repo = self.git.open()?;
        let blob = repo
            .find_blob(self.oid)
            .map_err(|e| e.message().to_string())?;
        Ok(blob.content()[..blob.size().min(limit)].to_vec())
    }
}

impl Object for Blob {
    fn type_name(&self) -> &str {
        if self.text {
            "TextBlob"
        } else {
            "BinaryBlob"
        }
    }

    fn field(&self, name: &str, _: &Args, ctx: &Ctx) -> Field {
        Ok(match name {
            "type" => FieldValue::scalar("BLOB"),
            "id" => FieldValue::scalar(self.oid.to_string()),
            "shortId" => FieldValue::scalar(short(self.oid)),
            "size" => FieldValue::scalar(self.size as u64),
            "content" => FieldValue::scalar(format!(
                "{}/query/blob/{}/{}",
                ctx.state.urls.srht_git, self.git.repo_id, self.oid
            )),
            "text" => {
                FieldValue::scalar(String::from_utf8_lossy(&self.content(128 * 1024)?).into_owned())
            }
            "base64" => FieldValue::scalar(
                base64::engine::general_purpose::STANDARD.encode(self.content(32 * 1024)?),
            ),
            other => return Err(not_emulated(self.type_name(), other)),
        })
    }
}

/// `Tag` (an annotated tag object).
pub struct Tag {
    git: Git,
    oid: Oid,
}

impl Object for Tag {
    fn type_name(&self) -> &str {
        "Tag"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        let repo = self.git.open()?;
        let tag = repo
            .find_tag(self.oid)
            .map_err(|e| e.message().to_string())?;
        Ok(match name {
            "type" => FieldValue::scalar("TAG"),
            "id" => FieldValue::scalar(self.oid.to_string()),
            "shortId" => FieldValue::scalar(short(self.oid)),
            "target" => self
                .git
                .object(tag.target_id())?
                .ok_or("tag target not found")?,
            "name" => FieldValue::scalar(tag.name().unwrap_or_default()),
            "tagger" => match tag.tagger() {
                Some(s) => FieldValue::object(Signature::of(&s)),
                None => return Err("tag has no tagger".into()),
            },
            "message" => FieldValue::scalar(tag.message().unwrap_or_default()),
            other => return Err(not_emulated("Tag", other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::trailers;

    #[test]
    fn trailers_of_the_last_paragraph() {
        assert_eq!(
            trailers("Sync\n\nBody.\n\nDrover-Fingerprint: abc\nSigned-off-by: A <a@b>\n"),
            [
                ("Drover-Fingerprint".to_string(), "abc".to_string()),
                ("Signed-off-by".to_string(), "A <a@b>".to_string())
            ]
        );
        assert!(trailers("Subject: only one paragraph").is_empty());
        assert!(trailers("Sync\n\nNot a trailer line").is_empty());
    }
}
