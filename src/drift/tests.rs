use super::*;
use crate::config::Markers;

fn want(path: &str, mode: Mode, content: Option<&str>) -> DesiredFile {
    DesiredFile {
        path: RepoPath::new(path).unwrap(),
        mode,
        content: content.map(str::to_owned),
        why: "because".into(),
        template: None,
        markers: Markers::default(),
        takeover: crate::config::Takeover::Keep,
        stands_alone: false,
    }
}

fn snap(files: &[(&str, Actual)]) -> Snapshot {
    Snapshot {
        head: Some("abc".into()),
        files: files
            .iter()
            .map(|(p, a)| (RepoPath::new(p).unwrap(), a.clone()))
            .collect(),
        ..Snapshot::default()
    }
}

fn file(text: &str) -> Actual {
    Actual::File {
        content: text.as_bytes().to_vec(),
    }
}

fn after(d: &FileDrift) -> &str {
    std::str::from_utf8(d.after.as_deref().unwrap()).unwrap()
}

#[test]
fn whole_mode() {
    let w = [want("a", Mode::Whole, Some("x\ny\n"))];
    assert!(compare(&w, &snap(&[("a", file("x\ny\n"))]))
        .unwrap()
        .is_empty());
    let d = compare(&w, &snap(&[])).unwrap();
    assert_eq!(d[0].change, Change::Create);
    let d = compare(&w, &snap(&[("a", file("x\nz\n"))])).unwrap();
    assert_eq!((d[0].change, after(&d[0])), (Change::Update, "x\ny\n"));
    insta::assert_snapshot!(d[0].diff, @r"
    diff --git a/a b/a
    --- a/a
    +++ b/a
    @@ -1,2 +1,2 @@
     x
    -z
    +y
    ");
}

#[test]
fn exists_mode_never_overwrites() {
    let w = [want("a", Mode::Exists, Some("template\n"))];
    assert!(compare(&w, &snap(&[("a", file("mine\n"))]))
        .unwrap()
        .is_empty());
    let d = compare(&w, &snap(&[])).unwrap();
    assert_eq!((d[0].change, after(&d[0])), (Change::Create, "template\n"));
}

#[test]
fn absent_mode_deletes() {
    let w = [want("old.yml", Mode::Absent, None)];
    assert!(compare(&w, &snap(&[])).unwrap().is_empty());
    let d = compare(&w, &snap(&[("old.yml", file("a: 1\n"))])).unwrap();
    assert_eq!(d[0].change, Change::Delete);
    assert!(d[0].after.is_none());
    assert!(
        d[0].diff
            .contains("deleted file mode 100644\n--- a/old.yml\n+++ /dev/null\n"),
        "{}",
        d[0].diff
    );
}

#[test]
fn block_mode_keeps_every_byte_outside_the_markers() {
    let w = [want(".dockerignore", Mode::Block, Some("target\n.git\n"))];
    let outside_before = "# mine\r\nsecret.txt  \n\n";
    let outside_after = "\tkeep me exactly\nno final newline";
    let existing = format!(
        "{outside_before}# >>> drover managed block >>>\nstale\n# <<< drover managed block <<<\n{outside_after}"
    );
    let d = compare(&w, &snap(&[(".dockerignore", file(&existing))])).unwrap();
    assert_eq!(
        after(&d[0]),
        format!("{outside_before}# >>> drover managed block >>>\ntarget\n.git\n# <<< drover managed block <<<\n{outside_after}")
    );
    // In line once the block matches.
    let fixed = after(&d[0]).to_owned();
    assert!(compare(&w, &snap(&[(".dockerignore", file(&fixed))]))
        .unwrap()
        .is_empty());
}

#[test]
fn block_mode_appends_or_creates() {
    let w = [want("f", Mode::Block, Some("a\n"))];
    let d = compare(&w, &snap(&[("f", file("mine"))])).unwrap();
    assert_eq!(
        after(&d[0]),
        "mine\n# >>> drover managed block >>>\na\n# <<< drover managed block <<<\n"
    );
    let d = compare(&w, &snap(&[])).unwrap();
    assert_eq!(
        after(&d[0]),
        "# >>> drover managed block >>>\na\n# <<< drover managed block <<<\n"
    );
}

#[test]
fn block_mode_refuses_broken_markers() {
    let w = [want("f", Mode::Block, Some("a\n"))];
    for text in [
        "# >>> drover managed block >>>\nx\n",
        "# <<< drover managed block <<<\n# >>> drover managed block >>>\n",
        "# >>> drover managed block >>>\n# <<< drover managed block <<<\n# >>> drover managed block >>>\n# <<< drover managed block <<<\n",
    ] {
        let err = compare(&w, &snap(&[("f", file(text))])).unwrap_err();
        assert!(matches!(err, DriftError::Block { .. }), "{text:?}: {err}");
    }
}

#[test]
fn crlf_files_keep_their_line_endings() {
    let w = [want("a", Mode::Whole, Some("x\ny\n"))];
    // Same content with CRLF: in line, not drift.
    assert!(compare(&w, &snap(&[("a", file("x\r\ny\r\n"))]))
        .unwrap()
        .is_empty());
    // Different content with CRLF: the update keeps CRLF.
    let d = compare(&w, &snap(&[("a", file("x\r\nz\r\n"))])).unwrap();
    assert_eq!(after(&d[0]), "x\r\ny\r\n");
    // Block mode inside a CRLF file writes CRLF lines.
    let b = [want("b", Mode::Block, Some("k\n"))];
    let d = compare(&b, &snap(&[("b", file("mine\r\n"))])).unwrap();
    assert_eq!(
        after(&d[0]),
        "mine\r\n# >>> drover managed block >>>\r\nk\r\n# <<< drover managed block <<<\r\n"
    );
    // Mixed endings are not CRLF: the rendering wins as is.
    let d = compare(&w, &snap(&[("a", file("x\r\ny\n"))])).unwrap();
    assert_eq!(after(&d[0]), "x\ny\n");
}

#[test]
fn a_missing_final_newline_is_drift() {
    let w = [want("a", Mode::Whole, Some("x\n"))];
    let d = compare(&w, &snap(&[("a", file("x"))])).unwrap();
    assert_eq!(d[0].change, Change::Update);
    assert!(
        d[0].diff.contains("\\ No newline at end of file"),
        "{}",
        d[0].diff
    );
}

#[test]
fn symlinks_and_directories_are_refused() {
    let w = [want("k8s/deploy.yaml", Mode::Whole, Some("x\n"))];
    let link = RepoPath::new("k8s").unwrap();
    let err = compare(
        &w,
        &snap(&[("k8s/deploy.yaml", Actual::ThroughSymlink { link })]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("through symlink `k8s`"), "{err}");
    let err = compare(
        &w,
        &snap(&[(
            "k8s/deploy.yaml",
            Actual::Symlink {
                target: "/etc/passwd".into(),
            },
        )]),
    )
    .unwrap_err();
    assert!(matches!(err, DriftError::Symlink { .. }));
    let err = compare(&w, &snap(&[("k8s/deploy.yaml", Actual::NotAFile)])).unwrap_err();
    assert!(matches!(err, DriftError::NotAFile { .. }));
}

#[test]
fn patches_apply_with_git() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("keep"), "x\r\nz\r\n").unwrap();
    std::fs::write(root.join("gone"), "bye\n").unwrap();
    std::fs::write(root.join("nonl"), "x").unwrap();
    let w = [
        want("keep", Mode::Whole, Some("x\ny\n")),
        want("gone", Mode::Absent, None),
        want("new/dir/file", Mode::Whole, Some("hello\n")),
        want("nonl", Mode::Whole, Some("x\n")),
    ];
    let s = snap(&[
        ("keep", file("x\r\nz\r\n")),
        ("gone", file("bye\n")),
        ("nonl", file("x")),
    ]);
    let drifts = compare(&w, &s).unwrap();
    let patch = patch_of(&drifts);
    std::fs::write(root.join("p.patch"), &patch).unwrap();
    let out = std::process::Command::new("git")
        .args(["apply", "--unsafe-paths", "p.patch"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git apply: {}\n{patch}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("keep")).unwrap(),
        "x\r\ny\r\n"
    );
    assert!(!root.join("gone").exists());
    assert_eq!(
        std::fs::read_to_string(root.join("new/dir/file")).unwrap(),
        "hello\n"
    );
    assert_eq!(std::fs::read_to_string(root.join("nonl")).unwrap(), "x\n");
}

#[test]
fn a_new_file_is_what_the_comparison_creates() {
    for w in [
        want("a", Mode::Whole, Some("x\n")),
        want("b", Mode::Block, Some("inside\n")),
        want("c", Mode::Exists, Some("seed\n")),
    ] {
        let created = compare(std::slice::from_ref(&w), &snap(&[])).unwrap();
        assert_eq!(new_file(&w).as_deref(), Some(after(&created[0])), "{w:?}");
    }
    assert_eq!(new_file(&want("d", Mode::Absent, None)), None);
}
