//! Committed suppression files that drifted from what exc writes: the
//! files exc.yaml's `exports:` lists, compared with what `exc export --all`
//! would write. One that only lacks entries is stale (a warning); one that
//! hides more than exc writes (an entry added, a scope widened, an expiry
//! moved later by hand) is a shadow suppression, an error at its line.

use std::path::Path;

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::error::Result;
use crate::model::finding::{Code, Finding, Position};
use crate::model::policy::Policy;
use crate::model::reconcile::{Site, SiteKind};
use crate::model::record::Record;
use crate::model::suppression;

/// The suppression files exc.yaml's `exports:` lists that differ from what
/// `exc export --all` would write as of the context's date, or are missing,
/// as `stale-suppressions` findings. Records with problems are left out, as
/// `--skip-invalid` would.
pub fn findings(
    policy: &Policy,
    root: &Path,
    records: &[Record],
    findings: &[Finding],
    as_of: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<Finding>> {
    if policy.exports.is_empty() {
        return Ok(Vec::new());
    }
    let chosen = suppression::eligible(records, findings, as_of, now);
    let sups = suppression::suppressions(&chosen.clean, policy);
    let mut out = Vec::new();
    for format in super::export::configured(policy)? {
        let name = format.file_name().unwrap_or_default();
        let want = super::export::suppressions(format, &sups)?.text;
        let message = match std::fs::read_to_string(root.join(name)) {
            Ok(have) if have == want => continue,
            // What the file suppresses that exc would not write is a suppression
            // nobody decided: an error, at its line. A file that only lacks
            // entries exc would write is merely stale.
            Ok(have) if !extra_entries(name, &have, &want, as_of).is_empty() => {
                for site in extra_entries(name, &have, &want, as_of) {
                    let what = site
                        .rule
                        .as_deref()
                        .map(|r| format!("{r} (or more than exc writes for it)"))
                        .or(site.reason.clone())
                        .unwrap_or_else(|| "an entry".into());
                    out.push(
                        Finding::at(
                            Code::ShadowSuppression,
                            name,
                            Position { line: site.line, col: site.col },
                            format!(
                                "{name} suppresses {what}{}, which `exc export --all` would not write as of {}: no approved, active exception covers it. Regenerate the file (the nightly job does) instead of editing it",
                                site.package.map(|p| format!(" in {p}")).unwrap_or_default(),
                                as_of
                            ),
                        )
                        .with_severity(
                            policy
                                .severity
                                .severity(Code::ShadowSuppression, Code::ShadowSuppression.default_severity()),
                        ),
                    );
                }
                continue;
            }
            Ok(_) => format!(
                "{name} differs from what `exc export --all` writes as of {} ({} suppression(s)): regenerate and commit it",
                as_of,
                sups.len()
            ),
            Err(_) => {
                format!("{name} is listed in exc.yaml's exports but missing: run `exc export --all` and commit it")
            }
        };
        out.push(Finding::new(Code::StaleSuppressions, name, "", message).with_severity(
            policy.severity.severity(Code::StaleSuppressions, Code::StaleSuppressions.default_severity()),
        ));
    }
    Ok(out)
}

/// The entries of a committed suppression file that the file exc would
/// write (`want`) does not hold, counted entry by entry (what it hides and
/// the package it scopes). An entry whose own expiry has passed hides
/// nothing any more (the scanner drops it): the file is only stale.
fn extra_entries(name: &str, have: &str, want: &str, as_of: NaiveDate) -> Vec<Site> {
    let Some(want) = crate::scan::entries(name, want) else { return Vec::new() };
    let Some(have) = crate::scan::entries(name, have) else {
        // A file exc cannot read: what it hides, no one can tell. The
        // scanner may read it all the same.
        return vec![Site {
            file: name.to_string(),
            line: 1,
            col: 1,
            kind: SiteKind::IgnoreFile,
            tool: String::new(),
            rule: None,
            cited: Vec::new(),
            reason: Some("exc cannot read this file".into()),
            expires: None,
            package: None,
            scope: None,
        }];
    };
    // Each committed entry must be one exc writes: the same scope, lasting
    // no longer. One that hides more (a scope widened, an expiry moved
    // later, an entry added) is a suppression nobody decided.
    let mut left: Vec<Site> = want;
    let mut extra = Vec::new();
    for site in have {
        let covers = |w: &Site| {
            w.rule == site.rule
                && w.scope == site.scope
                && match (site.expires, w.expires) {
                    (_, None) => true,
                    (Some(h), Some(w)) => h <= w,
                    (None, Some(_)) => false,
                }
        };
        match left.iter().position(covers) {
            Some(i) => {
                left.swap_remove(i);
            }
            // An entry that lapsed lately: the exception ended and the file
            // was not made again yet (the nightly job will). Any other date
            // exc reads as past may read differently to the scanner.
            None if site.expires.is_some_and(|d| d < as_of && d >= as_of - Days::new(366)) => {}
            None => extra.push(site),
        }
    }
    extra
}
