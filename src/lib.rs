//! drover keeps a fleet of repositories in line with per-language
//! templates. See ARCHITECTURE.md for the map of the modules.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod drift;
pub mod facts;
pub mod fit;
pub mod forge;
pub mod fsutil;
pub mod git;
pub mod heap;
pub mod migrate;
pub mod model;
pub mod proposal;
pub mod render;
pub mod status;
pub mod store;
pub mod suggest;
pub mod sweep;
