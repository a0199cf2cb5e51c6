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

mod deliveries;
mod hooks;
mod metrics;
mod serve;

use std::collections::{BTreeMap, BTreeSet};
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
use crate::model::{ForgeKind, Secret};
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
    /// `daemon.status_token`, resolved.
    pub status_token: Option<Secret>,
}

/// Loads and builds everything on a thread of its own: not on the async
/// threads, and not in the runtime's blocking pool either, whose threads
/// the runtime waits for when it ends — a load that never returns (a fifo
/// as fleet.yaml, a huge templates directory) must not hold the process
/// after SIGTERM. `state_dir` is `--state-dir`, kept for reloads (in
/// `config.state_dir_flag`).
pub async fn load(path: PathBuf, state_dir: Option<PathBuf>) -> anyhow::Result<Loaded> {
    let (tx, rx) = oneshot::channel();
    // Forge clients are built in the runtime's context.
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("drover-load".into())
        .spawn(move || {
            let _context = runtime.enter();
            let _ = tx.send(load_now(&path, state_dir));
        })
        .context("cannot start the configuration loader")?;
    rx.await.context("configuration loader failed")?
}

fn load_now(path: &std::path::Path, state_dir: Option<PathBuf>) -> anyhow::Result<Loaded> {
    {
        let mut config = Config::load(path)?;
        config.state_dir_flag = state_dir;
        let renderer = Renderer::new(&config.templates)?;
        let forge: Arc<dyn Forge> = Arc::from(crate::forge::open(&config)?);
        let mut hooks = BTreeMap::new();
        for kind in ForgeKind::ALL {
            if let Some(hook) = crate::forge::profile(kind).webhook(&config)? {
                hooks.insert(kind, hook);
            }
        }
        let status_token = config
            .fleet
            .daemon
            .status_token(&config.base_dir)
            .context("daemon.status_token")?;
        Ok(Loaded {
            config,
            renderer,
            forge,
            hooks,
            status_token,
        })
    }
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
    /// Webhook deliveries being checked; bounded by
    /// `daemon.max_webhooks_in_flight` (read at start).
    pub webhooks_in_flight: Arc<tokio::sync::Semaphore>,
    /// Delivery ids seen lately: a delivery sent again is not swept again.
    pub deliveries: std::sync::Mutex<deliveries::Seen>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
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
    let section = daemon.loaded.config.fleet.daemon.clone();
    let shared = Arc::new(Shared {
        current: RwLock::new(Arc::new(daemon.loaded)),
        store: daemon.store,
        metrics: Metrics::new(),
        ready: AtomicBool::new(true),
        triggers: tx,
        webhooks_in_flight: Arc::new(tokio::sync::Semaphore::new(
            section.max_webhooks_in_flight.max(1),
        )),
        deliveries: std::sync::Mutex::new(deliveries::Seen::default()),
        reloading: tokio::sync::Mutex::new(()),
    });
    let bound = listener.local_addr()?;
    tracing::info!(address = %bound, "listening for webhooks, probes and metrics");

    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_flag = Arc::new(AtomicBool::new(false));
    let server = {
        let app = hooks::router(shared.clone());
        tokio::spawn(serve::serve(
            listener,
            app,
            serve::Bounds::of(&section),
            stop_rx.clone(),
        ))
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
/// requests leaves only the shutdown to wait for). Each reload runs in a
/// task of its own, so however long a configuration takes to read, the
/// shutdown is heard at once; a reload still running then is abandoned
/// and the running configuration stays.
async fn control(
    shared: &Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()>,
    reloads: impl Stream<Item = Reload>,
) {
    tokio::pin!(shutdown);
    tokio::pin!(reloads);
    let mut open = true;
    let mut running = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => {
                running.abort_all();
                return;
            }
            request = reloads.next(), if open => match request {
                Some(request) => {
                    let shared = shared.clone();
                    running.spawn(async move {
                        let outcome = reload(&shared).await;
                        if let Some(reply) = request.reply {
                            let _ = reply.send(outcome);
                        }
                    });
                }
                None => open = false,
            },
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
}

/// A new configuration replaces the old only when all of it loads; the
/// outcome is counted, logged and returned.
pub async fn reload(shared: &Shared) -> anyhow::Result<()> {
    let _one = shared.reloading.lock().await;
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
        let scheduled = due.contains(&Trigger::Schedule);
        if stop_flag.load(Ordering::SeqCst) {
            return;
        }
        // A whole-fleet sweep covers every repository; the repositories
        // webhooks named are swept together, once.
        let repos: BTreeSet<String> = due
            .into_iter()
            .filter_map(|t| match t {
                Trigger::Repo(name) => Some(name),
                Trigger::Schedule => None,
            })
            .collect();
        let only = (!scheduled).then_some(repos);
        sweep_once(&shared, only, &stop_flag).await;
    }
}

/// Sweeps the fleet, or (`only`) the repositories webhooks named, looked
/// up by name rather than by listing the whole fleet again (100 webhooks
/// in a 1,000-repository fleet once cost 100 discoveries).
async fn sweep_once(shared: &Shared, only: Option<BTreeSet<String>>, stop: &Arc<AtomicBool>) {
    let loaded = shared.loaded();
    let span = tracing::info_span!("sweep", only = ?only);
    let _guard = shared.metrics.running();
    let started = std::time::Instant::now();
    let scheduled = only.is_none();
    let result = async {
        let known = match &only {
            Some(names) => Some(loaded.forge.lookup(names).await?),
            None => None,
        };
        let options = SweepOptions {
            dry_run: false,
            only: only.map(Only::FullNames),
            stop: Some(stop.clone()),
            known,
            ..SweepOptions::default()
        };
        // The daemon keeps a sweep's tally, never its reports.
        sweep::run_into(
            &loaded.config,
            &loaded.renderer,
            loaded.forge.as_ref(),
            Some(&shared.store),
            &options,
            &mut |_, _| {},
        )
        .await
    };
    let result = tracing::Instrument::instrument(result, span).await;
    let elapsed = started.elapsed();
    let forge = loaded.config.fleet.forge.kind.to_string();
    match result {
        Ok(report) => {
            let totals = report.tally.totals;
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
                .record_sweep(&forge, &report, elapsed, scheduled);
        }
        Err(e) => {
            tracing::error!("sweep failed: {e:#}");
            shared.metrics.record_failed_sweep(elapsed);
        }
    }
    // What the sweep freed goes back to the system (crate::heap).
    crate::heap::give_back();
}
