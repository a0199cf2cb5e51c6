//! GitLab projects over REST: by numeric id and by URL-encoded path, token
//! handling, private visibility, create (in a group and in the user's
//! namespace), update, archive (read-only) and unarchive, forks; and the
//! refusals GitLab answers with its error shapes, which the conformance
//! check flags when the official description shows the request is wrong.

mod gitlab_support;

use drover_emulator::gitlab::state::set_forked_from;
use drover_emulator::{EmulatorConfig, Forge, RepoSeed};
use gitlab_support::{start, start_with, Api, TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn gitlab_projects_by_id_and_encoded_path_create_update_archive() {
    let emu = start().await;
    let id = emu
        .create_repo(
            Forge::Gitlab,
            "acme/backend/api",
            RepoSeed::default()
                .file("README.md", "# api\n")
                .description("The API"),
        )
        .unwrap();
    let api = Api::new(&emu);
    let (status, _, by_path) = api.get("/api/v4/projects/acme%2Fbackend%2Fapi").await;
    assert_eq!(status, 200);
    let (_, _, by_id) = api.get(&format!("/api/v4/projects/{id}")).await;
    assert_eq!(by_path, by_id);
    let p = by_id;
    assert_eq!(p["id"], id);
    assert_eq!(p["path"], "api");
    assert_eq!(p["path_with_namespace"], "acme/backend/api");
    assert_eq!(p["name_with_namespace"], "acme / backend / api");
    assert_eq!(p["namespace"]["full_path"], "acme/backend");
    assert_eq!(p["namespace"]["kind"], "group");
    assert_eq!(p["default_branch"], "main");
    assert_eq!(p["empty_repo"], false);
    assert_eq!(p["archived"], false);
    assert_eq!(p["description"], "The API");
    assert_eq!(
        p["web_url"],
        format!("{}/acme/backend/api", emu.gitlab_url())
    );
    assert_eq!(
        p["http_url_to_repo"],
        format!("{}/acme/backend/api.git", emu.gitlab_url())
    );
    assert_eq!(
        p["readme_url"],
        format!(
            "{}/acme/backend/api/-/blob/main/README.md",
            emu.gitlab_url()
        )
    );
    assert_eq!(p["permissions"]["project_access"]["access_level"], 40);
    assert!(
        p.get("forked_from_project").is_none(),
        "only forks carry forked_from_project"
    );

    // Unknown projects and tokens.
    let (status, _, body) = api.get("/api/v4/projects/acme%2Fnope").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "message": "404 Project Not Found" })
        )
    );
    let bad = Api {
        token: Some("glpat-wrong"),
        ..Api::new(&emu)
    };
    let (status, _, body) = bad.get("/api/v4/projects/acme%2Fbackend%2Fapi").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({ "message": "401 Unauthorized" })
        )
    );
    let bearer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/api/v4/projects/{id}", emu.gitlab_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    assert!(bearer.headers().contains_key("ratelimit-remaining"));

    // Private projects are invisible to anonymous callers.
    emu.create_repo(Forge::Gitlab, "acme/secret", RepoSeed::default().private())
        .unwrap();
    let anon = Api::anonymous(&emu);
    assert_eq!(anon.get("/api/v4/projects/acme%2Fsecret").await.0, 404);
    assert_eq!(api.get("/api/v4/projects/acme%2Fsecret").await.0, 200);

    // Create in a group, with a README.
    let group = emu
        .world()
        .lock()
        .owner(Forge::Gitlab, "acme/backend")
        .unwrap()
        .id;
    let create = json!({ "namespace_id": group, "path": "new-svc", "name": "New Service",
                         "description": "fresh", "initialize_with_readme": true });
    let (status, _, created) = anon
        .call(Method::POST, "/api/v4/projects", Some(create.clone()))
        .await;
    assert_eq!(
        (status, created),
        (
            StatusCode::UNAUTHORIZED,
            json!({ "message": "401 Unauthorized" })
        )
    );
    let (status, _, created) = api
        .call(Method::POST, "/api/v4/projects", Some(create.clone()))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["path_with_namespace"], "acme/backend/new-svc");
    assert_eq!(created["name"], "New Service");
    assert_eq!(created["visibility"], "private");
    assert_eq!(created["empty_repo"], false);
    assert_eq!(
        created["creator_id"],
        emu.world()
            .lock()
            .owner(Forge::Gitlab, "gitlabber")
            .unwrap()
            .id
    );
    let readme = emu
        .file(Forge::Gitlab, "acme/backend/new-svc", "main", "README.md")
        .unwrap()
        .unwrap();
    assert_eq!(
        String::from_utf8(readme).unwrap(),
        "# New Service\n\nfresh\n"
    );
    let (status, _, dup) = api
        .call(Method::POST, "/api/v4/projects", Some(create))
        .await;
    assert_eq!(status, 400);
    assert_eq!(dup["message"]["path"][0], "has already been taken");
    // Without a namespace: the user's own, and an empty repository.
    let (status, _, mine) = api
        .call(
            Method::POST,
            "/api/v4/projects",
            Some(json!({ "name": "Scratch Pad" })),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(mine["path_with_namespace"], "gitlabber/scratch-pad");
    assert_eq!(mine["namespace"]["kind"], "user");
    assert_eq!(mine["owner"]["username"], "gitlabber");
    assert_eq!(mine["empty_repo"], true);

    // Update, archive (read-only), unarchive.
    let (status, _, updated) = api
        .call(
            Method::PUT,
            &format!("/api/v4/projects/{id}"),
            Some(json!({ "description": "Renewed", "merge_method": "ff" })),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (
            updated["description"].as_str(),
            updated["merge_method"].as_str()
        ),
        (Some("Renewed"), Some("ff"))
    );
    let (status, _, archived) = api
        .call(
            Method::POST,
            "/api/v4/projects/acme%2Fbackend%2Fapi/archive",
            None,
        )
        .await;
    assert_eq!(
        (status, archived["archived"].as_bool()),
        (StatusCode::CREATED, Some(true))
    );
    let commit = json!({ "branch": "main", "commit_message": "m", "actions": [{ "action": "create", "file_path": "x", "content": "x" }] });
    let (status, _, body) = api
        .call(
            Method::POST,
            &format!("/api/v4/projects/{id}/repository/commits"),
            Some(commit.clone()),
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::FORBIDDEN, json!({ "message": "403 Forbidden" }))
    );
    let (status, _, body) = api
        .call(
            Method::POST,
            &format!("/api/v4/projects/{id}/unarchive"),
            None,
        )
        .await;
    assert_eq!(
        (status, body["archived"].as_bool()),
        (StatusCode::CREATED, Some(false))
    );
    let (status, _, _) = api
        .call(
            Method::POST,
            &format!("/api/v4/projects/{id}/repository/commits"),
            Some(commit),
        )
        .await;
    assert_eq!(status, 201);

    // Forks carry their parent.
    let fork = emu
        .create_repo(Forge::Gitlab, "acme/api-fork", RepoSeed::default())
        .unwrap();
    set_forked_from(&mut emu.world().lock(), fork, id);
    let (_, _, f) = api.get(&format!("/api/v4/projects/{fork}")).await;
    assert_eq!(f["forked_from_project"]["id"], id);
    assert_eq!(
        f["forked_from_project"]["path_with_namespace"],
        "acme/backend/api"
    );
    let (_, _, parent) = api.get(&format!("/api/v4/projects/{id}")).await;
    assert_eq!(parent["forks_count"], 1);
    emu.assert_conformant();
}

/// Requests GitLab refuses: the answers have GitLab's shapes, and the
/// conformance check flags the requests the official description shows to
/// be wrong (bad parameter values, an unencoded path, a missing required
/// parameter) and nothing else.
#[tokio::test]
async fn gitlab_refusals_have_gitlab_shapes_and_are_flagged() {
    let emu = start_with(EmulatorConfig {
        allow_violations: true,
        ..Default::default()
    })
    .await;
    let id = emu
        .create_repo(
            Forge::Gitlab,
            "acme/web",
            RepoSeed::default().file("a.txt", "a\n"),
        )
        .unwrap();
    let api = Api::new(&emu);
    let cases: Vec<(Method, String, Option<Value>, StatusCode, Value)> = vec![
        (
            Method::GET,
            "/api/v4/groups/acme/projects?per_page=many".into(),
            None,
            StatusCode::BAD_REQUEST,
            json!({ "error": "per_page is invalid" }),
        ),
        (
            Method::GET,
            "/api/v4/groups/acme/projects?order_by=stars".into(),
            None,
            StatusCode::BAD_REQUEST,
            json!({ "error": "order_by does not have a valid value" }),
        ),
        (
            Method::GET,
            "/api/v4/projects/acme/web".into(),
            None,
            StatusCode::NOT_FOUND,
            json!({ "error": "404 Not Found" }),
        ),
        (
            Method::GET,
            format!("/api/v4/projects/{id}/repository/files/a.txt"),
            None,
            StatusCode::BAD_REQUEST,
            json!({ "error": "ref is missing" }),
        ),
        (
            Method::POST,
            "/api/v4/projects".into(),
            Some(json!({ "description": "x" })),
            StatusCode::BAD_REQUEST,
            json!({ "error": "name, path are missing, at least one parameter must be provided" }),
        ),
        (
            Method::POST,
            format!("/api/v4/projects/{id}/repository/branches"),
            Some(json!({ "branch": "x" })),
            StatusCode::BAD_REQUEST,
            json!({ "error": "ref is missing" }),
        ),
        (
            Method::POST,
            format!("/api/v4/projects/{id}/repository/files/a.txt"),
            Some(json!({ "branch": "main", "content": "again", "commit_message": "m" })),
            StatusCode::BAD_REQUEST,
            json!({ "message": "A file with this name already exists" }),
        ),
        (
            Method::PUT,
            format!("/api/v4/projects/{id}/repository/files/a.txt"),
            Some(
                json!({ "branch": "main", "content": "x", "commit_message": "m", "last_commit_id": "0".repeat(40) }),
            ),
            StatusCode::BAD_REQUEST,
            json!({ "message": "You are attempting to update a file that has changed since you started editing it." }),
        ),
        (
            Method::DELETE,
            format!("/api/v4/projects/{id}/repository/branches/main"),
            None,
            StatusCode::BAD_REQUEST,
            json!({ "message": "The default branch of a project cannot be deleted." }),
        ),
    ];
    for (method, path, body, status, want) in &cases {
        let (got_status, _, got) = api.call(method.clone(), path, body.clone()).await;
        assert_eq!((got_status, &got), (*status, want), "{method} {path}");
    }
    let (status, _, body) = api
        .call(
            Method::PUT,
            &format!("/api/v4/projects/{id}"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .ends_with("at least one parameter must be provided"));
    let violations = emu.violations();
    let musts = [
        "GET /api/v4/groups/acme/projects?per_page=many".to_string(),
        "GET /api/v4/groups/acme/projects?order_by=stars".to_string(),
        "GET /api/v4/projects/acme/web".to_string(),
        format!("GET /api/v4/projects/{id}/repository/files/a.txt"),
    ];
    for must in &musts {
        assert!(
            violations.iter().any(|v| v.contains(must.as_str())),
            "{must} not flagged: {violations:#?}"
        );
    }
    for v in &violations {
        assert!(
            cases
                .iter()
                .any(|(m, p, ..)| v.contains(&format!("{m} {p}")))
                || v.contains(&format!("PUT /api/v4/projects/{id} ")),
            "unexpected violation {v}"
        );
    }
}
