//! The emulated GitHub's contents API (files, directories, symlinks, raw
//! media type, create / update / delete as commits), labels on pull
//! requests and repositories, issue comments and requested reviewers, over
//! HTTP. Every test ends with no conformance violation recorded.

mod github_support;

use drover_emulator::{CommitSeed, Forge, RepoSeed};
use github_support::{assert_clean, fork_branch, start, take_violations, Api, Reply};
use reqwest::Method;
use serde_json::{json, Value};

fn names(r: &Reply) -> Vec<String> {
    r.body
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn contents_files_directories_and_symlinks() {
    let emu = start().await;
    let long: String = "x".repeat(100);
    emu.create_repo(
        Forge::Github,
        "acme/docs",
        RepoSeed::default()
            .file("README.md", long.clone())
            .file("docs/guide.md", "guide\n"),
    )
    .unwrap();
    {
        // Symlinks through the world's commit API (git mode 120000).
        let mut world = emu.world().lock();
        let id = world.repo(Forge::Github, "acme/docs").unwrap().id;
        let changes = [
            drover_emulator::FileChange::WriteMode {
                path: "link.md".into(),
                content: b"docs/guide.md".to_vec(),
                mode: 0o120000,
            },
            drover_emulator::FileChange::WriteMode {
                path: "dangling".into(),
                content: b"../outside".to_vec(),
                mode: 0o120000,
            },
        ];
        world
            .commit_files(
                id,
                "main",
                &changes,
                "links",
                &drover_emulator::Person::emulator(),
            )
            .unwrap();
    }
    let api = Api::new(&emu);
    let file = api
        .get("/repos/acme/docs/contents/README.md")
        .await
        .expect(200);
    assert_eq!(file.body["type"], "file");
    assert_eq!(file.body["encoding"], "base64");
    assert_eq!(file.body["size"], 100);
    let content = file.body["content"].as_str().unwrap();
    assert!(content.lines().all(|l| l.len() <= 60) && content.ends_with('\n'));
    assert_eq!(
        file.body["url"],
        format!(
            "{}/repos/acme/docs/contents/README.md?ref=main",
            emu.github_url()
        )
    );
    let raw = api
        .send_with(
            Method::GET,
            "/repos/acme/docs/contents/README.md",
            None,
            &[("accept", "application/vnd.github.raw")],
        )
        .await
        .expect(200);
    assert_eq!(raw.text, long);

    let root = api.get("/repos/acme/docs/contents/").await.expect(200);
    let kinds: Vec<(String, String)> = root
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().into(),
                e["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("README.md".into(), "file".into()),
            ("dangling".into(), "symlink".into()),
            ("docs".into(), "dir".into()),
            ("link.md".into(), "symlink".into())
        ]
    );
    let dir = api.get("/repos/acme/docs/contents/docs").await.expect(200);
    assert_eq!(dir.body[0]["path"], "docs/guide.md");
    // A symlink to a file answers the file; a dangling one, the link.
    let followed = api
        .get("/repos/acme/docs/contents/link.md")
        .await
        .expect(200);
    assert_eq!(followed.body["path"], "docs/guide.md");
    let link = api
        .get("/repos/acme/docs/contents/dangling")
        .await
        .expect(200);
    assert_eq!(link.body["type"], "symlink");
    assert_eq!(link.body["target"], "../outside");
    api.get("/repos/acme/docs/contents/nope").await.expect(404);

    let put = |body: Value| api.put("/repos/acme/docs/contents/new/file.txt", body);
    let made = put(json!({ "message": "add", "content": "aGVsbG8K" }))
        .await
        .expect(201);
    assert_eq!(made.body["content"]["path"], "new/file.txt");
    assert_eq!(made.body["commit"]["message"], "add");
    assert_eq!(made.body["commit"]["author"]["name"], "octo");
    let sha = made.body["content"]["sha"].as_str().unwrap().to_string();
    assert_eq!(
        emu.file(Forge::Github, "acme/docs", "main", "new/file.txt")
            .unwrap()
            .unwrap(),
        b"hello\n"
    );
    let no_sha = put(json!({ "message": "again", "content": "aGkK" }))
        .await
        .expect(422);
    assert!(no_sha.body["message"]
        .as_str()
        .unwrap()
        .contains("\"sha\" wasn't supplied."));
    put(json!({ "message": "again", "content": "aGkK", "sha": "0".repeat(40) }))
        .await
        .expect(409);
    // The description's 409 is `oneOf: [basic-error,
    // repository-rule-violation-error]`, two schemas every error body
    // matches: a flaw of the description, reported, not of the answer.
    for v in take_violations(&emu) {
        assert!(
            v.contains("valid under more than one of the schemas listed in the 'oneOf'"),
            "{v}"
        );
    }
    put(json!({ "message": "again", "content": "aGkK", "sha": sha,
                "committer": { "name": "Bot", "email": "bot@example.com" } }))
    .await
    .expect(200);
    let info = emu
        .commit_info(Forge::Github, "acme/docs", "main")
        .unwrap()
        .unwrap();
    assert_eq!(info.committer.email, "bot@example.com");
    let current = api
        .get("/repos/acme/docs/contents/new/file.txt")
        .await
        .expect(200);
    let gone = api
        .delete_with(
            "/repos/acme/docs/contents/new/file.txt",
            json!({ "message": "rm", "sha": current.body["sha"] }),
        )
        .await
        .expect(200);
    assert_eq!(gone.body["content"], Value::Null);
    assert!(emu
        .file(Forge::Github, "acme/docs", "main", "new/file.txt")
        .unwrap()
        .is_none());

    // The contents API works on an empty repository (the git data API does not).
    emu.create_repo(Forge::Github, "acme/fresh", RepoSeed::default().empty())
        .unwrap();
    api.put(
        "/repos/acme/fresh/contents/README.md",
        json!({ "message": "first", "content": "aGkK" }),
    )
    .await
    .expect(201);
    assert_eq!(emu.refs(Forge::Github, "acme/fresh").unwrap().len(), 1);
    assert_clean(&emu);
}

/// A repository with one open pull request #1 from `drover/sync`.
async fn with_pull(emu: &drover_emulator::Emulator, api: &Api) {
    emu.create_repo(Forge::Github, "acme/api", RepoSeed::default())
        .unwrap();
    fork_branch(emu, "acme/api", "drover/sync", "main");
    emu.commit(
        Forge::Github,
        "acme/api",
        CommitSeed::new("drover/sync", "sync").write("x", "y"),
    )
    .unwrap();
    api.post(
        "/repos/acme/api/pulls",
        json!({ "title": "Sync", "head": "drover/sync", "base": "main", "body": "b" }),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn labels_on_issues_and_repositories() {
    let emu = start().await;
    let api = Api::new(&emu);
    with_pull(&emu, &api).await;
    let added = api
        .post(
            "/repos/acme/api/issues/1/labels",
            json!({ "labels": ["drover", "Deps"] }),
        )
        .await
        .expect(200);
    assert_eq!(added.body[0]["name"], "drover");
    assert_eq!(added.body[0]["color"], "ededed", "created on the fly");
    assert_eq!(added.body[0]["default"], false);
    api.post("/repos/acme/api/issues/1/labels", json!(["deps", "extra"]))
        .await
        .expect(200);
    let listed = api.get("/repos/acme/api/issues/1/labels").await.expect(200);
    assert_eq!(names(&listed), ["drover", "Deps", "extra"]);
    let set = api
        .put(
            "/repos/acme/api/issues/1/labels",
            json!({ "labels": [{ "name": "drover" }] }),
        )
        .await
        .expect(200);
    assert_eq!(names(&set), ["drover"]);
    let pr = api.get("/repos/acme/api/pulls/1").await.expect(200);
    assert_eq!(pr.body["labels"][0]["name"], "drover");
    let removed = api
        .delete("/repos/acme/api/issues/1/labels/drover")
        .await
        .expect(200);
    assert_eq!(removed.body, json!([]));
    let again = api
        .delete("/repos/acme/api/issues/1/labels/drover")
        .await
        .expect(404);
    assert_eq!(again.body["message"], "Label does not exist");
    api.post(
        "/repos/acme/api/issues/1/labels",
        json!({ "labels": ["a"] }),
    )
    .await
    .expect(200);
    api.delete("/repos/acme/api/issues/1/labels")
        .await
        .expect(204);
    api.get("/repos/acme/api/issues/99/labels")
        .await
        .expect(404);

    // Repository labels, with the `errors` fixture's validation failure.
    let bad = api
        .post(
            "/repos/acme/api/labels",
            json!({ "name": "foo", "color": "invalid" }),
        )
        .await
        .expect(422);
    assert_eq!(bad.body["message"], "Validation Failed");
    assert_eq!(
        bad.body["errors"],
        json!([{ "resource": "Label", "code": "invalid", "field": "color" }])
    );
    let made = api
        .post(
            "/repos/acme/api/labels",
            json!({ "name": "test label", "color": "663399" }),
        )
        .await
        .expect(201);
    assert_eq!(
        made.body["url"],
        format!("{}/repos/acme/api/labels/test%20label", emu.github_url())
    );
    assert_eq!(made.body["description"], Value::Null);
    api.post("/repos/acme/api/labels", json!({ "name": "Test Label" }))
        .await
        .expect(422);
    let patched = api
        .patch(
            "/repos/acme/api/labels/test%20label",
            json!({ "new_name": "renamed", "color": "BADA55" }),
        )
        .await
        .expect(200);
    assert_eq!(patched.body["name"], "renamed");
    api.get("/repos/acme/api/labels/renamed").await.expect(200);
    api.delete("/repos/acme/api/labels/renamed")
        .await
        .expect(204);
    api.get("/repos/acme/api/labels/renamed").await.expect(404);
    assert_clean(&emu);
}

#[tokio::test]
async fn issue_comments_and_requested_reviewers() {
    let emu = start().await;
    emu.create_token(Forge::Github, "reviewer", "ghp_other")
        .unwrap();
    let api = Api::new(&emu);
    with_pull(&emu, &api).await;
    let c1 = api
        .post(
            "/repos/acme/api/issues/1/comments",
            json!({ "body": "first" }),
        )
        .await
        .expect(201);
    assert_eq!(c1.body["user"]["login"], "octo");
    assert_eq!(c1.body["author_association"], "MEMBER");
    assert!(c1.body["html_url"]
        .as_str()
        .unwrap()
        .contains("/pull/1#issuecomment-"));
    let id = c1.body["id"].as_u64().unwrap();
    api.post(
        "/repos/acme/api/issues/1/comments",
        json!({ "body": "second" }),
    )
    .await
    .expect(201);
    let page = api
        .get("/repos/acme/api/issues/1/comments?per_page=1")
        .await
        .expect(200);
    assert_eq!(page.body[0]["body"], "first");
    let repo_id = emu.repo(Forge::Github, "acme/api").unwrap().id;
    assert_eq!(
        page.link("last").unwrap(),
        format!(
            "{}/repositories/{repo_id}/issues/1/comments?per_page=1&page=2",
            emu.github_url()
        )
    );
    let edited = api
        .patch(
            &format!("/repos/acme/api/issues/comments/{id}"),
            json!({ "body": "first, edited" }),
        )
        .await
        .expect(200);
    assert_eq!(edited.body["body"], "first, edited");
    api.get(&format!("/repos/acme/api/issues/comments/{id}"))
        .await
        .expect(200);
    let pr = api.get("/repos/acme/api/pulls/1").await.expect(200);
    assert_eq!(pr.body["comments"], 2);
    api.delete(&format!("/repos/acme/api/issues/comments/{id}"))
        .await
        .expect(204);
    api.get(&format!("/repos/acme/api/issues/comments/{id}"))
        .await
        .expect(404);
    assert_eq!(
        emu.proposals(Forge::Github, "acme/api").unwrap()[0]
            .comments
            .len(),
        1
    );

    let requested = api
        .post(
            "/repos/acme/api/pulls/1/requested_reviewers",
            json!({ "reviewers": ["reviewer"] }),
        )
        .await
        .expect(201);
    assert_eq!(
        requested.body["requested_reviewers"][0]["login"],
        "reviewer"
    );
    // Documented without a body.
    let unknown = api
        .post(
            "/repos/acme/api/pulls/1/requested_reviewers",
            json!({ "reviewers": ["ghost"] }),
        )
        .await
        .expect(422);
    assert_eq!(unknown.text, "");
    api.post(
        "/repos/acme/api/pulls/1/requested_reviewers",
        json!({ "reviewers": ["octo"] }),
    )
    .await
    .expect(422);
    let list = api
        .get("/repos/acme/api/pulls/1/requested_reviewers")
        .await
        .expect(200);
    assert_eq!(list.body["users"][0]["login"], "reviewer");
    assert_eq!(list.body["teams"], json!([]));
    assert_eq!(
        emu.proposals(Forge::Github, "acme/api").unwrap()[0].reviewers,
        ["reviewer"]
    );
    let after = api
        .delete_with(
            "/repos/acme/api/pulls/1/requested_reviewers",
            json!({ "reviewers": ["reviewer"] }),
        )
        .await
        .expect(200);
    assert_eq!(after.body["requested_reviewers"], json!([]));
    assert_clean(&emu);
}
