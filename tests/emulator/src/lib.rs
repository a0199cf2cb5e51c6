//! A loopback emulator of GitHub, GitLab and sourcehut for testing drover.
//!
//! [`Emulator::start`] binds one listener per site on `127.0.0.1:0` (GitHub,
//! GitLab, git.sr.ht, lists.sr.ht, and SMTP), backed by one [`World`] whose
//! repositories are real bare git repositories in a temporary directory.
//! Tests seed the world through the methods here, point drover at the URLs,
//! and assert on the resulting state, the recorded exchanges, the request
//! counters and the conformance violations.
//!
//! Module map (see README.md): `server` (pipeline and connection loop),
//! `world` + `gitstore` (state), `githttp` (git smart HTTP), `auth`,
//! `ratelimit`, `faults`, `record`, `graphql`, `specs`, `seed`, `control`,
//! and the forges: `github`, `gitlab`, `sourcehut`; `conformance`.

pub mod auth;
pub mod conformance;
pub mod control;
pub mod error;
pub mod faults;
pub mod githttp;
pub mod github;
pub mod gitlab;
pub mod gitstore;
pub mod graphql;
pub mod ratelimit;
pub mod record;
pub mod seed;
pub mod server;
pub mod sourcehut;
pub mod specs;
pub mod world;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use error::{Error, Result};
pub use faults::{Fault, FaultRule, Faults, InjectedFault};
pub use gitlab::graphql::complexity::{Limits as GitlabGraphqlLimits, Score as GitlabGraphqlScore};
pub use gitstore::{FileChange, Person};
pub use ratelimit::RateLimitConfig;
pub use record::Exchange;
pub use seed::{CommitSeed, RepoSeed, SeedFile};
pub use server::{AppState, Ctx, Shared, Site, Urls};
pub use world::{Forge, OwnerKind, Proposal, ProposalState, SharedWorld, World};

/// How to start an emulator. `Default` is what most tests want.
#[derive(Clone, Debug, Default)]
pub struct EmulatorConfig {
    /// Seed of the fault-injection randomness.
    pub seed: u64,
    /// Fault rules active from the start.
    pub faults: Vec<FaultRule>,
    /// JSON-lines request log; else env `DROVER_EMULATOR_LOG`; else none.
    pub log_path: Option<PathBuf>,
    /// The forge-specs directory; else env `DROVER_FORGE_SPECS`; else
    /// `../shared/forge-specs` beside the workspace.
    pub specs_dir: Option<PathBuf>,
    pub rate_limits: RateLimitConfig,
    /// GitLab's GraphQL query limits; `Default` is GitLab.com's (complexity
    /// 250 signed in, 200 anonymous; depth 20 / 15).
    pub gitlab_graphql: GitlabGraphqlLimits,
    /// A fixed clock (epoch seconds) for reproducible timestamps.
    pub frozen_time: Option<i64>,
    /// Do not panic on drop when violations were recorded (for tests that
    /// provoke them on purpose).
    pub allow_violations: bool,
}

/// A running emulator. Dropping it stops every listener.
pub struct Emulator {
    state: AppState,
    allow_violations: bool,
    tasks: Vec<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

async fn bind() -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

impl Emulator {
    /// Binds every listener on `127.0.0.1:0` and starts serving.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator> {
        let specs = specs::Specs::locate(config.specs_dir.as_deref())?;
        specs.preload();
        conformance::preload(&specs);
        let dir = tempfile::Builder::new()
            .prefix("drover-emulator-")
            .tempdir()?;
        let mut world = World::new(dir.path());
        world.frozen_time = config.frozen_time;
        let log_path = config
            .log_path
            .clone()
            .or_else(|| std::env::var_os("DROVER_EMULATOR_LOG").map(PathBuf::from));
        let (gh, gh_addr) = bind().await?;
        let (gl, gl_addr) = bind().await?;
        let (sg, sg_addr) = bind().await?;
        let (sl, sl_addr) = bind().await?;
        let (smtp, smtp_addr) = bind().await?;
        let url = |a: SocketAddr| format!("http://{a}");
        let state: AppState = Arc::new(Shared {
            world: Arc::new(Mutex::new(world)),
            specs,
            urls: Urls {
                github: url(gh_addr),
                gitlab: url(gl_addr),
                srht_git: url(sg_addr),
                srht_lists: url(sl_addr),
                smtp: smtp_addr,
            },
            recorder: record::Recorder::new(log_path.as_deref())?,
            faults: Faults::new(config.seed, config.faults.clone()),
            rate_limits: ratelimit::RateLimits::new(config.rate_limits.clone()),
            gitlab_graphql: config.gitlab_graphql,
            violations: Mutex::new(Vec::new()),
        });
        let mut tasks = Vec::new();
        for (listener, site) in [
            (gh, Site::Github),
            (gl, Site::Gitlab),
            (sg, Site::SrhtGit),
            (sl, Site::SrhtLists),
        ] {
            let app = server::app(state.clone(), site);
            tasks.push(tokio::spawn(server::serve(listener, app)));
        }
        tasks.push(tokio::spawn(sourcehut::smtp::serve(smtp, state.clone())));
        Ok(Emulator {
            state,
            allow_violations: config.allow_violations,
            tasks,
            _dir: dir,
        })
    }

    /// Stops every listener and open connection.
    pub fn shutdown(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }

    // ----- addresses ------------------------------------------------------

    /// GitHub base URL (REST at `/`, GHE style at `/api/v3`).
    pub fn github_url(&self) -> &str {
        &self.state.urls.github
    }
    /// GitLab base URL (REST at `/api/v4`).
    pub fn gitlab_url(&self) -> &str {
        &self.state.urls.gitlab
    }
    /// git.sr.ht base URL (GraphQL at `/query`, git at `/~user/repo`).
    pub fn srht_git_url(&self) -> &str {
        &self.state.urls.srht_git
    }
    /// lists.sr.ht base URL (GraphQL at `/query`).
    pub fn srht_lists_url(&self) -> &str {
        &self.state.urls.srht_lists
    }
    /// The SMTP intake.
    pub fn smtp_addr(&self) -> SocketAddr {
        self.state.urls.smtp
    }
    /// The base URL of a site.
    pub fn url(&self, site: Site) -> &str {
        self.state.urls.of(site)
    }
    /// The clone URL of a repository, without credentials.
    pub fn clone_url(&self, forge: Forge, full_path: &str) -> String {
        let path = world::canonical_repo_path(forge, full_path);
        match forge {
            Forge::Github => format!("{}/{path}.git", self.github_url()),
            Forge::Gitlab => format!("{}/{path}.git", self.gitlab_url()),
            Forge::Sourcehut => format!("{}/{path}", self.srht_git_url()),
        }
    }

    // ----- state ----------------------------------------------------------

    /// The shared state, for handlers-level access in tests.
    pub fn state(&self) -> &AppState {
        &self.state
    }
    /// The world; lock it briefly, never across an await.
    pub fn world(&self) -> &SharedWorld {
        &self.state.world
    }

    // ----- seeding --------------------------------------------------------

    /// Creates an organisation (GitHub), group (GitLab, parents included) or
    /// user (sourcehut `~name`). Returns its id.
    pub fn create_owner(&self, forge: Forge, kind: OwnerKind, path: &str) -> Result<u64> {
        self.state.world.lock().ensure_owner(forge, kind, path)
    }
    /// Creates a user (if needed) and a token authenticating it.
    pub fn create_token(&self, forge: Forge, user: &str, token: &str) -> Result<()> {
        self.state.world.lock().add_token(forge, user, token)
    }
    /// Registers GitHub App `id` (`slug`, owned by `owner`) with its RSA
    /// public key in PEM form; its bot user `<slug>[bot]` is created.
    pub fn create_app(&self, id: u64, slug: &str, owner: &str, public_key_pem: &str) -> Result<()> {
        github::apps::create_app(
            &mut self.state.world.lock(),
            id,
            slug,
            owner,
            public_key_pem,
        )
    }
    /// Installs GitHub App `app_id` on the organisation or user `account`.
    /// Returns the installation's id.
    pub fn install_app(&self, app_id: u64, account: &str) -> Result<u64> {
        github::apps::install(&mut self.state.world.lock(), app_id, account)
    }
    /// How long installation tokens issued from now on live (GitHub: an
    /// hour), and after how many requests each stops working regardless
    /// (`None`: only its lifetime) — an expiry the client cannot see
    /// coming, landing mid-sweep.
    pub fn set_app_token_lifetime(&self, secs: i64, uses: Option<u64>) {
        github::apps::set_lifetime(&mut self.state.world.lock(), secs, uses);
    }
    /// Every installation token issued so far (for tests that look for
    /// them where they must not be).
    pub fn app_tokens(&self) -> Vec<String> {
        let world = self.state.world.lock();
        world
            .ext::<github::apps::Apps>()
            .map(github::apps::Apps::issued)
            .unwrap_or_default()
    }
    /// Expires every installation token issued so far.
    pub fn expire_app_tokens(&self) {
        github::apps::expire_all(&mut self.state.world.lock());
    }
    /// Creates a repository with one real initial commit. Returns its id.
    pub fn create_repo(&self, forge: Forge, full_path: &str, seed: RepoSeed) -> Result<u64> {
        seed::create_repo(&mut self.state.world.lock(), forge, full_path, &seed)
    }
    /// Adds a commit to a branch (created if missing). Returns the commit id.
    pub fn commit(&self, forge: Forge, full_path: &str, commit: CommitSeed) -> Result<String> {
        seed::commit(&mut self.state.world.lock(), forge, full_path, &commit)
    }
    /// Applies a seed file (owners, tokens, repositories).
    pub fn seed(&self, seed: &SeedFile) -> Result<()> {
        seed::apply(&mut self.state.world.lock(), seed)
    }

    // ----- inspection -----------------------------------------------------

    /// A copy of a repository's record.
    pub fn repo(&self, forge: Forge, full_path: &str) -> Option<world::Repository> {
        self.state.world.lock().repo(forge, full_path).cloned()
    }
    /// Every ref of a repository (full name → object id).
    pub fn refs(&self, forge: Forge, full_path: &str) -> Result<BTreeMap<String, String>> {
        seed::refs(&self.state.world.lock(), forge, full_path)
    }
    /// The commit a revision names (branch, tag, ref or id).
    pub fn resolve(&self, forge: Forge, full_path: &str, rev: &str) -> Result<Option<String>> {
        let git_dir = self.git_dir(forge, full_path)?;
        gitstore::resolve(&git_dir, rev)
    }
    /// A file's content at a revision; `None` if absent.
    pub fn file(
        &self,
        forge: Forge,
        full_path: &str,
        rev: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>> {
        let git_dir = self.git_dir(forge, full_path)?;
        gitstore::read_file(&git_dir, rev, path)
    }
    /// A commit's metadata.
    pub fn commit_info(
        &self,
        forge: Forge,
        full_path: &str,
        rev: &str,
    ) -> Result<Option<gitstore::CommitInfo>> {
        let git_dir = self.git_dir(forge, full_path)?;
        gitstore::commit_info(&git_dir, rev)
    }
    /// The bare repository backing a repository.
    pub fn git_dir(&self, forge: Forge, full_path: &str) -> Result<PathBuf> {
        Ok(self
            .state
            .world
            .lock()
            .require_repo(forge, full_path)?
            .git_dir
            .clone())
    }
    /// Pull/merge requests of a repository, by number.
    pub fn proposals(&self, forge: Forge, full_path: &str) -> Result<Vec<Proposal>> {
        let world = self.state.world.lock();
        let id = world.require_repo(forge, full_path)?.id;
        Ok(world.proposals_of(id).into_iter().cloned().collect())
    }
    /// Mail received over SMTP and not filed as a patchset.
    pub fn inbox(&self) -> Vec<world::Mail> {
        self.state.world.lock().inbox.clone()
    }

    // ----- traffic --------------------------------------------------------

    /// Every exchange so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.recorder.exchanges()
    }
    /// Requests to `route` (e.g. `GET /repos/{owner}/{repo}`) on `site`.
    pub fn request_count(&self, site: Site, route: &str) -> u64 {
        self.state.recorder.count(site, route)
    }
    /// All per-route counts.
    pub fn request_counts(&self) -> BTreeMap<(Site, String), u64> {
        self.state.recorder.counts()
    }
    /// Requests on every listener since the last reset.
    pub fn total_requests(&self) -> u64 {
        self.state.recorder.total()
    }
    /// Clears counters and recorded exchanges.
    pub fn reset_counters(&self) {
        self.state.recorder.reset()
    }
    /// Fault rules and injected-fault counts.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }
    /// Rate-limit budgets.
    pub fn rate_limits(&self) -> &ratelimit::RateLimits {
        &self.state.rate_limits
    }
    /// Requests a real forge would have rejected (invalid GraphQL…).
    /// GitLab's complexity and depth of a GraphQL document, as the
    /// emulator counts them before answering; `None` when the document
    /// does not validate against the schema.
    pub fn gitlab_graphql_score(
        &self,
        query: &str,
        variables: serde_json::Value,
    ) -> Option<GitlabGraphqlScore> {
        let schema = self.state.specs.graphql_schema(Site::Gitlab).ok()?;
        let doc = schema.validate(query).ok()?;
        let vars = variables.as_object().cloned().unwrap_or_default();
        gitlab::graphql::complexity::score(&doc, None, &vars)
    }

    pub fn violations(&self) -> Vec<String> {
        self.state.violations.lock().clone()
    }
    /// Panics listing every violation so far (REST exchanges against the
    /// OpenAPI descriptions, GraphQL documents against the schemas).
    #[track_caller]
    pub fn assert_conformant(&self) {
        let violations = self.violations();
        if !violations.is_empty() {
            panic!("{}", conformance_report(&violations));
        }
    }
}

fn conformance_report(violations: &[String]) -> String {
    let mut out = format!("{} conformance violation(s):", violations.len());
    for v in violations {
        out.push_str("\n  - ");
        out.push_str(v);
    }
    out
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown();
        // Violations nobody asserted fail the test, unless it provokes them.
        if !self.allow_violations && !std::thread::panicking() {
            let violations = self.violations();
            if !violations.is_empty() {
                panic!("emulator dropped with {}", conformance_report(&violations));
            }
        }
    }
}
