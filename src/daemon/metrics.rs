//! The daemon's metrics, served at `/metrics` in the Prometheus text
//! format (prometheus-client's OpenMetrics encoder).

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::sweep::SweepSummary;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

impl ResultLabel {
    pub fn ok() -> ResultLabel {
        ResultLabel {
            result: "ok".into(),
        }
    }
    pub fn error() -> ResultLabel {
        ResultLabel {
            result: "error".into(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabel {
    pub action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ForgeLabel {
    pub forge: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResponseLabel {
    pub forge: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HookLabel {
    pub forge: String,
    pub status: String,
}

/// Every metric, registered once.
pub struct Metrics {
    registry: Registry,
    pub sweeps: Family<ResultLabel, Counter>,
    pub repositories: Family<StateLabel, Gauge>,
    pub warned: Gauge,
    pub proposals: Family<ActionLabel, Counter>,
    pub forge_requests: Family<ForgeLabel, Counter>,
    pub forge_responses: Family<ResponseLabel, Counter>,
    pub rate_limit_remaining: Family<ForgeLabel, Gauge>,
    pub webhooks: Family<HookLabel, Counter>,
    pub reloads: Family<ResultLabel, Counter>,
    pub sweep_duration: Histogram,
    pub sweep_running: Gauge,
    pub next_sweep: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("drover");
        let sweeps = Family::<ResultLabel, Counter>::default();
        registry.register("sweeps", "Sweeps run, by result", sweeps.clone());
        let repositories = Family::<StateLabel, Gauge>::default();
        registry.register(
            "repositories",
            "Repositories by state after the last whole-fleet sweep",
            repositories.clone(),
        );
        let warned = Gauge::default();
        registry.register(
            "proposals_with_warnings",
            "Open proposals the forge left something out of (a reviewer, a label) after the last whole-fleet sweep",
            warned.clone(),
        );
        let proposals = Family::<ActionLabel, Counter>::default();
        registry.register(
            "proposals",
            "Proposals opened, updated and closed",
            proposals.clone(),
        );
        let forge_requests = Family::<ForgeLabel, Counter>::default();
        registry.register(
            "forge_requests",
            "Requests sent to the forge",
            forge_requests.clone(),
        );
        let forge_responses = Family::<ResponseLabel, Counter>::default();
        registry.register(
            "forge_responses",
            "Forge answers, by HTTP status (`error`: no answer)",
            forge_responses.clone(),
        );
        let rate_limit_remaining = Family::<ForgeLabel, Gauge>::default();
        registry.register(
            "forge_rate_limit_remaining",
            "Requests the forge's rate limit still allows, as it last said",
            rate_limit_remaining.clone(),
        );
        let webhooks = Family::<HookLabel, Counter>::default();
        registry.register(
            "webhooks",
            "Webhook deliveries, by forge and HTTP status answered",
            webhooks.clone(),
        );
        let reloads = Family::<ResultLabel, Counter>::default();
        registry.register(
            "reloads",
            "Configuration reloads (SIGHUP), by result",
            reloads.clone(),
        );
        let sweep_duration = Histogram::new(exponential_buckets(0.5, 2.0, 12));
        registry.register(
            "sweep_duration_seconds",
            "How long sweeps take",
            sweep_duration.clone(),
        );
        let sweep_running = Gauge::default();
        registry.register(
            "sweep_running",
            "1 while a sweep runs",
            sweep_running.clone(),
        );
        let next_sweep = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "next_sweep_timestamp_seconds",
            "When the schedule next fires (Unix seconds; 0 without a schedule)",
            next_sweep.clone(),
        );
        Metrics {
            registry,
            sweeps,
            repositories,
            warned,
            proposals,
            forge_requests,
            forge_responses,
            rate_limit_remaining,
            webhooks,
            reloads,
            sweep_duration,
            sweep_running,
            next_sweep,
        }
    }

    /// The text served at `/metrics`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }

    pub fn set_next_run(&self, next: Option<DateTime<Utc>>) {
        self.next_sweep
            .set(next.map_or(0.0, |t| t.timestamp() as f64));
    }

    /// Marks a sweep running until the guard drops.
    pub fn running(&self) -> RunningGuard<'_> {
        self.sweep_running.set(1);
        RunningGuard(self)
    }

    /// `whole`: a sweep of the whole fleet, which alone knows every
    /// repository's state.
    pub fn record_sweep(&self, forge: &str, report: &SweepSummary, elapsed: Duration, whole: bool) {
        let totals = report.tally.totals;
        let result = if totals.failed > 0 { "partial" } else { "ok" };
        self.sweeps
            .get_or_create(&ResultLabel {
                result: result.into(),
            })
            .inc();
        self.sweep_duration.observe(elapsed.as_secs_f64());
        self.forge_requests
            .get_or_create(&ForgeLabel {
                forge: forge.to_owned(),
            })
            .inc_by(report.requests);
        for (status, n) in &report.traffic.responses {
            self.forge_responses
                .get_or_create(&ResponseLabel {
                    forge: forge.to_owned(),
                    status: status.clone(),
                })
                .inc_by(*n);
        }
        if let Some(left) = report.traffic.rate_limit_remaining {
            self.rate_limit_remaining
                .get_or_create(&ForgeLabel {
                    forge: forge.to_owned(),
                })
                .set(i64::try_from(left).unwrap_or(i64::MAX));
        }
        let actions = report.tally.actions;
        for (action, n) in [
            ("opened", actions.opened),
            ("updated", actions.updated),
            ("closed", actions.closed),
        ] {
            self.proposals
                .get_or_create(&ActionLabel {
                    action: action.into(),
                })
                .inc_by(n as u64);
        }
        if whole {
            self.warned.set(report.tally.warned as i64);
            for (state, n) in [
                ("in_line", totals.in_line),
                ("drifted", totals.drifted),
                ("skipped", totals.skipped),
                ("misfit", totals.misfit),
                ("failed", totals.failed),
                ("waiting_for_budget", totals.waiting_for_budget),
            ] {
                self.repositories
                    .get_or_create(&StateLabel {
                        state: state.into(),
                    })
                    .set(n as i64);
            }
        }
    }

    pub fn record_failed_sweep(&self, elapsed: Duration) {
        self.sweeps.get_or_create(&ResultLabel::error()).inc();
        self.sweep_duration.observe(elapsed.as_secs_f64());
    }

    pub fn webhook(&self, forge: &str, status: u16) {
        self.webhooks
            .get_or_create(&HookLabel {
                forge: forge.into(),
                status: status.to_string(),
            })
            .inc();
    }
}

pub struct RunningGuard<'a>(&'a Metrics);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.sweep_running.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Proposed, RemoteRepo};
    use crate::sweep::{RepoReport, RepoState, SweepReport};

    #[test]
    fn open_proposals_with_warnings_are_counted() {
        let report = |name: &str, warnings: Vec<String>| {
            let repo = RemoteRepo::named(name, &format!("acme/{name}"));
            let mut r = RepoReport::new(&repo, RepoState::Drifted);
            r.proposal = Some(Proposed::opened("u".into(), Some(1)).with_warnings(warnings));
            r
        };
        let sweep = SweepReport {
            forge: "gitlab".into(),
            dry_run: false,
            templates_fingerprint: String::new(),
            repositories: vec![
                report(
                    "a",
                    vec!["reviewer ghost not set: is not a GitLab user".into()],
                ),
                report("b", Vec::new()),
            ],
            requests: 0,
            traffic: Default::default(),
        };
        let metrics = Metrics::new();
        metrics.record_sweep("gitlab", &sweep.summary(), Duration::from_secs(1), true);
        assert!(
            metrics
                .encode()
                .contains("\ndrover_proposals_with_warnings 1\n"),
            "{}",
            metrics.encode()
        );
    }
}
