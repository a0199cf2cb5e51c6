//! What drover knows about each kind of forge without talking to one: its
//! public defaults (API and web roots, container registry), how it spells
//! a repository's full name, whose CI it runs, the names it accepts, what
//! a proposal and its rate limits cost, how to open a client for it from
//! fleet.yaml, and its webhook. One [`Profile`] per forge, in the forge's
//! own folder; [`profile`] is the one place that lists them.
//!
//! Everything here is pure except [`Profile::open`] and
//! [`Profile::webhook`], which resolve secrets (`env:`/`file:`).

use crate::config::{Config, ForgeSection, SecretError, SecretRef};
use crate::model::{CiFlavor, ForgeKind};
use crate::render::ForgeFacts;

use super::hook::Webhook;
use super::{Forge, ForgeError};

/// One kind of forge, as drover knows it.
pub trait Profile: Sync {
    fn kind(&self) -> ForgeKind;

    /// How people name it (`GitHub`), for messages.
    fn title(&self) -> &'static str;

    /// The web root (where people and git reach repositories, not the API)
    /// for fleet.yaml's `forge.url`, or the public service's without one.
    fn web_root(&self, url: Option<&str>) -> String;

    /// The container registry namespace images go to when fleet.yaml sets
    /// no `forge.registry`.
    fn registry(&self, owner: &str, host: &str) -> String;

    /// A repository's full name as the forge spells it.
    fn full_name(&self, owner: &str, name: &str) -> String {
        format!("{owner}/{name}")
    }

    /// Whose CI dialect the fleet's files are rendered for.
    fn ci_flavor(&self, section: &ForgeSection) -> CiFlavor;

    /// Why the forge refuses `name` (relative to the owner) for a new
    /// repository, if it does.
    fn name_problem(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }

    /// API requests one new proposal costs on this forge (a migration's
    /// estimate).
    fn proposal_requests(&self) -> u64;

    /// What the forge's rate limits allow a migration that creates
    /// `creations` repositories in about `requests` requests.
    fn limit_note(&self, creations: usize, requests: u64) -> String;

    /// A client for the forge `section` describes (fleet.yaml's `forge:`
    /// or `migrate_to:`), its secrets resolved.
    fn open(&self, config: &Config, section: &ForgeSection) -> Result<Box<dyn Forge>, OpenError>;

    /// The forge's webhook, when `daemon.webhooks` configures one.
    fn webhook(&self, config: &Config) -> Result<Option<Box<dyn Webhook>>, OpenError> {
        let _ = config;
        Ok(None)
    }
}

/// The profile of a kind of forge.
pub fn profile(kind: ForgeKind) -> &'static dyn Profile {
    match kind {
        ForgeKind::Github => &super::github::profile::Github,
        ForgeKind::Gitlab => &super::gitlab::profile::Gitlab,
        ForgeKind::Sourcehut => &super::sourcehut::profile::Sourcehut,
        ForgeKind::Local => &super::local::profile::Local,
    }
}

/// A forge that could not be opened from fleet.yaml.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A secret reference that did not resolve; `what` names its key.
    #[error("{what}")]
    Secret {
        what: String,
        #[source]
        source: SecretError,
    },
    /// A setting that holds no usable value; `what` names its key.
    #[error("{what}: {problem}")]
    Invalid { what: String, problem: String },
    #[error(transparent)]
    Forge(#[from] ForgeError),
}

/// The forge fleet.yaml's `forge:` names.
pub fn open(config: &Config) -> Result<Box<dyn Forge>, OpenError> {
    let section = &config.fleet.forge;
    profile(section.kind).open(config, section)
}

/// Whose CI dialect the fleet is rendered for.
pub fn ci_flavor(config: &Config) -> CiFlavor {
    let section = &config.fleet.forge;
    profile(section.kind).ci_flavor(section)
}

/// What templates know of the fleet's forge: its kind, CI, web root and
/// host, owner and registry, each forge's public defaults filled in.
pub fn forge_facts(config: &Config) -> ForgeFacts {
    let section = &config.fleet.forge;
    let profile = profile(section.kind);
    let ci = profile.ci_flavor(section);
    let owner = section.owner.clone().unwrap_or_else(|| "local".into());
    let url = profile.web_root(section.url.as_deref());
    let host = host_of(&url);
    let registry = section
        .registry
        .clone()
        .unwrap_or_else(|| profile.registry(&owner, &host));
    ForgeFacts {
        kind: section.kind,
        ci,
        host,
        owner,
        url,
        registry,
        ci_path: ci.ci_path().into(),
    }
}

/// The web root for a configured API root: the API suffixes go
/// (`/api/v3`, `/api/v4`), and GitHub's API host becomes its web host.
pub(super) fn web_of_api(api: &str) -> String {
    api.trim_end_matches('/')
        .trim_end_matches("/api/v3")
        .trim_end_matches("/api/v4")
        .replace("://api.github.com", "://github.com")
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// A secret reference of fleet.yaml, resolved; `what` names its key.
pub(super) fn secret(
    config: &Config,
    reference: &SecretRef,
    what: &str,
) -> Result<crate::model::Secret, OpenError> {
    reference
        .resolve(&config.base_dir)
        .map_err(|source| OpenError::Secret {
            what: what.into(),
            source,
        })
}

/// The token of a remote forge's section, resolved.
pub(super) fn token(
    config: &Config,
    section: &ForgeSection,
) -> Result<crate::model::Secret, OpenError> {
    let token = section
        .token
        .as_ref()
        .expect("validated: remote forges have a token");
    secret(config, token, "forge.token")
}

/// How a remote forge's client retries and waits: the defaults, and the
/// section's `max_wait_secs` for rate-limit budgets.
pub(super) fn policy(section: &ForgeSection) -> super::http::RetryPolicy {
    let mut policy = super::http::RetryPolicy::default();
    if let Some(secs) = section.max_wait_secs {
        policy.max_wait = std::time::Duration::from_secs(secs);
    }
    policy
}

/// The owner of a remote forge's section.
pub(super) fn owner(section: &ForgeSection) -> &str {
    section
        .owner
        .as_deref()
        .expect("validated: remote forges have an owner")
}

/// A webhook checked with a shared secret of `daemon.webhooks` (`what`
/// names its key), when one is configured.
pub(super) fn secret_hook<H: Webhook + 'static>(
    config: &Config,
    reference: Option<&SecretRef>,
    what: &str,
    hook: impl FnOnce(crate::model::Secret) -> H,
) -> Result<Option<Box<dyn Webhook>>, OpenError> {
    Ok(match reference {
        Some(r) => Some(Box::new(hook(secret(config, r, what)?))),
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(forge: &str) -> Config {
        let fleet = crate::config::parse_fleet(std::path::Path::new("fleet.yaml"), forge).unwrap();
        Config {
            fleet_path: "fleet.yaml".into(),
            base_dir: ".".into(),
            fleet,
            policies: Vec::new(),
            templates: Default::default(),
            revision: String::new(),
            state_dir_flag: None,
        }
    }

    #[test]
    fn each_forge_fills_its_public_defaults() {
        let cases = [
            (
                "forge:\n  kind: github\n  owner: Acme\n  token: env:T\n",
                ("github.com", "https://github.com", "ghcr.io/acme", CiFlavor::Github),
            ),
            (
                "forge:\n  kind: github\n  url: https://ghe.example/api/v3/\n  owner: acme\n  token: env:T\n",
                ("ghe.example", "https://ghe.example", "ghcr.io/acme", CiFlavor::Github),
            ),
            (
                "forge:\n  kind: gitlab\n  owner: acme/backend\n  token: env:T\n",
                ("gitlab.com", "https://gitlab.com", "registry.gitlab.com/acme/backend", CiFlavor::Gitlab),
            ),
            (
                "forge:\n  kind: gitlab\n  url: https://git.example.com/api/v4\n  owner: acme\n  token: env:T\n  registry: r.example/acme\n",
                ("git.example.com", "https://git.example.com", "r.example/acme", CiFlavor::Gitlab),
            ),
            (
                "forge:\n  kind: sourcehut\n  owner: ~acme\n  token: env:T\n",
                ("git.sr.ht", "https://git.sr.ht", "docker.io/acme", CiFlavor::Sourcehut),
            ),
            (
                "forge:\n  kind: local\n  path: repos\n  ci: gitlab\n",
                ("localhost", "file://localhost", "localhost:5000/local", CiFlavor::Gitlab),
            ),
        ];
        for (yaml, (host, url, registry, ci)) in cases {
            let facts = forge_facts(&config(yaml));
            assert_eq!(
                (
                    facts.host.as_str(),
                    facts.url.as_str(),
                    facts.registry.as_str(),
                    facts.ci
                ),
                (host, url, registry, ci),
                "{yaml}"
            );
            assert_eq!(facts.ci_path, ci.ci_path());
        }
    }

    #[test]
    fn full_names_are_spelled_as_each_forge_does() {
        let got: Vec<String> = ForgeKind::ALL
            .iter()
            .map(|k| profile(*k).full_name("acme", "api"))
            .collect();
        assert_eq!(got, ["acme/api", "acme/api", "~acme/api", "local/api"]);
        assert_eq!(
            profile(ForgeKind::Sourcehut).full_name("~acme", "api"),
            "~acme/api"
        );
    }

    #[test]
    fn name_rules_are_each_forges_own() {
        let github = profile(ForgeKind::Github);
        let gitlab = profile(ForgeKind::Gitlab);
        let sourcehut = profile(ForgeKind::Sourcehut);
        assert!(github.name_problem("api").is_none());
        assert!(github.name_problem("backend/api").is_some());
        assert!(gitlab.name_problem("backend/api").is_none());
        assert!(gitlab.name_problem("-api").is_some());
        assert!(gitlab.name_problem("api.git").is_some());
        assert!(sourcehut.name_problem(".api").is_some());
        assert!(sourcehut.name_problem("backend/api").is_some());
    }

    #[test]
    fn every_kind_has_its_own_profile() {
        for kind in ForgeKind::ALL {
            assert_eq!(profile(kind).kind(), kind);
        }
    }
}
