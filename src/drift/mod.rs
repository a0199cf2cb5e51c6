//! Desired vs actual, per management mode → drift with unified diffs. Pure.
//!
//! Deliberate choices, each tested:
//! - Line endings belong to the repository: when a file uses CRLF
//!   throughout, the rendering is compared and written with CRLF, so a
//!   checkout with `core.autocrlf` or `eol=crlf` is not drift.
//! - A missing final newline is drift (renderings always end with one),
//!   shown by the diff's "\ No newline at end of file".
//! - `block` touches only the lines between its markers; every byte outside
//!   them is kept. A file without the markers gets the block appended.
//! - A destination that is a symlink, lies below one, or is a directory is
//!   refused for the whole repository rather than written through.

mod block;
mod diff;

use serde::Serialize;

pub use diff::{git_diff, patch_of};

use crate::model::{Actual, Mode, RepoPath, Snapshot};
use crate::render::DesiredFile;

/// What a proposal does to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Create,
    Update,
    Delete,
}

/// One drifted file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDrift {
    pub path: RepoPath,
    pub mode: Mode,
    pub change: Change,
    pub why: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The file's new content; `None` when it is deleted.
    #[serde(skip)]
    pub after: Option<Vec<u8>>,
    /// A git-style unified diff that `git apply` accepts.
    pub diff: String,
    /// Replaces a file written by hand, of this many lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub takeover: Option<usize>,
}

/// A destination drover refuses to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriftError {
    #[error("{path}: refusing to write through symlink `{link}`, which could lead outside the repository")]
    ThroughSymlink { path: RepoPath, link: RepoPath },
    #[error("{path}: is a symlink in the repository; refusing to replace or write through it")]
    Symlink { path: RepoPath },
    #[error("{path}: is a directory (or submodule) in the repository, not a file")]
    NotAFile { path: RepoPath },
    #[error("{path}: {problem}")]
    Block { path: RepoPath, problem: String },
    /// A snapshot that still holds a blob id where content is needed: the
    /// sweep completes snapshots before comparing.
    #[error("{path}: content was not read")]
    Unread { path: RepoPath },
}

/// Compares every desired file with the snapshot, in order.
pub fn compare(desired: &[DesiredFile], snapshot: &Snapshot) -> Result<Vec<FileDrift>, DriftError> {
    let mut drifts = Vec::new();
    for want in desired {
        if let Some(d) = compare_one(want, snapshot.get(&want.path))? {
            drifts.push(d);
        }
    }
    Ok(drifts)
}

fn compare_one(want: &DesiredFile, actual: &Actual) -> Result<Option<FileDrift>, DriftError> {
    let path = &want.path;
    let current: Option<&[u8]> = match actual {
        Actual::Missing => None,
        Actual::File { content } => Some(content),
        // Any file will do for `exists`; everything else needs the bytes.
        Actual::Blob { .. } if want.mode == Mode::Exists => return Ok(None),
        Actual::Blob { .. } => return Err(DriftError::Unread { path: path.clone() }),
        Actual::ThroughSymlink { link } => {
            return Err(DriftError::ThroughSymlink {
                path: path.clone(),
                link: link.clone(),
            })
        }
        // Removing a link is safe: nothing outside the repository is touched.
        Actual::Symlink { .. } if want.mode == Mode::Absent => Some(&[]),
        Actual::Symlink { .. } => return Err(DriftError::Symlink { path: path.clone() }),
        Actual::NotAFile if want.mode == Mode::Absent => {
            return Err(DriftError::NotAFile { path: path.clone() })
        }
        Actual::NotAFile => return Err(DriftError::NotAFile { path: path.clone() }),
    };
    let rendered = want.content.as_deref().unwrap_or("");
    let after: Option<Vec<u8>> = match (want.mode, current) {
        (Mode::Absent, None) | (Mode::Exists, Some(_)) => return Ok(None),
        (Mode::Absent, Some(_)) => None,
        (Mode::Whole | Mode::Exists, None) => Some(rendered.as_bytes().to_vec()),
        (Mode::Whole, Some(old)) => Some(with_line_endings_of(old, rendered).into_bytes()),
        (Mode::Block, None) => Some(block::fresh(&want.markers, rendered).into_bytes()),
        (Mode::Block, Some(old)) => {
            let old = std::str::from_utf8(old).map_err(|_| DriftError::Block {
                path: path.clone(),
                problem: "is not UTF-8 text; a managed block cannot be placed in it".into(),
            })?;
            let spliced = block::splice(old, &want.markers, rendered).map_err(|problem| {
                DriftError::Block {
                    path: path.clone(),
                    problem,
                }
            })?;
            Some(spliced.into_bytes())
        }
    };
    if current == after.as_deref() {
        return Ok(None);
    }
    let change = match (current, &after) {
        (None, _) => Change::Create,
        (Some(_), None) => Change::Delete,
        (Some(_), Some(_)) => Change::Update,
    };
    Ok(Some(FileDrift {
        path: path.clone(),
        mode: want.mode,
        change,
        why: want.why.clone(),
        template: want.template.clone(),
        diff: git_diff(path, current, after.as_deref()),
        after,
        takeover: None,
    }))
}

/// The whole file a repository that lacks it gets: the rendering, between
/// its markers in block mode; `None` for a file that must be absent.
pub fn new_file(want: &DesiredFile) -> Option<String> {
    let content = want.content.as_deref()?;
    Some(match want.mode {
        Mode::Block => block::fresh(&want.markers, content),
        _ => content.to_owned(),
    })
}

/// Whether text uses CRLF for every line break.
pub(crate) fn is_crlf(text: &[u8]) -> bool {
    let lf = text.iter().filter(|&&b| b == b'\n').count();
    lf > 0 && text.windows(2).filter(|w| w == b"\r\n").count() == lf
}

/// The rendering with the existing file's line endings.
fn with_line_endings_of(existing: &[u8], rendered: &str) -> String {
    if is_crlf(existing) {
        rendered.replace("\r\n", "\n").replace('\n', "\r\n")
    } else {
        rendered.to_owned()
    }
}

#[cfg(test)]
mod tests;
