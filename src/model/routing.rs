//! Routing: who must approve a record, and which of those approvals still
//! stand. The one place that says when a record counts as approved.
//!
//! A role's approval stands when it covers exactly the record's current
//! request fields: its own digest matches, or it approved earlier and the
//! latest extension (a recertification, which re-approves the content)
//! carries the current digest.

use super::digest;
use super::identity::same_person;
use super::policy::{Policy, RISK_OWNER};
use super::record::{Approval, Decision, Exception, ReviewDecision};

/// The `by` (and role) of an approval the policy granted itself (low risk).
pub const POLICY_APPROVER: &str = "policy";

/// The role that recertifies besides the risk owner, and approves medium risk.
pub const SECURITY: &str = "security";

/// The roles the record's tier requires that have no standing approval yet.
pub fn missing_roles(e: &Exception, policy: &Policy) -> Vec<String> {
    missing_roles_for(e, policy, &digest::digest(e))
}

/// [`missing_roles`] when the current digest is already known.
pub fn missing_roles_for(e: &Exception, policy: &Policy, current: &str) -> Vec<String> {
    policy.required_roles(policy.effective_risk(e)).iter().filter(|r| !role_covered(e, r, current)).cloned().collect()
}

/// Whether `role` approved exactly the current content.
pub fn role_covered(e: &Exception, role: &str, current: &str) -> bool {
    let approved = |a: &&Approval| a.role == role && a.decision == Decision::Approved;
    if e.approvals.iter().filter(approved).any(|a| a.digest == current) {
        return true;
    }
    let latest_extension = e.reviews.iter().rev().find(|v| v.decision == ReviewDecision::Extend);
    e.approvals.iter().any(|a| approved(&a)) && latest_extension.and_then(|v| v.digest.as_deref()) == Some(current)
}

/// Whether `actor` may recertify `e`: its risk owner, or a `security` role holder.
pub fn can_review(actor: &str, e: &Exception, policy: &Policy) -> bool {
    same_person(actor, &e.risk_owner) || policy.holds_role(actor, SECURITY, e)
}

/// Whether `actor` may revoke `e`: security, the CISO or the risk owner.
pub fn can_revoke(actor: &str, e: &Exception, policy: &Policy) -> bool {
    policy.holds_role(actor, SECURITY, e) || policy.holds_role(actor, "ciso", e) || same_person(actor, &e.risk_owner)
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
