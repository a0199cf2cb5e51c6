//! Python: build tool, lock file, extras and dependency groups, console
//! scripts, layout.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::{join, service, Kind, ServiceFacts, View};
use crate::model::{EntryKind, RepoPath, Wanted};

pub const MANIFESTS: &[&str] = &[
    "pyproject.toml",
    "setup.cfg",
    "setup.py",
    "requirements.txt",
    "requirements-dev.txt",
    "requirements/dev.txt",
    "ruff.toml",
    ".python-version",
    "app.py",
    "main.py",
];
pub const DIRS: &[&str] = &["src"];

/// Distributions that make a program a network service.
const FRAMEWORKS: &[&str] = &[
    "fastapi",
    "flask",
    "django",
    "starlette",
    "aiohttp",
    "sanic",
    "tornado",
    "litestar",
    "quart",
    "falcon",
    "uvicorn",
    "gunicorn",
];

/// Directory names setuptools' flat-layout discovery leaves out
/// (`FlatLayoutPackageFinder.DEFAULT_EXCLUDE`), besides names starting
/// with `.` or `_`.
const FLAT_LAYOUT_EXCLUDED: &[&str] = &[
    "ci",
    "bin",
    "debian",
    "doc",
    "docs",
    "documentation",
    "manpages",
    "news",
    "newsfragments",
    "changelog",
    "test",
    "tests",
    "unit_test",
    "unit_tests",
    "example",
    "examples",
    "scripts",
    "tools",
    "util",
    "utils",
    "python",
    "build",
    "dist",
    "venv",
    "env",
    "requirements",
    "tasks",
    "fabfile",
    "site_scons",
    "benchmark",
    "benchmarks",
    "exercise",
    "exercises",
    "htmlcov",
];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonFacts {
    /// `uv`, `poetry`, `pdm`, `hatch`, `setuptools`, `flit` or
    /// `requirements` (no build configuration, only requirements files).
    pub tool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires_python: Option<String>,
    /// `[project.optional-dependencies]` (or poetry extras).
    pub extras: Vec<String>,
    /// PEP 735 `[dependency-groups]` (or poetry groups).
    pub groups: Vec<String>,
    /// Console scripts.
    pub scripts: Vec<String>,
    /// `src` or `flat`.
    pub layout: String,
    /// Requirements files at the root (or `requirements/`).
    pub requirements: Vec<String>,
    /// The first web framework or server among the dependencies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    /// pytest is among the dependencies, groups or extras.
    pub pytest: bool,
    /// setuptools finds packages itself in a flat layout: a new top-level
    /// directory (such as `deploy/`) would be taken for a second package
    /// and break the build.
    pub auto_discovery: bool,
    /// The project can be installed (`pip install .`): it has build
    /// configuration, not only requirements.
    pub installable: bool,
    /// Console scripts and what they run (`module:function`).
    pub script_targets: BTreeMap<String, String>,
    /// The import package named like the project, where it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The web application object, `module:name`, where a source defines
    /// one (`app = FastAPI()`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// Application servers among the dependencies (uvicorn, gunicorn,
    /// hypercorn, waitress).
    pub servers: Vec<String>,
    /// The package runs with `python -m` (it has `__main__.py`).
    pub main_module: bool,
    /// A root script that serves when run (`python app.py`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_file: Option<String>,
    /// The command that installs the project and its development tools.
    pub install: String,
    /// How commands run in that environment (`uv run `, `poetry run `, or
    /// nothing for pip).
    pub run: String,
    /// ruff is configured or a dependency: CI may lint with it.
    pub ruff: bool,
    /// A `tests` directory exists.
    pub tests: bool,
    /// `.python-version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python_version: Option<String>,
    /// The lowest Python `requires-python` admits (`>=3.12` → `3.12`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_python: Option<String>,
    /// How the service serves, from its application module.
    pub service: ServiceFacts,
}

impl PythonFacts {
    pub fn kind(&self) -> Kind {
        if self.framework.is_some() {
            Kind::Service
        } else if !self.scripts.is_empty() {
            Kind::Cli
        } else {
            Kind::Library
        }
    }

    /// Whether adding the top-level directory `name` keeps the build
    /// working.
    pub fn may_add_top_level(&self, name: &str) -> bool {
        !self.auto_discovery || name.starts_with(['.', '_']) || FLAT_LAYOUT_EXCLUDED.contains(&name)
    }
}

pub(super) fn read(view: &View, problems: &mut Vec<String>) -> Option<PythonFacts> {
    let pyproject = view.text("pyproject.toml");
    let setup_py = view.is_file("setup.py");
    let setup_cfg = view.text("setup.cfg");
    let requirements: Vec<String> = [
        "requirements.txt",
        "requirements-dev.txt",
        "requirements/dev.txt",
    ]
    .iter()
    .filter(|f| view.is_file(f))
    .map(|f| (*f).to_owned())
    .collect();
    if pyproject.is_none() && !setup_py && setup_cfg.is_none() && requirements.is_empty() {
        return None;
    }
    let table: toml::Table = match pyproject.as_deref().map(str::parse::<toml::Table>) {
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            problems.push(format!(
                "pyproject.toml: {}",
                e.to_string().lines().next().unwrap_or("")
            ));
            return None;
        }
        None => toml::Table::new(),
    };
    let project = table.get("project").and_then(|p| p.as_table());
    let tool = table.get("tool").and_then(|t| t.as_table());
    let poetry = tool
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.as_table());
    let backend = table
        .get("build-system")
        .and_then(|b| b.get("build-backend"))
        .and_then(|b| b.as_str())
        .unwrap_or("");
    let keys = |v: Option<&toml::Value>| -> Vec<String> {
        v.and_then(|v| v.as_table())
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut facts = PythonFacts {
        requirements,
        ..PythonFacts::default()
    };
    let locks = [
        ("uv.lock", "uv"),
        ("poetry.lock", "poetry"),
        ("pdm.lock", "pdm"),
    ];
    let lock = locks.iter().find(|(f, _)| view.is_file(f));
    facts.lock = lock.map(|(f, _)| (*f).to_owned());
    facts.tool = match lock {
        Some((_, t)) => (*t).to_owned(),
        None if poetry.is_some() || backend.starts_with("poetry") => "poetry".into(),
        None if tool.is_some_and(|t| t.contains_key("pdm")) || backend.starts_with("pdm") => {
            "pdm".into()
        }
        None if tool.is_some_and(|t| t.contains_key("uv")) => "uv".into(),
        None if backend.starts_with("hatchling") => "hatch".into(),
        None if backend.starts_with("flit") => "flit".into(),
        None if backend.starts_with("setuptools") || setup_py || setup_cfg.is_some() => {
            "setuptools".into()
        }
        None if project.is_some() => "setuptools".into(),
        None => "requirements".into(),
    };
    facts.installable = facts.tool != "requirements";
    facts.name = project
        .and_then(|p| p.get("name"))
        .or_else(|| poetry.and_then(|p| p.get("name")))
        .and_then(|n| n.as_str())
        .map(str::to_owned);
    facts.requires_python = project
        .and_then(|p| p.get("requires-python"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    facts.min_python = facts
        .requires_python
        .as_deref()
        .or_else(|| {
            poetry
                .and_then(|p| p.get("dependencies"))
                .and_then(|d| d.get("python"))
                .and_then(|v| v.as_str())
        })
        .and_then(lowest_python);
    facts.extras = keys(project.and_then(|p| p.get("optional-dependencies")));
    facts
        .extras
        .extend(keys(poetry.and_then(|p| p.get("extras"))));
    facts.groups = keys(table.get("dependency-groups"));
    facts
        .groups
        .extend(keys(poetry.and_then(|p| p.get("group"))));
    for table in [
        project.and_then(|p| p.get("scripts")),
        poetry.and_then(|p| p.get("scripts")),
    ] {
        for (name, target) in table.and_then(|t| t.as_table()).into_iter().flatten() {
            if let Some(target) = target.as_str() {
                facts.script_targets.insert(name.clone(), target.to_owned());
            }
            facts.scripts.push(name.clone());
        }
    }
    let src = view
        .names("")
        .iter()
        .any(|(n, k)| n == "src" && *k == EntryKind::Dir);
    facts.layout = if src { "src" } else { "flat" }.into();

    // Every dependency name mentioned anywhere: project, extras, groups,
    // poetry, requirements files.
    let mut deps: Vec<String> = Vec::new();
    let mut add = |spec: &str| {
        let name: String = spec
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        if !name.is_empty() {
            deps.push(name.to_ascii_lowercase().replace('_', "-"));
        }
    };
    let mut specs: Vec<String> = Vec::new();
    let arrays = |v: Option<&toml::Value>| -> Vec<String> {
        v.and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    specs.extend(arrays(project.and_then(|p| p.get("dependencies"))));
    for section in [
        project.and_then(|p| p.get("optional-dependencies")),
        table.get("dependency-groups"),
    ] {
        for (_, v) in section.and_then(|s| s.as_table()).into_iter().flatten() {
            specs.extend(arrays(Some(v)));
        }
    }
    if let Some(p) = poetry {
        specs.extend(keys(p.get("dependencies")));
        specs.extend(keys(p.get("dev-dependencies")));
        for (_, g) in p
            .get("group")
            .and_then(|g| g.as_table())
            .into_iter()
            .flatten()
        {
            specs.extend(keys(g.get("dependencies")));
        }
    }
    for file in &facts.requirements {
        for line in view.text(file).unwrap_or_default().lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if !line.is_empty() && !line.starts_with('-') {
                specs.push(line.to_owned());
            }
        }
    }
    if let Some(cfg) = &setup_cfg {
        // `install_requires =` and console_scripts under [options*].
        let mut in_scripts = false;
        for line in cfg.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("console_scripts") {
                in_scripts = true;
                continue;
            }
            if in_scripts {
                if line.starts_with([' ', '\t']) && trimmed.contains('=') {
                    let name = trimmed.split('=').next().unwrap_or("").trim().to_owned();
                    if !name.is_empty() {
                        facts.scripts.push(name);
                    }
                    continue;
                }
                in_scripts = false;
            }
        }
    }
    for s in &specs {
        add(s);
    }
    facts.framework = FRAMEWORKS
        .iter()
        .find(|f| deps.iter().any(|d| d == *f))
        .map(|f| (*f).to_owned());
    facts.pytest = deps.iter().any(|d| d == "pytest");
    facts.servers = ["uvicorn", "gunicorn", "hypercorn", "waitress"]
        .into_iter()
        .filter(|s| deps.iter().any(|d| d == s))
        .map(str::to_owned)
        .collect();
    let explicit = tool
        .and_then(|t| t.get("setuptools"))
        .and_then(|s| s.as_table())
        .is_some_and(|s| s.contains_key("packages") || s.contains_key("py-modules"))
        || setup_cfg
            .as_deref()
            .is_some_and(|c| c.contains("packages") || c.contains("py_modules"));
    facts.auto_discovery =
        facts.tool == "setuptools" && facts.layout == "flat" && !explicit && !setup_py;
    facts.ruff = view.is_file("ruff.toml")
        || tool.is_some_and(|t| t.contains_key("ruff"))
        || deps.iter().any(|d| d == "ruff");
    facts.tests = view
        .names("")
        .iter()
        .any(|(n, k)| n == "tests" && *k == EntryKind::Dir);
    facts.python_version = view
        .text(".python-version")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty() && !v.contains('\n'));
    if let Some(text) = view.text("setup.py") {
        facts.extras.extend(setup_py_extras(&text));
    }
    facts.package = package_dir(view, &facts);
    facts.main_module = facts.package.as_ref().is_some_and(|pkg| {
        let base = if facts.layout == "src" { "src" } else { "" };
        view.is_file(&join(&join(base, pkg), "__main__.py"))
    });
    let (install, run) = commands(&facts);
    facts.install = install;
    facts.run = run;
    let sources = view.texts(&app_candidates(&facts));
    for (path, text) in &sources {
        if let Some(object) = app_object(text) {
            let module = path
                .trim_start_matches("src/")
                .trim_end_matches(".py")
                .trim_end_matches("/__init__")
                .replace('/', ".");
            facts.app = Some(format!("{module}:{object}"));
            break;
        }
    }
    facts.entry_file = ["app.py", "main.py"]
        .into_iter()
        .find(|f| {
            view.text(f)
                .is_some_and(|t| t.contains("__main__") || t.contains(".run("))
        })
        .map(str::to_owned);
    let protocol = if facts.framework.is_some() {
        "http"
    } else {
        "tcp"
    };
    facts.service = service::read(&sources, protocol);
    Some(facts)
}

/// The lowest `3.X` a version specifier admits (`>=3.11,<4`, `^3.10`,
/// `~=3.12`), if it names one.
fn lowest_python(spec: &str) -> Option<String> {
    spec.split(',').find_map(|part| {
        let part = part.trim();
        let version = part
            .strip_prefix(">=")
            .or_else(|| part.strip_prefix("~="))
            .or_else(|| part.strip_prefix('^'))
            .or_else(|| part.strip_prefix("=="))?
            .trim();
        let mut numbers = version.split('.');
        let (major, minor) = (numbers.next()?, numbers.next().unwrap_or("0"));
        (major == "3" && minor.chars().all(|c| c.is_ascii_digit()) && !minor.is_empty())
            .then(|| format!("3.{minor}"))
    })
}

/// The keys of `extras_require={…}` in a setup.py.
fn setup_py_extras(text: &str) -> Vec<String> {
    let Some(start) = text.find("extras_require") else {
        return Vec::new();
    };
    let rest = &text[start..];
    let body = &rest[..rest.find('}').unwrap_or(rest.len())];
    let mut out = Vec::new();
    let mut parts = body.split(['"', '\'']).peekable();
    parts.next();
    while let Some(inside) = parts.next() {
        let after = parts.next().unwrap_or("");
        if after.trim_start().starts_with(':') && !inside.is_empty() {
            out.push(inside.to_owned());
        }
    }
    out
}

/// The import package named like the project (`orders-api` →
/// `orders_api`), in `src/` or at the root.
fn package_dir(view: &View, facts: &PythonFacts) -> Option<String> {
    let name = facts
        .name
        .as_deref()?
        .to_ascii_lowercase()
        .replace(['-', '.'], "_");
    let base = if facts.layout == "src" { "src" } else { "" };
    view.names(base)
        .iter()
        .any(|(n, k)| *n == name && *k == EntryKind::Dir)
        .then_some(name)
}

/// The install command and the prefix commands run with, by build tool.
fn commands(facts: &PythonFacts) -> (String, String) {
    let pick = |names: &[String]| {
        ["dev", "test", "tests"]
            .into_iter()
            .find(|e| names.iter().any(|x| x == e))
    };
    match facts.tool.as_str() {
        "uv" if facts.lock.is_some() => ("uv sync --locked".into(), "uv run ".into()),
        "uv" => ("uv sync".into(), "uv run ".into()),
        "poetry" => (
            "poetry install --no-interaction".into(),
            "poetry run ".into(),
        ),
        "pdm" => ("pdm install".into(), "pdm run ".into()),
        "requirements" => {
            let file = facts
                .requirements
                .iter()
                .find(|r| r.contains("dev"))
                .or(facts.requirements.first())
                .cloned()
                .unwrap_or_else(|| "requirements.txt".into());
            (format!("python -m pip install -r {file}"), String::new())
        }
        _ => {
            let target = match pick(&facts.extras) {
                Some(extra) => format!("-e \".[{extra}]\""),
                None => "-e .".into(),
            };
            let group = pick(&facts.groups)
                .map(|g| format!(" --group {g}"))
                .unwrap_or_default();
            (
                format!("python -m pip install {target}{group}"),
                String::new(),
            )
        }
    }
}

/// Modules that may define the web application.
fn app_candidates(facts: &PythonFacts) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for target in facts.script_targets.values() {
        let module = target.split(':').next().unwrap_or("").replace('.', "/");
        if !module.is_empty() {
            out.push(format!("src/{module}.py"));
            out.push(format!("{module}.py"));
        }
    }
    if let Some(pkg) = &facts.package {
        let base = if facts.layout == "src" {
            join("src", pkg)
        } else {
            pkg.clone()
        };
        for file in [
            "main.py",
            "app.py",
            "api.py",
            "server.py",
            "__main__.py",
            "__init__.py",
        ] {
            out.push(join(&base, file));
        }
    }
    out.extend(["app.py".to_owned(), "main.py".to_owned()]);
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

/// `app = FastAPI(…)` (or Flask, Starlette, Litestar, Quart, Sanic) at a
/// module's top level: `app`.
fn app_object(text: &str) -> Option<String> {
    const MAKERS: [&str; 6] = [
        "FastAPI(",
        "Flask(",
        "Starlette(",
        "Litestar(",
        "Quart(",
        "Sanic(",
    ];
    text.lines().find_map(|line| {
        if line.starts_with([' ', '\t']) {
            return None;
        }
        let (name, value) = line.split_once('=')?;
        let (name, value) = (name.trim(), value.trim_start());
        let name = name.split(':').next().unwrap_or(name).trim();
        let made = MAKERS
            .iter()
            .any(|m| value.starts_with(m) || value.contains(&format!(".{m}")));
        (made && name.chars().all(|c| c.is_alphanumeric() || c == '_')).then(|| name.to_owned())
    })
}

/// The application candidates, once the project's name and scripts are
/// known.
pub(super) fn follow_up(view: &View, more: &mut Wanted) {
    let Some(facts) = read(view, &mut Vec::new()) else {
        return;
    };
    more.paths.extend(
        app_candidates(&facts)
            .iter()
            .filter_map(|p| RepoPath::new(p).ok()),
    );
}
