//! Planning one repository: what to read, which policy and context it
//! gets (resolved once), its rendering (once), what the comparison needs
//! read, and the comparison itself — fit check, misfits, takeovers, drift
//! and the proposal's words. Pure but for [`plan_one`]'s reads.

use std::collections::BTreeSet;

use super::report::{Planned, RepoState, Takeover};
use super::select::language_for;
use crate::config::{repo_file, Config, Policy, RepoFile, Skip};
use crate::drift;
use crate::facts::Facts;
use crate::forge::{Forge, ForgeError};
use crate::model::{Actual, Mode, Outcome, RemoteRepo, RepoPath, Snapshot, Wanted};
use crate::proposal::{self, ProposalFacts};
use crate::render::{DesiredFile, ForgeFacts, RenderContext, Renderer, SkippedFile};
use crate::store::RepoRecord;

/// Every path any policy could need — markers and managed destinations —
/// and what the repository facts read.
pub fn wanted(config: &Config) -> Wanted {
    let ci = crate::forge::ci_flavor(config);
    let facts = crate::facts::wanted();
    let mut paths: BTreeSet<RepoPath> = facts.paths.into_iter().collect();
    for policy in &config.policies {
        paths.extend(policy.detect.markers.iter().cloned());
        paths.extend(
            policy
                .files
                .iter()
                .filter(|f| f.applies_to(ci))
                .map(|f| f.path.clone()),
        );
    }
    Wanted {
        paths: paths.into_iter().collect(),
        dirs: facts.dirs,
    }
}

/// A digest of how languages are detected: when it changes, repositories
/// no policy matched must be looked at again.
pub(crate) fn detect_key(config: &Config) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for p in &config.policies {
        hasher.update(&p.language);
        hasher.update(serde_json::to_vec(&p.detect).expect("detect serialises"));
    }
    format!("detect:{}", hex::encode(hasher.finalize()))
}

/// A repository resolved for rendering, once per sweep: its language,
/// policy, context (facts included) and skips.
pub(crate) struct Target<'c> {
    pub config: &'c Config,
    pub language: String,
    pub policy: &'c Policy,
    pub ctx: RenderContext,
    /// fleet.yaml's skips for the repository: part of the render key.
    pub fleet_skips: &'c [Skip],
    /// Those and the repository's own (`.drover.yaml`), which follow from
    /// its head as the facts do.
    pub skips: Vec<Skip>,
}

/// The target of a repository whose snapshot is read, or — when no policy
/// matches — its finished plan.
pub(crate) fn resolve<'c>(
    config: &'c Config,
    forge: &ForgeFacts,
    repo: &RemoteRepo,
    snapshot: &Snapshot,
) -> Result<Target<'c>, Box<Planned>> {
    let Some(language) = language_for(config, repo, snapshot) else {
        let markers: Vec<String> = config
            .policies
            .iter()
            .flat_map(|p| p.detect.markers.iter().map(|m| m.to_string()))
            .collect();
        let mut planned = Planned::new(
            repo,
            RepoState::Skipped {
                reason: format!(
                    "no policy matches: none of {} found (set `language:` in its override to choose one)",
                    markers.join(", ")
                ),
            },
        );
        planned.report.head = snapshot.head.clone();
        planned.seen.render_key = Some(detect_key(config));
        return Err(Box::new(planned));
    };
    let policy = config
        .policy(&language)
        .expect("override languages are validated");
    let over = config.fleet.repositories.overrides.get(&repo.name);
    let fleet_skips = over.map(|o| o.skip.as_slice()).unwrap_or_default();
    let skips = match own_skips(config, repo, snapshot) {
        Ok(own) => fleet_skips
            .iter()
            .cloned()
            .chain(
                own.into_iter()
                    .filter(|s| !fleet_skips.iter().any(|f| f.path == s.path)),
            )
            .collect(),
        Err(e) => {
            let mut planned = Planned::new(
                repo,
                RepoState::Skipped {
                    reason: format!("{e} (drover leaves the repository alone until it is fixed)"),
                },
            );
            planned.report.head = snapshot.head.clone();
            planned.report.language = Some(language);
            return Err(Box::new(planned));
        }
    };
    let ctx = RenderContext::new(config, forge, repo, &language, &Facts::read(snapshot));
    Ok(Target {
        config,
        language,
        policy,
        ctx,
        fleet_skips,
        skips,
    })
}

/// The skips the repository lists in its own `.drover.yaml`, when the
/// fleet honours them, each reason marked as the repository's.
fn own_skips(
    config: &Config,
    repo: &RemoteRepo,
    snapshot: &Snapshot,
) -> Result<Vec<Skip>, crate::config::ConfigError> {
    if !config.fleet.repositories.repository_skips {
        return Ok(Vec::new());
    }
    let Some(Actual::File { content }) = snapshot.files.get(&RepoFile::path()) else {
        return Ok(Vec::new());
    };
    let file = RepoFile::parse(&repo.full_name, content)?;
    Ok(file
        .skip
        .into_iter()
        .map(|s| Skip {
            reason: format!("{} (the repository's {})", s.reason, repo_file::PATH),
            path: s.path,
        })
        .collect())
}

/// A target's rendering, with the key the store records for it.
pub(crate) struct Rendered {
    pub desired: Vec<DesiredFile>,
    pub skipped: Vec<SkippedFile>,
    pub key: String,
}

pub(crate) fn render(
    renderer: &Renderer,
    forge: &ForgeFacts,
    target: &Target<'_>,
) -> Result<Rendered, crate::render::RenderError> {
    let (desired, skipped) =
        renderer.desired_files(target.policy, forge.ci, &target.skips, &target.ctx)?;
    Ok(Rendered {
        desired,
        skipped,
        key: renderer.render_key(
            target.policy,
            &target.ctx,
            target.fleet_skips,
            target.config.fleet.repositories.repository_skips,
        ),
    })
}

/// Replaces the snapshot's [`Actual::Blob`] entries (files known by blob id
/// only) by their content where the comparison of `desired` needs it. A
/// `whole` file whose id is the id of its rendering is in line without
/// being read: the rendering is its content. `exists` files need no
/// content; `block`, `absent` and differing `whole` files are read from
/// the forge, one request each, verified against their blob ids. Paths no
/// policy manages stay ids.
pub(crate) async fn read_needed(
    forge: &dyn Forge,
    repo: &RemoteRepo,
    desired: &[DesiredFile],
    mut snapshot: Snapshot,
) -> Result<Snapshot, ForgeError> {
    let mut reads: Vec<(RepoPath, String)> = Vec::new();
    for want in desired {
        let Some(Actual::Blob { oid }) = snapshot.files.get(&want.path) else {
            continue;
        };
        if want.mode == Mode::Exists || reads.iter().any(|(p, _)| *p == want.path) {
            continue;
        }
        if let (Mode::Whole, Some(rendered)) = (want.mode, want.content.as_deref()) {
            if crate::git::blob_id_like(rendered.as_bytes(), oid).as_deref() == Some(oid.as_str()) {
                let content = rendered.as_bytes().to_vec();
                snapshot
                    .files
                    .insert(want.path.clone(), Actual::File { content });
                continue;
            }
        }
        reads.push((want.path.clone(), oid.clone()));
    }
    if reads.is_empty() {
        return Ok(snapshot);
    }
    let head = snapshot
        .head
        .clone()
        .ok_or_else(|| ForgeError::Conflict(format!("{} has no head", repo.full_name)))?;
    let contents = forge.read_files(repo, &head, &reads).await?;
    for ((path, _), content) in reads.into_iter().zip(contents) {
        snapshot.files.insert(path, Actual::File { content });
    }
    Ok(snapshot)
}

/// The snapshot completed for the comparison (what `drover render` and
/// `migrate` read before planning): a repository no policy matches, or
/// whose rendering fails, is returned as it is.
pub async fn complete_snapshot(
    config: &Config,
    renderer: &Renderer,
    facts: &ForgeFacts,
    forge: &dyn Forge,
    repo: &RemoteRepo,
    snapshot: Snapshot,
) -> Result<Snapshot, ForgeError> {
    let Ok(target) = resolve(config, facts, repo, &snapshot) else {
        return Ok(snapshot);
    };
    match render(renderer, facts, &target) {
        Ok(rendered) => read_needed(forge, repo, &rendered.desired, snapshot).await,
        Err(_) => Ok(snapshot),
    }
}

/// Plans one repository from its snapshot: resolved and rendered once,
/// what the comparison needs read, then compared.
pub(crate) async fn plan_one(
    config: &Config,
    renderer: &Renderer,
    facts: &ForgeFacts,
    forge: &dyn Forge,
    repo: &RemoteRepo,
    snapshot: Snapshot,
) -> Planned {
    let target = match resolve(config, facts, repo, &snapshot) {
        Ok(target) => target,
        Err(done) => return *done,
    };
    let rendered = match render(renderer, facts, &target) {
        Ok(r) => r,
        Err(e) => return failed_render(repo, &target, &snapshot, e),
    };
    match read_needed(forge, repo, &rendered.desired, snapshot).await {
        Ok(snapshot) => compare(renderer, repo, target, rendered, &snapshot),
        Err(e) => Planned::new(repo, super::budget::state_of("snapshot", &e)),
    }
}

/// Plans one repository whose snapshot holds what the comparison needs
/// (no reads). Pure.
pub(crate) fn plan_complete(
    config: &Config,
    renderer: &Renderer,
    facts: &ForgeFacts,
    repo: &RemoteRepo,
    snapshot: &Snapshot,
) -> Planned {
    let target = match resolve(config, facts, repo, snapshot) {
        Ok(target) => target,
        Err(done) => return *done,
    };
    match render(renderer, facts, &target) {
        Ok(rendered) => compare(renderer, repo, target, rendered, snapshot),
        Err(e) => failed_render(repo, &target, snapshot, e),
    }
}

fn failed_render(
    repo: &RemoteRepo,
    target: &Target<'_>,
    snapshot: &Snapshot,
    e: crate::render::RenderError,
) -> Planned {
    let mut planned = Planned::new(
        repo,
        RepoState::Failed {
            reason: format!("render: {e}"),
        },
    );
    planned.report.head = snapshot.head.clone();
    planned.report.language = Some(target.language.clone());
    planned
}

/// Compares a rendering with the snapshot: the fit check, misfits,
/// takeovers, the drift and, when drifted, the proposal's words. Pure.
pub(crate) fn compare(
    renderer: &Renderer,
    repo: &RemoteRepo,
    target: Target<'_>,
    rendered: Rendered,
    snapshot: &Snapshot,
) -> Planned {
    let mut planned = Planned::new(repo, RepoState::InLine);
    let (report, seen) = (&mut planned.report, &mut planned.seen);
    report.head = snapshot.head.clone();
    seen.branch_tip = snapshot.branch.clone();
    seen.existing = snapshot.proposals.clone();
    seen.head_tree = snapshot.head_tree.clone();
    seen.note = snapshot.note.clone();
    seen.render_key = Some(rendered.key);
    report.language = Some(target.language.clone());
    report.kind = Some(target.ctx.repo.kind);
    let facts = target.ctx.repo.facts;
    let (mut desired, mut skipped) = (rendered.desired, rendered.skipped);
    // The fit check: what a rendering refers to must exist here.
    desired.retain(|want| {
        let Some(content) = want.content.as_deref() else {
            return true;
        };
        let problems = crate::fit::check(&want.path, content, &facts, snapshot);
        if problems.is_empty() {
            return true;
        }
        skipped.push(SkippedFile {
            path: want.path.clone(),
            reason: problems.join("; "),
            misfit: true,
        });
        false
    });
    report.facts = Some(Box::new(facts));
    let misfits: Vec<String> = skipped
        .iter()
        .filter(|s| s.misfit)
        .map(|s| format!("{}: {}", s.path, s.reason))
        .collect();
    report.skipped_files = skipped;
    if !misfits.is_empty() {
        // What does not fit withholds the rest, but for files that stand
        // alone.
        desired.retain(|d| d.stands_alone);
    }
    report.takeovers = takeovers(&mut desired, snapshot);
    match drift::compare(&desired, snapshot) {
        Ok(drifts) if drifts.is_empty() && misfits.is_empty() => {}
        Ok(drifts) if drifts.is_empty() => {
            report.state = RepoState::Misfit {
                reason: misfits.join("; "),
            };
        }
        Ok(mut drifts) => {
            for d in &mut drifts {
                d.takeover = report
                    .takeovers
                    .iter()
                    .find(|t| t.path == d.path && t.action == "replaced")
                    .map(|t| t.lines);
            }
            report.drift = drifts;
            report.state = RepoState::Drifted;
            compose_text(target.config, renderer, target.policy, repo, &mut planned);
        }
        Err(e) => {
            report.state = RepoState::Failed {
                reason: e.to_string(),
            }
        }
    }
    planned
}

/// The header every shipped template writes first: a file that carries
/// it was written by drover.
pub const MANAGED_HEADER: &str = "Managed by drover";

/// Finds managed files that exist without drover's header (written by
/// hand, or by another tool): a `keep` file is taken out of `desired` and
/// reported kept; a `replace` file stays and is reported replaced. Block
/// and exists modes never take a file over.
pub(crate) fn takeovers(desired: &mut Vec<DesiredFile>, snapshot: &Snapshot) -> Vec<Takeover> {
    let mut found = Vec::new();
    desired.retain(|want| {
        if !matches!(want.mode, Mode::Whole | Mode::Absent) {
            return true;
        }
        let Actual::File { content } = snapshot.get(&want.path) else {
            return true;
        };
        let head: String = String::from_utf8_lossy(&content[..content.len().min(2048)])
            .lines()
            .take(10)
            .collect();
        if head.contains(MANAGED_HEADER)
            || Some(content.as_slice()) == want.content.as_deref().map(str::as_bytes)
        {
            return true;
        }
        let keep = want.takeover == crate::config::Takeover::Keep;
        found.push(Takeover {
            path: want.path.clone(),
            lines: String::from_utf8_lossy(content).lines().count(),
            action: if keep { "kept" } else { "replaced" },
        });
        !keep
    });
    found
}

/// The proposal's words and fingerprint for the plan's drift.
pub(crate) fn compose_text(
    config: &Config,
    renderer: &Renderer,
    policy: &Policy,
    repo: &RemoteRepo,
    planned: &mut Planned,
) {
    let text = words(
        config,
        renderer,
        policy,
        &repo.name,
        &repo.full_name,
        &planned.report.drift,
    );
    planned.report.fingerprint = Some(text.fingerprint.clone());
    planned.seen.text = Some(text);
}

/// The words of a proposal for `drifts`: the one place the sweep and the
/// preview (`plan --proposal`) get them from, so they cannot differ.
pub fn words(
    config: &Config,
    renderer: &Renderer,
    policy: &Policy,
    repo_name: &str,
    full_name: &str,
    drifts: &[drift::FileDrift],
) -> proposal::ProposalText {
    let revision = renderer.policy_fingerprint(policy);
    let defaults = &config.fleet.defaults;
    proposal::compose(&ProposalFacts {
        repo_name,
        full_name,
        language: &policy.language,
        template_revision: &revision,
        templates_origin: &config.revision,
        docs_url: defaults.docs_url.as_ref().map(|u| u.as_str()),
        config_url: defaults.config_url.as_ref().map(|u| u.as_str()),
        repository_skips: config.fleet.repositories.repository_skips,
        drifts,
    })
}

/// A plan without reading anything, when the store says the repository
/// was in line at this very head with this very rendering (or matched no
/// policy at this head under the same detection rules).
pub(crate) fn unchanged_in_line(
    config: &Config,
    renderer: &Renderer,
    facts: &ForgeFacts,
    repo: &RemoteRepo,
    record: Option<&RepoRecord>,
) -> Option<Planned> {
    let record = record?;
    if repo.head.is_none() || record.head != repo.head {
        return None;
    }
    let over = config.fleet.repositories.overrides.get(&repo.name);
    let unchanged = |state: RepoState, key: Option<String>, language: Option<&str>| {
        let mut planned = Planned::new(repo, state);
        planned.report.head = repo.head.clone();
        planned.report.language = language.map(str::to_owned);
        planned.report.unchanged = true;
        planned.seen.render_key = key;
        planned
    };
    if record.outcome == Outcome::Skipped
        && record.language.is_none()
        && over.and_then(|o| o.language.as_ref()).is_none()
        && record.render_key.as_deref() == Some(detect_key(config).as_str())
    {
        let reason = record
            .reason
            .clone()
            .unwrap_or_else(|| "no policy matches".into());
        return Some(unchanged(
            RepoState::Skipped { reason },
            record.render_key.clone(),
            None,
        ));
    }
    if record.outcome != Outcome::InLine {
        return None;
    }
    let language = record.language.as_deref()?;
    if over
        .and_then(|o| o.language.as_deref())
        .is_some_and(|l| l != language)
    {
        return None;
    }
    let policy = config.policy(language)?;
    // The key leaves the facts out: they follow from the head.
    let ctx = RenderContext::new(config, facts, repo, language, &Facts::default());
    let skips = over.map(|o| o.skip.as_slice()).unwrap_or_default();
    let key = renderer.render_key(
        policy,
        &ctx,
        skips,
        config.fleet.repositories.repository_skips,
    );
    if record.render_key.as_deref() != Some(&key) {
        return None;
    }
    Some(unchanged(RepoState::InLine, Some(key), Some(language)))
}
