//! `drover plan`: how each repository differs from its templates, without
//! writing anything.

use clap::Args;

use super::progress::{Bar, Shown, Watched};
use super::{load, open_store, output, Exit, Global};
use crate::sweep::{self, SweepOptions};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Only this repository.
    #[arg(long)]
    pub repo: Option<String>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit with 2 when any repository has drifted.
    #[arg(long)]
    pub exit_code: bool,
}

pub async fn run(global: &Global, args: PlanArgs) -> anyhow::Result<Exit> {
    let (config, renderer) = load(global).await?;
    let forge = crate::forge::open(&config)?;
    let store = open_store(&config, false).await?;
    let options = SweepOptions {
        dry_run: true,
        only: args.repo.clone().map(sweep::Only::Name),
        ..SweepOptions::default()
    };
    let bar = Bar::new(Shown::of(global, true), "plan");
    let watched = Watched {
        forge: forge.as_ref(),
        bar: &bar,
    };
    let report = sweep::run(&config, &renderer, &watched, store.as_ref(), &options).await;
    bar.finish();
    let report = report?;
    if let Some(name) = &args.repo {
        anyhow::ensure!(
            !report.repositories.is_empty(),
            "no repository named `{name}` on the forge"
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        anstream::print!("{}", output::plan_text(&report));
    }
    let totals = report.totals();
    Ok(if totals.failed > 0 {
        Exit::Partial
    } else if args.exit_code && totals.drifted > 0 {
        Exit::Drift
    } else {
        Exit::Ok
    })
}
