//! The state store: sled, embedded, in the state directory. It keeps what a
//! sweep must remember about each repository: the head and render key it
//! last saw, the language, and the outcome. Only this module imports sled.
//!
//! Records are JSON (inspectable, versioned by `SCHEMA_VERSION` in the
//! `meta` tree). A store written by a newer drover is refused, never
//! rewritten. Every call blocks: run them on blocking threads.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The layout version this build writes.
pub const SCHEMA_VERSION: u32 = 1;
const VERSION_KEY: &[u8] = b"schema_version";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("state store {path} has schema version {found}, newer than this drover understands ({SCHEMA_VERSION}); upgrade drover or point --state-dir elsewhere")]
    Newer { path: PathBuf, found: u32 },
    #[error("state store: {0}")]
    Db(#[from] sled::Error),
    #[error("state store: corrupt record for {key}: {message}")]
    Corrupt { key: String, message: String },
}

/// What the last sweep concluded about a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    InLine,
    Drifted,
    Skipped,
    Failed,
}

/// One repository's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRecord {
    /// The default-branch head last compared.
    pub head: Option<String>,
    pub language: Option<String>,
    /// Digest of the policy, templates and render context: equal keys
    /// render equal files.
    pub render_key: Option<String>,
    pub outcome: Outcome,
    /// Why it was skipped or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Unix seconds.
    pub updated_at: i64,
    /// drover's proposal for this repository, as the last sweep left it.
    /// Absent from records written before proposals were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<ProposalRecord>,
}

/// What drover knows of its proposal in one repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalRecord {
    pub url: String,
    pub state: ProposalFate,
    /// The fingerprint of the changes it carries.
    pub fingerprint: String,
    /// Unix seconds: when drover first opened it.
    pub opened_at: i64,
    /// Why drover keeps its hands off it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalFate {
    Open,
    /// Someone else committed to drover's branch.
    HandsOff,
    /// Closed without merge (or rejected): remembered with its fingerprint.
    Declined,
}

/// The store. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    repos: sled::Tree,
    db: sled::Db,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        // A store this process just dropped may hold its lock for a moment
        // longer (sled's flusher thread exits asynchronously): wait up to a
        // second before calling it in use.
        let mut attempts = 0;
        let opened = loop {
            match sled::Config::new().path(dir).open() {
                Err(sled::Error::Io(io))
                    if io.kind() == std::io::ErrorKind::WouldBlock && attempts < 20 =>
                {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => break other,
            }
        };
        let db = opened.map_err(|e| StoreError::Open {
            path: dir.to_path_buf(),
            message: match e {
                sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    "in use by another drover process".into()
                }
                other => other.to_string(),
            },
        })?;
        let meta = db.open_tree("meta")?;
        match meta.get(VERSION_KEY)? {
            None => {
                meta.insert(VERSION_KEY, SCHEMA_VERSION.to_string().as_bytes())?;
            }
            Some(v) => {
                let found: u32 = std::str::from_utf8(&v)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| StoreError::Open {
                        path: dir.to_path_buf(),
                        message: "unreadable schema version".into(),
                    })?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::Newer {
                        path: dir.to_path_buf(),
                        found,
                    });
                }
            }
        }
        let repos = db.open_tree("repos")?;
        Ok(Store {
            path: dir.to_path_buf(),
            repos,
            db,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn repo(&self, full_name: &str) -> Result<Option<RepoRecord>, StoreError> {
        match self.repos.get(full_name.as_bytes())? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        key: full_name.to_owned(),
                        message: e.to_string(),
                    })
            }
        }
    }

    /// Every record, in name order.
    pub fn repos(&self) -> Result<Vec<(String, RepoRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.repos.iter() {
            let (key, bytes) = item?;
            let name = String::from_utf8_lossy(&key).into_owned();
            let record = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                key: name.clone(),
                message: e.to_string(),
            })?;
            out.push((name, record));
        }
        Ok(out)
    }

    /// Writes many records in one atomic batch, then flushes.
    pub fn put_repos(&self, records: &[(String, RepoRecord)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (name, record) in records {
            batch.insert(
                name.as_bytes(),
                serde_json::to_vec(record).expect("record serialises"),
            );
        }
        self.repos.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(head: &str) -> RepoRecord {
        RepoRecord {
            head: Some(head.into()),
            language: Some("rust".into()),
            render_key: Some("k".into()),
            outcome: Outcome::InLine,
            reason: None,
            updated_at: 1,
            proposal: None,
        }
    }

    #[test]
    fn records_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .put_repos(&[
                    ("acme/a".into(), record("1")),
                    ("acme/b".into(), record("2")),
                ])
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.repo("acme/a").unwrap(), Some(record("1")));
        assert_eq!(store.repo("acme/c").unwrap(), None);
        let names: Vec<String> = store.repos().unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["acme/a", "acme/b"]);
    }

    #[test]
    fn records_without_a_proposal_field_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .repos
            .insert(
                "acme/old",
                br#"{"head":"1","language":null,"render_key":null,"outcome":"in_line","updated_at":5}"#
                    .as_slice(),
            )
            .unwrap();
        let record = store.repo("acme/old").unwrap().unwrap();
        assert_eq!((record.updated_at, record.proposal), (5, None));
    }

    #[test]
    fn a_newer_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert(VERSION_KEY, b"99")
                .unwrap();
            db.flush().unwrap();
        }
        let err = Store::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }
}
