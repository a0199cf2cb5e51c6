//! `drover sweep`: plan every repository and open or update one proposal
//! per drifted one.

use anyhow::Context;
use clap::Args;

use super::{output, preview, progress, Exit, Global};

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Compute and report what would be proposed; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only this repository.
    #[arg(long)]
    pub repo: Option<String>,
    /// Print the sweep report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the sweep report as JSON to FILE (atomically: a
    /// temporary file beside it, then a rename).
    #[arg(long, value_name = "FILE")]
    pub report: Option<std::path::PathBuf>,
}

pub async fn run(global: &Global, args: SweepArgs) -> anyhow::Result<Exit> {
    let swept = progress::sweep_fleet(global, "sweep", args.dry_run, args.repo.as_deref()).await?;
    let report = &swept.report;
    if let Some(path) = &args.report {
        let json = serde_json::to_vec_pretty(report)?;
        let path = path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &json))
            .await?
            .context("--report")?;
    }
    if args.json && args.dry_run {
        // What would be sent, word for word, beside each drifted repository.
        let json = preview::report_json(&swept.config, &swept.renderer, report)?;
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else if args.json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        anstream::print!("{}", output::sweep_text(report));
    }
    Ok(if report.totals().failed > 0 {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// so a reader never sees half a report.
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::fsutil::write_atomically(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}
