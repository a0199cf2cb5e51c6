//! The emulated GitHub REST API over HTTP: organisation and user repository
//! listings paginated through `Link` headers (250 repositories), the
//! repository lifecycle (create, update, archive, rename, delete), users and
//! organisations, branches, commits, `/rate_limit`, and GitHub's error
//! bodies. Every test ends with no conformance violation recorded.

mod github_support;

use drover_emulator::{CommitSeed, Forge, RepoSeed};
use github_support::{assert_clean, fork_branch, start, take_violations, Api, Reply, TOKEN};
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
async fn org_repositories_paginate_through_link_headers() {
    let emu = start().await;
    for i in 0..250 {
        let seed = if i % 50 == 0 {
            RepoSeed::default().file("README.md", format!("# r{i}\n"))
        } else {
            RepoSeed::default().empty()
        };
        emu.create_repo(Forge::Github, &format!("acme/r{i:03}"), seed)
            .unwrap();
    }
    let org_id = emu.world().lock().owner(Forge::Github, "acme").unwrap().id;
    let api = Api::new(&emu);
    let first = api
        .get("/orgs/acme/repos?per_page=100&sort=full_name")
        .await
        .expect(200);
    let base = emu.github_url();
    let page = |n: u32| {
        format!("{base}/organizations/{org_id}/repos?per_page=100&sort=full_name&page={n}")
    };
    assert_eq!(
        first.header("link").unwrap(),
        format!("<{}>; rel=\"next\", <{}>; rel=\"last\"", page(2), page(3))
    );
    let mut seen = names(&first);
    assert_eq!(seen.len(), 100);
    let second = api.get(&first.link("next").unwrap()).await.expect(200);
    assert_eq!(
        second.header("link").unwrap(),
        format!(
            "<{}>; rel=\"prev\", <{}>; rel=\"next\", <{}>; rel=\"last\", <{}>; rel=\"first\"",
            page(1),
            page(3),
            page(3),
            page(1)
        )
    );
    seen.extend(names(&second));
    let third = api.get(&second.link("next").unwrap()).await.expect(200);
    assert_eq!(
        third.header("link").unwrap(),
        format!("<{}>; rel=\"prev\", <{}>; rel=\"first\"", page(2), page(1))
    );
    seen.extend(names(&third));
    let expected: Vec<String> = (0..250).map(|i| format!("r{i:03}")).collect();
    assert_eq!(seen, expected, "full_name order, every repository once");

    // Default order: newest first; 30 per page.
    let default = api.get("/orgs/acme/repos").await.expect(200);
    assert_eq!(default.body.as_array().unwrap().len(), 30);
    assert_eq!(default.body[0]["name"], "r249");
    assert_eq!(default.links().len(), 2);
    assert!(default.link("last").unwrap().ends_with("/repos?page=9"));

    // GitHub Enterprise style requests get `/api/v3` links.
    let ghe = Api::enterprise(&emu)
        .get("/orgs/acme/repos?per_page=100")
        .await
        .expect(200);
    let next = ghe.link("next").unwrap();
    assert!(
        next.starts_with(&format!("{base}/api/v3/organizations/{org_id}/repos")),
        "{next}"
    );
    assert!(ghe.body[0]["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{base}/api/v3/repos/acme/")));
    assert!(ghe.body[0]["html_url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{base}/acme/")));

    // `/user/repos`: the user's organisations' repositories, by full name.
    let mut user_seen = Vec::new();
    let mut next = Some("/user/repos?per_page=100".to_string());
    while let Some(url) = next {
        let r = api.get(&url).await.expect(200);
        user_seen.extend(names(&r));
        next = r.link("next");
    }
    assert_eq!(user_seen, expected);
    assert_clean(&emu);
}

#[tokio::test]
async fn repository_lifecycle_create_update_archive_rename_delete() {
    let emu = start().await;
    let api = Api::new(&emu);
    let created = api
        .post(
            "/orgs/acme/repos",
            json!({ "name": "svc", "description": "a service", "auto_init": true }),
        )
        .await
        .expect(201);
    let url = format!("{}/repos/acme/svc", emu.github_url());
    assert_eq!(created.header("location"), Some(url.as_str()));
    assert_eq!(created.body["full_name"], "acme/svc");
    assert_eq!(created.body["owner"]["type"], "Organization");
    assert_eq!(created.body["organization"]["login"], "acme");
    assert_eq!(created.body["default_branch"], "main");
    assert_eq!(created.body["private"], false);
    assert_eq!(
        emu.file(Forge::Github, "acme/svc", "main", "README.md")
            .unwrap()
            .unwrap(),
        b"# svc\na service\n"
    );
    let labels = api.get("/repos/acme/svc/labels").await.expect(200);
    assert_eq!(labels.body.as_array().unwrap().len(), 9, "default labels");
    assert_eq!(labels.body[0]["default"], true);

    let dup = api
        .post("/orgs/acme/repos", json!({ "name": "svc" }))
        .await
        .expect(422);
    assert_eq!(dup.body["message"], "Repository creation failed.");
    assert_eq!(dup.body["errors"][0]["code"], "custom");
    assert_eq!(dup.body["errors"][0]["field"], "name");
    assert!(dup.body["documentation_url"]
        .as_str()
        .unwrap()
        .ends_with("#create-an-organization-repository"));

    api.post("/orgs/nobody/repos", json!({ "name": "x" }))
        .await
        .expect(404);

    let updated = api
        .patch(
            "/repos/acme/svc",
            json!({ "description": "the service", "private": true }),
        )
        .await
        .expect(200);
    assert_eq!(updated.body["description"], "the service");
    assert_eq!(updated.body["visibility"], "private");
    Api::anonymous(&emu)
        .get("/repos/acme/svc")
        .await
        .expect(404);

    let archived = api
        .patch("/repos/acme/svc", json!({ "archived": true }))
        .await
        .expect(200);
    assert_eq!(archived.body["archived"], true);
    assert!(emu.repo(Forge::Github, "acme/svc").unwrap().archived);
    let refused = api
        .post(
            "/repos/acme/svc/git/blobs",
            json!({ "content": "x", "encoding": "utf-8" }),
        )
        .await
        .expect(403);
    assert_eq!(
        refused.body["message"],
        "Repository was archived so is read-only."
    );
    api.patch("/repos/acme/svc", json!({ "description": "nope" }))
        .await
        .expect(403);
    api.patch("/repos/acme/svc", json!({ "archived": false }))
        .await
        .expect(200);

    let renamed = api
        .patch("/repos/acme/svc", json!({ "name": "service" }))
        .await
        .expect(200);
    assert_eq!(renamed.body["full_name"], "acme/service");
    api.get("/repos/acme/service").await.expect(200);

    let mine = api
        .post(
            "/user/repos",
            json!({ "name": "dotfiles", "private": true }),
        )
        .await
        .expect(201);
    assert_eq!(mine.body["owner"]["login"], "octo");
    assert_eq!(mine.body["owner"]["type"], "User");
    assert_eq!(mine.body["private"], true);
    assert!(mine.body.get("organization").is_none());
    let listed = api.get("/user/repos?affiliation=owner").await.expect(200);
    assert_eq!(names(&listed), ["dotfiles"]);

    api.delete("/repos/octo/dotfiles").await.expect(204);
    api.get("/repos/octo/dotfiles").await.expect(404);
    assert!(emu.repo(Forge::Github, "octo/dotfiles").is_none());
    assert_clean(&emu);
}

#[tokio::test]
async fn users_organisations_and_enterprise_urls() {
    let emu = start().await;
    emu.create_repo(Forge::Github, "acme/web", RepoSeed::default())
        .unwrap();
    let api = Api::new(&emu);
    let me = api.get("/user").await.expect(200);
    assert_eq!(me.body["login"], "octo");
    assert_eq!(me.body["type"], "User");
    assert_eq!(me.body["two_factor_authentication"], false);
    Api::anonymous(&emu).get("/user").await.expect(401);

    let org = api.get("/orgs/acme").await.expect(200);
    assert_eq!(org.body["login"], "acme");
    assert_eq!(org.body["public_repos"], 1);
    api.get("/orgs/octo").await.expect(404);

    let repo = Api::enterprise(&emu)
        .get("/repos/acme/web")
        .await
        .expect(200);
    let base = emu.github_url();
    assert_eq!(repo.body["url"], format!("{base}/api/v3/repos/acme/web"));
    assert_eq!(repo.body["html_url"], format!("{base}/acme/web"));
    assert_eq!(repo.body["clone_url"], format!("{base}/acme/web.git"));
    assert_eq!(
        repo.body["owner"]["url"],
        format!("{base}/api/v3/users/acme")
    );
    assert_clean(&emu);
}

#[tokio::test]
async fn branches_and_commits() {
    let emu = start().await;
    emu.create_repo(
        Forge::Github,
        "acme/api",
        RepoSeed::default().file("a.txt", "one\ntwo\n"),
    )
    .unwrap();
    fork_branch(&emu, "acme/api", "drover/sync", "main");
    let head = emu
        .commit(
            Forge::Github,
            "acme/api",
            CommitSeed::new("drover/sync", "Change a, add b")
                .write("a.txt", "one\n2\nthree\n")
                .write("b.txt", "b\n"),
        )
        .unwrap();
    emu.create_repo(Forge::Github, "acme/void", RepoSeed::default().empty())
        .unwrap();
    let api = Api::new(&emu);

    let branches = api.get("/repos/acme/api/branches").await.expect(200);
    assert_eq!(names(&branches), ["drover/sync", "main"]);
    assert_eq!(branches.body[0]["commit"]["sha"], head.as_str());
    assert_eq!(branches.body[0]["protected"], false);
    let one = api
        .get("/repos/acme/api/branches/drover%2Fsync")
        .await
        .expect(200);
    assert_eq!(one.body["name"], "drover/sync");
    assert_eq!(one.body["commit"]["sha"], head.as_str());
    assert_eq!(one.body["commit"]["commit"]["message"], "Change a, add b");
    let missing = api.get("/repos/acme/api/branches/nope").await.expect(404);
    assert_eq!(missing.body["message"], "Branch not found");
    let paged = api
        .get("/repos/acme/api/branches?per_page=1")
        .await
        .expect(200);
    let repo_id = emu.repo(Forge::Github, "acme/api").unwrap().id;
    assert_eq!(
        paged.link("next").unwrap(),
        format!(
            "{}/repositories/{repo_id}/branches?per_page=1&page=2",
            emu.github_url()
        )
    );

    let commit = api
        .get("/repos/acme/api/commits/drover%2Fsync")
        .await
        .expect(200);
    assert_eq!(commit.body["sha"], head.as_str());
    assert_eq!(
        commit.body["stats"],
        json!({ "total": 4, "additions": 3, "deletions": 1 })
    );
    let files = commit.body["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["filename"], "a.txt");
    assert_eq!(files[0]["status"], "modified");
    assert_eq!(files[1]["status"], "added");
    assert!(files[0]["patch"].as_str().unwrap().starts_with("@@ "));
    let by_sha = api
        .get(&format!("/repos/acme/api/commits/{}", &head[..12]))
        .await
        .expect(200);
    assert_eq!(by_sha.body["sha"], head.as_str());
    let history = api
        .get("/repos/acme/api/commits?sha=drover/sync&per_page=1")
        .await
        .expect(200);
    assert_eq!(history.body[0]["sha"], head.as_str());
    assert!(
        history.body[0].get("files").is_none(),
        "lists carry no files"
    );
    assert_eq!(
        history.link("next").unwrap(),
        format!(
            "{}/repositories/{repo_id}/commits?sha=drover/sync&per_page=1&page=2",
            emu.github_url()
        )
    );
    let touching = api
        .get("/repos/acme/api/commits?sha=drover/sync&path=b.txt")
        .await
        .expect(200);
    assert_eq!(touching.body.as_array().unwrap().len(), 1);
    let on_main = api.get("/repos/acme/api/commits").await.expect(200);
    assert_eq!(on_main.body.as_array().unwrap().len(), 1);
    assert_eq!(on_main.body[0]["commit"]["message"], "Initial commit");
    let bad = api.get("/repos/acme/api/commits/nope").await.expect(422);
    assert_eq!(bad.body["message"], "No commit found for SHA: nope");
    let empty = api.get("/repos/acme/void/commits/main").await.expect(409);
    assert_eq!(empty.body["message"], "Git Repository is empty.");
    assert_eq!(
        api.get("/repos/acme/void/branches").await.expect(200).body,
        json!([])
    );
    assert_clean(&emu);
}

#[tokio::test]
async fn rate_limit_reports_the_budget_the_headers_show() {
    let emu = start().await;
    emu.create_repo(Forge::Github, "acme/web", RepoSeed::default())
        .unwrap();
    let api = Api::new(&emu);
    let r = api.get("/repos/acme/web").await.expect(200);
    api.graphql("{ viewer { login } }", json!({}))
        .await
        .expect(200);
    let rl = api.get("/rate_limit").await.expect(200);
    let core = &rl.body["resources"]["core"];
    assert_eq!(core["used"], 1);
    assert_eq!(
        core["remaining"].to_string(),
        r.header("x-ratelimit-remaining").unwrap()
    );
    assert_eq!(
        core["reset"].to_string(),
        r.header("x-ratelimit-reset").unwrap()
    );
    assert_eq!(rl.body["rate"], *core);
    assert_eq!(rl.body["resources"]["graphql"]["used"], 1);
    assert_eq!(rl.body["resources"]["search"]["limit"], 30);
    // `/rate_limit` itself is free.
    let again = api.get("/rate_limit").await.expect(200);
    assert_eq!(again.body["resources"]["core"]["used"], 1);
    assert_clean(&emu);
}

#[tokio::test]
async fn errors_take_githubs_shape() {
    let emu = start().await;
    emu.create_repo(Forge::Github, "acme/web", RepoSeed::default())
        .unwrap();
    let api = Api::new(&emu);
    let missing = api.get("/repos/acme/nope").await.expect(404);
    assert_eq!(missing.body["message"], "Not Found");
    assert_eq!(
        missing.body["documentation_url"],
        "https://docs.github.com/rest/repos/repos#get-a-repository"
    );
    assert_eq!(missing.body["status"], "404");
    let anon = Api::anonymous(&emu)
        .post("/repos/acme/web/issues/1/comments", json!({ "body": "x" }))
        .await;
    assert_eq!(anon.status, 404, "no such issue, even before auth");
    let anon = Api::anonymous(&emu)
        .post("/repos/acme/web/labels", json!({ "name": "x" }))
        .await
        .expect(401);
    assert_eq!(anon.body["message"], "Requires authentication");
    let client = github_support::client();
    let garbage = client
        .post(format!("{}/repos/acme/web/git/blobs", emu.github_url()))
        .bearer_auth(TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    let body: Value = garbage.json().await.unwrap();
    assert_eq!(body["message"], "Problems parsing JSON");
    let v = take_violations(&emu);
    assert!(v.iter().any(|v| v.contains("not JSON")), "{v:?}");
    assert_clean(&emu);
}
