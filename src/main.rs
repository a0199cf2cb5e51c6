//! The `drover` binary: parse the command line, start logging, run the
//! subcommand, and turn its outcome into an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    drover::heap::one_arena();
    let cli = drover::cli::Cli::parse();
    drover::cli::end_quietly_on_broken_pipe(&cli.command);
    drover::cli::init_tracing(&cli.global, &cli.command);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(drover::cli::run(cli)) {
        Ok(code) => std::process::ExitCode::from(code as u8),
        Err(e) => {
            anstream::eprintln!(
                "{}error:{} {}",
                drover::cli::style::ERROR.render(),
                drover::cli::style::ERROR.render_reset(),
                drover::cli::error_line(&e)
            );
            std::process::ExitCode::from(drover::cli::Exit::Error as u8)
        }
    }
}
