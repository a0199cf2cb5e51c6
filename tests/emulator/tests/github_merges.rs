//! The emulated GitHub's refusals and merge methods over HTTP: a
//! non-fast-forward ref update without `force`, squash and rebase merges,
//! a conflicting pull request, and the git data API on an empty repository.

mod github_support;

use drover_emulator::{CommitSeed, Forge, RepoSeed};
use github_support::{assert_clean, fork_branch, start, Api};
use serde_json::{json, Value};

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

#[tokio::test]
async fn non_fast_forward_ref_update_needs_force() {
    let emu = start().await;
    emu.create_repo(Forge::Github, "acme/api", RepoSeed::default())
        .unwrap();
    let a = emu
        .commit(
            Forge::Github,
            "acme/api",
            CommitSeed::new("topic", "a").write("a", "a"),
        )
        .unwrap();
    let b = emu
        .commit(
            Forge::Github,
            "acme/api",
            CommitSeed::new("other", "b").write("b", "b"),
        )
        .unwrap();
    let api = Api::new(&emu);
    let refused = api
        .patch("/repos/acme/api/git/refs/heads/topic", json!({ "sha": b }))
        .await
        .expect(422);
    assert_eq!(refused.body["message"], "Update is not a fast forward");
    assert_eq!(
        emu.resolve(Forge::Github, "acme/api", "topic")
            .unwrap()
            .unwrap(),
        a
    );
    let forced = api
        .patch(
            "/repos/acme/api/git/refs/heads/topic",
            json!({ "sha": b, "force": true }),
        )
        .await
        .expect(200);
    assert_eq!(forced.body["object"]["sha"], b.as_str());
    // Forward moves need no force.
    let c = emu
        .commit(
            Forge::Github,
            "acme/api",
            CommitSeed::new("other", "c").write("c", "c"),
        )
        .unwrap();
    api.patch("/repos/acme/api/git/refs/heads/topic", json!({ "sha": c }))
        .await
        .expect(200);
    let missing = api
        .patch("/repos/acme/api/git/refs/heads/nope", json!({ "sha": c }))
        .await
        .expect(422);
    assert_eq!(missing.body["message"], "Reference does not exist");
    let bogus = api
        .patch(
            "/repos/acme/api/git/refs/heads/topic",
            json!({ "sha": "1".repeat(40), "force": true }),
        )
        .await
        .expect(422);
    assert_eq!(bogus.body["message"], "Object does not exist");
    api.delete("/repos/acme/api/git/refs/heads/topic")
        .await
        .expect(204);
    api.delete("/repos/acme/api/git/refs/heads/topic")
        .await
        .expect(422);
    assert!(emu
        .resolve(Forge::Github, "acme/api", "refs/heads/topic")
        .unwrap()
        .is_none());
    assert_clean(&emu);
}

#[tokio::test]
async fn squash_and_rebase_merges_and_conflicts() {
    let emu = start().await;
    emu.create_repo(
        Forge::Github,
        "acme/api",
        RepoSeed::default().file("f", "base\n"),
    )
    .unwrap();
    for (branch, file) in [("squash", "s"), ("rebase", "r"), ("clash", "f")] {
        fork_branch(&emu, "acme/api", branch, "main");
        emu.commit(
            Forge::Github,
            "acme/api",
            CommitSeed::new(branch, "one").write(file, "1\n"),
        )
        .unwrap();
        emu.commit(
            Forge::Github,
            "acme/api",
            CommitSeed::new(branch, "two").write(file, "2\n"),
        )
        .unwrap();
    }
    let api = Api::new(&emu);
    for (n, branch) in ["squash", "rebase", "clash"].iter().enumerate() {
        let pr = api
            .post(
                "/repos/acme/api/pulls",
                json!({ "title": format!("PR {branch}"), "head": branch, "base": "main" }),
            )
            .await
            .expect(201);
        assert_eq!(pr.body["number"], n + 1);
    }
    let squashed = api
        .put(
            "/repos/acme/api/pulls/1/merge",
            json!({ "merge_method": "squash", "commit_title": "Squashed" }),
        )
        .await
        .expect(200);
    let info = emu
        .commit_info(Forge::Github, "acme/api", &s(&squashed.body["sha"]))
        .unwrap()
        .unwrap();
    assert_eq!(info.parents.len(), 1);
    assert!(
        info.message.starts_with("Squashed\n\n* one"),
        "{}",
        info.message
    );
    // main moved: the clash now conflicts.
    emu.commit(
        Forge::Github,
        "acme/api",
        CommitSeed::new("main", "main edit").write("f", "main\n"),
    )
    .unwrap();
    let rebased = api
        .put(
            "/repos/acme/api/pulls/2/merge",
            json!({ "merge_method": "rebase" }),
        )
        .await
        .expect(200);
    let tip = s(&rebased.body["sha"]);
    let log = emu
        .commit_info(Forge::Github, "acme/api", &tip)
        .unwrap()
        .unwrap();
    assert_eq!(log.message, "two");
    assert_eq!(
        emu.file(Forge::Github, "acme/api", "main", "r")
            .unwrap()
            .unwrap(),
        b"2\n"
    );
    let clash = api.get("/repos/acme/api/pulls/3").await.expect(200);
    assert_eq!(clash.body["mergeable"], false);
    assert_eq!(clash.body["mergeable_state"], "dirty");
    let refused = api
        .put("/repos/acme/api/pulls/3/merge", json!({}))
        .await
        .expect(405);
    assert_eq!(refused.body["message"], "Pull Request is not mergeable");
    assert_clean(&emu);
}

#[tokio::test]
async fn git_data_api_refuses_an_empty_repository() {
    let emu = start().await;
    emu.create_repo(Forge::Github, "acme/void", RepoSeed::default().empty())
        .unwrap();
    let api = Api::new(&emu);
    for (path, body) in [
        ("/repos/acme/void/git/blobs", json!({ "content": "x" })),
        ("/repos/acme/void/git/trees", json!({ "tree": [] })),
    ] {
        let r = api.post(path, body).await.expect(409);
        assert_eq!(r.body["message"], "Git Repository is empty.");
    }
    api.get("/repos/acme/void/git/ref/heads/main")
        .await
        .expect(409);
    let repo = api.get("/repos/acme/void").await.expect(200);
    assert_eq!(repo.body["size"], 0);
    assert_clean(&emu);
}
