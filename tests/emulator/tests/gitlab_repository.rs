//! GitLab repositories over REST: tree listings with mode strings (a
//! symlink is `120000`, a directory `040000`), paths and pagination, the
//! files API (metadata, HEAD, raw, writes as real commits), blobs,
//! branches (create, get, HEAD, list, search, delete), the commit log and
//! single commits with stats, and compare.

mod gitlab_support;

use drover_emulator::{CommitSeed, FileChange, Forge, Person, RepoSeed};
use gitlab_support::{header, start, Api};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn gitlab_tree_files_and_blobs_report_modes_and_content() {
    let emu = start().await;
    let id = emu
        .create_repo(
            Forge::Gitlab,
            "acme/tools",
            RepoSeed::default()
                .file("README.md", "hello\n")
                .file("src/lib.rs", "pub fn f() {}\n"),
        )
        .unwrap();
    let changes = [
        FileChange::WriteMode {
            path: "bin/run.sh".into(),
            content: b"#!/bin/sh\necho run\n".to_vec(),
            mode: 0o100755,
        },
        FileChange::WriteMode {
            path: "docs/readme-link".into(),
            content: b"../README.md".to_vec(),
            mode: 0o120000,
        },
        FileChange::write("docs/guide.md", "# Guide\n"),
    ];
    let head = emu
        .world()
        .lock()
        .commit_files(id, "main", &changes, "tools", &Person::emulator())
        .unwrap();
    let api = Api::new(&emu);

    let (status, _, root) = api
        .get(&format!("/api/v4/projects/{id}/repository/tree"))
        .await;
    assert_eq!(status, 200);
    let entries: Vec<(String, String, String)> = root
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().into(),
                e["type"].as_str().unwrap().into(),
                e["mode"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("bin", "tree", "040000"),
        ("docs", "tree", "040000"),
        ("src", "tree", "040000"),
        ("README.md", "blob", "100644"),
    ];
    assert_eq!(
        entries,
        want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    assert_eq!(root[3]["path"], "README.md");
    assert_eq!(root[3]["id"].as_str().unwrap().len(), 40);

    let (_, _, docs) = api
        .get("/api/v4/projects/acme%2Ftools/repository/tree?path=docs&ref=main")
        .await;
    let link = docs
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "readme-link")
        .unwrap();
    assert_eq!(
        (
            link["mode"].as_str(),
            link["type"].as_str(),
            link["path"].as_str()
        ),
        (Some("120000"), Some("blob"), Some("docs/readme-link"))
    );
    let (_, _, bin) = api
        .get(&format!(
            "/api/v4/projects/{id}/repository/tree?path=bin&ref={head}"
        ))
        .await;
    assert_eq!(bin[0]["mode"], "100755");

    let (_, h, page) = api
        .get(&format!(
            "/api/v4/projects/{id}/repository/tree?recursive=true&per_page=3&page=2"
        ))
        .await;
    assert_eq!(header(&h, "x-total"), "8");
    assert_eq!(header(&h, "x-total-pages"), "3");
    assert_eq!(page.as_array().unwrap().len(), 3);
    let (status, _, body) = api
        .get(&format!("/api/v4/projects/{id}/repository/tree?path=nope"))
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _, body) = api
        .get(&format!(
            "/api/v4/projects/{id}/repository/tree?ref=no-such-branch"
        ))
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "message": "404 Tree Not Found" })
        )
    );

    // Files: metadata with base64 content, HEAD, raw.
    let (status, h, file) = api
        .get(&format!(
            "/api/v4/projects/{id}/repository/files/src%2Flib.rs?ref=main"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(file["file_name"], "lib.rs");
    assert_eq!(file["file_path"], "src/lib.rs");
    assert_eq!(file["encoding"], "base64");
    assert_eq!(file["content"], "cHViIGZuIGYoKSB7fQo=");
    assert_eq!(file["size"], 14);
    assert_eq!(file["ref"], "main");
    assert_eq!(file["commit_id"], head);
    assert_ne!(
        file["last_commit_id"], head,
        "src/lib.rs last changed in the initial commit"
    );
    assert_eq!(file["execute_filemode"], false);
    assert_eq!(
        file["content_sha256"],
        "16c2fca9e371936458d01576b4ca311c22d166a45539ccbc9104823d0b10db47"
    );
    assert_eq!(
        header(&h, "x-gitlab-blob-id"),
        file["blob_id"].as_str().unwrap()
    );
    let (_, _, script) = api
        .get(&format!(
            "/api/v4/projects/{id}/repository/files/bin%2Frun.sh?ref=main"
        ))
        .await;
    assert_eq!(script["execute_filemode"], true);
    assert_eq!(script["last_commit_id"], head);
    let (status, h, body) = api
        .call(
            Method::HEAD,
            &format!("/api/v4/projects/{id}/repository/files/README.md?ref=main"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, Value::String(String::new()));
    assert_eq!(header(&h, "x-gitlab-size"), "6");
    assert_eq!(header(&h, "x-gitlab-file-path"), "README.md");
    let (status, _, body) = api
        .get(&format!(
            "/api/v4/projects/{id}/repository/files/nope.txt?ref=main"
        ))
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "message": "404 File Not Found" })
        )
    );
    let raw = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!(
            "{}/api/v4/projects/acme%2Ftools/repository/files/docs%2Freadme-link/raw?ref={head}",
            emu.gitlab_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert!(raw.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(raw.text().await.unwrap(), "../README.md");

    // Blobs by id.
    let blob_id = file["blob_id"].as_str().unwrap();
    let (_, _, blob) = api
        .get(&format!("/api/v4/projects/{id}/repository/blobs/{blob_id}"))
        .await;
    assert_eq!(
        (
            blob["sha"].as_str(),
            blob["size"].as_u64(),
            blob["encoding"].as_str()
        ),
        (Some(blob_id), Some(14), Some("base64"))
    );
    let (_, _, raw) = api
        .get(&format!(
            "/api/v4/projects/{id}/repository/blobs/{blob_id}/raw"
        ))
        .await;
    assert_eq!(raw, Value::String("pub fn f() {}\n".into()));
    let (status, _, body) = api
        .get(&format!(
            "/api/v4/projects/{id}/repository/blobs/{}",
            "0".repeat(40)
        ))
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "message": "404 Blob Not Found" })
        )
    );

    // Files API writes are real commits.
    let base = format!("/api/v4/projects/{id}/repository/files/docs%2Fnew.md");
    let (status, _, body) = api
        .call(
            Method::POST,
            &base,
            Some(json!({ "branch": "main", "content": "new\n", "commit_message": "add new" })),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CREATED,
            json!({ "file_path": "docs/new.md", "branch": "main" })
        )
    );
    let (status, _, _) = api
        .call(Method::PUT, &base, Some(json!({ "branch": "main", "content": "bmV3ZXIK", "encoding": "base64", "commit_message": "update new" })))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        emu.file(Forge::Gitlab, "acme/tools", "main", "docs/new.md")
            .unwrap()
            .unwrap(),
        b"newer\n"
    );
    let (status, _, _) = api
        .call(
            Method::DELETE,
            &format!("{base}?branch=main&commit_message=drop"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert!(emu
        .file(Forge::Gitlab, "acme/tools", "main", "docs/new.md")
        .unwrap()
        .is_none());
    let log = emu
        .commit_info(Forge::Gitlab, "acme/tools", "main")
        .unwrap()
        .unwrap();
    assert_eq!(log.message, "drop");
    assert_eq!(log.author.name, "gitlabber");
    emu.assert_conformant();
}

#[tokio::test]
async fn gitlab_branches_commits_and_compare() {
    let emu = start().await;
    let id = emu
        .create_repo(
            Forge::Gitlab,
            "acme/web",
            RepoSeed::default().file("a.txt", "a\n"),
        )
        .unwrap();
    let main = emu
        .resolve(Forge::Gitlab, "acme/web", "main")
        .unwrap()
        .unwrap();
    let api = Api::new(&emu);
    let branches = format!("/api/v4/projects/{id}/repository/branches");

    let (status, _, b) = api
        .call(
            Method::POST,
            &branches,
            Some(json!({ "branch": "drover/sync", "ref": "main" })),
        )
        .await;
    assert_eq!(status, 201, "{b}");
    assert_eq!(
        (b["name"].as_str(), b["commit"]["id"].as_str()),
        (Some("drover/sync"), Some(main.as_str()))
    );
    assert_eq!(b["commit"]["short_id"], &main[..11]);
    assert_eq!(b["default"], false);
    let (status, _, body) = api
        .call(
            Method::POST,
            &branches,
            Some(json!({ "branch": "drover/sync", "ref": "main" })),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "message": "Branch already exists" })
        )
    );
    let (status, _, body) = api
        .call(
            Method::POST,
            &branches,
            Some(json!({ "branch": "x", "ref": "nope" })),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "message": "Invalid reference name: nope" })
        )
    );

    emu.commit(
        Forge::Gitlab,
        "acme/web",
        CommitSeed::new("drover/sync", "sync: b\n\nbody").write("b.txt", "b\n"),
    )
    .unwrap();
    let sync = emu
        .resolve(Forge::Gitlab, "acme/web", "drover/sync")
        .unwrap()
        .unwrap();
    let (status, _, one) = api.get(&format!("{branches}/drover%2Fsync")).await;
    assert_eq!(status, 200);
    assert_eq!(one["commit"]["id"], sync);
    assert_eq!(one["commit"]["title"], "sync: b");
    assert_eq!(one["commit"]["parent_ids"], json!([main]));
    assert_eq!(one["merged"], false);
    assert_eq!(
        one["web_url"],
        format!("{}/acme/web/-/tree/drover/sync", emu.gitlab_url())
    );
    let (status, _, body) = api.get(&format!("{branches}/nope")).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "message": "404 Branch Not Found" })
        )
    );
    assert_eq!(
        api.call(Method::HEAD, &format!("{branches}/drover%2Fsync"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        api.call(Method::HEAD, &format!("{branches}/nope"), None)
            .await
            .0,
        404
    );

    let (_, h, list) = api.get(&branches).await;
    assert_eq!(header(&h, "x-total"), "2");
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["drover/sync", "main"]);
    assert_eq!(list[1]["default"], true);
    assert_eq!(list[1]["protected"], true);
    let (_, _, found) = api.get(&format!("{branches}?search=^drover")).await;
    assert_eq!(found.as_array().unwrap().len(), 1);

    // Commits: log with ref and path, one commit with stats.
    let commits = format!("/api/v4/projects/{id}/repository/commits");
    let (_, h, log) = api.get(&format!("{commits}?ref_name=drover%2Fsync")).await;
    assert_eq!(header(&h, "x-total"), "2");
    assert_eq!(log[0]["id"], sync);
    assert_eq!(log[0]["message"], "sync: b\n\nbody");
    let (_, _, log) = api
        .get(&format!("{commits}?ref_name=drover%2Fsync&path=a.txt"))
        .await;
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["id"], main);
    let (_, _, log) = api
        .get(&format!("{commits}?all=true&with_stats=true"))
        .await;
    assert_eq!(
        log[0]["stats"],
        json!({ "additions": 1, "deletions": 0, "total": 1 })
    );
    let (status, _, c) = api.get(&format!("{commits}/{sync}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        c["stats"],
        json!({ "additions": 1, "deletions": 0, "total": 1 })
    );
    assert_eq!(c["project_id"], id);
    assert_eq!(c["status"], Value::Null);
    assert_eq!(
        c["web_url"],
        format!("{}/acme/web/-/commit/{sync}", emu.gitlab_url())
    );
    let (_, _, by_name) = api
        .get(&format!("{commits}/drover%2Fsync?stats=false"))
        .await;
    assert_eq!(by_name["id"], sync);
    assert!(by_name.get("stats").is_none());
    let (status, _, body) = api.get(&format!("{commits}/{}", "f".repeat(40))).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "message": "404 Commit Not Found" })
        )
    );

    let (_, _, cmp) = api
        .get(&format!(
            "/api/v4/projects/{id}/repository/compare?from=main&to=drover%2Fsync"
        ))
        .await;
    assert_eq!(cmp["commit"]["id"], sync);
    assert_eq!(cmp["commits"].as_array().unwrap().len(), 1);
    let diff = &cmp["diffs"][0];
    assert_eq!(
        (
            diff["new_path"].as_str(),
            diff["new_file"].as_bool(),
            diff["b_mode"].as_str()
        ),
        (Some("b.txt"), Some(true), Some("100644"))
    );
    assert_eq!(diff["diff"], "@@ -0,0 +1 @@\n+b\n");
    assert_eq!(cmp["compare_same_ref"], false);

    // Deleting branches.
    assert_eq!(
        api.call(Method::DELETE, &format!("{branches}/drover%2Fsync"), None)
            .await
            .0,
        204
    );
    assert!(emu
        .resolve(Forge::Gitlab, "acme/web", "drover/sync")
        .unwrap()
        .is_none());
    assert_eq!(
        api.call(Method::DELETE, &format!("{branches}/drover%2Fsync"), None)
            .await
            .0,
        404
    );
    emu.assert_conformant();
}
