//! `.drover.yaml`: a repository's own word to drover. A service team that
//! cannot edit the fleet's fleet.yaml keeps its own version of a managed
//! file by listing it here, with a reason; drover reads the file in the
//! same batched snapshot as the rest of the repository and shows the
//! skips in its reports. The fleet's owners turn this off with
//! `repositories.repository_skips: false`.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ConfigError, Skip};
use crate::model::RepoPath;

/// Where the file lives in a repository.
pub const PATH: &str = crate::model::REPO_FILE;

/// What `.drover.yaml` may say.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepoFile {
    /// Managed files this repository keeps as its own, each with a reason.
    #[serde(default)]
    pub skip: Vec<Skip>,
}

impl RepoFile {
    /// Parses a repository's `.drover.yaml`; errors name the file (as
    /// `<full name>/.drover.yaml`), line and column.
    pub fn parse(full_name: &str, bytes: &[u8]) -> Result<RepoFile, ConfigError> {
        let shown = format!("{full_name}/{PATH}");
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ConfigError::whole_file(&shown, "not UTF-8 text"))?;
        let file: RepoFile = super::yaml::parse(Path::new(&shown), text)?;
        for (i, skip) in file.skip.iter().enumerate() {
            if skip.reason.trim().is_empty() {
                let (line, col) = super::locate(text, &["skip"], Some(skip.path.as_str()));
                return Err(ConfigError::at(
                    &shown,
                    line,
                    col,
                    format!(
                        "skip {} (`{}`) has no reason: say why this repository keeps its own version",
                        i + 1,
                        skip.path
                    ),
                ));
            }
        }
        Ok(file)
    }

    /// The path as a repository path.
    pub fn path() -> RepoPath {
        RepoPath::new(PATH).expect("a valid repository path")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_are_read_with_their_reasons() {
        let file = RepoFile::parse(
            "acme/api",
            b"skip:\n  - path: Dockerfile\n    reason: built with nix\n",
        )
        .unwrap();
        assert_eq!(file.skip.len(), 1);
        assert_eq!(file.skip[0].path.as_str(), "Dockerfile");
        assert_eq!(file.skip[0].reason, "built with nix");
    }

    #[test]
    fn an_empty_file_skips_nothing() {
        assert!(RepoFile::parse("acme/api", b"").unwrap().skip.is_empty());
        assert!(RepoFile::parse("acme/api", b"# nothing yet\n")
            .unwrap()
            .skip
            .is_empty());
    }

    #[test]
    fn errors_name_the_repository_file_line_and_problem() {
        let err = RepoFile::parse("acme/api", b"skip:\n  - path: Dockerfile\n").unwrap_err();
        assert_eq!(err.file, "acme/api/.drover.yaml");
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.contains("missing field `reason`"), "{err}");

        let err = RepoFile::parse(
            "acme/api",
            b"skip:\n  - path: Dockerfile\n    reason: \"  \"\n",
        )
        .unwrap_err();
        assert!(err.message.contains("has no reason"), "{err}");

        let err = RepoFile::parse("acme/api", b"skips:\n  - path: Dockerfile\n").unwrap_err();
        assert_eq!((err.line, err.column), (1, 1), "{err}");
        assert!(err.message.contains("unknown field `skips`"), "{err}");

        let err = RepoFile::parse(
            "acme/api",
            b"skip:\n  - path: ../etc/passwd\n    reason: x\n",
        )
        .unwrap_err();
        assert_eq!(err.line, 2, "{err}");
    }
}
