//! Plain data shared by every module: forge kinds, repository paths, file
//! modes, repositories as discovered and their snapshots.
//!
//! Nothing here does I/O or knows a wire format; `config` parses into these
//! types, `forge` fills them from a forge, `render` and `drift` consume them.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod note;
mod proposal;
mod secret;

pub use note::ForgeNote;
pub use proposal::{BranchTip, ExistingProposal, Missing, ProposalFate, Proposed, Wrote};
pub use secret::Secret;

/// Which forge a fleet lives on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    Github,
    Gitlab,
    Sourcehut,
    Local,
}

impl ForgeKind {
    /// Every kind; what each one means is its profile in `forge/<kind>/`.
    pub const ALL: [ForgeKind; 4] = [
        ForgeKind::Github,
        ForgeKind::Gitlab,
        ForgeKind::Sourcehut,
        ForgeKind::Local,
    ];

    /// The kind named `name` (as fleet.yaml and URLs spell it).
    pub fn parse(name: &str) -> Option<ForgeKind> {
        ForgeKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ForgeKind::Github => "github",
            ForgeKind::Gitlab => "gitlab",
            ForgeKind::Sourcehut => "sourcehut",
            ForgeKind::Local => "local",
        }
    }
}

impl fmt::Display for ForgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whose CI dialect a repository's managed files are rendered for. Equal to
/// the forge kind, except on the local forge where fleet.yaml chooses.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum CiFlavor {
    Github,
    Gitlab,
    Sourcehut,
}

impl CiFlavor {
    pub const ALL: [CiFlavor; 3] = [CiFlavor::Github, CiFlavor::Gitlab, CiFlavor::Sourcehut];

    pub fn as_str(self) -> &'static str {
        match self {
            CiFlavor::Github => "github",
            CiFlavor::Gitlab => "gitlab",
            CiFlavor::Sourcehut => "sourcehut",
        }
    }

    /// Where this forge's CI reads its configuration.
    pub fn ci_path(self) -> &'static str {
        match self {
            CiFlavor::Github => ".github/workflows/ci.yml",
            CiFlavor::Gitlab => ".gitlab-ci.yml",
            CiFlavor::Sourcehut => ".build.yml",
        }
    }
}

impl fmt::Display for CiFlavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a managed file is kept in line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The file must equal the rendering.
    #[default]
    Whole,
    /// Only the region between the marker lines is managed.
    Block,
    /// Created from the template when missing, never overwritten.
    Exists,
    /// The file must not exist.
    Absent,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Whole => "whole",
            Mode::Block => "block",
            Mode::Exists => "exists",
            Mode::Absent => "absent",
        }
    }
}

/// A path inside a repository: relative, `/`-separated, no `.`/`..` or empty
/// components, never inside `.git`. Constructing one is the only way a path
/// reaches the code that writes files, so escaping the repository through a
/// path is impossible by construction (symlinks are checked against the
/// snapshot, see `drift`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RepoPath(String);

/// `text` as one line for a table, a log or an error message: control
/// characters — a newline that would forge a line, an escape sequence that
/// would repaint the terminal — and bidirectional overrides are written
/// out (`\n`, `\u{1b}`); anything else is as it was.
pub fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    let hostile =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(hostile) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hostile(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.into()
}

/// Where a repository keeps its own word to drover (its opt-outs): read
/// in every snapshot, parsed by `config::repo_file`.
pub const REPO_FILE: &str = ".drover.yaml";

/// The longest managed path, in bytes (Linux's `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;
/// The longest component of a managed path, in bytes (most file systems').
pub const MAX_COMPONENT_BYTES: usize = 255;

/// Whether a path component names the `.git` directory on some checkout:
/// in any case, with trailing dots or spaces (Windows drops them), as its
/// 8.3 short name (`GIT~1`), with an NTFS stream suffix (`.git::$DATA`),
/// or with the characters HFS+ ignores (`.g\u{200c}it`) — the names git's
/// own `verify_path` refuses.
fn names_dot_git(component: &str) -> bool {
    let visible: String = component
        .chars()
        .filter(|c| {
            !matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{206a}'..='\u{206f}' | '\u{feff}')
        })
        .collect();
    let name = visible.split(':').next().unwrap_or_default();
    let name = name.trim_end_matches(['.', ' ']).to_ascii_lowercase();
    name == ".git" || name == "git~1"
}

impl RepoPath {
    pub fn new(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("a path may not be empty".into());
        }
        if let Some(c) = raw.chars().find(|c| c.is_control()) {
            return Err(format!(
                "`{}` contains the control character `{}`",
                raw.escape_default(),
                c.escape_default()
            ));
        }
        if raw.len() > MAX_PATH_BYTES {
            return Err(format!(
                "a path of {} bytes is longer than {MAX_PATH_BYTES}",
                raw.len()
            ));
        }
        if raw.starts_with('/') || raw.starts_with('\\') || raw.get(1..2) == Some(":") {
            return Err(format!(
                "`{raw}` is absolute; managed paths are relative to the repository root"
            ));
        }
        if raw.contains('\\') {
            return Err(format!(
                "`{raw}` contains a backslash; use `/` between components"
            ));
        }
        for component in raw.split('/') {
            match component {
                "" => return Err(format!("`{raw}` has an empty component")),
                "." | ".." => {
                    return Err(format!(
                        "`{raw}` contains `{component}`; a managed path may not leave or re-enter the repository"
                    ))
                }
                _ if names_dot_git(component) => {
                    return Err(format!(
                        "`{raw}` has the component `{component}`, which names .git on some checkout; drover never writes git's own files"
                    ))
                }
                _ if component.len() > MAX_COMPONENT_BYTES => {
                    return Err(format!(
                        "`{raw}` has a component longer than {MAX_COMPONENT_BYTES} bytes"
                    ))
                }
                _ => {}
            }
        }
        Ok(RepoPath(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Every proper ancestor directory, outermost first (`a`, `a/b` for `a/b/c`).
    pub fn ancestors(&self) -> impl Iterator<Item = RepoPath> + '_ {
        self.0
            .match_indices('/')
            .map(|(i, _)| RepoPath(self.0[..i].to_owned()))
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RepoPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, RepoPath::new)
    }
}

impl JsonSchema for RepoPath {
    fn schema_name() -> String {
        "RepoPath".into()
    }
    fn json_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut schema = String::json_schema(gen).into_object();
        schema.metadata().description =
            Some("A path relative to the repository root, `/`-separated, without `..`".into());
        schema.into()
    }
}

/// A repository as a forge lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteRepo {
    /// Name relative to the owner (`billing-api`, or `backend/billing-api`
    /// inside a GitLab subgroup).
    pub name: String,
    /// `owner/name` as the forge spells it.
    pub full_name: String,
    pub default_branch: String,
    /// The default branch's head commit, when discovery tells it (it does
    /// on every forge drover batches): what lets an unchanged repository
    /// be skipped without reading it.
    pub head: Option<String>,
    pub archived: bool,
    pub fork: bool,
    /// No commits at all: nothing to compare against, nothing to base on.
    pub empty: bool,
    /// The forge's own identifier (GitLab project id, sourcehut repo id, a
    /// directory on the local forge). Opaque outside `forge`.
    pub forge_id: String,
    /// Web address shown to people.
    pub web_url: String,
    /// Visible only to those given access (GitHub private; GitLab private
    /// or internal; sourcehut private or unlisted).
    pub private: bool,
    /// What the forge says the repository is, when discovery tells it.
    pub description: Option<String>,
}

impl RemoteRepo {
    /// A non-empty, active repository on `main` that no forge has listed
    /// yet: what a preview (or a seeding tool) renders for.
    pub fn named(name: &str, full_name: &str) -> RemoteRepo {
        RemoteRepo {
            name: name.to_owned(),
            full_name: full_name.to_owned(),
            default_branch: "main".into(),
            head: None,
            archived: false,
            fork: false,
            empty: false,
            forge_id: String::new(),
            web_url: String::new(),
            private: false,
            description: None,
        }
    }

    /// A repository a forge has just created, with no commit yet.
    pub fn created(name: &str, full_name: &str, private: bool, description: &str) -> RemoteRepo {
        RemoteRepo {
            empty: true,
            private,
            description: (!description.is_empty()).then(|| description.to_owned()),
            ..RemoteRepo::named(name, full_name)
        }
    }
}

/// Whether every character of a repository name (or path segment) is one
/// of A-Z a-z 0-9 . - _, as every forge drover knows requires.
pub fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// What a sweep concluded about a repository, as the store keeps it (the
/// report's `RepoState` carries the reasons too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    InLine,
    Drifted,
    Skipped,
    /// Drifted, but the rendering does not fit the repository.
    Misfit,
    Failed,
    /// Not finished: the forge's rate-limit budget ran out; the next sweep
    /// does it first.
    WaitingForBudget,
}

impl Outcome {
    /// The name it is stored and shown by.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::InLine => "in_line",
            Outcome::Drifted => "drifted",
            Outcome::Skipped => "skipped",
            Outcome::Misfit => "misfit",
            Outcome::Failed => "failed",
            Outcome::WaitingForBudget => "waiting_for_budget",
        }
    }
}

/// What a forge knows about one path of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actual {
    Missing,
    File {
        content: Vec<u8>,
    },
    /// A regular file known only by its git blob id: forges whose batched
    /// reads list trees but not contents (GitLab) answer this, and the
    /// sweep reads the content only where the id differs from the
    /// rendering's (`sweep::complete_snapshot`).
    Blob {
        oid: String,
    },
    /// The path itself is a symbolic link.
    Symlink {
        target: String,
    },
    /// A directory (or a submodule) where a file is wanted.
    NotAFile,
    /// One of the path's ancestors is a symbolic link.
    ThroughSymlink {
        link: RepoPath,
    },
}

/// What a snapshot reads of each repository: the content of `paths` and
/// the entries of `dirs` (`""` is the root), in the same batched request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    pub paths: Vec<RepoPath>,
    /// Directories to list, outermost first; each is `""` or a valid
    /// [`RepoPath`].
    pub dirs: Vec<String>,
}

impl Wanted {
    /// The directories whose entries a forge must read: the root, every
    /// ancestor of a wanted path (to see symlinks on the way) and every
    /// listed directory with its ancestors. Sorted, root first.
    pub fn directories(&self) -> Vec<String> {
        let mut dirs = std::collections::BTreeSet::from([String::new()]);
        for p in &self.paths {
            dirs.extend(p.ancestors().map(|a| a.to_string()));
        }
        for d in self.dirs.iter().filter(|d| !d.is_empty()) {
            if let Ok(p) = RepoPath::new(d) {
                dirs.extend(p.ancestors().map(|a| a.to_string()));
                dirs.insert(d.clone());
            }
        }
        dirs.into_iter().collect()
    }
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A submodule (or anything else that is not a blob or a tree).
    Other,
}

/// One entry of a listed directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub name: String,
    pub kind: EntryKind,
}

/// The default branch's head and the content of the paths drover asked for,
/// with drover's own branch and proposals when the forge read them in the
/// same batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Commit id of the default branch head; `None` for a plain directory.
    pub head: Option<String>,
    /// The head commit's root tree, where the forge tells it (a base for
    /// API-side commits).
    pub head_tree: Option<String>,
    pub files: BTreeMap<RepoPath, Actual>,
    /// The entries of each wanted directory that exists (`""` is the root),
    /// sorted by name. A directory that is missing, or is not a directory,
    /// has no listing.
    #[serde(default)]
    pub listings: BTreeMap<String, Vec<Listed>>,
    /// The tip of drover's branch, if it exists.
    pub branch: Option<BranchTip>,
    /// Proposals from drover's branch, newest first.
    pub proposals: Vec<ExistingProposal>,
    /// What the forge keeps of this snapshot for its own `propose`.
    #[serde(skip)]
    pub note: ForgeNote,
}

impl Snapshot {
    pub fn get(&self, path: &RepoPath) -> &Actual {
        self.files.get(path).unwrap_or(&Actual::Missing)
    }
}

/// One file of a proposal: its new content, or `None` to delete it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: RepoPath,
    pub content: Option<Vec<u8>>,
}

/// Where git reaches a repository, and with what: `user` and `token` (or
/// the SSH key) go to git only through a credential callback, never into
/// the URL.
#[derive(Clone)]
pub struct GitRemote {
    pub url: String,
    pub user: String,
    pub token: Secret,
    /// Set by [`GitRemote::over_ssh`]: the private key, in place of the
    /// token.
    pub ssh_key: Option<Secret>,
}

impl GitRemote {
    /// The same repository over SSH (`https://HOST/PATH` becomes
    /// `ssh://git@HOST/PATH`), authenticated by `key`.
    pub fn over_ssh(self, key: Secret) -> GitRemote {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, rest)| rest);
        // The HTTPS port is not SSH's.
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        GitRemote {
            url: format!("ssh://git@{host}/{path}"),
            user: "git".into(),
            ssh_key: Some(key),
            ..self
        }
    }
}

impl std::fmt::Debug for GitRemote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GitRemote({} as {})", self.url, self.user)
    }
}

/// Deserialises a string and validates it while the deserialiser is still
/// on the scalar, so that the error carries the scalar's own line and
/// column (an error raised after the visit is placed at the enclosing
/// mapping instead).
pub fn validated_str<'de, D, T>(
    d: D,
    check: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct V<F>(F);
    impl<'de, T, F: FnOnce(&str) -> Result<T, String>> serde::de::Visitor<'de> for V<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            (self.0)(v).map_err(E::custom)
        }
    }
    d.deserialize_str(V(check))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_paths_that_escape_are_rejected() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a/.",
            ".git/config",
            "C:/x",
            "a\\b",
            // .git in any component, in any case, as Windows, NTFS and
            // HFS+ would read it.
            "sub/.git/hooks/pre-commit",
            ".GIT/config",
            "a/.Git",
            ".git./config",
            ".git /config",
            ".git. . /x",
            "git~1/config",
            "a/GIT~1/hooks/x",
            ".git::$INDEX_ALLOCATION/config",
            ".g\u{200c}it/config",
            "\u{feff}.git/config",
            // NUL and other control characters.
            "a\0b",
            "ci\n.yml",
            "a/\u{1b}[31m",
            "x\u{7f}",
        ] {
            assert!(RepoPath::new(bad).is_err(), "{bad:?} should be rejected");
        }
        let long_component = "c".repeat(256);
        let long_path = ["d"; 2049].join("/");
        for bad in [long_component.as_str(), long_path.as_str()] {
            assert!(RepoPath::new(bad).unwrap_err().contains("longer than"));
        }
        for good in [
            "Dockerfile",
            ".github/workflows/ci.yml",
            "deploy/k8s/hpa.yaml",
            "..a",
            ".gitignore",
            ".gitlab-ci.yml",
            "a/.github",
            "git~2",
            ".gitmodules.example",
            "git",
            "c".repeat(255).as_str(),
        ] {
            assert_eq!(RepoPath::new(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn ancestors_are_outermost_first() {
        let p = RepoPath::new("a/b/c.txt").unwrap();
        let got: Vec<_> = p.ancestors().map(|a| a.to_string()).collect();
        assert_eq!(got, ["a", "a/b"]);
    }
}
