//! `drover daemon`: sweeps on fleet.yaml's cron schedule, and one
//! repository at a time when a forge's webhook says it changed.
//!
//! One worker task runs every sweep, so two never overlap: triggers that
//! arrive while it sweeps wait in its queue (repeats coalesced), and
//! schedule times that pass during a sweep are not made up for — the next
//! run is the next time after the sweep ends. SIGHUP reloads fleet.yaml,
//! policies and templates; a reload that fails validation is logged with
//! its file:line error and the running configuration stays. SIGTERM or
//! SIGINT stop new work: the sweep in hand proposes to no further
//! repository, writes the store and returns, within
//! `daemon.shutdown_timeout_secs`; then the process exits 0.

mod hooks;
mod metrics;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::forge::Forge;
use crate::model::Secret;
use crate::render::Renderer;
use crate::store::Store;
use crate::sweep::{self, SweepOptions};

pub use metrics::Metrics;

/// What a sweep is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trigger {
    /// The schedule: the whole fleet.
    Schedule,
    /// A webhook: one repository, by name.
    Repo(String),
}

/// A loaded configuration and what is built from it; replaced whole on a
/// successful reload.
pub struct Loaded {
    pub config: Config,
    pub renderer: Renderer,
    pub forge: Arc<dyn Forge>,
    pub github_secret: Option<Secret>,
    pub gitlab_secret: Option<Secret>,
    pub sourcehut_key: Option<ed25519_dalek::VerifyingKey>,
}

/// Loads and builds everything, off the async threads.
pub async fn load(path: PathBuf, state_dir: Option<PathBuf>) -> anyhow::Result<Loaded> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<Loaded> {
        let mut config = Config::load(&path)?;
        config.state_dir_flag = state_dir;
        let renderer = Renderer::new(&config.templates)?;
        let forge: Arc<dyn Forge> = Arc::from(crate::cli::open_forge(&config)?);
        let hooks = &config.fleet.daemon.webhooks;
        let resolve = |r: &Option<crate::config::SecretRef>, what: &str| {
            r.as_ref()
                .map(|r| r.resolve(&config.base_dir).context(what.to_owned()))
                .transpose()
        };
        let github_secret = resolve(&hooks.github, "daemon.webhooks.github")?;
        let gitlab_secret = resolve(&hooks.gitlab, "daemon.webhooks.gitlab")?;
        let sourcehut_key = hooks
            .sourcehut
            .as_ref()
            .map(|k| {
                ed25519_dalek::VerifyingKey::from_bytes(&k.bytes())
                    .context("daemon.webhooks.sourcehut is not a valid Ed25519 public key")
            })
            .transpose()?;
        Ok(Loaded {
            config,
            renderer,
            forge,
            github_secret,
            gitlab_secret,
            sourcehut_key,
        })
    })
    .await
    .context("configuration loader failed")?
}

/// What the HTTP side and the worker share.
pub struct Shared {
    pub current: RwLock<Arc<Loaded>>,
    pub store: Store,
    pub metrics: Metrics,
    /// False once shutdown began.
    pub ready: AtomicBool,
    pub triggers: mpsc::UnboundedSender<Trigger>,
}

impl Shared {
    pub fn loaded(&self) -> Arc<Loaded> {
        self.current.read().expect("not poisoned").clone()
    }
}

/// How the daemon is started.
pub struct DaemonOptions {
    pub config_path: PathBuf,
    pub state_dir: Option<PathBuf>,
    /// Overrides `daemon.listen`.
    pub listen: Option<SocketAddr>,
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(options: DaemonOptions) -> anyhow::Result<()> {
    let loaded = load(options.config_path.clone(), options.state_dir.clone()).await?;
    let dir = loaded.config.state_dir().join("store");
    let store = tokio::task::spawn_blocking(move || Store::open(&dir))
        .await
        .context("store opener failed")??;
    let listen = options
        .listen
        .unwrap_or(loaded.config.fleet.daemon.listen.0);
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        current: RwLock::new(Arc::new(loaded)),
        store,
        metrics: Metrics::new(),
        ready: AtomicBool::new(true),
        triggers: tx,
    });

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(address = %bound, "listening for webhooks, probes and metrics");
    // A line on stdout for whoever started us with port 0, and the address
    // beside the store for `drover status` (which cannot open the store
    // while this process holds it).
    println!("drover daemon listening on {bound}");
    let addr_file = shared.loaded().config.state_dir().join(ADDRESS_FILE);
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

    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_flag = Arc::new(AtomicBool::new(false));
    let server = {
        let app = hooks::router(shared.clone());
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
        })
    };
    // The worker runs in this task, beside the signal handling: a sweep's
    // future borrows too much to be spawned, and needs not be.
    let worker = worker(shared.clone(), rx, stop_rx.clone(), stop_flag.clone());
    tokio::pin!(worker);
    let mut worker_done = false;
    tokio::select! {
        _ = &mut worker => {
            worker_done = true;
            tracing::warn!("the worker stopped on its own");
        }
        signalled = signals(&shared, &options) => signalled?,
    }

    // Shutdown: no new work, the sweep in hand wraps up, the store is
    // flushed by its own write.
    shared.ready.store(false, Ordering::SeqCst);
    stop_flag.store(true, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    let bound_secs = shared.loaded().config.fleet.daemon.shutdown_timeout_secs;
    tracing::info!(timeout_secs = bound_secs, "shutting down");
    match tokio::time::timeout(Duration::from_secs(bound_secs), async {
        if !worker_done {
            (&mut worker).await
        }
    })
    .await
    {
        Ok(()) => tracing::info!("the worker stopped; store written"),
        Err(_) => tracing::warn!(
            "the sweep in progress did not wrap up in {bound_secs} s; abandoned before its store write (the store stays as the last sweep left it)"
        ),
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    let store = shared.store.clone();
    tokio::task::spawn_blocking(move || store.flush())
        .await
        .context("store flush failed")??;
    Ok(())
}

/// The file in the state directory that says where a running daemon
/// listens.
pub const ADDRESS_FILE: &str = "daemon.addr";

/// Removes the address file when dropped.
struct Announced(PathBuf);

impl Drop for Announced {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Waits for SIGTERM/SIGINT, reloading on every SIGHUP meanwhile.
async fn signals(shared: &Arc<Shared>, options: &DaemonOptions) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = hup.recv() => reload(shared, options).await,
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
        }
    }
}

/// SIGHUP: a new configuration replaces the old only when all of it loads.
pub async fn reload(shared: &Shared, options: &DaemonOptions) {
    match load(options.config_path.clone(), options.state_dir.clone()).await {
        Ok(new) => {
            let old_dir = shared.loaded().config.state_dir();
            if new.config.state_dir() != old_dir {
                tracing::warn!(
                    "the state directory changed in fleet.yaml; the daemon keeps using {} until restarted",
                    old_dir.display()
                );
            }
            *shared.current.write().expect("not poisoned") = Arc::new(new);
            shared
                .metrics
                .reloads
                .get_or_create(&metrics::ResultLabel::ok())
                .inc();
            tracing::info!("configuration reloaded");
        }
        Err(e) => {
            shared
                .metrics
                .reloads
                .get_or_create(&metrics::ResultLabel::error())
                .inc();
            tracing::error!("reload failed, the running configuration stays: {e:#}");
        }
    }
}

/// The next time the schedule fires after `now`, if there is a schedule.
pub fn next_run(config: &Config, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let schedule = config.fleet.schedule.as_ref()?;
    let cron: cron::Schedule = schedule.cron.0.parse().ok()?;
    let tz: chrono_tz::Tz = schedule.timezone.0.parse().ok()?;
    cron.after(&now.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
}

/// The one task that sweeps.
async fn worker(
    shared: Arc<Shared>,
    mut triggers: mpsc::UnboundedReceiver<Trigger>,
    mut stop: watch::Receiver<bool>,
    stop_flag: Arc<AtomicBool>,
) {
    loop {
        let loaded = shared.loaded();
        let next = next_run(&loaded.config, Utc::now());
        shared.metrics.set_next_run(next);
        match next {
            Some(t) => tracing::info!(next_run = %t.to_rfc3339(), "next scheduled sweep"),
            None => tracing::info!("no schedule in fleet.yaml: sweeping on webhooks only"),
        }
        let sleep = async {
            match next {
                Some(t) => {
                    let wait = (t - Utc::now()).to_std().unwrap_or_default();
                    tokio::time::sleep(wait).await
                }
                None => std::future::pending().await,
            }
        };
        let mut due: BTreeSet<Trigger> = BTreeSet::new();
        tokio::select! {
            _ = sleep => { due.insert(Trigger::Schedule); }
            t = triggers.recv() => match t {
                Some(t) => { due.insert(t); }
                None => return,
            },
            _ = stop.wait_for(|s| *s) => return,
        }
        // Whatever else queued up meanwhile, once.
        while let Ok(t) = triggers.try_recv() {
            due.insert(t);
        }
        // A whole-fleet sweep covers every repository.
        if due.contains(&Trigger::Schedule) {
            due.retain(|t| *t == Trigger::Schedule);
        }
        for trigger in due {
            if stop_flag.load(Ordering::SeqCst) {
                return;
            }
            sweep_once(&shared, trigger, &stop_flag).await;
        }
    }
}

async fn sweep_once(shared: &Shared, trigger: Trigger, stop: &Arc<AtomicBool>) {
    let loaded = shared.loaded();
    let only = match &trigger {
        Trigger::Schedule => None,
        Trigger::Repo(name) => Some(name.clone()),
    };
    let span = tracing::info_span!("sweep", trigger = ?trigger);
    let _guard = shared.metrics.running();
    let started = std::time::Instant::now();
    let options = SweepOptions {
        dry_run: false,
        only,
        stop: Some(stop.clone()),
        ..SweepOptions::default()
    };
    let result = tracing::Instrument::instrument(
        sweep::run(
            &loaded.config,
            &loaded.renderer,
            loaded.forge.as_ref(),
            Some(&shared.store),
            &options,
        ),
        span,
    )
    .await;
    let elapsed = started.elapsed();
    let forge = loaded.config.fleet.forge.kind.to_string();
    match result {
        Ok(report) => {
            let totals = report.totals();
            tracing::info!(
                in_line = totals.in_line,
                drifted = totals.drifted,
                skipped = totals.skipped,
                failed = totals.failed,
                requests = report.requests,
                seconds = elapsed.as_secs_f64(),
                "sweep done"
            );
            shared
                .metrics
                .record_sweep(&forge, &report, elapsed, trigger == Trigger::Schedule);
        }
        Err(e) => {
            tracing::error!("sweep failed: {e:#}");
            shared.metrics.record_failed_sweep(elapsed);
        }
    }
}
