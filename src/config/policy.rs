//! `policies/<language>.yaml`: how a language is detected and which files
//! every repository of that language carries, with their management mode.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{CiFlavor, Mode, RepoPath};

/// One language's policy.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Must equal the file's stem (`rust` for `rust.yaml`).
    pub language: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub detect: Detect,
    /// Template variables' defaults (`vars.*`).
    #[serde(default)]
    pub variables: BTreeMap<String, serde_json::Value>,
    pub files: Vec<ManagedFile>,
}

/// How a repository is recognised as being of this language.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Detect {
    /// Paths relative to the repository root; any one present is enough.
    pub markers: Vec<RepoPath>,
    /// Policies are tried highest priority first, then by name.
    #[serde(default)]
    pub priority: i32,
}

/// A file the policy manages.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManagedFile {
    /// Destination, relative to the repository root.
    pub path: RepoPath,
    /// Template name, relative to the templates directory. Required for
    /// every mode but `absent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default)]
    pub mode: Mode,
    /// Only for repositories whose CI flavour is listed. Default: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forges: Option<Vec<CiFlavor>>,
    /// One line for reviewers: why this file is managed.
    pub why: String,
    /// Block mode: the marker lines around the managed region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markers: Option<Markers>,
}

impl ManagedFile {
    pub fn applies_to(&self, ci: CiFlavor) -> bool {
        self.forges.as_ref().is_none_or(|f| f.contains(&ci))
    }

    pub fn markers(&self) -> Markers {
        self.markers.clone().unwrap_or_default()
    }
}

/// The lines that open and close a managed block.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Markers {
    pub begin: String,
    pub end: String,
}

impl Default for Markers {
    fn default() -> Self {
        Markers {
            begin: "# >>> drover managed block >>>".into(),
            end: "# <<< drover managed block <<<".into(),
        }
    }
}
