//! The repositories the daemon last discovered, so that a webhook's sweep
//! of a few of them does not list the whole fleet again: 100 webhooks in
//! a 1,000-repository fleet used to cost 100 discoveries. The list is
//! kept for [`FRESH_FOR`] and for the configuration it was listed with;
//! a repository missing from it (created since) lists the fleet again.
//! The heads it holds are stale by definition — a webhook says the
//! repository moved — so the repositories it gives have none, and their
//! snapshot reads the head.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Loaded;
use crate::forge::ForgeError;
use crate::model::RemoteRepo;

/// How long a discovery stands in for another.
pub const FRESH_FOR: Duration = Duration::from_secs(10 * 60);

/// The last discovery: when, for which loaded configuration, what.
#[derive(Default)]
pub struct Known {
    last: Option<(Instant, usize, Vec<RemoteRepo>)>,
}

impl Known {
    /// The repositories named, from the last discovery when it is fresh and
    /// names them all, else from a new one. Names no repository has are
    /// left out.
    pub async fn repos(
        &mut self,
        loaded: &Arc<Loaded>,
        names: &BTreeSet<String>,
    ) -> Result<Vec<RemoteRepo>, ForgeError> {
        let config = Arc::as_ptr(loaded) as usize;
        let fresh = |repos: &[RemoteRepo]| {
            names
                .iter()
                .all(|n| repos.iter().any(|r| &r.full_name == n))
        };
        let usable = matches!(
            &self.last,
            Some((at, of, repos)) if *of == config && at.elapsed() < FRESH_FOR && fresh(repos)
        );
        if !usable {
            let repos = loaded.forge.discover().await?;
            self.last = Some((Instant::now(), config, repos));
        }
        let (_, _, repos) = self.last.as_ref().expect("just listed");
        Ok(repos
            .iter()
            .filter(|r| names.contains(&r.full_name))
            .map(|r| RemoteRepo {
                head: None,
                ..r.clone()
            })
            .collect())
    }
}
