//! The semantic rules a record must follow beyond its JSON Schema: dates, policy
//! caps, fields required by type or tier, ids, status consistency, decision
//! times, and the decisions themselves (through `routing::standing`).
//!
//! Pure functions from records and policy to findings.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::finding::{Code, Finding};
use super::policy::{Policy, RISK_OWNER};
use super::record::{Exception, Record, Status};
use super::routing::{self, Standing};
use super::statement::{self, Entry};
use super::{lifecycle, review, suggest, time};

/// What the rules need besides the record and the policy.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// Nothing may be dated after this instant (the later of now and the
    /// evaluation date's end, plus a few minutes of clock skew).
    pub horizon: DateTime<Utc>,
}

/// Every rule that looks at one record alone, with where the record stands.
pub fn check_record(r: &Record, policy: &Policy, cx: Context) -> (Vec<Finding>, Standing) {
    check_record_with(r, policy, cx, routing::standing(&r.exception, policy))
}

/// [`check_record`] when the record's standing is already worked out.
pub fn check_record_with(r: &Record, policy: &Policy, cx: Context, standing: Standing) -> (Vec<Finding>, Standing) {
    let e = &r.exception;
    let mut out = Vec::new();
    let mut add = |code: Code, pointer: &str, msg: String| {
        out.push(Finding::new(code, &r.path, pointer, msg).with_id(&e.id));
    };

    if e.id != r.stem {
        add(Code::IdMismatch, "/id", format!("id `{}` differs from the file name `{}`; they must match", e.id, r.stem));
    }

    let type_rule = policy.types.get(&e.kind);
    if type_rule.is_none() {
        let hint = suggest::closest(&e.kind, policy.types.keys().map(String::as_str))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_else(|| {
                format!("; the types are {}", policy.types.keys().cloned().collect::<Vec<_>>().join(", "))
            });
        add(Code::UnknownType, "/type", format!("unknown type `{}`{hint}", e.kind));
    }
    if let Some(proposed) = e.proposed_risk.filter(|r| *r < policy.base_tier(&e.kind)) {
        add(
            Code::Schema,
            "/proposed_risk",
            format!(
                "proposed_risk {proposed} is below type `{}`'s {} risk; a requester may propose a higher tier only (remove it)",
                e.kind,
                policy.base_tier(&e.kind)
            ),
        );
    }

    let created = e.created_date();
    if e.expires <= created {
        add(Code::ExpiryBeforeCreation, "/expires", format!("expires {} is not after created {}", e.expires, created));
    } else if let Some(t) = type_rule {
        // A recertification restarts the clock: the cap counts from the latest extension.
        let start = review::lifetime_start(e);
        let days = (e.expires - start).num_days();
        if days > i64::from(t.max_days) {
            let latest = time::add_days(start, t.max_days.into());
            add(
                Code::ExpiryOverCap,
                "/expires",
                format!(
                    "expires {} is {days} days after {start}; type `{}` allows at most {} days (until {latest})",
                    e.expires, e.kind, t.max_days
                ),
            );
        }
    }

    let risk = standing.tier;
    let mut required = type_rule.map(|t| t.require.clone()).unwrap_or_default();
    if e.status == Status::Approved {
        required = policy.required_fields(&e.kind, risk);
    }
    for f in required {
        if !f.is_present(e) {
            let why = if type_rule.is_some_and(|t| t.require.contains(&f)) {
                format!("type `{}`", e.kind)
            } else {
                format!("{risk} risk")
            };
            add(Code::MissingRequiredField, "", format!("`{}` is required for {why}", f.as_str()));
        }
    }

    match (e.status.is_closed(), &e.closed) {
        (true, None) => add(
            Code::StatusInconsistent,
            "/status",
            format!("status `{}` needs a `closed` entry (at, by, reason)", e.status),
        ),
        (false, Some(_)) => add(
            Code::StatusInconsistent,
            "/closed",
            format!("status `{}` is open, but the record has a `closed` entry", e.status),
        ),
        _ => {}
    }

    for (i, f) in e.findings.iter().enumerate() {
        if let Some(why) = super::advisory::malformed(f.id()) {
            add(Code::MalformedFindingId, &format!("/findings/{i}"), why);
        }
    }

    // A deferral's suppression should say where it applies.
    if !e.status.is_closed() && policy.assets.targets_of(&e.assets).is_empty() {
        for (i, f) in e.findings.iter().enumerate().filter(|(_, f)| !f.is_scoped()) {
            add(
                Code::UnscopedFinding,
                &format!("/findings/{i}"),
                format!(
                    "{} has no scope (no package or path), and no asset of {} names its scan targets in exc.yaml: its suppression applies to every target scanned",
                    f.id(),
                    e.id
                ),
            );
        }
    }

    if let Some(why) = lifecycle::closure_problem(e, policy) {
        add(Code::UnauthorizedApprover, "/closed", format!("{} was {why}", e.id));
    }

    for (i, a) in e.attachments.iter().enumerate() {
        if !super::record::is_evidence(a) {
            add(
                Code::AttachmentOutsideRepo,
                &format!("/attachments/{i}"),
                format!("attachment `{a}` is not evidence: use a path inside the repository or an https URL"),
            );
        }
    }

    // A risk owner who is the requester could never approve as risk owner.
    if policy.required_roles(super::routing::base_tier(e, policy)).iter().any(|r| r == RISK_OWNER)
        && policy.same_person(&e.requester, &e.risk_owner)
    {
        add(
            Code::SelfApproval,
            "/risk_owner",
            format!("{} is both requester and risk owner; nobody else could approve as risk owner", e.risk_owner),
        );
    }

    times(e, cx, &mut add);

    for p in &standing.problems {
        add(p.code, &p.pointer, p.message.clone());
    }
    if e.status != Status::Rejected && !standing.stale.is_empty() && !standing.complete() {
        let who: Vec<String> = standing
            .stale
            .iter()
            .map(|i| &e.approvals[*i])
            .map(|a| format!("`{}` by {} on {}", a.role, a.by, a.at.date_naive()))
            .collect();
        add(
            Code::ChangedAfterApproval,
            &format!("/approvals/{}/digest", standing.stale[0]),
            format!(
                "request fields changed after approval ({}); it must be approved again (`exc history {}` shows what changed)",
                who.join(", "),
                e.id
            ),
        );
    }
    // Approvals that stopped counting because their key was revoked or
    // retired are warnings (each named above): the record is requested again.
    let revoked_roles: Vec<&str> = standing.revoked.iter().map(|i| e.approvals[*i].role.as_str()).collect();
    let only_revoked = standing.request_revoked
        || (!standing.revoked_reviews.is_empty() && standing.stale.is_empty())
        || standing.missing.iter().all(|r| revoked_roles.contains(&r.as_str()));
    if e.status == Status::Approved && !standing.complete() && !only_revoked {
        add(
            Code::ApprovalsMissing,
            "/status",
            format!(
                "status is approved, but {risk} risk still needs a standing approval by: {}",
                standing.missing.join(", ")
            ),
        );
    }
    (out, standing)
}

/// Decisions are dated after the request and not in the future; the request
/// is not dated in the future either.
fn times(e: &Exception, cx: Context, add: &mut impl FnMut(Code, &str, String)) {
    if e.created > cx.horizon {
        add(Code::DecisionTime, "/created", format!("created {} lies in the future", e.created));
    }
    let mut entries: Vec<Entry> = (0..e.approvals.len()).map(Entry::Approval).collect();
    entries.extend((0..e.reviews.len()).map(Entry::Review));
    if e.closed.is_some() {
        entries.push(Entry::Closure);
    }
    for entry in entries {
        let Some((by, at)) = statement::maker(e, entry) else { continue };
        let pointer = format!("{}/at", entry.pointer());
        if at < e.created {
            add(
                Code::DecisionTime,
                &pointer,
                format!("the decision by {by} is dated {at}, before the request ({})", e.created),
            );
        } else if at > cx.horizon {
            add(Code::DecisionTime, &pointer, format!("the decision by {by} is dated {at}, in the future"));
        }
    }
}

/// Rules about the policy itself that are worth a warning but stop nothing:
/// owner keys that all expire (as of `now`, whether they have or will).
pub fn check_policy(policy: &Policy, now: DateTime<Utc>, file: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(lock) = policy.owners_lock_at() {
        let when = lock.format("%Y-%m-%d %H:%M UTC");
        let message = if lock <= now {
            format!(
                "every key of the policy's owners ({}) expired by {when} (its valid-before): no change to the policy can be approved any more; start over from a new trust root pinned outside the repository",
                policy.trust.owners.join(", ")
            )
        } else {
            format!(
                "every key of the policy's owners ({}) has a valid-before, the last on {when}: list a next key for an owner before then, or no change to the policy can be approved",
                policy.trust.owners.join(", ")
            )
        };
        out.push(Finding::new(Code::OwnerKeysExpire, file, "/trust", message));
    }
    out
}

/// Whether `e` counts as approved: it says so and every required role stands.
pub fn counts_as_approved(e: &Exception, standing: &Standing) -> bool {
    e.status == Status::Approved && standing.complete()
}

/// Rules across records, given each record's path (as shown) and id: the
/// same id in two files.
pub fn check_registry(ids: &[(String, String)]) -> Vec<Finding> {
    let mut by_id: HashMap<String, Vec<(&str, &str)>> = HashMap::new();
    for (path, id) in ids {
        by_id.entry(id.to_ascii_uppercase()).or_default().push((path, id));
    }
    let mut out = Vec::new();
    for group in by_id.values().filter(|g| g.len() > 1) {
        for (path, id) in group {
            let others: Vec<&str> = group.iter().filter(|o| o.0 != *path).map(|o| o.0).collect();
            out.push(
                Finding::new(
                    Code::DuplicateId,
                    path,
                    "/id",
                    format!("id `{id}` is also used by {}; give one of them a new id", others.join(", ")),
                )
                .with_id(id),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn containment() {
        use super::super::record::is_contained;
        assert!(is_contained("evidence/scan.pdf"));
        assert!(!is_contained("../../etc/shadow"));
        assert!(!is_contained("/etc/shadow"));
        assert!(!is_contained("..\\..\\windows"));
    }
}
