//! The emulator's error type, shared by seeding, inspection and handlers.

/// What went wrong in the emulator's own API (not an HTTP response).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("forge spec {path}: {message}")]
    Spec { path: String, message: String },
}

/// Result with the emulator's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
