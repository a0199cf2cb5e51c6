//! The command line: one file per subcommand, each with its arguments and
//! its run function. This is the edge where errors become `anyhow` with
//! context and outcomes become exit codes.

mod check;
mod completions;
mod daemon;
mod init;
mod migrate;
mod output;
mod plan;
mod preview;
mod progress;
mod render;
mod status;
pub mod style;
mod sweep;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::render::Renderer;
use crate::store::Store;

/// Exit codes, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Done; for `plan --exit-code`, also "no drift".
    Ok = 0,
    /// Bad configuration, templates or arguments, or the forge could not
    /// be listed: nothing was done.
    Error = 1,
    /// `plan --exit-code` / `check`-style: drift exists.
    Drift = 2,
    /// The sweep ran, but some repositories failed (see the report).
    Partial = 3,
}

#[derive(Debug, Parser)]
#[command(
    name = "drover",
    version,
    about = "Keeps a fleet of repositories in line with per-language templates"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The fleet configuration.
    #[arg(
        long,
        short,
        global = true,
        env = "DROVER_CONFIG",
        default_value = "fleet.yaml"
    )]
    pub config: PathBuf,
    /// The state directory (store, local patch files). Default: fleet.yaml's
    /// `state_dir:`, systemd's $STATE_DIRECTORY, else
    /// ~/.local/state/drover/<forge>-<owner>.
    #[arg(long, global = true, env = "DROVER_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Only errors on stderr: no warnings, no progress.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More on stderr: -v logs what drover does, -vv debugs it
    /// (`DROVER_LOG=...` wins over both).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Colour: `auto` on a terminal unless NO_COLOR is set, `always`, or
    /// `never`.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Whether text written to a stream that `is_terminal` (or not) is
    /// coloured: `auto` colours a terminal unless NO_COLOR is set to
    /// anything but the empty string (no-color.org).
    pub fn colours(self, is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => is_terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented fleet.yaml for a forge (and, with --eject, the
    /// default policies and templates beside it); never overwrites.
    Init(init::InitArgs),
    /// Validate fleet.yaml, policies and templates, and render every repository.
    Check(check::CheckArgs),
    /// Show how each repository differs from its templates.
    Plan(plan::PlanArgs),
    /// Write the files the templates render for one repository.
    Render(render::RenderArgs),
    /// Propose the changes: one branch and proposal per drifted repository.
    Sweep(sweep::SweepArgs),
    /// Where each repository stands, from the state store (no forge requests).
    Status(status::StatusArgs),
    /// Sweep on fleet.yaml's schedule and on forge webhooks, until SIGTERM.
    Daemon(daemon::DaemonArgs),
    /// Move every repository to the forge of fleet.yaml's `migrate_to:`.
    Migrate(migrate::MigrateArgs),
    /// Print the JSON schema of fleet.yaml.
    Schema,
    /// Print the shell completion script for SHELL.
    Completions(completions::CompletionsArgs),
    /// Print drover's manual page (roff): `drover man > drover.1`.
    Man,
}

impl Command {
    /// Whether a closed stdout should end the process quietly, as it ends
    /// `cat`: true for the commands whose output is made to be piped. The
    /// daemon and migrations keep Rust's default (SIGPIPE ignored, EPIPE an
    /// error) because they talk to forges and git over sockets and pipes,
    /// where a peer hanging up must be an error to retry, not the end.
    pub fn ends_on_broken_pipe(&self) -> bool {
        !matches!(self, Command::Daemon(_) | Command::Migrate(_))
    }
}

/// Lets a closed stdout end the process as SIGPIPE ends `cat` (quietly,
/// status 141 in a shell), instead of `println!` panicking on EPIPE:
/// `drover plan --json | head -c1`.
pub fn end_quietly_on_broken_pipe(command: &Command) {
    #[cfg(unix)]
    if command.ends_on_broken_pipe() {
        // SAFETY: called at startup, before any thread is spawned; it only
        // restores the default disposition of one signal.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    #[cfg(not(unix))]
    let _ = command;
}

/// Starts logging on stderr at the level `--quiet`/`--verbose` ask for
/// (`DROVER_LOG` wins), coloured only as `--color` allows, and sets the
/// colour choice of everything printed through `anstream`. The daemon
/// logs at `info` by default: its schedule, each sweep's summary and each
/// webhook are all a service's log has to say; other commands print their
/// results and log warnings only.
pub fn init_tracing(global: &Global, command: &Command) {
    use std::io::IsTerminal as _;
    match global.color {
        ColorWhen::Auto => {}
        ColorWhen::Always => anstream::ColorChoice::Always.write_global(),
        ColorWhen::Never => anstream::ColorChoice::Never.write_global(),
    }
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) if matches!(command, Command::Daemon(_)) => "warn,drover=info",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DROVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let ansi = global.color.colours(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match global.log_format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Init(args) => init::run(&cli.global, args).await,
        Command::Check(args) => check::run(&cli.global, args).await,
        Command::Plan(args) => plan::run(&cli.global, args).await,
        Command::Render(args) => render::run(&cli.global, args).await,
        Command::Sweep(args) => sweep::run(&cli.global, args).await,
        Command::Status(args) => status::run(&cli.global, args).await,
        Command::Daemon(args) => daemon::run(&cli.global, args).await,
        Command::Migrate(args) => migrate::run(&cli.global, args).await,
        Command::Schema => {
            print!("{}", crate::config::fleet_schema());
            Ok(Exit::Ok)
        }
        Command::Completions(args) => completions::completions(&args),
        Command::Man => completions::man(),
    }
}

/// An error as one line: each cause after a colon, except a cause whose
/// words the line already ends with (an error that names its source in
/// its own message, as `listing repositories: {0}` does, is said once).
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Loads configuration and compiles templates, off the async threads.
pub(crate) async fn load(global: &Global) -> anyhow::Result<(Config, Renderer)> {
    let path = global.config.clone();
    let state_dir = global.state_dir.clone();
    if !path.try_exists().unwrap_or(true) {
        anyhow::bail!(
            "{}: no such file; `drover init` writes one (or name another with --config or DROVER_CONFIG)",
            path.display()
        );
    }
    tokio::task::spawn_blocking(move || -> anyhow::Result<(Config, Renderer)> {
        let mut config = Config::load(&path)?;
        config.state_dir_flag = state_dir;
        let renderer = Renderer::new(&config.templates)?;
        Ok((config, renderer))
    })
    .await
    .context("configuration loader failed")?
}

/// Opens the state store. With `create: false` a missing store is `None`
/// (a plan or dry run must not create state).
pub(crate) async fn open_store(config: &Config, create: bool) -> anyhow::Result<Option<Store>> {
    let dir = config.state_dir().join("store");
    if !create && !dir.exists() {
        return Ok(None);
    }
    let store = tokio::task::spawn_blocking(move || Store::open(&dir))
        .await
        .context("store opener failed")??;
    Ok(Some(store))
}

#[cfg(test)]
mod tests {
    use super::{error_line, ColorWhen};
    use std::ffi::OsStr;

    #[derive(Debug, thiserror::Error)]
    #[error("network: refused")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("listing repositories: {0}")]
    struct Outer(#[from] Inner);

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        let e = anyhow::Error::from(Outer(Inner));
        assert_eq!(error_line(&e), "listing repositories: network: refused");
        let e = anyhow::Error::from(Inner).context("plan");
        assert_eq!(error_line(&e), "plan: network: refused");
    }

    #[test]
    fn auto_colours_a_terminal_unless_no_color_is_set_to_something() {
        for (when, tty, no_color, colours) in [
            (ColorWhen::Auto, true, None, true),
            (ColorWhen::Auto, false, None, false),
            (ColorWhen::Auto, true, Some("1"), false),
            (ColorWhen::Auto, true, Some(""), true),
            (ColorWhen::Always, false, Some("1"), true),
            (ColorWhen::Never, true, None, false),
        ] {
            let got = when.colours(tty, no_color.map(OsStr::new));
            assert_eq!(got, colours, "{when:?} tty={tty} NO_COLOR={no_color:?}");
        }
    }
}
