//! `drover daemon`: sweeps on fleet.yaml's cron schedule, and one
//! repository at a time when a forge's webhook says it changed.
//!
//! [`run`] is given what the caller owns: the loaded configuration and the
//! open store, an already-bound listener, a future that resolves when the
//! daemon should stop, and a stream of reload requests. The command line
//! adapts OS signals to those (SIGTERM/SIGINT stop, SIGHUP reloads); a
//! test drives the daemon in-process with a channel and a oneshot.
//!
//! One worker task runs every sweep, so two never overlap: triggers that
//! arrive while it sweeps wait in its queue (repeats coalesced), and
//! schedule times that pass during a sweep are not made up for — the next
//! run is the next time after the sweep ends. A reload re-reads fleet.yaml,
//! policies and templates; one that fails validation is answered with its
//! file:line error and the running configuration stays. On shutdown no new
//! work starts: the sweep in hand proposes to no further repository,
//! writes the store and returns, within `daemon.shutdown_timeout_secs`.

mod hooks;
mod metrics;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::Config;
use crate::forge::hook::Webhook;
use crate::forge::Forge;
use crate::model::ForgeKind;
use crate::render::Renderer;
use crate::store::Store;
use crate::sweep::{self, Only, SweepOptions};

pub use metrics::Metrics;

/// What a sweep is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trigger {
    /// The schedule: the whole fleet.
    Schedule,
    /// A webhook: one repository, by its full name.
    Repo(String),
}

/// A loaded configuration and what is built from it; replaced whole on a
/// successful reload.
pub struct Loaded {
    pub config: Config,
    pub renderer: Renderer,
    pub forge: Arc<dyn Forge>,
    /// The webhooks `daemon.webhooks` configures, by forge.
    pub hooks: BTreeMap<ForgeKind, Box<dyn Webhook>>,
}

/// Loads and builds everything, off the async threads. `state_dir` is
/// `--state-dir`, kept for reloads (in `config.state_dir_flag`).
pub async fn load(path: PathBuf, state_dir: Option<PathBuf>) -> anyhow::Result<Loaded> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<Loaded> {
        let mut config = Config::load(&path)?;
        config.state_dir_flag = state_dir;
        let renderer = Renderer::new(&config.templates)?;
        let forge: Arc<dyn Forge> = Arc::from(crate::forge::open(&config)?);
        let mut hooks = BTreeMap::new();
        for kind in ForgeKind::ALL {
            if let Some(hook) = crate::forge::profile(kind).webhook(&config)? {
                hooks.insert(kind, hook);
            }
        }
        Ok(Loaded {
            config,
            renderer,
            forge,
            hooks,
        })
    })
    .await
    .context("configuration loader failed")?
}

/// What the daemon runs with: the configuration as loaded, and the store
/// it holds for as long as it runs.
pub struct Daemon {
    pub loaded: Loaded,
    pub store: Store,
}

/// A request to load the configuration again from where it was loaded.
/// The daemon answers with the outcome: `Ok`, or the error that kept the
/// running configuration in place.
pub struct Reload {
    reply: Option<oneshot::Sender<anyhow::Result<()>>>,
}

impl Reload {
    /// A request whose outcome nobody waits for (a signal's).
    pub fn new() -> Reload {
        Reload { reply: None }
    }

    /// A request, and where its outcome arrives.
    pub fn with_reply() -> (Reload, oneshot::Receiver<anyhow::Result<()>>) {
        let (tx, rx) = oneshot::channel();
        (Reload { reply: Some(tx) }, rx)
    }
}

impl Default for Reload {
    fn default() -> Self {
        Reload::new()
    }
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

/// Serves webhooks, probes and metrics on `listener` and sweeps until
/// `shutdown` resolves, answering every request of `reloads` meanwhile.
pub async fn run(
    daemon: Daemon,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
    reloads: impl Stream<Item = Reload>,
) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        current: RwLock::new(Arc::new(daemon.loaded)),
        store: daemon.store,
        metrics: Metrics::new(),
        ready: AtomicBool::new(true),
        triggers: tx,
    });
    let bound = listener.local_addr()?;
    tracing::info!(address = %bound, "listening for webhooks, probes and metrics");

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
    // The worker runs in this task, beside the control requests: a sweep's
    // future borrows too much to be spawned, and needs not be.
    let worker = worker(shared.clone(), rx, stop_rx.clone(), stop_flag.clone());
    tokio::pin!(worker);
    let mut worker_done = false;
    tokio::select! {
        _ = &mut worker => {
            worker_done = true;
            tracing::warn!("the worker stopped on its own");
        }
        _ = control(&shared, shutdown, reloads) => {}
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

/// Answers reload requests until `shutdown` resolves (an ended stream of
/// requests leaves only the shutdown to wait for).
async fn control(
    shared: &Shared,
    shutdown: impl std::future::Future<Output = ()>,
    reloads: impl Stream<Item = Reload>,
) {
    tokio::pin!(shutdown);
    tokio::pin!(reloads);
    let mut open = true;
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            request = reloads.next(), if open => match request {
                Some(request) => {
                    let outcome = reload(shared).await;
                    if let Some(reply) = request.reply {
                        let _ = reply.send(outcome);
                    }
                }
                None => open = false,
            },
        }
    }
}

/// A new configuration replaces the old only when all of it loads; the
/// outcome is counted, logged and returned.
pub async fn reload(shared: &Shared) -> anyhow::Result<()> {
    let (path, flag) = {
        let current = shared.loaded();
        (
            current.config.fleet_path.clone(),
            current.config.state_dir_flag.clone(),
        )
    };
    match load(path, flag).await {
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
            Ok(())
        }
        Err(e) => {
            shared
                .metrics
                .reloads
                .get_or_create(&metrics::ResultLabel::error())
                .inc();
            tracing::error!("reload failed, the running configuration stays: {e:#}");
            Err(e)
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
        Trigger::Repo(full_name) => Some(Only::FullName(full_name.clone())),
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
