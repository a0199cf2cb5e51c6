//! GitLab's profile: gitlab.com or a self-hosted instance, a group's full
//! path as the owner (`acme/backend`) and names below it
//! (`platform/api`), GitLab CI, images in the instance's registry, and
//! opening a [`GitlabForge`] from fleet.yaml.

use super::GitlabForge;
use crate::config::{Config, ForgeSection};
use crate::forge::hook::Webhook;
use crate::forge::profile::{self, OpenError, Profile};
use crate::forge::Forge;
use crate::model::{CiFlavor, ForgeKind};

/// gitlab.com's root.
pub const URL: &str = "https://gitlab.com";

pub struct Gitlab;

impl Profile for Gitlab {
    fn kind(&self) -> ForgeKind {
        ForgeKind::Gitlab
    }

    fn title(&self) -> &'static str {
        "GitLab"
    }

    fn web_root(&self, url: Option<&str>) -> String {
        profile::web_of_api(url.unwrap_or(URL))
    }

    fn registry(&self, owner: &str, host: &str) -> String {
        format!("registry.{host}/{owner}")
    }

    fn ci_flavor(&self, _section: &ForgeSection) -> CiFlavor {
        CiFlavor::Gitlab
    }

    /// Each segment of a path below the group (subgroups included).
    fn name_problem(&self, name: &str) -> Option<String> {
        let ok = name.split('/').all(|part| {
            crate::model::plain_name(part)
                && part.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                && !part.ends_with(".git")
                && !part.ends_with(".atom")
        });
        (!ok).then(|| {
            "GitLab project paths are A-Z a-z 0-9 . - _, start with a letter, digit or `_`, and do not end in .git or .atom".into()
        })
    }

    /// The commit with its actions, the merge request, labels, reviewers.
    fn proposal_requests(&self) -> u64 {
        4
    }

    fn limit_note(&self, creations: usize, _requests: u64) -> String {
        format!(
            "GitLab.com limits project creation (a few hundred a day, lower on new accounts) and API calls per minute: {creations} creations{}",
            if creations > 200 { " — split with --only across days" } else { "" }
        )
    }

    fn open(&self, config: &Config, section: &ForgeSection) -> Result<Box<dyn Forge>, OpenError> {
        let token = profile::token(config, section)?;
        // gitlab.com, or a self-hosted instance's root URL; the owner is a
        // group's full path (nested groups are `acme/backend`).
        Ok(Box::new(GitlabForge::new(
            section.url.as_deref().unwrap_or(URL),
            profile::owner(section),
            config.fleet.defaults.branch.as_str(),
            &token,
            profile::policy(section),
        )?))
    }

    fn webhook(&self, config: &Config) -> Result<Option<Box<dyn Webhook>>, OpenError> {
        profile::secret_hook(
            config,
            config.fleet.daemon.webhooks.gitlab.as_ref(),
            "daemon.webhooks.gitlab",
            |secret| super::hook::GitlabHook { secret },
        )
    }
}
