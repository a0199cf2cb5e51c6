//! `drover status`: where each repository stands, from the state store
//! alone — no forge request, no configuration beyond where the store is.
//! While `drover daemon` holds the store, the daemon answers instead
//! (`GET /status` on `daemon.listen`).

use std::fmt::Write as _;

use anyhow::Context;
use clap::Args;

use super::output::cell;
use super::{load, open_store, style, Exit, Global};
use crate::status::{canonical, report_of, Line, StatusReport, ADDRESS_FILE};
use crate::store::StoreError;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(global: &Global, args: StatusArgs) -> anyhow::Result<Exit> {
    let (config, _) = load(global).await?;
    // A running daemon holds the store: ask it first, where it said it
    // listens (a file it leaves beside the store).
    let written = config.state_dir().join(ADDRESS_FILE);
    let announced: Option<std::net::SocketAddr> =
        tokio::task::spawn_blocking(move || std::fs::read_to_string(written))
            .await?
            .ok()
            .and_then(|t| t.trim().parse().ok());
    let mine = config.state_dir().join("store");
    let mine = tokio::task::spawn_blocking(move || canonical(&mine)).await?;
    // Sent when configured: the daemon asks it of clients it cannot tell
    // are on this machine.
    let token = config
        .fleet
        .daemon
        .status_token(&config.base_dir)
        .context("daemon.status_token")?;
    let from_running = match announced {
        Some(addr) => from_daemon(&daemon_addr(addr), token.as_ref())
            .await
            .ok()
            .filter(|r| r.store == mine),
        None => None,
    };
    let report = match from_running {
        Some(report) => report,
        None => match open_store(&config, false).await {
            Ok(Some(store)) => tokio::task::spawn_blocking(move || report_of(&store)).await??,
            Ok(None) => {
                if args.json {
                    println!("[]");
                } else {
                    println!(
                        "no sweep has run yet: `drover sweep` records where each repository stands"
                    );
                }
                return Ok(Exit::Ok);
            }
            Err(e) if matches!(e.downcast_ref(), Some(StoreError::InUse { .. })) => {
                let addr = daemon_addr(announced.unwrap_or(config.fleet.daemon.listen.0));
                let report = from_daemon(&addr, token.as_ref())
                    .await
                    .with_context(|| format!("{e}; and no daemon answered /status at {addr}"))?;
                anyhow::ensure!(
                    report.store == mine,
                    "{e}; the daemon at {addr} serves another store ({})",
                    report.store
                );
                report
            }
            Err(e) => return Err(e),
        },
    };
    let now = report.now;
    let lines = report.repositories;
    let last = report.last_sweep;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&lines)?);
    } else {
        anstream::print!("{}", text(&lines));
        if let Some(last) = last {
            println!(
                "last sweep{}: {} ago, {} in line, {} drifted, {} failed; {} opened, {} updated, {} closed; {} forge requests",
                last.only.as_ref().map(|o| format!(" (of {o})")).unwrap_or_default(),
                age((now - last.finished_at).max(0)),
                last.in_line,
                last.drifted,
                last.failed,
                last.opened,
                last.updated,
                last.closed,
                last.requests
            );
        }
    }
    Ok(Exit::Ok)
}

/// Where to reach the daemon listening on `listen` from this machine.
fn daemon_addr(listen: std::net::SocketAddr) -> std::net::SocketAddr {
    let ip = match listen.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    std::net::SocketAddr::new(ip, listen.port())
}

/// The running daemon's `/status`, with `daemon.status_token` when there
/// is one.
async fn from_daemon(
    addr: &std::net::SocketAddr,
    token: Option<&crate::model::Secret>,
) -> anyhow::Result<StatusReport> {
    let mut request = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(std::time::Duration::from_secs(2))
        .timeout(std::time::Duration::from_secs(10))
        .build()?
        .get(format!("http://{addr}/status"));
    if let Some(token) = token {
        let mut value =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                .context("daemon.status_token is not a header value")?;
        value.set_sensitive(true);
        request = request.header(reqwest::header::AUTHORIZATION, value);
    }
    let response = request.send().await?.error_for_status()?;
    Ok(response.json().await?)
}

fn text(lines: &[Line]) -> String {
    let rows: Vec<[String; 3]> = lines
        .iter()
        .map(|l| {
            let detail = match (l.state.as_str(), &l.url, &l.reason) {
                ("proposal_open", Some(url), _) if !l.warnings.is_empty() => format!(
                    "{url} (opened {} ago), open, with warnings: {}",
                    age(l.age_seconds.unwrap_or_default()),
                    l.warnings.join("; ")
                ),
                ("proposal_open", Some(url), _) => format!(
                    "{url} (opened {} ago)",
                    age(l.age_seconds.unwrap_or_default())
                ),
                ("merged" | "in_line", Some(url), _) => format!("in line by {url}, merged"),
                ("declined", Some(url), _) => {
                    format!("{url} closed unmerged; not proposed again until the templates change")
                }
                (_, Some(url), Some(reason)) => format!("{url}: {reason}"),
                (_, _, Some(reason)) => reason.clone(),
                (_, Some(url), None) => url.clone(),
                _ => "-".into(),
            };
            [
                cell(&l.repository).into_owned(),
                l.state.replace('_', " "),
                cell(&detail).into_owned(),
            ]
        })
        .collect();
    let w0 = rows
        .iter()
        .map(|r| r[0].len())
        .chain([10])
        .max()
        .unwrap_or(10);
    let w1 = rows
        .iter()
        .map(|r| r[1].len())
        .chain([5])
        .max()
        .unwrap_or(5);
    let mut out = String::new();
    let header = format!("{:w0$}  {:w1$}  DETAIL", "REPOSITORY", "STATE");
    let h = style::HEADER;
    let _ = writeln!(out, "{}{header}{}", h.render(), h.render_reset());
    for r in rows {
        let _ = writeln!(out, "{:w0$}  {:w1$}  {}", r[0], r[1], r[2]);
    }
    out
}

/// `3d`, `5h`, `12m`, `40s`.
fn age(secs: i64) -> String {
    match secs {
        s if s >= 86_400 => format!("{}d", s / 86_400),
        s if s >= 3_600 => format!("{}h", s / 3_600),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Outcome, ProposalFate};
    use crate::status::line;
    use crate::store::{ProposalRecord, RepoRecord};

    fn record(outcome: Outcome, fate: Option<ProposalFate>) -> RepoRecord {
        RepoRecord {
            head: Some("h".into()),
            language: Some("rust".into()),
            render_key: None,
            outcome,
            reason: None,
            updated_at: 100,
            proposal: fate.map(|state| ProposalRecord {
                number: Some(1),
                url: "https://forge/acme/a/pull/1".into(),
                state,
                fingerprint: "f".into(),
                opened_at: 1_000,
                reason: (state == ProposalFate::HandsOff).then(|| "dev pushed".into()),
                tip: None,
                sent: Default::default(),
            }),
        }
    }

    #[test]
    fn each_fate_has_its_state_and_detail() {
        let now = 1_000 + 2 * 86_400 + 5;
        let open = line(
            "a".into(),
            record(Outcome::Drifted, Some(ProposalFate::Open)),
            now,
        );
        assert_eq!(
            (open.state.as_str(), open.age_seconds),
            ("proposal_open", Some(2 * 86_400 + 5))
        );
        let lines = [
            open,
            line(
                "b".into(),
                record(Outcome::Drifted, Some(ProposalFate::HandsOff)),
                now,
            ),
            line(
                "c".into(),
                record(Outcome::Drifted, Some(ProposalFate::Declined)),
                now,
            ),
            line("d".into(), record(Outcome::InLine, None), now),
        ];
        let out = text(&lines);
        assert!(
            out.contains("proposal open  https://forge/acme/a/pull/1 (opened 2d ago)"),
            "{out}"
        );
        assert!(
            out.contains("hands off      https://forge/acme/a/pull/1: dev pushed"),
            "{out}"
        );
        assert!(
            out.contains("declined       https://forge/acme/a/pull/1 closed unmerged"),
            "{out}"
        );
        assert!(out.contains("d           in line        -"), "{out}");
    }
}
