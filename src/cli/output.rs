//! How sweeps and plans are shown to people: a summary table, coloured
//! diffs, per-repository outcome lines and a final line with totals.

use std::fmt::Write as _;

use anstyle::Style;

use super::style;
use crate::model::{ProposalFate, Wrote};
use crate::sweep::{RepoReport, RepoState, SweepReport, Tally};

/// Text a forge supplied (a name, a URL, a reason quoting an answer) as
/// one line of a table or log: see [`crate::model::one_line`].
pub use crate::model::one_line as cell;

/// `n` and the noun that goes with it: "1 repository", "2 repositories".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn paint(s: Style, text: &str) -> String {
    format!("{}{text}{}", s.render(), s.render_reset())
}

fn state_style(state: &RepoState) -> Style {
    match state {
        RepoState::InLine => style::IN_LINE,
        RepoState::Drifted => style::DRIFTED,
        RepoState::Skipped { .. }
        | RepoState::Misfit { .. }
        | RepoState::WaitingForBudget { .. } => style::SKIPPED,
        RepoState::Failed { .. } => style::ERROR,
    }
}

/// The plan summary: one row per repository, then each drifted
/// repository's diffs.
pub fn plan_text(report: &SweepReport) -> String {
    let rows: Vec<[String; 4]> = report
        .repositories
        .iter()
        .map(|r| {
            let files = match &r.state {
                RepoState::Drifted => r
                    .drift
                    .iter()
                    .map(|d| d.path.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                RepoState::Skipped { reason }
                | RepoState::Misfit { reason }
                | RepoState::Failed { reason }
                | RepoState::WaitingForBudget { reason } => cell(reason).into_owned(),
                RepoState::InLine => "-".into(),
            };
            [
                cell(&r.name).into_owned(),
                r.language.clone().unwrap_or_else(|| "-".into()),
                r.state.label().to_owned(),
                files,
            ]
        })
        .collect();
    let headers = ["REPOSITORY", "LANGUAGE", "STATE", "FILES"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].len())
            .chain([headers[i].len()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint(
            style::HEADER,
            &format!(
                "{:w0$}  {:w1$}  {:w2$}  {}",
                headers[0], headers[1], headers[2], headers[3]
            )
        )
    );
    for (row, repo) in rows.iter().zip(&report.repositories) {
        let state = paint(state_style(&repo.state), &format!("{:w2$}", row[2]));
        let _ = writeln!(out, "{:w0$}  {:w1$}  {state}  {}", row[0], row[1], row[3]);
    }
    for repo in report
        .repositories
        .iter()
        .filter(|r| r.state == RepoState::Drifted || !r.skipped_files.is_empty())
    {
        let _ = writeln!(
            out,
            "\n{}",
            paint(style::HEADER, &format!("── {} ──", cell(&repo.full_name)))
        );
        for skipped in &repo.skipped_files {
            let _ = writeln!(
                out,
                "(skipping {}: {})",
                skipped.path,
                cell(&skipped.reason)
            );
        }
        for d in &repo.drift {
            let _ = writeln!(out, "# {} {}: {}", d.path, change_word(d), d.why);
            out.push_str(&colour_diff(&d.diff));
        }
    }
    out.push('\n');
    out.push_str(&totals_line(&report.tally(), report.requests));
    out
}

fn change_word(d: &crate::drift::FileDrift) -> &'static str {
    match d.change {
        crate::drift::Change::Create => "missing",
        crate::drift::Change::Update => "differs",
        crate::drift::Change::Delete => "must not exist",
    }
}

pub fn colour_diff(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + 64);
    for line in diff.lines() {
        let s =
            if line.starts_with("diff --git") || line.starts_with("+++") || line.starts_with("---")
            {
                style::HEADER
            } else if line.starts_with('+') {
                style::ADDED
            } else if line.starts_with('-') {
                style::REMOVED
            } else if line.starts_with("@@") {
                style::HUNK
            } else {
                Style::new()
            };
        out.push_str(&paint(s, line));
        out.push('\n');
    }
    out
}

/// One repository's line after a sweep.
pub fn outcome_line(r: &RepoReport, dry_run: bool) -> String {
    let state = paint(state_style(&r.state), r.state.label());
    let name = cell(&r.name);
    let files = plural(r.drift.len(), "file", "files");
    match (&r.state, &r.proposal) {
        (RepoState::Drifted, Some(p)) => {
            let url = cell(&p.url);
            let what = match (p.wrote, p.fate) {
                (Wrote::Opened, _) => format!("opened {url}"),
                (Wrote::Updated, _) => format!("updated {url}"),
                (Wrote::Nothing, ProposalFate::HandsOff) => format!(
                    "hands off {url}: {}",
                    cell(p.reason.as_deref().unwrap_or_default())
                ),
                (Wrote::Nothing, ProposalFate::Declined) => {
                    format!("declined earlier, not proposed again {url}")
                }
                (Wrote::Nothing, _) => format!("unchanged {url}"),
            };
            let warned = if p.warnings.is_empty() {
                String::new()
            } else {
                format!("; open, with warnings: {}", cell(&p.warnings.join("; ")))
            };
            format!("{name}: {state} ({files}) → {what}{warned}")
        }
        (RepoState::Drifted, None) if r.waiting.is_some() => {
            format!(
                "{name}: {state} ({files}) → {}",
                cell(r.waiting.as_deref().unwrap_or_default())
            )
        }
        (RepoState::Drifted, None) if dry_run => {
            format!("{name}: {state} ({files}) → would propose")
        }
        (RepoState::InLine, _) if r.closed.is_some() => format!(
            "{name}: {state} → closed {} (fixed on the default branch)",
            cell(r.closed.as_deref().unwrap_or_default())
        ),
        (
            RepoState::Skipped { reason }
            | RepoState::Misfit { reason }
            | RepoState::Failed { reason }
            | RepoState::WaitingForBudget { reason },
            _,
        ) => {
            format!("{name}: {state} ({})", cell(reason))
        }
        _ => format!("{name}: {state}"),
    }
}

pub fn totals_line(tally: &Tally, requests: u64) -> String {
    let t = tally.totals;
    let waiting = tally.waiting;
    let waiting = if waiting > 0 {
        format!(" ({waiting} waiting for a later sweep)")
    } else {
        String::new()
    };
    // Only when it happened: most sweeps fit their budget.
    let budget = if t.waiting_for_budget > 0 {
        format!(", {} waiting for budget", t.waiting_for_budget)
    } else {
        String::new()
    };
    format!(
        "{}: {} in line, {} drifted{waiting}, {} skipped, {} failed{budget}; {}\n",
        plural(tally.repositories, "repository", "repositories"),
        t.in_line,
        t.drifted,
        t.skipped,
        t.failed,
        plural(requests as usize, "forge request", "forge requests"),
    )
}

#[cfg(test)]
mod tests {
    use super::{cell, plural};

    #[test]
    fn counts_take_the_noun_of_their_number() {
        for (n, shown) in [(0, "0 files"), (1, "1 file"), (2, "2 files")] {
            assert_eq!(plural(n, "file", "files"), shown);
        }
        assert_eq!(plural(1, "repository", "repositories"), "1 repository");
    }

    #[test]
    fn forge_text_stays_on_its_line_and_off_the_terminal() {
        for (raw, shown) in [
            ("billing-api", "billing-api"),
            ("a\nFORGED: 0 failed", "a\\nFORGED: 0 failed"),
            ("x\r\ty", "x\\r\\ty"),
            ("red\u{1b}[31m", "red\\u{1b}[31m"),
            ("\u{9b}2J\u{7f}\0", "\\u{9b}2J\\u{7f}\\u{0}"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("café ✓", "café ✓"),
        ] {
            assert_eq!(cell(raw), shown, "{raw:?}");
        }
    }
}
