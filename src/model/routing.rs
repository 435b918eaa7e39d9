//! Routing: who must approve a record, and which decisions stand. The one
//! place that says when a record counts as approved.
//!
//! A decision stands when it is signed by its maker with a key the policy
//! lists (where signatures are required), the maker may make it (holds the
//! role, is not the requester, fills one role only), and, for an approval, it
//! covers the record as it is now: the same request digest, and the same
//! expiry or one a later extension by a holder of the same role moved it to.
//! An approval counts for the version it approved until the next change: a
//! later decision (in chain order) that saw other content voids it for good,
//! so content that returns to what it once approved needs approving again.
//!
//! Where decisions are signed, the request is signed by its requester, and
//! nobody approves with the key that signed the request. A decision whose
//! key the policy no longer lists (removed, or past its `valid-before`) does
//! not count; that is how a key is revoked, so it is a warning, never an
//! error that no one could clear.
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
    /// Approvals that do not count because their key was removed or retired.
    pub revoked: Vec<usize>,
    /// The request's own signature does not count because its key was removed or retired.
    pub request_revoked: bool,
    /// Reviews that do not count because their key was removed or retired.
    pub revoked_reviews: Vec<usize>,
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
    let registry = policy.trust.registry.as_deref();
    let mut jobs: Vec<(Entry, Vec<u8>)> = statement::statements(e, registry)
        .into_iter()
        .filter(|(entry, _)| statement::maker(e, *entry).is_some_and(|(by, _)| by != POLICY_APPROVER))
        .collect();
    // The request's own signature, checked in the same batch.
    if requests_signed(policy) || e.signature.is_some() {
        jobs.push((Entry::Request, statement::request_statement(e, registry)));
    }
    jobs
}

/// [`standing`] with the signature verdicts already worked out (for many
/// records at once, see `signature::verify_all`).
pub fn standing_with(e: &Exception, policy: &Policy, signed: &BTreeMap<Entry, Verdict>) -> Standing {
    let mut problems = Vec::new();
    let mut add = |code: Code, pointer: String, message: String| problems.push(Problem { code, pointer, message });
    let signs = |entry: Entry| signed.get(&entry).is_none_or(|v| *v == Verdict::Valid);
    let closed = e.status.is_closed();
    // A key the policy lists for somebody else is a forgery, not a revocation.
    let someone_elses = |entry: Entry, who: &str| -> Option<String> {
        let key = signature::signing_key(statement::signature_of(e, entry)?).ok()?;
        let holder = policy.trust.keyring.holder_of(&key)?;
        (!policy.same_person(holder, who)).then(|| holder.to_string())
    };
    let mut forged: Vec<Entry> = Vec::new();
    for (entry, verdict) in signed.iter().filter(|(entry, _)| **entry != Entry::Request) {
        let who = statement::maker(e, *entry).map(|(by, _)| by).unwrap_or("?");
        if let (Verdict::UnknownKey(print), Some(holder)) = (verdict, someone_elses(*entry, who)) {
            forged.push(*entry);
            add(
                Code::SignatureUnknownKey,
                format!("{}/signature", entry.pointer()),
                format!(
                    "the decision by {who} is signed with key {print}, which the policy lists for {holder}, not {who}"
                ),
            );
            continue;
        }
        match verdict {
            Verdict::Valid => {}
            Verdict::Missing => add(
                Code::SignatureMissing,
                entry.pointer(),
                format!("the decision by {who} is not signed; signatures are required, so it does not count"),
            ),
            // A revoked or retired key: what it signed stops counting. On a
            // closed record nothing follows from it.
            Verdict::UnknownKey(_) | Verdict::Expired { .. } if closed || made_again(e, *entry, signed) => {}
            Verdict::UnknownKey(_) | Verdict::Expired { .. } => add(
                Code::SignatureRevoked,
                format!("{}/signature", entry.pointer()),
                format!(
                    "the decision by {who} is {}: it no longer counts, and needs making again",
                    verdict.describe(who)
                ),
            ),
            Verdict::Invalid(why) => add(
                Code::SignatureInvalid,
                format!("{}/signature", entry.pointer()),
                format!("the signature of the decision by {who} does not verify: {why}"),
            ),
        }
    }

    // Where decisions are signed, the request is signed by its requester.
    // A closed record's request decides nothing any more: no finding about it.
    let request =
        if closed { None } else { signed.get(&Entry::Request).cloned().or_else(|| request_verdict(e, policy)) };
    let request_stands = match &request {
        None | Some(Verdict::Valid) => true,
        Some(Verdict::Missing) => {
            add(
                Code::SignatureMissing,
                String::new(),
                format!(
                    "the request is not signed by its requester {}; where decisions are signed, requests are too (the requester runs `exc sign {}`)",
                    e.requester, e.id
                ),
            );
            false
        }
        Some(Verdict::UnknownKey(print)) if someone_elses_request(e, policy).is_some() => {
            let holder = someone_elses_request(e, policy).unwrap_or_default();
            add(
                Code::SignatureUnknownKey,
                "/signature".into(),
                format!(
                    "the request names {} as its requester, but is signed with key {print}, which the policy lists for {holder}",
                    e.requester
                ),
            );
            false
        }
        Some(v) if v.is_key_problem() => {
            if !closed {
                add(
                    Code::SignatureRevoked,
                    "/signature".into(),
                    format!("the request is {}: it no longer counts", v.describe(&e.requester)),
                );
            }
            false
        }
        Some(_) => {
            add(
                Code::SignatureInvalid,
                "/signature".into(),
                format!(
                    "the request changed after {} signed it; they must sign it again (`exc sign {}`)",
                    e.requester, e.id
                ),
            );
            false
        }
    };
    let request_key = e.signature.as_deref().and_then(signature::key_blob);

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

    let standing = standing_approvals(e, policy, &signs, request_key.as_ref(), &mut add);
    let revoked: Vec<usize> = e
        .approvals
        .iter()
        .enumerate()
        .filter(|(i, _)| signed.get(&Entry::Approval(*i)).is_some_and(Verdict::is_key_problem))
        .filter(|(i, _)| !forged.contains(&Entry::Approval(*i)))
        .map(|(i, _)| i)
        .collect();

    // Of those, the ones that cover the record as it is now (none while the
    // request itself does not stand).
    // Extensions whose key was revoked or retired no longer count, but the
    // date they set was set: approvals wait for it, rather than having
    // been left behind by a change.
    let revoked_reviews: Vec<usize> = e
        .reviews
        .iter()
        .enumerate()
        .filter(|(i, _)| signed.get(&Entry::Review(*i)).is_some_and(Verdict::is_key_problem))
        .map(|(i, _)| i)
        .collect();
    let cover = Coverage::of(e, policy, &standing, &reviews, &revoked_reviews);
    let covering: Vec<&Approval> =
        standing.iter().filter(|(i, _)| request_stands && cover.covers(*i, &current)).map(|(_, a)| *a).collect();
    // An approval the content left behind; not one that waits for its role
    // to approve a new date an extension set (that is only pending).
    let stale: Vec<usize> = standing
        .iter()
        .filter(|(i, _)| !cover.covers(*i, &current) && !cover.awaits_new_date(*i, &current))
        .map(|(i, _)| *i)
        .collect();

    let (tier, missing) = route(e, policy, &covering, &mut add);
    // A role approved again by someone who holds it: the old approval is past.
    problems.retain(|p| {
        p.code != Code::RoleRemoved
            || p.pointer
                .strip_prefix("/approvals/")
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| e.approvals.get(i))
                .is_none_or(|a| missing.contains(&a.role))
    });
    // Approvals whose role was taken away count as revoked ones do.
    let mut revoked = revoked;
    revoked.extend(
        problems
            .iter()
            .filter(|p| p.code == Code::RoleRemoved)
            .filter_map(|p| p.pointer.strip_prefix("/approvals/").and_then(|i| i.parse::<usize>().ok())),
    );
    let request_revoked = request.as_ref().is_some_and(Verdict::is_key_problem);
    Standing { tier, missing, stale, revoked, request_revoked, revoked_reviews, problems }
}

/// Which approvals cover which content, from the chain of decisions that
/// stand: an approval covers the digest it saw until a later decision saw
/// another one (then never again), and the expiry it saw, or one a later
/// extension of the same content by a holder of its role set. The record's
/// expiry must be the one the latest decision stated: a date edited by hand
/// is covered by nobody.
struct Coverage {
    /// Per approval index: voided by a later change, and the expiry it covers.
    approvals: HashMap<usize, (bool, NaiveDate, String)>,
    /// The expiry the latest decision stated, if any decision stated one.
    stated: Option<NaiveDate>,
    expires: NaiveDate,
}

impl Coverage {
    fn of(
        e: &Exception,
        policy: &Policy,
        standing: &[(usize, &Approval)],
        reviews: &[(usize, &super::record::Review)],
        revoked_reviews: &[usize],
    ) -> Coverage {
        let stands = |entry: Entry| match entry {
            Entry::Approval(i) => {
                standing.iter().any(|(j, _)| *j == i)
                    || e.approvals.get(i).is_some_and(|a| a.decision == Decision::Rejected)
            }
            Entry::Review(i) => reviews.iter().any(|(j, _)| *j == i),
            Entry::Closure | Entry::Request => false,
        };
        let mut approvals: HashMap<usize, (bool, NaiveDate, String)> = HashMap::new();
        let mut stated = None;
        for entry in statement::chain(e) {
            if let Entry::Review(i) = entry
                && revoked_reviews.contains(&i)
            {
                let v = &e.reviews[i];
                if let (ReviewDecision::Extend, Some(new)) = (v.decision, v.expires) {
                    stated = Some(new);
                }
                continue;
            }
            if !stands(entry) {
                continue;
            }
            match entry {
                Entry::Approval(i) => {
                    let a = &e.approvals[i];
                    for (void, _, digest) in approvals.values_mut() {
                        *void |= *digest != a.digest;
                    }
                    // A later decision at another expiry than an approval covers
                    // saw other content: the earlier one never covers again.
                    for (void, covered, _) in approvals.values_mut() {
                        *void |= *covered != a.expires;
                    }
                    stated = Some(a.expires);
                    if a.decision == Decision::Approved {
                        approvals.insert(i, (false, a.expires, a.digest.clone()));
                    }
                }
                Entry::Review(i) => {
                    let v = &e.reviews[i];
                    for (j, (void, covered, digest)) in approvals.iter_mut() {
                        if *digest != v.digest {
                            *void = true;
                            continue;
                        }
                        // An extension moves the date its maker's role covers;
                        // a review that keeps the date confirms the date in force.
                        let to = match (v.decision, v.expires) {
                            (ReviewDecision::Extend, Some(new)) => Some(new),
                            (ReviewDecision::Keep, _) => stated,
                            _ => None,
                        };
                        if let Some(to) = to
                            && extends_for(&v.by, &e.approvals[*j], e, policy)
                        {
                            *covered = to;
                        }
                    }
                    if let (ReviewDecision::Extend, Some(new)) = (v.decision, v.expires) {
                        stated = Some(new);
                    }
                }
                Entry::Closure | Entry::Request => {}
            }
        }
        Coverage { approvals, stated, expires: e.expires }
    }

    /// Whether approval `i` covers the content as it is now but an earlier
    /// date: an extension by another role moved it, and its role has yet to
    /// approve the new one.
    fn awaits_new_date(&self, i: usize, current: &str) -> bool {
        self.approvals.get(&i).is_some_and(|(void, covered, digest)| {
            !void && digest == current && *covered != self.expires && self.stated == Some(self.expires)
        })
    }

    /// Whether approval `i` covers the record as it is now (digest `current`).
    fn covers(&self, i: usize, current: &str) -> bool {
        self.approvals.get(&i).is_some_and(|(void, covered, digest)| {
            !void && digest == current && *covered == self.expires && self.stated == Some(self.expires)
        })
    }
}

/// Who the policy lists the request's signing key for, when that is not
/// its requester (a request filed in someone else's name).
fn someone_elses_request(e: &Exception, policy: &Policy) -> Option<String> {
    let key = signature::signing_key(e.signature.as_deref()?).ok()?;
    let holder = policy.trust.keyring.holder_of(&key)?;
    (!policy.same_person(holder, &e.requester)).then(|| holder.to_string())
}

/// Whether the same person made the same decision again later, with a key
/// that counts (after their old key was revoked or retired).
fn made_again(e: &Exception, entry: Entry, signed: &BTreeMap<Entry, Verdict>) -> bool {
    let Entry::Approval(i) = entry else { return false };
    let Some(old) = e.approvals.get(i) else { return false };
    e.approvals.iter().enumerate().skip(i + 1).any(|(j, a)| {
        a.role == old.role
            && a.decision == old.decision
            && super::identity::same_person(&a.by, &old.by)
            && signed.get(&Entry::Approval(j)) == Some(&Verdict::Valid)
    })
}

/// Whether an extension by `who` carries approval `a` to the new expiry:
/// only the roles that approved can approve a longer life. The risk owner's
/// extension extends the risk owner's approval, security's security's; an
/// automatic approval is extended by anyone who may review.
fn extends_for(who: &str, a: &Approval, e: &Exception, policy: &Policy) -> bool {
    if a.by == POLICY_APPROVER || a.role == POLICY_APPROVER {
        return true;
    }
    policy.holds_role(who, &a.role, e)
}

/// The approvals that stand, whatever content they cover: signed (where
/// required), by someone who holds the role and is not the requester, at
/// or above the type's floor, one role per person; `policy` approvals only
/// where the type is routed to automatic approval.
fn standing_approvals<'e>(
    e: &'e Exception,
    policy: &Policy,
    signs: &dyn Fn(Entry) -> bool,
    request_key: Option<&Vec<u8>>,
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
                let why = if policy.base_tier(&e.kind) < policy.base_tier_for(e) {
                    format!(
                        "`{}` is approved automatically, but this record covers findings (scanner suppressions), which need a person's approval ({base} risk) unless `types.{}.auto_approve_findings` is true",
                        e.kind, e.kind
                    )
                } else {
                    format!(
                        "only types the policy routes to automatic approval are approved by `policy`; `{}` is {base} risk",
                        e.kind
                    )
                };
                add(Code::UnauthorizedApprover, at, why);
            } else {
                standing.push((i, a));
            }
            continue;
        }
        if policy.same_person(&a.by, &e.requester) {
            add(Code::SelfApproval, at, format!("{} approved their own request as `{}`", a.by, a.role));
            continue;
        }
        if let (Some(rk), Some(sig)) = (request_key, a.signature.as_deref())
            && signature::key_blob(sig).is_some_and(|k| k == *rk)
        {
            add(
                Code::SelfApproval,
                at,
                format!(
                    "{} approved as `{}` with the key that signed the request: one person cannot do both",
                    a.by, a.role
                ),
            );
            continue;
        }
        if !policy.holds_role(&a.by, &a.role, e) {
            if a.role == RISK_OWNER {
                add(Code::UnauthorizedApprover, at, format!("{} is not the record's risk owner", a.by));
            } else if !e.status.is_closed() && signs(Entry::Approval(i)) {
                // Taken out of the role since (as a key is revoked): the
                // approval stops counting. A new one is judged strictly where
                // it is made (`exc check --base`, the audit).
                add(
                    Code::RoleRemoved,
                    at,
                    format!(
                        "{} no longer holds role `{}` in the policy: the approval no longer counts, and `{}` must approve again",
                        a.by, a.role, a.role
                    ),
                );
            }
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
/// A record that covers findings is never approved automatically unless its
/// type allows it (`Policy::base_tier_for`).
pub fn base_tier(e: &Exception, policy: &Policy) -> Risk {
    policy.base_tier_for(e).max(e.proposed_risk.unwrap_or(Risk::Low))
}

/// When the routing completed: for each version of the request (its digest
/// and the expiry the approvals saw), the moment its last required approval
/// came in, in time order. The first is the record's approval; later ones are
/// re-approvals after an edit. Signatures as in `signed`.
pub fn completions(e: &Exception, policy: &Policy, signed: &BTreeMap<Entry, Verdict>) -> Vec<Completion> {
    let signs = |entry: Entry| signed.get(&entry).is_none_or(|v| *v == Verdict::Valid);
    let mut ignore = |_: Code, _: String, _: String| {};
    let request_key = e.signature.as_deref().and_then(signature::key_blob);
    let mut standing = standing_approvals(e, policy, &signs, request_key.as_ref(), &mut ignore);
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
        &statement::request_statement(e, policy.trust.registry.as_deref()),
        e.signature.as_deref(),
    )
}

/// Whether requests must be signed: where decisions are signed and the
/// policy lists keys (a registry with no keys yet verifies nothing at all),
/// or where the policy asks for it outright.
pub fn requests_signed(policy: &Policy) -> bool {
    policy.signatures_required() && (policy.trust.signed_requests || !policy.trust.keyring.is_empty())
}

/// The request's signature verdict, where requests must be signed or it
/// carries one; none where it need not and does not.
pub fn request_verdict(e: &Exception, policy: &Policy) -> Option<Verdict> {
    if !policy.signatures_required() || !(requests_signed(policy) || e.signature.is_some()) {
        return None;
    }
    Some(request_signed(e, policy))
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
