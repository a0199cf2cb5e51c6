//! `drover render`: write what the templates render for one repository into
//! a directory, for inspection or for validators.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{load, Exit, Global};
use crate::render::RenderContext;
use crate::sweep::{complete_snapshot, language_for, wanted};

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The repository to render for.
    #[arg(long)]
    pub repo: String,
    /// Where to write the rendered files (created if missing).
    #[arg(long, required_unless_present = "facts")]
    pub out: Option<PathBuf>,
    /// Print what drover reads of the repository (its kind and facts, as
    /// templates see them in `repo.kind` and `repo.facts`) as JSON instead.
    #[arg(long)]
    pub facts: bool,
}

pub async fn run(global: &Global, args: RenderArgs) -> anyhow::Result<Exit> {
    let (config, renderer) = load(global).await?;
    let forge = crate::forge::open(&config)?;
    let repo = forge
        .discover()
        .await?
        .into_iter()
        .find(|r| r.name == args.repo)
        .with_context(|| format!("no repository named `{}` on the forge", args.repo))?;
    let mut snapshots = forge
        .snapshot(std::slice::from_ref(&repo), &wanted(&config))
        .await;
    crate::sweep::complete_facts(
        forge.as_ref(),
        std::slice::from_ref(&repo),
        &mut snapshots,
        None,
    )
    .await;
    let snapshot = snapshots.remove(0)?;
    let facts = crate::forge::forge_facts(&config);
    let snapshot =
        complete_snapshot(&config, &renderer, &facts, forge.as_ref(), &repo, snapshot).await?;
    let over = config.fleet.repositories.overrides.get(&repo.name);
    let language = language_for(&config, &repo, &snapshot).with_context(|| {
        format!(
            "`{}` matches no policy; set `language:` in its override",
            repo.name
        )
    })?;
    let policy = config.policy(&language).expect("validated language");
    let repo_facts = crate::facts::Facts::read(&snapshot);
    let ctx = RenderContext::new(&config, &facts, &repo, &language, &repo_facts);
    if args.facts {
        let shown = serde_json::json!({
            "repository": repo.full_name,
            "language": language,
            "kind": ctx.repo.kind,
            "facts": repo_facts,
        });
        println!("{}", serde_json::to_string_pretty(&shown)?);
        return Ok(Exit::Ok);
    }
    let skips = over.map(|o| o.skip.as_slice()).unwrap_or_default();
    let (desired, skipped) = renderer.desired_files(policy, facts.ci, skips, &ctx)?;
    let out = args.out.clone().context("--out is required")?;
    let lines = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut lines = Vec::new();
        for file in &desired {
            let Some(text) = crate::drift::new_file(file) else {
                lines.push(format!("{} (must be absent)", file.path));
                continue;
            };
            let dest = out.join(file.path.as_str());
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&dest, text)
                .with_context(|| format!("cannot write {}", dest.display()))?;
            lines.push(format!("{} ({})", file.path, file.mode.as_str()));
        }
        Ok(lines)
    })
    .await??;
    for line in lines {
        println!("{line}");
    }
    for s in skipped {
        println!("{} (skipped: {})", s.path, s.reason);
    }
    Ok(Exit::Ok)
}
