//! What drover would send for a drifted repository: its proposal's title,
//! body and commit message, for `plan --proposal` and `sweep --dry-run
//! --json`. The words come from `proposal::compose`, the one function the
//! sweep composes them with, given the same facts the sweep gives it
//! (`sweep::plan::compose_text`): the repository, its policy's language
//! and fingerprint, and its drift.

use crate::config::Config;
use crate::proposal::ProposalText;
use crate::render::Renderer;
use crate::sweep::{RepoReport, RepoState, SweepReport};

/// The proposal a drifted repository would get; `None` for any other.
pub fn text_of(config: &Config, renderer: &Renderer, repo: &RepoReport) -> Option<ProposalText> {
    if repo.state != RepoState::Drifted {
        return None;
    }
    let policy = config.policy(repo.language.as_deref()?)?;
    Some(crate::sweep::words(
        config,
        renderer,
        policy,
        &repo.name,
        &repo.full_name,
        &repo.drift,
    ))
}

/// The words as JSON: `title`, `body`, `commit_message`.
pub fn json_of(text: &ProposalText) -> serde_json::Value {
    serde_json::json!({
        "title": text.title,
        "body": text.body,
        "commit_message": text.commit_message,
    })
}

/// The report as JSON, each drifted repository with the words of its
/// proposal under `proposal_text`.
pub fn report_json(
    config: &Config,
    renderer: &Renderer,
    report: &SweepReport,
) -> anyhow::Result<serde_json::Value> {
    let mut json = serde_json::to_value(report)?;
    let rows = json
        .get_mut("repositories")
        .and_then(|r| r.as_array_mut())
        .into_iter()
        .flatten();
    for (row, repo) in rows.zip(&report.repositories) {
        if let (Some(row), Some(text)) = (row.as_object_mut(), text_of(config, renderer, repo)) {
            row.insert("proposal_text".into(), json_of(&text));
        }
    }
    Ok(json)
}

/// The words for people: each part under its name, as sent.
pub fn text(text: &ProposalText) -> String {
    format!(
        "── title ──\n{}\n── commit message ──\n{}\n── body ──\n{}\n",
        text.title,
        text.commit_message.trim_end_matches('\n'),
        text.body.trim_end_matches('\n'),
    )
}
