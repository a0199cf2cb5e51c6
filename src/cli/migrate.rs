//! `drover migrate`: the plan (`--dry-run`), the run with progress, the
//! per-repository table and the JSON report.

use std::fmt::Write as _;

use anyhow::Context;
use clap::Args;

use super::output::{cell, plural};
use super::progress::{Bar, Shown};
use super::{load, open_store, sweep::write_atomically, Exit, Global};
use crate::migrate::MigrationResult;
use crate::migrate::{self, MigrateOptions, Migration, MigrationReport, TargetAction};
use crate::model::ForgeKind;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The forge kind you mean to move to; refused unless fleet.yaml's
    /// `migrate_to:` is that kind (a guard against running the wrong file).
    #[arg(long, value_name = "KIND", value_parser = migration_target)]
    pub to: Option<ForgeKind>,
    /// Print the plan: repositories, what is created, refs and history,
    /// files re-rendered, requests against the target's limits, conflicts.
    /// Creates, pushes and changes nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only repositories whose name matches this glob (fleet.yaml keeps
    /// its `forge:` until a run without `--only` finds every one through).
    #[arg(long, value_name = "PATTERN")]
    pub only: Option<String>,
    /// Archive each source repository once its target is verified, its
    /// description pointing at the new home. Nothing is deleted.
    #[arg(long)]
    pub archive_source: bool,
    /// Commit the re-rendered files straight to the target's default
    /// branch instead of proposing them.
    #[arg(long)]
    pub direct: bool,
    /// Repositories moved at once.
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Where to write the JSON report (default: migration-report.json in
    /// the state directory; a dry run writes one only when asked).
    #[arg(long, value_name = "FILE")]
    pub report: Option<std::path::PathBuf>,
}

/// A forge kind `drover migrate` moves to: any but the local forge.
fn migration_target(name: &str) -> Result<ForgeKind, String> {
    let targets: Vec<&str> = ForgeKind::ALL
        .into_iter()
        .filter(|k| *k != ForgeKind::Local)
        .map(ForgeKind::as_str)
        .collect();
    ForgeKind::parse(name)
        .filter(|k| *k != ForgeKind::Local)
        .ok_or_else(|| format!("one of {}", targets.join(", ")))
}

pub async fn run(global: &Global, args: MigrateArgs) -> anyhow::Result<Exit> {
    let (config, renderer) = load(global).await?;
    let Some(to) = config.fleet.migrate_to.clone() else {
        // After a finished move to it, `--to` names where the fleet is.
        let here = config.fleet.forge.kind;
        anyhow::ensure!(
            args.to.is_none_or(|kind| kind == here),
            "--to {}, but {} has no `migrate_to:` section to move to (the fleet is on {here})",
            args.to.map(ForgeKind::as_str).unwrap_or_default(),
            config.fleet_path.display()
        );
        println!(
            "nothing to migrate: {} has no `migrate_to:` section (a finished migration rewrites `forge:` and removes it)",
            config.fleet_path.display()
        );
        return Ok(Exit::Ok);
    };
    if let Some(kind) = args.to {
        anyhow::ensure!(
            kind == to.kind,
            "--to {kind}, but {}'s migrate_to: is {}",
            config.fleet_path.display(),
            to.kind
        );
    }
    let mut target_config = config.clone();
    target_config.fleet.forge = to;
    target_config.fleet.migrate_to = None;
    let only = args
        .only
        .as_deref()
        .map(|p| {
            globset::Glob::new(p)
                .map(|g| g.compile_matcher())
                .with_context(|| format!("--only `{p}` is not a glob pattern"))
        })
        .transpose()?;
    let source = crate::forge::open(&config)?;
    let target = crate::forge::open(&target_config).context("migrate_to")?;
    let store = open_store(&config, !args.dry_run).await?;
    let ssh = |section: &crate::config::ForgeSection, what: &str| {
        section
            .ssh_key
            .as_ref()
            .map(|k| {
                k.resolve(&config.base_dir)
                    .with_context(|| format!("{what}.ssh_key"))
            })
            .transpose()
    };
    let source_ssh = ssh(&config.fleet.forge, "forge")?;
    let target_ssh = ssh(&target_config.fleet.forge, "migrate_to")?;
    let migration = Migration {
        source_config: &config,
        target_config: &target_config,
        renderer: &renderer,
        source: source.as_ref(),
        target: target.as_ref(),
        store: store.as_ref(),
        mirrors: config.state_dir().join("mirrors"),
        source_ssh,
        target_ssh,
    };
    let options = MigrateOptions {
        dry_run: args.dry_run,
        only,
        archive_source: args.archive_source,
        direct: args.direct,
        concurrency: usize::from(args.concurrency),
    };
    let progress = Bar::new(Shown::of(global, !args.json), "migrate");
    let report = migrate::run(&migration, &options, &progress).await?;
    progress.finish();

    let path = match (&args.report, args.dry_run) {
        (Some(p), _) => Some(p.clone()),
        (None, false) => Some(config.state_dir().join("migration-report.json")),
        (None, true) => None,
    };
    if let Some(path) = &path {
        let json = serde_json::to_vec_pretty(&report)?;
        let p = path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&p, &json))
            .await?
            .context("the migration report")?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if args.dry_run {
        print!("{}", plan_text(&report));
    } else {
        print!("{}", result_text(&report));
        if let Some(path) = &path {
            println!("report: {}", path.display());
        }
    }
    if let Some(e) = &report.fleet_error {
        eprintln!("fleet.yaml was not rewritten: {e}; change its `forge:` to the `migrate_to:` section by hand");
    }
    let troubled = report.count(MigrationResult::Conflict)
        + report.count(MigrationResult::Failed)
        + usize::from(report.fleet_error.is_some());
    Ok(if troubled > 0 {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

impl migrate::Progress for Bar {
    fn start(&self, total: usize) {
        Bar::start(self, total);
    }

    fn step(&self, repo: &str, step: &str) {
        let last = matches!(
            step,
            "migrated" | "done" | "conflict" | "failed" | "planned" | "skipped"
        );
        Bar::step(self, repo, step, last);
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// The dry run's plan, one paragraph per repository.
pub fn plan_text(report: &MigrationReport) -> String {
    let mut out = format!("Migration plan: {} → {}\n\n", report.from, report.to);
    for r in &report.repositories {
        let action = match r.action {
            TargetAction::Create => "create".to_owned(),
            TargetAction::Adopt => "adopt the empty repository there".to_owned(),
            TargetAction::Resume => "resume (the target holds part of this history)".to_owned(),
            TargetAction::Done => "done already".to_owned(),
            TargetAction::Conflict => format!("CONFLICT: {}", r.reason.as_deref().unwrap_or("")),
            TargetAction::Skip => format!("skip: {}", r.reason.as_deref().unwrap_or("")),
        };
        let _ = writeln!(
            out,
            "  {} → {}: {}",
            cell(&r.source),
            cell(&r.target),
            cell(&action)
        );
        if let Some(detail) = &r.detail {
            let _ = writeln!(out, "      {}", cell(detail));
        }
        if matches!(
            r.action,
            TargetAction::Create | TargetAction::Adopt | TargetAction::Resume
        ) {
            let _ = writeln!(
                out,
                "      {}, {}, {}, {}",
                plural(r.branches, "branch", "branches"),
                plural(r.tags, "tag", "tags"),
                plural(r.commits, "commit", "commits"),
                size(r.bytes)
            );
            if r.rerender.is_empty() {
                let _ = writeln!(out, "      nothing to re-render");
            } else {
                let files: Vec<String> = r
                    .rerender
                    .iter()
                    .map(|f| format!("{} {}", change_word(f.change), f.path))
                    .collect();
                let how = if report.direct { "commit" } else { "propose" };
                let _ = writeln!(out, "      re-render ({how}): {}", files.join(", "));
            }
        }
    }
    let _ = writeln!(
        out,
        "\n{} to create, about {} API requests on the target.\n{}",
        plural(report.estimate.creations, "repository", "repositories"),
        report.estimate.requests,
        report.estimate.limit
    );
    let conflicts = report.count(MigrationResult::Conflict);
    if conflicts > 0 {
        let _ = writeln!(
            out,
            "{} will be left untouched on both sides.",
            plural(conflicts, "conflict", "conflicts")
        );
    }
    out
}

fn change_word(change: crate::drift::Change) -> &'static str {
    match change {
        crate::drift::Change::Create => "create",
        crate::drift::Change::Update => "update",
        crate::drift::Change::Delete => "delete",
    }
}

/// The table at the end of a run.
pub fn result_text(report: &MigrationReport) -> String {
    let mut out = format!("Migration: {} → {}\n\n", report.from, report.to);
    let width = report
        .repositories
        .iter()
        .map(|r| r.source.chars().count())
        .max()
        .unwrap_or(0)
        .max("REPOSITORY".len());
    let _ = writeln!(
        out,
        "{:<width$}  {:<9}  {:>4}  DETAIL",
        "REPOSITORY", "RESULT", "REFS"
    );
    for r in &report.repositories {
        let detail = r
            .detail
            .clone()
            .or_else(|| r.reason.clone())
            .or_else(|| r.rerendered.clone())
            .unwrap_or_default();
        let detail = if r.archived {
            format!("{detail}; source archived")
        } else {
            detail
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:<9}  {:>4}  {}",
            r.source,
            r.result,
            r.branches + r.tags,
            detail
        );
    }
    let _ = writeln!(
        out,
        "\n{} migrated, {} already done, {} conflicts, {} failed, {} skipped; {} API requests to the source, {} to the target (git transfers apart).",
        report.count(MigrationResult::Migrated),
        report.count(MigrationResult::Done),
        report.count(MigrationResult::Conflict),
        report.count(MigrationResult::Failed),
        report.count(MigrationResult::Skipped),
        report.source_requests,
        report.target_requests
    );
    if report.fleet_updated {
        let _ = writeln!(out, "fleet.yaml now points at {}.", report.to);
    } else if report.count(MigrationResult::Done) + report.count(MigrationResult::Migrated) > 0 {
        let _ = writeln!(
            out,
            "fleet.yaml still points at {}: it changes once a run without --only has every repository through.",
            report.from
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_counts_each_repository_once_at_its_result() {
        let bar = Bar::new(Shown::Bar, "migrate");
        bar.start(3);
        for (repo, step) in [
            ("a", "planning"),
            ("a", "pushing"),
            ("a", "migrated"),
            ("b", "skipped"),
            ("c", "planning"),
            ("c", "conflict"),
        ] {
            crate::migrate::Progress::step(&bar, repo, step);
        }
        assert_eq!(bar.bar.length(), Some(3));
        assert_eq!(bar.bar.position(), 3);
        bar.bar.finish_and_clear();
    }
}
