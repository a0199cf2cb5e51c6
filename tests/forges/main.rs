//! drover's forge clients against the forge emulator and the recorded real
//! responses in ../shared/forge-specs.

mod bad_answers;
mod branch_ownership;
mod budget;
mod bytes;
mod daemon;
mod facts;
mod fixtures;
mod github;
mod github_app;
mod gitlab;
mod harness;
mod lifecycle;
mod migrate;
mod partial;
mod preview;
mod sourcehut;
mod stream;
