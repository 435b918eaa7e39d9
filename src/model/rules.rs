//! The semantic rules a record must follow beyond its JSON Schema: dates, policy
//! caps, fields required by type or tier, ids, status consistency and approvals.
//!
//! Pure functions from records and policy to findings.

use std::collections::HashMap;

use super::digest;
use super::finding::{Code, Finding};
use super::identity::same_person;
use super::policy::{Policy, RISK_OWNER};
use super::record::{Decision, Record, ReviewDecision, Status};
use super::routing::{self, POLICY_APPROVER, role_covered};
use super::suggest;

/// Every rule that looks at one record alone.
pub fn check_record(r: &Record, policy: &Policy) -> Vec<Finding> {
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

    let created = e.created_date();
    if e.expires <= created {
        add(Code::ExpiryBeforeCreation, "/expires", format!("expires {} is not after created {}", e.expires, created));
    } else if let Some(t) = type_rule {
        // A recertification restarts the clock: the cap counts from the latest extension.
        let start = e
            .reviews
            .iter()
            .filter(|v| v.decision == ReviewDecision::Extend)
            .map(|v| v.at.date_naive())
            .max()
            .unwrap_or(created)
            .max(created);
        let days = (e.expires - start).num_days();
        if days > i64::from(t.max_days) {
            let latest = super::time::add_days(start, t.max_days.into());
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

    let risk = policy.effective_risk(e);
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
    if e.status == Status::Approved && e.risk.is_none() {
        add(Code::StatusInconsistent, "/status", "approved records carry the assessed `risk`".into());
    }

    for (i, a) in e.attachments.iter().enumerate() {
        let is_url = a.starts_with("https://") || a.starts_with("http://");
        if !is_url && !is_contained(a) {
            add(
                Code::AttachmentOutsideRepo,
                &format!("/attachments/{i}"),
                format!("attachment `{a}` points outside the repository; use a repository-relative path or a URL"),
            );
        }
    }

    let current = digest::digest(e);
    let mut stale = Vec::new();
    for (i, a) in e.approvals.iter().enumerate() {
        let at = format!("/approvals/{i}");
        if a.by == POLICY_APPROVER {
            if risk != super::record::Risk::Low {
                add(
                    Code::UnauthorizedApprover,
                    &at,
                    format!("only low-risk records are approved by `policy`; this one is {risk}"),
                );
            }
        } else {
            if same_person(&a.by, &e.requester) {
                add(Code::SelfApproval, &at, format!("{} approved their own request as `{}`", a.by, a.role));
            }
            if !policy.holds_role(&a.by, &a.role, e) {
                let what = if a.role == RISK_OWNER {
                    "is not the record's risk owner".to_string()
                } else {
                    format!("does not hold role `{}` in the policy", a.role)
                };
                add(Code::UnauthorizedApprover, &at, format!("{} {what}", a.by));
            }
        }
        if a.decision == Decision::Approved && e.status != Status::Rejected && !role_covered(e, &a.role, &current) {
            stale.push((i, a));
        }
    }
    for (i, v) in e.reviews.iter().enumerate() {
        let at = format!("/reviews/{i}");
        if same_person(&v.by, &e.requester) {
            add(Code::SelfApproval, &at, format!("{} recertified their own request", v.by));
        } else if !routing::can_review(&v.by, e, policy) {
            add(
                Code::UnauthorizedApprover,
                &at,
                format!("{} is neither the risk owner nor a `security` role holder", v.by),
            );
        }
    }
    if let Some((i, _)) = stale.first() {
        let who: Vec<String> =
            stale.iter().map(|(_, a)| format!("`{}` by {} on {}", a.role, a.by, a.at.date_naive())).collect();
        add(
            Code::ChangedAfterApproval,
            &format!("/approvals/{i}/digest"),
            format!(
                "request fields changed after approval ({}); it must be approved again (`exc history {}` shows what changed)",
                who.join(", "),
                e.id
            ),
        );
    }

    if e.status == Status::Approved {
        let missing = routing::missing_roles_for(e, policy, &current);
        if !missing.is_empty() {
            add(
                Code::ApprovalsMissing,
                "/status",
                format!("status is approved, but {risk} risk still needs approval by: {}", missing.join(", ")),
            );
        }
    }
    out
}

/// Whether a repository-relative path stays inside the repository.
pub fn is_contained(rel: &str) -> bool {
    let p = std::path::Path::new(rel);
    !rel.contains('\\')
        && !p.is_absolute()
        && p.components().all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
}

/// Rules across records: the same id in two files.
pub fn check_registry(records: &[Record]) -> Vec<Finding> {
    let mut by_id: HashMap<String, Vec<&Record>> = HashMap::new();
    for r in records {
        by_id.entry(r.exception.id.to_ascii_uppercase()).or_default().push(r);
    }
    let mut out = Vec::new();
    for group in by_id.values().filter(|g| g.len() > 1) {
        for r in group {
            let others: Vec<&str> = group.iter().filter(|o| o.path != r.path).map(|o| o.path.as_str()).collect();
            out.push(
                Finding::new(
                    Code::DuplicateId,
                    &r.path,
                    "/id",
                    format!("id `{}` is also used by {}; give one of them a new id", r.exception.id, others.join(", ")),
                )
                .with_id(&r.exception.id),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment() {
        assert!(is_contained("evidence/scan.pdf"));
        assert!(!is_contained("../../etc/shadow"));
        assert!(!is_contained("/etc/shadow"));
        assert!(!is_contained("..\\..\\windows"));
    }
}
