//! Seeding: creating owners, tokens and repositories with real initial
//! commits, from Rust ([`RepoSeed`]) or from a YAML/JSON file ([`SeedFile`],
//! used by the binary and by `POST /_emulator/seed`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::gitstore::{self, FileChange, Person};
use crate::world::{Forge, OwnerKind, Visibility, World};

/// How to create one repository.
#[derive(Clone, Debug, PartialEq)]
pub struct RepoSeed {
    pub default_branch: String,
    /// Files of the initial commit (path, content). If empty and `empty` is
    /// false, a README.md is committed so the default branch exists.
    pub files: Vec<(String, Vec<u8>)>,
    pub description: Option<String>,
    pub archived: bool,
    pub fork: bool,
    /// No commit at all: the default branch is unborn.
    pub empty: bool,
    pub private: bool,
}

impl Default for RepoSeed {
    fn default() -> Self {
        RepoSeed {
            default_branch: "main".into(),
            files: Vec::new(),
            description: None,
            archived: false,
            fork: false,
            empty: false,
            private: false,
        }
    }
}

impl RepoSeed {
    /// Adds a file to the initial commit.
    pub fn file(mut self, path: &str, content: impl Into<Vec<u8>>) -> Self {
        self.files.push((path.to_string(), content.into()));
        self
    }
    pub fn default_branch(mut self, branch: &str) -> Self {
        self.default_branch = branch.to_string();
        self
    }
    pub fn description(mut self, d: &str) -> Self {
        self.description = Some(d.to_string());
        self
    }
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }
    pub fn archived(mut self) -> Self {
        self.archived = true;
        self
    }
    pub fn fork(mut self) -> Self {
        self.fork = true;
        self
    }
    pub fn empty(mut self) -> Self {
        self.empty = true;
        self
    }
}

/// The kind of owner created implicitly for a repository path.
fn default_owner_kind(forge: Forge) -> OwnerKind {
    match forge {
        Forge::Github => OwnerKind::Organization,
        Forge::Gitlab => OwnerKind::Group,
        Forge::Sourcehut => OwnerKind::User,
    }
}

/// Creates a repository at `full_path` (owners created as needed) with one
/// real initial commit on the default branch. Returns its id.
pub fn create_repo(
    world: &mut World,
    forge: Forge,
    full_path: &str,
    seed: &RepoSeed,
) -> Result<u64> {
    let id = world.create_repo_record(
        forge,
        full_path,
        default_owner_kind(forge),
        &seed.default_branch,
    )?;
    let repo = world.repos.get_mut(&id).expect("just created");
    repo.description = seed.description.clone();
    repo.archived = seed.archived;
    repo.fork = seed.fork;
    repo.visibility = if seed.private {
        Visibility::Private
    } else {
        Visibility::Public
    };
    if seed.empty {
        return Ok(id);
    }
    let mut changes: Vec<FileChange> = seed
        .files
        .iter()
        .map(|(path, content)| FileChange::write(path.clone(), content.clone()))
        .collect();
    if changes.is_empty() {
        let name = world.repos[&id].name.clone();
        changes.push(FileChange::write("README.md", format!("# {name}\n")));
    }
    let mut author = Person::emulator();
    author.time = Some(world.now());
    world.commit_files(
        id,
        &seed.default_branch,
        &changes,
        "Initial commit",
        &author,
    )?;
    Ok(id)
}

/// One commit to add to a branch.
#[derive(Clone, Debug, PartialEq)]
pub struct CommitSeed {
    pub branch: String,
    pub changes: Vec<FileChange>,
    pub message: String,
    pub author: Person,
}

impl CommitSeed {
    pub fn new(branch: &str, message: &str) -> Self {
        CommitSeed {
            branch: branch.into(),
            changes: Vec::new(),
            message: message.into(),
            author: Person::emulator(),
        }
    }
    pub fn write(mut self, path: &str, content: impl Into<Vec<u8>>) -> Self {
        self.changes.push(FileChange::write(path, content));
        self
    }
    pub fn delete(mut self, path: &str) -> Self {
        self.changes.push(FileChange::delete(path));
        self
    }
    pub fn author(mut self, author: Person) -> Self {
        self.author = author;
        self
    }
}

/// A whole world description, for the binary and the control API.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedFile {
    pub owners: Vec<OwnerEntry>,
    pub tokens: Vec<TokenEntry>,
    pub repos: Vec<RepoEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerEntry {
    pub forge: Forge,
    pub path: String,
    pub kind: OwnerKind,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub forge: Forge,
    pub user: String,
    pub token: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoEntry {
    pub forge: Forge,
    pub path: String,
    #[serde(default = "main")]
    pub default_branch: String,
    /// Path → UTF-8 content.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub fork: bool,
    #[serde(default)]
    pub empty: bool,
    #[serde(default)]
    pub private: bool,
}

fn main() -> String {
    "main".into()
}

impl From<&RepoEntry> for RepoSeed {
    fn from(e: &RepoEntry) -> Self {
        RepoSeed {
            default_branch: e.default_branch.clone(),
            files: e
                .files
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                .collect(),
            description: e.description.clone(),
            archived: e.archived,
            fork: e.fork,
            empty: e.empty,
            private: e.private,
        }
    }
}

/// Applies a seed file: owners, then tokens, then repositories.
pub fn apply(world: &mut World, seed: &SeedFile) -> Result<()> {
    for o in &seed.owners {
        world.ensure_owner(o.forge, o.kind, &o.path)?;
    }
    for t in &seed.tokens {
        world.add_token(t.forge, &t.user, &t.token)?;
    }
    for r in &seed.repos {
        create_repo(world, r.forge, &r.path, &RepoSeed::from(r))?;
    }
    Ok(())
}

/// Adds a commit to a branch of an existing repository.
pub fn commit(
    world: &mut World,
    forge: Forge,
    full_path: &str,
    commit: &CommitSeed,
) -> Result<String> {
    let id = world.require_repo(forge, full_path)?.id;
    let mut author = commit.author.clone();
    if author.time.is_none() {
        author.time = Some(world.now());
    }
    world.commit_files(
        id,
        &commit.branch,
        &commit.changes,
        &commit.message,
        &author,
    )
}

/// Reads refs of a repository (full ref name → oid).
pub fn refs(world: &World, forge: Forge, full_path: &str) -> Result<BTreeMap<String, String>> {
    gitstore::refs(&world.require_repo(forge, full_path)?.git_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_file_creates_owners_tokens_and_repos() {
        let dir = tempfile::tempdir().unwrap();
        let mut world = World::new(dir.path());
        let seed: SeedFile = serde_yaml::from_str(
            "owners: [{forge: gitlab, path: acme/platform/tools, kind: group}]\n\
             tokens: [{forge: sourcehut, user: alice, token: t1}]\n\
             repos:\n\
             - {forge: gitlab, path: acme/platform/tools/cli, files: {Cargo.toml: '[package]'}}\n\
             - {forge: sourcehut, path: alice/web, empty: true}\n",
        )
        .unwrap();
        apply(&mut world, &seed).unwrap();
        let top = world.owner(Forge::Gitlab, "acme").unwrap().id;
        assert_eq!(world.owner_and_descendants(top).len(), 3);
        assert_eq!(world.repos_of(top, true).len(), 1);
        assert_eq!(world.repos_of(top, false).len(), 0);
        assert_eq!(world.user_for_token(Forge::Sourcehut, "t1"), Some("alice"));
        assert_eq!(world.user_for_token(Forge::Github, "t1"), None);
        assert!(refs(&world, Forge::Sourcehut, "~alice/web")
            .unwrap()
            .is_empty());
        assert_eq!(
            refs(&world, Forge::Gitlab, "acme/platform/tools/cli")
                .unwrap()
                .len(),
            1
        );
        assert!(create_repo(
            &mut world,
            Forge::Sourcehut,
            "alice/web",
            &RepoSeed::default()
        )
        .is_err());
    }
}
