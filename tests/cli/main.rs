//! End-to-end tests of the `drover` binary on copies of the shipped
//! examples: plan, render, check, and sweeps whose commits the `git` CLI
//! verifies. One test binary; each test gets a fresh directory.

mod conventions;
mod daemon;
mod errors;
mod harness;
mod hostile_input;
mod init;
mod local;
mod logs;
mod preview;
