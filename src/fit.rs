//! The fit check: what a rendered file refers to must exist in the
//! repository it is proposed to — paths it copies, lock files its install
//! commands require, binaries, scripts, extras, groups and main packages it
//! names. Pure: it reads the rendering, the facts and the snapshot.
//!
//! Templates decide from the facts and declare misfits themselves
//! (`misfit(reason=…)`); this check is the net under them, for every
//! template, the user's own included: a rendering that refers to something
//! the repository does not have is not proposed, and the reason says what.

use std::sync::LazyLock;

use regex::Regex;

use crate::facts::Facts;
use crate::model::{Actual, EntryKind, RepoPath, Snapshot};

/// Why `content`, rendered for `path`, does not fit; empty when it does.
pub fn check(path: &RepoPath, content: &str, facts: &Facts, snapshot: &Snapshot) -> Vec<String> {
    let mut problems = Vec::new();
    let exists = |p: &str| exists(snapshot, p);
    let name = path.as_str().rsplit('/').next().unwrap_or("");
    if name == "Dockerfile" || name.ends_with(".Dockerfile") {
        for source in copy_sources(content) {
            if exists(&source) == Some(false) && !produced_by_build(&source, facts) {
                problems.push(format!(
                    "copies `{source}`, which the repository does not have"
                ));
            }
        }
    }
    let commands = commands(content);
    for cmd in &commands {
        check_command(cmd, facts, &exists, &mut problems);
    }
    problems.sort();
    problems.dedup();
    problems
}

/// Whether `path` exists in the snapshot: `Some(true/false)` when the
/// snapshot read it or listed its directory, `None` when it cannot tell.
pub fn exists(snapshot: &Snapshot, path: &str) -> Option<bool> {
    let path = path.trim_start_matches("./").trim_end_matches('/');
    if path.is_empty() || path == "." {
        return Some(true);
    }
    if let Ok(p) = RepoPath::new(path) {
        match snapshot.files.get(&p) {
            Some(Actual::Missing) => {}
            Some(_) => return Some(true),
            None => {}
        }
    }
    if snapshot.listings.contains_key(path) {
        return Some(true);
    }
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    match snapshot.listings.get(dir) {
        Some(entries) => Some(
            entries
                .iter()
                .any(|e| e.name == name && e.kind != EntryKind::Other),
        ),
        None => {
            // An ancestor listed without the next step: missing.
            let mut parts: Vec<&str> = dir.split('/').collect();
            while !parts.is_empty() {
                let last = parts.pop().unwrap_or("");
                let parent = parts.join("/");
                if let Some(entries) = snapshot.listings.get(&parent) {
                    return if entries.iter().any(|e| e.name == last) {
                        None
                    } else {
                        Some(false)
                    };
                }
            }
            None
        }
    }
}

/// Paths a build creates before the image copies them (TypeScript's
/// `dist/`), when the project has a build script.
fn produced_by_build(source: &str, facts: &Facts) -> bool {
    facts.node.as_ref().is_some_and(|n| {
        n.has_script("build")
            && ["dist/", "build/", "lib/"]
                .iter()
                .any(|d| source.starts_with(d))
    })
}

/// The sources of every `COPY`/`ADD` that copies from the build context.
fn copy_sources(dockerfile: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in dockerfile.lines() {
        let line = line.trim();
        let Some(rest) = line
            .strip_prefix("COPY ")
            .or_else(|| line.strip_prefix("ADD "))
        else {
            continue;
        };
        if rest.contains("--from") {
            continue;
        }
        let words: Vec<&str> = rest
            .split_whitespace()
            .filter(|w| !w.starts_with("--"))
            .collect();
        if words.len() < 2 || words[0].starts_with('[') {
            continue;
        }
        for source in &words[..words.len() - 1] {
            if !source.contains(['*', '?', '$']) {
                out.push((*source).to_owned());
            }
        }
    }
    out
}

/// Shell commands of a CI file or Dockerfile: `run:`/`script:` lines,
/// `RUN` instructions and task bodies, one command per line or `&&` part.
fn commands(content: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in content.lines() {
        let mut line = line.trim();
        for prefix in ["- run:", "run:", "RUN ", "- ", "&& "] {
            if let Some(rest) = line.strip_prefix(prefix) {
                line = rest.trim();
            }
        }
        let line = line.trim_start_matches("docker exec toolchain ");
        for part in line.split("&&") {
            let part = part.trim().trim_end_matches('\\').trim();
            if !part.is_empty() && !part.starts_with('#') {
                out.push(part.to_owned());
            }
        }
    }
    out
}

static BIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:--bin\s+|target/release/)([A-Za-z0-9_.-]+)").expect("compiles")
});
static EXTRA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\.\[([A-Za-z0-9_,-]+)\]"#).expect("compiles"));
static GROUP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"--group\s+([A-Za-z0-9_-]+)").expect("compiles"));
static REQUIREMENTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:-r|--requirement)\s+(\S+)").expect("compiles"));
static SCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(npm|yarn|pnpm|bun)\s+(?:run\s+)?([A-Za-z0-9:_-]+)").expect("compiles")
});
static GO_BUILD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^go build .*?(\./[A-Za-z0-9_./-]*|\.)\s*$").expect("compiles"));

fn check_command(
    cmd: &str,
    facts: &Facts,
    exists: &dyn Fn(&str) -> Option<bool>,
    problems: &mut Vec<String>,
) {
    let missing = |file: &str| exists(file) == Some(false);
    if let Some(rust) = &facts.rust {
        if cmd.starts_with("cargo ") && cmd.contains("--locked") && !rust.lock {
            problems.push(format!("`{cmd}` needs Cargo.lock, which is not committed"));
        }
        if cmd.starts_with("cargo ") || cmd.starts_with("cp target/") {
            for c in BIN.captures_iter(cmd) {
                let bin = &c[1];
                if !rust.bins.iter().any(|b| b == bin) {
                    problems.push(format!(
                        "`{cmd}` names binary `{bin}`, which no package builds"
                    ));
                }
            }
        }
        if cmd.contains("cargo test") && cmd.contains("--doc") && !rust.lib {
            problems.push(format!(
                "`{cmd}` runs doctests, but there is no library target"
            ));
        }
    }
    if let Some(go) = &facts.go {
        if let Some(c) = GO_BUILD.captures(cmd) {
            let pkg = &c[1];
            if pkg != "./..." && !go.mains.iter().any(|m| m == pkg) {
                problems.push(format!(
                    "`{cmd}` builds `{pkg}`, which is not a main package"
                ));
            }
        }
    }
    if let Some(node) = &facts.node {
        let lock_for = [
            ("npm ci", "package-lock.json"),
            ("yarn install --frozen-lockfile", "yarn.lock"),
            ("yarn install --immutable", "yarn.lock"),
            ("pnpm install --frozen-lockfile", "pnpm-lock.yaml"),
        ];
        for (install, lock) in lock_for {
            if cmd.starts_with(install)
                && missing(lock)
                && !(lock == "package-lock.json" && exists("npm-shrinkwrap.json") == Some(true))
            {
                problems.push(format!("`{cmd}` needs {lock}, which is not committed"));
            }
        }
        if let Some(c) = SCRIPT.captures(cmd) {
            let (tool, script) = (&c[1], &c[2]);
            let builtin = [
                "install", "ci", "prune", "add", "exec", "dlx", "x", "config", "set",
            ];
            if tool != node.manager && tool != "npm" {
                problems.push(format!(
                    "`{cmd}` uses {tool}, but the repository uses {}",
                    node.manager
                ));
            } else if !builtin.contains(&script) && !node.has_script(script) {
                problems.push(format!(
                    "`{cmd}` runs script `{script}`, which package.json does not have"
                ));
            }
        }
    }
    if let Some(py) = &facts.python {
        for c in EXTRA.captures_iter(cmd) {
            for extra in c[1].split(',') {
                if !py.extras.iter().any(|e| e == extra) {
                    problems.push(format!(
                        "`{cmd}` installs extra `{extra}`, which the project does not declare"
                    ));
                }
            }
        }
        for c in GROUP.captures_iter(cmd) {
            if !py.groups.iter().any(|g| g == &c[1]) {
                problems.push(format!(
                    "`{cmd}` installs group `{}`, which the project does not declare",
                    &c[1]
                ));
            }
        }
        for c in REQUIREMENTS.captures_iter(cmd) {
            // A file the command itself wrote outside the repository is
            // not the repository's to have.
            if !c[1].starts_with('/') && missing(&c[1]) {
                problems.push(format!(
                    "`{cmd}` reads {}, which the repository does not have",
                    &c[1]
                ));
            }
        }
        if cmd.starts_with("uv sync") && cmd.contains("--locked") && missing("uv.lock") {
            problems.push(format!("`{cmd}` needs uv.lock, which is not committed"));
        }
        if (cmd.starts_with("pip install .") || cmd.contains("pip install -e")) && !py.installable {
            problems.push(format!(
                "`{cmd}` installs the project, which has no build configuration"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::snapshot_of;

    fn problems(files: &[(&str, &str)], path: &str, content: &str) -> Vec<String> {
        let snap = snapshot_of(files);
        check(
            &RepoPath::new(path).unwrap(),
            content,
            &Facts::read(&snap),
            &snap,
        )
    }

    #[test]
    fn references_to_what_the_repository_lacks_are_misfits() {
        let lib = [
            ("Cargo.toml", "[package]\nname = \"x\"\n"),
            ("src/lib.rs", ""),
        ];
        let got = problems(&lib, "Dockerfile", "COPY Cargo.toml Cargo.lock ./\nRUN cargo build --locked --release \\\n    && cp target/release/x /app\n");
        assert_eq!(
            got,
            [
                "`cargo build --locked --release` needs Cargo.lock, which is not committed",
                "`cp target/release/x /app` names binary `x`, which no package builds",
                "copies `Cargo.lock`, which the repository does not have",
            ]
        );
        let got = problems(
            &lib,
            ".github/workflows/ci.yml",
            "      - run: cargo test --doc\n",
        );
        assert!(got.is_empty(), "{got:?}");

        let yarn = [
            ("package.json", r#"{"scripts":{"build":"tsc"}}"#),
            ("yarn.lock", ""),
        ];
        let got = problems(
            &yarn,
            "ci.yml",
            "      - run: npm ci\n      - run: npm test\n      - run: yarn run build\n",
        );
        // npm runs any manager's scripts: only its lock and script count.
        assert_eq!(
            got,
            [
                "`npm ci` needs package-lock.json, which is not committed",
                "`npm test` runs script `test`, which package.json does not have",
            ]
        );

        let py = [(
            "pyproject.toml",
            "[project]\nname = \"p\"\n[dependency-groups]\ndev = [\"pytest\"]\n",
        )];
        let got = problems(&py, "ci.yml", "  - run: python -m pip install -e \".[dev]\"\n  - run: python -m pip install -e . --group dev\n");
        assert_eq!(got, ["`python -m pip install -e \".[dev]\"` installs extra `dev`, which the project does not declare"]);

        let go = [
            ("go.mod", "module x\n"),
            ("cmd/server/main.go", "package main\n"),
        ];
        let got = problems(
            &go,
            "Dockerfile",
            "RUN go build -o /app ./cmd/x\nRUN go build -o /app ./cmd/server\n",
        );
        assert_eq!(
            got,
            ["`go build -o /app ./cmd/x` builds `./cmd/x`, which is not a main package"]
        );
    }
}
