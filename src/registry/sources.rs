//! Positions for findings: the line and column of a JSON pointer in a file,
//! worked out only when a finding is shown. A record's own findings get
//! theirs while it is loaded; records loaded with their text give it here;
//! other files are read once from the work tree if they are small regular
//! files, and otherwise point at their start.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use crate::model::finding::{Locate, Position};
use crate::model::record::Record;
use crate::yaml;

/// The texts findings point into.
pub struct Sources<'a> {
    root: &'a Path,
    texts: HashMap<&'a str, &'a str>,
    read: RefCell<HashMap<String, Option<String>>>,
    parsed: RefCell<HashMap<String, Option<yaml::Document>>>,
}

impl<'a> Sources<'a> {
    pub fn new(root: &'a Path, records: &'a [Record]) -> Sources<'a> {
        Sources {
            root,
            // A record loaded without its text (the usual case) is read again
            // from the work tree, only if a finding points into it.
            texts: records.iter().filter(|r| !r.source.is_empty()).map(|r| (r.path.as_str(), &*r.source)).collect(),
            read: RefCell::new(HashMap::new()),
            parsed: RefCell::new(HashMap::new()),
        }
    }

    /// The text of `path`: a loaded record's, else the work tree's file.
    fn text(&self, path: &str) -> Option<String> {
        if let Some(t) = self.texts.get(path) {
            return Some(t.to_string());
        }
        self.read
            .borrow_mut()
            .entry(path.to_string())
            .or_insert_with(|| {
                let full = self.root.join(path);
                let meta = std::fs::symlink_metadata(&full).ok()?;
                (meta.is_file() && meta.len() <= super::MAX_RECORD_BYTES)
                    .then(|| std::fs::read_to_string(&full).ok())
                    .flatten()
            })
            .clone()
    }
}

impl Locate for Sources<'_> {
    fn locate(&self, path: &str, pointer: &str) -> Position {
        let Some(text) = self.text(path) else { return Position::START };
        // A top-level field in block style (`expires: …` at the start of a
        // line) is found by a scan; anything else parses the file once.
        if let Some(key) = pointer.strip_prefix('/').filter(|k| !k.contains(['/', '~'])) {
            for (i, line) in text.lines().enumerate() {
                if line.strip_prefix(key).is_some_and(|rest| rest.starts_with(':')) {
                    return Position { line: i as u32 + 1, col: 1 };
                }
            }
        }
        if pointer.is_empty() {
            return Position::START;
        }
        // A field of an item of a top-level block list (`/approvals/1/at`, as
        // most of an audit's findings point) is found by a scan too.
        if let Some(at) = item_field(&text, pointer) {
            debug_assert_eq!(Some(at), yaml::parse(&text).ok().map(|d| d.position(pointer)), "{path} {pointer}");
            return at;
        }
        self.parsed
            .borrow_mut()
            .entry(path.to_string())
            .or_insert_with(|| yaml::parse(&text).ok())
            .as_ref()
            .map(|d| d.position(pointer))
            .unwrap_or(Position::START)
    }
}

/// `/list/N/field` in block style, found line by line: `list:` alone at the
/// start of a line, its Nth `- ` item, and `field:` on the item's first line
/// or at the item's indentation. `None` for anything else (the caller parses).
fn item_field(text: &str, pointer: &str) -> Option<Position> {
    let mut parts = pointer.strip_prefix('/')?.split('/');
    let (list, n, field) = (parts.next()?, parts.next()?.parse::<usize>().ok()?, parts.next()?);
    if parts.next().is_some() || pointer.contains('~') {
        return None;
    }
    let mut lines = text.lines().enumerate();
    lines.find(|(_, l)| l.strip_prefix(list).and_then(|r| r.strip_prefix(':')).is_some_and(|r| r.trim().is_empty()))?;
    let mut dash: Option<usize> = None;
    let mut seen = 0;
    for (i, line) in lines {
        let body = line.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let indent = line.len() - body.len();
        let d = *dash.get_or_insert(indent);
        if indent < d || (indent == d && !body.starts_with("- ")) {
            return None;
        }
        if indent == d {
            seen += 1;
            if seen == n + 2 {
                return None;
            }
            if seen == n + 1 && body[2..].strip_prefix(field).is_some_and(|r| r.starts_with(':')) {
                return Some(Position { line: i as u32 + 1, col: d as u32 + 3 });
            }
        } else if seen == n + 1 && indent == d + 2 && body.strip_prefix(field).is_some_and(|r| r.starts_with(':')) {
            return Some(Position { line: i as u32 + 1, col: indent as u32 + 1 });
        }
    }
    None
}

/// Gives every finding without a position its line and column, on every
/// core, each file read (and parsed, if need be) once and let go: for many
/// findings over many files (an audit's), where [`Sources`] would keep every
/// text it read until the output is done.
pub fn place(root: &Path, findings: &mut [crate::model::finding::Finding]) {
    use rayon::prelude::*;
    let mut by_path: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, f) in findings.iter().enumerate().filter(|(_, f)| f.position.is_none()) {
        by_path.entry(f.path.as_str()).or_default().push(i);
    }
    let groups: Vec<(&str, Vec<usize>)> = by_path.into_iter().collect();
    let placed: Vec<(usize, Position)> = groups
        .par_iter()
        .flat_map_iter(|(path, at)| {
            let sources = Sources::new(root, &[]);
            at.iter().map(|i| (*i, sources.locate(path, &findings[*i].pointer))).collect::<Vec<_>>()
        })
        .collect();
    for (i, p) in placed {
        findings[i].position = Some(p);
    }
}
