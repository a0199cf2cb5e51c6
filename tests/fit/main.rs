//! Proposals that fit: the repository shapes of `tests/corpus/` (written
//! for drover, not copied) planned on the local forge for each CI flavour.
//! For every shape: the facts and kind drover reads equal `expect.yaml`;
//! the files proposed are those its kind calls for, and each passed the
//! fit check (every path, lock file, binary, script, extra, group and main
//! package it names exists in that repository); what the shape's README
//! row says a fitting proposal must and must not do holds; the renderings
//! pass the real validators; and, where this machine has the toolchain,
//! the rendered CI's build and test commands pass in a copy of the shape
//! with the rendered files applied, offline (`run.rs`).

#[path = "../common/validators.rs"]
mod validators;

mod run;
mod shapes;
