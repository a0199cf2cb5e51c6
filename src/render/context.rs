//! The render context: what a template can see. This struct is
//! load-bearing: its field names are the template language's vocabulary, so
//! renaming one breaks every user's templates. It is documented in
//! `docs/policy-and-context.md` and snapshot-tested.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Config, Override};
use crate::facts::{Facts, Kind};
use crate::model::{CiFlavor, ForgeKind, RemoteRepo};

/// Everything a template is rendered with.
#[derive(Debug, Clone, Serialize)]
pub struct RenderContext {
    pub repo: RepoFacts,
    pub forge: ForgeFacts,
    pub defaults: DefaultFacts,
    /// Policy variables, overridden by fleet defaults, overridden by the
    /// repository's own.
    pub vars: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepoFacts {
    pub name: String,
    pub full_name: String,
    pub language: String,
    pub default_branch: String,
    /// `forge.registry/name`, where CI pushes this repository's image: the
    /// repository's whole path below the owner (GitLab subgroups included),
    /// lower-case, as registries name images.
    pub image: String,
    /// The name as a DNS label (RFC 1123: lower-case letters, digits and
    /// `-`, at most 63, starting and ending alphanumeric): what Kubernetes
    /// accepts for `metadata.name`, container names and label values.
    /// `platform/core/api` is `platform-core-api`.
    pub dns_name: String,
    /// `service`, `cli` or `library`: the override in fleet.yaml, else
    /// what the facts suggest, else `service` (a language drover reads no
    /// facts for).
    pub kind: Kind,
    /// What the repository declares (`crate::facts`).
    pub facts: Facts,
    /// fleet.yaml's `kind:` for this repository, if any.
    #[serde(skip)]
    pub kind_override: Option<Kind>,
}

impl RepoFacts {
    /// A repository known only by name: no facts, a service.
    pub fn named(name: &str, full_name: &str, language: &str, image: &str) -> RepoFacts {
        RepoFacts {
            name: name.into(),
            full_name: full_name.into(),
            language: language.into(),
            default_branch: "main".into(),
            image: image.into(),
            dns_name: dns_label(name),
            kind: Kind::Service,
            facts: Facts::default(),
            kind_override: None,
        }
    }
}

/// What templates know of the forge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForgeFacts {
    pub kind: ForgeKind,
    pub ci: CiFlavor,
    pub host: String,
    pub owner: String,
    /// The forge's web root (not its API root).
    pub url: String,
    pub registry: String,
    pub ci_path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DefaultFacts {
    pub branch: String,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
}

impl RenderContext {
    /// The context for one repository of a given language, with its facts.
    pub fn new(
        config: &Config,
        forge: &ForgeFacts,
        repo: &RemoteRepo,
        language: &str,
        facts: &Facts,
    ) -> RenderContext {
        let defaults = &config.fleet.defaults;
        let over: Option<&Override> = config.fleet.repositories.overrides.get(&repo.name);
        let mut vars = config
            .policy(language)
            .map(|p| p.variables.clone())
            .unwrap_or_default();
        vars.extend(defaults.variables.clone());
        if let Some(o) = over {
            vars.extend(o.variables.clone());
        }
        let kind_override = over.and_then(|o| o.kind);
        RenderContext {
            repo: RepoFacts {
                name: repo.name.clone(),
                full_name: repo.full_name.clone(),
                language: language.to_owned(),
                default_branch: repo.default_branch.clone(),
                image: format!("{}/{}", forge.registry, repo.name.to_lowercase()),
                dns_name: dns_label(&repo.name),
                kind: kind_override
                    .or_else(|| facts.kind(language))
                    .unwrap_or(Kind::Service),
                facts: facts.clone(),
                kind_override,
            },
            forge: forge.clone(),
            defaults: DefaultFacts {
                branch: defaults.branch.as_str().to_owned(),
                labels: over
                    .and_then(|o| o.labels.clone())
                    .unwrap_or_else(|| defaults.labels.clone()),
                reviewers: over
                    .and_then(|o| o.reviewers.clone())
                    .unwrap_or_else(|| defaults.reviewers.clone()),
            },
            vars,
        }
    }
}

/// `name` as an RFC 1123 DNS label: lower-case, every run of other
/// characters one `-`, trimmed of `-`; longer than 63 characters, cut and
/// ended with a digest of the whole name so two long names stay apart.
pub fn dns_label(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_owned();
    let out = if out.is_empty() {
        "repo".to_owned()
    } else {
        out
    };
    if out.len() <= 63 {
        return out;
    }
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(name.as_bytes()));
    format!("{}-{}", out[..54].trim_end_matches('-'), &digest[..8])
}

#[cfg(test)]
mod dns_tests {
    use super::dns_label;

    #[test]
    fn names_become_dns_labels_kubernetes_accepts() {
        let label = regex::Regex::new(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$").unwrap();
        let long = "a".repeat(80);
        let cases = [
            ("billing-api", "billing-api"),
            ("platform/core/api", "platform-core-api"),
            ("Web_Frontend.v2", "web-frontend-v2"),
            ("--x--", "x"),
            ("___", "repo"),
        ];
        for (name, want) in cases {
            assert_eq!(dns_label(name), want);
        }
        for name in ["platform/core/api", long.as_str(), "ÄÖ/ü", "a.b_c-d"] {
            let got = dns_label(name);
            assert!(label.is_match(&got), "{name} → {got}");
        }
        assert_ne!(dns_label(&long), dns_label(&format!("{long}b")));
    }
}
