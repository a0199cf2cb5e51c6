//! The preview is what the forge receives: `plan --repo NAME --proposal
//! --json` prints a title and body that equal, byte for byte, what the
//! emulated GitHub then holds for the pull request drover opens — with
//! the fleet's `docs_url` and `config_url` linked and the templates'
//! revision named by their git commit.

use drover_emulator::Forge;

use crate::harness::{drover, git, write_fleet};

const TOKEN: &str = "ghp_emulatorTokenValue123";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_is_the_pull_request_byte_for_byte() {
    let emu = crate::github::github().await;
    let dir = tempfile::tempdir().unwrap();
    // The policies and templates in a git checkout, as a fleet keeps them.
    for (path, bytes) in drover::config::embedded_defaults() {
        let to = dir.path().join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
    write_fleet(
        dir.path(),
        &format!(
            "forge:\n  kind: github\n  url: {}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\n\
             defaults:\n  docs_url: https://wiki.example.com/drover\n  \
             config_url: https://git.example.com/platform/fleet/blob/main/fleet.yaml\n",
            emu.github_url()
        ),
    );
    std::fs::write(dir.path().join(".gitignore"), ".drover/\n").unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "fleet"]);
    git(dir.path(), &["tag", "v3.1.0"]);

    let env = [("DROVER_TEST_TOKEN", TOKEN)];
    let shown = drover(
        dir.path(),
        &["plan", "--repo", "ledger", "--proposal", "--json"],
        &env,
    )
    .await;
    let shown: serde_json::Value =
        serde_json::from_str(&shown.stdout).unwrap_or_else(|e| panic!("{e}: {}", shown.stderr));
    let run = drover(dir.path(), &["sweep", "--repo", "ledger"], &env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    let prs = emu.proposals(Forge::Github, "acme/ledger").unwrap();
    assert_eq!(prs.len(), 1);
    assert_eq!(shown["title"].as_str().unwrap(), prs[0].title);
    assert_eq!(shown["body"].as_str().unwrap(), prs[0].body);
    let body = &prs[0].body;
    assert!(
        body.contains(
            "Rendered from `v3.1.0` of the fleet's configuration repository (policy `go@"
        ),
        "{body}"
    );
    assert!(
        body.contains(
            "in [fleet.yaml](https://git.example.com/platform/fleet/blob/main/fleet.yaml)"
        ),
        "{body}"
    );
    assert!(
        body.trim_end()
            .ends_with("More about drover here: https://wiki.example.com/drover"),
        "{body}"
    );
    assert!(
        body.contains("`.drover.yaml` file at the repository's root"),
        "{body}"
    );
}
