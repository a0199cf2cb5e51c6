//! What drover writes to stderr off a terminal: plain progress lines, no
//! escape sequences, less with `--quiet`; colour only when asked for.

use super::harness::Fleet;

#[test]
fn off_a_terminal_plan_and_sweep_print_plain_progress_lines() {
    let fleet = Fleet::plain();
    let run = fleet.drover(&["plan"]).ok();
    let repos = fleet.repos().len();
    assert_eq!(
        run.stderr,
        format!("plan: {repos} repositories\nplan: read {repos} of {repos}\n")
    );
    let run = fleet.drover(&["sweep", "--dry-run", "--json"]).ok();
    assert!(
        run.stderr
            .starts_with(&format!("sweep: {repos} repositories\n")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);
    let sweep = fleet.drover(&["sweep"]).ok();
    assert!(
        sweep.stderr.contains("sweep: ledger: proposed\n"),
        "{}",
        sweep.stderr
    );
}

#[test]
fn quiet_leaves_stderr_empty_and_verbose_logs_without_colour() {
    let fleet = Fleet::plain();
    let run = fleet.drover(&["plan", "--quiet"]).ok();
    assert_eq!(run.stderr, "");
    // Without NO_COLOR, off a terminal: still no escape sequences.
    let run = fleet
        .drover_with(&["-vv", "plan"], &[("NO_COLOR", "")])
        .ok();
    assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
    let run = fleet.drover(&["plan", "--quiet", "--verbose"]);
    assert_eq!(run.code, 2, "--quiet and --verbose conflict");
}

#[test]
fn colour_is_what_color_says_and_no_color_turns_auto_off() {
    let fleet = Fleet::plain();
    let always = fleet.drover(&["plan", "--color", "always"]).ok();
    assert!(always.stdout.contains("\u{1b}["), "{}", always.stdout);
    let never = fleet
        .drover_with(&["plan", "--color", "never"], &[("CLICOLOR_FORCE", "1")])
        .ok();
    assert!(!never.stdout.contains('\u{1b}'), "{}", never.stdout);
    let auto = fleet
        .drover_with(&["plan"], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])
        .ok();
    assert!(!auto.stdout.contains('\u{1b}'), "{}", auto.stdout);
}
