//! The kinds of event `exc notify` delivers, as `notify.events` names them
//! (its own file, so the policy's `notify:` section can name them without
//! depending on how events are worked out).

use serde::{Deserialize, Serialize};

/// The kinds of event, as `notify.events` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A request was filed.
    Filed,
    /// A request changed after it was approved, and needs approving again.
    Changed,
    /// A decision: approved (its routing completed), rejected, or extended at recertification.
    Decided,
    /// A pending request has used three quarters of its decision SLA.
    SlaAtRisk,
    /// A pending request is past its decision SLA.
    SlaBreached,
    /// The expiry is within the lead time (`review.remind_before_days`).
    ExpiryNear,
    /// `review.remind_at_lifetime` of the lifetime has passed.
    Lifetime,
    /// A recertification falls due within the lead time.
    ReviewDue,
    /// A recertification is past due.
    ReviewOverdue,
    /// Closed: expired (by `exc expire --apply`), revoked or retired.
    Closed,
    /// Extended more often than `review.chronic_after_extensions`: escalate.
    Chronic,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Filed,
        Kind::Changed,
        Kind::Decided,
        Kind::SlaAtRisk,
        Kind::SlaBreached,
        Kind::ExpiryNear,
        Kind::Lifetime,
        Kind::ReviewDue,
        Kind::ReviewOverdue,
        Kind::Closed,
        Kind::Chronic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Filed => "filed",
            Kind::Changed => "changed",
            Kind::Decided => "decided",
            Kind::SlaAtRisk => "sla-at-risk",
            Kind::SlaBreached => "sla-breached",
            Kind::ExpiryNear => "expiry-near",
            Kind::Lifetime => "lifetime",
            Kind::ReviewDue => "review-due",
            Kind::ReviewOverdue => "review-overdue",
            Kind::Closed => "closed",
            Kind::Chronic => "chronic",
        }
    }

    /// Announcements stay owed until delivered; calls to act only while the
    /// action is open (which [`events`] already decides), and they are owed
    /// even when they fell due before the delivery log started.
    pub fn is_announcement(self) -> bool {
        matches!(self, Kind::Filed | Kind::Decided | Kind::Closed | Kind::Chronic)
    }

    /// A few words for subjects and headings.
    pub fn headline(self) -> &'static str {
        match self {
            Kind::Filed => "new request",
            Kind::Changed => "changed after approval",
            Kind::Decided => "decision",
            Kind::SlaAtRisk => "decision SLA at risk",
            Kind::SlaBreached => "decision SLA breached",
            Kind::ExpiryNear => "expires soon",
            Kind::Lifetime => "most of its lifetime has passed",
            Kind::ReviewDue => "review due",
            Kind::ReviewOverdue => "review overdue",
            Kind::Closed => "closed",
            Kind::Chronic => "chronic: escalation",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
