//! Turns a config file into either a `Config` or the full list of its problems with positions.
//!
//! serde stops at the first error, so loading repeats deserialisation: each error is recorded
//! with its span, the offending entry is removed from the parsed document, and the rest is
//! tried again, until the document deserialises or an error cannot be located.

use super::Config;
use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Stop collecting after this many problems; a file that bad is probably not a config.
const MAX_PROBLEMS: usize = 50;

/// One problem in a config file, with the position it points at.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// File (or other origin) the problem is in.
    pub origin: String,
    /// 1-based line and column, when the problem has a position.
    pub position: Option<(usize, usize)>,
    /// What is wrong, and where possible how to fix it.
    pub message: String,
    /// The source line the position points into.
    pub line_text: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.origin, self.message)?,
            None => write!(f, "{}: {}", self.origin, self.message)?,
        }
        if let (Some(text), Some((line, col))) = (&self.line_text, self.position) {
            let gutter = line.to_string().len();
            write!(
                f,
                "\n{:gutter$} |\n{line} | {text}\n{:gutter$} | {:>col$}",
                "", "", "^"
            )?;
        }
        Ok(())
    }
}

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
    #[error("{}", render(.0))]
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

fn render(problems: &[Problem]) -> String {
    let mut out = String::new();
    for p in problems {
        out.push_str(&format!("error: {p}\n"));
    }
    out.push_str(&format!(
        "{} problem{} found",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    ));
    out
}

pub(super) fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Unreadable {
        path: origin.clone(),
        source,
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => load_text(&text, &origin),
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            let bytes = err.as_bytes();
            // Safe: the prefix up to `valid` is valid UTF-8 by definition.
            let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or("");
            let (line, col) = line_col(prefix, valid);
            Err(ConfigError::Invalid(vec![Problem {
                origin,
                position: Some((line, col)),
                message: "the file is not valid UTF-8; save it as UTF-8 text".into(),
                line_text: None,
            }]))
        }
    }
}

pub(super) fn load_text(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let problem = |span: Option<Range<usize>>, message: String| {
        let position = span.as_ref().map(|s| line_col(text, s.start));
        let line_text = position.map(|(line, _)| {
            text.lines()
                .nth(line - 1)
                .unwrap_or("")
                .trim_end()
                .to_string()
        });
        Problem {
            origin: origin.to_string(),
            position,
            message,
            line_text,
        }
    };

    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        return Err(ConfigError::Invalid(
            syntax_errors
                .iter()
                .take(MAX_PROBLEMS)
                .map(|e| {
                    problem(
                        e.span(),
                        format!("TOML syntax: {}", first_line(e.message())),
                    )
                })
                .collect(),
        ));
    }

    let root_span = root.span();
    let mut table = root.into_inner();
    let mut problems = Vec::new();
    let mut removed: Vec<Vec<String>> = Vec::new();
    let config = loop {
        let attempt = Spanned::new(root_span.clone(), table.clone());
        match Config::deserialize(toml::de::Deserializer::from(attempt)) {
            Ok(config) => break Some(config),
            Err(err) => {
                let span = err.span();
                problems.push(problem(span.clone(), with_hint(first_line(err.message()))));
                match span.and_then(|s| remove_entry_at(&mut table, &s)) {
                    Some(path) if problems.len() < MAX_PROBLEMS => removed.push(path),
                    _ => break None,
                }
            }
        }
    };

    if let Some(config) = &config {
        for (path, message) in config.check() {
            // A key already reported (and dropped) as malformed is not reported again.
            let already = removed
                .iter()
                .any(|r| r.len() <= path.len() && r.iter().zip(&path).all(|(a, b)| a == b));
            if !already {
                problems.push(problem(span_of(&table, &path), message));
            }
        }
    }
    problems.sort_by_key(|p| p.position.unwrap_or((usize::MAX, 0)));
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(ConfigError::Invalid(problems)),
    }
}

/// serde's wording plus what to write instead, where serde's alone leaves a user guessing.
fn with_hint(message: &str) -> String {
    if message.contains("invalid socket address syntax") {
        format!("{message}: expected IP:PORT, e.g. \"127.0.0.1:8080\" or \"0.0.0.0:8080\"")
    } else {
        message.to_string()
    }
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message).trim()
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = floor_char_boundary(text, at.min(text.len()));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..at].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The span of the value at a key path, or of the nearest enclosing key that exists.
fn span_of(table: &DeTable<'_>, path: &[&str]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let (key, value) = table.get_key_value(*first)?;
    if rest.is_empty() {
        return Some(value.span());
    }
    match value.get_ref() {
        DeValue::Table(inner) => span_of(inner, rest).or_else(|| Some(key.span())),
        _ => Some(key.span()),
    }
}

/// Removes the innermost entry whose key or value span covers `span`; returns its key path.
fn remove_entry_at(table: &mut DeTable<'_>, span: &Range<usize>) -> Option<Vec<String>> {
    let mut best: Option<(usize, Vec<Step>)> = None;
    find_entry(table, span, &mut Vec::new(), &mut best);
    let (_, path) = best?;
    if !remove_path(table, &path) {
        return None;
    }
    Some(
        path.iter()
            .filter_map(|s| match s {
                Step::Key(k) => Some(k.clone()),
                Step::Index(_) => None,
            })
            .collect(),
    )
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

fn find_entry(
    table: &DeTable<'_>,
    span: &Range<usize>,
    path: &mut Vec<Step>,
    best: &mut Option<(usize, Vec<Step>)>,
) {
    for (key, value) in table.iter() {
        path.push(Step::Key(key.get_ref().to_string()));
        for candidate in [key.span(), value.span()] {
            if covers(&candidate, span) {
                let size = candidate.end - candidate.start;
                if best.as_ref().is_none_or(|(s, _)| size < *s) {
                    *best = Some((size, path.clone()));
                }
            }
        }
        find_in_value(value.get_ref(), span, path, best);
        path.pop();
    }
}

fn find_in_value(
    value: &DeValue<'_>,
    span: &Range<usize>,
    path: &mut Vec<Step>,
    best: &mut Option<(usize, Vec<Step>)>,
) {
    match value {
        DeValue::Table(inner) => find_entry(inner, span, path, best),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                if covers(&item.span(), span) {
                    let size = item.span().end - item.span().start;
                    if best.as_ref().is_none_or(|(s, _)| size < *s) {
                        *best = Some((size, path.clone()));
                    }
                }
                find_in_value(item.get_ref(), span, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

fn remove_path(table: &mut DeTable<'_>, path: &[Step]) -> bool {
    match path {
        [Step::Key(key)] => table.remove(key.as_str()).is_some(),
        [Step::Key(key), rest @ ..] => match table.get_mut(key.as_str()).map(|v| v.get_mut()) {
            Some(value) => remove_in_value(value, rest),
            None => false,
        },
        _ => false,
    }
}

fn remove_in_value(value: &mut DeValue<'_>, path: &[Step]) -> bool {
    match (value, path) {
        (DeValue::Table(inner), _) => remove_path(inner, path),
        (DeValue::Array(items), [Step::Index(i)]) if *i < items.len() => {
            let index = *i;
            *items = items
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != index)
                .map(|(_, item)| item.clone())
                .collect();
            true
        }
        (DeValue::Array(items), [Step::Index(i), rest @ ..]) => match items.get_mut(*i) {
            Some(item) => remove_in_value(item.get_mut(), rest),
            None => false,
        },
        _ => false,
    }
}
