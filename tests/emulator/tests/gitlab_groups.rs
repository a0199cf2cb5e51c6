//! GitLab groups over REST: nested subgroups, `include_subgroups` and
//! offset pagination by headers (`X-Page`, `X-Total`, `X-Next-Page`, `Link`)
//! over 250+ projects, filters and ordering, the group itself, and that a
//! user namespace is not a group.

mod gitlab_support;

use drover_emulator::{Forge, OwnerKind, RepoSeed, Site};
use gitlab_support::{header, start, Api};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_group_projects_with_nested_subgroups_paginate_by_headers() {
    let emu = start().await;
    let groups = [
        ("acme", 130),
        ("acme/platform", 70),
        ("acme/platform/tools", 60),
        ("other", 3),
    ];
    for (group, n) in groups {
        for i in 0..n {
            let mut seed = RepoSeed::default();
            if group == "acme" && i < 3 {
                seed = seed.archived();
            }
            emu.create_repo(Forge::Gitlab, &format!("{group}/p{i:03}"), seed)
                .unwrap();
        }
    }
    let api = Api::new(&emu);
    let mut seen = std::collections::BTreeSet::new();
    let mut path = "/api/v4/groups/acme/projects?include_subgroups=true&per_page=100".to_string();
    let mut pages = 0;
    loop {
        let (status, h, body) = api.get(&path).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        assert_eq!(header(&h, "x-total"), "260");
        assert_eq!(header(&h, "x-total-pages"), "3");
        assert_eq!(header(&h, "x-per-page"), "100");
        assert_eq!(header(&h, "x-page"), pages.to_string());
        let items = body.as_array().unwrap();
        assert_eq!(items.len(), if pages < 3 { 100 } else { 60 });
        for p in items {
            assert!(p["path_with_namespace"]
                .as_str()
                .unwrap()
                .starts_with("acme/"));
            assert!(seen.insert(p["id"].as_u64().unwrap()));
        }
        let link = header(&h, "link");
        assert!(
            link.contains("rel=\"first\"") && link.contains("rel=\"last\""),
            "{link}"
        );
        let next = header(&h, "x-next-page");
        if next.is_empty() {
            assert!(!link.contains("rel=\"next\""));
            assert_eq!(header(&h, "x-prev-page"), "2");
            break;
        }
        // Follow the Link header the way a client library does.
        let next_link = link
            .split(", ")
            .find(|l| l.ends_with("rel=\"next\""))
            .unwrap();
        let url = &next_link[1..next_link.find('>').unwrap()];
        assert!(
            url.contains(&format!("page={next}")) && url.contains("include_subgroups=true"),
            "{url}"
        );
        path = url.to_string();
    }
    assert_eq!((pages, seen.len()), (3, 260));

    // Direct projects only; the subgroup by numeric id and by encoded path.
    let (_, h, _) = api.get("/api/v4/groups/acme/projects").await;
    assert_eq!(
        (header(&h, "x-total"), header(&h, "x-per-page")),
        ("130", "20")
    );
    let platform = emu
        .world()
        .lock()
        .owner(Forge::Gitlab, "acme/platform")
        .unwrap()
        .id;
    let (_, h, _) = api
        .get(&format!(
            "/api/v4/groups/{platform}/projects?include_subgroups=true"
        ))
        .await;
    assert_eq!(header(&h, "x-total"), "130");
    let (_, h, body) = api
        .get("/api/v4/groups/acme%2Fplatform%2Ftools/projects?per_page=5&page=12")
        .await;
    assert_eq!(header(&h, "x-total-pages"), "12");
    assert_eq!(body.as_array().unwrap().len(), 5);
    assert_eq!(header(&h, "x-next-page"), "");
    assert_eq!(header(&h, "x-prev-page"), "11");

    // Filters and ordering.
    let (_, h, _) = api
        .get("/api/v4/groups/acme/projects?include_subgroups=true&archived=false")
        .await;
    assert_eq!(header(&h, "x-total"), "257");
    let (_, h, body) = api
        .get("/api/v4/groups/acme/projects?archived=true&simple=true")
        .await;
    assert_eq!(header(&h, "x-total"), "3");
    assert!(body[0].get("archived").is_none(), "simple omits details");
    let (_, _, body) = api
        .get("/api/v4/groups/acme/projects?order_by=path&sort=asc&per_page=3")
        .await;
    let names: Vec<_> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["p000", "p001", "p002"]);
    let (_, _, body) = api.get("/api/v4/groups/acme/projects?search=p129").await;
    assert_eq!(body.as_array().unwrap().len(), 1);

    // The group itself.
    let (status, _, g) = api.get("/api/v4/groups/acme%2Fplatform").await;
    assert_eq!(status, 200);
    assert_eq!(g["full_path"], "acme/platform");
    assert_eq!(g["full_name"], "acme / platform");
    assert_eq!(
        g["parent_id"],
        emu.world().lock().owner(Forge::Gitlab, "acme").unwrap().id
    );
    assert_eq!(g["projects"].as_array().unwrap().len(), 70);
    assert!(g["web_url"]
        .as_str()
        .unwrap()
        .ends_with("/groups/acme/platform"));

    // GitLab's error shapes.
    let (status, _, body) = api.get("/api/v4/groups/nope/projects").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "message": "404 Group Not Found" })
        )
    );
    assert_eq!(
        emu.request_count(Site::Gitlab, "GET /api/v4/groups/{id}/projects"),
        11
    );
    emu.assert_conformant();
}

#[tokio::test]
async fn gitlab_user_namespaces_are_not_groups() {
    let emu = start().await;
    emu.create_owner(Forge::Gitlab, OwnerKind::User, "bob")
        .unwrap();
    let api = Api::new(&emu);
    let (status, _, body) = api.get("/api/v4/groups/bob").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "message": "404 Group Not Found" })
        )
    );
    emu.assert_conformant();
}
