//! Terminal styles. `anstream` drops them when stdout is not a terminal or
//! NO_COLOR is set.

use anstyle::{AnsiColor, Style};

pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const ADDED: Style = AnsiColor::Green.on_default();
pub const REMOVED: Style = AnsiColor::Red.on_default();
pub const HUNK: Style = AnsiColor::Cyan.on_default();
pub const HEADER: Style = Style::new().bold();
pub const DRIFTED: Style = AnsiColor::Yellow.on_default().bold();
pub const IN_LINE: Style = AnsiColor::Green.on_default();
pub const SKIPPED: Style = AnsiColor::BrightBlack.on_default();
