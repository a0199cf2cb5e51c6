//! Conformance of REST exchanges to the forges' official descriptions in
//! `forge-specs/`: GitHub's OpenAPI 3.0 subset and GitLab's Swagger 2.0
//! subset (plus the documented commit-create JSON body).
//!
//! Every exchange the emulator records passes through [`check_exchange`]
//! (called by [`crate::record::layer`]): the request drover sent (method and
//! path matched to an operation, path and query parameters, JSON body) and
//! the response the emulator gave (status, content type, JSON body) are
//! validated, and each finding becomes one line of `Emulator::violations`.
//! [`check`] does the same for one [`Exchange`] without an emulator, for
//! unit tests and for recorded fixtures.
//!
//! Descriptions are parsed once per process ([`description`]) and each
//! schema is compiled once, on first use. Out of scope: sourcehut (GraphQL
//! only), git smart HTTP, GraphQL endpoints (validated on arrival against
//! the schemas, see [`crate::graphql`]) and `/_emulator` routes. Operations
//! the shared subsets lack are listed in the known-gaps table,
//! [`gaps::KNOWN_GAPS`]: such exchanges are counted ([`gap_hits`]), not
//! checked; any other unmatched exchange is a violation.
//!
//! Submodules: [`convert`] (OpenAPI/Swagger schema → JSON Schema),
//! [`description`] (operations and validator cache), [`gaps`] (known gaps,
//! body overrides, errata, scope), `template` (path matching), `validate`
//! (one exchange against one operation), `docs_body` (commit-create body).

pub mod convert;
pub mod description;
mod docs_body;
pub mod gaps;
mod template;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::record::Exchange;
use crate::server::{Shared, Site};
use crate::specs::Specs;

pub use description::Description;
pub use gaps::{Api, KnownGap, KNOWN_GAPS};

/// Which half of an exchange a violation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// What drover sent.
    Request,
    /// What the emulator answered.
    Response,
}

/// One finding: where, on which side, and which schema keyword failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// `github` or `gitlab`.
    pub forge: &'static str,
    pub method: String,
    /// The path as sent, with the query string if any.
    pub path: String,
    /// The matched operation, e.g. `POST /repos/{owner}/{repo}/pulls`.
    pub operation: Option<String>,
    pub side: Side,
    /// `operation`, `path parameter`, `query parameter`, `body`, `status`,
    /// `content-type`.
    pub part: &'static str,
    /// JSON pointer into the part (`""` is its root; query and path
    /// parameters are the members of an object keyed by name).
    pub pointer: String,
    /// The JSON Schema keyword that failed (`required`, `type`, `enum`,
    /// `additionalProperties`…), or `paths` / `responses` / `content` for
    /// an unknown operation, an undocumented status, a wrong body kind.
    pub keyword: String,
    pub detail: String,
}

impl Violation {
    #[allow(clippy::too_many_arguments)]
    fn new(
        api: Api,
        ex: &Exchange,
        operation: Option<String>,
        side: Side,
        part: &'static str,
        pointer: &str,
        keyword: &str,
        detail: String,
    ) -> Violation {
        let path = match &ex.query {
            Some(q) => format!("{}?{q}", ex.path),
            None => ex.path.clone(),
        };
        Violation {
            forge: api.as_str(),
            method: ex.method.clone(),
            path,
            operation,
            side,
            part,
            pointer: pointer.to_string(),
            keyword: keyword.to_string(),
            detail,
        }
    }
}

impl fmt::Display for Violation {
    /// `github POST /repos/a/b/pulls [POST /repos/{owner}/{repo}/pulls]:
    /// request body at #: required: "head" is a required property`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.forge, self.method, self.path)?;
        if let Some(op) = &self.operation {
            write!(f, " [{op}]")?;
        }
        let side = match self.side {
            Side::Request => "request",
            Side::Response => "response",
        };
        write!(
            f,
            ": {side} {} at #{}: {}: {}",
            self.part, self.pointer, self.keyword, self.detail
        )
    }
}

/// What an exchange was checked as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not REST with a description (see [`gaps::out_of_scope`]).
    OutOfScope(&'static str),
    /// Checked against this operation (`POST /repos/{owner}/{repo}/pulls`).
    Operation(String),
    /// On the known-gaps table: counted, not checked.
    KnownGap(&'static KnownGap),
    /// No operation matched (a violation).
    Unmatched,
    /// The description could not be loaded (a violation under `CI=true`).
    SpecMissing(String),
}

/// The result of checking one exchange.
#[derive(Clone, Debug)]
pub struct Report {
    pub outcome: Outcome,
    pub violations: Vec<Violation>,
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

type Cell = Arc<OnceLock<std::result::Result<Arc<Description>, String>>>;

/// The parsed description of `api` (cached per process and spec file).
pub fn description(specs: &Specs, api: Api) -> Result<Arc<Description>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Cell>>> = OnceLock::new();
    let main = match api {
        Api::Github => gaps::GITHUB_SPEC,
        Api::Gitlab => gaps::GITLAB_SPEC,
    };
    let path = specs.file(main)?;
    let docs = match api {
        Api::Github => None,
        Api::Gitlab => Some(specs.file(gaps::GITLAB_COMMIT_DOCS)?),
    };
    let cell: Cell = {
        let mut cache = CACHE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        cache.entry(path.clone()).or_default().clone()
    };
    let loaded = cell.get_or_init(|| {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let desc = match &docs {
            None => Description::github(&text)?,
            Some(d) => {
                let docs = std::fs::read_to_string(d).map_err(|e| e.to_string())?;
                Description::gitlab(&text, &docs)?
            }
        };
        Ok(Arc::new(desc))
    });
    loaded.clone().map_err(|message| Error::Spec {
        path: path.display().to_string(),
        message,
    })
}

/// Starts parsing both descriptions on a background thread.
pub fn preload(specs: &Specs) {
    if specs.dir().is_none() {
        return;
    }
    let specs = specs.clone();
    std::thread::spawn(move || {
        for api in [Api::Github, Api::Gitlab] {
            let _ = description(&specs, api);
        }
    });
}

/// Checks one exchange against the descriptions found through `specs`.
pub fn check(specs: &Specs, ex: &Exchange) -> Report {
    let report = |outcome, violations| Report {
        outcome,
        violations,
    };
    if let Some(why) = gaps::out_of_scope(ex.site, &ex.path) {
        return report(Outcome::OutOfScope(why), Vec::new());
    }
    let (api, path) = match ex.site {
        Site::Github => {
            let path = match ex.path.strip_prefix("/api/v3") {
                Some("") => "/",
                Some(rest) if rest.starts_with('/') => rest,
                _ => ex.path.as_str(),
            };
            (Api::Github, path)
        }
        _ => (Api::Gitlab, ex.path.as_str()),
    };
    let desc = match description(specs, api) {
        Ok(d) => d,
        Err(e) => {
            let mut violations = Vec::new();
            if ci() {
                let detail = format!("description not loaded (CI=true makes this a failure): {e}");
                violations.push(Violation::new(
                    api,
                    ex,
                    None,
                    Side::Request,
                    "operation",
                    "",
                    "$schema",
                    detail,
                ));
            }
            return report(Outcome::SpecMissing(e.to_string()), violations);
        }
    };
    let methods = match desc.lookup(&ex.method, path) {
        description::Lookup::Found(op, raw) => {
            let mut checker = validate::Checker::new(&desc, op, ex);
            checker.path_params(&raw);
            checker.query();
            checker.request_body();
            checker.response();
            return report(Outcome::Operation(op.key()), checker.out);
        }
        description::Lookup::MethodNotDocumented(methods) => methods,
        description::Lookup::NoPath => Vec::new(),
    };
    if let Some(gap) = gaps::known_gap(api, &ex.method, path) {
        return report(Outcome::KnownGap(gap), Vec::new());
    }
    let mut detail = format!("no operation in the official description ({})", desc.file);
    if !methods.is_empty() {
        detail.push_str(&format!(
            "; this path is documented only for {}",
            methods.join(", ")
        ));
    }
    let v = Violation::new(
        api,
        ex,
        None,
        Side::Request,
        "operation",
        "",
        "paths",
        detail,
    );
    report(Outcome::Unmatched, vec![v])
}

/// Known-gap hits of one emulator, kept in the world (`ext_mut`).
#[derive(Default)]
struct GapTally(BTreeMap<String, u64>);

/// The pipeline hook: checks a recorded exchange, records its violations in
/// `Emulator::violations` and counts known-gap hits.
pub fn check_exchange(shared: &Shared, ex: &Exchange) {
    let report = check(&shared.specs, ex);
    for v in &report.violations {
        shared.violation(format!("conformance: {v}"));
    }
    if let Outcome::KnownGap(gap) = report.outcome {
        let key = format!("{} {}", gap.api.as_str(), gap.key());
        *shared
            .world
            .lock()
            .ext_mut::<GapTally>()
            .0
            .entry(key)
            .or_default() += 1;
    }
}

/// How many exchanges fell on each known gap (`github GET
/// /repos/{owner}/{repo}/git/refs` → 2), since the emulator started.
pub fn gap_hits(shared: &Shared) -> BTreeMap<String, u64> {
    shared
        .world
        .lock()
        .ext::<GapTally>()
        .map(|t| t.0.clone())
        .unwrap_or_default()
}
