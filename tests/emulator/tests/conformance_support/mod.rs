//! Helpers shared by the `conformance_*` test binaries: locating the specs
//! and building exchanges as the recorder keeps them.

// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::collections::BTreeMap;

use drover_emulator::conformance::Report;
use drover_emulator::specs::Specs;
use drover_emulator::{Exchange, Site};
use serde_json::Value;

/// The forge specs, or `None` outside CI when they are absent (under
/// `CI=true` a missing directory fails here, and a missing file fails the
/// loading tests).
pub fn specs() -> Option<Specs> {
    let specs = Specs::locate(None).expect("forge specs (CI=true requires them)");
    if specs.dir().is_none() {
        eprintln!("forge specs not found outside CI: skipping");
        return None;
    }
    Some(specs)
}

/// An exchange as the recorder would keep it.
pub fn exchange(
    site: Site,
    method: &str,
    target: &str,
    request: Option<Value>,
    status: u16,
    response: Option<Value>,
) -> Exchange {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.to_string(), None),
    };
    let request_body = request.map(|v| v.to_string());
    let response_body = response.map(|v| v.to_string());
    let mut response_headers = BTreeMap::new();
    if response_body.is_some() {
        response_headers.insert(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        );
    }
    Exchange {
        seq: 0,
        site,
        method: method.to_string(),
        path,
        query,
        route: None,
        request_headers: BTreeMap::new(),
        request_body_len: request_body.as_ref().map_or(0, String::len),
        request_body,
        status,
        response_headers,
        response_body_len: response_body.as_ref().map_or(0, String::len),
        response_body,
        fault: None,
        duration_ms: 0,
    }
}

pub fn texts(report: &Report) -> Vec<String> {
    report.violations.iter().map(ToString::to_string).collect()
}

/// Asserts exactly one violation, containing every fragment.
pub fn assert_one(report: &Report, fragments: &[&str]) {
    let texts = texts(report);
    assert_eq!(texts.len(), 1, "{texts:#?}");
    for f in fragments {
        assert!(texts[0].contains(f), "{:?} lacks {f:?}", texts[0]);
    }
}
