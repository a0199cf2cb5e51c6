//! `drover completions SHELL` and `drover man`: the shell completion script
//! and the manual page, both generated from the clap definitions in this
//! module's parent, so they can never disagree with the parser.

use clap::{Args, CommandFactory};

use super::{Cli, Exit};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<Exit> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "drover", &mut std::io::stdout());
    Ok(Exit::Ok)
}

/// The manual page, roff on stdout: `drover man > drover.1`.
pub fn man() -> anyhow::Result<Exit> {
    let page = clap_mangen::Man::new(Cli::command());
    let mut out = Vec::new();
    page.render(&mut out)?;
    // Each subcommand gets its own section in the one page.
    for sub in Cli::command().get_subcommands() {
        if sub.is_hide_set() {
            continue;
        }
        let heading = format!(".SH \"DROVER {}\"\n", sub.get_name().to_uppercase());
        let sub_page = clap_mangen::Man::new(sub.clone());
        out.extend_from_slice(heading.as_bytes());
        sub_page.render_description_section(&mut out)?;
        sub_page.render_options_section(&mut out)?;
    }
    use std::io::Write as _;
    std::io::stdout().write_all(&out)?;
    Ok(Exit::Ok)
}
