//! `drover daemon` as a real process over the shipped examples (local
//! forge): a seconds-level schedule whose sweeps never overlap, GitHub,
//! GitLab and sourcehut webhooks (valid, forged, missing, malformed,
//! unknown), a SIGHUP
//! with a broken fleet.yaml that keeps the old configuration, /metrics
//! through the reference Prometheus and OpenMetrics parsers, and a SIGTERM
//! during a sweep that exits 0 and leaves a store that opens; `drover
//! status` answered by the daemon while it holds the store. Hostile
//! clients (idle, half-sent, slow-byte) are closed on time and never keep
//! the probes down; `/status` asks a token of clients behind a proxy; a
//! reload that never finishes reading does not delay SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};

use crate::harness::{Fleet, DROVER};

const GITHUB_SECRET: &str = "gh-hook-secret-value";
const GITLAB_SECRET: &str = "gl-hook-secret-value";
const STATUS_TOKEN: &str = "status-token-value";

struct Daemon {
    child: Child,
    addr: String,
    stderr: std::path::PathBuf,
}

impl Daemon {
    fn start(fleet: &Fleet) -> Daemon {
        let stderr = fleet.root().join("daemon.log");
        let mut child = Command::new(DROVER)
            .args(["daemon", "--listen", "127.0.0.1:0"])
            .current_dir(fleet.root())
            .env_remove("DROVER_CONFIG")
            // The daemon's own default level: info for drover.
            .env_remove("DROVER_LOG")
            .env("GITHUB_HOOK_SECRET", GITHUB_SECRET)
            .env("GITLAB_HOOK_SECRET", GITLAB_SECRET)
            .env("STATUS_TOKEN", STATUS_TOKEN)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("drover daemon listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Daemon {
            child,
            addr,
            stderr,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        let status = out[9..12].parse().unwrap();
        let body = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    fn metrics(&self) -> String {
        let (status, body) = self.request("GET", "/metrics", &[], b"");
        assert_eq!(status, 200);
        body
    }

    /// The value of the first sample line starting with `prefix`.
    fn sample(&self, prefix: &str) -> f64 {
        self.metrics()
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    fn wait_for(&self, what: &str, cond: impl Fn(&Daemon) -> bool) {
        let start = Instant::now();
        while !cond(self) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn fleet_with_daemon() -> Fleet {
    fleet_with_daemon_and("")
}

/// The fleet, with more `daemon:` settings (indented lines).
fn fleet_with_daemon_and(extra: &str) -> Fleet {
    let fleet = Fleet::git();
    let yaml = fleet.root().join("fleet.yaml");
    let text = std::fs::read_to_string(&yaml)
        .unwrap()
        .replace("cron: \"0 0 3 * * *\"", "cron: \"* * * * * *\"");
    let key = base64::engine::general_purpose::STANDARD
        .encode(sourcehut_key().verifying_key().to_bytes());
    let text = format!(
        "{text}\ndaemon:\n  shutdown_timeout_secs: 20\n{extra}  webhooks:\n    github: env:GITHUB_HOOK_SECRET\n    gitlab: env:GITLAB_HOOK_SECRET\n    sourcehut: {key}\n"
    );
    std::fs::write(&yaml, text).unwrap();
    fleet
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(GITHUB_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The test's stand-in for a sourcehut instance's webhook signing key.
fn sourcehut_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[42; 32])
}

fn sign_srht(body: &[u8], nonce: &str) -> String {
    use ed25519_dalek::Signer as _;
    let signed = [body, nonce.as_bytes()].concat();
    base64::engine::general_purpose::STANDARD.encode(sourcehut_key().sign(&signed).to_bytes())
}

fn validators_python() -> std::path::PathBuf {
    std::env::var_os("DROVER_VALIDATORS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::harness::project().join("target/validators"))
        .join("bin/python")
}

#[test]
fn the_daemon_sweeps_on_schedule_answers_hooks_reloads_and_stops_cleanly() {
    let fleet = fleet_with_daemon();
    let daemon = Daemon::start(&fleet);
    assert_eq!(daemon.request("GET", "/healthz", &[], b"").0, 200);
    assert_eq!(daemon.request("GET", "/readyz", &[], b"").0, 200);

    // Every second, and never two at once.
    daemon.wait_for("two scheduled sweeps", |d| {
        d.sample("drover_sweeps_total{result=\"ok\"}") >= 2.0
    });
    assert!(daemon.sample("drover_next_sweep_timestamp_seconds") > 1.7e9);
    let log = daemon.log();
    assert!(
        log.contains("next scheduled sweep") && log.contains("sweep done"),
        "logged at the default level: {log}"
    );

    // Webhooks.
    let push =
        br#"{"ref":"refs/heads/main","repository":{"full_name":"local/ledger","name":"ledger"}}"#;
    let github = |body: &[u8], sig: Option<&str>| {
        let mut headers = vec![
            ("X-GitHub-Event", "push"),
            ("Content-Type", "application/json"),
        ];
        if let Some(sig) = sig {
            headers.push(("X-Hub-Signature-256", sig));
        }
        daemon.request("POST", "/hooks/github", &headers, body).0
    };
    assert_eq!(github(push, Some(&sign(push))), 202, "{}", daemon.log());
    assert!(
        daemon.log().contains("webhook: "),
        "an accepted delivery is logged: {}",
        daemon.log()
    );
    assert_eq!(github(push, Some(&sign(b"another body"))), 401, "forged");
    assert_eq!(github(push, None), 401, "missing");
    assert_eq!(
        github(b"{not json", Some(&sign(b"{not json"))),
        400,
        "malformed"
    );
    let unknown = br#"{"repository":{"full_name":"local/nope"}}"#;
    assert_eq!(
        github(unknown, Some(&sign(unknown))),
        404,
        "unknown repository"
    );
    let gitlab = |token: Option<&str>, body: &[u8]| {
        let mut headers = vec![("X-Gitlab-Event", "Push Hook")];
        if let Some(t) = token {
            headers.push(("X-Gitlab-Token", t));
        }
        daemon.request("POST", "/hooks/gitlab", &headers, body).0
    };
    let gl_push = br#"{"object_kind":"push","project":{"path_with_namespace":"local/ledger"}}"#;
    assert_eq!(gitlab(Some(GITLAB_SECRET), gl_push), 202);
    assert_eq!(gitlab(Some("wrong"), gl_push), 401);
    assert_eq!(gitlab(None, gl_push), 401);
    assert_eq!(gitlab(Some(GITLAB_SECRET), b"[]"), 400);
    let sourcehut = |body: &[u8], nonce: Option<&str>, sig: Option<&str>| {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(n) = nonce {
            headers.push(("X-Payload-Nonce", n));
        }
        if let Some(s) = sig {
            headers.push(("X-Payload-Signature", s));
        }
        daemon.request("POST", "/hooks/sourcehut", &headers, body).0
    };
    let srht_push = br#"{"data":{"webhook":{"uuid":"u","event":"GIT_POST_RECEIVE","date":"2026-12-03T00:00:00Z","repository":{"name":"ledger","owner":{"canonicalName":"local"}}}}}"#;
    let good = sign_srht(srht_push, "nonce-1");
    assert_eq!(sourcehut(srht_push, Some("nonce-1"), Some(&good)), 202);
    assert_eq!(
        sourcehut(srht_push, Some("nonce-2"), Some(&good)),
        401,
        "a signature replayed with another nonce"
    );
    assert_eq!(sourcehut(srht_push, Some("nonce-1"), None), 401);
    assert_eq!(sourcehut(srht_push, None, Some(&good)), 401);
    let no_repo = br#"{"data":{"webhook":{"event":"GIT_POST_RECEIVE"}}}"#;
    assert_eq!(
        sourcehut(no_repo, Some("n"), Some(&sign_srht(no_repo, "n"))),
        400
    );
    let metrics = daemon.metrics();
    for line in [
        "drover_webhooks_total{forge=\"github\",status=\"202\"} 1",
        "drover_webhooks_total{forge=\"github\",status=\"401\"} 2",
        "drover_webhooks_total{forge=\"github\",status=\"400\"} 1",
        "drover_webhooks_total{forge=\"github\",status=\"404\"} 1",
        "drover_webhooks_total{forge=\"gitlab\",status=\"401\"} 2",
        "drover_webhooks_total{forge=\"sourcehut\",status=\"202\"} 1",
        "drover_webhooks_total{forge=\"sourcehut\",status=\"401\"} 3",
        "drover_webhooks_total{forge=\"sourcehut\",status=\"400\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    for secret in [GITHUB_SECRET, GITLAB_SECRET] {
        assert!(!daemon.log().contains(secret));
    }

    // /metrics through the reference parsers of both text formats.
    let python = validators_python();
    let parsed = Command::new(&python)
        .args([
            "-c",
            "import sys\n\
             from prometheus_client.parser import text_string_to_metric_families as prom\n\
             from prometheus_client.openmetrics.parser import text_string_to_metric_families as om\n\
             text = sys.stdin.read()\n\
             a = [m.name for m in prom(text)]\n\
             b = [m.name for m in om(text)]\n\
             print(len(a), len(b), ' '.join(sorted(b)))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}; run bash scripts/install-validators.sh", python.display()));
    let mut parsed = parsed;
    parsed
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = parsed.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{metrics}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "drover_sweeps",
        "drover_sweep_duration_seconds",
        "drover_repositories",
        "drover_forge_requests",
    ] {
        assert!(
            text.split_whitespace().any(|n| n == name),
            "{name} in {text}"
        );
    }

    // `drover status` while the daemon holds the store: the daemon answers.
    let status = fleet.drover(&["status", "--json"]).ok();
    let lines: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let names: Vec<&str> = lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["repository"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"local/ledger"), "{names:?}");
    let (code, body) = daemon.request("GET", "/status", &[], b"");
    assert_eq!(code, 200);
    assert!(body.contains("\"last_sweep\""), "{body}");

    // A broken fleet.yaml on SIGHUP: logged with its line, the old one runs on.
    let yaml = fleet.root().join("fleet.yaml");
    let good = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(
        &yaml,
        good.replace(
            "labels: [drover, chore]",
            "labels: [drover, chore]\n  colour: blue",
        ),
    )
    .unwrap();
    let before = daemon.sample("drover_sweeps_total{result=\"ok\"}");
    daemon.signal("HUP");
    daemon.wait_for("the failed reload", |d| {
        d.sample("drover_reloads_total{result=\"error\"}") >= 1.0
    });
    let log = daemon.log();
    assert!(
        log.contains("reload failed") && log.contains("fleet.yaml:"),
        "{log}"
    );
    daemon.wait_for("sweeps after the failed reload", |d| {
        d.sample("drover_sweeps_total{result=\"ok\"}") >= before + 2.0
    });
    std::fs::write(&yaml, &good).unwrap();
    daemon.signal("HUP");
    daemon.wait_for("the good reload", |d| {
        d.sample("drover_reloads_total{result=\"ok\"}") >= 1.0
    });

    // SIGTERM while a sweep runs (one runs every second): exit 0, quickly.
    daemon.wait_for("a sweep in progress", |d| {
        d.sample("drover_sweep_running") >= 1.0
    });
    daemon.signal("TERM");
    let start = Instant::now();
    let mut daemon = daemon;
    let status = loop {
        if let Some(status) = daemon.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(25),
            "no exit within the bound"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}\n{}", daemon.log());
    assert!(daemon.log().contains("shutting down"), "{}", daemon.log());

    // The store opens, and its history has no two sweeps overlapping.
    let run = fleet.drover(&["status", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dir = fleet.root().join(".drover/store");
    let store = drover::store::Store::open(&dir).unwrap();
    let history = store.sweeps().unwrap();
    assert!(history.len() >= 4, "{history:?}");
    for pair in history.windows(2) {
        assert!(
            pair[0].finished_at <= pair[1].started_at,
            "overlap: {pair:?}"
        );
    }
    assert!(
        history.iter().any(|s| s.only.as_deref() == Some("ledger")),
        "the hook's sweep"
    );
}

impl Daemon {
    /// Waits for the process to exit, at most `bound`.
    fn exits_within(&mut self, bound: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < bound,
                "no exit within {bound:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Whether the daemon closes `stream` within `bound` (reading whatever it
/// answers first).
fn closed_within(stream: &mut TcpStream, bound: Duration) -> Option<String> {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while start.elapsed() < bound {
        match stream.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(String::from_utf8_lossy(&got).into_owned()),
        }
    }
    None
}

/// 1,100 idle half-sent requests once exhausted the descriptors and took
/// /healthz down, and slow-byte bodies stayed open ten minutes. Here, with
/// room for 8 connections: 20 idle, 20 half-sent heads and 4 slow bodies
/// at once; /healthz still answers, every idle or half-sent connection is
/// closed once its head is late, and every slow body gets 408.
#[test]
fn idle_half_sent_and_slow_clients_are_closed_and_never_take_the_probes_down() {
    let fleet = fleet_with_daemon_and(
        "  max_connections: 8\n  header_timeout_secs: 1\n  request_timeout_secs: 2\n",
    );
    let daemon = Daemon::start(&fleet);
    assert_eq!(daemon.request("GET", "/healthz", &[], b"").0, 200);

    let mut idle: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(&daemon.addr).unwrap())
        .collect();
    let mut half: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(&daemon.addr).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: drover\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    let mut slow: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(&daemon.addr).unwrap();
            s.write_all(
                b"POST /hooks/github HTTP/1.1\r\nHost: drover\r\nContent-Length: 4096\r\n\r\n{\"a\":",
            )
            .unwrap();
            s
        })
        .collect();

    // The probes answer while the hostile ones are there (they wait in the
    // backlog for a slot, and slots free as heads come late).
    let asked = Instant::now();
    assert_eq!(daemon.request("GET", "/healthz", &[], b"").0, 200);
    assert_eq!(daemon.request("GET", "/metrics", &[], b"").0, 200);
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "the probes waited {:?}",
        asked.elapsed()
    );

    for (what, streams) in [("idle", &mut idle), ("half-sent", &mut half)] {
        for stream in streams.iter_mut() {
            assert!(
                closed_within(stream, Duration::from_secs(20)).is_some(),
                "an {what} connection stayed open"
            );
        }
    }
    for stream in slow.iter_mut() {
        let answer = closed_within(stream, Duration::from_secs(20))
            .expect("a slow body's connection stayed open");
        // Accepted later than the others, a slow client may be closed as
        // one whose head is late; one served in time gets 408.
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
    assert_eq!(daemon.request("GET", "/healthz", &[], b"").0, 200);
}

/// `/status` names private repositories: a loopback client behind a proxy
/// on the same host (a forwarding header) needs the token, sent as a
/// bearer and compared whole; a plain loopback client does not.
#[test]
fn status_asks_a_token_of_clients_behind_a_proxy() {
    let fleet = fleet_with_daemon_and("  status_token: env:STATUS_TOKEN\n");
    let daemon = Daemon::start(&fleet);
    daemon.wait_for("a sweep", |d| {
        d.sample("drover_sweeps_total{result=\"ok\"}") >= 1.0
    });
    assert_eq!(daemon.request("GET", "/status", &[], b"").0, 200);
    let bearer = format!("Bearer {STATUS_TOKEN}");
    let truncated = format!("Bearer {}", &STATUS_TOKEN[..5]);
    for forwarding in [
        ("X-Forwarded-For", "203.0.113.9"),
        ("Forwarded", "for=203.0.113.9"),
        ("X-Real-IP", "203.0.113.9"),
    ] {
        let (status, body) = daemon.request("GET", "/status", &[forwarding], b"");
        assert_eq!(status, 401, "{forwarding:?}: {body}");
        assert!(!body.contains("ledger"), "{body}");
        let wrong = [forwarding, ("Authorization", truncated.as_str())];
        assert_eq!(daemon.request("GET", "/status", &wrong, b"").0, 401);
        let right = [forwarding, ("Authorization", bearer.as_str())];
        let (status, body) = daemon.request("GET", "/status", &right, b"");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("ledger"), "{body}");
    }
    // `drover status` is answered by the daemon, token and all.
    let run = fleet.drover_with(&["status", "--json"], &[("STATUS_TOKEN", STATUS_TOKEN)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!daemon.log().contains(STATUS_TOKEN));
}

/// A reload reads fleet.yaml off the signal path: with fleet.yaml a fifo
/// nobody writes (a read that never ends), SIGTERM right after SIGHUP
/// still stops the daemon within its shutdown bound.
#[test]
fn a_reload_that_never_finishes_reading_does_not_delay_sigterm() {
    let fleet = fleet_with_daemon();
    let mut daemon = Daemon::start(&fleet);
    daemon.wait_for("a sweep", |d| {
        d.sample("drover_sweeps_total{result=\"ok\"}") >= 1.0
    });
    let yaml = fleet.root().join("fleet.yaml");
    std::fs::remove_file(&yaml).unwrap();
    let made = Command::new("mkfifo").arg(&yaml).status().unwrap();
    assert!(made.success());
    daemon.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(daemon.request("GET", "/healthz", &[], b"").0, 200);
    daemon.signal("TERM");
    let status = daemon.exits_within(Duration::from_secs(20));
    assert!(status.success(), "{status:?}\n{}", daemon.log());
}
