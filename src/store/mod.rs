//! The state store: sled, embedded, in the state directory. It keeps what a
//! sweep must remember about each repository: the head and render key it
//! last saw, the language, and the outcome. Only this module imports sled.
//!
//! Records are JSON (inspectable, versioned by `SCHEMA_VERSION` in the
//! `meta` tree). Opening a store written by an older drover migrates it,
//! one version step at a time, each step one transaction; a store written
//! by a newer drover, or one whose records do not read, is refused with
//! the reason, never rewritten. A sweep's records and its history entry
//! are written in one transaction. Every call blocks: run them on
//! blocking threads.
//!
//! Versions: 1, repository records; 2, proposals carry their number, and
//! the `sweeps` tree keeps the sweep history.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{Missing, Outcome, ProposalFate};

/// The layout version this build writes.
pub const SCHEMA_VERSION: u32 = 3;
/// How many sweeps the history keeps.
const HISTORY: usize = 1000;
const VERSION_KEY: &[u8] = b"schema_version";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}: {message}")]
    Open { path: PathBuf, message: String },
    /// Another process (a running `drover daemon`) holds the store.
    #[error("state store {path}: in use by another drover process")]
    InUse { path: PathBuf },
    #[error("state store {path} has schema version {found}, newer than this drover understands ({SCHEMA_VERSION}); upgrade drover or point --state-dir elsewhere")]
    Newer { path: PathBuf, found: u32 },
    #[error("state store: {0}")]
    Db(#[from] sled::Error),
    #[error("state store: corrupt record for {key}: {message}; the store was left as it is (move it aside to start afresh)")]
    Corrupt { key: String, message: String },
}

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(e: sled::transaction::TransactionError<StoreError>) -> StoreError {
        match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => StoreError::Db(e),
        }
    }
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
    /// The pull/merge request's number or the patchset's id; absent when
    /// the forge has none (the local forge's patch files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    /// `Open`, `HandsOff`, `Declined` or `Merged` (stored by name, as
    /// every version of drover has).
    pub state: ProposalFate,
    /// The fingerprint of the changes it carries.
    pub fingerprint: String,
    /// Unix seconds: when drover first opened it.
    pub opened_at: i64,
    /// Why drover keeps its hands off it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// drover's branch tip as the proposal left it, where the forge told
    /// it: a forge whose queries give only the tip's id (GitLab) takes the
    /// rest from here while the id is the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip: Option<crate::model::BranchTip>,
    /// What drover sent and what the forge left out, for the next sweep.
    #[serde(default, flatten)]
    pub sent: Sent,
}

/// What the next sweep needs of what drover sent with an open proposal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// The digest of the title and body last sent
    /// (`proposal::words_digest`): equal words are not sent again when the
    /// proposal gets a new version (a moved default branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<String>,
    /// Reviewers and labels the forge left out: asked for again, and only
    /// they.
    #[serde(default, skip_serializing_if = "Missing::is_empty")]
    pub missing: Missing,
    /// Why, in words (`drover status` shows them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One sweep, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepRecord {
    /// Unix seconds.
    pub started_at: i64,
    pub finished_at: i64,
    pub forge: String,
    /// `--repo`, when the sweep was of one repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
    pub in_line: usize,
    pub drifted: usize,
    pub skipped: usize,
    pub failed: usize,
    pub opened: usize,
    pub updated: usize,
    pub closed: usize,
    pub requests: u64,
}

/// The store. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    repos: sled::Tree,
    sweeps: sled::Tree,
    /// `drover migrate`'s journal: per target and repository, the steps
    /// done (JSON, owned by `migrate`).
    journal: sled::Tree,
    /// Texts of files the repository facts read, by git blob id: content
    /// addressed, so never stale; a cache (entries evicted past
    /// [`TEXTS_KEPT`]), so forges whose batched reads give no contents
    /// read a manifest once per version, not once per sweep.
    texts: sled::Tree,
    db: sled::Db,
}

/// Texts kept in the cache before some are evicted.
pub const TEXTS_KEPT: usize = 50_000;

/// One step of the layout: rewrites the records of a version-`from`
/// store into version `from + 1`. Pure on the stored JSON; the opener
/// writes the result and the new version in one transaction.
struct Migration {
    from: u32,
    what: &'static str,
    run: fn(serde_json::Value) -> serde_json::Value,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        from: 1,
        what: "record each proposal's number, read from its URL",
        run: number_proposals,
    },
    Migration {
        from: 2,
        what: "records may say `waiting_for_budget` and keep the words, warnings and branch tip a proposal was sent with",
        run: v3_adds_only,
    },
];

/// v2 → v3: nothing to rewrite — version 3 only adds (an outcome,
/// optional fields) — but the number moves, so that a drover that knows
/// only version 2 refuses such a store with its reason instead of failing
/// on an outcome it cannot read.
fn v3_adds_only(record: serde_json::Value) -> serde_json::Value {
    record
}

/// v1 → v2: a proposal's number, from the tail of its URL (`/pull/7`,
/// `/merge_requests/7`, `/patches/7`).
fn number_proposals(mut record: serde_json::Value) -> serde_json::Value {
    if let Some(proposal) = record.get_mut("proposal").and_then(|p| p.as_object_mut()) {
        let number = proposal
            .get("url")
            .and_then(|u| u.as_str())
            .and_then(number_of);
        if let Some(n) = number {
            proposal.insert("number".into(), n.into());
        }
    }
    record
}

/// The number at the end of a proposal URL, if it ends in one, as the
/// forges spelled them when version 2 came (a frozen copy: a migration
/// step reads the data of its time).
fn number_of(url: &str) -> Option<u64> {
    let tail = url.trim_end_matches('/').rsplit('/').next()?;
    let (kind, _) = url.trim_end_matches('/').rsplit_once('/')?;
    let known = ["/pull", "/pulls", "/merge_requests", "/patches"];
    if known.iter().any(|k| kind.ends_with(k)) {
        tail.parse().ok()
    } else {
        None
    }
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        // A store another handle or a process just let go of may hold its
        // lock for a moment longer (sled releases it from its own threads,
        // late on a loaded machine): wait up to five seconds before calling
        // it in use.
        let mut attempts = 0;
        let opened = loop {
            match raw_config(dir).open() {
                Err(e) if is_locked(&e) && attempts < 100 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => break other,
            }
        };
        let db = opened.map_err(|e| {
            if is_locked(&e) {
                StoreError::InUse {
                    path: dir.to_path_buf(),
                }
            } else {
                StoreError::Open {
                    path: dir.to_path_buf(),
                    message: e.to_string(),
                }
            }
        })?;
        let path = dir.to_path_buf();
        let refuse = |message: String| StoreError::Open {
            path: path.clone(),
            message,
        };
        let meta = db.open_tree("meta")?;
        let repos = db.open_tree("repos")?;
        let sweeps = db.open_tree("sweeps")?;
        let journal = db.open_tree("journal")?;
        let texts = db.open_tree("texts")?;
        let mut version = match meta.get(VERSION_KEY)? {
            None if repos.is_empty() && sweeps.is_empty() && journal.is_empty() => {
                meta.insert(VERSION_KEY, SCHEMA_VERSION.to_string().as_bytes())?;
                db.flush()?;
                SCHEMA_VERSION
            }
            None => {
                return Err(refuse(
                    "has records but no schema version: not a store drover wrote, or damaged; left as it is".into(),
                ))
            }
            Some(v) => std::str::from_utf8(&v)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| refuse("unreadable schema version; left as it is".into()))?,
        };
        if version > SCHEMA_VERSION {
            return Err(StoreError::Newer {
                path: dir.to_path_buf(),
                found: version,
            });
        }
        while version < SCHEMA_VERSION {
            let step = MIGRATIONS
                .iter()
                .find(|m| m.from == version)
                .ok_or_else(|| refuse(format!("no migration from schema version {version}")))?;
            migrate(&meta, &repos, step)?;
            db.flush()?;
            tracing::info!(store = %dir.display(), from = version, to = version + 1, "migrated the state store: {}", step.what);
            version += 1;
        }
        let store = Store {
            path: dir.to_path_buf(),
            repos,
            sweeps,
            journal,
            texts,
            db,
        };
        // Every record must read before the store is trusted (one at a
        // time: a fleet's records are never all in memory).
        store.check_repos()?;
        store.sweeps()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cached texts of these blob ids, those the cache has.
    pub fn texts(&self, oids: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        oids.iter()
            .map(|oid| Ok(self.texts.get(oid.as_bytes())?.map(|v| v.to_vec())))
            .collect()
    }

    /// Caches texts by blob id (the caller has checked that each text is
    /// that blob's), evicting entries once past [`TEXTS_KEPT`]: the keys
    /// are digests, so the first in order are as good as random.
    pub fn put_texts(&self, texts: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        for (oid, text) in texts {
            self.texts.insert(oid.as_bytes(), text.as_slice())?;
        }
        let over = self.texts.len().saturating_sub(TEXTS_KEPT);
        if over > 0 {
            let doomed: Vec<sled::IVec> = self
                .texts
                .iter()
                .keys()
                .take(over + TEXTS_KEPT / 10)
                .collect::<Result<_, _>>()?;
            for key in doomed {
                self.texts.remove(key)?;
            }
        }
        self.db.flush()?;
        Ok(())
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

    /// Reads every record and keeps none: an error names the first that
    /// does not read.
    fn check_repos(&self) -> Result<(), StoreError> {
        for item in self.repos.iter() {
            let (key, bytes) = item?;
            if let Err(e) = serde_json::from_slice::<RepoRecord>(&bytes) {
                return Err(StoreError::Corrupt {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    message: e.to_string(),
                });
            }
        }
        Ok(())
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

    /// A sweep's records and its history entry, in one transaction (the
    /// oldest entries beyond the history's length go in it too), then
    /// flushes.
    pub fn put_sweep(
        &self,
        records: &[(String, RepoRecord)],
        sweep: &SweepRecord,
    ) -> Result<(), StoreError> {
        self.put_sweep_keeping(records, sweep, HISTORY)
    }

    fn put_sweep_keeping(
        &self,
        records: &[(String, RepoRecord)],
        sweep: &SweepRecord,
        keep: usize,
    ) -> Result<(), StoreError> {
        use sled::Transactional;
        let key = self.db.generate_id()?.to_be_bytes();
        let stale: Vec<sled::IVec> = self
            .sweeps
            .iter()
            .keys()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .rev()
            .skip(keep.saturating_sub(1))
            .collect();
        let entry = serde_json::to_vec(sweep).expect("sweep serialises");
        let encoded = encode(records);
        (&self.repos, &self.sweeps).transaction(|(repos, sweeps)| {
            for (name, bytes) in &encoded {
                repos.insert(name.as_bytes(), bytes.as_slice())?;
            }
            for old in &stale {
                sweeps.remove(old)?;
            }
            sweeps.insert(&key, entry.as_slice())?;
            Ok::<(), sled::transaction::ConflictableTransactionError<StoreError>>(())
        })?;
        self.db.flush()?;
        Ok(())
    }

    /// Records of some repositories, in one transaction, then flushes: a
    /// sweep writes each batch's as it finishes it, so it never holds the
    /// fleet's records, and what a batch proposed is on disk before the
    /// next batch starts.
    pub fn put_repos(&self, records: &[(String, RepoRecord)]) -> Result<(), StoreError> {
        let encoded = encode(records);
        self.repos.transaction(|repos| {
            for (name, bytes) in &encoded {
                repos.insert(name.as_bytes(), bytes.as_slice())?;
            }
            Ok::<(), sled::transaction::ConflictableTransactionError<StoreError>>(())
        })?;
        self.db.flush()?;
        Ok(())
    }

    /// A sweep's history entry (the oldest beyond the history's length
    /// go in the same transaction), then flushes.
    pub fn put_history(&self, sweep: &SweepRecord) -> Result<(), StoreError> {
        self.put_sweep(&[], sweep)
    }

    /// The journal entry at `key`, if any.
    pub fn journal_entry<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        match self.journal.get(key.as_bytes())? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        key: format!("journal {key}"),
                        message: e.to_string(),
                    })
            }
        }
    }

    /// Writes the journal entry at `key` and flushes: a step is recorded
    /// on disk before the next one starts.
    pub fn put_journal_entry<T: Serialize>(&self, key: &str, entry: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(entry).expect("journal entries serialise");
        self.journal.insert(key.as_bytes(), bytes)?;
        self.db.flush()?;
        Ok(())
    }

    /// Writes whatever is buffered to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// The newest entry of the sweep history.
    pub fn last_sweep(&self) -> Result<Option<SweepRecord>, StoreError> {
        match self.sweeps.last()? {
            None => Ok(None),
            Some((key, bytes)) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        key: format!("sweep {}", hex::encode(&key)),
                        message: e.to_string(),
                    })
            }
        }
    }

    /// The sweep history, oldest first.
    pub fn sweeps(&self) -> Result<Vec<SweepRecord>, StoreError> {
        let mut out = Vec::new();
        for item in self.sweeps.iter() {
            let (key, bytes) = item?;
            let record = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                key: format!("sweep {}", hex::encode(&key)),
                message: e.to_string(),
            })?;
            out.push(record);
        }
        Ok(out)
    }
}

/// Records as the store keeps them: JSON, by name.
fn encode(records: &[(String, RepoRecord)]) -> Vec<(&str, Vec<u8>)> {
    records
        .iter()
        .map(|(n, r)| {
            (
                n.as_str(),
                serde_json::to_vec(r).expect("record serialises"),
            )
        })
        .collect()
}

/// Whether opening failed because another handle holds the store's lock.
/// sled reports that as an `Other` I/O error with this message.
fn is_locked(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io)
        if io.kind() == std::io::ErrorKind::WouldBlock
            || io.to_string().starts_with("could not acquire lock"))
}

/// sled's page cache, in bytes. sled's default is 1 GiB, which a
/// long-running daemon fills with every page it ever read; drover's
/// records are a few hundred bytes each (10,000 repositories: ~3 MiB), so
/// a few MiB keep the hot pages and the rest is read back from disk.
const CACHE_BYTES: u64 = 4 << 20;

/// sled's configuration: no background flusher (drover flushes after every
/// write itself), so that dropping the last handle releases the lock at
/// once; a page cache sized to the data (`CACHE_BYTES`).
fn raw_config(dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .flush_every_ms(None)
        .cache_capacity(CACHE_BYTES)
}

/// Runs one migration step: every record rewritten, and the version
/// bumped, in one transaction. A record that is not JSON is corruption.
fn migrate(meta: &sled::Tree, repos: &sled::Tree, step: &Migration) -> Result<(), StoreError> {
    use sled::Transactional;
    let mut rewritten: Vec<(sled::IVec, Vec<u8>)> = Vec::new();
    for item in repos.iter() {
        let (key, bytes) = item?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                key: String::from_utf8_lossy(&key).into_owned(),
                message: e.to_string(),
            })?;
        let value = (step.run)(value);
        rewritten.push((key, serde_json::to_vec(&value).expect("JSON serialises")));
    }
    let next = (step.from + 1).to_string();
    (meta, repos).transaction(|(meta, repos)| {
        for (key, bytes) in &rewritten {
            repos.insert(key, bytes.as_slice())?;
        }
        meta.insert(VERSION_KEY, next.as_bytes())?;
        Ok::<(), sled::transaction::ConflictableTransactionError<StoreError>>(())
    })?;
    Ok(())
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
                .put_sweep(
                    &[
                        ("acme/a".into(), record("1")),
                        ("acme/b".into(), record("2")),
                    ],
                    &sweep(0),
                )
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
    fn a_store_in_use_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let _held = Store::open(dir.path()).unwrap();
        let e = raw_config(dir.path()).open().err().unwrap();
        assert!(is_locked(&e), "{e}");
    }

    #[test]
    fn a_newer_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = raw_config(dir.path()).open().unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert(VERSION_KEY, b"99")
                .unwrap();
            db.flush().unwrap();
        }
        let err = Store::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }

    fn sweep(at: i64) -> SweepRecord {
        SweepRecord {
            started_at: at,
            finished_at: at + 1,
            forge: "github".into(),
            only: None,
            in_line: 1,
            drifted: 2,
            skipped: 0,
            failed: 0,
            opened: 2,
            updated: 0,
            closed: 0,
            requests: 9,
        }
    }

    #[test]
    fn a_sweep_and_its_history_entry_land_together_and_the_history_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for at in 0..5 {
            store
                .put_sweep_keeping(&[("acme/a".into(), record(&at.to_string()))], &sweep(at), 3)
                .unwrap();
        }
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let starts: Vec<i64> = store
            .sweeps()
            .unwrap()
            .iter()
            .map(|s| s.started_at)
            .collect();
        assert_eq!(starts, [2, 3, 4]);
        assert_eq!(store.last_sweep().unwrap().map(|s| s.started_at), Some(4));
        assert_eq!(store.repo("acme/a").unwrap(), Some(record("4")));
    }

    #[test]
    fn a_version_1_store_is_migrated_and_its_records_kept() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = raw_config(dir.path()).open().unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert(VERSION_KEY, b"1")
                .unwrap();
            let repos = db.open_tree("repos").unwrap();
            repos
                .insert(
                    "acme/a",
                    br#"{"head":"1","language":"rust","render_key":"k","outcome":"drifted","updated_at":5,"proposal":{"url":"https://github.com/acme/a/pull/17","state":"open","fingerprint":"f","opened_at":4}}"#.as_slice(),
                )
                .unwrap();
            repos
                .insert(
                    "acme/b",
                    br#"{"head":"2","language":null,"render_key":null,"outcome":"in_line","updated_at":5}"#.as_slice(),
                )
                .unwrap();
            db.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let a = store.repo("acme/a").unwrap().unwrap();
        let p = a.proposal.unwrap();
        assert_eq!(
            (p.number, p.url.as_str(), p.opened_at),
            (Some(17), "https://github.com/acme/a/pull/17", 4)
        );
        assert_eq!(
            store.repo("acme/b").unwrap().unwrap().head.as_deref(),
            Some("2")
        );
        let version = store
            .db
            .open_tree("meta")
            .unwrap()
            .get(VERSION_KEY)
            .unwrap()
            .unwrap();
        assert_eq!(&*version, SCHEMA_VERSION.to_string().as_bytes());
        drop(store);
        // Opening again migrates nothing more.
        Store::open(dir.path()).unwrap();
    }

    #[test]
    fn proposal_numbers_come_from_forge_urls_only() {
        assert_eq!(number_of("https://github.com/a/b/pull/3"), Some(3));
        assert_eq!(
            number_of("https://gitlab.com/a/b/-/merge_requests/12"),
            Some(12)
        );
        assert_eq!(
            number_of("https://lists.sr.ht/~a/b-devel/patches/9"),
            Some(9)
        );
        assert_eq!(number_of("https://lists.sr.ht/~a/b/%3Cid%3E"), None);
        assert_eq!(number_of("file:///x/.drover/patches/b.patch"), None);
    }

    #[test]
    fn a_corrupt_store_is_refused_and_left_as_it_is() {
        // A record that does not read.
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .repos
                .insert("acme/bad", b"{not json".as_slice())
                .unwrap();
            store.db.flush().unwrap();
        }
        let err = Store::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("corrupt record for acme/bad"), "{err}");
        // sled lets go of its lock a moment after the failed open.
        let db = (0..40)
            .find_map(|_| {
                raw_config(dir.path())
                    .open()
                    .map_err(|_| std::thread::sleep(std::time::Duration::from_millis(50)))
                    .ok()
            })
            .unwrap();
        assert_eq!(
            &*db.open_tree("repos")
                .unwrap()
                .get("acme/bad")
                .unwrap()
                .unwrap(),
            b"{not json"
        );
        drop(db);

        // Records without a version: not drover's.
        let dir = tempfile::tempdir().unwrap();
        {
            let db = raw_config(dir.path()).open().unwrap();
            db.open_tree("repos")
                .unwrap()
                .insert("x", b"{}".as_slice())
                .unwrap();
            db.flush().unwrap();
        }
        let err = Store::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("no schema version"), "{err}");

        // A damaged database file.
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .put_sweep(&[("acme/a".into(), record("1"))], &sweep(0))
                .unwrap();
        }
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let len = std::fs::metadata(&path).unwrap().len() as usize;
                std::fs::write(&path, vec![0xA5; len.max(64)]).unwrap();
            }
        }
        match Store::open(dir.path()) {
            Err(e) => assert!(e.to_string().starts_with("state store"), "{e}"),
            Ok(store) => panic!("a damaged store opened: {:?}", store.repos()),
        }
    }
}
