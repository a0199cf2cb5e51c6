//! drover's proposals as plain data: its branch's tip, its proposals as a
//! forge lists them, where each stands ([`ProposalFate`]), and what became
//! of one in a sweep ([`Proposed`]).

use serde::{Deserialize, Serialize};

/// The tip commit of drover's branch on the forge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchTip {
    pub commit: String,
    pub parents: Vec<String>,
    pub author_email: Option<String>,
    pub committer_email: Option<String>,
    pub message: String,
}

impl BranchTip {
    /// The `Drover-Fingerprint:` trailer of the tip's message.
    pub fn fingerprint(&self) -> Option<&str> {
        self.message
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("Drover-Fingerprint: "))
            .map(str::trim)
    }

    /// Whether drover made this commit (author and committer are its own).
    pub fn is_by(&self, email: &str) -> bool {
        self.author_email.as_deref() == Some(email)
            && self.committer_email.as_deref().is_none_or(|c| c == email)
    }

    /// Whether drover made this commit under any of its addresses.
    pub fn is_by_any<S: AsRef<str>>(&self, emails: &[S]) -> bool {
        emails.iter().any(|e| self.is_by(e.as_ref()))
    }
}

/// Where a proposal stands: one vocabulary for what a forge's snapshot
/// saw, what the proposal decision concluded, what the store remembers and
/// what `drover status` shows. Stored as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalFate {
    /// Open for review.
    Open,
    /// Merged (or applied): the repository is in line by it.
    Merged,
    /// Closed without merge (rejected, superseded), as the forge says.
    Closed,
    /// Closed without merge while it carried this very change: drover
    /// remembers it and does not propose that change again.
    Declined,
    /// Someone else's work is on drover's branch or in its thread: drover
    /// leaves it alone.
    HandsOff,
}

/// A proposal drover made earlier, as the forge reports it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingProposal {
    pub number: u64,
    pub url: String,
    /// `Open`, `Merged` or `Closed`: what the forge says.
    pub state: ProposalFate,
    /// The branch commit the proposal carries (its last known head).
    pub head: Option<String>,
}

/// What became of a repository's proposal in a sweep: where it is, where
/// it stands, and what the sweep wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposed {
    pub url: String,
    /// The pull or merge request's number, or the patchset's id, where
    /// there is one.
    pub number: Option<u64>,
    /// `Open`, `Declined` or `HandsOff`.
    pub fate: ProposalFate,
    pub wrote: Wrote,
    /// Why drover keeps its hands off.
    pub reason: Option<String>,
    /// What the forge refused while the proposal itself stands (a
    /// reviewer who is not a collaborator, a label it would not create):
    /// the repository is open, with warnings.
    pub warnings: Vec<String>,
    /// drover's branch tip as the proposal left it, where the forge told
    /// it (GitLab: the commit it wrote, or the tip it found): kept in the
    /// store so the next sweep need not read the commit again.
    pub tip: Option<BranchTip>,
    /// Those parts by name, for the store: the next sweep asks for them
    /// again, and only for them.
    pub missing: Missing,
}

/// The reviewers and labels a forge left out of a proposal that stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviewers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

impl Missing {
    pub fn is_empty(&self) -> bool {
        self.reviewers.is_empty() && self.labels.is_empty()
    }
}

/// What a sweep wrote for a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrote {
    /// A new proposal.
    Opened,
    /// A new version of the open proposal.
    Updated,
    /// Nothing: the proposal stays as it was.
    Nothing,
}

impl Proposed {
    fn new(url: String, number: Option<u64>, fate: ProposalFate, wrote: Wrote) -> Proposed {
        Proposed {
            url,
            number,
            fate,
            wrote,
            reason: None,
            warnings: Vec::new(),
            tip: None,
            missing: Missing::default(),
        }
    }

    /// The same, with drover's branch tip as it stands.
    pub fn with_tip(mut self, tip: Option<BranchTip>) -> Proposed {
        self.tip = tip;
        self
    }

    /// The same, with what the forge refused on the way.
    pub fn with_warnings(mut self, warnings: Vec<String>) -> Proposed {
        self.warnings = warnings;
        self
    }

    /// The same, with what the forge left out (by name) and why (in words).
    pub fn with_missing(mut self, missing: Missing, warnings: Vec<String>) -> Proposed {
        self.missing = missing;
        self.warnings = warnings;
        self
    }

    /// A new proposal.
    pub fn opened(url: String, number: Option<u64>) -> Proposed {
        Proposed::new(url, number, ProposalFate::Open, Wrote::Opened)
    }

    /// The open proposal now carries the new changes.
    pub fn updated(url: String, number: Option<u64>) -> Proposed {
        Proposed::new(url, number, ProposalFate::Open, Wrote::Updated)
    }

    /// The open proposal already carries exactly these changes.
    pub fn unchanged(url: String, number: Option<u64>) -> Proposed {
        Proposed::new(url, number, ProposalFate::Open, Wrote::Nothing)
    }

    /// A person closed this very change without merging it; it is not
    /// proposed again.
    pub fn declined(url: String, number: Option<u64>) -> Proposed {
        Proposed::new(url, number, ProposalFate::Declined, Wrote::Nothing)
    }

    /// Someone else's work is on it; drover leaves it alone, for `reason`.
    pub fn hands_off(url: String, number: Option<u64>, reason: String) -> Proposed {
        Proposed {
            reason: Some(reason),
            ..Proposed::new(url, number, ProposalFate::HandsOff, Wrote::Nothing)
        }
    }

    /// One word for the report: `opened`, `updated`, `unchanged`,
    /// `declined` or `hands_off`.
    pub fn outcome(&self) -> &'static str {
        match (self.wrote, self.fate) {
            (Wrote::Opened, _) => "opened",
            (Wrote::Updated, _) => "updated",
            (Wrote::Nothing, ProposalFate::Declined) => "declined",
            (Wrote::Nothing, ProposalFate::HandsOff) => "hands_off",
            (Wrote::Nothing, _) => "unchanged",
        }
    }
}

/// As the sweep report has always shown it: `{"outcome", "url"}`, the
/// reason for hands-off, and `warnings` when the forge refused a part.
impl Serialize for Proposed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("Proposed", 3)?;
        out.serialize_field("outcome", self.outcome())?;
        out.serialize_field("url", &self.url)?;
        if let Some(reason) = &self.reason {
            out.serialize_field("reason", reason)?;
        }
        if !self.warnings.is_empty() {
            out.serialize_field("warnings", &self.warnings)?;
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_shows_what_was_done_or_where_it_stands() {
        let url = || "u".to_owned();
        let got: Vec<serde_json::Value> = [
            Proposed::opened(url(), Some(1)),
            Proposed::updated(url(), None),
            Proposed::unchanged(url(), None),
            Proposed::declined(url(), None),
            Proposed::hands_off(url(), None, "theirs".into()),
        ]
        .iter()
        .map(|p| serde_json::to_value(p).unwrap())
        .collect();
        assert_eq!(
            got,
            [
                serde_json::json!({"outcome": "opened", "url": "u"}),
                serde_json::json!({"outcome": "updated", "url": "u"}),
                serde_json::json!({"outcome": "unchanged", "url": "u"}),
                serde_json::json!({"outcome": "declined", "url": "u"}),
                serde_json::json!({"outcome": "hands_off", "url": "u", "reason": "theirs"}),
            ]
        );
    }

    #[test]
    fn fates_are_stored_by_their_snake_case_names() {
        let names: Vec<String> = [
            ProposalFate::Open,
            ProposalFate::Merged,
            ProposalFate::Closed,
            ProposalFate::Declined,
            ProposalFate::HandsOff,
        ]
        .iter()
        .map(|f| serde_json::to_string(f).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                r#""open""#,
                r#""merged""#,
                r#""closed""#,
                r#""declined""#,
                r#""hands_off""#
            ]
        );
    }
}
