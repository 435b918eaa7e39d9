//! What a decision's signature covers: a canonical statement of the registry
//! (its identity, fixed at `exc init`), the record id, the action, who, when,
//! the role, the assessed risk, the decision, the request digest, the expiry
//! it saw, and the hash of the record's previous decision. The hashes chain the decisions, so no entry can be edited,
//! reordered or removed from the middle without breaking a signature.
//!
//! The chain is the record's decisions in time order: approvals and
//! rejections, reviews, and a closure that is its own decision (retire,
//! revoke, expire); a rejection or a review that closes the record signs that
//! closure itself. Pure.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::digest;
use super::identity::same_person;
use super::record::{Decision, Exception, ReviewDecision, Risk, Status};

/// One decision in a record: which entry it is. `Request` is the request's
/// own signature: checked with the decisions (in one batch), never part of
/// their chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entry {
    Request,
    Approval(usize),
    Review(usize),
    Closure,
}

impl Entry {
    /// The JSON pointer of the entry in the record.
    pub fn pointer(self) -> String {
        match self {
            Entry::Approval(i) => format!("/approvals/{i}"),
            Entry::Review(i) => format!("/reviews/{i}"),
            Entry::Closure => "/closed".to_string(),
            Entry::Request => String::new(),
        }
    }
}

/// The statement a decision's signature covers, in its canonical order.
#[derive(Debug, Serialize)]
pub struct Statement<'a> {
    pub exc: &'static str,
    /// The registry's identity (`trust.registry`): a signature made in one
    /// registry never verifies in another.
    pub registry: Option<&'a str>,
    pub id: &'a str,
    pub action: &'static str,
    pub by: &'a str,
    pub at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<&'static str>,
    pub request: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checklist: Option<[bool; 3]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
    pub previous: Option<String>,
}

impl Statement<'_> {
    /// The bytes that are signed: compact JSON in field order, and a newline.
    pub fn bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// The statement a requester signs: the request as it stands (its digest
/// covers the id, requester, creation time and every request field but the
/// expiry, which the decisions state: an extension does not need the
/// requester to sign again, an edit does).
pub fn request_statement<'a>(e: &'a Exception, registry: Option<&'a str>) -> Vec<u8> {
    Statement {
        exc: "decision/2",
        registry,
        id: &e.id,
        action: "request",
        by: &e.requester,
        at: e.created,
        role: None,
        risk: None,
        decision: None,
        request: digest::digest(e),
        expires: None,
        checklist: None,
        note: None,
        previous: None,
    }
    .bytes()
}

/// `sha256:<hex>` of some bytes.
pub fn hash(bytes: &[u8]) -> String {
    let mut out = String::from("sha256:");
    for b in Sha256::digest(bytes) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Whether the closure is its own decision, or was made by a rejection or a
/// review at the same instant by the same person.
pub fn closure_is_own_decision(e: &Exception) -> bool {
    let Some(c) = &e.closed else { return false };
    let by_rejection = e.status == Status::Rejected
        && e.approvals.iter().any(|a| a.decision == Decision::Rejected && a.at == c.at && same_person(&a.by, &c.by));
    let by_review = e.reviews.iter().any(|v| {
        matches!(v.decision, ReviewDecision::Retire | ReviewDecision::Revoke)
            && v.at == c.at
            && same_person(&v.by, &c.by)
    });
    !(by_rejection || by_review)
}

/// The record's decisions in chain order: by time, then approvals before
/// reviews before the closure, then by position.
pub fn chain(e: &Exception) -> Vec<Entry> {
    let mut out: Vec<(DateTime<Utc>, Entry)> = Vec::new();
    out.extend(e.approvals.iter().enumerate().map(|(i, a)| (a.at, Entry::Approval(i))));
    out.extend(e.reviews.iter().enumerate().map(|(i, v)| (v.at, Entry::Review(i))));
    if let Some(c) = &e.closed
        && closure_is_own_decision(e)
    {
        out.push((c.at, Entry::Closure));
    }
    out.sort();
    out.into_iter().map(|(_, d)| d).collect()
}

/// The action a closure records, from the status it set.
fn closing_action(status: Status) -> &'static str {
    match status {
        Status::Retired => "retire",
        Status::Revoked => "revoke",
        Status::Expired => "expire",
        Status::Rejected => "reject",
        _ => "close",
    }
}

/// The statement of one decision in `registry`, given the hash of the one before it.
pub fn statement<'a>(
    e: &'a Exception,
    entry: Entry,
    previous: Option<String>,
    registry: Option<&'a str>,
) -> Option<Statement<'a>> {
    Some(match entry {
        Entry::Approval(i) => {
            let a = e.approvals.get(i)?;
            let rejected = a.decision == Decision::Rejected;
            Statement {
                exc: "decision/2",
                registry,
                id: &e.id,
                action: if rejected { "reject" } else { "approve" },
                by: &a.by,
                at: a.at,
                role: Some(&a.role),
                risk: Some(a.risk),
                decision: Some(if rejected { "rejected" } else { "approved" }),
                request: a.digest.clone(),
                expires: Some(a.expires),
                checklist: None,
                note: a.note.as_deref(),
                previous,
            }
        }
        Entry::Review(i) => {
            let v = e.reviews.get(i)?;
            Statement {
                exc: "decision/2",
                registry,
                id: &e.id,
                action: "review",
                by: &v.by,
                at: v.at,
                role: None,
                risk: None,
                decision: Some(v.decision.as_str()),
                request: v.digest.clone(),
                expires: v.expires,
                checklist: Some([v.controls_effective, v.justification_valid, v.better_option]),
                note: v.note.as_deref(),
                previous,
            }
        }
        Entry::Request => return None,
        Entry::Closure => {
            let c = e.closed.as_ref()?;
            Statement {
                exc: "decision/2",
                registry,
                id: &e.id,
                action: closing_action(e.status),
                by: &c.by,
                at: c.at,
                role: None,
                risk: None,
                decision: None,
                request: digest::digest(e),
                expires: Some(e.expires),
                checklist: None,
                note: Some(&c.reason),
                previous,
            }
        }
    })
}

/// Every decision with the statement its signature must cover in
/// `registry`, in chain order.
pub fn statements(e: &Exception, registry: Option<&str>) -> Vec<(Entry, Vec<u8>)> {
    let mut previous = None;
    let mut out = Vec::new();
    for entry in chain(e) {
        let Some(s) = statement(e, entry, previous.clone(), registry) else { continue };
        let bytes = s.bytes();
        previous = Some(hash(&bytes));
        out.push((entry, bytes));
    }
    out
}

/// The signature stored on an entry.
pub fn signature_of(e: &Exception, entry: Entry) -> Option<&str> {
    match entry {
        Entry::Approval(i) => e.approvals.get(i)?.signature.as_deref(),
        Entry::Review(i) => e.reviews.get(i)?.signature.as_deref(),
        Entry::Closure => e.closed.as_ref()?.signature.as_deref(),
        Entry::Request => e.signature.as_deref(),
    }
}

/// Who made an entry and when.
pub fn maker(e: &Exception, entry: Entry) -> Option<(&str, DateTime<Utc>)> {
    match entry {
        Entry::Approval(i) => e.approvals.get(i).map(|a| (a.by.as_str(), a.at)),
        Entry::Review(i) => e.reviews.get(i).map(|v| (v.by.as_str(), v.at)),
        Entry::Closure => e.closed.as_ref().map(|c| (c.by.as_str(), c.at)),
        Entry::Request => Some((e.requester.as_str(), e.created)),
    }
}

/// Sets the signature on an entry.
pub fn set_signature(e: &mut Exception, entry: Entry, signature: String) {
    match entry {
        Entry::Approval(i) => {
            if let Some(a) = e.approvals.get_mut(i) {
                a.signature = Some(signature);
            }
        }
        Entry::Review(i) => {
            if let Some(v) = e.reviews.get_mut(i) {
                v.signature = Some(signature);
            }
        }
        Entry::Closure => {
            if let Some(c) = e.closed.as_mut() {
                c.signature = Some(signature);
            }
        }
        Entry::Request => e.signature = Some(signature),
    }
}
