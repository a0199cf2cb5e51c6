//! The emulated GitHub's git data API and pull requests, end to end over
//! HTTP: blobs, trees (base tree, content, sha, deletion, executable and
//! symlink modes), commits, refs, a pull request updated and merged, the
//! result read back through the inspection API and with the `git` CLI on a
//! clone; and the pull-request refusals drover must handle: a duplicate, no
//! commits between the branches, unrelated histories, a missing branch.

mod github_support;

use drover_emulator::{CommitSeed, Forge, ProposalState, RepoSeed};
use github_support::{assert_clean, clone_url, fork_branch, git, start, Api};
use serde_json::{json, Value};

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

#[tokio::test]
async fn blob_tree_commit_ref_pull_update_merge_and_clone() {
    let emu = start().await;
    emu.create_repo(
        Forge::Github,
        "acme/api",
        RepoSeed::default()
            .file("Cargo.toml", "[package]\nname = \"api\"\n")
            .file("old.txt", "obsolete\n")
            .file("deploy/k8s/app.yaml", "kind: Deployment\n"),
    )
    .unwrap();
    let api = Api::new(&emu);
    let head = emu
        .resolve(Forge::Github, "acme/api", "main")
        .unwrap()
        .unwrap();

    // Blobs, in both encodings.
    let utf8 = api
        .post(
            "/repos/acme/api/git/blobs",
            json!({ "content": "héllo\n", "encoding": "utf-8" }),
        )
        .await
        .expect(201);
    let blob = s(&utf8.body["sha"]);
    assert_eq!(utf8.header("location"), utf8.body["url"].as_str());
    let b64 = api
        .post(
            "/repos/acme/api/git/blobs",
            json!({ "content": "AAEC/w==", "encoding": "base64" }),
        )
        .await
        .expect(201);
    let fetched = api
        .get(&format!(
            "/repos/acme/api/git/blobs/{}",
            s(&b64.body["sha"])
        ))
        .await
        .expect(200);
    assert_eq!(fetched.body["content"], "AAEC/w==\n");
    assert_eq!(fetched.body["encoding"], "base64");
    assert_eq!(fetched.body["size"], 4);

    // A tree on the head's tree: content, sha, executable, symlink, deletion.
    let commit = api
        .get(&format!("/repos/acme/api/git/commits/{head}"))
        .await
        .expect(200);
    let base_tree = s(&commit.body["tree"]["sha"]);
    let tree = api
        .post(
            "/repos/acme/api/git/trees",
            json!({ "base_tree": base_tree, "tree": [
                { "path": "Cargo.toml", "mode": "100644", "type": "blob", "content": "[package]\nname = \"api\"\nedition = \"2021\"\n" },
                { "path": "greeting.txt", "mode": "100644", "type": "blob", "sha": blob },
                { "path": "scripts/ci.sh", "mode": "100755", "type": "blob", "content": "#!/bin/sh\n" },
                { "path": "current", "mode": "120000", "type": "blob", "content": "deploy/k8s" },
                { "path": "old.txt", "mode": "100644", "type": "blob", "sha": null },
                { "path": "never-existed.txt", "mode": "100644", "type": "blob", "sha": null },
            ]}),
        )
        .await
        .expect(201);
    assert_eq!(tree.body["truncated"], false);
    let top: Vec<(String, String, String)> = tree.body["tree"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (s(&e["path"]), s(&e["mode"]), s(&e["type"])))
        .collect();
    assert_eq!(
        top,
        [
            ("Cargo.toml".into(), "100644".into(), "blob".into()),
            ("current".into(), "120000".into(), "blob".into()),
            ("deploy".into(), "040000".into(), "tree".into()),
            ("greeting.txt".into(), "100644".into(), "blob".into()),
            ("scripts".into(), "040000".into(), "tree".into()),
        ]
    );
    let tree_sha = s(&tree.body["sha"]);
    let recursive = api
        .get(&format!("/repos/acme/api/git/trees/{tree_sha}?recursive=1"))
        .await
        .expect(200);
    let paths: Vec<String> = recursive.body["tree"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["path"]))
        .collect();
    assert!(
        paths.contains(&"deploy/k8s/app.yaml".to_string()),
        "{paths:?}"
    );
    assert!(paths.contains(&"scripts/ci.sh".to_string()));
    let by_branch = api.get("/repos/acme/api/git/trees/main").await.expect(200);
    assert_eq!(by_branch.body["sha"], base_tree.as_str());

    // A commit with an explicit author and date.
    let made = api
        .post(
            "/repos/acme/api/git/commits",
            json!({ "message": "Sync templates\n\nDrover-Fingerprint: ab12", "tree": tree_sha,
                    "parents": [head],
                    "author": { "name": "Drover", "email": "drover@example.com", "date": "2024-05-01T12:00:00+02:00" } }),
        )
        .await
        .expect(201);
    let sha = s(&made.body["sha"]);
    assert_eq!(made.body["author"]["date"], "2024-05-01T10:00:00Z");
    assert_eq!(made.body["committer"]["email"], "drover@example.com");
    assert_eq!(made.body["parents"][0]["sha"], head.as_str());
    assert_eq!(made.body["verification"]["verified"], false);

    // The branch.
    let created = api
        .post(
            "/repos/acme/api/git/refs",
            json!({ "ref": "refs/heads/drover/sync", "sha": sha }),
        )
        .await
        .expect(201);
    assert_eq!(created.body["object"]["type"], "commit");
    assert_eq!(
        created.body["url"],
        format!(
            "{}/repos/acme/api/git/refs/heads/drover/sync",
            emu.github_url()
        )
    );
    let again = api
        .post(
            "/repos/acme/api/git/refs",
            json!({ "ref": "refs/heads/drover/sync", "sha": sha }),
        )
        .await
        .expect(422);
    assert_eq!(again.body["message"], "Reference already exists");
    let got = api
        .get("/repos/acme/api/git/ref/heads/drover/sync")
        .await
        .expect(200);
    assert_eq!(got.body["object"]["sha"], sha.as_str());
    api.get("/repos/acme/api/git/ref/heads/nope")
        .await
        .expect(404);
    let matching = api
        .get("/repos/acme/api/git/matching-refs/heads/drover")
        .await
        .expect(200);
    assert_eq!(matching.body.as_array().unwrap().len(), 1);

    // The pull request, and its duplicate.
    let body = "<!-- drover:proposal repo=acme/api fingerprint=ab12 -->";
    let pr = api
        .post(
            "/repos/acme/api/pulls",
            json!({ "title": "drover: sync", "head": "drover/sync", "base": "main",
                    "body": body, "maintainer_can_modify": false }),
        )
        .await
        .expect(201);
    assert_eq!(pr.body["number"], 1);
    assert_eq!(pr.body["state"], "open");
    assert_eq!(pr.body["merged"], false);
    assert_eq!(pr.body["mergeable"], true);
    assert_eq!(pr.body["head"]["ref"], "drover/sync");
    assert_eq!(pr.body["head"]["sha"], sha.as_str());
    assert_eq!(pr.body["head"]["label"], "acme:drover/sync");
    assert_eq!(pr.body["base"]["sha"], head.as_str());
    assert_eq!(pr.body["head"]["repo"]["full_name"], "acme/api");
    assert_eq!(pr.body["commits"], 1);
    assert_eq!(pr.body["changed_files"], 5);
    assert_eq!(
        pr.body["html_url"],
        format!("{}/acme/api/pull/1", emu.github_url())
    );
    let dup = api
        .post(
            "/repos/acme/api/pulls",
            json!({ "title": "again", "head": "drover/sync", "base": "main" }),
        )
        .await
        .expect(422);
    assert_eq!(dup.body["message"], "Validation Failed");
    assert_eq!(
        dup.body["errors"][0]["message"],
        "A pull request already exists for acme:drover/sync."
    );
    let listed = api
        .get("/repos/acme/api/pulls?head=acme:drover/sync&state=open")
        .await
        .expect(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert!(
        listed.body[0].get("merged").is_none(),
        "pull-request-simple"
    );
    let other_owner = api
        .get("/repos/acme/api/pulls?head=octo:drover/sync")
        .await
        .expect(200);
    assert_eq!(other_owner.body, json!([]));

    // Force-update the branch with a second commit on top, then edit the PR.
    let second_tree = api
        .post(
            "/repos/acme/api/git/trees",
            json!({ "base_tree": tree_sha, "tree": [
                { "path": "greeting.txt", "mode": "100644", "type": "blob", "content": "hello again\n" }]}),
        )
        .await
        .expect(201);
    let second = api
        .post(
            "/repos/acme/api/git/commits",
            json!({ "message": "More", "tree": second_tree.body["sha"], "parents": [sha] }),
        )
        .await
        .expect(201);
    let second_sha = s(&second.body["sha"]);
    assert_eq!(second.body["author"]["name"], "octo");
    api.patch(
        "/repos/acme/api/git/refs/heads/drover/sync",
        json!({ "sha": second_sha, "force": true }),
    )
    .await
    .expect(200);
    let edited = api
        .patch(
            "/repos/acme/api/pulls/1",
            json!({ "title": "drover: sync (2)", "body": format!("{body}\nupdated") }),
        )
        .await
        .expect(200);
    assert_eq!(edited.body["title"], "drover: sync (2)");
    assert_eq!(edited.body["head"]["sha"], second_sha.as_str());
    assert_eq!(edited.body["commits"], 2);

    // Merge: a real merge commit on main.
    let stale = api
        .put("/repos/acme/api/pulls/1/merge", json!({ "sha": sha }))
        .await
        .expect(409);
    assert_eq!(
        stale.body["message"],
        "Head branch was modified. Review and try the merge again."
    );
    api.get("/repos/acme/api/pulls/1/merge").await.expect(404);
    let merged = api
        .put(
            "/repos/acme/api/pulls/1/merge",
            json!({ "sha": second_sha, "merge_method": "merge" }),
        )
        .await
        .expect(200);
    assert_eq!(merged.body["merged"], true);
    assert_eq!(merged.body["message"], "Pull Request successfully merged");
    let merge_sha = s(&merged.body["sha"]);
    api.get("/repos/acme/api/pulls/1/merge").await.expect(204);
    let after = api.get("/repos/acme/api/pulls/1").await.expect(200);
    assert_eq!(after.body["state"], "closed");
    assert_eq!(after.body["merged"], true);
    assert_eq!(after.body["merge_commit_sha"], merge_sha.as_str());
    assert_eq!(after.body["merged_by"]["login"], "octo");
    assert_eq!(after.body["commits"], 2);
    assert!(after.body["merged_at"].is_string());
    api.put("/repos/acme/api/pulls/1/merge", json!({}))
        .await
        .expect(405);

    // The inspection API agrees.
    assert_eq!(
        emu.resolve(Forge::Github, "acme/api", "main")
            .unwrap()
            .unwrap(),
        merge_sha
    );
    let info = emu
        .commit_info(Forge::Github, "acme/api", &merge_sha)
        .unwrap()
        .unwrap();
    assert_eq!(info.parents, [head.clone(), second_sha.clone()]);
    assert!(info
        .message
        .starts_with("Merge pull request #1 from acme/drover/sync"));
    assert_eq!(info.committer.email, "noreply@github.com");
    let proposals = emu.proposals(Forge::Github, "acme/api").unwrap();
    assert_eq!(proposals[0].state, ProposalState::Merged);
    assert_eq!(
        proposals[0].merge_commit.as_deref(),
        Some(merge_sha.as_str())
    );
    assert_eq!(proposals[0].title, "drover: sync (2)");

    // And so does git, on a clone.
    let dir = tempfile::tempdir().unwrap();
    let url = clone_url(&emu, "acme/api");
    let d = dir.path().to_path_buf();
    let (log, files, ls) = tokio::task::spawn_blocking(move || {
        git(&d, &["clone", "-q", &url, "clone"]);
        let c = d.join("clone");
        (
            git(&c, &["log", "--format=%H %P", "-1"]),
            std::fs::read_to_string(c.join("greeting.txt")).unwrap(),
            git(&c, &["ls-tree", "-r", "HEAD"]),
        )
    })
    .await
    .unwrap();
    assert_eq!(log, format!("{merge_sha} {head} {second_sha}"));
    assert_eq!(files, "hello again\n");
    assert!(
        ls.contains("100755 blob") && ls.contains("\tscripts/ci.sh"),
        "{ls}"
    );
    assert!(
        ls.contains("120000 blob") && ls.contains("\tcurrent"),
        "{ls}"
    );
    assert!(
        !ls.contains("old.txt") && !ls.contains("never-existed"),
        "{ls}"
    );
    let closed = api
        .get("/repos/acme/api/pulls?state=closed")
        .await
        .expect(200);
    assert_eq!(closed.body[0]["merged_at"], after.body["merged_at"]);
    assert_clean(&emu);
}

#[tokio::test]
async fn pull_request_refusals_and_lifecycle() {
    let emu = start().await;
    emu.create_repo(Forge::Github, "acme/api", RepoSeed::default())
        .unwrap();
    let main = emu
        .resolve(Forge::Github, "acme/api", "main")
        .unwrap()
        .unwrap();
    let api = Api::new(&emu);
    api.post(
        "/repos/acme/api/git/refs",
        json!({ "ref": "refs/heads/same", "sha": main }),
    )
    .await
    .expect(201);
    let none = api
        .post(
            "/repos/acme/api/pulls",
            json!({ "title": "t", "head": "same", "base": "main" }),
        )
        .await
        .expect(422);
    assert_eq!(
        none.body["errors"][0]["message"],
        "No commits between main and same"
    );
    let missing = api
        .post(
            "/repos/acme/api/pulls",
            json!({ "title": "t", "head": "nope", "base": "main" }),
        )
        .await
        .expect(422);
    assert_eq!(
        missing.body["errors"][0],
        json!({ "resource": "PullRequest", "field": "head", "code": "invalid" })
    );
    // A branch with its own history cannot be proposed.
    emu.commit(
        Forge::Github,
        "acme/api",
        CommitSeed::new("orphan", "o").write("o", "o"),
    )
    .unwrap();
    let orphan = api
        .post(
            "/repos/acme/api/pulls",
            json!({ "title": "t", "head": "orphan", "base": "main" }),
        )
        .await
        .expect(422);
    assert_eq!(
        orphan.body["errors"][0]["message"],
        "The orphan branch has no history in common with main"
    );
    fork_branch(&emu, "acme/api", "topic", "main");
    emu.commit(
        Forge::Github,
        "acme/api",
        CommitSeed::new("topic", "t").write("t", "t"),
    )
    .unwrap();
    api.post(
        "/repos/acme/api/pulls",
        json!({ "head": "topic", "base": "main" }),
    )
    .await
    .expect(422);
    let pr = api
        .post(
            "/repos/acme/api/pulls",
            json!({ "title": "Topic", "head": "acme:topic", "base": "main", "draft": true }),
        )
        .await
        .expect(201);
    assert_eq!(pr.body["draft"], true);
    assert_eq!(pr.body["body"], Value::Null);

    // The base can change to another existing branch.
    fork_branch(&emu, "acme/api", "release", "main");
    let rebased = api
        .patch("/repos/acme/api/pulls/1", json!({ "base": "release" }))
        .await
        .expect(200);
    assert_eq!(rebased.body["base"]["ref"], "release");
    assert_eq!(rebased.body["base"]["label"], "acme:release");
    api.patch("/repos/acme/api/pulls/1", json!({ "base": "nope" }))
        .await
        .expect(422);
    api.patch("/repos/acme/api/pulls/1", json!({ "base": "main" }))
        .await
        .expect(200);

    // Closed, reopened, then its branch deleted: GitHub closes it.
    let closed = api
        .patch("/repos/acme/api/pulls/1", json!({ "state": "closed" }))
        .await
        .expect(200);
    assert_eq!(closed.body["state"], "closed");
    assert_eq!(closed.body["merged"], false);
    // A new pull request for the same head is allowed once it is closed.
    api.post(
        "/repos/acme/api/pulls",
        json!({ "title": "Again", "head": "topic", "base": "main" }),
    )
    .await
    .expect(201);
    api.patch("/repos/acme/api/pulls/1", json!({ "state": "open" }))
        .await
        .expect(422);
    api.patch("/repos/acme/api/pulls/2", json!({ "state": "closed" }))
        .await
        .expect(200);
    api.patch("/repos/acme/api/pulls/1", json!({ "state": "open" }))
        .await
        .expect(200);
    // A `head` filter without the owner is ignored, as on GitHub.
    let all = api
        .get("/repos/acme/api/pulls?state=all&head=topic")
        .await
        .expect(200);
    assert_eq!(all.body.as_array().unwrap().len(), 2);
    assert_eq!(all.body[0]["number"], 2, "newest first");
    api.delete("/repos/acme/api/git/refs/heads/topic")
        .await
        .expect(204);
    let after = api.get("/repos/acme/api/pulls/1").await.expect(200);
    assert_eq!(after.body["state"], "closed");
    assert_eq!(after.body["commits"], 1, "stats frozen at closing");
    assert_eq!(
        emu.proposals(Forge::Github, "acme/api").unwrap()[0].state,
        ProposalState::Closed
    );
    assert_eq!(
        api.get("/repos/acme/api/pulls").await.expect(200).body,
        json!([])
    );
    api.get("/repos/acme/api/pulls/9").await.expect(404);
    assert_clean(&emu);
}
