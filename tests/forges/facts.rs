//! Repository facts read through each forge's batched snapshot: a Rust
//! virtual workspace (members behind a glob: a follow-up read lists
//! `crates/` and reads each member's manifest and sources) and a Go
//! service under `cmd/<other name>` (a follow-up read lists `cmd/server`
//! and reads its `main.go`; its own `.drover.yaml` opts out of the
//! Dockerfile), on the emulated GitHub, GitLab and sourcehut.
//! Every request conforms to the forge's official description.

use drover_emulator::{Emulator, EmulatorConfig, Forge, OwnerKind, RepoSeed};

use crate::harness::{drover, write_fleet};

const TOKEN: &str = "forge-facts-token-value-123";

fn workspace() -> RepoSeed {
    RepoSeed::default()
        .file(
            "Cargo.toml",
            "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
        )
        .file("Cargo.lock", "version = 4\n")
        .file(
            "crates/core/Cargo.toml",
            "[package]\nname = \"wscore\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .file("crates/core/src/lib.rs", "pub fn f() {}\n")
        .file(
            "crates/cli/Cargo.toml",
            "[package]\nname = \"wsctl\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .file("crates/cli/src/main.rs", "fn main() {}\n")
}

fn go_service() -> RepoSeed {
    RepoSeed::default()
        .file("go.mod", "module example.org/kv\n\ngo 1.23\n")
        .file(
            "cmd/server/main.go",
            "package main\n\nimport \"net/http\"\n\nfunc main() {\n\t_ = http.ListenAndServe(\":9000\", nil)\n}\n",
        )
        // The team keeps its own Dockerfile (it has none yet: built by
        // the platform's buildpacks) and says so in its own tree.
        .file(
            ".drover.yaml",
            "skip:\n  - path: Dockerfile\n    reason: built by buildpacks\n",
        )
}

async fn facts_on(forge: Forge) {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let section = match forge {
        Forge::Github => {
            emu.create_owner(forge, OwnerKind::Organization, "acme")
                .unwrap();
            emu.create_token(forge, "octo", TOKEN).unwrap();
            format!("kind: github\n  url: {}\n  owner: acme", emu.github_url())
        }
        Forge::Gitlab => {
            emu.create_token(forge, "gitlabber", TOKEN).unwrap();
            format!("kind: gitlab\n  url: {}\n  owner: acme", emu.gitlab_url())
        }
        Forge::Sourcehut => {
            emu.create_token(forge, "acme", TOKEN).unwrap();
            format!(
                "kind: sourcehut\n  url: {}\n  lists_url: {}\n  owner: acme",
                emu.srht_git_url(),
                emu.srht_lists_url()
            )
        }
    };
    emu.create_repo(forge, "acme/ws", workspace()).unwrap();
    emu.create_repo(forge, "acme/kv", go_service()).unwrap();
    if forge == Forge::Sourcehut {
        for list in ["ws-devel", "kv-devel"] {
            emu.srht_create_list("acme", list).unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    write_fleet(
        dir.path(),
        &format!("forge:\n  {section}\n  token: env:DROVER_TEST_TOKEN\n"),
    );
    let run = drover(
        dir.path(),
        &["plan", "--json"],
        &[("DROVER_TEST_TOKEN", TOKEN)],
    )
    .await;
    let report: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{forge:?}: {e}\n{}", run.stderr));
    let repo = |name: &str| {
        report["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{forge:?}: no {name} in {report}"))
            .clone()
    };
    let ws = repo("ws");
    assert_eq!(ws["kind"], "cli", "{forge:?}: {ws}");
    let rust = &ws["facts"]["rust"];
    assert_eq!(rust["workspace"], "virtual", "{forge:?}: {rust}");
    assert_eq!(
        rust["bins"],
        serde_json::json!(["wsctl"]),
        "{forge:?}: {rust}"
    );
    assert_eq!(rust["lib"], true, "{forge:?}: {rust}");
    let docker = ws["drift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == "Dockerfile")
        .unwrap_or_else(|| panic!("{forge:?}: {ws}"));
    assert!(
        docker["diff"].as_str().unwrap().contains("--bin wsctl"),
        "{forge:?}"
    );

    let kv = repo("kv");
    assert_eq!(kv["kind"], "service", "{forge:?}: {kv}");
    let go = &kv["facts"]["go"];
    assert_eq!(
        go["mains"],
        serde_json::json!(["./cmd/server"]),
        "{forge:?}: {go}"
    );
    assert_eq!(go["service"]["port"], 9000, "{forge:?}: {go}");
    // Its own .drover.yaml, read in the same snapshot, keeps the
    // Dockerfile out of the proposal and says why.
    let paths = |key: &str| -> Vec<String> {
        kv[key]
            .as_array()
            .unwrap_or_else(|| panic!("{forge:?}: no {key} in {kv}"))
            .iter()
            .map(|d| d["path"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        !paths("drift").contains(&"Dockerfile".to_owned()),
        "{forge:?}: {kv}"
    );
    assert!(
        paths("drift").iter().any(|p| p.starts_with("deploy/")),
        "{forge:?}: {kv}"
    );
    assert_eq!(
        kv["skipped_files"][0],
        serde_json::json!({
            "path": "Dockerfile",
            "reason": "built by buildpacks (the repository's .drover.yaml)"
        }),
        "{forge:?}: {kv}"
    );
    assert!(
        emu.violations().is_empty(),
        "{forge:?}: {:#?}",
        emu.violations()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_reads_workspace_members_and_main_packages() {
    facts_on(Forge::Github).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_reads_workspace_members_and_main_packages() {
    facts_on(Forge::Gitlab).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sourcehut_reads_workspace_members_and_main_packages() {
    facts_on(Forge::Sourcehut).await;
}
