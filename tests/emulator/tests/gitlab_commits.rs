//! `POST /projects/{id}/repository/commits` with actions, as documented in
//! `commit-create.from-docs.json`: every action kind in one real commit,
//! read back by cloning with the `git` CLI; drover's `start_sha` + `force`
//! reset of its branch; `last_commit_id` conflicts; the branch and action
//! rules; commits into an empty project; symlinks keep their mode.

mod gitlab_support;

use drover_emulator::{EmulatorConfig, FileChange, Forge, Person, RepoSeed, Site};
use gitlab_support::{git_ok, start, start_with, Api};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn seed() -> RepoSeed {
    RepoSeed::default()
        .file("README.md", "# app\n")
        .file("old.txt", "old\n")
        .file("script.sh", "#!/bin/sh\necho hi\n")
        .file("docs/a.md", "A\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_commit_with_actions_writes_history_the_git_cli_clones() {
    let emu = start().await;
    let id = emu.create_repo(Forge::Gitlab, "acme/app", seed()).unwrap();
    let main = emu
        .resolve(Forge::Gitlab, "acme/app", "main")
        .unwrap()
        .unwrap();
    let api = Api::new(&emu);
    let url = "/api/v4/projects/acme%2Fapp/repository/commits";
    let body = json!({
        "branch": "drover/sync",
        "start_branch": "main",
        "commit_message": "chore: sync templates\n\nDrover-Fingerprint: 0123abcd",
        "author_name": "Drover",
        "author_email": "drover@example.invalid",
        "actions": [
            { "action": "create", "file_path": ".gitlab-ci.yml", "content": "stages: [test]\n" },
            { "action": "create", "file_path": "bin/tool", "content": "IyEvYmluL3NoCg==", "encoding": "base64" },
            { "action": "update", "file_path": "README.md", "content": "# app\n\nSynced.\n" },
            { "action": "delete", "file_path": "old.txt" },
            { "action": "move", "file_path": "docs/b.md", "previous_path": "docs/a.md" },
            { "action": "chmod", "file_path": "script.sh", "execute_filemode": true }
        ]
    });
    let (status, _, c) = api.call(Method::POST, url, Some(body)).await;
    assert_eq!(status, 201, "{c}");
    let sha = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["short_id"], &sha[..11]);
    assert_eq!(c["parent_ids"], json!([main]));
    assert_eq!(c["title"], "chore: sync templates");
    assert_eq!(
        c["message"],
        "chore: sync templates\n\nDrover-Fingerprint: 0123abcd"
    );
    assert_eq!(
        (c["author_name"].as_str(), c["author_email"].as_str()),
        (Some("Drover"), Some("drover@example.invalid"))
    );
    assert_eq!(c["committer_name"], "gitlabber");
    assert_eq!(
        c["stats"],
        json!({ "additions": 5, "deletions": 2, "total": 7 })
    );
    assert_eq!(c["status"], Value::Null);
    assert_eq!(c["project_id"], id);
    assert_eq!(
        c["web_url"],
        format!("{}/acme/app/-/commit/{sha}", emu.gitlab_url())
    );
    assert_eq!(
        emu.resolve(Forge::Gitlab, "acme/app", "main")
            .unwrap()
            .unwrap(),
        main,
        "main untouched"
    );

    let clone_url = emu.clone_url(Forge::Gitlab, "acme/app");
    let want = sha.clone();
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        git_ok(
            dir.path(),
            &[
                "clone",
                "--quiet",
                "--branch",
                "drover/sync",
                &clone_url,
                "work",
            ],
        );
        let work = dir.path().join("work");
        assert_eq!(git_ok(&work, &["rev-parse", "HEAD"]), want);
        assert_eq!(
            git_ok(&work, &["log", "-1", "--format=%an <%ae> / %cn / %s"]),
            "Drover <drover@example.invalid> / gitlabber / chore: sync templates"
        );
        assert_eq!(
            std::fs::read_to_string(work.join(".gitlab-ci.yml")).unwrap(),
            "stages: [test]\n"
        );
        assert_eq!(
            std::fs::read_to_string(work.join("bin/tool")).unwrap(),
            "#!/bin/sh\n"
        );
        assert_eq!(
            std::fs::read_to_string(work.join("README.md")).unwrap(),
            "# app\n\nSynced.\n"
        );
        assert!(!work.join("old.txt").exists());
        assert!(!work.join("docs/a.md").exists());
        assert_eq!(
            std::fs::read_to_string(work.join("docs/b.md")).unwrap(),
            "A\n"
        );
        let staged = git_ok(&work, &["ls-files", "-s", "script.sh", "bin/tool"]);
        assert!(
            staged.contains("100755") && staged.contains("script.sh"),
            "{staged}"
        );
        assert!(
            staged
                .lines()
                .any(|l| l.starts_with("100644") && l.ends_with("bin/tool")),
            "{staged}"
        );
        assert_eq!(git_ok(&work, &["rev-list", "--count", "HEAD"]), "2");
    })
    .await
    .unwrap();

    // drover's proposal update: a fresh commit on main, forced onto its branch.
    let main2 = emu
        .commit(
            Forge::Gitlab,
            "acme/app",
            drover_emulator::CommitSeed::new("main", "upstream").write("up.txt", "u\n"),
        )
        .unwrap();
    let redo = json!({
        "branch": "drover/sync", "start_sha": main2, "force": true,
        "commit_message": "chore: sync templates", "author_name": "Drover", "author_email": "drover@example.invalid",
        "actions": [{ "action": "create", "file_path": ".gitlab-ci.yml", "content": "stages: [build, test]\n" }]
    });
    let (status, _, c2) = api.call(Method::POST, url, Some(redo.clone())).await;
    assert_eq!(status, 201, "{c2}");
    assert_eq!(c2["parent_ids"], json!([main2]));
    assert_eq!(
        emu.resolve(Forge::Gitlab, "acme/app", "drover/sync")
            .unwrap()
            .unwrap(),
        c2["id"].as_str().unwrap()
    );
    assert!(
        emu.file(Forge::Gitlab, "acme/app", "drover/sync", "old.txt")
            .unwrap()
            .is_some(),
        "reset onto main"
    );
    let mut no_force = redo;
    no_force["force"] = json!(false);
    let (status, _, body) = api.call(Method::POST, url, Some(no_force)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "message": "A branch called 'drover/sync' already exists. Switch to that branch in order to make changes" })
        )
    );
    assert_eq!(
        emu.request_count(
            Site::Gitlab,
            "POST /api/v4/projects/{id}/repository/commits"
        ),
        3
    );
    emu.assert_conformant();
}

#[tokio::test]
async fn gitlab_last_commit_id_conflicts_and_action_rules() {
    let emu = start().await;
    let id = emu.create_repo(Forge::Gitlab, "acme/app", seed()).unwrap();
    let initial = emu
        .resolve(Forge::Gitlab, "acme/app", "main")
        .unwrap()
        .unwrap();
    let api = Api::new(&emu);
    let url = format!("/api/v4/projects/{id}/repository/commits");
    let commit =
        |actions: Value| json!({ "branch": "main", "commit_message": "edit", "actions": actions });

    let (_, _, meta) = api
        .get(&format!(
            "/api/v4/projects/{id}/repository/files/README.md?ref=main"
        ))
        .await;
    assert_eq!(meta["last_commit_id"], initial);
    let update = |content: &str, last: &str| {
        commit(
            json!([{ "action": "update", "file_path": "README.md", "content": content, "last_commit_id": last }]),
        )
    };
    let (status, _, c1) = api
        .call(Method::POST, &url, Some(update("one\n", &initial)))
        .await;
    assert_eq!(status, 201, "{c1}");
    let c1 = c1["id"].as_str().unwrap().to_string();
    let (status, _, body) = api
        .call(Method::POST, &url, Some(update("two\n", &initial)))
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "message": "The file has changed since you started editing it: README.md" })
        )
    );
    assert_eq!(
        emu.resolve(Forge::Gitlab, "acme/app", "main")
            .unwrap()
            .unwrap(),
        c1,
        "nothing written"
    );
    // A stale id for another file does not matter; the file's own last commit does.
    let (status, _, _) = api
        .call(
            Method::POST,
            &url,
            Some(commit(
                json!([{ "action": "delete", "file_path": "old.txt", "last_commit_id": initial }]),
            )),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _, _) = api
        .call(Method::POST, &url, Some(update("two\n", &c1)))
        .await;
    assert_eq!(status, 201);

    let refusals = [
        (
            json!([{ "action": "create", "file_path": "README.md", "content": "x" }]),
            "A file with this name already exists",
        ),
        (
            json!([{ "action": "update", "file_path": "nope.md", "content": "x" }]),
            "A file with this name doesn't exist",
        ),
        (
            json!([{ "action": "delete", "file_path": "nope.md" }]),
            "A file with this name doesn't exist",
        ),
        (
            json!([{ "action": "move", "file_path": "x.md", "previous_path": "nope.md" }]),
            "A file with this name doesn't exist",
        ),
        (
            json!([{ "action": "create", "file_path": "docs", "content": "x" }]),
            "A directory with this name already exists",
        ),
        (
            json!([{ "action": "create", "file_path": "README.md/inner", "content": "x" }]),
            "A file with this name already exists",
        ),
    ];
    for (actions, message) in refusals {
        let (status, _, body) = api
            .call(Method::POST, &url, Some(commit(actions.clone())))
            .await;
        assert_eq!(
            (status, body),
            (StatusCode::BAD_REQUEST, json!({ "message": message })),
            "{actions}"
        );
    }
    let (status, _, body) = api
        .call(Method::POST, &url, Some(json!({ "branch": "topic", "start_branch": "nope", "commit_message": "m", "actions": [] })))
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "message": "You can only create or edit files when you are on a branch" })
        )
    );
    // A branch that does not exist starts from itself, which must exist.
    let (status, _, body) = api
        .call(
            Method::POST,
            &url,
            Some(json!({ "branch": "topic", "commit_message": "m", "actions": [] })),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "message": "You can only create or edit files when you are on a branch" })
        )
    );

    // Updating a symlink keeps it a symlink.
    let link = FileChange::WriteMode {
        path: "link".into(),
        content: b"README.md".to_vec(),
        mode: 0o120000,
    };
    emu.world()
        .lock()
        .commit_files(id, "main", &[link], "link", &Person::emulator())
        .unwrap();
    let (status, _, _) = api
        .call(
            Method::POST,
            &url,
            Some(commit(
                json!([{ "action": "update", "file_path": "link", "content": "docs/a.md" }]),
            )),
        )
        .await;
    assert_eq!(status, 201);
    let (_, _, tree) = api
        .get(&format!("/api/v4/projects/{id}/repository/tree"))
        .await;
    let link = tree
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "link")
        .unwrap();
    assert_eq!(link["mode"], "120000");
    emu.assert_conformant();
}

#[tokio::test]
async fn gitlab_commits_into_an_empty_project_start_its_history() {
    let emu = start().await;
    let id = emu
        .create_repo(Forge::Gitlab, "acme/empty", RepoSeed::default().empty())
        .unwrap();
    let api = Api::new(&emu);
    let (_, _, p) = api.get(&format!("/api/v4/projects/{id}")).await;
    assert_eq!(p["empty_repo"], true);
    let body = json!({ "branch": "trunk", "commit_message": "first",
                       "actions": [{ "action": "create", "file_path": "README.md", "content": "hi\n" }] });
    let (status, _, c) = api
        .call(
            Method::POST,
            &format!("/api/v4/projects/{id}/repository/commits"),
            Some(body),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["parent_ids"], json!([]));
    let (_, _, p) = api.get(&format!("/api/v4/projects/{id}")).await;
    assert_eq!(
        (p["empty_repo"].as_bool(), p["default_branch"].as_str()),
        (Some(false), Some("trunk"))
    );
    emu.assert_conformant();
}

/// Bodies GitLab's parameter validation refuses; the conformance check
/// flags them against the documented JSON body.
#[tokio::test]
async fn gitlab_malformed_commit_bodies_are_refused_and_flagged() {
    let emu = start_with(EmulatorConfig {
        allow_violations: true,
        ..Default::default()
    })
    .await;
    let id = emu.create_repo(Forge::Gitlab, "acme/app", seed()).unwrap();
    let api = Api::new(&emu);
    let url = format!("/api/v4/projects/{id}/repository/commits");
    let cases = [
        (
            json!({ "actions": [] }),
            "branch is missing, commit_message is missing",
        ),
        (
            json!({ "branch": "main", "commit_message": "m", "actions": [{ "action": "rename", "file_path": "a" }] }),
            "actions[0][action] does not have a valid value",
        ),
        (
            json!({ "branch": "main", "commit_message": "m", "actions": [{ "action": "move", "file_path": "a" }] }),
            "actions[0][previous_path] is missing",
        ),
        (
            json!({ "branch": "main", "commit_message": "m", "actions": [{ "action": "create", "file_path": "a", "content": "x", "encoding": "hex" }] }),
            "actions[0][encoding] does not have a valid value",
        ),
        (
            json!({ "branch": "main", "commit_message": "m", "actions": [{ "action": "chmod", "file_path": "script.sh" }] }),
            "actions[0][execute_filemode] is missing",
        ),
    ];
    for (body, error) in &cases {
        let (status, _, got) = api.call(Method::POST, &url, Some(body.clone())).await;
        assert_eq!(
            (status, got),
            (StatusCode::BAD_REQUEST, json!({ "error": error })),
            "{body}"
        );
    }
    let violations = emu.violations();
    assert!(!violations.is_empty());
    assert!(
        violations
            .iter()
            .all(|v| v.contains(&format!("POST {url}"))),
        "{violations:#?}"
    );
}
