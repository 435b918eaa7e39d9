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
        self.parsed
            .borrow_mut()
            .entry(path.to_string())
            .or_insert_with(|| yaml::parse(&text).ok())
            .as_ref()
            .map(|d| d.position(pointer))
            .unwrap_or(Position::START)
    }
}
