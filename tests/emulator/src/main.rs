//! `drover-emulator`: starts the forge emulator, optionally seeds it from a
//! YAML or JSON file, prints the URLs, and serves until Ctrl-C.
//!
//! Usage: `drover-emulator [--seed-file FILE] [--fault-seed N] [--log FILE]`

use std::path::PathBuf;

use anyhow::{bail, Context};
use drover_emulator::{Emulator, EmulatorConfig, SeedFile};

fn usage() -> ! {
    eprintln!("usage: drover-emulator [--seed-file FILE] [--fault-seed N] [--log FILE]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut config = EmulatorConfig::default();
    let mut seed_file: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--seed-file" => seed_file = Some(PathBuf::from(value())),
            "--fault-seed" => {
                config.seed = value().parse().context("--fault-seed takes a number")?
            }
            "--log" => config.log_path = Some(PathBuf::from(value())),
            "-h" | "--help" => usage(),
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let mut emulator = Emulator::start(config)
        .await
        .context("starting the emulator")?;
    if let Some(path) = seed_file {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let seed: SeedFile = serde_yaml::from_str(&text)
            .with_context(|| format!("parsing seed file {}", path.display()))?;
        emulator
            .seed(&seed)
            .with_context(|| format!("seeding from {}", path.display()))?;
    }
    println!("github      {}", emulator.github_url());
    println!("gitlab      {}", emulator.gitlab_url());
    println!("git.sr.ht   {}", emulator.srht_git_url());
    println!("lists.sr.ht {}", emulator.srht_lists_url());
    println!("smtp        {}", emulator.smtp_addr());
    println!("control     {}/_emulator/", emulator.github_url());
    tokio::signal::ctrl_c().await?;
    emulator.shutdown();
    Ok(())
}
