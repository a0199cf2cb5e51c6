//! The sweep's pure parts: limits, the store's view of a proposal,
//! takeovers, the plan of one repository and the unchanged-head shortcut.

use std::collections::HashMap;

use super::limits::hold_back_over_limits;
use super::plan::{plan_complete, takeovers, unchanged_in_line};
use super::records::proposal_record;
use super::report::{Planned, RepoState};
use crate::config::{Config, Limits};
use crate::facts::snapshot_of;
use crate::model::{ExistingProposal, Outcome, ProposalFate, Proposed, RemoteRepo, Wrote};
use crate::render::Renderer;
use crate::store::{ProposalRecord, RepoRecord};

fn repo(name: &str) -> RemoteRepo {
    RemoteRepo {
        head: Some("head1".into()),
        ..RemoteRepo::named(name, &format!("acme/{name}"))
    }
}

fn drifted(name: &str, open: bool) -> Planned {
    let mut p = Planned::new(&repo(name), RepoState::Drifted);
    if open {
        p.seen.existing.push(ExistingProposal {
            number: 1,
            url: format!("u/{name}"),
            state: ProposalFate::Open,
            head: None,
        });
    }
    p
}

fn record(fate: Option<ProposalFate>, outcome: Outcome) -> RepoRecord {
    RepoRecord {
        head: Some("head1".into()),
        language: Some("rust".into()),
        render_key: None,
        outcome,
        reason: None,
        updated_at: 0,
        proposal: fate.map(|state| ProposalRecord {
            url: "u/old".into(),
            number: Some(3),
            state,
            fingerprint: "f".into(),
            opened_at: 100,
            reason: None,
            tip: None,
            sent: Default::default(),
        }),
    }
}

#[test]
fn limits_hold_new_proposals_back_in_name_order() {
    // (limits, planned: (name, has open), other open in store) → waiting
    type Case = (
        Option<usize>,
        Option<usize>,
        &'static [(&'static str, bool)],
        usize,
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        (None, None, &[("a", false), ("b", false)], 0, &[]),
        (
            Some(2),
            None,
            &[("a", false), ("b", false), ("c", false)],
            0,
            &["c"],
        ),
        (
            Some(2),
            None,
            &[("a", true), ("b", false), ("c", false)],
            0,
            &["c"],
        ),
        (Some(2), None, &[("a", false), ("b", false)], 1, &["b"]),
        (
            None,
            Some(1),
            &[("a", true), ("b", false), ("c", false)],
            0,
            &["c"],
        ),
        (Some(1), None, &[("a", true), ("b", true)], 0, &[]),
    ];
    for (open, new, planned, stored, waiting) in cases {
        let limits = Limits {
            open_proposals: *open,
            new_per_sweep: *new,
        };
        let mut planned: Vec<Planned> = planned.iter().map(|(n, o)| drifted(n, *o)).collect();
        let records: HashMap<String, RepoRecord> = (0..*stored)
            .map(|i| {
                (
                    format!("acme/elsewhere-{i}"),
                    record(Some(ProposalFate::Open), Outcome::Drifted),
                )
            })
            .collect();
        hold_back_over_limits(&limits, &mut planned, &records);
        let got: Vec<&str> = planned
            .iter()
            .filter(|p| p.report.waiting.is_some())
            .map(|p| p.report.name.as_str())
            .collect();
        assert_eq!(got, *waiting, "{open:?} {new:?} {stored}");
    }
}

#[test]
fn a_repository_not_read_for_want_of_budget_keeps_its_open_proposal_counted() {
    let limits = Limits {
        open_proposals: Some(1),
        new_per_sweep: None,
    };
    let mut waiting = drifted("a", false);
    waiting.report.state = RepoState::WaitingForBudget {
        reason: "rate limited".into(),
    };
    let mut planned = vec![waiting, drifted("b", false)];
    let records: HashMap<String, RepoRecord> = [(
        "acme/a".to_owned(),
        record(Some(ProposalFate::Open), Outcome::Drifted),
    )]
    .into();
    hold_back_over_limits(&limits, &mut planned, &records);
    assert!(
        planned[1].report.waiting.is_some(),
        "a's open proposal fills the one slot"
    );
}

#[test]
fn the_store_keeps_what_became_of_the_proposal() {
    let now = 500;
    let proposed = |fate, wrote, url: &str| Proposed {
        url: url.into(),
        number: Some(7),
        fate,
        wrote,
        reason: None,
        warnings: Vec::new(),
        tip: None,
        missing: Default::default(),
    };
    // A new proposal: opened now.
    let mut p = drifted("a", false);
    p.report.proposal = Some(proposed(ProposalFate::Open, Wrote::Opened, "u/new"));
    let r = proposal_record(
        &p,
        Some(&record(Some(ProposalFate::Open), Outcome::Drifted)),
        now,
    )
    .unwrap();
    assert_eq!(
        (r.url.as_str(), r.opened_at, r.number),
        ("u/new", now, Some(7))
    );
    // Updated in place: keeps when it was opened.
    p.report.proposal = Some(proposed(ProposalFate::Open, Wrote::Updated, "u/old"));
    let r = proposal_record(
        &p,
        Some(&record(Some(ProposalFate::Open), Outcome::Drifted)),
        now,
    )
    .unwrap();
    assert_eq!(r.opened_at, 100);
    // Failed or misfit: what was known before.
    for state in [
        RepoState::Failed { reason: "x".into() },
        RepoState::Misfit { reason: "y".into() },
    ] {
        let p = Planned::new(&repo("a"), state);
        let before = record(Some(ProposalFate::Declined), Outcome::Drifted);
        assert_eq!(proposal_record(&p, Some(&before), now), before.proposal);
    }
    // In line by a merged proposal: recorded as merged.
    let mut p = Planned::new(&repo("a"), RepoState::InLine);
    p.seen.existing.push(ExistingProposal {
        number: 9,
        url: "u/merged".into(),
        state: ProposalFate::Merged,
        head: None,
    });
    let r = proposal_record(&p, None, now).unwrap();
    assert_eq!((r.state, r.number), (ProposalFate::Merged, Some(9)));
    // Skipped: nothing.
    let p = Planned::new(&repo("a"), RepoState::Skipped { reason: "r".into() });
    assert_eq!(
        proposal_record(
            &p,
            Some(&record(Some(ProposalFate::Open), Outcome::Drifted)),
            now
        ),
        None
    );
}

/// The shipped defaults over a local fleet (no forge is asked).
fn config() -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fleet.yaml"),
        "forge:\n  kind: local\n  path: repos\n  ci: github\n",
    )
    .unwrap();
    let config = Config::load(&dir.path().join("fleet.yaml")).unwrap();
    (dir, config)
}

#[test]
fn hand_written_files_are_kept_or_replaced_as_the_policy_says() {
    let snap = snapshot_of(&[
        ("Dockerfile", "FROM scratch\n"),
        (".gitlab-ci.yml", "test:\n  script: [true]\n"),
        ("ci.yml", "# Managed by drover from template x\nold: 1\n"),
    ]);
    let want = |path: &str, mode, takeover| crate::render::DesiredFile {
        path: crate::model::RepoPath::new(path).unwrap(),
        mode,
        content: (mode != crate::model::Mode::Absent).then(|| "new\n".to_owned()),
        why: String::new(),
        template: None,
        markers: Default::default(),
        takeover,
        stands_alone: false,
    };
    use crate::config::Takeover::{Keep, Replace};
    use crate::model::Mode::{Absent, Whole};
    let mut desired = vec![
        want("Dockerfile", Whole, Keep),
        want(".gitlab-ci.yml", Absent, Replace),
        want("ci.yml", Whole, Keep),
        want("new.yml", Whole, Keep),
    ];
    let found = takeovers(&mut desired, &snap);
    let got: Vec<(&str, &str, usize)> = found
        .iter()
        .map(|t| (t.path.as_str(), t.action, t.lines))
        .collect();
    assert_eq!(
        got,
        [("Dockerfile", "kept", 1), (".gitlab-ci.yml", "replaced", 2)]
    );
    let left: Vec<&str> = desired.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(left, [".gitlab-ci.yml", "ci.yml", "new.yml"]);
}

#[test]
fn a_plan_follows_kind_fit_and_misfit() {
    let (_dir, config) = config();
    let renderer = Renderer::new(&config.templates).unwrap();
    let forge = crate::forge::forge_facts(&config);
    let plan = |files: &[(&str, &str)]| {
        plan_complete(&config, &renderer, &forge, &repo("x"), &snapshot_of(files))
    };
    // A library: CI only.
    let lib = plan(&[
        ("Cargo.toml", "[package]\nname = \"x\"\n"),
        ("src/lib.rs", ""),
    ]);
    let paths: Vec<&str> = lib.report.drift.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, [".github/workflows/ci.yml"]);
    assert!(lib.seen.text.is_some() && lib.seen.render_key.is_some());
    // Two binaries: a misfit, nothing proposed.
    let two = plan(&[
        ("Cargo.toml", "[package]\nname = \"x\"\n"),
        ("src/bin/a.rs", ""),
        ("src/bin/b.rs", ""),
    ]);
    assert!(
        matches!(&two.report.state, RepoState::Misfit { reason } if reason.contains("several binary targets"))
    );
    assert!(two.report.drift.is_empty());
    // No policy: skipped, keyed by the detection rules.
    let none = plan(&[("README.md", "")]);
    assert!(matches!(none.report.state, RepoState::Skipped { .. }));
    assert!(none.seen.render_key.unwrap().starts_with("detect:"));
}

#[test]
fn an_unchanged_head_with_the_same_rendering_is_in_line_unread() {
    let (_dir, config) = config();
    let renderer = Renderer::new(&config.templates).unwrap();
    let forge = crate::forge::forge_facts(&config);
    let r = repo("x");
    let in_line = plan_complete(
        &config,
        &renderer,
        &forge,
        &r,
        &snapshot_of(&[("Cargo.toml", "[package]\nname = \"x\"\n")]),
    );
    let mut rec = record(None, Outcome::InLine);
    rec.render_key = in_line.seen.render_key.clone();
    let got = unchanged_in_line(&config, &renderer, &forge, &r, Some(&rec)).expect("unchanged");
    assert!(got.report.unchanged && got.report.state == RepoState::InLine);
    // Another head, another key, or another outcome: read again.
    let moved = RemoteRepo {
        head: Some("head2".into()),
        ..r.clone()
    };
    assert!(unchanged_in_line(&config, &renderer, &forge, &moved, Some(&rec)).is_none());
    let mut other = rec.clone();
    other.render_key = Some("different".into());
    assert!(unchanged_in_line(&config, &renderer, &forge, &r, Some(&other)).is_none());
    let mut drifted = rec;
    drifted.outcome = Outcome::Drifted;
    assert!(unchanged_in_line(&config, &renderer, &forge, &r, Some(&drifted)).is_none());
}

#[test]
fn a_decline_is_remembered_once_the_branch_is_gone() {
    use super::records::declined_before;
    let declined = record(Some(ProposalFate::Declined), Outcome::Drifted);
    let mut p = drifted("a", false);
    p.report.fingerprint = Some("f".into());
    // The same changes, no branch, nothing open: declined, by the store.
    let got = declined_before(&p, Some(&declined)).unwrap();
    assert_eq!(
        (got.fate, got.url.as_str(), got.number),
        (ProposalFate::Declined, "u/old", Some(3))
    );
    // Other changes: proposed again.
    p.report.fingerprint = Some("g".into());
    assert_eq!(declined_before(&p, Some(&declined)), None);
    // An open proposal, or a branch: the forge's decision reads those.
    let mut open = drifted("a", true);
    open.report.fingerprint = Some("f".into());
    assert_eq!(declined_before(&open, Some(&declined)), None);
    // Never declined: nothing.
    p.report.fingerprint = Some("f".into());
    let merged = record(Some(ProposalFate::Merged), Outcome::Drifted);
    assert_eq!(declined_before(&p, Some(&merged)), None);
}

/// A sweep keeps one `Planned` per repository of the fleet until it ends
/// (10,000 at once for a fleet that size): what each costs inline is
/// bounded, and the large parts most repositories lack (facts, drift) live
/// behind a pointer. Facts inline made it 2 KiB a repository (issue 19);
/// 880 bytes since the store's tip, the words' digest and the forge's
/// warnings joined it.
#[test]
fn what_a_sweep_keeps_of_each_repository_is_small() {
    let each = std::mem::size_of::<Option<Planned>>();
    assert!(each <= 896, "a Planned takes {each} bytes inline");
}
