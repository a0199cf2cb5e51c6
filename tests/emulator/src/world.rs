//! The emulated forges' state: owners, repositories, tokens, proposals,
//! mailing lists and patchsets, for all three forges at once.
//!
//! The world is plain data behind one `parking_lot` mutex ([`SharedWorld`]).
//! Handlers lock it, read or change it, and unlock before any `.await`; the
//! lock is never held across an await point. Git content lives on disk in a
//! real bare repository per [`Repository`] (see [`crate::gitstore`]); the
//! world only knows where (`git_dir`).
//!
//! Ids are unique across the whole world (one counter), which keeps lookups
//! simple and matches how forges hand out globally unique database ids.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gitstore::{self, FileChange, Person};

/// The world shared by every listener and by the test that seeds it.
pub type SharedWorld = Arc<Mutex<World>>;

/// Seconds since the Unix epoch.
pub type Timestamp = i64;

/// Which forge an object belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forge {
    Github,
    Gitlab,
    Sourcehut,
}

impl Forge {
    pub const ALL: [Forge; 3] = [Forge::Github, Forge::Gitlab, Forge::Sourcehut];

    pub fn as_str(self) -> &'static str {
        match self {
            Forge::Github => "github",
            Forge::Gitlab => "gitlab",
            Forge::Sourcehut => "sourcehut",
        }
    }
}

impl std::str::FromStr for Forge {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "github" => Ok(Forge::Github),
            "gitlab" => Ok(Forge::Gitlab),
            "sourcehut" | "srht" => Ok(Forge::Sourcehut),
            other => Err(Error::Invalid(format!("unknown forge {other:?}"))),
        }
    }
}

/// What kind of namespace an [`Owner`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerKind {
    /// A GitHub organisation.
    Organization,
    /// A GitLab group (possibly a subgroup: see [`Owner::parent`]).
    Group,
    /// A user account: GitHub user, GitLab user namespace, sourcehut `~name`.
    User,
}

/// A namespace that holds repositories.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Owner {
    pub id: u64,
    pub forge: Forge,
    pub kind: OwnerKind,
    /// The path as it prefixes repository paths on that forge: `acme` on
    /// GitHub, `acme/platform` for a GitLab subgroup, `~alice` on sourcehut.
    pub path: String,
    /// The last path segment without `~` (login, group path segment).
    pub name: String,
    /// The parent group of a GitLab subgroup.
    pub parent: Option<u64>,
    pub created_at: Timestamp,
}

/// Who may see a repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Private,
    /// GitLab "internal", sourcehut "unlisted".
    Internal,
}

/// A repository label definition (GitHub labels, GitLab project labels).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub id: u64,
    pub name: String,
    pub color: String,
    pub description: Option<String>,
}

/// One emulated repository, backed by a bare git repository at `git_dir`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Repository {
    pub id: u64,
    pub forge: Forge,
    pub owner_id: u64,
    pub name: String,
    /// `owner/name`, `group/sub/project` or `~user/name`.
    pub full_path: String,
    pub description: Option<String>,
    pub default_branch: String,
    pub visibility: Visibility,
    pub archived: bool,
    pub fork: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Last push through git smart HTTP or an API-side commit.
    pub pushed_at: Option<Timestamp>,
    pub git_dir: PathBuf,
    pub labels: Vec<Label>,
    /// Next GitHub issue/PR number or GitLab MR iid in this repository.
    pub next_number: u64,
}

/// A token known to a forge, and whom it authenticates.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Token {
    pub forge: Forge,
    /// The user's login (without `~`).
    pub user: String,
    pub scopes: Vec<String>,
}

/// State of a pull request / merge request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProposalState {
    Open,
    Closed,
    Merged,
}

/// A comment on a proposal (GitHub issue comment, GitLab note).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub author: String,
    pub body: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A GitHub pull request or a GitLab merge request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Proposal {
    pub id: u64,
    pub forge: Forge,
    pub repo_id: u64,
    /// GitHub `number`, GitLab `iid`.
    pub number: u64,
    /// Head (source) branch, in the same repository.
    pub head: String,
    /// Base (target) branch.
    pub base: String,
    pub title: String,
    pub body: String,
    pub state: ProposalState,
    pub draft: bool,
    pub author: String,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub comments: Vec<Comment>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub merged_at: Option<Timestamp>,
    pub merge_commit: Option<String>,
}

/// A lists.sr.ht mailing list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MailingList {
    pub id: u64,
    /// The owning user (an [`Owner`] of kind `User` on sourcehut).
    pub owner_id: u64,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// lists.sr.ht `PatchsetStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PatchsetStatus {
    Unknown,
    Proposed,
    NeedsRevision,
    Superseded,
    Approved,
    Rejected,
    Applied,
}

/// One received mail, kept raw so the parsers can be checked against it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Mail {
    pub id: u64,
    /// SMTP envelope sender and recipients.
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub subject: Option<String>,
    pub raw: Vec<u8>,
    pub received_at: Timestamp,
}

/// A lists.sr.ht patchset: a series of patch mails on a list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Patchset {
    pub id: u64,
    pub list_id: u64,
    pub subject: String,
    pub version: u32,
    /// The subject prefix, e.g. the repository name in `[PATCH repo v2 1/3]`.
    pub prefix: Option<String>,
    pub status: PatchsetStatus,
    pub submitter: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The cover letter (if any) and the patches, in series order.
    pub mails: Vec<Mail>,
}

/// All emulated state. Fields are public so forge handlers can query them
/// freely; the methods below are the helpers every forge needs.
pub struct World {
    root: PathBuf,
    next_id: u64,
    /// A fixed clock for reproducible timestamps; `None` means wall clock.
    pub frozen_time: Option<Timestamp>,
    pub owners: BTreeMap<u64, Owner>,
    pub repos: BTreeMap<u64, Repository>,
    pub tokens: HashMap<String, Token>,
    pub proposals: BTreeMap<u64, Proposal>,
    pub lists: BTreeMap<u64, MailingList>,
    pub patchsets: BTreeMap<u64, Patchset>,
    /// Mail received over SMTP not (yet) attached to a patchset.
    pub inbox: Vec<Mail>,
    /// State a forge module keeps for itself, one value per type (see
    /// [`World::ext_mut`]), so forge modules need not edit this file.
    extensions: HashMap<TypeId, Box<dyn Any + Send>>,
}

impl World {
    /// A new empty world whose bare repositories live under `root`.
    pub fn new(root: &Path) -> Self {
        World {
            root: root.to_path_buf(),
            next_id: 1000,
            frozen_time: None,
            owners: BTreeMap::new(),
            repos: BTreeMap::new(),
            tokens: HashMap::new(),
            proposals: BTreeMap::new(),
            lists: BTreeMap::new(),
            patchsets: BTreeMap::new(),
            inbox: Vec::new(),
            extensions: HashMap::new(),
        }
    }

    /// A forge module's own state of type `T`, created on first use.
    pub fn ext_mut<T: Default + Send + 'static>(&mut self) -> &mut T {
        self.extensions
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut()
            .expect("extension stored under its own TypeId")
    }

    /// A forge module's own state of type `T`, if it was ever created.
    pub fn ext<T: 'static>(&self) -> Option<&T> {
        self.extensions
            .get(&TypeId::of::<T>())
            .and_then(|b| b.downcast_ref())
    }

    /// Where the bare repositories of `forge` live (the CGI project root).
    pub fn git_root(&self, forge: Forge) -> PathBuf {
        self.root.join(forge.as_str())
    }

    /// A fresh id, unique across the world.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The world's clock.
    pub fn now(&self) -> Timestamp {
        self.frozen_time.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        })
    }

    // ----- owners and tokens -------------------------------------------

    /// The owner at `path` (`acme`, `acme/sub`, `~alice` or `alice` on sourcehut).
    pub fn owner(&self, forge: Forge, path: &str) -> Option<&Owner> {
        let path = canonical_owner_path(forge, path);
        self.owners
            .values()
            .find(|o| o.forge == forge && o.path.eq_ignore_ascii_case(&path))
    }

    /// Creates an owner, or returns the existing one at that path. GitLab
    /// parent groups are created as needed.
    pub fn ensure_owner(&mut self, forge: Forge, kind: OwnerKind, path: &str) -> Result<u64> {
        let path = canonical_owner_path(forge, path);
        if path.trim_matches(['/', '~']).is_empty() {
            return Err(Error::Invalid("empty owner path".into()));
        }
        if let Some(o) = self.owner(forge, &path) {
            return Ok(o.id);
        }
        let parent = match path.rsplit_once('/') {
            Some((parent, _)) if forge == Forge::Gitlab => {
                Some(self.ensure_owner(forge, OwnerKind::Group, parent)?)
            }
            Some(_) => {
                return Err(Error::Invalid(format!(
                    "nested owner {path:?} on {forge:?}"
                )))
            }
            None => None,
        };
        let id = self.next_id();
        let name = path.rsplit('/').next().unwrap_or(&path);
        let owner = Owner {
            id,
            forge,
            kind,
            name: name.trim_start_matches('~').to_string(),
            path: path.clone(),
            parent,
            created_at: self.now(),
        };
        self.owners.insert(id, owner);
        Ok(id)
    }

    /// The owner and every subgroup below it.
    pub fn owner_and_descendants(&self, owner_id: u64) -> Vec<u64> {
        let mut out = vec![owner_id];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i];
            out.extend(
                self.owners
                    .values()
                    .filter(|o| o.parent == Some(parent))
                    .map(|o| o.id),
            );
            i += 1;
        }
        out
    }

    /// Registers `token` for `user` on `forge`, creating the user if needed.
    pub fn add_token(&mut self, forge: Forge, user: &str, token: &str) -> Result<()> {
        self.ensure_owner(forge, OwnerKind::User, user)?;
        let user = user.trim_start_matches('~').to_string();
        let record = Token {
            forge,
            user,
            scopes: Vec::new(),
        };
        self.tokens.insert(token_key(forge, token), record);
        Ok(())
    }

    /// The login a token authenticates on `forge`, if it is valid there.
    pub fn user_for_token(&self, forge: Forge, token: &str) -> Option<&str> {
        self.tokens
            .get(&token_key(forge, token))
            .map(|t| t.user.as_str())
    }

    // ----- repositories --------------------------------------------------

    /// The repository at `full_path` (case-insensitive, as forges match).
    pub fn repo(&self, forge: Forge, full_path: &str) -> Option<&Repository> {
        let full_path = canonical_repo_path(forge, full_path);
        self.repos
            .values()
            .find(|r| r.forge == forge && r.full_path.eq_ignore_ascii_case(&full_path))
    }

    /// Mutable access to the repository at `full_path`.
    pub fn repo_mut(&mut self, forge: Forge, full_path: &str) -> Option<&mut Repository> {
        let full_path = canonical_repo_path(forge, full_path);
        self.repos
            .values_mut()
            .find(|r| r.forge == forge && r.full_path.eq_ignore_ascii_case(&full_path))
    }

    /// The repository at `full_path`, or [`Error::NotFound`].
    pub fn require_repo(&self, forge: Forge, full_path: &str) -> Result<&Repository> {
        self.repo(forge, full_path)
            .ok_or_else(|| Error::NotFound(format!("{} repository {full_path}", forge.as_str())))
    }

    /// Repositories directly under `owner_id`, or also in its subgroups.
    pub fn repos_of(&self, owner_id: u64, include_subgroups: bool) -> Vec<&Repository> {
        let owners = if include_subgroups {
            self.owner_and_descendants(owner_id)
        } else {
            vec![owner_id]
        };
        self.repos
            .values()
            .filter(|r| owners.contains(&r.owner_id))
            .collect()
    }

    /// Creates an empty bare repository record under an existing or new owner.
    /// The caller fills content with [`gitstore`] functions.
    pub fn create_repo_record(
        &mut self,
        forge: Forge,
        full_path: &str,
        owner_kind: OwnerKind,
        default_branch: &str,
    ) -> Result<u64> {
        let full_path = canonical_repo_path(forge, full_path);
        let Some((owner_path, name)) = full_path.rsplit_once('/') else {
            return Err(Error::Invalid(format!(
                "repository path {full_path:?} has no owner"
            )));
        };
        if self.repo(forge, &full_path).is_some() {
            return Err(Error::Conflict(format!(
                "repository {full_path} already exists"
            )));
        }
        let owner_id = self.ensure_owner(forge, owner_kind, owner_path)?;
        let id = self.next_id();
        let git_dir = self.git_root(forge).join(format!("{id}.git"));
        gitstore::init_bare(&git_dir, default_branch)?;
        let now = self.now();
        self.repos.insert(
            id,
            Repository {
                id,
                forge,
                owner_id,
                name: name.to_string(),
                full_path: full_path.clone(),
                description: None,
                default_branch: default_branch.to_string(),
                visibility: Visibility::Public,
                archived: false,
                fork: false,
                created_at: now,
                updated_at: now,
                pushed_at: None,
                git_dir,
                labels: Vec::new(),
                next_number: 1,
            },
        );
        Ok(id)
    }

    /// Commits `changes` on `branch` of a repository (an API-side commit),
    /// on top of the branch head if it exists. Returns the new commit id.
    pub fn commit_files(
        &mut self,
        repo_id: u64,
        branch: &str,
        changes: &[FileChange],
        message: &str,
        author: &Person,
    ) -> Result<String> {
        let now = self.now();
        let repo = self
            .repos
            .get_mut(&repo_id)
            .ok_or_else(|| Error::NotFound(format!("repository id {repo_id}")))?;
        let oid = gitstore::commit_files(&repo.git_dir, branch, changes, message, author)?;
        repo.updated_at = now;
        repo.pushed_at = Some(now);
        Ok(oid)
    }

    // ----- proposals -----------------------------------------------------

    /// Proposals of one repository, by number.
    pub fn proposals_of(&self, repo_id: u64) -> Vec<&Proposal> {
        let mut out: Vec<_> = self
            .proposals
            .values()
            .filter(|p| p.repo_id == repo_id)
            .collect();
        out.sort_by_key(|p| p.number);
        out
    }

    /// The proposal with `number` (GitHub number, GitLab iid) in a repository.
    pub fn proposal_mut(&mut self, repo_id: u64, number: u64) -> Option<&mut Proposal> {
        self.proposals
            .values_mut()
            .find(|p| p.repo_id == repo_id && p.number == number)
    }

    /// Takes the next issue/PR number of a repository.
    pub fn take_number(&mut self, repo_id: u64) -> Result<u64> {
        let repo = self
            .repos
            .get_mut(&repo_id)
            .ok_or_else(|| Error::NotFound(format!("repository id {repo_id}")))?;
        let n = repo.next_number;
        repo.next_number += 1;
        Ok(n)
    }
}

/// Owner paths are stored as each forge writes them: sourcehut users with `~`.
pub fn canonical_owner_path(forge: Forge, path: &str) -> String {
    let path = path.trim_matches('/');
    match forge {
        Forge::Sourcehut if !path.starts_with('~') => format!("~{path}"),
        _ => path.to_string(),
    }
}

/// Repository paths likewise: `~alice/repo` on sourcehut.
pub fn canonical_repo_path(forge: Forge, path: &str) -> String {
    let path = path.trim_matches('/').trim_end_matches(".git");
    match forge {
        Forge::Sourcehut if !path.starts_with('~') => format!("~{path}"),
        _ => path.to_string(),
    }
}

fn token_key(forge: Forge, token: &str) -> String {
    format!("{}:{token}", forge.as_str())
}

/// A timestamp as the forges write it: `2011-01-26T19:01:12Z`.
pub fn rfc3339(ts: Timestamp) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(ts.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}
