//! GitLab GraphQL at `/api/graphql`: the discovery document of
//! `docs/forge-protocol.md`, read from the file so the two cannot drift,
//! validates against the shared 13.8-era schema and pages 150 projects of
//! nested subgroups in two requests with their heads; project, projects by
//! global id, groups, trees with entry modes, the current user, privacy
//! and token errors.

mod gitlab_support;

use drover_emulator::{Emulator, FileChange, Forge, Person, RepoSeed, Site};
use gitlab_support::{start, TOKEN};
use serde_json::{json, Value};

/// The GitLab discovery document of the protocol.
fn discovery_document() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/forge-protocol.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let gitlab = &doc[doc.find("## GitLab").expect("a GitLab section")..];
    let start = gitlab.find("```graphql\n").expect("a GraphQL block") + "```graphql\n".len();
    let end = start + gitlab[start..].find("```").unwrap();
    gitlab[start..end].to_string()
}

async fn graphql(
    emu: &Emulator,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut req = client
        .post(format!("{}/api/graphql", emu.gitlab_url()))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn gitlab_protocol_discovery_pages_nested_groups_with_heads() {
    let emu = start().await;
    let mut expected = std::collections::BTreeMap::new();
    for (group, n) in [("acme", 100), ("acme/sub", 49)] {
        for i in 0..n {
            let path = format!("{group}/p{i:03}");
            let mut seed = RepoSeed::default().file("README.md", format!("# {path}\n"));
            if path == "acme/p005" {
                seed = seed.archived();
            }
            let id = emu.create_repo(Forge::Gitlab, &path, seed).unwrap();
            let head = emu.resolve(Forge::Gitlab, &path, "main").unwrap().unwrap();
            expected.insert(path, (id, Some(head)));
        }
    }
    let empty = emu
        .create_repo(
            Forge::Gitlab,
            "acme/sub/deep/empty",
            RepoSeed::default().empty(),
        )
        .unwrap();
    expected.insert("acme/sub/deep/empty".into(), (empty, None));
    emu.create_repo(Forge::Gitlab, "other/p000", RepoSeed::default())
        .unwrap();

    let query = discovery_document();
    let mut after = Value::Null;
    let mut seen = 0;
    for page in 1..=2 {
        let (status, body) = graphql(
            &emu,
            Some(TOKEN),
            &query,
            json!({ "group": "acme", "after": after }),
        )
        .await;
        assert_eq!(status, 200);
        assert!(body.get("errors").is_none(), "{body}");
        let projects = &body["data"]["group"]["projects"];
        let nodes = projects["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), if page == 1 { 100 } else { 50 });
        assert_eq!(projects["pageInfo"]["hasNextPage"], page == 1);
        for node in nodes {
            let path = node["fullPath"].as_str().unwrap();
            let (id, head) = expected
                .remove(path)
                .unwrap_or_else(|| panic!("unexpected or repeated {path}"));
            assert_eq!(node["id"], format!("gid://gitlab/Project/{id}"));
            assert_eq!(node["path"], path.rsplit('/').next().unwrap());
            assert_eq!(node["webUrl"], format!("{}/{path}", emu.gitlab_url()));
            assert_eq!(node["archived"], path == "acme/p005");
            let repo = &node["repository"];
            match head {
                Some(sha) => {
                    assert_eq!(repo["rootRef"], "main");
                    assert_eq!(repo["empty"], false);
                    assert_eq!(repo["tree"]["lastCommit"]["sha"], sha);
                }
                None => assert_eq!(
                    repo,
                    &json!({ "rootRef": null, "empty": true, "tree": null })
                ),
            }
            seen += 1;
        }
        after = projects["pageInfo"]["endCursor"].clone();
        assert!(after.is_string());
    }
    assert_eq!(seen, 150);
    assert!(expected.is_empty(), "{expected:?}");
    assert_eq!(emu.request_count(Site::Gitlab, "POST /api/graphql"), 2);
    let (_, body) = graphql(&emu, Some(TOKEN), &query, json!({ "group": "nope" })).await;
    assert_eq!(body, json!({ "data": { "group": null } }));
    emu.assert_conformant();
}

#[tokio::test]
async fn gitlab_projects_trees_groups_and_the_current_user() {
    let emu = start().await;
    let id = emu
        .create_repo(
            Forge::Gitlab,
            "acme/sub/tools",
            RepoSeed::default()
                .file("README.md", "hi\n")
                .file("docs/guide.md", "g\n"),
        )
        .unwrap();
    let changes = [FileChange::WriteMode {
        path: "docs/link".into(),
        content: b"guide.md".to_vec(),
        mode: 0o120000,
    }];
    let head = emu
        .world()
        .lock()
        .commit_files(
            id,
            "main",
            &changes,
            "docs: link\n\nWhy.",
            &Person::emulator(),
        )
        .unwrap();
    let other = emu
        .create_repo(Forge::Gitlab, "acme/web", RepoSeed::default().private())
        .unwrap();

    let query = r#"
      query($path: ID!, $ids: [ID!]) {
        currentUser { username webUrl }
        project(fullPath: $path) {
          id name nameWithNamespace visibility forksCount
          group { fullPath fullName parent { fullPath } }
          namespace { fullPath }
          repository {
            exists
            docs: tree(ref: "main", path: "docs") {
              lastCommit { sha shortId title description authorName webUrl }
              blobs { nodes { name path type mode } }
              trees { nodes { name } }
            }
            root: tree { trees { nodes { name path type } } }
            missing: tree(path: "nope") { lastCommit { sha } }
          }
        }
        projects(ids: $ids, first: 1) {
          edges { cursor node { fullPath } }
          pageInfo { hasNextPage hasPreviousPage }
        }
        __typename
      }"#;
    let ids = json!([
        format!("gid://gitlab/Project/{id}"),
        format!("gid://gitlab/Project/{other}")
    ]);
    let (status, body) = graphql(
        &emu,
        Some(TOKEN),
        query,
        json!({ "path": "acme/sub/tools", "ids": ids }),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body}");
    let data = &body["data"];
    assert_eq!(data["currentUser"]["username"], "gitlabber");
    let p = &data["project"];
    assert_eq!(p["id"], format!("gid://gitlab/Project/{id}"));
    assert_eq!(p["nameWithNamespace"], "acme / sub / tools");
    assert_eq!(
        p["group"],
        json!({ "fullPath": "acme/sub", "fullName": "acme / sub", "parent": { "fullPath": "acme" } })
    );
    assert_eq!(p["namespace"]["fullPath"], "acme/sub");
    let docs = &p["repository"]["docs"];
    assert_eq!(docs["lastCommit"]["sha"], head);
    assert_eq!(docs["lastCommit"]["shortId"], &head[..11]);
    assert_eq!(docs["lastCommit"]["title"], "docs: link");
    assert_eq!(docs["lastCommit"]["description"], "Why.");
    assert_eq!(
        docs["blobs"]["nodes"],
        json!([
            { "name": "guide.md", "path": "docs/guide.md", "type": "blob", "mode": "100644" },
            { "name": "link", "path": "docs/link", "type": "blob", "mode": "120000" }
        ])
    );
    assert_eq!(docs["trees"]["nodes"], json!([]));
    assert_eq!(
        p["repository"]["root"]["trees"]["nodes"],
        json!([{ "name": "docs", "path": "docs", "type": "tree" }])
    );
    assert_eq!(p["repository"]["missing"], Value::Null);
    let projects = &data["projects"];
    assert_eq!(projects["edges"].as_array().unwrap().len(), 1);
    assert_eq!(projects["edges"][0]["node"]["fullPath"], "acme/sub/tools");
    assert_eq!(
        projects["pageInfo"],
        json!({ "hasNextPage": true, "hasPreviousPage": false })
    );

    // Anonymous callers see public projects only; a bad token is refused.
    let (status, body) = graphql(
        &emu,
        None,
        "{ currentUser { username } project(fullPath: \"acme/web\") { id } }",
        json!({}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({ "data": { "currentUser": null, "project": null } })
        )
    );
    let (status, body) = graphql(
        &emu,
        Some("glpat-wrong"),
        "{ currentUser { username } }",
        json!({}),
    )
    .await;
    assert_eq!(
        (status, body),
        (401, json!({ "errors": [{ "message": "Invalid token" }] }))
    );
    emu.assert_conformant();
}

/// `n` aliases of one project's tree tip: 15 points each on GitLab
/// (project 1, repository 1, tree 2, lastCommit 10, sha 1).
fn tips(n: usize) -> String {
    let fields: String = (0..n)
        .map(|i| {
            format!("p{i}: project(fullPath: \"acme/lim\") {{ repository {{ tree {{ lastCommit {{ sha }} }} }} }}\n")
        })
        .collect();
    format!("query Tips {{\n{fields}}}")
}

#[tokio::test]
async fn gitlab_refuses_queries_over_its_complexity_and_depth_limits() {
    let emu = start().await;
    emu.create_repo(
        Forge::Gitlab,
        "acme/lim",
        RepoSeed::default().file("README.md", "x\n"),
    )
    .unwrap();
    let head = emu
        .resolve(Forge::Gitlab, "acme/lim", "main")
        .unwrap()
        .unwrap();
    // 16 × 15 = 240: answered.
    let (status, body) = graphql(&emu, Some(TOKEN), &tips(16), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["p15"]["repository"]["tree"]["lastCommit"]["sha"],
        head
    );
    // 17 × 15 = 255: refused before it runs, as GitLab words it.
    let (status, body) = graphql(&emu, Some(TOKEN), &tips(17), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "errors": [{ "message": "Query has complexity of 255, which exceeds max complexity of 250" }] })
    );
    // Anonymous requests get 200: 14 × 15 = 210 is refused. (The project
    // is private, so without a token the data would be null anyway.)
    let (_, body) = graphql(&emu, None, &tips(14), json!({})).await;
    assert_eq!(
        body["errors"][0]["message"],
        "Query has complexity of 210, which exceeds max complexity of 200"
    );
    assert!(body.get("data").is_none(), "{body}");
    // Depth: 21 nested fields, over the 20 a signed-in request may have.
    let deep = format!(
        "{{ group(fullPath: \"acme\") {{ {} id {} }} }}",
        "parent { ".repeat(19),
        "} ".repeat(19)
    );
    let (_, body) = graphql(&emu, Some(TOKEN), &deep, json!({})).await;
    assert_eq!(
        body["errors"][0]["message"],
        "Query has depth of 21, which exceeds max depth of 20"
    );
    // Nothing refused was recorded as drover's fault: the emulator answers
    // as GitLab does, it is not a conformance violation.
    assert!(emu.violations().is_empty());
}

#[tokio::test]
async fn gitlab_complexity_limit_is_configurable() {
    let emu = gitlab_support::start_with(drover_emulator::EmulatorConfig {
        gitlab_graphql: drover_emulator::GitlabGraphqlLimits {
            authenticated_complexity: 300,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    emu.create_repo(
        Forge::Gitlab,
        "acme/lim",
        RepoSeed::default().file("README.md", "x\n"),
    )
    .unwrap();
    let (_, body) = graphql(&emu, Some(TOKEN), &tips(17), json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let (_, body) = graphql(&emu, Some(TOKEN), &tips(21), json!({})).await;
    assert_eq!(
        body["errors"][0]["message"],
        "Query has complexity of 315, which exceeds max complexity of 300"
    );
}
