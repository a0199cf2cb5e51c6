//! Small helpers: a fresh copy of the examples, a command to run drover in
//! it, and `git` to look at what drover wrote.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const DROVER: &str = env!("CARGO_BIN_EXE_drover");

/// The project's root (where fleet.yaml and examples/ live).
pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary copy of the examples with the project's fleet.yaml. Policies
/// and templates are not copied: drover falls back to its embedded ones.
pub struct Fleet {
    pub dir: tempfile::TempDir,
}

impl Fleet {
    pub fn plain() -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&project().join("examples"), &dir.path().join("examples"));
        std::fs::copy(project().join("fleet.yaml"), dir.path().join("fleet.yaml")).unwrap();
        Fleet { dir }
    }

    /// The examples as git repositories, each with one commit on `main`.
    pub fn git() -> Fleet {
        let fleet = Fleet::plain();
        for repo in fleet.repos() {
            git(&repo, &["init", "-q", "-b", "main"]);
            git(&repo, &["add", "-A"]);
            git(&repo, &["commit", "-q", "-m", "initial"]);
        }
        fleet
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn repo(&self, name: &str) -> PathBuf {
        self.root().join("examples").join(name)
    }

    pub fn repos(&self) -> Vec<PathBuf> {
        let mut out: Vec<_> = std::fs::read_dir(self.root().join("examples"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        out.sort();
        out
    }

    /// Copies the shipped policies and templates beside fleet.yaml, where
    /// drover then reads them instead of the embedded ones.
    pub fn eject_defaults(&self) {
        for dir in ["policies", "templates"] {
            copy_dir(&project().join(dir), &self.root().join(dir));
        }
    }

    pub fn drover(&self, args: &[&str]) -> Run {
        self.drover_with(args, &[])
    }

    /// `drover` with extra environment variables.
    pub fn drover_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = Command::new(DROVER)
            .args(args)
            .current_dir(self.root())
            .env_remove("DROVER_CONFIG")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        Run::from(out)
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "drover failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs git in `dir` and returns its trimmed stdout; fails the test on error.
#[track_caller]
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}
