//! Where each decision entered the history: for every decision a record
//! holds now, the first commit whose version of that record (followed back
//! through renames) already held it. Read from one replay.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{RECORDS_DIR, Registry, parse_version};
use crate::error::Result;
use crate::git::History;
use crate::model::record::Exception;
use crate::model::statement::{self, Entry};

/// A decision as the history can recognise it in any version of its record:
/// its record file (as named now), its kind, who made it and when.
pub type DecisionKey = (String, &'static str, String, DateTime<Utc>);

/// A decision's key in the record file `path`.
pub fn decision_key(path: &str, e: &Exception, entry: Entry) -> Option<DecisionKey> {
    let (by, at) = statement::maker(e, entry)?;
    let kind = match entry {
        Entry::Approval(_) => "approval",
        Entry::Review(_) => "review",
        Entry::Closure => "closure",
        Entry::Request => "request",
    };
    Some((path.to_string(), kind, by.to_string(), at))
}

impl Registry {
    /// The first commit (its id) whose version of each record held each
    /// decision, keyed by [`decision_key`]. Decisions never committed are
    /// left out.
    pub fn decision_commits(&self, history: &History) -> Result<HashMap<DecisionKey, String>> {
        // Which record (as named now) each change belongs to.
        let mut owner: HashMap<(usize, Option<&str>), String> = HashMap::new();
        for (name, trail) in history.trails() {
            for c in trail {
                owner.insert((c.commit, c.new_name.as_deref()), format!("{RECORDS_DIR}/{name}"));
            }
        }
        let mut out = HashMap::new();
        history.replay(
            history.changes.iter().filter(|c| c.new_blob.is_some()),
            |text| parse_version(text).and_then(|v| v.1),
            |commit, change, _, after| {
                let (Some(Some(e)), Some(path)) = (after, owner.get(&(change.commit, change.new_name.as_deref())))
                else {
                    return Ok(());
                };
                for entry in statement::chain(e) {
                    if let Some(key) = decision_key(path, e, entry) {
                        out.entry(key).or_insert_with(|| commit.id.clone());
                    }
                }
                Ok(())
            },
        )?;
        Ok(out)
    }
}
