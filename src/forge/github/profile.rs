//! GitHub's profile: github.com (or GitHub Enterprise at
//! `https://HOST/api/v3`), `owner/name`, GitHub Actions, images on ghcr.io,
//! and opening a [`GithubForge`] from fleet.yaml.

use super::app::AppAuth;
use super::{Credentials, GithubForge};
use crate::config::{Config, ForgeSection};
use crate::forge::hook::Webhook;
use crate::forge::profile::{self, OpenError, Profile};
use crate::forge::Forge;
use crate::model::{CiFlavor, ForgeKind};

/// The public API root.
pub const API: &str = "https://api.github.com";

pub struct Github;

impl Profile for Github {
    fn kind(&self) -> ForgeKind {
        ForgeKind::Github
    }

    fn title(&self) -> &'static str {
        "GitHub"
    }

    fn web_root(&self, url: Option<&str>) -> String {
        url.map_or_else(|| "https://github.com".into(), profile::web_of_api)
    }

    fn registry(&self, owner: &str, _host: &str) -> String {
        format!("ghcr.io/{}", owner.to_lowercase())
    }

    fn ci_flavor(&self, _section: &ForgeSection) -> CiFlavor {
        CiFlavor::Github
    }

    fn name_problem(&self, name: &str) -> Option<String> {
        let ok = crate::model::plain_name(name) && name.len() <= 100 && !matches!(name, "." | "..");
        (!ok).then(|| {
            "GitHub repository names are at most 100 of A-Z a-z 0-9 . - _ (no `/`: GitHub has no subgroups)".into()
        })
    }

    /// Tree, commit, ref, pull request, labels, reviewers.
    fn proposal_requests(&self) -> u64 {
        6
    }

    fn limit_note(&self, creations: usize, requests: u64) -> String {
        format!(
            "GitHub allows 5,000 API requests an hour per token and at most 500 content-creating requests an hour (80 a minute): about {requests} requests, {creations} of them creations{}",
            if requests > 500 { " — this will be throttled; drover waits and retries, or rerun with --only in batches" } else { "" }
        )
    }

    fn open(&self, config: &Config, section: &ForgeSection) -> Result<Box<dyn Forge>, OpenError> {
        let credentials = match &section.app {
            Some(app) => {
                let key = profile::secret(config, &app.private_key, "forge.app.private_key")?;
                let auth = AppAuth::new(app.id, &key, app.installation).map_err(|e| {
                    OpenError::Invalid {
                        what: "forge.app.private_key".into(),
                        problem: format!("{e} ({})", app.private_key),
                    }
                })?;
                Credentials::App(Box::new(auth))
            }
            None => Credentials::Token(profile::token(config, section)?),
        };
        Ok(Box::new(GithubForge::new(
            section.url.as_deref().unwrap_or(API),
            profile::owner(section),
            config.fleet.defaults.branch.as_str(),
            credentials,
            profile::policy(section),
        )?))
    }

    fn webhook(&self, config: &Config) -> Result<Option<Box<dyn Webhook>>, OpenError> {
        profile::secret_hook(
            config,
            config.fleet.daemon.webhooks.github.as_ref(),
            "daemon.webhooks.github",
            |secret| super::hook::GithubHook { secret },
        )
    }
}
