//! Python: build tool, lock file, extras and dependency groups, console
//! scripts, layout.

use serde::{Deserialize, Serialize};

use super::{Kind, View};
use crate::model::EntryKind;

pub const MANIFESTS: &[&str] = &[
    "pyproject.toml",
    "setup.cfg",
    "requirements.txt",
    "requirements-dev.txt",
    "requirements/dev.txt",
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
    facts.extras = keys(project.and_then(|p| p.get("optional-dependencies")));
    facts
        .extras
        .extend(keys(poetry.and_then(|p| p.get("extras"))));
    facts.groups = keys(table.get("dependency-groups"));
    facts
        .groups
        .extend(keys(poetry.and_then(|p| p.get("group"))));
    facts.scripts = keys(project.and_then(|p| p.get("scripts")));
    facts
        .scripts
        .extend(keys(poetry.and_then(|p| p.get("scripts"))));
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
    let explicit = tool
        .and_then(|t| t.get("setuptools"))
        .and_then(|s| s.as_table())
        .is_some_and(|s| s.contains_key("packages") || s.contains_key("py-modules"))
        || setup_cfg
            .as_deref()
            .is_some_and(|c| c.contains("packages") || c.contains("py_modules"));
    facts.auto_discovery =
        facts.tool == "setuptools" && facts.layout == "flat" && !explicit && !setup_py;
    Some(facts)
}
