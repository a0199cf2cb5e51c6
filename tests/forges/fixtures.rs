//! Real recorded GitHub responses (octokit/fixtures) decode through drover's
//! GitHub wire types.

use std::path::PathBuf;

use drover::forge::github::rest::{decode_blob, ErrorBody, Pull, Sha};
use serde_json::Value;

fn fixtures() -> PathBuf {
    let specs = std::env::var_os("DROVER_FORGE_SPECS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/forge-specs"));
    let dir = specs.join("github/fixtures");
    assert!(
        dir.is_dir(),
        "missing {} (set DROVER_FORGE_SPECS)",
        dir.display()
    );
    dir
}

/// Every recorded exchange of a scenario: (method, path, status, response).
fn exchanges(name: &str) -> Vec<(String, String, u16, Value)> {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.normalized-fixture.json")))
        .unwrap();
    let all: Vec<Value> = serde_json::from_str(&text).unwrap();
    all.into_iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_uppercase(),
                e["path"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap() as u16,
                e["response"].clone(),
            )
        })
        .collect()
}

#[test]
fn error_bodies_decode_with_their_details() {
    let (_, _, status, body) = exchanges("errors")
        .into_iter()
        .find(|e| e.2 == 422)
        .unwrap();
    assert_eq!(status, 422);
    let err: ErrorBody = serde_json::from_value(body).unwrap();
    assert_eq!(err.message, "Validation Failed");
    assert!(!err.errors.is_empty());
}

#[test]
fn created_refs_and_objects_decode_as_shas() {
    let created = exchanges("git-refs")
        .into_iter()
        .find(|e| e.0 == "POST" && e.2 == 201)
        .unwrap();
    let object: Sha = serde_json::from_value(created.3["object"].clone()).unwrap();
    assert_eq!(object.sha.len(), 40);
    let commit = exchanges("create-file")
        .into_iter()
        .find(|e| e.2 == 201)
        .unwrap();
    let sha: Sha = serde_json::from_value(commit.3["commit"].clone()).unwrap();
    assert_eq!(sha.sha.len(), 40);
}

#[test]
fn directory_listings_decode_as_shas() {
    let listing = exchanges("get-content")
        .into_iter()
        .find(|e| e.1.ends_with("/contents/"))
        .unwrap();
    let entries: Vec<Sha> = serde_json::from_value(listing.3).unwrap();
    assert!(!entries.is_empty() && entries.iter().all(|e| e.sha.len() == 40));
}

#[test]
fn blobs_decode_from_base64_with_line_breaks() {
    // GitHub wraps base64 content at 60 columns.
    let blob = serde_json::json!({ "content": "IyBoZWxsby13b3Js
ZAo=
", "encoding": "base64" });
    assert_eq!(decode_blob(&blob).unwrap(), b"# hello-world\n");
}

#[test]
fn issues_decode_as_pulls_share_their_numbers_and_urls() {
    // No pull request scenario was recorded; an issue carries the same
    // `number` and `html_url` drover reads from a pull.
    let issue = exchanges("add-labels-to-issue")
        .into_iter()
        .find(|e| e.2 == 201)
        .unwrap();
    let pull: Pull = serde_json::from_value(issue.3).unwrap();
    assert!(pull.number > 0 && pull.html_url.starts_with("https://github.com/"));
}
