//! Facts, kinds, files, the README's rules and the validators over the
//! whole corpus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

pub fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

pub fn shapes() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The corpus as a local fleet planned for one CI flavour, and each
/// repository's rendering (`drover render`) in `rendered/<shape>/`.
pub struct Planned {
    pub dir: tempfile::TempDir,
    pub repos: BTreeMap<String, Value>,
}

impl Planned {
    pub fn rendered(&self, shape: &str) -> PathBuf {
        self.dir.path().join("rendered").join(shape)
    }

    pub fn repo(&self, shape: &str) -> &Value {
        self.repos
            .get(shape)
            .unwrap_or_else(|| panic!("{shape} was not planned"))
    }

    /// Paths proposed for a shape.
    pub fn proposed(&self, shape: &str) -> Vec<String> {
        self.repo(shape)["drift"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["path"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The text the proposal gives a file (the rendering, block spliced).
    pub fn text(&self, shape: &str, path: &str) -> String {
        std::fs::read_to_string(self.rendered(shape).join(path))
            .unwrap_or_else(|e| panic!("{shape}: {path}: {e}"))
    }
}

fn drover(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_drover"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

pub fn plan(ci: &str) -> Planned {
    let dir = tempfile::tempdir().unwrap();
    for shape in shapes() {
        copy_dir(
            &corpus().join(&shape),
            &dir.path().join("repos").join(&shape),
        );
    }
    std::fs::write(
        dir.path().join("fleet.yaml"),
        format!(
            "forge:\n  kind: local\n  path: repos\n  ci: {ci}\n  registry: ghcr.io/acme\nstate_dir: state\n"
        ),
    )
    .unwrap();
    let out = drover(dir.path(), &["plan", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("plan --json: {e}\n{}", String::from_utf8_lossy(&out.stderr)));
    let repos: BTreeMap<String, Value> = report["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_owned(), r.clone()))
        .collect();
    // What a proposal would write: the working copy with the drift applied
    // is the rendering for the proposed files.
    for (shape, r) in &repos {
        let target = dir.path().join("rendered").join(shape);
        copy_dir(&dir.path().join("repos").join(shape), &target);
        let out = drover(
            dir.path(),
            &[
                "render",
                "--repo",
                shape,
                "--out",
                target.join(".drover-render").to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success() || r["state"] == "misfit",
            "{shape}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for d in r["drift"].as_array().unwrap() {
            let path = d["path"].as_str().unwrap();
            let from = target.join(".drover-render").join(path);
            let to = target.join(path);
            if from.is_file() {
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(&from, &to).unwrap();
            } else {
                let _ = std::fs::remove_file(&to);
            }
        }
        let _ = std::fs::remove_dir_all(target.join(".drover-render"));
    }
    Planned { dir, repos }
}

/// Each flavour planned once for all the tests of this binary.
pub fn planned(ci: &str) -> &'static Planned {
    static GITHUB: OnceLock<Planned> = OnceLock::new();
    static GITLAB: OnceLock<Planned> = OnceLock::new();
    static SOURCEHUT: OnceLock<Planned> = OnceLock::new();
    let cell = match ci {
        "github" => &GITHUB,
        "gitlab" => &GITLAB,
        _ => &SOURCEHUT,
    };
    cell.get_or_init(|| plan(ci))
}

const FLAVOURS: [&str; 3] = ["github", "gitlab", "sourcehut"];

fn expectations() -> serde_yaml::Mapping {
    let text = std::fs::read_to_string(corpus().join("expect.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn yaml_json(v: &serde_yaml::Value) -> Value {
    serde_json::to_value(v).unwrap()
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = match v {
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_owned())
            .collect(),
        Value::Object(o) => o.keys().cloned().collect(),
        _ => Vec::new(),
    };
    out.sort();
    out
}

/// Compares what drover read with what expect.yaml says, key by key,
/// for the keys both speak of.
fn compare_facts(shape: &str, language: &str, want: &Value, got: &Value, errors: &mut Vec<String>) {
    let facts = &got["facts"][language];
    let mut check = |key: &str, want: Value, got: Value| {
        if want != got {
            errors.push(format!("{shape}: {key}: expected {want}, read {got}"));
        }
    };
    let w = |k: &str| want.get(k).cloned();
    match language {
        "rust" => {
            if let Some(bins) = w("bins") {
                check("bins", sorted(&bins).into(), sorted(&facts["bins"]).into());
            }
            if let Some(lib) = w("lib") {
                check("lib", lib, facts["lib"].clone());
            }
            if let Some(lock) = w("lock") {
                check("lock", (!lock.is_null()).into(), facts["lock"].clone());
            }
            if let Some(ws) = w("workspace") {
                check("workspace", ws, facts["workspace"].clone());
            }
            if let Some(v) = w("rust_version") {
                check(
                    "rust_version",
                    v,
                    facts.get("rust_version").cloned().unwrap_or(Value::Null),
                );
            }
            if let Some(m) = w("members") {
                check(
                    "members",
                    sorted(&m).into(),
                    sorted(&facts["members"]).into(),
                );
            }
        }
        "go" => {
            for key in ["mains", "execs"] {
                if let Some(v) = w(key) {
                    check(key, sorted(&v).into(), sorted(&facts[key]).into());
                }
            }
            if let Some(v) = w("go_sum") {
                check("go_sum", v, facts["sum"].clone());
            }
            if let Some(v) = w("module") {
                check("module", v, facts["module"].clone());
            }
        }
        "node" => {
            for (key, ours) in [
                ("manager", "manager"),
                ("lock", "lock"),
                ("typescript", "typescript"),
                ("native", "native"),
            ] {
                if let Some(v) = w(key) {
                    check(key, v, facts.get(ours).cloned().unwrap_or(Value::Null));
                }
            }
            if let Some(v) = w("scripts") {
                check(
                    "scripts",
                    sorted(&v).into(),
                    sorted(&facts["scripts"]).into(),
                );
            }
            if let Some(v) = w("bin") {
                check("bin", sorted(&v).into(), sorted(&facts["bins"]).into());
            }
        }
        "python" => {
            for key in ["tool", "lock", "layout", "framework"] {
                if let Some(v) = w(key) {
                    check(key, v, facts.get(key).cloned().unwrap_or(Value::Null));
                }
            }
            for key in ["extras", "groups", "scripts"] {
                if let Some(v) = w(key) {
                    check(key, sorted(&v).into(), sorted(&facts[key]).into());
                }
            }
        }
        _ => {}
    }
    // How a service serves, where its source says.
    let service = &facts["service"];
    if let Some(port) = w("port") {
        check(
            "port",
            port,
            service.get("port").cloned().unwrap_or(Value::Null),
        );
    }
    if let Some(health) = w("health_path") {
        check(
            "health_path",
            health,
            service.get("health_path").cloned().unwrap_or(Value::Null),
        );
    }
}

#[test]
fn every_shape_reads_as_expected() {
    let planned = planned("github");
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for (name, expect) in expectations() {
        let shape = name.as_str().unwrap();
        let expect = yaml_json(&expect);
        let got = planned.repo(shape);
        let language = expect["language"].as_str().unwrap();
        // A Node native addon carries a Cargo.toml too; Rust is tried first.
        let read_as = got["language"].as_str().unwrap_or("-");
        if read_as != language && !(shape == "node-native-addon" && read_as == "rust") {
            errors.push(format!(
                "{shape}: language: expected {language}, read {read_as}"
            ));
        }
        if got["kind"] != expect["kind"] {
            errors.push(format!(
                "{shape}: kind: expected {}, read {}",
                expect["kind"], got["kind"]
            ));
        }
        compare_facts(shape, language, &expect["facts"], got, &mut errors);
        rows.push(format!(
            "| {shape} | {} | {} | {} | {} |",
            got["kind"].as_str().unwrap_or("-"),
            got["state"].as_str().unwrap_or("-"),
            planned.proposed(shape).join(", "),
            got["reason"].as_str().unwrap_or(""),
        ));
    }
    eprintln!(
        "| shape | kind | state | files | misfit |\n|---|---|---|---|---|\n{}",
        rows.join("\n")
    );
    assert!(
        errors.is_empty(),
        "{} differences:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

/// The files each kind calls for: CI for all; an image for binaries;
/// Kubernetes for services. Misfits propose nothing.
#[test]
fn proposals_follow_the_kind_and_only_the_expected_shapes_misfit() {
    let misfits = ["node-native-addon", "rust-two-binaries"];
    for ci in FLAVOURS {
        let planned = planned(ci);
        for (shape, r) in &planned.repos {
            let files = planned.proposed(shape);
            let state = r["state"].as_str().unwrap();
            if misfits.contains(&shape.as_str()) {
                assert_eq!(state, "misfit", "{ci}: {shape}: {r}");
                assert!(files.is_empty(), "{ci}: {shape}: {files:?}");
                continue;
            }
            assert_eq!(state, "drifted", "{ci}: {shape}: {}", r["reason"]);
            let has = |p: &str| files.iter().any(|f| f == p);
            let kind = r["kind"].as_str().unwrap();
            let kept = |p: &str| {
                r["takeovers"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t["path"] == p))
            };
            assert!(
                has(&ci_path(ci)) || kept(&ci_path(ci)),
                "{ci}: {shape}: no CI in {files:?}"
            );
            assert_eq!(
                has("Dockerfile") || kept("Dockerfile"),
                kind != "library",
                "{ci}: {shape}: {files:?}"
            );
            assert_eq!(
                has("deploy/k8s/deployment.yaml"),
                kind == "service",
                "{ci}: {shape}: {files:?}"
            );
        }
    }
}

fn ci_path(ci: &str) -> String {
    match ci {
        "github" => ".github/workflows/ci.yml",
        "gitlab" => ".gitlab-ci.yml",
        _ => ".build.yml",
    }
    .into()
}

/// What the corpus README says a fitting proposal must (`+`) and must not
/// (`-`) contain, per shape and file (`CI` is the flavour's CI file).
const RULES: &[(&str, &str, &str)] = &[
    ("rust-service", "Dockerfile", "+--bin rust-service"),
    ("rust-service", "CI", "---doc"),
    (
        "rust-service",
        "deploy/k8s/deployment.yaml",
        "+containerPort: 8080",
    ),
    ("rust-service", "deploy/k8s/deployment.yaml", "-/healthz"),
    ("rust-workspace-service", "Dockerfile", "+--bin orders-api"),
    ("rust-workspace-service", "CI", "+--workspace"),
    (
        "rust-workspace-service",
        "deploy/k8s/deployment.yaml",
        "+path: /livez",
    ),
    (
        "rust-workspace-service",
        "deploy/k8s/deployment.yaml",
        "+containerPort: 3000",
    ),
    ("rust-cli", "CI", "---doc"),
    ("rust-cli", "Dockerfile", "-EXPOSE"),
    ("rust-library", "CI", "---locked"),
    ("rust-library", "CI", "+cargo test"),
    ("rust-virtual-workspace", "Dockerfile", "+--bin wsctl"),
    (
        "rust-virtual-workspace",
        "Dockerfile",
        "-rust-virtual-workspace",
    ),
    ("rust-rooted-workspace", "Dockerfile", "+--bin rootctl"),
    ("rust-rooted-workspace", "CI", "+cargo test --workspace"),
    ("rust-custom-paths", "Dockerfile", "-COPY src"),
    ("rust-custom-paths", "Dockerfile", "-find src"),
    (
        "rust-custom-paths",
        "Dockerfile",
        "+--bin rust-custom-paths",
    ),
    ("rust-new-toolchain", "Dockerfile", "+rust:1.97"),
    ("go-service-cmd", "Dockerfile", "+./cmd/go-service-cmd"),
    ("go-service-cmd", "Dockerfile", "-go.sum"),
    (
        "go-service-cmd",
        "deploy/k8s/deployment.yaml",
        "+path: /healthz",
    ),
    ("go-cmd-other-name", "Dockerfile", "+./cmd/server"),
    (
        "go-cmd-other-name",
        "deploy/k8s/deployment.yaml",
        "+containerPort: 9000",
    ),
    (
        "go-cmd-other-name",
        "deploy/k8s/deployment.yaml",
        "+tcpSocket",
    ),
    ("go-tcp-service", "deploy/k8s/deployment.yaml", "-httpGet"),
    (
        "go-tcp-service",
        "deploy/k8s/deployment.yaml",
        "+containerPort: 7000",
    ),
    ("go-root-main", "Dockerfile", "+ .\n"),
    ("go-root-main", "Dockerfile", "-./cmd/"),
    ("go-git-tool", "Dockerfile", "-distroless"),
    ("go-git-tool", "Dockerfile", "+apk add --no-cache git"),
    ("node-npm-service", "CI", "+npm ci"),
    ("node-npm-service", "Dockerfile", "+\"src/server.js\""),
    (
        "node-npm-service",
        "deploy/k8s/deployment.yaml",
        "-/healthz",
    ),
    ("node-yarn-service", "CI", "+yarn install --frozen-lockfile"),
    ("node-yarn-service", "CI", "-npm ci"),
    ("node-yarn-service", "Dockerfile", "-package-lock"),
    ("node-yarn-service", "Dockerfile", "+\"server.js\""),
    (
        "node-pnpm-ts-service",
        "CI",
        "+pnpm install --frozen-lockfile",
    ),
    ("node-pnpm-ts-service", "Dockerfile", "+pnpm run build"),
    ("node-pnpm-ts-service", "Dockerfile", "+dist/server.js"),
    ("node-pnpm-ts-service", "Dockerfile", "-src/server.js"),
    ("node-cli", "Dockerfile", "+bin/tally.js"),
    ("node-no-test-script", "CI", "-npm test"),
    ("node-no-test-script", "CI", "+npm run lint"),
    ("python-uv-fastapi-service", "CI", "+uv sync --locked"),
    ("python-uv-fastapi-service", "CI", "-.[dev]"),
    (
        "python-uv-fastapi-service",
        "deploy/k8s/deployment.yaml",
        "+containerPort: 8000",
    ),
    (
        "python-requirements-only",
        "CI",
        "+pip install -r requirements-dev.txt",
    ),
    ("python-requirements-only", "CI", "+python -m pytest"),
    ("python-requirements-only", "CI", "-pip install -e"),
    (
        "python-requirements-only",
        "Dockerfile",
        "+\"python\", \"app.py\"",
    ),
    ("python-setup-py", "CI", "+.[test]"),
    ("python-setup-py", "CI", "-.[dev]"),
    ("python-poetry-cli", "CI", "+poetry install"),
    ("python-poetry-cli", "Dockerfile", "+\"dirtree\""),
    ("python-flat-layout", "CI", "+.[test]"),
    ("python-dev-extra", "CI", "+.[dev]"),
    ("python-dev-extra", "Dockerfile", "+\"wordstat\""),
];

#[test]
fn the_corpus_readme_rules_hold() {
    let mut errors = Vec::new();
    for ci in FLAVOURS {
        let planned = planned(ci);
        for (shape, file, rule) in RULES {
            let file = if *file == "CI" {
                ci_path(ci)
            } else {
                (*file).to_owned()
            };
            if !planned.proposed(shape).contains(&file) {
                errors.push(format!("{ci}: {shape}: {file} is not proposed"));
                continue;
            }
            let text = planned.text(shape, &file);
            let (want, needle) = rule.split_at(1);
            if text.contains(needle) != (want == "+") {
                errors.push(format!(
                    "{ci}: {shape}: {file}: expected {} `{needle}`",
                    if want == "+" {
                        "to contain"
                    } else {
                        "not to contain"
                    }
                ));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// A hand-written CI and Dockerfile are kept and reported, never replaced
/// silently; setuptools' flat layout gets no new top-level directory.
#[test]
fn hand_written_files_and_build_layouts_are_respected() {
    for ci in FLAVOURS {
        let planned = planned(ci);
        let mixed = planned.repo("mixed-handwritten-ci");
        let kept: Vec<&str> = mixed["takeovers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["action"] == "kept")
            .map(|t| t["path"].as_str().unwrap())
            .collect();
        assert!(kept.contains(&"Dockerfile"), "{ci}: {mixed}");
        if ci == "github" {
            assert!(kept.contains(&".github/workflows/ci.yml"), "{ci}: {mixed}");
        }
        let files = planned.proposed("mixed-handwritten-ci");
        assert!(!files.iter().any(|f| f == "Dockerfile"), "{ci}: {files:?}");
        if ci == "github" {
            assert!(
                !files.iter().any(|f| f == ".github/workflows/ci.yml"),
                "{files:?}"
            );
        } else {
            // Elsewhere the GitHub workflow is a former home's CI, which the
            // policy removes; that it was written by hand is said first.
            let replaced = mixed["takeovers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["path"] == ".github/workflows/ci.yml" && t["action"] == "replaced");
            assert!(replaced, "{ci}: {mixed}");
        }
        let flat = planned.proposed("python-flat-layout");
        assert!(
            flat.iter().all(|f| f.starts_with('.') || !f.contains('/')),
            "{ci}: {flat:?}"
        );
    }
}

#[test]
fn corpus_renderings_pass_the_real_validators() {
    let mut files = Vec::new();
    for ci in FLAVOURS {
        let planned = planned(ci);
        for shape in planned.repos.keys() {
            for path in planned.proposed(shape) {
                if planned.rendered(shape).join(&path).is_file() {
                    files.push((planned.rendered(shape), path));
                }
            }
        }
    }
    let checked = crate::validators::validate_all("corpus", &files);
    assert!(checked > 100, "only {checked} files validated");
}
