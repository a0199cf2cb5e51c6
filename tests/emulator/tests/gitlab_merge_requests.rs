//! GitLab merge requests over REST: create (labels, reviewers, the
//! drover marker), the duplicate 409, list filters, update (title,
//! description, labels, reviewers), close and reopen, notes, and merges
//! done for real with git2 — a merge commit by default, a fast-forward
//! when the project merges `ff`, 405 on conflicts or a closed MR.

mod gitlab_support;

use drover_emulator::{CommitSeed, Forge, OwnerKind, RepoSeed, Site};
use gitlab_support::{header, start, Api};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const MARKER: &str = "<!-- drover:proposal repo=acme/app fingerprint=0123abcd -->";

#[tokio::test]
async fn gitlab_merge_request_lifecycle_with_notes_and_a_real_merge() {
    let emu = start().await;
    let bob = emu
        .create_owner(Forge::Gitlab, OwnerKind::User, "bob")
        .unwrap();
    let carol = emu
        .create_owner(Forge::Gitlab, OwnerKind::User, "carol")
        .unwrap();
    let id = emu
        .create_repo(
            Forge::Gitlab,
            "acme/app",
            RepoSeed::default().file("a.txt", "a\n"),
        )
        .unwrap();
    let main = emu
        .resolve(Forge::Gitlab, "acme/app", "main")
        .unwrap()
        .unwrap();
    let api = Api::new(&emu);
    let base = format!("/api/v4/projects/{id}");
    let (status, _, _) = api
        .call(
            Method::POST,
            &format!("{base}/repository/commits"),
            Some(json!({
                "branch": "drover/sync", "start_branch": "main", "commit_message": "chore: sync",
                "actions": [{ "action": "create", "file_path": "b.txt", "content": "b\n" }]
            })),
        )
        .await;
    assert_eq!(status, 201);
    let sync = emu
        .resolve(Forge::Gitlab, "acme/app", "drover/sync")
        .unwrap()
        .unwrap();

    let create = json!({
        "source_branch": "drover/sync", "target_branch": "main", "title": "chore: sync templates",
        "description": format!("Keeps the repository in line.\n\n{MARKER}"),
        "labels": "drover,chore", "reviewer_ids": [bob], "remove_source_branch": true
    });
    let (status, _, mr) = api
        .call(
            Method::POST,
            &format!("{base}/merge_requests"),
            Some(create.clone()),
        )
        .await;
    assert_eq!(status, 201, "{mr}");
    assert_eq!(mr["iid"], 1);
    assert_eq!(mr["project_id"], id);
    assert_eq!(mr["state"], "opened");
    assert_eq!(mr["labels"], json!(["chore", "drover"]));
    assert_eq!(mr["reviewers"][0]["username"], "bob");
    assert_eq!(mr["reviewers"][0]["id"], bob);
    assert_eq!(mr["author"]["username"], "gitlabber");
    assert_eq!(mr["sha"], sync);
    assert_eq!(mr["source_branch"], "drover/sync");
    assert_eq!(mr["force_remove_source_branch"], true);
    assert_eq!(mr["merge_status"], "can_be_merged");
    assert_eq!(mr["detailed_merge_status"], "mergeable");
    assert_eq!(mr["has_conflicts"], false);
    assert_eq!(mr["changes_count"], "1");
    assert_eq!(
        mr["diff_refs"],
        json!({ "base_sha": main, "head_sha": sync, "start_sha": main })
    );
    assert_eq!(mr["references"]["full"], "acme/app!1");
    assert_eq!(
        mr["web_url"],
        format!("{}/acme/app/-/merge_requests/1", emu.gitlab_url())
    );
    assert!(mr["description"].as_str().unwrap().ends_with(MARKER));

    let (status, _, dup) = api
        .call(
            Method::POST,
            &format!("{base}/merge_requests"),
            Some(create),
        )
        .await;
    assert_eq!(
        (status, dup),
        (
            StatusCode::CONFLICT,
            json!({ "message": ["Another open merge request already exists for this source branch: !1"] })
        )
    );

    // List filters, as drover's snapshot asks.
    let count = |q: &str| {
        let api = &api;
        let path = format!("{base}/merge_requests?{q}");
        async move { api.get(&path).await.2.as_array().unwrap().len() }
    };
    assert_eq!(count("source_branch=drover%2Fsync&state=all").await, 1);
    assert_eq!(count("source_branch=drover%2Fsync&state=opened").await, 1);
    assert_eq!(count("target_branch=develop").await, 0);
    assert_eq!(count("labels=drover").await, 1);
    assert_eq!(count("labels=drover,other").await, 0);
    assert_eq!(count("state=merged").await, 0);
    assert_eq!(count("reviewer_username=bob").await, 1);
    let (_, h, list) = api.get(&format!("{base}/merge_requests")).await;
    assert_eq!(header(&h, "x-total"), "1");
    assert!(
        list[0].get("diff_refs").is_none(),
        "listings are MergeRequestBasic"
    );

    // Update as drover does: title, description, labels, reviewers.
    let (status, _, mr) = api
        .call(
            Method::PUT,
            &format!("{base}/merge_requests/1"),
            Some(json!({
                "title": "chore: sync templates (2)", "description": MARKER,
                "add_labels": "bot", "reviewer_ids": [carol]
            })),
        )
        .await;
    assert_eq!(status, 200, "{mr}");
    assert_eq!(mr["title"], "chore: sync templates (2)");
    assert_eq!(mr["labels"], json!(["bot", "chore", "drover"]));
    assert_eq!(mr["reviewers"][0]["username"], "carol");
    let (_, _, mr) = api
        .call(
            Method::PUT,
            &format!("{base}/merge_requests/1"),
            Some(json!({ "labels": "drover" })),
        )
        .await;
    assert_eq!(mr["labels"], json!(["drover"]));

    // Close and reopen.
    let (_, _, closed) = api
        .call(
            Method::PUT,
            &format!("{base}/merge_requests/1"),
            Some(json!({ "state_event": "close" })),
        )
        .await;
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["closed_by"]["username"], "gitlabber");
    assert!(closed["closed_at"].is_string());
    assert_eq!(count("state=closed").await, 1);
    let (status, _, _) = api
        .call(
            Method::PUT,
            &format!("{base}/merge_requests/1/merge"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (_, _, reopened) = api
        .call(
            Method::PUT,
            &format!("{base}/merge_requests/1"),
            Some(json!({ "state_event": "reopen" })),
        )
        .await;
    assert_eq!(
        (reopened["state"].as_str(), &reopened["closed_by"]),
        (Some("opened"), &Value::Null)
    );

    // Notes.
    for text in ["First run.", "Second run."] {
        let (status, _, note) = api
            .call(
                Method::POST,
                &format!("{base}/merge_requests/1/notes"),
                Some(json!({ "body": text })),
            )
            .await;
        assert_eq!(status, 201, "{note}");
        assert_eq!(note["body"], text);
        assert_eq!(note["noteable_type"], "MergeRequest");
        assert_eq!(note["noteable_iid"], 1);
        assert_eq!(note["author"]["username"], "gitlabber");
        assert_eq!(note["system"], false);
    }
    let (_, h, notes) = api.get(&format!("{base}/merge_requests/1/notes")).await;
    assert_eq!(header(&h, "x-total"), "2");
    assert_eq!(notes[0]["body"], "Second run.", "newest first by default");
    let (_, _, notes) = api
        .get(&format!("{base}/merge_requests/1/notes?sort=asc"))
        .await;
    assert_eq!(notes[0]["body"], "First run.");
    let note_id = notes[0]["id"].as_u64().unwrap();
    let (status, _, edited) = api
        .call(
            Method::PUT,
            &format!("{base}/merge_requests/1/notes/{note_id}"),
            Some(json!({ "body": "Edited." })),
        )
        .await;
    assert_eq!(
        (status, edited["body"].as_str()),
        (StatusCode::OK, Some("Edited."))
    );
    let (_, _, mr) = api.get(&format!("{base}/merge_requests/1")).await;
    assert_eq!(mr["user_notes_count"], 2);

    // Merge: a real merge commit, the source branch removed.
    let (status, _, body) = api
        .call(
            Method::PUT,
            &format!("{base}/merge_requests/1/merge"),
            Some(json!({ "sha": main })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["message"],
        format!("SHA does not match HEAD of source branch: {sync}")
    );
    let (status, _, merged) = api
        .call(
            Method::PUT,
            &format!("{base}/merge_requests/1/merge"),
            Some(json!({ "sha": sync })),
        )
        .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["state"], "merged");
    assert_eq!(merged["merged_by"]["username"], "gitlabber");
    assert_eq!(merged["sha"], sync);
    let merge_commit = merged["merge_commit_sha"].as_str().unwrap().to_string();
    let new_main = emu
        .resolve(Forge::Gitlab, "acme/app", "main")
        .unwrap()
        .unwrap();
    assert_eq!(new_main, merge_commit);
    let info = emu
        .commit_info(Forge::Gitlab, "acme/app", &merge_commit)
        .unwrap()
        .unwrap();
    assert_eq!(info.parents, vec![main.clone(), sync.clone()]);
    assert!(
        info.message
            .starts_with("Merge branch 'drover/sync' into 'main'"),
        "{}",
        info.message
    );
    assert!(
        info.message.ends_with("See merge request acme/app!1"),
        "{}",
        info.message
    );
    assert_eq!(
        emu.file(Forge::Gitlab, "acme/app", "main", "b.txt")
            .unwrap()
            .unwrap(),
        b"b\n"
    );
    assert!(
        emu.resolve(Forge::Gitlab, "acme/app", "drover/sync")
            .unwrap()
            .is_none(),
        "source branch removed"
    );
    assert_eq!(count("state=merged").await, 1);
    let (status, _, _) = api
        .call(
            Method::PUT,
            &format!("{base}/merge_requests/1/merge"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let p = &emu.proposals(Forge::Gitlab, "acme/app").unwrap()[0];
    assert_eq!(
        (p.comments.len(), p.merge_commit.as_deref()),
        (2, Some(merge_commit.as_str()))
    );
    let (status, _, body) = api.get(&format!("{base}/merge_requests/9")).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "message": "404 Merge Request Not Found" })
        )
    );
    assert_eq!(
        emu.request_count(
            Site::Gitlab,
            "PUT /api/v4/projects/{id}/merge_requests/{merge_request_iid}/merge"
        ),
        4
    );
    emu.assert_conformant();
}

async fn branch(api: &Api<'_>, id: u64, name: &str, file: &str, content: &str) {
    let (status, _, body) = api
        .call(
            Method::POST,
            &format!("/api/v4/projects/{id}/repository/commits"),
            Some(json!({
                "branch": name, "start_branch": "main", "commit_message": format!("edit {file}"),
                "actions": [{ "action": "create", "file_path": file, "content": content }]
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn open_mr(api: &Api<'_>, id: u64, source: &str) -> u64 {
    let (status, _, mr) = api
        .call(
            Method::POST,
            &format!("/api/v4/projects/{id}/merge_requests"),
            Some(json!({
                "source_branch": source, "target_branch": "main", "title": format!("merge {source}")
            })),
        )
        .await;
    assert_eq!(status, 201, "{mr}");
    mr["iid"].as_u64().unwrap()
}

#[tokio::test]
async fn gitlab_fast_forward_projects_and_conflicts() {
    let (emu, id) = one_project("acme/ff").await;
    let api = Api::new(&emu);
    let (status, _, _) = api
        .call(
            Method::PUT,
            &format!("/api/v4/projects/{id}"),
            Some(json!({ "merge_method": "ff" })),
        )
        .await;
    assert_eq!(status, 200);
    branch(&api, id, "one", "same.txt", "one\n").await;
    branch(&api, id, "two", "same.txt", "two\n").await;
    let one = open_mr(&api, id, "one").await;
    let two = open_mr(&api, id, "two").await;
    let one_head = emu
        .resolve(Forge::Gitlab, "acme/ff", "one")
        .unwrap()
        .unwrap();

    let (status, _, merged) = api
        .call(
            Method::PUT,
            &format!("/api/v4/projects/{id}/merge_requests/{one}/merge"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(
        merged["merge_commit_sha"],
        Value::Null,
        "a fast-forward makes no merge commit"
    );
    assert_eq!(
        emu.resolve(Forge::Gitlab, "acme/ff", "main")
            .unwrap()
            .unwrap(),
        one_head
    );
    assert!(
        emu.resolve(Forge::Gitlab, "acme/ff", "one")
            .unwrap()
            .is_some(),
        "kept without remove_source_branch"
    );

    // `two` now conflicts with main.
    let (_, _, mr) = api
        .get(&format!("/api/v4/projects/{id}/merge_requests/{two}"))
        .await;
    assert_eq!(
        (mr["has_conflicts"].as_bool(), mr["merge_status"].as_str()),
        (Some(true), Some("cannot_be_merged"))
    );
    assert_eq!(mr["detailed_merge_status"], "conflict");
    let (status, _, body) = api
        .call(
            Method::PUT,
            &format!("/api/v4/projects/{id}/merge_requests/{two}/merge"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({ "message": "405 Method Not Allowed" })
        )
    );
    assert_eq!(
        emu.resolve(Forge::Gitlab, "acme/ff", "main")
            .unwrap()
            .unwrap(),
        one_head
    );
    emu.assert_conformant();
}

#[tokio::test]
async fn gitlab_squash_merges_one_commit() {
    let emu = start().await;
    let id = emu
        .create_repo(
            Forge::Gitlab,
            "acme/sq",
            RepoSeed::default().file("a.txt", "a\n"),
        )
        .unwrap();
    let api = Api::new(&emu);
    branch(&api, id, "topic", "t.txt", "t\n").await;
    emu.commit(
        Forge::Gitlab,
        "acme/sq",
        CommitSeed::new("topic", "more").write("u.txt", "u\n"),
    )
    .unwrap();
    emu.commit(
        Forge::Gitlab,
        "acme/sq",
        CommitSeed::new("main", "moved on").write("m.txt", "m\n"),
    )
    .unwrap();
    let main = emu
        .resolve(Forge::Gitlab, "acme/sq", "main")
        .unwrap()
        .unwrap();
    let iid = open_mr(&api, id, "topic").await;
    let (status, _, merged) = api
        .call(
            Method::PUT,
            &format!("/api/v4/projects/{id}/merge_requests/{iid}/merge"),
            Some(json!({ "squash": true, "should_remove_source_branch": true })),
        )
        .await;
    assert_eq!(status, 200, "{merged}");
    let squash = merged["squash_commit_sha"].as_str().unwrap();
    let merge = merged["merge_commit_sha"].as_str().unwrap();
    let info = emu
        .commit_info(Forge::Gitlab, "acme/sq", merge)
        .unwrap()
        .unwrap();
    assert_eq!(info.parents, vec![main, squash.to_string()]);
    let squashed = emu
        .commit_info(Forge::Gitlab, "acme/sq", squash)
        .unwrap()
        .unwrap();
    assert_eq!(squashed.message, "merge topic");
    assert!(emu
        .file(Forge::Gitlab, "acme/sq", "main", "u.txt")
        .unwrap()
        .is_some());
    assert!(emu
        .resolve(Forge::Gitlab, "acme/sq", "topic")
        .unwrap()
        .is_none());
    assert_eq!(merged["should_remove_source_branch"], true);
    emu.assert_conformant();
}

/// `Project.mergeRequests(sourceBranches:)` in GraphQL answers what REST's
/// list does, newest first, `diffHeadSha` being REST's `sha`.
#[tokio::test]
async fn gitlab_graphql_merge_requests_by_source_branch_match_rest() {
    let (emu, id) = one_project("acme/app").await;
    let api = Api::new(&emu);
    for (source, file) in [("drover/sync", "b.txt"), ("other", "c.txt")] {
        branch(&api, id, source, file, "x\n").await;
        open_mr(&api, id, source).await;
    }
    let (_, _, rest) = api
        .call(
            Method::GET,
            &format!("/api/v4/projects/{id}/merge_requests?source_branch=drover%2Fsync&state=all"),
            None,
        )
        .await;
    let query = r#"{ project(fullPath: "acme/app") {
        mergeRequests(sourceBranches: ["drover/sync"], first: 20) { nodes { iid webUrl state diffHeadSha sourceBranch } } } }"#;
    let (status, _, body) = api
        .call(
            Method::POST,
            "/api/graphql",
            Some(json!({ "query": query })),
        )
        .await;
    assert_eq!(status, 200);
    let nodes = body["data"]["project"]["mergeRequests"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(nodes.len(), 1, "{body}");
    assert_eq!(nodes[0]["iid"], rest[0]["iid"].to_string());
    assert_eq!(nodes[0]["webUrl"], rest[0]["web_url"]);
    assert_eq!(nodes[0]["state"], "opened");
    assert_eq!(nodes[0]["diffHeadSha"], rest[0]["sha"]);
    assert_eq!(nodes[0]["sourceBranch"], "drover/sync");
    assert!(emu.violations().is_empty(), "{:#?}", emu.violations());
}

/// An emulator with one project holding `a.txt`, and the project's id.
async fn one_project(path: &str) -> (drover_emulator::Emulator, u64) {
    let emu = start().await;
    let id = emu
        .create_repo(
            Forge::Gitlab,
            path,
            RepoSeed::default().file("a.txt", "a\n"),
        )
        .unwrap();
    (emu, id)
}
