//! Git smart HTTP through real `git http-backend`: clone and push with the
//! git CLI and with git2 on every forge, read back through inspection.

use std::path::Path;

use drover_emulator::{Emulator, Forge, RepoSeed};

use crate::util::{self, credentials, git, git_ok, with_credentials};

const REPOS: [(Forge, &str); 3] = [
    (Forge::Github, "acme/service"),
    (Forge::Gitlab, "acme/platform/service"),
    (Forge::Sourcehut, "~alice/service"),
];

fn seed(emu: &Emulator) {
    for (forge, path) in REPOS {
        let seed = RepoSeed::default()
            .file("README.md", "hello\n")
            .file("src/main.rs", "fn main() {}\n");
        emu.create_repo(forge, path, seed).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_cli_clones_anonymously_and_pushes_with_a_token_on_every_forge() {
    let emu = util::start().await;
    seed(&emu);
    for (forge, path) in REPOS {
        let url = emu.clone_url(forge, path);
        let (user, token) = credentials(forge);
        let pushed = tokio::task::spawn_blocking(move || {
            let dir = tempfile::tempdir().unwrap();
            git_ok(dir.path(), &["clone", "--quiet", &url, "work"]);
            let work = dir.path().join("work");
            assert_eq!(
                std::fs::read_to_string(work.join("README.md")).unwrap(),
                "hello\n"
            );
            std::fs::write(work.join("CHANGELOG.md"), "pushed by the git CLI\n").unwrap();
            git_ok(&work, &["add", "CHANGELOG.md"]);
            git_ok(&work, &["commit", "--quiet", "-m", "cli push"]);
            // Anonymous push is refused with a Basic challenge.
            let denied = git(&work, &["push", "--quiet", "origin", "HEAD:refs/heads/cli"]);
            assert!(!denied.status.success());
            let authed = with_credentials(&url, user, token);
            git_ok(
                &work,
                &[
                    "push",
                    "--quiet",
                    &authed,
                    "HEAD:refs/heads/cli",
                    "HEAD:refs/heads/main",
                ],
            );
            git_ok(&work, &["rev-parse", "HEAD"])
        })
        .await
        .unwrap();
        let refs = emu.refs(forge, path).unwrap();
        assert_eq!(refs.get("refs/heads/cli"), Some(&pushed), "{forge:?}");
        assert_eq!(refs.get("refs/heads/main"), Some(&pushed), "{forge:?}");
        let file = emu.file(forge, path, "cli", "CHANGELOG.md").unwrap();
        assert_eq!(file.as_deref(), Some(&b"pushed by the git CLI\n"[..]));
        let info = emu.commit_info(forge, path, "main").unwrap().unwrap();
        assert_eq!(info.message.trim(), "cli push");
        assert!(emu.repo(forge, path).unwrap().pushed_at.is_some());
    }
}

fn git2_clone_commit_push(
    url: &str,
    user: &str,
    token: &str,
    dir: &Path,
) -> Result<String, git2::Error> {
    let (user, token) = (user.to_string(), token.to_string());
    let callbacks = || {
        let mut cb = git2::RemoteCallbacks::new();
        let (user, token) = (user.clone(), token.clone());
        cb.credentials(move |_, _, _| git2::Cred::userpass_plaintext(&user, &token));
        cb
    };
    let mut fetch = git2::FetchOptions::new();
    fetch.remote_callbacks(callbacks());
    let repo = git2::build::RepoBuilder::new()
        .fetch_options(fetch)
        .clone(url, dir)?;
    std::fs::write(dir.join("NOTES.md"), "pushed by git2\n").unwrap();
    let mut index = repo.index()?;
    index.add_path(Path::new("NOTES.md"))?;
    index.write()?;
    let tree = repo.find_tree(index.write_tree()?)?;
    let parent = repo.head()?.peel_to_commit()?;
    let sig = git2::Signature::now("Tester", "t@example.invalid")?;
    let oid = repo.commit(Some("HEAD"), &sig, &sig, "git2 push", &tree, &[&parent])?;
    let mut remote = repo.find_remote("origin")?;
    let mut push = git2::PushOptions::new();
    push.remote_callbacks(callbacks());
    remote.push(&["refs/heads/main:refs/heads/git2"], Some(&mut push))?;
    Ok(oid.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git2_clones_and_pushes_on_every_forge() {
    let emu = util::start().await;
    seed(&emu);
    for (forge, path) in REPOS {
        let url = emu.clone_url(forge, path);
        let (user, token) = credentials(forge);
        let pushed = tokio::task::spawn_blocking(move || {
            let dir = tempfile::tempdir().unwrap();
            git2_clone_commit_push(&url, user, token, &dir.path().join("work")).unwrap()
        })
        .await
        .unwrap();
        let refs = emu.refs(forge, path).unwrap();
        assert_eq!(refs.get("refs/heads/git2"), Some(&pushed), "{forge:?}");
        let file = emu.file(forge, path, &pushed, "NOTES.md").unwrap();
        assert_eq!(file.as_deref(), Some(&b"pushed by git2\n"[..]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_repos_need_a_token_and_archived_repos_refuse_pushes() {
    let emu = util::start().await;
    emu.create_repo(Forge::Github, "acme/secret", RepoSeed::default().private())
        .unwrap();
    emu.create_repo(Forge::Gitlab, "acme/old", RepoSeed::default().archived())
        .unwrap();
    let secret = emu.clone_url(Forge::Github, "acme/secret");
    let old = emu.clone_url(Forge::Gitlab, "acme/old");
    let (gh_user, gh_token) = credentials(Forge::Github);
    let (gl_user, gl_token) = credentials(Forge::Gitlab);
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        assert!(!git(dir.path(), &["clone", "--quiet", &secret, "anon"])
            .status
            .success());
        let wrong = with_credentials(&secret, gh_user, "not-a-token");
        assert!(!git(dir.path(), &["clone", "--quiet", &wrong, "wrong"])
            .status
            .success());
        git_ok(
            dir.path(),
            &[
                "clone",
                "--quiet",
                &with_credentials(&secret, gh_user, gh_token),
                "ok",
            ],
        );
        let authed = with_credentials(&old, gl_user, gl_token);
        git_ok(dir.path(), &["clone", "--quiet", &authed, "old"]);
        let work = dir.path().join("old");
        git_ok(&work, &["commit", "--quiet", "--allow-empty", "-m", "x"]);
        let out = git(
            &work,
            &["push", "--quiet", "origin", "HEAD:refs/heads/main"],
        );
        assert!(!out.status.success());
    })
    .await
    .unwrap();
    let counted = emu.request_count(
        drover_emulator::Site::Github,
        "GET /{owner}/{repo}.git/info/refs",
    );
    assert!(counted >= 3, "{counted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushing_into_an_empty_repository_creates_the_default_branch() {
    let emu = util::start().await;
    emu.create_repo(Forge::Sourcehut, "alice/fresh", RepoSeed::default().empty())
        .unwrap();
    assert!(emu
        .refs(Forge::Sourcehut, "~alice/fresh")
        .unwrap()
        .is_empty());
    let url = with_credentials(
        &emu.clone_url(Forge::Sourcehut, "alice/fresh"),
        "alice",
        util::SRHT_TOKEN,
    );
    let head = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        git_ok(dir.path(), &["clone", "--quiet", &url, "fresh"]);
        let work = dir.path().join("fresh");
        // Incompressible and over git's 1 MiB post buffer: a chunked push.
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let big: Vec<u8> = (0..3 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(work.join("big.bin"), &big).unwrap();
        std::fs::write(work.join("a.txt"), "a").unwrap();
        git_ok(&work, &["add", "."]);
        git_ok(&work, &["commit", "--quiet", "-m", "first"]);
        git_ok(&work, &["push", "--quiet", "origin", "main"]);
        git_ok(&work, &["rev-parse", "HEAD"])
    })
    .await
    .unwrap();
    assert_eq!(
        emu.resolve(Forge::Sourcehut, "~alice/fresh", "main")
            .unwrap(),
        Some(head)
    );
}
