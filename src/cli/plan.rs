//! `drover plan`: how each repository differs from its templates, without
//! writing anything.

use clap::Args;

use super::{output, preview, progress, Exit, Global};

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
    /// Print the proposal drover would send for --repo: its title, commit
    /// message and body, exactly (as JSON with --json).
    #[arg(long, requires = "repo")]
    pub proposal: bool,
}

pub async fn run(global: &Global, args: PlanArgs) -> anyhow::Result<Exit> {
    let swept = progress::sweep_fleet(global, "plan", true, args.repo.as_deref()).await?;
    let report = &swept.report;
    if args.proposal {
        let repo = &report.repositories[0];
        match preview::text_of(&swept.config, &swept.renderer, repo) {
            Some(text) if args.json => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&preview::json_of(&text))?
                )
            }
            Some(text) => print!("{}", preview::text(&text)),
            None => println!(
                "{} is {}: drover would propose nothing",
                output::cell(&repo.name),
                repo.state.label()
            ),
        }
    } else if args.json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        anstream::print!("{}", output::plan_text(report));
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
