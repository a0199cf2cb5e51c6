//! `drover init`: a commented fleet.yaml for one forge, and with `--eject`
//! the embedded policies and templates beside it, ready to edit. It never
//! overwrites: every file it would write is looked at before any is.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::{Exit, Global};
use crate::model::ForgeKind;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The forge the fleet lives on: github, gitlab, sourcehut or local.
    #[arg(long, value_name = "KIND", default_value = "local", value_parser = forge_kind)]
    pub forge: ForgeKind,
    /// The forge's API root, for a self-hosted instance (default: the
    /// public service).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The organisation, group or user whose repositories are swept
    /// (needed on every forge but the local one).
    #[arg(long, value_name = "NAME")]
    pub owner: Option<String>,
    /// Local forge: the directory holding one repository per
    /// subdirectory, relative to fleet.yaml (created if missing).
    #[arg(long, value_name = "DIR", default_value = "repositories")]
    pub path: String,
    /// Also write the embedded `policies/` and `templates/` beside
    /// fleet.yaml, where drover then reads them instead.
    #[arg(long)]
    pub eject: bool,
}

fn forge_kind(name: &str) -> Result<ForgeKind, String> {
    ForgeKind::parse(name).ok_or_else(|| {
        let kinds: Vec<&str> = ForgeKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("expected one of {}", kinds.join(", "))
    })
}

pub async fn run(global: &Global, args: InitArgs) -> anyhow::Result<Exit> {
    let fleet_path = global.config.clone();
    let text = fleet_text(&args)?;
    // The text must be one drover reads: a flag value that breaks it is
    // refused here, not by the next command.
    crate::config::parse_fleet(&fleet_path, &text)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the fleet.yaml drover init would write does not parse")?;
    let written = tokio::task::spawn_blocking(move || write_all(&fleet_path, &text, &args))
        .await
        .context("init writer failed")??;
    for path in &written {
        println!("wrote {}", path.display());
    }
    println!("next: drover check, then drover plan");
    Ok(Exit::Ok)
}

/// Writes fleet.yaml (and the ejected defaults), having first made sure
/// that none of them exists. Returns what it wrote, for the user.
fn write_all(fleet_path: &Path, text: &str, args: &InitArgs) -> anyhow::Result<Vec<PathBuf>> {
    // Empty for a bare file name, so the paths shown stay as typed.
    let base = fleet_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut taken: Vec<PathBuf> = vec![fleet_path.to_path_buf()];
    if args.eject {
        taken.push(base.join("policies"));
        taken.push(base.join("templates"));
    }
    if let Some(existing) = taken.iter().find(|p| p.symlink_metadata().is_ok()) {
        anyhow::bail!(
            "{} exists; drover init does not overwrite (move it away, or edit it)",
            existing.display()
        );
    }
    if !base.as_os_str().is_empty() {
        std::fs::create_dir_all(&base)
            .with_context(|| format!("cannot create {}", base.display()))?;
    }
    crate::fsutil::write_atomically(fleet_path, text.as_bytes())
        .with_context(|| format!("cannot write {}", fleet_path.display()))?;
    let mut written = vec![fleet_path.to_path_buf()];
    if args.forge == ForgeKind::Local {
        let repos = base.join(&args.path);
        if !repos.exists() {
            std::fs::create_dir_all(&repos)
                .with_context(|| format!("cannot create {}", repos.display()))?;
            written.push(repos);
        }
    }
    if args.eject {
        for (name, bytes) in crate::config::embedded_defaults() {
            let dest = base.join(&name);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&dest, bytes)
                .with_context(|| format!("cannot write {}", dest.display()))?;
        }
        written.push(base.join("policies"));
        written.push(base.join("templates"));
    }
    Ok(written)
}

/// The token variable a forge's section names by default.
fn token_variable(kind: ForgeKind) -> &'static str {
    match kind {
        ForgeKind::Github => "GITHUB_TOKEN",
        ForgeKind::Gitlab => "GITLAB_TOKEN",
        ForgeKind::Sourcehut => "SRHT_TOKEN",
        ForgeKind::Local => "",
    }
}

/// The commented fleet.yaml for `args`.
pub fn fleet_text(args: &InitArgs) -> anyhow::Result<String> {
    let kind = args.forge;
    let mut out = String::from(
        "# drover's fleet: the forge, which repositories, when to sweep, and how\n\
         # proposals look. `drover check` validates it and renders every\n\
         # repository, `drover plan` shows the drift, `drover sweep` proposes fixes.\n\
         # Every key: `drover schema`, or README.md's fleet.yaml section.\n",
    );
    out.push_str("forge:\n");
    let _ = writeln!(out, "  kind: {kind}");
    if kind == ForgeKind::Local {
        anyhow::ensure!(
            args.url.is_none() && args.owner.is_none(),
            "--url and --owner are for a forge; the local forge takes --path DIR"
        );
        let _ = writeln!(
            out,
            "  # One repository per subdirectory, relative to this file.\n  path: {}",
            yaml_scalar(&args.path)
        );
        out.push_str("  # Whose CI files to render: github, gitlab or sourcehut.\n  ci: github\n");
    } else {
        let owner = args
            .owner
            .as_deref()
            .with_context(|| format!("--owner NAME is needed for a {kind} fleet"))?;
        match &args.url {
            Some(url) => {
                let _ = writeln!(out, "  url: {}", yaml_scalar(url));
            }
            None => out.push_str("  # url: https://…   # a self-hosted instance's API root\n"),
        }
        let _ = writeln!(
            out,
            "  owner: {}   # the organisation, group or user",
            yaml_scalar(owner)
        );
        let var = token_variable(kind);
        let _ = writeln!(
            out,
            "  # Read from the environment (or `file:/run/secrets/...`); never the token itself.\n  token: env:{var}"
        );
        if kind == ForgeKind::Sourcehut {
            out.push_str(
                "  # Patches are mailed to each repository's list; `drover sweep` needs\n\
                 \x20 # a mail server (`drover plan` does not).\n\
                 \x20 # smtp:\n\
                 \x20 #   host: smtp.example.com\n\
                 \x20 #   username: drover\n\
                 \x20 #   password: env:SMTP_PASSWORD\n",
            );
        }
    }
    out.push_str(
        "\n# When `drover daemon` sweeps: crontab's five fields (or six, seconds first).\n\
         schedule:\n  cron: \"0 3 * * *\"\n  timezone: UTC\n\
         \n# Where the state store lives; the default is the user's state directory.\n\
         # state_dir: .drover\n\
         \ndefaults:\n  branch: drover/sync   # the branch drover commits to\n  labels: [drover]\n  reviewers: []\n\
         \nrepositories:\n  include: [\"*\"]\n  exclude: []\n\
         \x20 # overrides:\n\
         \x20 #   billing-api:\n\
         \x20 #     language: rust\n\
         \x20 #     skip:\n\
         \x20 #       - path: Dockerfile\n\
         \x20 #         reason: built by the platform team\n",
    );
    Ok(out)
}

/// `value` as a YAML scalar: plain when that reads back the same, else
/// double-quoted with JSON's escapes (which YAML reads).
fn yaml_scalar(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
        && !value.starts_with(['-', ':'])
        && !value.ends_with(':');
    if plain {
        value.to_owned()
    } else {
        serde_json::to_string(value).expect("a string serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(forge: ForgeKind, owner: Option<&str>, url: Option<&str>) -> InitArgs {
        InitArgs {
            forge,
            url: url.map(str::to_owned),
            owner: owner.map(str::to_owned),
            path: "repositories".into(),
            eject: false,
        }
    }

    #[test]
    fn every_forge_gets_a_fleet_that_parses_with_its_token_from_the_environment() {
        for kind in ForgeKind::ALL {
            let owner = (kind != ForgeKind::Local).then_some("acme # x");
            let text = fleet_text(&args(kind, owner, None)).unwrap();
            let fleet = crate::config::parse_fleet(Path::new("fleet.yaml"), &text)
                .unwrap_or_else(|e| panic!("{kind}: {e}\n{text}"));
            assert_eq!(fleet.forge.kind, kind);
            if kind != ForgeKind::Local {
                assert_eq!(fleet.forge.owner.as_deref(), Some("acme # x"));
                let var = token_variable(kind);
                assert_eq!(
                    fleet.forge.token,
                    Some(crate::config::SecretRef::Env(var.into()))
                );
            }
            assert!(fleet.schedule.is_some());
        }
    }

    #[test]
    fn a_forge_needs_an_owner_and_the_local_forge_takes_none() {
        let err = fleet_text(&args(ForgeKind::Gitlab, None, None)).unwrap_err();
        assert_eq!(err.to_string(), "--owner NAME is needed for a gitlab fleet");
        let err = fleet_text(&args(ForgeKind::Local, Some("a"), None)).unwrap_err();
        assert!(err.to_string().contains("--path DIR"), "{err}");
        let text = fleet_text(&args(
            ForgeKind::Gitlab,
            Some("acme"),
            Some("https://gitlab.example.com"),
        ))
        .unwrap();
        assert!(
            text.contains("  url: https://gitlab.example.com\n"),
            "{text}"
        );
    }
}
