//! Loading and validating what the user writes: fleet.yaml, the policies
//! and the template sources. Only this module parses YAML; everything it
//! returns is plain typed data. Every error names file, line and column.
//!
//! Policies and templates come from directories beside fleet.yaml, or, when
//! there are none, from the defaults compiled into the binary.

mod error;
mod fleet;
pub mod fleet_text;
mod policy;
pub mod repo_file;
mod revision;
mod secret;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

pub use error::{locate, ConfigError};
pub use fleet::{
    Author, BranchName, CronExpr, DaemonSection, Defaults, Fleet, ForgeSection, GithubApp,
    Installation, Limits, ListAddress, ListRule, Override, Pattern, Repositories, Schedule, Skip,
    Smtp, SmtpSecurity, Timezone, Url,
};
pub use policy::{Detect, ManagedFile, Markers, Policy, Takeover};
pub use repo_file::RepoFile;
pub use secret::{SecretError, SecretRef};

use crate::model::{CiFlavor, ForgeKind, Mode};

static EMBEDDED_POLICIES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/policies");
static EMBEDDED_TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The policies and templates compiled into the binary, as files:
/// `(path, contents)` with the path starting `policies/` or `templates/`.
/// What `drover init --eject` writes beside a new fleet.yaml.
pub fn embedded_defaults() -> Vec<(String, &'static [u8])> {
    let mut out = Vec::new();
    for (top, root) in [
        ("policies", &EMBEDDED_POLICIES),
        ("templates", &EMBEDDED_TEMPLATES),
    ] {
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in dir.entries() {
                match entry {
                    include_dir::DirEntry::Dir(d) => stack.push(d),
                    include_dir::DirEntry::File(f) => {
                        let path = f.path().to_string_lossy().replace('\\', "/");
                        out.push((format!("{top}/{path}"), f.contents()));
                    }
                }
            }
        }
    }
    out.sort();
    out
}

/// Everything a sweep needs from the user's files, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub fleet_path: PathBuf,
    /// The directory holding fleet.yaml; relative paths start here.
    pub base_dir: PathBuf,
    pub fleet: Fleet,
    /// In detection order: highest `detect.priority` first, then by name.
    pub policies: Vec<Policy>,
    pub templates: TemplateSources,
    /// Where the policies and templates come from, in words a person can
    /// look up (a git revision, or drover's version for the embedded
    /// ones); named in every proposal.
    pub revision: String,
    /// `--state-dir` (or `DROVER_STATE_DIR`): wins over everything else.
    pub state_dir_flag: Option<PathBuf>,
}

/// The text of every template, by name (path relative to the templates
/// directory, `/`-separated).
#[derive(Debug, Clone, Default)]
pub struct TemplateSources {
    pub files: BTreeMap<String, String>,
    /// How to name the directory in messages (`templates` or
    /// `<embedded>/templates`).
    pub origin: String,
}

impl TemplateSources {
    /// The path shown to users for a template name.
    pub fn display_path(&self, name: &str) -> String {
        format!("{}/{name}", self.origin)
    }
}

impl Config {
    /// Reads and validates fleet.yaml and what it points at.
    pub fn load(fleet_path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(fleet_path)
            .map_err(|e| ConfigError::whole_file(fleet_path, format!("cannot read: {e}")))?;
        let base_dir = fleet_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let base_dir = if base_dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base_dir
        };
        let fleet = parse_fleet(fleet_path, &text)?;

        let templates_dir = resolve_dir(
            &base_dir,
            fleet.templates.as_deref(),
            "templates",
            fleet_path,
            &text,
        )?;
        let templates = match &templates_dir {
            Some(dir) => load_templates_dir(dir)?,
            None => embedded_templates(),
        };
        let policies_dir = resolve_dir(
            &base_dir,
            fleet.policies.as_deref(),
            "policies",
            fleet_path,
            &text,
        )?;
        let policies = match &policies_dir {
            Some(dir) => load_policies_dir(dir, &templates)?,
            None => embedded_policies(&templates)?,
        };
        let in_use: Vec<&Path> = [&policies_dir, &templates_dir]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
            .collect();
        let revision = revision::describe(&in_use, &base_dir);
        validate_overrides(fleet_path, &text, &fleet, &policies)?;
        Ok(Config {
            fleet_path: fleet_path.to_path_buf(),
            base_dir,
            fleet,
            policies,
            templates,
            revision,
            state_dir_flag: None,
        })
    }

    pub fn policy(&self, language: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.language == language)
    }

    /// Where the store (and the local forge's patch files) live; see
    /// [`state_dir_from`] for the order of precedence.
    pub fn state_dir(&self) -> PathBuf {
        state_dir_from(
            self.state_dir_flag.as_deref(),
            self.fleet.state_dir.as_deref(),
            &self.base_dir,
            || self.fleet_id(),
            |name| std::env::var_os(name),
        )
    }

    /// A name for this fleet in the user's state directory: the forge kind
    /// and owner (`github-acme`), or for the local forge the kind and a
    /// digest of fleet.yaml's directory, so that two fleets never share a
    /// store.
    pub fn fleet_id(&self) -> String {
        let kind = self.fleet.forge.kind.to_string();
        match &self.fleet.forge.owner {
            Some(owner) => {
                let safe: String = owner
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("{kind}-{safe}")
            }
            None => {
                let dir =
                    std::fs::canonicalize(&self.base_dir).unwrap_or_else(|_| self.base_dir.clone());
                use sha2::Digest;
                let digest = sha2::Sha256::digest(dir.to_string_lossy().as_bytes());
                format!("{kind}-{}", &hex::encode(digest)[..12])
            }
        }
    }
}

/// The state directory, first of: the `--state-dir` flag; fleet.yaml's
/// `state_dir:` (relative to fleet.yaml); systemd's `$STATE_DIRECTORY`
/// (its first entry: the unit's `StateDirectory=`); the user's state
/// directory, `$XDG_STATE_HOME/drover/<fleet>` or
/// `~/.local/state/drover/<fleet>`; and, with no home at all,
/// `.drover/` beside fleet.yaml.
pub fn state_dir_from(
    flag: Option<&Path>,
    configured: Option<&Path>,
    base_dir: &Path,
    fleet_id: impl FnOnce() -> String,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> PathBuf {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    if let Some(dir) = configured {
        return base_dir.join(dir);
    }
    if let Some(dirs) = set("STATE_DIRECTORY") {
        let first = dirs
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        if !first.is_empty() {
            return PathBuf::from(first);
        }
    }
    if let Some(state) = set("XDG_STATE_HOME").map(PathBuf::from) {
        if state.is_absolute() {
            return state.join("drover").join(fleet_id());
        }
    }
    if let Some(home) = set("HOME").map(PathBuf::from) {
        return home.join(".local/state/drover").join(fleet_id());
    }
    base_dir.join(".drover")
}

/// Parses fleet.yaml text and checks what serde cannot: which forge keys
/// each kind needs.
pub fn parse_fleet(path: &Path, text: &str) -> Result<Fleet, ConfigError> {
    let fleet: Fleet = yaml::parse(path, text)?;
    check_forge(path, text, "forge", &fleet.forge)?;
    if let Some(target) = &fleet.migrate_to {
        if target.kind == ForgeKind::Local {
            let (line, col) = locate(text, &["migrate_to", "kind"], None);
            return Err(ConfigError::at(
                path,
                line,
                col,
                "`drover migrate` moves repositories to github, gitlab or sourcehut, not to the local forge",
            ));
        }
        check_forge(path, text, "migrate_to", target)?;
    }
    Ok(fleet)
}

/// The keys a forge section (`section`: `forge` or `migrate_to`) needs
/// for its kind, and the ones it may not have.
fn check_forge(
    path: &Path,
    text: &str,
    section: &str,
    forge: &ForgeSection,
) -> Result<(), ConfigError> {
    let at = |key: &str| {
        let (line, col) = locate(text, &[section, key], None);
        move |msg: String| ConfigError::at(path, line, col, msg)
    };
    let kind = forge.kind;
    match kind {
        ForgeKind::Local => {
            if forge.path.is_none() {
                return Err(at("kind")(
                    "the local forge needs `path:`, the directory holding the repositories".into(),
                ));
            }
            for key in ["token", "app", "url", "owner", "ssh_key"] {
                let set = match key {
                    "token" => forge.token.is_some(),
                    "app" => forge.app.is_some(),
                    "url" => forge.url.is_some(),
                    "ssh_key" => forge.ssh_key.is_some(),
                    _ => false,
                };
                if set {
                    return Err(at(key)(format!("the local forge takes no `{key}:`")));
                }
            }
        }
        _ => {
            if forge.owner.is_none() {
                return Err(at("kind")(format!(
                    "a {kind} forge needs `owner:`, the organisation, group or user whose repositories are swept"
                )));
            }
            match (&forge.token, &forge.app) {
                (Some(_), Some(_)) => {
                    return Err(at("app")(
                        "`token:` and `app:` are two ways to sign in; keep one".into(),
                    ))
                }
                (None, Some(_)) if kind != ForgeKind::Github => {
                    return Err(at("app")(format!(
                        "`app:` is a GitHub App, only for a github forge; a {kind} forge takes `token:`"
                    )))
                }
                (None, None) if kind == ForgeKind::Github => {
                    return Err(at("kind")(
                        "a github forge needs `token:` as `env:NAME` or `file:PATH`, or `app:` (a GitHub App's id and private key)".into(),
                    ))
                }
                (None, None) => {
                    return Err(at("kind")(format!(
                        "a {kind} forge needs `token:` as `env:NAME` or `file:PATH`"
                    )))
                }
                _ => {}
            }
            if forge.path.is_some() {
                return Err(at("path")(format!(
                    "`path:` is only for the local forge, not {kind}"
                )));
            }
            if forge.ci.is_some() {
                return Err(at("ci")(format!(
                    "`ci:` is only for the local forge; a {kind} forge renders its own CI"
                )));
            }
        }
    }
    if let Some(url) = &forge.url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(at("url")(format!("`{url}` is not an http(s) URL")));
        }
        if url.contains('@') {
            return Err(at("url")(
                "the URL may not carry credentials; use `token:` with `env:NAME` or `file:PATH`"
                    .into(),
            ));
        }
    }
    check_sourcehut(path, text, section, forge)
}

/// The sourcehut-only keys: refused on other forges, and an SMTP server
/// that can log in without sending its password in the clear.
fn check_sourcehut(
    path: &Path,
    text: &str,
    section: &str,
    forge: &ForgeSection,
) -> Result<(), ConfigError> {
    let at = |keys: &[&str]| {
        let (line, col) = locate(text, keys, None);
        move |msg: String| ConfigError::at(path, line, col, msg)
    };
    if forge.kind != ForgeKind::Sourcehut {
        for (key, set) in [
            ("lists_url", forge.lists_url.is_some()),
            ("list_address", forge.list_address.is_some()),
            ("smtp", forge.smtp.is_some()),
        ] {
            if set {
                return Err(at(&[section, key])(format!(
                    "`{key}:` is only for the sourcehut forge, not {}",
                    forge.kind
                )));
            }
        }
        return Ok(());
    }
    if let Some(url) = &forge.lists_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains('@') {
            return Err(at(&[section, "lists_url"])(format!(
                "`{url}` is not an http(s) URL without credentials"
            )));
        }
    }
    if let Some(smtp) = &forge.smtp {
        if smtp.username.is_some() != smtp.password.is_some() {
            return Err(at(&[section, "smtp"])(
                "`username:` and `password:` go together (the password as `env:NAME` or `file:PATH`)"
                    .into(),
            ));
        }
        let loopback = matches!(
            smtp.host.as_str(),
            "localhost" | "127.0.0.1" | "::1" | "[::1]"
        );
        if smtp.security == SmtpSecurity::Plain && !loopback {
            return Err(at(&[section, "smtp", "security"])(format!(
                "`security: plain` sends mail and password unencrypted; it is allowed only for a server on this machine, not `{}` (use `starttls` or `tls`)",
                smtp.host
            )));
        }
    }
    Ok(())
}

/// Picks a policies/templates directory: the configured one (which must
/// exist), else the conventional one beside fleet.yaml if present, else
/// `None` for the embedded defaults.
fn resolve_dir(
    base: &Path,
    configured: Option<&Path>,
    conventional: &str,
    fleet_path: &Path,
    fleet_text: &str,
) -> Result<Option<PathBuf>, ConfigError> {
    match configured {
        Some(dir) => {
            let full = base.join(dir);
            if full.is_dir() {
                Ok(Some(full))
            } else {
                let (line, col) = locate(fleet_text, &[conventional], None);
                Err(ConfigError::at(
                    fleet_path,
                    line,
                    col,
                    format!("`{}` is not a directory", full.display()),
                ))
            }
        }
        None => {
            let full = base.join(conventional);
            Ok(full.is_dir().then_some(full))
        }
    }
}

fn load_templates_dir(dir: &Path) -> Result<TemplateSources, ConfigError> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let entries = std::fs::read_dir(&current).map_err(|e| {
            ConfigError::whole_file(&current, format!("cannot read directory: {e}"))
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| ConfigError::whole_file(&current, e.to_string()))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::whole_file(&path, format!("cannot read template: {e}"))
            })?;
            let name = path
                .strip_prefix(dir)
                .expect("walked below dir")
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.insert(name, text);
        }
    }
    Ok(TemplateSources {
        files,
        origin: dir.display().to_string(),
    })
}

fn embedded_templates() -> TemplateSources {
    let files = embedded_defaults()
        .into_iter()
        .filter_map(|(path, bytes)| {
            let name = path.strip_prefix("templates/")?.to_owned();
            Some((
                name,
                std::str::from_utf8(bytes).unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    TemplateSources {
        files,
        origin: "<embedded>/templates".into(),
    }
}

fn load_policies_dir(dir: &Path, templates: &TemplateSources) -> Result<Vec<Policy>, ConfigError> {
    let mut sources = Vec::new();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| ConfigError::whole_file(dir, format!("cannot read directory: {e}")))?;
    for entry in entries {
        let path = entry
            .map_err(|e| ConfigError::whole_file(dir, e.to_string()))?
            .path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError::whole_file(&path, format!("cannot read: {e}")))?;
            sources.push((path, text));
        }
    }
    parse_policies(sources, templates)
}

fn embedded_policies(templates: &TemplateSources) -> Result<Vec<Policy>, ConfigError> {
    let sources = EMBEDDED_POLICIES
        .files()
        .map(|f| {
            (
                Path::new("<embedded>/policies").join(f.path()),
                f.contents_utf8().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    parse_policies(sources, templates)
}

/// Parses and cross-checks policy files given as (path, text).
pub fn parse_policies(
    sources: Vec<(PathBuf, String)>,
    templates: &TemplateSources,
) -> Result<Vec<Policy>, ConfigError> {
    let mut policies = Vec::new();
    for (path, text) in sources {
        policies.push(parse_policy(&path, &text, templates)?);
    }
    policies.sort_by(|a, b| {
        b.detect
            .priority
            .cmp(&a.detect.priority)
            .then_with(|| a.language.cmp(&b.language))
    });
    Ok(policies)
}

/// Parses one policy and checks what serde cannot: the language matches the
/// file name, templates exist, modes and keys agree, no path is managed twice.
pub fn parse_policy(
    path: &Path,
    text: &str,
    templates: &TemplateSources,
) -> Result<Policy, ConfigError> {
    let policy: Policy = yaml::parse(path, text)?;
    let err = |keys: &[&str], value: Option<&str>, msg: String| {
        let (line, col) = locate(text, keys, value);
        ConfigError::at(path, line, col, msg)
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if policy.language != stem {
        return Err(err(
            &["language"],
            None,
            format!(
                "language `{}` must match the file name `{stem}.yaml`",
                policy.language
            ),
        ));
    }
    if policy.detect.markers.is_empty() {
        return Err(err(
            &["detect", "markers"],
            None,
            "list at least one marker file".into(),
        ));
    }
    let mut seen: BTreeSet<(CiFlavor, crate::facts::Kind, String)> = BTreeSet::new();
    for file in &policy.files {
        let p = file.path.as_str();
        match (&file.template, file.mode) {
            (Some(t), Mode::Absent) => {
                return Err(err(
                    &["files", "template"],
                    Some(t),
                    format!("`{p}` is mode absent: it takes no template"),
                ))
            }
            (None, mode) if mode != Mode::Absent => {
                return Err(err(
                    &["files", "path"],
                    Some(p),
                    format!("`{p}` is mode {}: it needs `template:`", mode.as_str()),
                ))
            }
            (Some(t), _) if !templates.files.contains_key(t) => {
                return Err(err(
                    &["files", "template"],
                    Some(t),
                    format!("template `{t}` not found in {}", templates.origin),
                ))
            }
            _ => {}
        }
        if file.markers.is_some() && file.mode != Mode::Block {
            return Err(err(
                &["files", "path"],
                Some(p),
                format!("`{p}` has `markers:` but only block mode uses them"),
            ));
        }
        if let Some(m) = &file.markers {
            if m.begin.trim().is_empty()
                || m.end.trim().is_empty()
                || m.begin == m.end
                || m.begin.contains('\n')
                || m.end.contains('\n')
            {
                return Err(err(
                    &["files", "markers"],
                    None,
                    format!("`{p}`: block markers must be two different, non-empty single lines"),
                ));
            }
        }
        for cond in &file.when {
            if let Err(problem) = crate::facts::check_condition(cond) {
                return Err(err(&["files", "when"], Some(cond), problem));
            }
        }
        // Entries with `when:` conditions may share a path: the facts pick
        // one (two picked at once fail that repository's rendering).
        let kinds = file
            .kinds
            .clone()
            .unwrap_or_else(|| crate::facts::Kind::ALL.to_vec());
        for ci in CiFlavor::ALL.into_iter().filter(|ci| file.applies_to(*ci)) {
            for kind in &kinds {
                if !seen.insert((ci, *kind, p.to_owned())) && file.when.is_empty() {
                    return Err(err(
                        &["files", "path"],
                        Some(p),
                        format!("`{p}` is managed twice for a {kind} on the {ci} forge"),
                    ));
                }
            }
        }
    }
    Ok(policy)
}

fn validate_overrides(
    path: &Path,
    text: &str,
    fleet: &Fleet,
    policies: &[Policy],
) -> Result<(), ConfigError> {
    for (name, o) in &fleet.repositories.overrides {
        if let Some(lang) = &o.language {
            if !policies.iter().any(|p| &p.language == lang) {
                let known: Vec<_> = policies.iter().map(|p| p.language.as_str()).collect();
                let (line, col) =
                    locate(text, &["repositories", "overrides", name, "language"], None);
                return Err(ConfigError::at(
                    path,
                    line,
                    col,
                    format!(
                        "repository `{name}`: no policy for language `{lang}` (known: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The JSON schema of fleet.yaml, as committed in `schema/fleet.schema.json`.
pub fn fleet_schema() -> String {
    let schema = schemars::schema_for!(Fleet);
    serde_json::to_string_pretty(&schema).expect("schema serialises") + "\n"
}

#[cfg(test)]
mod robustness;
#[cfg(test)]
mod tests;
