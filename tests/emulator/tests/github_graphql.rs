//! The emulated GitHub GraphQL API with drover's own documents (as in
//! docs/forge-protocol.md): discovery paged by cursors across 250
//! repositories, one batched snapshot of 25 repositories with aliases in a
//! single request (trees with symlink modes, blobs, the branch's head commit,
//! pull requests), GitHub's error shapes, and `rateLimit` agreeing with the
//! rate-limit headers.

mod github_support;

use drover_emulator::{CommitSeed, FileChange, Forge, Person, RepoSeed, Site};
use github_support::{assert_clean, fork_branch, start, take_violations, Api};
use serde_json::{json, Value};

const DISCOVER: &str = r#"query DroverDiscover($owner: String!, $after: String) {
  rateLimit { remaining resetAt cost }
  repositoryOwner(login: $owner) {
    repositories(first: 100, after: $after, ownerAffiliations: [OWNER],
                 orderBy: {field: NAME, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        name nameWithOwner url isArchived isFork isEmpty
        defaultBranchRef { name target { oid } }
      }
    }
  }
}"#;

#[tokio::test]
async fn discovery_pages_through_250_repositories_by_cursor() {
    let emu = start().await;
    for i in 0..250 {
        let seed = match i % 5 {
            0 => RepoSeed::default().file("README.md", "hi\n"),
            1 => RepoSeed::default().empty(),
            2 => RepoSeed::default().archived().file("a", "a"),
            3 => RepoSeed::default().fork().default_branch("trunk"),
            _ => RepoSeed::default().private(),
        };
        emu.create_repo(Forge::Github, &format!("acme/svc-{i:03}"), seed)
            .unwrap();
    }
    // Someone else's repository stays out.
    emu.create_repo(Forge::Github, "other/svc", RepoSeed::default())
        .unwrap();
    let api = Api::new(&emu);
    let mut after = Value::Null;
    let mut nodes = Vec::new();
    let mut pages = 0;
    loop {
        let r = api
            .graphql(DISCOVER, json!({ "owner": "acme", "after": after }))
            .await
            .expect(200);
        assert!(r.body.get("errors").is_none(), "{}", r.text);
        pages += 1;
        let data = &r.body["data"];
        assert_eq!(data["rateLimit"]["cost"], 1);
        assert_eq!(
            data["rateLimit"]["remaining"].to_string(),
            r.header("x-ratelimit-remaining").unwrap()
        );
        assert_eq!(r.header("x-ratelimit-resource"), Some("graphql"));
        let conn = &data["repositoryOwner"]["repositories"];
        nodes.extend(conn["nodes"].as_array().unwrap().iter().cloned());
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    assert_eq!(nodes.len(), 250);
    let names: Vec<&str> = nodes.iter().map(|n| n["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(nodes[0]["nameWithOwner"], "acme/svc-000");
    assert_eq!(
        nodes[0]["url"],
        format!("{}/acme/svc-000", emu.github_url())
    );
    let head = emu
        .resolve(Forge::Github, "acme/svc-000", "main")
        .unwrap()
        .unwrap();
    assert_eq!(
        nodes[0]["defaultBranchRef"],
        json!({ "name": "main", "target": { "oid": head } })
    );
    assert_eq!(nodes[1]["isEmpty"], true);
    assert_eq!(nodes[1]["defaultBranchRef"], Value::Null);
    assert_eq!(nodes[2]["isArchived"], true);
    assert_eq!(nodes[3]["isFork"], true);
    assert_eq!(nodes[3]["defaultBranchRef"]["name"], "trunk");
    assert_eq!(emu.request_count(Site::Github, "POST /graphql"), 3);

    // The other filters and the connection's counts.
    let r = api
        .graphql(
            r#"{ organization(login: "acme") {
                   all: repositories(first: 1) { totalCount }
                   live: repositories(first: 1, isArchived: false, isFork: false) { totalCount }
                   last: repositories(last: 2, orderBy: {field: NAME, direction: ASC}) {
                     pageInfo { hasNextPage hasPreviousPage } edges { cursor node { name } } } } }"#,
            json!({}),
        )
        .await
        .expect(200);
    let org = &r.body["data"]["organization"];
    assert_eq!(org["all"]["totalCount"], 250);
    assert_eq!(org["live"]["totalCount"], 150);
    assert_eq!(org["last"]["edges"][1]["node"]["name"], "svc-249");
    assert_eq!(org["last"]["pageInfo"]["hasPreviousPage"], true);
    assert_clean(&emu);
}

/// The snapshot document drover builds for `repos` (docs/forge-protocol.md).
fn snapshot_query(repos: &[(String, String)], branch: &str) -> String {
    let mut q = String::from("query DroverSnapshot {\n");
    for (i, (name, oid)) in repos.iter().enumerate() {
        q.push_str(&format!(
            "  r{i}: repository(owner: \"acme\", name: \"{name}\") {{\n\
             \x20   t0: object(expression: \"{oid}:\") {{ ... on Tree {{ oid entries {{ name mode type }} }} }}\n\
             \x20   t1: object(expression: \"{oid}:deploy/k8s\") {{ ... on Tree {{ oid entries {{ name mode type }} }} }}\n\
             \x20   p0: object(expression: \"{oid}:Cargo.toml\") {{ ... on Blob {{ oid text isBinary isTruncated }} }}\n\
             \x20   branch: ref(qualifiedName: \"refs/heads/{branch}\") {{\n\
             \x20     target {{ oid ... on Commit {{ message author {{ email }} committer {{ email }}\n\
             \x20                                  parents(first: 2) {{ nodes {{ oid }} }} }} }}\n\
             \x20   }}\n\
             \x20   proposals: pullRequests(headRefName: \"{branch}\", first: 5,\n\
             \x20                           orderBy: {{field: CREATED_AT, direction: DESC}}) {{\n\
             \x20     nodes {{ number url state headRefOid }}\n\
             \x20   }}\n\
             \x20 }}\n"
        ));
    }
    q.push('}');
    q
}

#[tokio::test]
async fn snapshot_reads_25_repositories_in_one_request() {
    let emu = start().await;
    let mut heads = Vec::new();
    for i in 0..25 {
        let name = format!("svc{i}");
        let full = format!("acme/{name}");
        let mut seed = RepoSeed::default().file("deploy/k8s/app.yaml", "kind: Deployment\n");
        if i % 3 != 2 {
            seed = seed.file("Cargo.toml", format!("[package]\nname = \"{name}\"\n"));
        }
        emu.create_repo(Forge::Github, &full, seed).unwrap();
        if i % 4 == 0 {
            // A symlinked directory and an executable beside the files.
            let mut world = emu.world().lock();
            let id = world.repo(Forge::Github, &full).unwrap().id;
            let changes = [
                FileChange::WriteMode {
                    path: "deploy/k8s/current".into(),
                    content: b"app.yaml".to_vec(),
                    mode: 0o120000,
                },
                FileChange::WriteMode {
                    path: "run.sh".into(),
                    content: b"#!/bin/sh\n".to_vec(),
                    mode: 0o100755,
                },
                FileChange::WriteMode {
                    path: "blob.bin".into(),
                    content: vec![0, 159, 146, 150],
                    mode: 0o100644,
                },
            ];
            world
                .commit_files(id, "main", &changes, "modes", &Person::emulator())
                .unwrap();
        }
        let head = emu.resolve(Forge::Github, &full, "main").unwrap().unwrap();
        heads.push((name, head));
    }
    // Drover's branch and an open pull request on a few.
    let api = Api::new(&emu);
    let mut branch_heads = Vec::new();
    for i in [1usize, 5] {
        let full = format!("acme/svc{i}");
        fork_branch(&emu, &full, "drover/sync", "main");
        let sha = emu
            .commit(
                Forge::Github,
                &full,
                CommitSeed::new("drover/sync", "drover: sync\n\nDrover-Fingerprint: ab12")
                    .author(Person::new("Drover", "drover@example.com"))
                    .write("Cargo.toml", "changed"),
            )
            .unwrap();
        api.post(
            &format!("/repos/{full}/pulls"),
            json!({ "title": "sync", "head": "drover/sync", "base": "main" }),
        )
        .await
        .expect(201);
        branch_heads.push(sha);
    }
    emu.reset_counters();
    let query = snapshot_query(&heads, "drover/sync");
    let r = api.graphql(&query, json!({})).await.expect(200);
    assert!(r.body.get("errors").is_none(), "{}", r.text);
    assert_eq!(emu.request_count(Site::Github, "POST /graphql"), 1);
    assert_eq!(emu.total_requests(), 1);
    let data = &r.body["data"];
    assert_eq!(data.as_object().unwrap().len(), 25);

    let r0 = &data["r0"];
    let git0 = emu.git_dir(Forge::Github, "acme/svc0").unwrap();
    let entry = |dir: &str, name: &str| {
        drover_emulator::gitstore::list_tree(&git0, &heads[0].1, dir, false)
            .unwrap()
            .unwrap()
            .into_iter()
            .find(|e| e.name == name)
            .unwrap()
            .oid
    };
    let cargo_oid = entry("", "Cargo.toml");
    let root: Vec<(String, i64, String)> = r0["t0"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().into(),
                e["mode"].as_i64().unwrap(),
                e["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        root,
        [
            ("Cargo.toml".into(), 33188, "blob".into()),
            ("blob.bin".into(), 33188, "blob".into()),
            ("deploy".into(), 16384, "tree".into()),
            ("run.sh".into(), 33261, "blob".into()),
        ]
    );
    assert_eq!(
        r0["t1"]["entries"],
        json!([{ "name": "app.yaml", "mode": 33188, "type": "blob" },
               { "name": "current", "mode": 40960, "type": "blob" }])
    );
    assert_eq!(
        r0["p0"],
        json!({ "oid": cargo_oid, "text": "[package]\nname = \"svc0\"\n", "isBinary": false, "isTruncated": false })
    );
    assert_eq!(r0["t1"]["oid"], entry("deploy", "k8s").as_str());
    assert_eq!(r0["branch"], Value::Null);
    assert_eq!(r0["proposals"]["nodes"], json!([]));
    // A file that does not exist is null, without an error.
    assert_eq!(data["r2"]["p0"], Value::Null);

    let r1 = &data["r1"];
    assert_eq!(r1["branch"]["target"]["oid"], branch_heads[0].as_str());
    assert_eq!(
        r1["branch"]["target"]["message"],
        "drover: sync\n\nDrover-Fingerprint: ab12"
    );
    assert_eq!(
        r1["branch"]["target"]["author"]["email"],
        "drover@example.com"
    );
    assert_eq!(
        r1["branch"]["target"]["parents"]["nodes"],
        json!([{ "oid": heads[1].1 }])
    );
    assert_eq!(
        r1["proposals"]["nodes"],
        json!([{ "number": 1, "url": format!("{}/acme/svc1/pull/1", emu.github_url()),
                 "state": "OPEN", "headRefOid": branch_heads[0] }])
    );
    assert_clean(&emu);

    // Binary blobs, the `HEAD` expression and `oid` lookups.
    let r = api
        .graphql(
            r#"{ repository(owner: "acme", name: "svc0") {
                   bin: object(expression: "HEAD:blob.bin") { ... on Blob { text isBinary byteSize oid } }
                   head: object(expression: "main") { __typename ... on Commit { tree { entries { path object { __typename } } } } }
                   missing: object(expression: "main:nope") { oid } } }"#,
            json!({}),
        )
        .await
        .expect(200);
    let repo = &r.body["data"]["repository"];
    assert_eq!(repo["bin"]["text"], Value::Null);
    assert_eq!(repo["bin"]["isBinary"], true);
    assert_eq!(repo["bin"]["byteSize"], 4);
    assert_eq!(repo["head"]["__typename"], "Commit");
    assert_eq!(repo["head"]["tree"]["entries"][2]["path"], "deploy");
    assert_eq!(
        repo["head"]["tree"]["entries"][2]["object"]["__typename"],
        "Tree"
    );
    assert_eq!(repo["missing"], Value::Null);
    assert_clean(&emu);
}

#[tokio::test]
async fn errors_take_githubs_shape() {
    let emu = start().await;
    emu.create_repo(Forge::Github, "acme/web", RepoSeed::default())
        .unwrap();
    let api = Api::new(&emu);
    let r = api
        .graphql(
            "query { ok: repository(owner: \"acme\", name: \"web\") { name }\n  gone: repository(owner: \"acme\", name: \"nope\") { name } }",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["data"]["ok"]["name"], "web");
    assert_eq!(r.body["data"]["gone"], Value::Null);
    let e = &r.body["errors"][0];
    assert_eq!(e["type"], "NOT_FOUND");
    assert_eq!(e["path"], json!(["gone"]));
    assert_eq!(
        e["message"],
        "Could not resolve to a Repository with the name 'acme/nope'."
    );
    assert_eq!(e["locations"][0]["line"], 2);
    let org = api
        .graphql("{ organization(login: \"nobody\") { login } }", json!({}))
        .await
        .expect(200);
    assert_eq!(org.body["errors"][0]["type"], "NOT_FOUND");
    let owner = api
        .graphql(
            "{ repositoryOwner(login: \"nobody\") { login } }",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(owner.body, json!({ "data": { "repositoryOwner": null } }));
    assert_clean(&emu);

    // Pagination mistakes are query errors: no data, and a violation.
    let unbounded = api
        .graphql(
            "{ organization(login: \"acme\") { repositories { totalCount } } }",
            json!({}),
        )
        .await
        .expect(200);
    assert!(unbounded.body.get("data").is_none(), "{}", unbounded.text);
    assert_eq!(
        unbounded.body["errors"][0]["type"],
        "MISSING_PAGINATION_BOUNDARIES"
    );
    let excessive = api
        .graphql(
            "{ organization(login: \"acme\") { repositories(first: 101) { totalCount } } }",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(excessive.body["errors"][0]["type"], "EXCESSIVE_PAGINATION");
    assert_eq!(
        excessive.body["errors"][0]["message"],
        "Requesting 101 records on the `repositories` connection exceeds the `first` limit of 100 records."
    );
    assert_eq!(take_violations(&emu).len(), 2);

    // Authentication.
    let anon = Api::anonymous(&emu)
        .graphql("{ viewer { login } }", json!({}))
        .await;
    assert_eq!(anon.status, 401);
    assert_eq!(
        anon.body["message"],
        "This endpoint requires you to be authenticated."
    );
    let ghe = Api::enterprise(&emu)
        .graphql("{ viewer { login __typename } }", json!({}))
        .await
        .expect(200);
    assert_eq!(
        ghe.body["data"]["viewer"],
        json!({ "login": "octo", "__typename": "User" })
    );
    assert_clean(&emu);
}

#[tokio::test]
async fn rate_limit_and_rest_agree() {
    let emu = start().await;
    let api = Api::new(&emu);
    let first = api
        .graphql(
            "{ rateLimit { limit used remaining cost nodeCount resetAt } }",
            json!({}),
        )
        .await
        .expect(200);
    let rl = &first.body["data"]["rateLimit"];
    assert_eq!(rl["used"], 1);
    assert_eq!(rl["cost"], 1);
    assert_eq!(
        rl["limit"].to_string(),
        first.header("x-ratelimit-limit").unwrap()
    );
    assert_eq!(
        rl["remaining"].to_string(),
        first.header("x-ratelimit-remaining").unwrap()
    );
    let rest = api.get("/rate_limit").await.expect(200);
    assert_eq!(rest.body["resources"]["graphql"]["used"], 1);
    assert_eq!(
        rest.body["resources"]["graphql"]["remaining"],
        rl["remaining"]
    );
    assert_eq!(rest.body["resources"]["core"]["used"], 0);

    // 1 + 100 + 100 connection requests: 2 points, as GitHub scores them.
    let costly = api
        .graphql(
            r#"{ rateLimit { cost nodeCount used remaining }
                 organization(login: "acme") { repositories(first: 100) { nodes {
                   a: pullRequests(first: 100) { totalCount }
                   b: pullRequests(first: 100, states: [OPEN]) { totalCount } } } } }"#,
            json!({}),
        )
        .await
        .expect(200);
    let rl = &costly.body["data"]["rateLimit"];
    assert_eq!(rl["cost"], 2);
    assert_eq!(rl["nodeCount"], 20_100);
    assert_eq!(rl["used"], 3);
    assert_eq!(costly.header("x-ratelimit-used"), Some("3"));
    assert_eq!(
        rl["remaining"].to_string(),
        costly.header("x-ratelimit-remaining").unwrap()
    );
    assert_clean(&emu);
}

#[tokio::test]
async fn latin1_text_is_not_binary_and_its_text_has_replacement_characters() {
    let emu = start().await;
    emu.create_repo(
        Forge::Github,
        "acme/latin",
        RepoSeed::default().file(".dockerignore", b"# caf\xe9\ntarget/\n".to_vec()),
    )
    .unwrap();
    let r = Api::new(&emu)
        .graphql(
            r#"{ repository(owner: "acme", name: "latin") {
                   f: object(expression: "HEAD:.dockerignore") { ... on Blob { text isBinary byteSize } } } }"#,
            json!({}),
        )
        .await
        .expect(200);
    let f = &r.body["data"]["repository"]["f"];
    assert_eq!(f["isBinary"], false);
    assert_eq!(f["byteSize"], 15);
    assert_eq!(f["text"], "# caf\u{fffd}\ntarget/\n");
    assert_clean(&emu);
}

#[tokio::test]
async fn large_blobs_are_truncated_and_binary_blobs_have_no_text() {
    let emu = start().await;
    let big = "abcdefgh\n".repeat(60 * 1024);
    emu.create_repo(
        Forge::Github,
        "acme/big",
        RepoSeed::default()
            .file("big.txt", big.clone())
            .file("nul.dat", vec![b'a', 0, b'b']),
    )
    .unwrap();
    let r = Api::new(&emu)
        .graphql(
            r#"{ repository(owner: "acme", name: "big") {
                   big: object(expression: "HEAD:big.txt") { ... on Blob { text isTruncated byteSize } }
                   nul: object(expression: "HEAD:nul.dat") { ... on Blob { text isBinary } } } }"#,
            json!({}),
        )
        .await
        .expect(200);
    let repo = &r.body["data"]["repository"];
    assert_eq!(repo["big"]["isTruncated"], true);
    assert_eq!(repo["big"]["byteSize"], big.len());
    assert_eq!(repo["big"]["text"].as_str().unwrap().len(), 512 * 1024);
    assert_eq!(repo["nul"], json!({ "text": null, "isBinary": true }));
    assert_clean(&emu);
}
