//! Turns TOML text into a serde type or the full list of its problems with positions: the part
//! of config loading that the planogram (and any other installer-edited TOML file) shares.
//!
//! serde stops at the first error, so loading repeats deserialisation: each error is recorded
//! with its span, the offending entry is removed from the parsed document, and the rest is
//! tried again, until the document deserialises or an error cannot be located. Then the
//! caller's semantic check runs on the result; each of its problems names a key path (table
//! keys and array indices) that is turned back into a position.

use serde::de::DeserializeOwned;
use std::fmt;
use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Stop collecting after this many problems; a file that bad is probably not what it claims.
const MAX_PROBLEMS: usize = 50;

/// One problem in a file, with the position it points at.
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

/// One step of a key path into a document: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A key of a table.
    Key(String),
    /// A position in an array (including an array of tables, `[[name]]`).
    Index(usize),
}

impl From<&str> for Step {
    fn from(key: &str) -> Step {
        Step::Key(key.to_string())
    }
}

impl From<usize> for Step {
    fn from(index: usize) -> Step {
        Step::Index(index)
    }
}

/// Every problem as an `error:` line each, then the count.
pub(crate) fn render(problems: &[Problem]) -> String {
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

/// Parses file contents that may not be UTF-8; see [`parse_text`].
pub(crate) fn parse_bytes<T: DeserializeOwned>(
    bytes: Vec<u8>,
    origin: &str,
    check: impl FnOnce(&T) -> Vec<(Vec<Step>, String)>,
) -> Result<T, Vec<Problem>> {
    match String::from_utf8(bytes) {
        Ok(text) => parse_text(&text, origin, check),
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            let bytes = err.as_bytes();
            // The prefix up to `valid` is valid UTF-8 by definition.
            let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or("");
            let (line, col) = line_col(prefix, valid);
            Err(vec![Problem {
                origin: origin.to_string(),
                position: Some((line, col)),
                message: "the file is not valid UTF-8; save it as UTF-8 text".into(),
                line_text: None,
            }])
        }
    }
}

/// Parses `text` into a `T` and runs `check` on it, or returns every problem found, sorted by
/// position. A problem `check` reports at or under an entry already reported as malformed (and
/// so dropped before deserialising), or at a table or array that held one, is not reported.
pub(crate) fn parse_text<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    check: impl FnOnce(&T) -> Vec<(Vec<Step>, String)>,
) -> Result<T, Vec<Problem>> {
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
        return Err(syntax_errors
            .iter()
            .take(MAX_PROBLEMS)
            .map(|e| {
                problem(
                    e.span(),
                    format!("TOML syntax: {}", first_line(e.message())),
                )
            })
            .collect());
    }

    let root_span = root.span();
    let mut table = root.into_inner();
    let mut problems = Vec::new();
    // What was dropped after a problem, as paths into `table` as it is now.
    let mut removed: Vec<Dropped> = Vec::new();
    let value = loop {
        let attempt = Spanned::new(root_span.clone(), table.clone());
        match T::deserialize(toml::de::Deserializer::from(attempt)) {
            Ok(value) => break Some(value),
            Err(err) => {
                let span = err.span();
                let message = first_line(err.message());
                let located = span.as_ref().map(|s| entry_at(&table, s));
                // Dropping a malformed entry can leave its table without a required field;
                // that follows from the problem already reported.
                let derived = match (missing_field(message), &located) {
                    (Some(field), Some(at)) => {
                        let mut path = at.clone().unwrap_or_default();
                        path.push(Step::Key(field.to_string()));
                        removed.contains(&Dropped::Entry(path))
                    }
                    _ => false,
                };
                if !derived {
                    problems.push(problem(span.clone(), with_hint(message)));
                }
                match located.flatten() {
                    Some(path)
                        if problems.len() < MAX_PROBLEMS && remove_path(&mut table, &path) =>
                    {
                        forget_removed(&mut removed, &path);
                        removed.push(match path.split_last() {
                            Some((Step::Index(_), array)) => Dropped::Element(array.to_vec()),
                            _ => Dropped::Entry(path),
                        });
                    }
                    _ => break None,
                }
            }
        }
    };

    if let Some(value) = &value {
        for (path, message) in check(value) {
            // A problem at or under a dropped entry, or about a table or array that lost an
            // entry, may only be the drop's consequence.
            let already = removed.iter().any(|r| r.explains(&path));
            if !already {
                problems.push(problem(span_of(&table, &path), message));
            }
        }
    }
    problems.sort_by_key(|p| p.position.unwrap_or((usize::MAX, 0)));
    match value {
        Some(value) if problems.is_empty() => Ok(value),
        _ => Err(problems),
    }
}

/// The field name of serde's "missing field `name`".
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")?
        .split_once('`')
        .map(|(field, _)| field)
}

/// An entry dropped from the document after its problem was reported.
#[derive(Debug, PartialEq)]
enum Dropped {
    /// The entry (a key and its value) at this path.
    Entry(Vec<Step>),
    /// An element of the array at this path (the elements after it have moved up).
    Element(Vec<Step>),
}

impl Dropped {
    fn path(&self) -> &[Step] {
        match self {
            Dropped::Entry(path) | Dropped::Element(path) => path,
        }
    }

    /// Whether a problem at `path` may follow from this drop: it is at or under the dropped
    /// entry, or at a table or array that held it. Under an array that lost an element, paths
    /// name the elements that remain, which have problems of their own.
    fn explains(&self, path: &[Step]) -> bool {
        match self {
            Dropped::Entry(dropped) => path.starts_with(dropped) || dropped.starts_with(path),
            Dropped::Element(array) => array.starts_with(path),
        }
    }

    fn path_mut(&mut self) -> &mut Vec<Step> {
        match self {
            Dropped::Entry(path) | Dropped::Element(path) => path,
        }
    }
}

/// Keeps `removed` true to the document after the entry at `path` is dropped: drops inside it
/// go, and when it was an array element, later elements of that array move up by one.
fn forget_removed(removed: &mut Vec<Dropped>, path: &[Step]) {
    removed.retain(|r| !r.path().starts_with(path));
    if let Some((Step::Index(gone), array)) = path.split_last() {
        for r in removed.iter_mut() {
            let r = r.path_mut();
            if r.starts_with(array) {
                if let Some(Step::Index(i)) = r.get_mut(array.len()) {
                    if *i > *gone {
                        *i -= 1;
                    }
                }
            }
        }
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

/// The span of the value at a key path, or of the nearest enclosing entry that exists (the
/// key of a table, the element of an array).
fn span_of(table: &DeTable<'_>, path: &[Step]) -> Option<Range<usize>> {
    let (Step::Key(first), rest) = path.split_first()? else {
        return None;
    };
    let (key, value) = table.get_key_value(first.as_str())?;
    if rest.is_empty() {
        return Some(value.span());
    }
    span_in_value(value, rest).or_else(|| Some(key.span()))
}

fn span_in_value(value: &Spanned<DeValue<'_>>, path: &[Step]) -> Option<Range<usize>> {
    match (value.get_ref(), path.split_first()?) {
        (DeValue::Table(inner), _) => span_of(inner, path),
        (DeValue::Array(items), (Step::Index(i), rest)) => {
            let item = items.get(*i)?;
            if rest.is_empty() {
                Some(item.span())
            } else {
                span_in_value(item, rest).or_else(|| Some(item.span()))
            }
        }
        _ => None,
    }
}

/// The key path of the innermost entry whose key or value span covers `span`; `None` inside
/// when only the document as a whole does.
fn entry_at(table: &DeTable<'_>, span: &Range<usize>) -> Option<Vec<Step>> {
    let mut best: Option<(usize, Vec<Step>)> = None;
    find_entry(table, span, &mut Vec::new(), &mut best);
    let (_, mut path) = best?;
    // An element of an array of values (`rect = [0, "x", 1, 2]`) is not an entry of its own:
    // dropping it would only make the array the wrong length. The array goes instead.
    while matches!(path.last(), Some(Step::Index(_)))
        && !matches!(value_at(table, &path), Some(DeValue::Table(_)))
    {
        path.pop();
    }
    Some(path)
}

/// The value at a key path.
fn value_at<'t, 'a>(table: &'t DeTable<'a>, path: &[Step]) -> Option<&'t DeValue<'a>> {
    let (Step::Key(first), rest) = path.split_first()? else {
        return None;
    };
    let mut value = table.get(first.as_str())?.get_ref();
    for step in rest {
        value = match (value, step) {
            (DeValue::Table(inner), Step::Key(key)) => inner.get(key.as_str())?.get_ref(),
            (DeValue::Array(items), Step::Index(i)) => items.get(*i)?.get_ref(),
            _ => return None,
        };
    }
    Some(value)
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Records `path` as the best entry so far if `candidate` covers `span` at least as tightly;
/// on a tie the deeper entry wins (an array of tables shares its first element's span).
fn consider(
    candidate: Range<usize>,
    span: &Range<usize>,
    path: &[Step],
    best: &mut Option<(usize, Vec<Step>)>,
) {
    if covers(&candidate, span) {
        let size = candidate.end - candidate.start;
        if best
            .as_ref()
            .is_none_or(|(s, p)| size < *s || (size == *s && path.len() > p.len()))
        {
            *best = Some((size, path.to_vec()));
        }
    }
}

fn find_entry(
    table: &DeTable<'_>,
    span: &Range<usize>,
    path: &mut Vec<Step>,
    best: &mut Option<(usize, Vec<Step>)>,
) {
    for (key, value) in table.iter() {
        path.push(Step::Key(key.get_ref().to_string()));
        consider(key.span(), span, path, best);
        consider(value.span(), span, path, best);
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
                consider(item.span(), span, path, best);
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
