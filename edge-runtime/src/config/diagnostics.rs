//! Turns a config file into either a `Config` or the full list of its problems with positions.
//!
//! The work is done by [`super::document`], shared with the planogram; this file adds what is
//! the config's own: its error type, and its semantic checks as key paths.

use super::document::{self, Problem, Step};
use super::Config;
use std::path::Path;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is missing or cannot be read.
    #[error("cannot read config file {path}: {source}\n  fix: create it (edge-runtime print-config --default > {path}) or pass --config PATH")]
    Unreadable {
        /// The path that was tried.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was read and has one or more problems.
    #[error("{}", document::render(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// Every problem found (one for an unreadable file).
    pub fn problems(&self) -> Vec<String> {
        match self {
            ConfigError::Unreadable { .. } => vec![self.to_string()],
            ConfigError::Invalid(problems) => problems.iter().map(|p| p.to_string()).collect(),
        }
    }
}

pub(super) fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Unreadable {
        path: origin.clone(),
        source,
    })?;
    document::parse_bytes(bytes, &origin, check).map_err(ConfigError::Invalid)
}

pub(super) fn load_text(text: &str, origin: &str) -> Result<Config, ConfigError> {
    document::parse_text(text, origin, check).map_err(ConfigError::Invalid)
}

fn check(config: &Config) -> Vec<(Vec<Step>, String)> {
    config.check()
}
