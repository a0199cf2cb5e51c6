//! Finding the forges' official API descriptions (`forge-specs/`) and
//! loading their GraphQL schemas.
//!
//! The directory comes from the config, else env `DROVER_FORGE_SPECS`, else
//! `../shared/forge-specs` beside the workspace root. Under `CI=true` a
//! missing directory is an error at start; elsewhere GraphQL endpoints
//! answer with an error saying where the specs were looked for.
//!
//! Schemas are parsed once per process (the GitHub SDL is 1.2 MB) and
//! shared by every emulator; [`Specs::preload`] starts that in the
//! background so the first GraphQL request rarely waits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::graphql::GraphqlSchema;
use crate::server::Site;

/// Where the forge specs are, if found.
#[derive(Clone, Debug)]
pub struct Specs {
    dir: Option<PathBuf>,
    /// Where we looked, for messages.
    looked_in: PathBuf,
}

/// The default location: `../shared/forge-specs` relative to the workspace root.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/forge-specs")
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

impl Specs {
    /// Locates the spec directory: `explicit`, else `DROVER_FORGE_SPECS`, else
    /// [`default_dir`]. Under `CI=true`, not finding it is an error.
    pub fn locate(explicit: Option<&Path>) -> Result<Specs> {
        let from_env = std::env::var_os("DROVER_FORGE_SPECS").map(PathBuf::from);
        Self::locate_with(explicit, from_env, ci())
    }

    /// [`Specs::locate`] with the environment passed in.
    pub fn locate_with(
        explicit: Option<&Path>,
        from_env: Option<PathBuf>,
        ci: bool,
    ) -> Result<Specs> {
        let candidate = explicit
            .map(Path::to_path_buf)
            .or(from_env)
            .unwrap_or_else(default_dir);
        if candidate.is_dir() {
            let dir = candidate.canonicalize().unwrap_or(candidate.clone());
            return Ok(Specs {
                dir: Some(dir),
                looked_in: candidate,
            });
        }
        if ci {
            return Err(Error::Spec {
                path: candidate.display().to_string(),
                message: "forge specs directory not found (CI=true makes this an error; \
                          set DROVER_FORGE_SPECS)"
                    .into(),
            });
        }
        Ok(Specs {
            dir: None,
            looked_in: candidate,
        })
    }

    /// The spec directory, if found.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// A file inside the specs directory, which must exist.
    pub fn file(&self, relative: &str) -> Result<PathBuf> {
        let missing = |path: PathBuf| Error::Spec {
            path: path.display().to_string(),
            message: "not found (set DROVER_FORGE_SPECS to the forge-specs directory)".into(),
        };
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| missing(self.looked_in.join(relative)))?;
        let path = dir.join(relative);
        if path.is_file() {
            Ok(path)
        } else {
            Err(missing(path))
        }
    }

    /// The GraphQL schema file serving `site`, relative to the specs dir.
    pub fn graphql_schema_file(site: Site) -> &'static str {
        match site {
            Site::Github => "github/graphql-schema.graphql",
            Site::Gitlab => "gitlab/gitlab_schema.graphql",
            Site::SrhtGit => "sourcehut/git.sr.ht.schema.graphqls",
            Site::SrhtLists => "sourcehut/lists.sr.ht.schema.graphqls",
        }
    }

    /// The parsed schema for `site` (cached per process). Blocking: parsing
    /// the GitHub schema takes a while in debug builds.
    pub fn graphql_schema(&self, site: Site) -> Result<Arc<GraphqlSchema>> {
        let path = self.file(Self::graphql_schema_file(site))?;
        load_schema(&path)
    }

    /// Starts parsing every schema on a background thread.
    pub fn preload(&self) {
        if self.dir.is_none() {
            return;
        }
        let specs = self.clone();
        std::thread::spawn(move || {
            for site in Site::ALL {
                let _ = specs.graphql_schema(site);
            }
        });
    }
}

type Cell = Arc<OnceLock<std::result::Result<Arc<GraphqlSchema>, String>>>;

fn load_schema(path: &Path) -> Result<Arc<GraphqlSchema>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Cell>>> = OnceLock::new();
    let cell: Cell = {
        let mut cache = CACHE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        cache.entry(path.to_path_buf()).or_default().clone()
    };
    let loaded = cell.get_or_init(|| {
        let sdl = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Arc::new(GraphqlSchema::parse_lenient(&sdl, &name)))
    });
    loaded.clone().map_err(|message| Error::Spec {
        path: path.display().to_string(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_spec_dir_fails_only_under_ci() {
        let missing = Path::new("/nonexistent/forge-specs");
        assert!(Specs::locate_with(Some(missing), None, true).is_err());
        let lenient = Specs::locate_with(Some(missing), None, false).unwrap();
        assert!(lenient.dir().is_none());
        let err = lenient
            .graphql_schema(Site::Github)
            .unwrap_err()
            .to_string();
        assert!(err.contains("DROVER_FORGE_SPECS"), "{err}");
        let here = tempfile::tempdir().unwrap();
        let found = Specs::locate_with(None, Some(here.path().to_path_buf()), true).unwrap();
        assert!(found.dir().is_some());
    }
}
