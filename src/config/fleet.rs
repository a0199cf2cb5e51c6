//! fleet.yaml: the forge, the schedule, fleet-wide defaults and which
//! repositories are managed. These types are the file's schema: the JSON
//! schema in `schema/fleet.schema.json` is generated from them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::secret::SecretRef;
use crate::model::{validated_str, CiFlavor, ForgeKind, RepoPath};

/// The whole of fleet.yaml.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    /// The forge the fleet lives on.
    pub forge: ForgeSection,
    /// Where `drover migrate` moves every repository: a forge section like
    /// `forge:`. When the migration is through, drover rewrites `forge:`
    /// with it and removes this section, editing the file as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate_to: Option<ForgeSection>,
    /// When `drover daemon` sweeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Defaults for every proposal and every template.
    #[serde(default)]
    pub defaults: Defaults,
    /// Which repositories are managed, and per-repository overrides.
    #[serde(default)]
    pub repositories: Repositories,
    /// Caps on how many proposals drover keeps open and opens per sweep.
    #[serde(default)]
    pub limits: Limits,
    /// Directory of `<language>.yaml` policies, relative to fleet.yaml.
    /// Default: `policies/` beside fleet.yaml, or the embedded defaults when
    /// there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<PathBuf>,
    /// Directory of Tera templates, relative to fleet.yaml. Default:
    /// `templates/` beside fleet.yaml, or the embedded defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<PathBuf>,
    /// Where drover keeps its state (and, on the local forge, patch files),
    /// relative to fleet.yaml. `--state-dir` overrides it. Default:
    /// systemd's `$STATE_DIRECTORY`, else the user's state directory
    /// (`$XDG_STATE_HOME/drover/<forge>-<owner>`, or
    /// `~/.local/state/drover/<forge>-<owner>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<PathBuf>,
    /// How `drover daemon` listens and stops.
    #[serde(default)]
    pub daemon: DaemonSection,
}

/// `drover daemon`: its HTTP address (webhooks, probes, metrics), the
/// webhook secrets, and how long SIGTERM waits for a sweep in progress.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DaemonSection {
    /// `host:port` for `/hooks/*`, `/healthz`, `/readyz` and `/metrics`.
    /// `--listen` overrides it.
    #[serde(default = "default_listen")]
    pub listen: ListenAddr,
    /// Seconds a SIGTERM waits for the sweep in progress to finish the
    /// repositories in hand and write the store.
    #[serde(default = "default_shutdown_timeout")]
    pub shutdown_timeout_secs: u64,
    /// Secrets webhooks are checked with; a forge without one has no hook.
    #[serde(default)]
    pub webhooks: WebhookSecrets,
    /// The bearer token (`env:NAME` or `file:PATH`) `/status` asks of any
    /// client but a loopback one without forwarding headers. Without it,
    /// `/status` answers loopback clients only; `drover status` sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_token: Option<SecretRef>,
    /// Connections served at once; further ones wait in the kernel's
    /// backlog until one closes.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Seconds a connection has to send a whole request head, idle
    /// keep-alive time included; then it is closed.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_secs: u64,
    /// Seconds a request has to send its body and be answered; then it is
    /// answered 408 and its connection closed.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Webhook deliveries checked at once; more are answered 503 (forges
    /// deliver again later).
    #[serde(default = "default_webhooks_in_flight")]
    pub max_webhooks_in_flight: usize,
}

impl DaemonSection {
    /// `status_token`, resolved (relative files from `base_dir`, the
    /// directory of fleet.yaml).
    pub fn status_token(
        &self,
        base_dir: &std::path::Path,
    ) -> Result<Option<crate::model::Secret>, super::SecretError> {
        self.status_token
            .as_ref()
            .map(|token| token.resolve(base_dir))
            .transpose()
    }
}

impl Default for DaemonSection {
    fn default() -> Self {
        DaemonSection {
            listen: default_listen(),
            shutdown_timeout_secs: default_shutdown_timeout(),
            webhooks: WebhookSecrets::default(),
            status_token: None,
            max_connections: default_max_connections(),
            header_timeout_secs: default_header_timeout(),
            request_timeout_secs: default_request_timeout(),
            max_webhooks_in_flight: default_webhooks_in_flight(),
        }
    }
}

fn default_max_connections() -> usize {
    256
}

fn default_header_timeout() -> u64 {
    10
}

fn default_request_timeout() -> u64 {
    30
}

fn default_webhooks_in_flight() -> usize {
    16
}

fn default_listen() -> ListenAddr {
    ListenAddr("127.0.0.1:9184".parse().expect("valid"))
}

fn default_shutdown_timeout() -> u64 {
    30
}

/// Webhook secrets, as `env:NAME` or `file:PATH` references.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecrets {
    /// The secret of the GitHub webhook (`X-Hub-Signature-256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<SecretRef>,
    /// The secret token of the GitLab webhook (`X-Gitlab-Token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<SecretRef>,
    /// The instance's webhook signing key (base64 Ed25519 public key,
    /// not a secret) that `X-Payload-Signature` is checked against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sourcehut: Option<PublicKey>,
}

/// A base64 Ed25519 public key (32 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct PublicKey(pub String);

impl PublicKey {
    /// The key's 32 bytes (checked when fleet.yaml was read).
    pub fn bytes(&self) -> [u8; 32] {
        decode_key(&self.0).expect("validated when read")
    }
}

fn decode_key(raw: &str) -> Option<[u8; 32]> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .ok()?
        .try_into()
        .ok()
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, |raw| {
            match decode_key(raw) {
            Some(_) => Ok(PublicKey(raw.trim().to_owned())),
            None => Err(format!(
                "`{raw}` is not an Ed25519 public key: write its 32 bytes in base64, as the instance publishes it"
            )),
        }
        })
    }
}

/// A validated socket address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct ListenAddr(#[schemars(with = "String")] pub std::net::SocketAddr);

impl<'de> Deserialize<'de> for ListenAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, |raw| {
            raw.parse().map(ListenAddr).map_err(|_| {
                format!("`{raw}` is not an address to listen on; write host:port, e.g. `127.0.0.1:9184`")
            })
        })
    }
}

/// The forge section. Which keys are needed depends on `kind`; `drover
/// check` says which one is missing.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgeSection {
    pub kind: ForgeKind,
    /// The forge's API root (GitHub: `https://api.github.com`, GitHub
    /// Enterprise: `https://HOST/api/v3`; GitLab: `https://gitlab.com`;
    /// sourcehut: `https://git.sr.ht`). Defaults to the public service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The organisation, group or user whose repositories are swept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `env:NAME` or `file:PATH`; never the token itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretRef>,
    /// GitHub: run as a GitHub App instead of with `token:` — drover signs
    /// a JWT with the app's private key, exchanges it for an installation
    /// token (refreshed before it expires), and commits and opens pull
    /// requests as the app's bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<GithubApp>,
    /// Local forge: the directory holding one repository per subdirectory,
    /// relative to fleet.yaml.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Local forge: whose CI configuration to render (default `github`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiFlavor>,
    /// Container registry namespace images are pushed to (default per
    /// forge: `ghcr.io/OWNER`, `registry.HOST/OWNER`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// sourcehut: the lists.sr.ht root, where drover reads the state of
    /// its patchsets (default `https://lists.sr.ht`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lists_url: Option<String>,
    /// sourcehut: the mailing list each repository's patches go to, with
    /// `{owner}` and `{repo}` filled in (default
    /// `~{owner}/{repo}-devel@lists.sr.ht`). The local part is
    /// `~OWNER/LIST` or, where a mail provider refuses `~` and `/`,
    /// `u.OWNER.LIST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_address: Option<ListRule>,
    /// The private key (`file:PATH` or `env:NAME`) `drover migrate` fetches
    /// and pushes with over SSH instead of HTTPS and the token — needed to
    /// push to git.sr.ht, which takes pushes over SSH only. The host's key
    /// must be in `~/.ssh/known_hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<SecretRef>,
    /// sourcehut: the mail server drover sends its patches through.
    /// Needed by `sweep`, not by `plan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Smtp>,
    /// The longest drover waits, in seconds, for a spent rate-limit budget
    /// to reset (or for a Retry-After) before it leaves the repositories
    /// not reached *waiting for budget*, for the next sweep to do first
    /// (default 900: GitLab.com's one-minute window always, GitHub's hour
    /// when less than a quarter of it is left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_secs: Option<u64>,
}

/// `forge.app`: a GitHub App drover runs as.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GithubApp {
    /// The app's id (its settings page: "App ID"), the JWT's issuer.
    pub id: u64,
    /// The app's private key, a PEM file GitHub generated
    /// (`file:PATH` or `env:NAME`); never the key itself.
    pub private_key: SecretRef,
    /// Which installation's token drover uses: `auto` (the one on
    /// `forge.owner`, looked up with the JWT) or its numeric id.
    #[serde(default)]
    pub installation: Installation,
}

/// `forge.app.installation`: `auto` or an installation id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Installation {
    /// The app's installation on `forge.owner`.
    #[default]
    Auto,
    /// This installation.
    Id(u64),
}

impl JsonSchema for Installation {
    fn schema_name() -> String {
        "Installation".into()
    }
    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        serde_json::from_value(serde_json::json!({
            "description": "`auto` (the app's installation on `forge.owner`) or an installation id",
            "oneOf": [
                { "type": "string", "enum": ["auto"] },
                { "type": "integer", "minimum": 1 }
            ]
        }))
        .expect("a valid schema")
    }
}

impl Serialize for Installation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Installation::Auto => s.serialize_str("auto"),
            Installation::Id(id) => s.serialize_u64(*id),
        }
    }
}

impl<'de> Deserialize<'de> for Installation {
    /// Checked on the scalar (a visitor, not an untagged enum), so that
    /// an error carries the value's own line and column.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        fn id<E: serde::de::Error>(shown: &str, id: Option<u64>) -> Result<Installation, E> {
            match id {
                Some(id) if id > 0 => Ok(Installation::Id(id)),
                _ => Err(E::custom(format!(
                    "`{shown}` is not an installation: write `auto` or the installation's numeric id"
                ))),
            }
        }
        impl serde::de::Visitor<'_> for V {
            type Value = Installation;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`auto` or an installation id")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Installation, E> {
                id(&v.to_string(), Some(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Installation, E> {
                id(&v.to_string(), u64::try_from(v).ok())
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Installation, E> {
                if v == "auto" {
                    return Ok(Installation::Auto);
                }
                id(&v.escape_default().to_string(), v.parse().ok())
            }
        }
        d.deserialize_any(V)
    }
}

/// Which mailing list a repository's patches go to: an address with
/// `{owner}` and `{repo}` placeholders, validated when parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct ListRule(pub String);

/// A repository's mailing list: where to mail, and how lists.sr.ht names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListAddress {
    /// The address mail goes to.
    pub address: String,
    /// The list owner's username (bare, without `~`).
    pub owner: String,
    /// The list's name.
    pub name: String,
}

impl ListRule {
    /// The list of `owner`'s repository `repo`.
    pub fn resolve(&self, owner: &str, repo: &str) -> Result<ListAddress, String> {
        let address = self.0.replace("{owner}", owner).replace("{repo}", repo);
        let (local, host) = address
            .split_once('@')
            .filter(|(l, h)| !l.is_empty() && !h.is_empty() && !h.contains('@'))
            .ok_or_else(|| format!("`{address}` is not a mail address"))?;
        // lists.sr.ht's parseListAddr: `~owner/name`, or `u.owner.name` for
        // providers that refuse `~` and `/` (usernames hold no dots).
        let (list_owner, name) = match local.strip_prefix('~') {
            Some(rest) => rest.split_once('/'),
            None => local.strip_prefix("u.").and_then(|r| r.split_once('.')),
        }
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| {
            format!("`{address}`: a list address is `~OWNER/LIST@{host}` or `u.OWNER.LIST@{host}`")
        })?;
        Ok(ListAddress {
            owner: list_owner.to_owned(),
            name: name.to_owned(),
            address,
        })
    }
}

impl<'de> Deserialize<'de> for ListRule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, |raw| {
            let rest = raw.replace("{owner}", "").replace("{repo}", "");
            if rest.contains(['{', '}']) {
                return Err(format!(
                    "`{raw}`: the only placeholders are `{{owner}}` and `{{repo}}`"
                ));
            }
            let rule = ListRule(raw.to_owned());
            rule.resolve("owner", "repo")?;
            Ok(rule)
        })
    }
}

/// An SMTP submission server. Mail goes out as `defaults.author`: patch
/// mail's `From:` is the commit's author, so there is one address, not two.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// Host name of the server (also the name its certificate must carry).
    pub host: String,
    /// Port (default: 587 for `starttls`, 465 for `tls`, 25 for `plain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// User to authenticate as; no authentication when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `env:NAME` or `file:PATH`; needed with `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
    /// How the connection is protected (default `starttls`).
    #[serde(default)]
    pub security: SmtpSecurity,
}

/// How an SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required.
    #[default]
    Starttls,
    /// TLS from the first byte (submissions, port 465).
    Tls,
    /// No encryption: only for a server on the loopback interface.
    Plain,
}

impl Smtp {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Plain => 25,
        })
    }
}

/// A cron schedule with an explicit timezone.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Five fields as crontab writes them (`0 3 * * *` is 03:00 daily), or
    /// six or seven, seconds first (`0 0 3 * * *`).
    pub cron: CronExpr,
    /// An IANA timezone name such as `Europe/Paris`.
    #[serde(default = "default_timezone")]
    pub timezone: Timezone,
}

fn default_timezone() -> Timezone {
    Timezone("UTC".into())
}

/// A validated cron expression, held in the `cron` crate's form: seconds
/// first. A five-field crontab line is read with a `0` seconds field put in
/// front, so every reader of `.0` parses it as `cron::Schedule` unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct CronExpr(pub String);

impl CronExpr {
    /// Reads a crontab line (five fields) or a seconds-first one (six or
    /// seven fields).
    pub fn parse(raw: &str) -> Result<CronExpr, String> {
        let fields = raw.split_whitespace().count();
        let expr = if fields == 5 {
            format!("0 {}", raw.trim())
        } else {
            raw.to_owned()
        };
        expr.parse::<cron::Schedule>().map_err(|e| {
            format!("`{raw}` is not a cron expression ({e}); write five fields as crontab does, e.g. `0 3 * * *`, or six, seconds first, e.g. `0 0 3 * * *`")
        })?;
        Ok(CronExpr(expr))
    }

    /// The schedule it describes.
    pub fn schedule(&self) -> cron::Schedule {
        self.0.parse().expect("validated when read")
    }
}

impl<'de> Deserialize<'de> for CronExpr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, CronExpr::parse)
    }
}

/// A validated IANA timezone name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Timezone(pub String);

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, |raw| {
            raw.parse::<chrono_tz::Tz>().map_err(|_| {
                format!("`{raw}` is not an IANA timezone such as `UTC` or `Europe/Paris`")
            })?;
            Ok(Timezone(raw.to_owned()))
        })
    }
}

/// Fleet-wide defaults for proposals and templates.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// The branch drover commits to in each repository.
    #[serde(default = "default_branch")]
    pub branch: BranchName,
    /// Labels put on every proposal.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Reviewers requested on every proposal.
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// Template variables for every repository (`vars.*`), over the
    /// policies' own defaults.
    #[serde(default)]
    pub variables: BTreeMap<String, serde_json::Value>,
    /// Author and committer of drover's commits.
    #[serde(default)]
    pub author: Author,
    /// A page about drover in this organisation (what it does, whom to
    /// ask), linked from every proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<Url>,
    /// Where this fleet.yaml lives (or how to ask for an exception),
    /// linked from every proposal's opting-out section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_url: Option<Url>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            branch: default_branch(),
            labels: Vec::new(),
            reviewers: Vec::new(),
            variables: BTreeMap::new(),
            author: Author::default(),
            docs_url: None,
            config_url: None,
        }
    }
}

/// An `http(s)` address shown to people in proposals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Url(pub String);

impl Url {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Url {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, |raw| {
            // Never echoed: an address may carry a token by mistake.
            let rest = raw
                .strip_prefix("https://")
                .or_else(|| raw.strip_prefix("http://"));
            let Some(rest) = rest.filter(|r| {
                !r.is_empty()
                    && !r.contains(char::is_whitespace)
                    && !r.contains(['<', '>', '(', ')', '[', ']', '`'])
            }) else {
                return Err("not an http(s) address a proposal can link to".into());
            };
            if rest
                .split('/')
                .next()
                .is_some_and(|host| host.contains('@'))
            {
                return Err("an address with a user or token in it would be published in every proposal; link a page without one".into());
            }
            // `?private_token=…`, `?access_token=…`, `?key=…`: a credential
            // in the query would be published the same way.
            let query = rest.split_once('?').map(|(_, q)| q).unwrap_or("");
            let credential = query.split('&').any(|pair| {
                let name = pair.split('=').next().unwrap_or("").to_ascii_lowercase();
                ["token", "key", "secret", "password", "auth", "sig"]
                    .iter()
                    .any(|w| name.contains(w))
            });
            if credential {
                return Err("an address with a credential in its query would be published in every proposal; link a page without one".into());
            }
            Ok(Url(raw.to_owned()))
        })
    }
}

fn default_branch() -> BranchName {
    BranchName("drover/sync".into())
}

/// Caps on proposals. What exceeds them waits for a later sweep and is
/// reported as waiting; proposals already open are still updated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// At most this many drover proposals open across the fleet at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_proposals: Option<usize>,
    /// At most this many new proposals in one sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_per_sweep: Option<usize>,
}

/// Who drover's commits are from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Author {
    pub name: String,
    pub email: String,
}

impl Default for Author {
    fn default() -> Self {
        Author {
            name: "drover".into(),
            email: "drover@users.noreply.localhost".into(),
        }
    }
}

/// A branch name git accepts (`git check-ref-format --branch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct BranchName(pub String);

/// The longest branch name drover writes, in bytes: a ref is a file
/// below `refs/heads/` on most forges' disks.
pub const MAX_BRANCH_BYTES: usize = 255;

impl BranchName {
    /// `raw` if git would take it as a branch name: no `..` or `@{`, no
    /// control characters, space or any of `~^:?*[\`, no component that
    /// starts with `.` or ends with `.lock`, no empty component (`//`, a
    /// leading or trailing `/`), not ending with `.`, not starting with
    /// `-`, not `@` nor `HEAD`, and at most [`MAX_BRANCH_BYTES`] bytes.
    pub fn new(raw: &str) -> Result<BranchName, String> {
        let shown = raw.escape_default();
        let problem = if raw.is_empty() {
            Some("is empty".to_owned())
        } else if raw.len() > MAX_BRANCH_BYTES {
            Some(format!("is longer than {MAX_BRANCH_BYTES} bytes"))
        } else if raw == "HEAD" || raw == "@" {
            Some("names what git resolves, not a branch".into())
        } else if raw.starts_with('-') {
            Some("starts with `-`, which git reads as an option".into())
        } else if let Some(c) = raw
            .chars()
            .find(|c| c.is_control() || " ~^:?*[\\".contains(*c))
        {
            Some(format!("contains `{}`", c.escape_default()))
        } else if raw.contains("..") || raw.contains("@{") {
            Some("contains `..` or `@{`".into())
        } else if raw.ends_with('.') {
            Some("ends with `.`".into())
        } else {
            raw.split('/').find_map(|component| {
                if component.is_empty() {
                    Some("has an empty component (a leading, trailing or doubled `/`)".into())
                } else if component.starts_with('.') {
                    Some(format!(
                        "has a component starting with `.` (`{}`)",
                        component.escape_default()
                    ))
                } else if component.ends_with(".lock") {
                    Some(format!(
                        "has a component ending with `.lock` (`{}`)",
                        component.escape_default()
                    ))
                } else {
                    None
                }
            })
        };
        match problem {
            Some(why) => Err(format!(
                "`{shown}` is not a valid git branch name: it {why}"
            )),
            None => Ok(BranchName(raw.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for BranchName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, BranchName::new)
    }
}

/// Which repositories of the owner are managed.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Repositories {
    /// Glob patterns on the repository name (relative to the owner, e.g.
    /// `backend/*` inside a GitLab group). Empty means all.
    #[serde(default)]
    pub include: Vec<Pattern>,
    /// Glob patterns of repositories left alone.
    #[serde(default)]
    pub exclude: Vec<Pattern>,
    /// Sweep archived repositories too (they cannot take proposals on most
    /// forges, so the default is to report and skip them).
    #[serde(default)]
    pub archived: bool,
    /// Sweep forks too (default: report and skip them).
    #[serde(default)]
    pub forks: bool,
    /// Per-repository overrides, keyed by repository name.
    #[serde(default)]
    pub overrides: BTreeMap<String, Override>,
    /// Honour the skips a repository lists in its own `.drover.yaml`
    /// (each with a reason, shown in reports), so a team that cannot edit
    /// this file can keep its own version of a managed file. Default: on.
    #[serde(default = "yes")]
    pub repository_skips: bool,
}

impl Default for Repositories {
    fn default() -> Self {
        Repositories {
            include: Vec::new(),
            exclude: Vec::new(),
            archived: false,
            forks: false,
            overrides: BTreeMap::new(),
            repository_skips: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// A validated glob pattern.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Pattern(pub String);

impl Pattern {
    pub fn matcher(&self) -> globset::GlobMatcher {
        // Validated at parse time.
        globset::Glob::new(&self.0)
            .expect("validated glob")
            .compile_matcher()
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, |raw| {
            globset::Glob::new(raw)
                .map_err(|e| format!("`{raw}` is not a glob pattern: {}", e.kind()))?;
            Ok(Pattern(raw.to_owned()))
        })
    }
}

/// What one repository does differently.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The language, when detection would guess wrong or find nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// What the repository is (`service`, `cli` or `library`), when its
    /// facts suggest otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<crate::facts::Kind>,
    /// Template variables for this repository only.
    #[serde(default)]
    pub variables: BTreeMap<String, serde_json::Value>,
    /// Managed files this repository opts out of, each with a reason.
    #[serde(default)]
    pub skip: Vec<Skip>,
    /// Leave the whole repository alone; the reason is shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Labels for this repository's proposal, instead of the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Reviewers for this repository's proposal, instead of the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewers: Option<Vec<String>>,
}

/// A managed file a repository opts out of.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Skip {
    pub path: RepoPath,
    /// Why; shown in plans and reports.
    pub reason: String,
}
