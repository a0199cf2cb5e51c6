//! Integration tests of the forge emulator: one binary, one module per
//! concern, shared helpers in `util`. Each test starts its own emulator on
//! `127.0.0.1:0` and speaks to it over real sockets.

mod faults;
mod git;
mod graphql;
mod server;
mod util;
