//! The exception record: one YAML file in `exceptions/`, as typed values.
//!
//! Field order here is the order on disk, so rewrites give minimal diffs.
//! This module does no I/O.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Where a record is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// One approval (or rejection) by one role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// `Name <email>`, or `policy` for an automatic low-risk approval.
    pub by: String,
    pub role: String,
    pub at: DateTime<Utc>,
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// `sha256:` over the request fields this approval saw.
    pub digest: String,
}

/// What a recertification concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewDecision {
    Extend,
    Retire,
    Revoke,
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
    /// For an extension: `sha256:` over the request fields as extended. The
    /// reviewer re-approves the content, including the new expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// How and why a record was closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
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
    pub expires: NaiveDate,
    pub justification: String,
    pub assets: Vec<String>,
    #[serde(default)]
    pub compensating_controls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_plan: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tickets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
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
    "risk",
    "approvals",
    "reviews",
    "closed",
];

/// The fields the requester fills in; an approval covers exactly these.
pub const REQUEST_FIELDS: &[&str] = &[
    "title",
    "type",
    "requester",
    "risk_owner",
    "urgency",
    "expires",
    "justification",
    "assets",
    "compensating_controls",
    "controls",
    "findings",
    "attachments",
    "migration_plan",
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

    /// Whether `who` (an email, or `Name <email>`) is the requester.
    pub fn is_requested_by(&self, who: &str) -> bool {
        same_person(&self.requester, who)
    }

    /// Signed days from `as_of` until expiry (negative when past).
    pub fn days_to_expiry(&self, as_of: NaiveDate) -> i64 {
        (self.expires - as_of).num_days()
    }
}

/// The email inside `Name <email>`, or the whole string when there are no brackets.
pub fn email_of(person: &str) -> &str {
    match (person.rfind('<'), person.rfind('>')) {
        (Some(a), Some(b)) if a < b => person[a + 1..b].trim(),
        _ => person.trim(),
    }
}

/// Whether two people strings name the same email (case-insensitive).
pub fn same_person(a: &str, b: &str) -> bool {
    email_of(a).eq_ignore_ascii_case(email_of(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_taken_from_brackets() {
        assert_eq!(email_of("Ann Lee <ann@example.com>"), "ann@example.com");
        assert_eq!(email_of("ann@example.com"), "ann@example.com");
        assert!(same_person("Ann <ANN@example.com>", "ann@example.com"));
    }

    #[test]
    fn closed_statuses() {
        let closed: Vec<_> = Status::ALL.iter().filter(|s| s.is_closed()).collect();
        assert_eq!(closed.len(), 4);
        assert!(!Status::Approved.is_closed());
    }
}

/// A record as loaded from its file: the typed exception, where it came from,
/// and its text, from which positions are worked out only when a finding needs one.
#[derive(Clone, Debug)]
pub struct Record {
    /// The file path as shown to users (relative to the registry root where possible).
    pub path: String,
    /// The file name without its extension: what the id must equal.
    pub stem: String,
    pub exception: Exception,
    source: std::sync::Arc<str>,
    positions: std::sync::OnceLock<Option<crate::yaml::Document>>,
}

impl Record {
    pub fn new(path: String, stem: String, exception: Exception, source: std::sync::Arc<str>) -> Record {
        Record { path, stem, exception, source, positions: std::sync::OnceLock::new() }
    }

    /// Where the field at a JSON pointer is in the file. A top-level field in
    /// block style (`expires: …` at the start of a line) is found by a scan of
    /// the text; anything else parses the file again with positions, once.
    pub fn at(&self, pointer: &str) -> crate::yaml::Position {
        if let Some(key) = pointer.strip_prefix('/').filter(|k| !k.contains(['/', '~'])) {
            for (i, line) in self.source.lines().enumerate() {
                if line.strip_prefix(key).is_some_and(|rest| rest.starts_with(':')) {
                    return crate::yaml::Position { line: i as u32 + 1, col: 1 };
                }
            }
        }
        self.positions
            .get_or_init(|| crate::yaml::parse(&self.source).ok())
            .as_ref()
            .map(|d| d.position(pointer))
            .unwrap_or(crate::yaml::Position::START)
    }

    /// The file's text as it was read.
    pub fn source(&self) -> &str {
        &self.source
    }
}
