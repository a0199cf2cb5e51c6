//! Templates × repository facts → desired files. Pure: no I/O, and the same
//! inputs always give byte-identical output.
//!
//! A [`Renderer`] compiles every template once (a syntax error names the
//! template and line) and renders a policy's managed files for one
//! repository. An undefined variable is an error naming the template and
//! the line that uses it.

mod context;
pub mod guard;

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use context::{DefaultFacts, ForgeFacts, RenderContext, RepoFacts};

use crate::config::{Markers, Policy, Skip, Takeover, TemplateSources};
use crate::model::{CiFlavor, Mode, RepoPath};

/// A template that failed to compile or render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RenderError {
    /// The template's path as the user knows it.
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// What a managed file should be in one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredFile {
    pub path: RepoPath,
    pub mode: Mode,
    /// The rendering (the block's inside, for block mode); `None` for
    /// absent files.
    pub content: Option<String>,
    pub why: String,
    pub template: Option<String>,
    pub markers: Markers,
    /// What to do when the file exists without drover's header.
    pub takeover: Takeover,
    /// Proposed even when another file does not fit.
    pub stands_alone: bool,
}

/// A managed file the repository opted out of, or that does not fit it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SkippedFile {
    pub path: RepoPath,
    pub reason: String,
    /// The template said the file does not fit the repository
    /// (`misfit(reason=…)`), rather than the repository opting out.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub misfit: bool,
}

/// Compiled templates.
pub struct Renderer {
    tera: Arc<tera::Tera>,
    sources: Arc<TemplateSources>,
    fingerprint: String,
    /// How long one repository's files may take: [`guard::TIME_BUDGET`].
    time_budget: std::time::Duration,
}

impl Renderer {
    /// Compiles every template. Refuses what could not render in bounded
    /// time and space, or could read outside the context (see [`guard`]).
    pub fn new(sources: &TemplateSources) -> Result<Renderer, RenderError> {
        guard::check_nesting(sources)?;
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![]);
        guard::install(&mut tera);
        tera.add_raw_templates(sources.files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|e| compile_error(sources, &e))?;
        guard::check_graph(&tera, sources)?;
        let mut hasher = Sha256::new();
        hasher.update(env!("CARGO_PKG_VERSION"));
        for (name, text) in &sources.files {
            hasher.update([0]);
            hasher.update(name);
            hasher.update([0]);
            hasher.update(text);
        }
        let fingerprint = hex::encode(hasher.finalize());
        Ok(Renderer {
            tera: Arc::new(tera),
            sources: Arc::new(sources.clone()),
            fingerprint,
            time_budget: guard::TIME_BUDGET,
        })
    }

    /// The same templates with another time budget per repository.
    pub fn with_time_budget(self, budget: std::time::Duration) -> Renderer {
        Renderer {
            time_budget: budget,
            ..self
        }
    }

    /// A digest of every template and of drover's version: what "the
    /// templates changed" means.
    pub fn templates_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// A digest of one policy over the templates: equal fingerprints render
    /// equal files for equal contexts.
    pub fn policy_fingerprint(&self, policy: &Policy) -> String {
        let mut hasher = Sha256::new();
        hasher.update(&self.fingerprint);
        hasher.update(serde_json::to_vec(policy).expect("policy serialises"));
        hex::encode(hasher.finalize())
    }

    /// A digest of everything that decides a repository's rendering: the
    /// policy, the templates, the context, fleet.yaml's skips and whether
    /// the repository's own skips count (those follow from its head).
    pub fn render_key(
        &self,
        policy: &Policy,
        ctx: &RenderContext,
        skips: &[Skip],
        repository_skips: bool,
    ) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.policy_fingerprint(policy));
        // Facts follow from the head (the record keeps it beside the key):
        // only what fleet.yaml says of the repository is part of the key.
        let mut keyed = ctx.clone();
        keyed.repo.facts = crate::facts::Facts::default();
        keyed.repo.kind = ctx
            .repo
            .kind_override
            .unwrap_or(crate::facts::Kind::Service);
        hasher.update(serde_json::to_vec(&keyed).expect("context serialises"));
        for s in skips {
            hasher.update([0]);
            hasher.update(s.path.as_str());
        }
        if !repository_skips {
            hasher.update(b"\0no repository skips");
        }
        hex::encode(hasher.finalize())
    }

    /// Renders one template with a context, within the budgets.
    pub fn render(&self, template: &str, ctx: &RenderContext) -> Result<String, RenderError> {
        guard::reset_budget();
        let context = tera::Context::from_serialize(ctx).expect("context serialises");
        render_one(&self.tera, &self.sources, template, &context)
    }

    /// The desired files of a policy for one repository, in policy order.
    /// They render on a thread of their own: a rendering that outlasts
    /// [`guard::TIME_BUDGET`] fails this repository (the thread is left to
    /// finish on its own) instead of holding the sweep.
    pub fn desired_files(
        &self,
        policy: &Policy,
        ci: CiFlavor,
        skips: &[Skip],
        ctx: &RenderContext,
    ) -> Result<(Vec<DesiredFile>, Vec<SkippedFile>), RenderError> {
        let tera = Arc::clone(&self.tera);
        let sources = Arc::clone(&self.sources);
        let facts = serde_json::to_value(&ctx.repo.facts).expect("facts serialise");
        let files: Vec<_> = policy
            .files
            .iter()
            .filter(|f| f.applies_to(ci) && f.selected(ctx.repo.kind, &facts))
            .cloned()
            .collect();
        if let Some(twice) = files
            .iter()
            .enumerate()
            .find(|(i, f)| files[..*i].iter().any(|g| g.path == f.path))
        {
            return Err(RenderError {
                file: format!("policies/{}.yaml", policy.language),
                line: 1,
                message: format!(
                    "`{}` is selected twice for this repository: make the entries' `when:` conditions exclusive",
                    twice.1.path
                ),
            });
        }
        let skips = skips.to_vec();
        let context = tera::Context::from_serialize(ctx).expect("context serialises");
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("render".into())
            .spawn(move || {
                guard::reset_budget();
                let _ = tx.send(render_files(&tera, &sources, &files, &skips, &context));
            });
        if let Err(e) = spawned {
            return Err(RenderError {
                file: self.sources.origin.clone(),
                line: 1,
                message: format!("cannot start rendering: {e}"),
            });
        }
        match rx.recv_timeout(self.time_budget) {
            Ok(result) => result,
            Err(_) => Err(RenderError {
                file: self.sources.display_path(
                    policy
                        .files
                        .iter()
                        .find_map(|f| f.template.as_deref())
                        .unwrap_or(""),
                ),
                line: 1,
                message: format!(
                    "rendering the `{}` policy took longer than {:?} (the budget); a loop runs away",
                    policy.language, self.time_budget
                ),
            }),
        }
    }
}

/// Renders one template, refusing an output over [`guard::MAX_OUTPUT`].
fn render_one(
    tera: &tera::Tera,
    sources: &TemplateSources,
    template: &str,
    context: &tera::Context,
) -> Result<String, RenderError> {
    let text = tera
        .render(template, context)
        .map_err(|e| render_error(sources, template, context, &e))?;
    if text.len() > guard::MAX_OUTPUT {
        return Err(RenderError {
            file: sources.display_path(template),
            line: 1,
            message: format!(
                "renders {} bytes, more than the {} a managed file may have",
                text.len(),
                guard::MAX_OUTPUT
            ),
        });
    }
    Ok(normalise(text))
}

fn render_files(
    tera: &tera::Tera,
    sources: &TemplateSources,
    files: &[crate::config::ManagedFile],
    skips: &[Skip],
    context: &tera::Context,
) -> Result<(Vec<DesiredFile>, Vec<SkippedFile>), RenderError> {
    let mut desired = Vec::new();
    let mut skipped = Vec::new();
    for file in files {
        if let Some(skip) = skips.iter().find(|s| s.path == file.path) {
            skipped.push(SkippedFile {
                path: file.path.clone(),
                reason: skip.reason.clone(),
                misfit: false,
            });
            continue;
        }
        let content = match &file.template {
            Some(t) => match render_one(tera, sources, t, context) {
                Ok(text) => Some(text),
                Err(e) => match e.message.split_once(guard::MISFIT) {
                    Some((_, reason)) => {
                        skipped.push(SkippedFile {
                            path: file.path.clone(),
                            reason: reason.trim().to_owned(),
                            misfit: true,
                        });
                        continue;
                    }
                    None => return Err(e),
                },
            },
            None => None,
        };
        desired.push(DesiredFile {
            path: file.path.clone(),
            mode: file.mode,
            content,
            why: file.why.clone(),
            template: file.template.clone(),
            markers: file.markers(),
            takeover: file.takeover(),
            stands_alone: file.stands_alone,
        });
    }
    Ok((desired, skipped))
}

/// Exactly one final newline, and nothing else touched.
fn normalise(text: String) -> String {
    let trimmed = text.trim_end_matches(['\n', '\r']);
    if trimmed.is_empty() {
        return String::new();
    }
    let mut out = trimmed.to_owned();
    out.push('\n');
    out
}

/// The whole causal chain of a Tera error, one message per line.
fn chain(err: &tera::Error) -> Vec<String> {
    let mut out = vec![err.to_string()];
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        out.push(s.to_string());
        source = s.source();
    }
    out
}

fn compile_error(sources: &TemplateSources, err: &tera::Error) -> RenderError {
    let messages = chain(err);
    let name = quoted_after(&messages[0], "Failed to parse '").unwrap_or_default();
    let detail = messages.last().cloned().unwrap_or_default();
    // pest reports ` --> L:C` followed by the offending line and the problem.
    let line = detail
        .split("--> ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(1);
    let problem = detail
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('='))
        .map(|l| l.trim_start().trim_start_matches('=').trim().to_owned())
        .unwrap_or_else(|| {
            detail
                .lines()
                .last()
                .unwrap_or("syntax error")
                .trim()
                .to_owned()
        });
    RenderError {
        file: sources.display_path(&name),
        line,
        message: format!("syntax error: {problem}"),
    }
}

fn render_error(
    sources: &TemplateSources,
    template: &str,
    context: &tera::Context,
    err: &tera::Error,
) -> RenderError {
    let messages = chain(err);
    let innermost = messages.last().cloned().unwrap_or_default();
    // Errors inside an included template name that template.
    let name = messages
        .iter()
        .rev()
        .find_map(|m| {
            quoted_after(m, "while rendering '").or_else(|| quoted_after(m, "Failed to render '"))
        })
        .unwrap_or_else(|| template.to_owned());
    let text = sources.files.get(&name).map(String::as_str).unwrap_or("");
    if let Some(var) = innermost
        .strip_prefix("Variable `")
        .and_then(|r| r.split('`').next())
    {
        return RenderError {
            file: sources.display_path(&name),
            line: line_using(text, var),
            message: match closest_variable(context, var) {
                Some(known) => format!("variable `{var}` is not defined (did you mean `{known}`?)"),
                None => format!("variable `{var}` is not defined (use `{var} | default(value=...)` if it is optional)"),
            },
        };
    }
    RenderError {
        file: sources.display_path(&name),
        line: 1,
        message: innermost,
    }
}

/// The context variable closest to `var` (`repo.nmae` → `repo.name`): the
/// longest prefix of `var` the context has, then the closest key below it.
fn closest_variable(context: &tera::Context, var: &str) -> Option<String> {
    let json = context.clone().into_json();
    let mut node = &json;
    let mut known = Vec::new();
    for part in var.split('.') {
        let object = node.as_object()?;
        match object.get(part) {
            Some(next) => {
                node = next;
                known.push(part.to_owned());
            }
            None => {
                let key = crate::suggest::closest(part, object.keys().map(String::as_str))?;
                known.push(key.to_owned());
                return Some(known.join("."));
            }
        }
    }
    None
}

fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.split(prefix).nth(1)?;
    Some(rest.split('\'').next()?.to_owned())
}

/// The first line where a template expression mentions `var`.
fn line_using(text: &str, var: &str) -> usize {
    let mut in_tag = false;
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        loop {
            if in_tag {
                let end = rest
                    .find("}}")
                    .or_else(|| rest.find("%}"))
                    .unwrap_or(rest.len());
                if mentions(&rest[..end], var) {
                    return n + 1;
                }
                if end == rest.len() {
                    break;
                }
                in_tag = false;
                rest = &rest[end + 2..];
            } else {
                match rest.find("{{").or_else(|| rest.find("{%")) {
                    Some(start) => {
                        in_tag = true;
                        rest = &rest[start + 2..];
                    }
                    None => break,
                }
            }
        }
    }
    1
}

fn mentions(expr: &str, var: &str) -> bool {
    expr.match_indices(var).any(|(i, _)| {
        let before = expr[..i].chars().next_back();
        let after = expr[i + var.len()..].chars().next();
        let ident =
            |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
        !ident(before) && !ident(after)
    })
}

/// Renders every file of every policy for a sample repository per CI
/// flavour: used by `drover check` and by the template snapshot tests.
pub fn sample_file_sets(
    renderer: &Renderer,
    policies: &[Policy],
    forge_for: impl Fn(CiFlavor) -> ForgeFacts,
    vars: &BTreeMap<String, serde_json::Value>,
) -> Result<Vec<(String, CiFlavor, Vec<DesiredFile>)>, RenderError> {
    let mut out = Vec::new();
    for policy in policies {
        for ci in CiFlavor::ALL {
            let forge = forge_for(ci);
            let mut all = policy.variables.clone();
            all.extend(vars.clone());
            let mut repo = RepoFacts::named(
                "billing-api",
                &format!("{}/billing-api", forge.owner),
                &policy.language,
                &format!("{}/billing-api", forge.registry),
            );
            repo.facts = crate::facts::sample(&policy.language);
            repo.kind = repo
                .facts
                .kind(&policy.language)
                .unwrap_or(crate::facts::Kind::Service);
            let ctx = RenderContext {
                repo,
                defaults: DefaultFacts {
                    branch: "drover/sync".into(),
                    labels: vec!["drover".into()],
                    reviewers: vec![],
                },
                forge,
                vars: all,
            };
            let (files, _) = renderer.desired_files(policy, ci, &[], &ctx)?;
            out.push((policy.language.clone(), ci, files));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
