//! git.sr.ht through the emulator: repositories of a user page by page,
//! `path` reads (text, executable, symlink, binary, tree), references and
//! log, and a repository made with `createRepository` then pushed to with
//! the git CLI.

mod sourcehut_support;

use drover_emulator::{EmulatorConfig, FileChange, Forge, Person, RepoSeed, Site};
use serde_json::{json, Value};
use sourcehut_support::{assert_no_violations, authed_url, gql, gql_as, start, start_with, TOKEN};

const DISCOVER: &str = r#"
query DroverDiscover($owner: String!, $cursor: Cursor) {
  user(username: $owner) {
    repositories(cursor: $cursor) {
      cursor
      results { id name visibility HEAD { name target } }
    }
  }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sourcehut_sixty_repositories_come_in_pages_of_25_most_recently_updated_first() {
    let emu = start_with(EmulatorConfig {
        frozen_time: Some(1_700_000_000),
        ..EmulatorConfig::default()
    })
    .await;
    for i in 0..60 {
        emu.create_repo(
            Forge::Sourcehut,
            &format!("alice/r{i:02}"),
            RepoSeed::default(),
        )
        .unwrap();
    }
    emu.create_repo(
        Forge::Sourcehut,
        "alice/secret",
        RepoSeed::default().private(),
    )
    .unwrap();
    // r05 is updated later: it must come first.
    emu.world().lock().frozen_time = Some(1_700_000_100);
    emu.commit(
        Forge::Sourcehut,
        "~alice/r05",
        drover_emulator::CommitSeed::new("main", "touch").write("x", "y"),
    )
    .unwrap();

    let mut cursor = Value::Null;
    let mut names = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let data = gql(
            &emu,
            Site::SrhtGit,
            DISCOVER,
            json!({"owner": "alice", "cursor": cursor}),
        )
        .await;
        let page = &data["user"]["repositories"];
        let results = page["results"].as_array().unwrap();
        sizes.push(results.len());
        for r in results {
            names.push(r["name"].as_str().unwrap().to_string());
            assert_eq!(r["HEAD"]["name"], "refs/heads/main");
            assert_eq!(r["HEAD"]["target"].as_str().unwrap().len(), 40);
        }
        cursor = page["cursor"].clone();
        if cursor.is_null() {
            break;
        }
        assert!(cursor.as_str().unwrap().len() > 8, "an opaque cursor");
    }
    // alice sees her private repository too.
    assert_eq!(sizes, [25, 25, 11]);
    assert_eq!(names[0], "r05");
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 61);

    // bob lists alice's public repositories only; a filter sets the count.
    let body = gql_as(
        &emu,
        Site::SrhtGit,
        sourcehut_support::BOB_TOKEN,
        r#"{ user(username: "alice") { repositories(filter: {count: 7}) { cursor results { name visibility } } } }"#,
        json!({}),
    )
    .await;
    let page = &body["data"]["user"]["repositories"];
    assert_eq!(page["results"].as_array().unwrap().len(), 7);
    let mut cursor = page["cursor"].clone();
    let mut seen = 7;
    while !cursor.is_null() {
        let body = gql_as(
            &emu,
            Site::SrhtGit,
            sourcehut_support::BOB_TOKEN,
            r#"query($c: Cursor) { user(username: "alice") { repositories(cursor: $c) { cursor results { name visibility } } } }"#,
            json!({"c": cursor}),
        )
        .await;
        let page = &body["data"]["user"]["repositories"];
        for r in page["results"].as_array().unwrap() {
            assert_eq!(r["visibility"], "PUBLIC");
        }
        seen += page["results"].as_array().unwrap().len();
        cursor = page["cursor"].clone();
    }
    assert_eq!(seen, 60);

    // Usernames are exact: sourcehut clients strip the `~` themselves.
    let data = gql(
        &emu,
        Site::SrhtGit,
        r#"{ tilde: user(username: "~alice") { id } plain: user(username: "alice") { canonicalName username } me { username } version { major features { artifacts } settings { sshUser } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(data["tilde"], Value::Null);
    assert_eq!(data["plain"]["canonicalName"], "~alice");
    assert_eq!(data["me"]["username"], "alice");
    assert_eq!(data["version"]["settings"]["sshUser"], "git");

    // A cursor the service did not issue is refused.
    let body = gql_as(
        &emu,
        Site::SrhtGit,
        TOKEN,
        DISCOVER,
        json!({"owner": "alice", "cursor": "bogus"}),
    )
    .await;
    assert_eq!(body["errors"][0]["message"], "Invalid cursor");
    assert_no_violations(&emu);
}

const SNAPSHOT: &str = r#"
query DroverSnapshot($oid: String!) {
  u: user(username: "alice") {
    r0: repository(name: "api") {
      id rid name visibility owner { canonicalName }
      HEAD { name target }
      references { cursor results { name target } }
      log { cursor results { id message trailers { name value } parents { id } } }
      p0: path(revspec: $oid, path: "Cargo.toml") { name mode id object { type ... on TextBlob { text size } ... on BinaryBlob { size } } }
      p1: path(revspec: $oid, path: "bin/run.sh") { name mode }
      p2: path(revspec: $oid, path: "docs/current") { name mode object { type ... on TextBlob { text } } }
      p3: path(revspec: $oid, path: "assets/logo.png") { name mode object { type ... on BinaryBlob { size base64 } ... on TextBlob { text } } }
      p4: path(revspec: $oid, path: "assets") { name mode object { type ... on Tree { entries { results { name mode } } } } }
      p5: path(revspec: $oid, path: "missing.txt") { name }
      p6: path(path: "Cargo.toml") { id }
      p7: path(revspec: $oid, path: "") { id }
      t0: revparse_single(revspec: $oid) { tree { entries { cursor results { name mode } } } }
      t1: path(revspec: $oid, path: "many") { object { ... on Tree { entries { cursor results { name } } } } }
    }
  }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sourcehut_path_reads_text_executable_symlink_binary_and_trees() {
    let emu = start().await;
    emu.create_repo(
        Forge::Sourcehut,
        "alice/api",
        RepoSeed::default().file("Cargo.toml", "[package]\nname = \"api\"\n"),
    )
    .unwrap();
    let git_dir = emu.git_dir(Forge::Sourcehut, "~alice/api").unwrap();
    let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], &[0xff; 64]].concat();
    let head = drover_emulator::gitstore::commit_files(
        &git_dir,
        "main",
        &[
            FileChange::WriteMode {
                path: "bin/run.sh".into(),
                content: b"#!/bin/sh\n".to_vec(),
                mode: 0o100755,
            },
            FileChange::WriteMode {
                path: "docs/current".into(),
                content: b"../CHANGELOG.md".to_vec(),
                mode: 0o120000,
            },
            FileChange::write("assets/logo.png", png.clone()),
            FileChange::write("assets/readme.txt", "art\n"),
        ]
        .into_iter()
        .chain((0..30).map(|i| FileChange::write(format!("many/f{i:02}"), "x")))
        .collect::<Vec<_>>(),
        "Add assets\n\nDrover-Fingerprint: 0123abcd\n",
        &Person::emulator(),
    )
    .unwrap();

    let data = gql(&emu, Site::SrhtGit, SNAPSHOT, json!({"oid": head})).await;
    let r = &data["u"]["r0"];
    assert_eq!(r["owner"]["canonicalName"], "~alice");
    assert_eq!(r["visibility"], "PUBLIC");
    assert_eq!(
        r["HEAD"],
        json!({"name": "refs/heads/main", "target": head})
    );
    assert_eq!(
        r["references"]["results"],
        json!([{"name": "HEAD", "target": "refs/heads/main"}, {"name": "refs/heads/main", "target": head}])
    );
    assert_eq!(r["references"]["cursor"], Value::Null);
    let log = r["log"]["results"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["id"], head);
    assert_eq!(
        log[0]["trailers"],
        json!([{"name": "Drover-Fingerprint", "value": "0123abcd"}])
    );
    assert_eq!(log[0]["parents"][0]["id"], log[1]["id"]);

    assert_eq!(r["p0"]["name"], "Cargo.toml");
    assert_eq!(r["p0"]["mode"], 33188); // 0o100644, as go-git reports it
    assert_eq!(r["p0"]["object"]["type"], "BLOB");
    assert_eq!(r["p0"]["object"]["text"], "[package]\nname = \"api\"\n");
    assert_eq!(r["p1"]["mode"], 33261); // 0o100755
    assert_eq!(r["p2"]["mode"], 40960); // 0o120000: a symlink
    assert_eq!(r["p2"]["object"]["text"], "../CHANGELOG.md");
    assert_eq!(r["p3"]["object"]["size"], png.len());
    assert!(r["p3"]["object"].get("text").is_none(), "binary, not text");
    use base64::Engine;
    assert_eq!(
        r["p3"]["object"]["base64"],
        base64::engine::general_purpose::STANDARD.encode(&png)
    );
    assert_eq!(r["p4"]["mode"], 16384); // 0o040000
    assert_eq!(
        r["p4"]["object"]["entries"]["results"],
        json!([{"name": "logo.png", "mode": 33188}, {"name": "readme.txt", "mode": 33188}])
    );
    assert_eq!(r["p5"], Value::Null);
    assert_eq!(r["p6"]["id"], r["p0"]["id"], "revspec defaults to HEAD");
    assert_eq!(
        r["p7"],
        Value::Null,
        "the root is read through revparse_single"
    );
    let root: Vec<&str> = r["t0"]["tree"]["entries"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(root, ["Cargo.toml", "assets", "bin", "docs", "many"]);
    // Tree entries come 25 a page.
    let many = &r["t1"]["object"]["entries"];
    assert_eq!(many["results"].as_array().unwrap().len(), 25);
    let cursor = many["cursor"].clone();
    let next = gql(
        &emu,
        Site::SrhtGit,
        r#"query($oid: String!, $c: Cursor) { user(username: "alice") { repository(name: "api") {
            path(revspec: $oid, path: "many") { object { ... on Tree { entries(cursor: $c) { cursor results { name } } } } } } } }"#,
        json!({"oid": head, "c": cursor}),
    )
    .await;
    let rest = &next["user"]["repository"]["path"]["object"]["entries"];
    assert_eq!(rest["results"][0]["name"], "f25");
    assert_eq!(rest["results"].as_array().unwrap().len(), 5);
    assert_eq!(rest["cursor"], Value::Null);

    // The blob's content URL answers the raw bytes to the same token.
    let content = gql(
        &emu,
        Site::SrhtGit,
        r#"{ user(username: "alice") { repository(name: "api") { path(path: "assets/logo.png") { object { ... on BinaryBlob { content } } } } } }"#,
        json!({}),
    )
    .await;
    let url = content["user"]["repository"]["path"]["object"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    let bytes = sourcehut_support::http()
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], &png[..]);

    // An unknown revspec is an error on that field, like upstream.
    let body = gql_as(
        &emu,
        Site::SrhtGit,
        TOKEN,
        r#"{ user(username: "alice") { repository(name: "api") { path(revspec: "nope", path: "Cargo.toml") { name } } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(body["errors"][0]["message"], "reference not found");
    assert_eq!(
        body["errors"][0]["path"],
        json!(["user", "repository", "path"])
    );
    assert_no_violations(&emu);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sourcehut_create_repository_then_push_with_the_git_cli() {
    let emu = start().await;
    let created = gql(
        &emu,
        Site::SrhtGit,
        r#"mutation { createRepository(name: "fresh", visibility: PUBLIC, description: "new") {
            id rid name description visibility HEAD { name } owner { canonicalName } } }"#,
        json!({}),
    )
    .await;
    let repo = &created["createRepository"];
    assert_eq!(repo["name"], "fresh");
    assert_eq!(repo["HEAD"], Value::Null, "no commits yet");
    assert_eq!(repo["owner"]["canonicalName"], "~alice");
    let id = repo["id"].as_i64().unwrap();
    let by_rid = gql(
        &emu,
        Site::SrhtGit,
        "query($rid: ID!) { repository(rid: $rid) { id name } }",
        json!({"rid": repo["rid"]}),
    )
    .await;
    assert_eq!(by_rid["repository"], json!({"id": id, "name": "fresh"}));

    // Push `main` with the git CLI: HEAD follows the first branch pushed.
    let work = tempfile::tempdir().unwrap();
    let url = authed_url(&emu, "~alice/fresh");
    let dir = work.path().to_path_buf();
    let head = tokio::task::spawn_blocking(move || {
        use sourcehut_support::git_ok;
        git_ok(&dir, &["init", "-q", "-b", "main", "."]);
        std::fs::write(dir.join("README.md"), "# fresh\n").unwrap();
        git_ok(&dir, &["add", "."]);
        git_ok(&dir, &["commit", "-q", "-m", "Initial"]);
        git_ok(&dir, &["push", "-q", &url, "main"]);
        git_ok(&dir, &["rev-parse", "HEAD"])
    })
    .await
    .unwrap();

    let data = gql(
        &emu,
        Site::SrhtGit,
        r#"{ user(username: "alice") { repository(name: "fresh") { HEAD { name target } path(path: "README.md") { object { ... on TextBlob { text } } } } } }"#,
        json!({}),
    )
    .await;
    let r = &data["user"]["repository"];
    assert_eq!(
        r["HEAD"],
        json!({"name": "refs/heads/main", "target": head})
    );
    assert_eq!(r["path"]["object"]["text"], "# fresh\n");

    // updateRepository: clear the description, unlist, set a README.
    let updated = gql(
        &emu,
        Site::SrhtGit,
        r#"mutation($id: Int!) { updateRepository(id: $id, input: {description: null, visibility: UNLISTED, readme: "<p>hi</p>"}) { description visibility readme } }"#,
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        updated["updateRepository"],
        json!({"description": null, "visibility": "UNLISTED", "readme": "<p>hi</p>"})
    );

    // Names are checked as git.sr.ht checks them.
    for (name, message) in [
        ("fresh", "A repository with this name already exists."),
        (
            "no spaces",
            "Invalid repository name 'no spaces' (must match ^[A-Za-z0-9._-]+$)",
        ),
        (
            ".git",
            "Invalid repository name '.git' (must not be .git or .hg)",
        ),
    ] {
        let body = gql_as(
            &emu,
            Site::SrhtGit,
            TOKEN,
            "mutation($n: String!) { createRepository(name: $n, visibility: PRIVATE) { id } }",
            json!({"n": name}),
        )
        .await;
        assert_eq!(body["errors"][0]["message"], message, "{name}");
    }
    // bob may not update alice's repository.
    let body = gql_as(
        &emu,
        Site::SrhtGit,
        sourcehut_support::BOB_TOKEN,
        r#"mutation($id: Int!) { updateRepository(id: $id, input: {description: "x"}) { id } }"#,
        json!({"id": id}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["message"],
        format!("No repository by ID {id} found for this user")
    );
    assert_no_violations(&emu);
}
