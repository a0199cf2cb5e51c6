//! ARCHITECTURE.md's invariants about the library's shape, checked on the
//! source: the modules form layers and no module imports one above it
//! (so there are no import loops), and only `forge/` names a forge's wire
//! format (its headers, payload fields, API paths and hosts).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The library's modules, lowest first. A module may use those before it
/// in this list (and those on its own line), never those after it.
const LAYERS: &[&[&str]] = &[
    &["model", "fsutil", "suggest", "heap"],
    &["facts"],
    &["config"],
    &["render"],
    &["drift", "fit"],
    &["proposal"],
    &["git", "store"],
    &["forge"],
    &["sweep", "status"],
    &["migrate"],
    &["daemon"],
    &["cli"],
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to.
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// The code of a file: comment lines and unit tests left out.
fn code(path: &Path) -> Vec<(usize, String)> {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return Vec::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l.to_owned()))
        .collect()
}

fn layer(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer: add it to LAYERS"))
}

#[test]
fn no_module_uses_one_above_it() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files {
        let from = module_of(&file);
        if matches!(from.as_str(), "lib" | "main") {
            continue;
        }
        for (n, line) in code(&file) {
            for (i, _) in line.match_indices("crate::") {
                let to: String = line[i + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if to.is_empty() || to == from {
                    continue;
                }
                if layer(&to) > layer(&from) {
                    wrong
                        .entry(format!("{from} -> {to}"))
                        .or_default()
                        .push(format!("{}:{n}", file.display()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports from a lower layer to a higher one: {wrong:#?}"
    );
}

/// Words only a forge's own code may say, each with what it is.
const WIRE: &[&str] = &[
    "X-Hub-Signature",
    "X-GitHub-Event",
    "X-Gitlab-Token",
    "X-Payload-Signature",
    "path_with_namespace",
    "object_kind",
    "canonicalName",
    "full_name\"",
    "/api/v4",
    "/api/v3",
    "api.github.com",
    "gitlab.com",
    "sr.ht",
    "ghcr.io",
    "merge_requests",
    "/pulls",
    "graphql",
];

/// Where a wire word may stand outside `forge/`, and why.
const ALLOWED: &[(&str, &str)] = &[
    // The v1 -> v2 store migration reads proposal URLs as they were
    // stored then: frozen data, not a forge's current format.
    ("store/mod.rs", "merge_requests"),
    ("store/mod.rs", "/pulls"),
];

#[test]
fn only_forge_names_a_forges_wire_format() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut found = Vec::new();
    for file in files {
        if module_of(&file) == "forge" {
            continue;
        }
        let rel = file.strip_prefix(src()).unwrap().display().to_string();
        for (n, line) in code(&file) {
            for word in WIRE {
                let allowed = ALLOWED.iter().any(|(f, w)| *f == rel && w == word);
                if line.contains(word) && !allowed {
                    found.push(format!("src/{rel}:{n}: `{word}` in {}", line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "forge wire format outside forge/:\n{}",
        found.join("\n")
    );
}
