//! Bytes drover does not manage stay as they are, on GitHub: a `block`
//! file that is not UTF-8 is read exactly (GraphQL's `Blob.text` is lossy)
//! and refused with its reason instead of coming back with U+FFFD; the
//! bytes a proposal writes reach the branch exactly, binary or Latin-1.

use drover::config::Author;
use drover::forge::github::{Credentials, GithubForge};
use drover::forge::http::RetryPolicy;
use drover::forge::Forge as _;
use drover::model::{FileChange, ForgeNote, RepoPath, Secret, Wanted};
use drover::proposal::Proposal;
use drover_emulator::{Emulator, EmulatorConfig, Forge, OwnerKind};

use crate::harness::{drover, report_of, rust, write_fleet};

const TOKEN: &str = "ghp_exactBytesToken0123";
/// `# café` in Latin-1, then drover's block.
const LATIN1_IGNORE: &[u8] =
    b"# caf\xe9\nown/\n# >>> drover managed block >>>\n.git/\n# <<< drover managed block <<<\n";

async fn github() -> Emulator {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_owner(Forge::Github, OwnerKind::Organization, "acme")
        .unwrap();
    emu.create_token(Forge::Github, "octo", TOKEN).unwrap();
    emu.create_repo(
        Forge::Github,
        "acme/api",
        rust("api").file(".dockerignore", LATIN1_IGNORE.to_vec()),
    )
    .unwrap();
    emu
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latin1_block_file_is_refused_with_its_reason_never_rewritten() {
    let emu = github().await;
    let dir = tempfile::tempdir().unwrap();
    write_fleet(
        dir.path(),
        &format!(
            "forge:\n  kind: github\n  url: {}\n  owner: acme\n  token: env:DROVER_TEST_TOKEN\n",
            emu.github_url()
        ),
    );
    let run = drover(
        dir.path(),
        &["sweep", "--json"],
        &[("DROVER_TEST_TOKEN", TOKEN)],
    )
    .await;
    let report: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    let api = report_of(&report, "api");
    assert!(
        api.to_string().contains("not UTF-8"),
        "the refusal says why: {api}"
    );
    // Whatever else was proposed, `.dockerignore` is as the repository has it.
    for branch in ["main", "drover/sync"] {
        if let Some(bytes) = emu
            .file(Forge::Github, "acme/api", branch, ".dockerignore")
            .unwrap()
        {
            assert_eq!(bytes, LATIN1_IGNORE, "{branch}");
        }
    }
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_and_latin1_files_reach_the_branch_byte_for_byte() {
    let emu = github().await;
    let forge = GithubForge::new(
        emu.github_url(),
        "acme",
        "drover/sync",
        Credentials::Token(Secret::new(TOKEN)),
        RetryPolicy::default(),
    )
    .unwrap();
    let repos = forge.discover().await.unwrap();
    let repo = repos.iter().find(|r| r.name == "api").unwrap();
    let wanted = Wanted {
        paths: vec![RepoPath::new(".dockerignore").unwrap()],
        ..Wanted::default()
    };
    let snapshot = forge.snapshot(std::slice::from_ref(repo), &wanted).await;
    let snapshot = snapshot.into_iter().next().unwrap().unwrap();
    // The snapshot read the Latin-1 bytes, not GraphQL's lossy text.
    assert_eq!(
        snapshot.files[&RepoPath::new(".dockerignore").unwrap()],
        drover::model::Actual::File {
            content: LATIN1_IGNORE.to_vec()
        }
    );

    let binary: Vec<u8> = vec![0x89, b'P', b'N', b'G', 0, 0xff, 0xfe, b'\n'];
    let latin1 = b"# na\xefve\n".to_vec();
    let proposal = Proposal {
        branch: "drover/sync".into(),
        title: "Bytes".into(),
        body: "<!-- drover:proposal repo=acme/api fingerprint=ab12 -->".into(),
        commit_message: "Bytes\n\nDrover-Fingerprint: ab12\n".into(),
        base: snapshot.head.clone(),
        base_tree: snapshot.head_tree.clone(),
        changes: vec![
            FileChange {
                path: RepoPath::new("logo.png").unwrap(),
                content: Some(binary.clone()),
            },
            FileChange {
                path: RepoPath::new("NOTES.latin1").unwrap(),
                content: Some(latin1.clone()),
            },
        ],
        patch: String::new(),
        author: Author::default(),
        also_ours: Vec::new(),
        labels: vec![],
        reviewers: vec![],
        fingerprint: "ab12".into(),
        default_branch: "main".into(),
        branch_tip: None,
        existing: vec![],
        note: ForgeNote::default(),
        retry: Default::default(),
        words_sent: None,
        accounts: Default::default(),
    };
    forge.propose(repo, &proposal).await.unwrap();
    let read = |path: &str| {
        emu.file(Forge::Github, "acme/api", "drover/sync", path)
            .unwrap()
            .unwrap()
    };
    assert_eq!(read("logo.png"), binary);
    assert_eq!(read("NOTES.latin1"), latin1);
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}
