//! `drover daemon`: sweep on the schedule and on webhooks until stopped.

use std::net::SocketAddr;

use clap::Args;

use super::{Exit, Global};
use crate::daemon::{self, DaemonOptions};

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Where to listen for webhooks, probes and metrics (overrides
    /// `daemon.listen`; port 0 picks a free port, printed on stdout).
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<SocketAddr>,
}

pub async fn run(global: &Global, args: DaemonArgs) -> anyhow::Result<Exit> {
    daemon::run(DaemonOptions {
        config_path: global.config.clone(),
        state_dir: global.state_dir.clone(),
        listen: args.listen,
    })
    .await?;
    Ok(Exit::Ok)
}
