//! Routing: who must approve a record, and which decisions stand. The one
//! place that says when a record counts as approved.
//!
//! A decision stands when it is signed by its maker with a key the policy
//! lists (where signatures are required), the maker may make it (holds the
//! role, is not the requester, fills one role only), and, for an approval, it
//! covers the record as it is now: the same request digest, and the same
//! expiry or one a later valid extension moved it to.
//!
//! The tier starts at the type's default. An approver may assess it higher,
//! which always counts; or lower, which counts only when every role of the
//! higher tier approved that lower assessment. A `policy` approval stands
//! only where the policy routes the type to automatic approval.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::digest;
use super::finding::Code;
use super::policy::{Policy, RISK_OWNER};
use super::record::{Approval, Completion, Decision, Exception, Record, ReviewDecision, Risk, Route};
use super::signature::{self, Verdict};
use super::statement::{self, Entry};

/// The `by` (and role) of an approval the policy granted itself (low risk).
pub const POLICY_APPROVER: &str = "policy";

/// The role that recertifies besides the risk owner, and approves medium risk.
pub const SECURITY: &str = "security";

/// A problem with a decision, for the rules to turn into a finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub code: Code,
    pub pointer: String,
    pub message: String,
}

/// Where a record stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Standing {
    /// The tier it is routed by.
    pub tier: Risk,
    /// The roles that tier needs that have no standing approval of the current content.
    pub missing: Vec<String>,
    /// Roles whose approval no longer covers the content (changed after approval).
    pub stale: Vec<usize>,
    /// Why decisions do not stand.
    pub problems: Vec<Problem>,
}

impl Standing {
    /// Every required role approved exactly the record as it is.
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Where `e` stands under `policy`.
pub fn standing(e: &Exception, policy: &Policy) -> Standing {
    standing_trusting(e, policy, None)
}

/// [`standing`], counting `trusted` as validly signed: a decision being made
/// now, signed right after (and checked again then).
pub fn standing_trusting(e: &Exception, policy: &Policy, trusted: Option<Entry>) -> Standing {
    standing_with(e, policy, &verdicts(e, policy, trusted))
}

/// The signatures a record's standing depends on, in chain order: each
/// decision's entry, statement, maker, time and signature (none when
/// signatures are off, and none for decisions made by the policy itself).
pub fn signature_jobs(e: &Exception, policy: &Policy) -> Vec<(Entry, Vec<u8>)> {
    if !policy.signatures_required() {
        return Vec::new();
    }
    statement::statements(e)
        .into_iter()
        .filter(|(entry, _)| statement::maker(e, *entry).is_some_and(|(by, _)| by != POLICY_APPROVER))
        .collect()
}

/// [`standing`] with the signature verdicts already worked out (for many
/// records at once, see `signature::verify_all`).
pub fn standing_with(e: &Exception, policy: &Policy, signed: &BTreeMap<Entry, Verdict>) -> Standing {
    let mut problems = Vec::new();
    let mut add = |code: Code, pointer: String, message: String| problems.push(Problem { code, pointer, message });
    let signs = |entry: Entry| signed.get(&entry).is_none_or(|v| *v == Verdict::Valid);
    for (entry, verdict) in signed {
        let who = statement::maker(e, *entry).map(|(by, _)| by).unwrap_or("?");
        match verdict {
            Verdict::Valid => {}
            Verdict::Missing => add(
                Code::SignatureMissing,
                entry.pointer(),
                format!("the decision by {who} is not signed; signatures are required, so it does not count"),
            ),
            Verdict::UnknownKey(print) => add(
                Code::SignatureUnknownKey,
                format!("{}/signature", entry.pointer()),
                format!("the decision by {who} is signed with key {print}, which the policy does not list for {who}"),
            ),
            Verdict::Invalid(why) => add(
                Code::SignatureInvalid,
                format!("{}/signature", entry.pointer()),
                format!("the signature of the decision by {who} does not verify: {why}"),
            ),
        }
    }

    if policy.signatures_required() && (policy.trust.signed_requests || e.signature.is_some()) {
        match request_signed(e, policy) {
            Verdict::Valid => {}
            Verdict::Missing => add(
                Code::SignatureMissing,
                String::new(),
                format!(
                    "the request is not signed by its requester {}; the policy requires signed requests",
                    e.requester
                ),
            ),
            Verdict::UnknownKey(print) if policy.trust.signed_requests => add(
                Code::SignatureUnknownKey,
                "/signature".into(),
                format!("the request is signed with key {print}, which the policy does not list for {}", e.requester),
            ),
            Verdict::Invalid(_) if policy.trust.signed_requests => add(
                Code::SignatureInvalid,
                "/signature".into(),
                format!("the request changed after {} signed it; they must sign it again", e.requester),
            ),
            _ => {}
        }
    }

    let current = digest::digest(e);

    // Reviews that stand, in order: signed, by someone who may review, not the requester.
    let mut reviews: Vec<(usize, &super::record::Review)> = Vec::new();
    for (i, v) in e.reviews.iter().enumerate() {
        let at = format!("/reviews/{i}");
        if policy.same_person(&v.by, &e.requester) {
            add(Code::SelfApproval, at, format!("{} recertified their own request", v.by));
        } else if !can_review(&v.by, e, policy) {
            add(
                Code::UnauthorizedApprover,
                at,
                format!("{} is neither the risk owner nor a `{SECURITY}` role holder", v.by),
            );
        } else if signs(Entry::Review(i)) {
            reviews.push((i, v));
        }
    }
    // The expiry an approval covers now: its own, or the latest standing
    // extension after it of the same content.
    let covered_expiry = |a: &Approval| -> NaiveDate {
        reviews
            .iter()
            .filter(|(_, v)| v.decision == ReviewDecision::Extend && v.at >= a.at && v.digest == a.digest)
            .filter_map(|(_, v)| v.expires)
            .next_back()
            .unwrap_or(a.expires)
    };

    let standing = standing_approvals(e, policy, &signs, &mut add);

    // Of those, the ones that cover the record as it is now.
    let covering: Vec<&Approval> = standing
        .iter()
        .filter(|(_, a)| a.digest == current && covered_expiry(a) == e.expires)
        .map(|(_, a)| *a)
        .collect();
    let stale: Vec<usize> = standing
        .iter()
        .filter(|(_, a)| !(a.digest == current && covered_expiry(a) == e.expires))
        .map(|(i, _)| *i)
        .collect();

    let (tier, missing) = route(e, policy, &covering, &mut add);
    Standing { tier, missing, stale, problems }
}

/// The approvals that stand, whatever content they cover: signed (where
/// required), by someone who holds the role and is not the requester, at
/// or above the type's floor, one role per person; `policy` approvals only
/// where the type is routed to automatic approval.
fn standing_approvals<'e>(
    e: &'e Exception,
    policy: &Policy,
    signs: &dyn Fn(Entry) -> bool,
    add: &mut dyn FnMut(Code, String, String),
) -> Vec<(usize, &'e Approval)> {
    let base = base_tier(e, policy);
    let auto = base == Risk::Low && policy.required_roles(Risk::Low).is_empty();
    let mut standing: Vec<(usize, &Approval)> = Vec::new();
    let mut roles_of: HashMap<String, (String, usize)> = HashMap::new();
    for (i, a) in e.approvals.iter().enumerate() {
        let at = format!("/approvals/{i}");
        if a.decision != Decision::Approved {
            continue;
        }
        if a.by == POLICY_APPROVER || a.role == POLICY_APPROVER {
            if !auto {
                add(
                    Code::UnauthorizedApprover,
                    at,
                    format!(
                        "only types the policy routes to automatic approval are approved by `policy`; `{}` is {base} risk",
                        e.kind
                    ),
                );
            } else {
                standing.push((i, a));
            }
            continue;
        }
        if policy.same_person(&a.by, &e.requester) {
            add(Code::SelfApproval, at, format!("{} approved their own request as `{}`", a.by, a.role));
            continue;
        }
        if !policy.holds_role(&a.by, &a.role, e) {
            let what = if a.role == RISK_OWNER {
                "is not the record's risk owner".to_string()
            } else {
                format!("does not hold role `{}` in the policy", a.role)
            };
            add(Code::UnauthorizedApprover, at, format!("{} {what}", a.by));
            continue;
        }
        if !signs(Entry::Approval(i)) {
            continue;
        }
        if a.risk < policy.floor(&e.kind) {
            add(
                Code::RiskLowered,
                format!("{at}/risk"),
                format!(
                    "type `{}` is at least {} risk; {} assessed it {}",
                    e.kind,
                    policy.floor(&e.kind),
                    a.by,
                    a.risk
                ),
            );
            continue;
        }
        // One person fills one role per record.
        let person = roles_of.iter().find(|(p, _)| policy.same_person(p, &a.by)).map(|(p, r)| (p.clone(), r.clone()));
        match person {
            Some((_, (role, first))) if role != a.role => {
                add(
                    Code::DuplicateRole,
                    at,
                    format!(
                        "{} already approved as `{role}` (approval {first}); each role needs a different person",
                        a.by
                    ),
                );
                continue;
            }
            Some(_) => {}
            None => {
                roles_of.insert(a.by.clone(), (a.role.clone(), i));
            }
        }
        standing.push((i, a));
    }

    standing
}

/// The tier and the roles still missing, given the approvals that cover the
/// content: raised by any assessment, lowered only with the consent of every
/// role of the higher tier.
fn route(
    e: &Exception,
    policy: &Policy,
    covering: &[&Approval],
    add: &mut dyn FnMut(Code, String, String),
) -> (Risk, Vec<String>) {
    let base = base_tier(e, policy);
    // The tier: raised by any assessment, lowered only with the higher tier's consent.
    let mut tier = base;
    if let Some(lowest) = covering.iter().map(|a| a.risk).filter(|r| *r < base).min() {
        let consent =
            policy.required_roles(base).iter().all(|role| covering.iter().any(|a| &a.role == role && a.risk <= lowest));
        if consent {
            tier = lowest;
        } else if e.status == super::record::Status::Approved {
            let starts = if base > policy.base_tier(&e.kind) {
                format!("its requester proposed {base} risk")
            } else {
                format!("`{}` is {base} risk", e.kind)
            };
            add(
                Code::RiskLowered,
                "/approvals".into(),
                format!(
                    "approved as {lowest} risk, but {starts} and only every role of that tier ({}) can lower it",
                    policy.required_roles(base).join(", ")
                ),
            );
        }
    }
    if let Some(highest) = covering.iter().map(|a| a.risk).max() {
        tier = tier.max(highest);
    }
    let missing: Vec<String> =
        policy.required_roles(tier).iter().filter(|role| !covering.iter().any(|a| &&a.role == role)).cloned().collect();
    (tier, missing)
}

/// The tier a record starts at: its type's default, or the higher tier its
/// requester proposed (`proposed_risk`, inside the request digest). Approvers
/// may raise it, or lower it as they may lower a type's default.
pub fn base_tier(e: &Exception, policy: &Policy) -> Risk {
    policy.base_tier(&e.kind).max(e.proposed_risk.unwrap_or(Risk::Low))
}

/// When the routing completed: for each version of the request (its digest
/// and the expiry the approvals saw), the moment its last required approval
/// came in, in time order. The first is the record's approval; later ones are
/// re-approvals after an edit. Signatures as in `signed`.
pub fn completions(e: &Exception, policy: &Policy, signed: &BTreeMap<Entry, Verdict>) -> Vec<Completion> {
    let signs = |entry: Entry| signed.get(&entry).is_none_or(|v| *v == Verdict::Valid);
    let mut ignore = |_: Code, _: String, _: String| {};
    let mut standing = standing_approvals(e, policy, &signs, &mut ignore);
    standing.sort_by_key(|(i, a)| (a.at, *i));
    let mut done: Vec<(&str, NaiveDate)> = Vec::new();
    let mut out = Vec::new();
    for (_, a) in &standing {
        let version = (a.digest.as_str(), a.expires);
        if done.contains(&version) {
            continue;
        }
        let covering: Vec<&Approval> = standing
            .iter()
            .filter(|(_, b)| b.at <= a.at && (b.digest.as_str(), b.expires) == version)
            .map(|(_, b)| *b)
            .collect();
        if route(e, policy, &covering, &mut ignore).1.is_empty() {
            done.push(version);
            out.push(Completion { at: a.at, digest: a.digest.clone() });
        }
    }
    out
}

/// Where `e` stands and when its routing completed, worked out together
/// (its signatures verified once).
pub fn route_of(e: &Exception, policy: &Policy) -> Route {
    let signed = verdicts_of(e, policy);
    let standing = standing_with(e, policy, &signed);
    Route { tier: standing.tier, awaiting: standing.missing, completions: completions(e, policy, &signed) }
}

/// The signature verdict of every decision (none when signatures are off).
pub fn verdicts_of(e: &Exception, policy: &Policy) -> BTreeMap<Entry, Verdict> {
    verdicts(e, policy, None)
}

/// When a loaded record's routing completed (as worked out when it was
/// loaded), else worked out now.
pub fn completions_of(r: &Record, policy: &Policy) -> Vec<Completion> {
    match &r.route {
        Some(route) => route.completions.clone(),
        None => completions(&r.exception, policy, &verdicts_of(&r.exception, policy)),
    }
}

/// The signature verdict of every decision (none when signatures are off),
/// with `trusted` counted as valid.
fn verdicts(e: &Exception, policy: &Policy, trusted: Option<Entry>) -> BTreeMap<Entry, Verdict> {
    let keyring = &policy.trust.keyring;
    signature_jobs(e, policy)
        .into_iter()
        .filter_map(|(entry, bytes)| {
            let (by, at) = statement::maker(e, entry)?;
            let verdict = if Some(entry) == trusted {
                Verdict::Valid
            } else {
                signature::verify(keyring, by, at, &bytes, statement::signature_of(e, entry))
            };
            Some((entry, verdict))
        })
        .collect()
}

/// Whether the request carries a valid signature by its requester.
pub fn request_signed(e: &Exception, policy: &Policy) -> Verdict {
    signature::verify(
        &policy.trust.keyring,
        &e.requester,
        e.created,
        &statement::request_statement(e),
        e.signature.as_deref(),
    )
}

/// The roles the record's tier requires that have no standing approval yet.
pub fn missing_roles(e: &Exception, policy: &Policy) -> Vec<String> {
    standing(e, policy).missing
}

/// The tier a record is routed by.
pub fn tier(e: &Exception, policy: &Policy) -> Risk {
    standing(e, policy).tier
}

/// The tier a loaded record is routed by (as worked out when it was loaded).
pub fn tier_of(r: &Record, policy: &Policy) -> Risk {
    r.route.as_ref().map_or_else(|| tier(&r.exception, policy), |route| route.tier)
}

/// The roles a loaded record still awaits (none unless it is requested).
pub fn awaiting_of(r: &Record, policy: &Policy) -> Vec<String> {
    if r.exception.status != super::record::Status::Requested {
        return Vec::new();
    }
    r.route.as_ref().map_or_else(|| missing_roles(&r.exception, policy), |route| route.awaiting.clone())
}

/// Whether `actor` may recertify `e`: its risk owner, or a `security` role holder.
pub fn can_review(actor: &str, e: &Exception, policy: &Policy) -> bool {
    policy.same_person(actor, &e.risk_owner) || policy.holds_role(actor, SECURITY, e)
}

/// Whether `actor` may retire `e` (close it as no longer needed, or withdraw
/// a request): its requester, its risk owner, security or the CISO.
pub fn can_retire(actor: &str, e: &Exception, policy: &Policy) -> bool {
    policy.same_person(actor, &e.requester) || can_revoke(actor, e, policy)
}

/// Whether `actor` may revoke `e`: security, the CISO or the risk owner.
pub fn can_revoke(actor: &str, e: &Exception, policy: &Policy) -> bool {
    policy.holds_role(actor, SECURITY, e)
        || policy.holds_role(actor, "ciso", e)
        || policy.same_person(actor, &e.risk_owner)
}

/// A role and who holds it, for messages: `security (sam@…, priya@…)`.
pub fn holders(role: &str, e: &Exception, policy: &Policy) -> String {
    if role == RISK_OWNER {
        return format!("risk_owner ({})", e.risk_owner);
    }
    match policy.roles.get(role) {
        Some(p) if !p.is_empty() => format!("{role} ({})", p.join(", ")),
        _ => format!("{role} (nobody holds it: add people to `roles` in exc.yaml)"),
    }
}

/// The people who hold `role` for `e` (the risk owner for `risk_owner`).
pub fn people(role: &str, e: &Exception, policy: &Policy) -> Vec<String> {
    if role == RISK_OWNER { vec![e.risk_owner.clone()] } else { policy.roles.get(role).cloned().unwrap_or_default() }
}
