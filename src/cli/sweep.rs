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
    let mut swept =
        progress::sweep_fleet(global, "sweep", args.dry_run, args.repo.as_deref()).await?;
    if let Some(path) = &args.report {
        // Serialised straight into the file: a fleet's report is never
        // whole in memory as text (issue 19).
        let path = path.clone();
        let report = swept.report;
        swept.report = tokio::task::spawn_blocking(move || {
            crate::fsutil::write_atomically_with(&path, |file| {
                serde_json::to_writer_pretty(file, &report).map_err(std::io::Error::other)
            })
            .with_context(|| format!("cannot write {}", path.display()))
            .map(|()| report)
        })
        .await?
        .context("--report")?;
    }
    let report = &swept.report;
    if args.json && args.dry_run {
        // What would be sent, word for word, beside each drifted repository.
        let json = preview::report_json(&swept.config, &swept.renderer, report)?;
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else if args.json {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        serde_json::to_writer_pretty(&mut out, report)?;
        std::io::Write::write_all(&mut out, b"\n")?;
        std::io::Write::flush(&mut out)?;
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
