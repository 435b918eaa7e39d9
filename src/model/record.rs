//! The exception record: one YAML file in `exceptions/`, as typed values.
//!
//! Field order here is the order on disk, so rewrites give minimal diffs.
//! This module does no I/O.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Where a record is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Requested,
    Approved,
    Rejected,
    Retired,
    Revoked,
    Expired,
}

impl Status {
    pub const ALL: [Status; 6] =
        [Status::Requested, Status::Approved, Status::Rejected, Status::Retired, Status::Revoked, Status::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Retired => "retired",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
        }
    }

    /// Closed records carry a `closed` entry and never come back.
    pub fn is_closed(self) -> bool {
        matches!(self, Status::Rejected | Status::Retired | Status::Revoked | Status::Expired)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Risk tier, which decides who must approve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    Medium,
    High,
    Critical,
}

impl Risk {
    pub const ALL: [Risk; 4] = [Risk::Low, Risk::Medium, Risk::High, Risk::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Risk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How fast a decision is needed; sets the SLA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    #[default]
    Standard,
    Urgent,
}

impl Urgency {
    pub fn is_standard(&self) -> bool {
        *self == Urgency::Standard
    }
}

/// An approver's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approved,
    Rejected,
}

/// One approval (or rejection) by one role: a signed decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// `Name <email>`, or `policy` for an automatic low-risk approval.
    pub by: String,
    pub role: String,
    pub at: DateTime<Utc>,
    pub decision: Decision,
    /// The risk tier the approver assessed: the only place a record's risk lives.
    pub risk: Risk,
    /// `sha256:` over the request fields this decision saw (all but `expires`).
    pub digest: String,
    /// The expiry this decision saw.
    pub expires: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// An SSH signature (git's sshsig format, base64) over the decision's statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// What a recertification concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ReviewDecision {
    // Reviewed, and the expiry kept: a review, not an extension.
    Keep,
    // A later expiry (within the type's cap).
    Extend,
    Retire,
    Revoke,
}

impl ReviewDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewDecision::Keep => "keep",
            ReviewDecision::Extend => "extend",
            ReviewDecision::Retire => "retire",
            ReviewDecision::Revoke => "revoke",
        }
    }
}

/// One recertification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub by: String,
    pub at: DateTime<Utc>,
    pub controls_effective: bool,
    pub justification_valid: bool,
    pub better_option: bool,
    pub decision: ReviewDecision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// `sha256:` over the request fields the reviewer saw (all but `expires`):
    /// an extension carries the approvals forward only if they saw the same.
    pub digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// How and why a record was closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
    /// The closer's signature, for a closure that is its own decision (retire,
    /// revoke, expire); a rejection or a review signs the closure it makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// A scanner finding an exception covers: a CVE or rule id, alone (it
/// applies wherever the record's assets are scanned), or scoped to a package
/// (a package URL, or a name and version) and a path or target glob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Covered {
    Id(String),
    Scoped(Scoped),
}

/// A scoped finding. The fields are in sorted order, so its JSON is canonical
/// (the request digest covers it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoped {
    pub id: String,
    /// A package name, for scanners that match by name (with `version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// A path or scan-target glob (`**/package-lock.json`, `registry.example.com/pay/*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A package URL (`pkg:npm/lodash@4.17.20`); the version may be left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// The application repository it applies to (a name or a glob, any case),
    /// when a central registry governs several: a suppression in another
    /// repository is not covered. Absent, it applies in every repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Covered {
    pub fn id(&self) -> &str {
        match self {
            Covered::Id(id) => id,
            Covered::Scoped(s) => &s.id,
        }
    }

    /// The scope, if any (an unscoped finding gives an empty one).
    pub fn scope(&self) -> Scoped {
        match self {
            Covered::Id(id) => Scoped { id: id.clone(), ..Scoped::default() },
            Covered::Scoped(s) => s.clone(),
        }
    }

    /// Whether it names a package, a path or a repository.
    pub fn is_scoped(&self) -> bool {
        matches!(self, Covered::Scoped(s) if s.package.is_some() || s.path.is_some() || s.purl.is_some() || s.repository.is_some())
    }

    /// Whether it applies in the application repository `name`: it names
    /// none, or its `repository` glob matches the name (any case). `None`
    /// (the repository is not known) matches only a finding that names none.
    pub fn applies_in(&self, name: Option<&str>) -> bool {
        match (self, name) {
            (Covered::Id(_), _) => true,
            (Covered::Scoped(s), name) => match (&s.repository, name) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(glob), Some(name)) => super::glob::glob(&glob.to_ascii_lowercase(), &name.to_ascii_lowercase()),
            },
        }
    }
}

impl std::fmt::Display for Covered {
    /// `CVE-2026-1 purl=pkg:npm/x@1 path=app/**`: the form `exc new --finding` takes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.scope();
        write!(f, "{}", s.id)?;
        for (k, v) in [
            ("purl", &s.purl),
            ("package", &s.package),
            ("version", &s.version),
            ("path", &s.path),
            ("repository", &s.repository),
        ] {
            if let Some(v) = v {
                write!(f, " {k}={v}")?;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Covered {
    type Err = String;

    /// Parses `ID` or `ID key=value …` (keys: purl, package, version, path,
    /// repository), refusing what no scanner could match: a malformed
    /// advisory id (a CVE, GHSA, RustSec, Go or PyPI id not written as its
    /// database writes it), an empty or repeated scope, a package URL that is
    /// not one, a version with no package.
    fn from_str(text: &str) -> Result<Covered, String> {
        let mut parts = text.split_whitespace();
        let id = parts.next().ok_or("a finding needs an id, like CVE-2026-12345")?.to_string();
        if let Some(why) = super::advisory::malformed(&id) {
            return Err(why);
        }
        let shaped = id.starts_with(|c: char| c.is_ascii_alphanumeric())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || "._:/-".contains(c));
        if !shaped {
            return Err(format!(
                "`{id}` is not a finding id: letters, digits and . _ : / - (like CVE-2026-12345 or B105)"
            ));
        }
        let mut s = Scoped { id, ..Scoped::default() };
        let mut any = false;
        for part in parts {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!("`{part}`: write the scope as key=value (purl, package, version, path, repository)")
            })?;
            let slot = match key {
                "purl" => &mut s.purl,
                "package" => &mut s.package,
                "version" => &mut s.version,
                "path" => &mut s.path,
                "repository" => &mut s.repository,
                _ => {
                    return Err(format!(
                        "`{key}` is not a finding's scope; use purl, package, version, path or repository"
                    ));
                }
            };
            if value.is_empty() {
                return Err(format!("`{key}=` needs a value"));
            }
            if slot.is_some() {
                return Err(format!("`{key}` is given twice for {}", s.id));
            }
            *slot = Some(value.to_string());
            any = true;
        }
        if let Some(purl) = &s.purl {
            let shaped = purl.strip_prefix("pkg:").and_then(|rest| rest.split_once('/')).is_some_and(|(kind, name)| {
                !kind.is_empty()
                    && kind.chars().all(|c| c.is_ascii_alphabetic() || ".+-".contains(c))
                    && !name.is_empty()
            });
            if !shaped {
                return Err(format!("`{purl}` is not a package URL (written like pkg:npm/lodash@4.17.20)"));
            }
        }
        if s.version.is_some() && s.package.is_none() && s.purl.is_none() {
            return Err("`version=` goes with `package=` (or a purl): which package is at that version?".into());
        }
        Ok(if any { Covered::Scoped(s) } else { Covered::Id(s.id) })
    }
}

/// One security exception.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    pub id: String,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: Status,
    pub requester: String,
    pub risk_owner: String,
    pub created: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Urgency::is_standard")]
    pub urgency: Urgency,
    /// A higher tier than the type's default that the requester proposes:
    /// routing starts there (see `routing::base_tier`); the approvers decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_risk: Option<Risk>,
    pub expires: NaiveDate,
    pub justification: String,
    pub assets: Vec<String>,
    #[serde(default)]
    pub compensating_controls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Covered>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_plan: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tickets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The requester's SSH signature over the request (its id, requester,
    /// creation time, digest and expiry), made by `exc new` when they have a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Approval>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<Review>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Closure>,
}

/// The top-level field names, in file order.
pub const FIELDS: &[&str] = &[
    "id",
    "title",
    "type",
    "status",
    "requester",
    "risk_owner",
    "created",
    "urgency",
    "proposed_risk",
    "expires",
    "justification",
    "assets",
    "compensating_controls",
    "controls",
    "findings",
    "attachments",
    "migration_plan",
    "tickets",
    "notes",
    "signature",
    "approvals",
    "reviews",
    "closed",
];

/// The fields of the request a decision covers: its digest covers all of
/// them but `expires`, which each decision states on its own. Tickets and
/// notes are covered too: a note or a ticket link edited after approval
/// could change what a reader takes the exception to be.
pub const REQUEST_FIELDS: &[&str] = &[
    "id",
    "title",
    "type",
    "requester",
    "risk_owner",
    "created",
    "urgency",
    "proposed_risk",
    "expires",
    "justification",
    "assets",
    "compensating_controls",
    "controls",
    "findings",
    "attachments",
    "migration_plan",
    "tickets",
    "notes",
];

impl Exception {
    /// Active: approved and not past `expires` on `as_of`.
    pub fn is_active(&self, as_of: NaiveDate) -> bool {
        self.status == Status::Approved && self.expires >= as_of
    }

    /// The date the record was created (UTC).
    pub fn created_date(&self) -> NaiveDate {
        self.created.date_naive()
    }

    /// Signed days from `as_of` until expiry (negative when past).
    pub fn days_to_expiry(&self, as_of: NaiveDate) -> i64 {
        (self.expires - as_of).num_days()
    }
}

/// Whether an attachment can be evidence: an https URL, or a path that stays
/// inside the repository (the registry checks that it exists and is a regular file).
pub fn is_evidence(a: &str) -> bool {
    match a.split_once("://") {
        Some((scheme, rest)) => scheme.eq_ignore_ascii_case("https") && !rest.is_empty(),
        None => !a.contains(':') && is_contained(a),
    }
}

/// Whether a repository-relative path stays inside the repository.
pub fn is_contained(rel: &str) -> bool {
    let p = std::path::Path::new(rel);
    !rel.contains('\\')
        && !p.is_absolute()
        && p.components().all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
}

/// A record as loaded from its file: the typed exception, where it came from,
/// and its text (positions are worked out from it only when a finding is shown).
#[derive(Clone, Debug)]
pub struct Record {
    /// The file path as shown to users (relative to the registry root).
    pub path: String,
    /// The file name without its extension: what the id must equal.
    pub stem: String,
    pub exception: Exception,
    /// The file's text as it was read.
    pub source: std::sync::Arc<str>,
    /// The file says approved, but its approvals do not stand (unsigned,
    /// forged, stale, or by the wrong people): it is treated as requested.
    pub unverified: bool,
    /// Where it stood when it was loaded (its signatures checked in batches
    /// with every other record's), so listing and exporting need not check
    /// them again. See `routing::tier_of`.
    pub route: Option<Route>,
    /// How many of its decisions were made after the instant asked about
    /// (`--as-of`), and are left out: it is the record as it stood then
    /// (see `measure::as_stood`). Zero for a record as its file says.
    pub later: usize,
}

/// The tier a record is routed by, the roles it still awaits, and when its
/// routing completed (see `routing::completions`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub tier: Risk,
    pub awaiting: Vec<String>,
    pub completions: Vec<Completion>,
}

/// A moment the routing completed: the last required approval of one
/// version of the request (by its digest) came in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub at: DateTime<Utc>,
    pub digest: String,
}

impl Record {
    /// A record read from `path` (as shown) with its text.
    pub fn new(path: String, stem: String, exception: Exception, source: std::sync::Arc<str>) -> Record {
        Record { path, stem, exception, source, unverified: false, route: None, later: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_statuses() {
        let closed: Vec<_> = Status::ALL.iter().filter(|s| s.is_closed()).collect();
        assert_eq!(closed.len(), 4);
        assert!(!Status::Approved.is_closed());
    }
}
