//! `drover daemon`: sweep on the schedule and on webhooks until stopped.
//! This is where the process meets the daemon: the socket is bound here,
//! the address announced, and OS signals become the daemon's controls
//! (SIGTERM or SIGINT stop it, SIGHUP reloads).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tokio::signal::unix::{signal, SignalKind};

use super::{open_store, Exit, Global};
use crate::daemon::{self, Daemon, Reload};

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Where to listen for webhooks, probes and metrics (overrides
    /// `daemon.listen`; port 0 picks a free port, printed on stdout).
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<SocketAddr>,
}

pub async fn run(global: &Global, args: DaemonArgs) -> anyhow::Result<Exit> {
    let loaded = daemon::load(global.config.clone(), global.state_dir.clone()).await?;
    let store = open_store(&loaded.config, true)
        .await?
        .expect("created when missing");
    let listen = args.listen.unwrap_or(loaded.config.fleet.daemon.listen.0);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr()?;
    // A line on stdout for whoever started us with port 0, and the address
    // beside the store for `drover status` (which cannot open the store
    // while this process holds it).
    println!("drover daemon listening on {bound}");
    let addr_file = loaded.config.state_dir().join(crate::status::ADDRESS_FILE);
    {
        let (path, text) = (addr_file.clone(), format!("{bound}\n"));
        tokio::task::spawn_blocking(move || {
            crate::fsutil::write_atomically(&path, text.as_bytes())
        })
        .await?
        .with_context(|| format!("cannot write {}", addr_file.display()))?;
    }
    // Gone however this function returns.
    let _announced = Announced(addr_file);

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    let hup = signal(SignalKind::hangup())?;
    let reloads = futures::stream::unfold(hup, |mut hup| async move {
        hup.recv().await.map(|()| (Reload::new(), hup))
    });
    daemon::run(Daemon { loaded, store }, listener, shutdown, reloads).await?;
    Ok(Exit::Ok)
}

/// Removes the address file when dropped.
struct Announced(PathBuf);

impl Drop for Announced {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
