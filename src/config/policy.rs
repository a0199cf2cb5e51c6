//! `policies/<language>.yaml`: how a language is detected and which files
//! every repository of that language carries, with their management mode.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::facts::Kind;
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
    /// Only for repositories of these kinds. Default: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<Kind>>,
    /// Facts that must hold, each a dotted path into `repo.facts`
    /// (`rust.lib`), true when present and not false, empty or null;
    /// `!rust.lock` when it must not. All must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<String>,
    /// What to do when the file exists without drover's header (written
    /// by hand): `keep` it and report it, or `replace` it (an `absent`
    /// file: remove it), saying so first in the proposal. Default: `keep`
    /// for files drover writes, `replace` for `absent` files (a policy that
    /// says a file must not exist means it whoever wrote it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub takeover: Option<Takeover>,
    /// Proposed even when another file of the policy does not fit the
    /// repository. Default: a misfit withholds the whole proposal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stands_alone: bool,
}

/// What becomes of a hand-written file at a managed path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Takeover {
    #[default]
    Keep,
    Replace,
}

impl ManagedFile {
    pub fn applies_to(&self, ci: CiFlavor) -> bool {
        self.forges.as_ref().is_none_or(|f| f.contains(&ci))
    }

    /// Whether the file is for a repository of this kind and facts
    /// (`facts` is `repo.facts` as JSON).
    pub fn selected(&self, kind: Kind, facts: &serde_json::Value) -> bool {
        self.kinds.as_ref().is_none_or(|k| k.contains(&kind))
            && self.when.iter().all(|cond| {
                let (negated, path) = match cond.strip_prefix('!') {
                    Some(p) => (true, p),
                    None => (false, cond.as_str()),
                };
                truthy(path.split('.').try_fold(facts, |v, k| v.get(k))) != negated
            })
    }

    pub fn markers(&self) -> Markers {
        self.markers.clone().unwrap_or_default()
    }

    pub fn takeover(&self) -> Takeover {
        self.takeover.unwrap_or(match self.mode {
            Mode::Absent => Takeover::Replace,
            _ => Takeover::Keep,
        })
    }
}

/// A fact's value counts as true when present and not false, zero, empty
/// or null.
fn truthy(value: Option<&serde_json::Value>) -> bool {
    use serde_json::Value;
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Bool(true)) => true,
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
