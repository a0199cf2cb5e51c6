//! Where each repository stands, from the state store alone: what `drover
//! status` prints and the daemon's `/status` serves, and the file beside
//! the store that says where a running daemon listens (a process holding
//! the store is asked instead of opening it).

use serde::{Deserialize, Serialize};

use crate::model::{Outcome, ProposalFate};
use crate::store::{now, RepoRecord, Store, StoreError, SweepRecord};

/// The file in the state directory that says where a running daemon
/// listens (`HOST:PORT` and a newline), there while it runs.
pub const ADDRESS_FILE: &str = "daemon.addr";

/// Every repository's line and the last sweep: what `drover status`
/// prints and the daemon's `/status` serves.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatusReport {
    pub repositories: Vec<Line>,
    pub last_sweep: Option<SweepRecord>,
    /// When it was read (Unix seconds), for the ages.
    pub now: i64,
    /// The store it was read from: a daemon's answer counts only for the
    /// store this fleet names.
    #[serde(default)]
    pub store: String,
}

pub fn canonical(path: &std::path::Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Reads the report from the store. Blocking.
pub fn report_of(store: &Store) -> Result<StatusReport, StoreError> {
    let now = now();
    Ok(StatusReport {
        repositories: store
            .repos()?
            .into_iter()
            .map(|(name, r)| line(name, r, now))
            .collect(),
        last_sweep: store.last_sweep()?,
        now,
        store: canonical(store.path()),
    })
}

/// One repository's line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Line {
    pub repository: String,
    /// `in_line`, `merged` (in line by drover's proposal, `url`),
    /// `proposal_open`, `declined`, `hands_off`, `drifted`, `skipped`,
    /// `misfit`, `failed` or `waiting_for_budget`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Seconds since drover opened the proposal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Unix seconds of the sweep that last looked at it.
    pub updated_at: i64,
    /// What the forge left out of the open proposal (a reviewer, a
    /// label): open, with warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A record's line: the outcome's name, or for a drifted repository where
/// its proposal stands.
pub fn line(name: String, r: RepoRecord, now: i64) -> Line {
    let mut l = Line {
        repository: name,
        state: r.outcome.as_str().into(),
        url: None,
        age_seconds: None,
        reason: r.reason,
        updated_at: r.updated_at,
        warnings: Vec::new(),
    };
    if let Some(p) = r.proposal {
        if r.outcome == Outcome::Drifted {
            l.state = match p.state {
                ProposalFate::Open => "proposal_open",
                ProposalFate::HandsOff => "hands_off",
                ProposalFate::Declined => "declined",
                // Merged (or closed) before, drifted again and not
                // proposed yet.
                ProposalFate::Merged | ProposalFate::Closed => "drifted",
            }
            .into();
        }
        if r.outcome == Outcome::InLine && p.state == ProposalFate::Merged {
            l.state = "merged".into();
        }
        if p.state == ProposalFate::Open {
            l.age_seconds = Some((now - p.opened_at).max(0));
            l.warnings = p.sent.warnings;
        }
        l.reason = l.reason.or(p.reason);
        l.url = Some(p.url);
    }
    l
}
