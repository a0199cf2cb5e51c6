//! Which revision of the policies and templates a proposal came from, in
//! words a person can look up: the git commit of the directory holding
//! them (`git describe` form, `-modified` when they have uncommitted
//! changes), or drover's version for the embedded defaults. Worked out
//! once when the configuration is loaded; never part of a fingerprint
//! (a commit that changes nothing rendered proposes nothing).

use std::path::Path;

/// Says where `dirs` (the policies and templates directories in use; none
/// for the embedded defaults) come from; a directory outside git is named
/// relative to `base` (fleet.yaml's directory), never by this machine's
/// absolute path, which every proposal would publish.
pub fn describe(dirs: &[&Path], base: &Path) -> String {
    let Some(first) = dirs.first() else {
        return format!("drover {}'s embedded templates", env!("CARGO_PKG_VERSION"));
    };
    match git_revision(dirs) {
        Some(rev) => format!("`{rev}` of the fleet's configuration repository"),
        None => format!(
            "the templates in `{}` (not in a git repository)",
            crate::model::one_line(
                &first
                    .strip_prefix(base)
                    .unwrap_or(first)
                    .display()
                    .to_string()
            )
        ),
    }
}

/// `git describe --tags --always` of the repository holding `dirs`, with
/// `-modified` when any of them has uncommitted changes.
fn git_revision(dirs: &[&Path]) -> Option<String> {
    let repo = git2::Repository::discover(dirs[0]).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let head = repo.head().ok()?.peel_to_commit().ok()?;
    let mut described = repo
        .describe(
            git2::DescribeOptions::new()
                .describe_tags()
                .show_commit_oid_as_fallback(true),
        )
        .and_then(|d| {
            d.format(Some(
                git2::DescribeFormatOptions::new().abbreviated_size(12),
            ))
        })
        .unwrap_or_else(|_| head.id().to_string()[..12].to_owned());
    let mut status = git2::StatusOptions::new();
    status.include_untracked(true).include_ignored(false);
    for dir in dirs {
        let Ok(rel) = dir
            .canonicalize()
            .map(|d| d.strip_prefix(&workdir).map(Path::to_path_buf))
        else {
            continue;
        };
        match rel {
            Ok(rel) if rel.as_os_str().is_empty() => {
                status.pathspec(".");
            }
            Ok(rel) => {
                status.pathspec(rel.to_string_lossy().replace('\\', "/"));
            }
            Err(_) => {}
        }
    }
    let modified = repo
        .statuses(Some(&mut status))
        .map(|s| !s.is_empty())
        .unwrap_or(false);
    if modified {
        described.push_str("-modified");
    }
    Some(described)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn embedded_defaults_name_drovers_version() {
        assert_eq!(
            describe(&[], Path::new(".")),
            format!("drover {}'s embedded templates", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn a_git_checkout_is_named_by_tag_or_commit_and_says_when_modified() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let templates = root.join("templates");
        std::fs::create_dir(&templates).unwrap();
        std::fs::write(templates.join("ci.yml.tera"), "a\n").unwrap();
        assert_eq!(
            describe(&[&templates], root),
            "the templates in `templates` (not in a git repository)"
        );
        git(root, &["init", "-q"]);
        git(root, &["add", "."]);
        git(root, &["commit", "-qm", "first"]);
        let head = String::from_utf8(
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .current_dir(root)
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        assert_eq!(
            describe(&[&templates], root),
            format!("`{}` of the fleet's configuration repository", head.trim())
        );
        git(root, &["tag", "v1.2.0"]);
        assert_eq!(
            describe(&[&templates], root),
            "`v1.2.0` of the fleet's configuration repository"
        );
        // A change elsewhere in the repository is not the templates'.
        std::fs::write(root.join("notes.txt"), "x\n").unwrap();
        assert_eq!(
            describe(&[&templates], root),
            "`v1.2.0` of the fleet's configuration repository"
        );
        std::fs::write(templates.join("ci.yml.tera"), "b\n").unwrap();
        assert_eq!(
            describe(&[&templates], root),
            "`v1.2.0-modified` of the fleet's configuration repository"
        );
    }
}
