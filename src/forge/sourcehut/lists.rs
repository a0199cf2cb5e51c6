//! lists.sr.ht GraphQL: the state of drover's earlier patchsets, read for a
//! whole snapshot batch in one query (one alias per distinct list), and
//! the `updatePatchset` mutation that retires a superseded version.
//!
//! A patchset is drover's when its subject prefix is the repository's name
//! and its patch carries a `Drover-Fingerprint:` trailer. Only the newest
//! page (25 patchsets) of each list is read: drover's open patchset for a
//! drifting repository is among its list's latest unless the list is very
//! busy, in which case drover mails a new version rather than an update.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::git::lit;
use crate::config::ListAddress;
use crate::model::{ExistingProposal, ProposalFate};
use crate::proposal::{Seen, Theirs};

/// A patchset's status on lists.sr.ht.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Proposed,
    NeedsRevision,
    Superseded,
    Approved,
    Rejected,
    Applied,
    Other,
}

impl Status {
    fn parse(raw: &str) -> Status {
        match raw {
            "PROPOSED" => Status::Proposed,
            "NEEDS_REVISION" => Status::NeedsRevision,
            "SUPERSEDED" => Status::Superseded,
            "APPROVED" => Status::Approved,
            "REJECTED" => Status::Rejected,
            "APPLIED" => Status::Applied,
            _ => Status::Other,
        }
    }

    /// How drover's reports see it: still to be acted on, merged, or gone.
    pub fn state(self) -> ProposalFate {
        match self {
            Status::Proposed | Status::NeedsRevision | Status::Approved | Status::Other => {
                ProposalFate::Open
            }
            Status::Applied => ProposalFate::Merged,
            Status::Rejected | Status::Superseded => ProposalFate::Closed,
        }
    }
}

/// One of drover's patchsets for a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroverPatchset {
    pub id: u64,
    pub status: Status,
    pub version: u32,
    pub fingerprint: String,
    /// The Message-ID (without `<>`) of the series' first version, which
    /// later versions answer.
    pub thread_root: String,
    pub url: String,
    /// Its first mail's Message-ID (without `<>`) and subject: what a reply
    /// answers.
    pub message_id: String,
    pub subject: String,
    /// Its first mail's body (commit message, `---`, the diff), with LF
    /// line ends: the patch as mailed.
    pub body: String,
}

impl DroverPatchset {
    /// As a proposal a forge lists.
    pub fn existing(&self) -> ExistingProposal {
        ExistingProposal {
            number: self.id,
            url: self.url.clone(),
            state: self.status.state(),
            head: None,
        }
    }

    /// Whether this patchset mails exactly `patch`: the same diff against
    /// the same file contents, so it still applies as it did.
    pub fn carries(&self, patch: &str) -> bool {
        self.body.contains(patch)
    }
}

/// A version in one of drover's threads that drover did not write (no
/// `Drover-Fingerprint:` trailer): someone took the patch over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignVersion {
    pub id: u64,
    pub status: Status,
    /// The drover thread it answers.
    pub thread_root: String,
    pub url: String,
    pub message_id: String,
    pub subject: String,
}

/// What the lists query saw for one repository's list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListState {
    /// `false` when the list does not exist (or the token cannot see it).
    pub exists: bool,
    /// drover's patchsets for the repository, newest first.
    pub patchsets: Vec<DroverPatchset>,
    /// Versions by others in drover's threads, newest first.
    pub foreign: Vec<ForeignVersion>,
    /// drover's patchsets found applied on the default branch while the
    /// list still has them open: to be marked APPLIED there.
    pub unmarked_applied: Vec<u64>,
}

impl ListState {
    pub fn proposals(&self) -> Vec<ExistingProposal> {
        self.patchsets
            .iter()
            .map(DroverPatchset::existing)
            .collect()
    }

    /// drover's open patchsets, newest first.
    pub fn open(&self) -> impl Iterator<Item = &DroverPatchset> {
        self.patchsets
            .iter()
            .filter(|s| s.status.state() == ProposalFate::Open)
    }

    /// What the list says of drover's earlier work, in the proposal
    /// decision's terms, for a patch with `fingerprint` mailing `patch`:
    /// a version by someone else in drover's thread is theirs; an open
    /// patchset with the same fingerprint that mails this very patch
    /// (the same change against the same file contents) carries it —
    /// a moved default branch whose managed files did not change leaves
    /// it alone, one that changed them gets a new version; a rejected
    /// one with the same fingerprint declined it.
    pub fn seen(&self, fingerprint: &str, patch: &str) -> Seen {
        let theirs = self
            .foreign
            .iter()
            .find(|f| f.status.state() == ProposalFate::Open)
            .map(|f| Theirs {
                url: f.url.clone(),
                number: Some(f.id),
                reason: format!(
                    "someone else sent their own version (patchset {}) in drover's thread; drover leaves it alone",
                    f.id
                ),
            });
        let carrying = self
            .open()
            .find(|s| s.fingerprint == fingerprint && s.carries(patch));
        let declined = self
            .patchsets
            .iter()
            .find(|s| s.status == Status::Rejected && s.fingerprint == fingerprint);
        Seen {
            theirs,
            open: carrying
                .or(self.open().next())
                .map(DroverPatchset::existing),
            carried: carrying.is_some(),
            declined: declined.map(DroverPatchset::existing),
        }
    }
}

/// The distinct lists of a batch, in a stable order (alias `l{k}`).
pub fn distinct(lists: &[ListAddress]) -> Vec<ListAddress> {
    let mut out: Vec<ListAddress> = Vec::new();
    for l in lists {
        if !out.iter().any(|o| o.owner == l.owner && o.name == l.name) {
            out.push(l.clone());
        }
    }
    out
}

/// One query reading the newest patchsets of every list.
pub fn patchsets_query(lists: &[ListAddress]) -> String {
    let mut q = String::from("query DroverPatchsets {\n");
    for (k, l) in lists.iter().enumerate() {
        q.push_str(&format!(
            "  l{k}: user(username: {}) {{ list(name: {}) {{ id patches {{ results {{ id status version prefix subject patches {{ results {{ messageID inReplyTo body }} }} }} }} }} }}\n",
            lit(&l.owner),
            lit(&l.name)
        ));
    }
    q.push('}');
    q
}

#[derive(Debug, Deserialize)]
struct Results<T> {
    results: Vec<T>,
}

#[derive(Debug, Deserialize)]
struct PatchsetNode {
    id: u64,
    status: String,
    version: u32,
    prefix: Option<String>,
    #[serde(default)]
    subject: String,
    patches: Results<EmailNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailNode {
    #[serde(rename = "messageID")]
    message_id: String,
    in_reply_to: Option<String>,
    body: String,
}

/// The `Drover-Fingerprint:` trailer of a patch mail's commit message
/// (the part before the `---` line).
pub fn fingerprint(body: &str) -> Option<String> {
    let body = body.replace("\r\n", "\n");
    let message = body.split("\n---\n").next().unwrap_or(&body);
    message
        .lines()
        .rev()
        .find_map(|l| l.trim_end().strip_prefix("Drover-Fingerprint: "))
        .map(|f| f.trim().to_owned())
}

fn bare(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// The state of each repository's list from one list's part (`l{k}`) of
/// the answer. `repos` are the names of the batch's repositories mailing
/// to this list.
pub fn decode_list(
    value: &Value,
    list: &ListAddress,
    lists_url: &str,
    repos: &[&str],
) -> Result<BTreeMap<String, ListState>, String> {
    let mut out: BTreeMap<String, ListState> = repos
        .iter()
        .map(|r| (r.to_string(), ListState::default()))
        .collect();
    let list_value = &value["list"];
    if list_value.is_null() {
        return Ok(out);
    }
    for state in out.values_mut() {
        state.exists = true;
    }
    let sets: Results<PatchsetNode> =
        serde_json::from_value(list_value["patches"].clone()).map_err(|e| e.to_string())?;
    let url_of = |id: u64| {
        format!(
            "{}/~{}/{}/patches/{id}",
            lists_url.trim_end_matches('/'),
            list.owner,
            list.name
        )
    };
    // drover's own first, then the versions by others that answer them.
    let mut others = Vec::new();
    for set in sets.results {
        let Some(state) = set.prefix.as_deref().and_then(|p| out.get_mut(p)) else {
            continue;
        };
        let Some(first) = set.patches.results.first() else {
            continue;
        };
        let Some(fp) = fingerprint(&first.body) else {
            others.push(set);
            continue;
        };
        let thread_root = match (&first.in_reply_to, set.version) {
            (Some(parent), v) if v > 1 => bare(parent),
            _ => bare(&first.message_id),
        };
        state.patchsets.push(DroverPatchset {
            id: set.id,
            status: Status::parse(&set.status),
            version: set.version,
            fingerprint: fp,
            thread_root,
            url: url_of(set.id),
            message_id: bare(&first.message_id),
            subject: set.subject.clone(),
            body: first.body.replace("\r\n", "\n"),
        });
    }
    for set in others {
        let Some(state) = set.prefix.as_deref().and_then(|p| out.get_mut(p)) else {
            continue;
        };
        let Some(first) = set.patches.results.first() else {
            continue;
        };
        let Some(parent) = first.in_reply_to.as_deref().map(bare) else {
            continue;
        };
        let Some(thread) = state
            .patchsets
            .iter()
            .find(|d| d.thread_root == parent || d.message_id == parent)
            .map(|d| d.thread_root.clone())
        else {
            continue;
        };
        state.foreign.push(ForeignVersion {
            id: set.id,
            status: Status::parse(&set.status),
            thread_root: thread,
            url: url_of(set.id),
            message_id: bare(&first.message_id),
            subject: set.subject,
        });
    }
    Ok(out)
}

/// Marks a patchset superseded. lists.sr.ht answers `null` (no error) when
/// the token's user does not own the list.
pub fn supersede_mutation(id: u64) -> String {
    format!("mutation DroverSupersede {{ updatePatchset(id: {id}, status: SUPERSEDED) {{ id status }} }}")
}

/// Marks a patchset applied (answered like [`supersede_mutation`]).
pub fn applied_mutation(id: u64) -> String {
    format!(
        "mutation DroverApplied {{ updatePatchset(id: {id}, status: APPLIED) {{ id status }} }}"
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn list() -> ListAddress {
        ListAddress {
            address: "~acme/api-devel@lists.sr.ht".into(),
            owner: "acme".into(),
            name: "api-devel".into(),
        }
    }

    #[test]
    fn the_query_names_each_list_once() {
        let l = list();
        let lists = distinct(&[l.clone(), l.clone()]);
        assert_eq!(lists.len(), 1);
        let q = patchsets_query(&lists);
        assert!(
            q.contains(r#"l0: user(username: "acme") { list(name: "api-devel")"#),
            "{q}"
        );
        assert!(!q.contains("l1:"), "{q}");
    }

    #[test]
    fn drovers_patchsets_are_found_by_prefix_and_trailer() {
        let body = |fp: &str| format!("why\n\nDrover-Fingerprint: {fp}\n---\ndiff --git a/x b/x\n");
        let answer = json!({ "list": { "id": 1, "patches": { "results": [
            { "id": 9, "status": "PROPOSED", "version": 2, "prefix": "api",
              "patches": { "results": [ { "messageID": "v2@x", "inReplyTo": "<v1@x>", "body": body("bb") } ] } },
            { "id": 8, "status": "REJECTED", "version": 1, "prefix": "web",
              "patches": { "results": [ { "messageID": "w@x", "inReplyTo": null, "body": body("cc") } ] } },
            { "id": 7, "status": "SUPERSEDED", "version": 1, "prefix": "api",
              "patches": { "results": [ { "messageID": "v1@x", "inReplyTo": null, "body": body("aa") } ] } },
            { "id": 6, "status": "PROPOSED", "version": 1, "prefix": "api",
              "patches": { "results": [ { "messageID": "h@x", "inReplyTo": null, "body": "by hand\n---\n" } ] } }
        ] } } });
        let states = decode_list(&answer, &list(), "https://lists.sr.ht/", &["api"]).unwrap();
        let api = &states["api"];
        assert!(api.exists);
        let got: Vec<(u64, Status, &str, &str)> = api
            .patchsets
            .iter()
            .map(|p| {
                (
                    p.id,
                    p.status,
                    p.fingerprint.as_str(),
                    p.thread_root.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (9, Status::Proposed, "bb", "v1@x"),
                (7, Status::Superseded, "aa", "v1@x")
            ]
        );
        assert_eq!(
            api.patchsets[0].url,
            "https://lists.sr.ht/~acme/api-devel/patches/9"
        );
        let states = api.proposals();
        assert_eq!(
            (states[0].state, states[1].state),
            (ProposalFate::Open, ProposalFate::Closed)
        );
    }

    #[test]
    fn a_missing_list_is_seen() {
        let states = decode_list(&json!({ "list": null }), &list(), "x", &["api"]).unwrap();
        assert!(!states["api"].exists);
    }

    #[test]
    fn the_fingerprint_is_read_from_the_commit_message_only() {
        assert_eq!(
            fingerprint("t\r\n\r\nDrover-Fingerprint: ab12\r\n---\r\n+x\r\n").as_deref(),
            Some("ab12")
        );
        assert_eq!(
            fingerprint("t\n---\n+Drover-Fingerprint: no\n"),
            None,
            "not from the diff"
        );
    }

    fn patchset(id: u64, status: Status, fingerprint: &str, body: &str) -> DroverPatchset {
        DroverPatchset {
            id,
            status,
            version: 1,
            fingerprint: fingerprint.into(),
            thread_root: format!("t{id}@x"),
            url: format!("https://lists.sr.ht/~acme/api-devel/patches/{id}"),
            message_id: format!("t{id}@x"),
            subject: format!("[PATCH api] {id}"),
            body: body.into(),
        }
    }

    #[test]
    fn what_the_list_says_in_the_decisions_terms() {
        let open_same = patchset(5, Status::Proposed, "ff", "msg\n---\nthe patch\n");
        let open_old = patchset(4, Status::NeedsRevision, "ee", "msg\n---\nold\n");
        let rejected = patchset(3, Status::Rejected, "ff", "msg\n---\nthe patch\n");
        let state = ListState {
            exists: true,
            patchsets: vec![open_same.clone(), open_old.clone(), rejected.clone()],
            foreign: Vec::new(),
            unmarked_applied: Vec::new(),
        };
        let seen = state.seen("ff", "the patch");
        assert!(seen.carried && seen.theirs.is_none());
        assert_eq!(seen.open.map(|o| o.number), Some(5));
        assert_eq!(seen.declined.map(|d| d.number), Some(3));
        // Against other file contents the same fingerprint is a new patch:
        // a new version answering the newest open one.
        let seen = state.seen("ff", "another patch");
        assert!(!seen.carried);
        assert_eq!(seen.open.map(|o| o.number), Some(5));
        let state = ListState {
            foreign: vec![ForeignVersion {
                id: 6,
                status: Status::Proposed,
                thread_root: "t5@x".into(),
                url: "https://lists.sr.ht/~acme/api-devel/patches/6".into(),
                message_id: "m6@x".into(),
                subject: "[PATCH api v2] mine".into(),
            }],
            ..state
        };
        let theirs = state.seen("ff", "the patch").theirs.unwrap();
        assert_eq!(theirs.number, Some(6));
        assert!(theirs.reason.contains("patchset 6"), "{}", theirs.reason);
    }
}
