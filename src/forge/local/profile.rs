//! The local forge's profile: a directory of repositories, `local/name`,
//! the CI dialect fleet.yaml's `ci:` chooses (GitHub's by default), and
//! images for a registry on this machine.

use super::LocalForge;
use crate::config::{Config, ForgeSection};
use crate::forge::profile::{OpenError, Profile};
use crate::forge::Forge;
use crate::model::{CiFlavor, ForgeKind};

pub struct Local;

impl Profile for Local {
    fn kind(&self) -> ForgeKind {
        ForgeKind::Local
    }

    fn title(&self) -> &'static str {
        "local"
    }

    fn web_root(&self, _url: Option<&str>) -> String {
        "file://localhost".into()
    }

    fn registry(&self, owner: &str, _host: &str) -> String {
        format!("localhost:5000/{owner}")
    }

    fn full_name(&self, _owner: &str, name: &str) -> String {
        format!("local/{name}")
    }

    fn ci_flavor(&self, section: &ForgeSection) -> CiFlavor {
        section.ci.unwrap_or(CiFlavor::Github)
    }

    fn proposal_requests(&self) -> u64 {
        3
    }

    fn limit_note(&self, creations: usize, _requests: u64) -> String {
        format!("the local forge has no limits: {creations} creations")
    }

    fn open(&self, config: &Config, section: &ForgeSection) -> Result<Box<dyn Forge>, OpenError> {
        let path = section
            .path
            .as_ref()
            .expect("validated: local forge has a path");
        Ok(Box::new(LocalForge::new(
            config.base_dir.join(path),
            config.state_dir().join("patches"),
        )))
    }
}
