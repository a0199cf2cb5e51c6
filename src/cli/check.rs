//! `drover check`: configuration, policies and templates valid, and every
//! repository renderable. Exit 1 on any error.

use clap::Args;

use super::output::{cell, plural};
use super::{load, open_store, Exit, Global};
use crate::forge::OpenError;
use crate::render::{sample_file_sets, ForgeFacts};
use crate::sweep::{self, RepoState, SweepOptions};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Validate and render every policy for every forge against sample
    /// repositories only, without the forge: no token, no network. Also
    /// what `check` does when the forge's token is not set.
    #[arg(long)]
    pub offline: bool,
}

pub async fn run(global: &Global, args: CheckArgs) -> anyhow::Result<Exit> {
    let (config, renderer) = load(global).await?;
    // Every policy renders for every forge, whatever the fleet holds today.
    let base = crate::forge::forge_facts(&config);
    let sets = sample_file_sets(
        &renderer,
        &config.policies,
        |ci| ForgeFacts {
            ci,
            ci_path: ci.ci_path().into(),
            ..base.clone()
        },
        &config.fleet.defaults.variables,
    )?;
    if let Some(warning) = placeholder_sender(&config) {
        eprintln!("{}: warning: {warning}", config.fleet_path.display());
    }
    let forge = if args.offline {
        None
    } else {
        match crate::forge::open(&config) {
            Ok(forge) => Some(forge),
            // Without its token the forge cannot be listed, but everything
            // else can still be checked.
            Err(e @ OpenError::Secret { .. }) => {
                eprintln!(
                    "{}: checked offline: {}",
                    config.fleet_path.display(),
                    super::error_line(&e.into())
                );
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    // What was checked before the forge: the same words either way.
    let rendered = format!(
        "{}: {}, {}, {} rendered",
        config.fleet_path.display(),
        plural(config.policies.len(), "policy", "policies"),
        plural(config.templates.files.len(), "template", "templates"),
        plural(sets.len(), "file set", "file sets"),
    );
    let Some(forge) = forge else {
        println!("{rendered}, offline: no repository checked");
        return Ok(Exit::Ok);
    };
    let store = open_store(&config, false).await?;
    let report = sweep::run(
        &config,
        &renderer,
        forge.as_ref(),
        store.as_ref(),
        &SweepOptions::default(),
    )
    .await?;
    let mut errors = 0;
    for r in &report.repositories {
        if let RepoState::Failed { reason } = &r.state {
            eprintln!("{}: {}", cell(&r.name), cell(reason));
            errors += 1;
        }
    }
    println!(
        "{rendered}, {} checked, {errors} with errors",
        plural(report.repositories.len(), "repository", "repositories"),
    );
    Ok(if errors > 0 { Exit::Error } else { Exit::Ok })
}

/// On sourcehut drover's proposals are mail from `defaults.author.email`:
/// an address at a name reserved for examples and tests (RFC 2606, RFC
/// 6761) is one a real mail server refuses to send from.
fn placeholder_sender(config: &crate::config::Config) -> Option<String> {
    if config.fleet.forge.kind != crate::model::ForgeKind::Sourcehut {
        return None;
    }
    let email = config.fleet.defaults.author.email.as_str();
    let domain = email
        .rsplit_once('@')
        .map_or("", |(_, d)| d)
        .to_ascii_lowercase();
    let reserved = ["example.com", "example.org", "example.net", "localhost"]
        .iter()
        .any(|r| domain == *r || domain.ends_with(&format!(".{r}")))
        || [".example", ".invalid", ".test", ".localhost", ".local"]
            .iter()
            .any(|t| domain.ends_with(t))
        || !domain.contains('.');
    reserved.then(|| {
        format!(
            "defaults.author.email `{email}` is a placeholder address: sourcehut proposals are mail from it, and a real mail server refuses to send it; set the address drover's patches come from"
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholder_senders_are_named_on_sourcehut_only() {
        let dir = tempfile::tempdir().unwrap();
        let load = |forge: &str, email: &str| {
            std::fs::write(
                dir.path().join("fleet.yaml"),
                format!(
                    "forge:\n{forge}\ndefaults:\n  author:\n    name: drover\n    email: {email}\n"
                ),
            )
            .unwrap();
            crate::config::Config::load(&dir.path().join("fleet.yaml")).unwrap()
        };
        let srht = "  kind: sourcehut\n  owner: acme\n  token: env:SRHT_TOKEN\n  smtp:\n    host: mail.acme.org\n    username: acme\n    password: env:SMTP_PASSWORD";
        for (email, warned) in [
            ("drover@example.com", true),
            ("bot@mail.example.org", true),
            ("drover@drover.invalid", true),
            ("drover@localhost", true),
            ("drover@acme.org", false),
        ] {
            let config = load(srht, email);
            assert_eq!(
                super::placeholder_sender(&config).is_some(),
                warned,
                "{email}"
            );
        }
        let local = load("  kind: local\n  path: repos", "drover@example.com");
        assert!(super::placeholder_sender(&local).is_none());
    }
}
