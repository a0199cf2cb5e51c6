//! sourcehut's profile: git.sr.ht and lists.sr.ht (or another instance),
//! a bare username as the owner and `~owner/name` as the full name,
//! builds.sr.ht, images on Docker Hub, and opening a [`SourcehutForge`]
//! (with its mail server) from fleet.yaml.

use super::{SourcehutConfig, SourcehutForge};
use crate::config::{Config, ForgeSection, ListRule};
use crate::forge::hook::Webhook;
use crate::forge::profile::{self, OpenError, Profile};
use crate::forge::Forge;
use crate::model::{CiFlavor, ForgeKind};

/// git.sr.ht's root.
pub const GIT_URL: &str = "https://git.sr.ht";
/// lists.sr.ht's root.
pub const LISTS_URL: &str = "https://lists.sr.ht";
/// Where a repository's patches go without `forge.list_address`.
pub const LIST_ADDRESS: &str = "~{owner}/{repo}-devel@lists.sr.ht";

pub struct Sourcehut;

impl Profile for Sourcehut {
    fn kind(&self) -> ForgeKind {
        ForgeKind::Sourcehut
    }

    fn title(&self) -> &'static str {
        "sourcehut"
    }

    fn web_root(&self, url: Option<&str>) -> String {
        profile::web_of_api(url.unwrap_or(GIT_URL))
    }

    fn registry(&self, owner: &str, _host: &str) -> String {
        format!("docker.io/{}", owner.trim_start_matches('~'))
    }

    fn full_name(&self, owner: &str, name: &str) -> String {
        format!("~{}/{name}", owner.trim_start_matches('~'))
    }

    fn ci_flavor(&self, _section: &ForgeSection) -> CiFlavor {
        CiFlavor::Sourcehut
    }

    fn name_problem(&self, name: &str) -> Option<String> {
        let ok = crate::model::plain_name(name) && name.len() <= 128 && !name.starts_with('.');
        (!ok).then(|| {
            "sourcehut repository names are A-Z a-z 0-9 . - _, not starting with `.` (no `/`: sourcehut has no groups)".into()
        })
    }

    /// The mail, the superseded version, a share of the lists query.
    fn proposal_requests(&self) -> u64 {
        3
    }

    fn limit_note(&self, creations: usize, requests: u64) -> String {
        format!(
            "sourcehut limits API requests per token: about {requests} requests, {creations} of them creations"
        )
    }

    fn open(&self, config: &Config, section: &ForgeSection) -> Result<Box<dyn Forge>, OpenError> {
        let token = profile::token(config, section)?;
        // Without `smtp:` the forge can plan but not propose.
        let smtp = match &section.smtp {
            Some(smtp) => {
                let password = match &smtp.password {
                    Some(r) => Some(profile::secret(config, r, "forge.smtp.password")?),
                    None => None,
                };
                Some((smtp.clone(), password))
            }
            None => None,
        };
        Ok(Box::new(SourcehutForge::new(SourcehutConfig {
            git_url: section.url.clone().unwrap_or_else(|| GIT_URL.into()),
            lists_url: section
                .lists_url
                .clone()
                .unwrap_or_else(|| LISTS_URL.into()),
            owner: profile::owner(section).to_owned(),
            token,
            list_rule: section
                .list_address
                .clone()
                .unwrap_or_else(|| ListRule(LIST_ADDRESS.into())),
            smtp,
            author: config.fleet.defaults.author.clone(),
            policy: profile::policy(section),
        })?))
    }

    fn webhook(&self, config: &Config) -> Result<Option<Box<dyn Webhook>>, OpenError> {
        let Some(key) = &config.fleet.daemon.webhooks.sourcehut else {
            return Ok(None);
        };
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key.bytes()).map_err(|e| {
            OpenError::Invalid {
                what: "daemon.webhooks.sourcehut".into(),
                problem: format!("not a valid Ed25519 public key: {e}"),
            }
        })?;
        Ok(Some(Box::new(super::hook::SourcehutHook { key })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_go_to_the_repositorys_devel_list_by_default() {
        let list = ListRule(LIST_ADDRESS.into())
            .resolve("acme", "api")
            .unwrap();
        assert_eq!(list.address, "~acme/api-devel@lists.sr.ht");
        assert_eq!(
            (list.owner.as_str(), list.name.as_str()),
            ("acme", "api-devel")
        );
    }
}
