//! `drover sweep`: plan every repository and open or update one proposal
//! per drifted one.

use std::io::{Seek as _, Write as _};

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
    if args.json && args.dry_run {
        // What would be sent, word for word, beside each drifted
        // repository: a preview, shown whole.
        let mut swept = progress::sweep_fleet(global, "sweep", true, args.repo.as_deref()).await?;
        if let Some(path) = args.report.clone() {
            let report = swept.report;
            swept.report = tokio::task::spawn_blocking(move || {
                crate::fsutil::write_atomically_with(&path, |file| {
                    serde_json::to_writer_pretty(file, &report).map_err(std::io::Error::other)
                })
                .with_context(|| format!("cannot write {}", path.display()))
                .map(|()| report)
            })
            .await??;
        }
        let json = preview::report_json(&swept.config, &swept.renderer, &swept.report)?;
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(exit_of(&swept.report.tally()));
    }
    // Each repository's report is written out (JSON) or cut to its line
    // (text) as the sweep hands it on: a fleet's reports are never all in
    // memory (issue 19).
    let mut json = (args.json || args.report.is_some())
        .then(|| JsonReport::new(tempfile::tempfile()?))
        .transpose()
        .context("a temporary file for the JSON report")?;
    let mut lines = String::new();
    let dry_run = args.dry_run;
    let streamed = progress::sweep_fleet_into(
        global,
        "sweep",
        dry_run,
        args.repo.as_deref(),
        &mut |_, report| {
            if let Some(json) = json.as_mut() {
                json.repository(&report);
            }
            if !args.json {
                lines.push_str(&output::outcome_line(&report, dry_run));
                lines.push('\n');
            }
        },
    )
    .await?;
    let summary = streamed.summary;
    let tally = summary.tally;
    // The report copied out, off the executor's threads.
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        if let Some(json) = json {
            let mut spool = json.finish(&summary).context("writing the JSON report")?;
            if let Some(path) = &args.report {
                spool.seek(std::io::SeekFrom::Start(0))?;
                crate::fsutil::write_atomically_with(path, |file| {
                    std::io::copy(&mut spool, file).map(drop)
                })
                .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if args.json {
                spool.seek(std::io::SeekFrom::Start(0))?;
                let mut out = std::io::stdout().lock();
                std::io::copy(&mut spool, &mut out)?;
                out.write_all(b"\n")?;
                out.flush()?;
            }
        }
        if !args.json {
            lines.push_str(&output::totals_line(&summary.tally, summary.requests));
            anstream::print!("{lines}");
        }
        Ok(())
    })
    .await??;
    Ok(exit_of(&tally))
}

fn exit_of(tally: &crate::sweep::Tally) -> Exit {
    if tally.totals.failed > 0 {
        Exit::Partial
    } else {
        Exit::Ok
    }
}

/// A sweep report written as JSON while the sweep goes: the repositories
/// first, one at a time, then the summary's fields — the same object
/// [`crate::sweep::SweepReport`] serialises to, its keys in another order.
struct JsonReport {
    out: std::io::BufWriter<std::fs::File>,
    first: bool,
    /// The first write that failed: said at the end.
    failed: Option<std::io::Error>,
}

impl JsonReport {
    fn new(file: std::fs::File) -> std::io::Result<JsonReport> {
        let mut out = std::io::BufWriter::with_capacity(64 << 10, file);
        out.write_all(b"{\n\"repositories\": [\n")?;
        Ok(JsonReport {
            out,
            first: true,
            failed: None,
        })
    }

    fn repository(&mut self, report: &crate::sweep::RepoReport) {
        if self.failed.is_some() {
            return;
        }
        let separator: &[u8] = if self.first { b"" } else { b",\n" };
        self.first = false;
        let written = self.out.write_all(separator).and_then(|()| {
            serde_json::to_writer_pretty(&mut self.out, report).map_err(std::io::Error::other)
        });
        if let Err(e) = written {
            self.failed = Some(e);
        }
    }

    /// The summary's fields, and the file, read from its start.
    fn finish(mut self, summary: &crate::sweep::SweepSummary) -> std::io::Result<std::fs::File> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let field = |name: &str, value: serde_json::Value| -> std::io::Result<Vec<u8>> {
            let mut text = format!(",\n{}: ", serde_json::Value::from(name)).into_bytes();
            serde_json::to_writer_pretty(&mut text, &value).map_err(std::io::Error::other)?;
            Ok(text)
        };
        self.out.write_all(b"\n]")?;
        for (name, value) in [
            ("forge", serde_json::json!(summary.forge)),
            ("dry_run", serde_json::json!(summary.dry_run)),
            (
                "templates_fingerprint",
                serde_json::json!(summary.templates_fingerprint),
            ),
            ("requests", serde_json::json!(summary.requests)),
            (
                "traffic",
                serde_json::to_value(&summary.traffic).map_err(std::io::Error::other)?,
            ),
        ] {
            self.out.write_all(&field(name, value)?)?;
        }
        self.out.write_all(b"\n}")?;
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// so a reader never sees half a report.
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::fsutil::write_atomically(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}
