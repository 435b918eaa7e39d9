//! A change to the policy, and whether its owners approved it: the statement
//! an owner signs (naming the registry, the new policy's digest and version,
//! and the one it replaces), the time bounds git sets on it, and the
//! judgement of a change by the policy in force. This module does no I/O.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::policy::{Policy, PolicyApproval};
use super::time::SKEW;

/// The statement an owner signs to approve a policy: the registry it
/// governs, the policy's digest and version, and the digest of the one it
/// replaces. The registry and the version that only grows make an approval
/// count once, in one registry: never for a sibling registry, and never again
/// after a later change (a replay of an old approval names an old version).
pub fn policy_statement(a: &PolicyApproval, registry: Option<&str>) -> Vec<u8> {
    #[derive(Serialize)]
    struct PolicyStatement<'a> {
        exc: &'static str,
        registry: Option<&'a str>,
        action: &'static str,
        by: &'a str,
        role: &'a str,
        at: DateTime<Utc>,
        policy: &'a str,
        version: u64,
        previous: Option<&'a str>,
    }
    let mut v = serde_json::to_vec(&PolicyStatement {
        exc: "policy/2",
        registry,
        action: "approve-policy",
        by: &a.by,
        role: &a.role,
        at: a.at,
        policy: &a.policy,
        version: a.version,
        previous: a.previous.as_deref(),
    })
    .unwrap_or_default();
    v.push(b'\n');
    v
}

/// What git (or the clock) can tell about when a policy approval was made:
/// not before the policy it replaces came into force, not after the commit
/// that carries it; and the time it reached the history, at which the
/// signing key must still have been valid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bounds {
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    /// When the approval reached the history (the commit that landed it on
    /// the mainline), or now for one not yet committed.
    pub landed: Option<DateTime<Utc>>,
}

/// How a change from one policy to the next stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyChange {
    /// The owner roles of the previous policy that have not approved the next.
    pub missing: Vec<String>,
    /// Why approvals that were given do not count, or why none can.
    pub problems: Vec<String>,
    /// The previous policy names no owner who could approve anything (a
    /// blank first policy): the next one is trusted on first use in its place.
    pub bootstrap: bool,
}

impl PolicyChange {
    pub fn approved(&self) -> bool {
        self.missing.is_empty()
    }
}

impl Policy {
    /// The owner roles of this policy that have not yet approved `next`,
    /// with no bounds on time but the previous approvals (see [`Policy::judge_change`]).
    pub fn owners_missing(&self, next: &Policy) -> Vec<String> {
        self.judge_change(next, &Bounds::default()).missing
    }

    /// Whether the owners of this policy approved `next`: a change takes
    /// effect only when no owner role is missing. Each owner role needs an
    /// approval of exactly `next` (its digest and version) replacing exactly
    /// this policy, in this registry, by a holder of the role (one person per
    /// role), signed where this policy requires signatures by a key valid when
    /// it was made and when it reached the history, and dated after this
    /// policy's own approvals and within `bounds`. The version must grow, and
    /// the registry's identity never changes once set. A policy whose owner
    /// roles nobody holds (or, with signatures required, nobody with a key)
    /// can approve nothing: its successor is trusted on first use instead.
    pub fn judge_change(&self, next: &Policy, bounds: &Bounds) -> PolicyChange {
        let (mine, theirs) = (self.digest(), next.digest());
        let mut change = PolicyChange::default();
        if mine == theirs {
            return change;
        }
        let all = || self.trust.owners.clone();
        let at = bounds.landed.or(bounds.not_after);
        if !self.can_approve_anything(at) {
            // Only a registry that lists no key at all is still bootstrapping;
            // once keys are in use, an empty or expired owner seat locks the
            // policy rather than opening it to anyone.
            if self.trust.keyring.is_empty() {
                change.bootstrap = true;
                return change;
            }
            change.problems.push(format!(
                "no holder of an owner role ({}) of the policy in force has a key valid now, so nobody can approve a change to it; name an owner and list their key in a policy the current owners approve, or start over from a new trust root pinned outside the repository",
                self.trust.owners.join(", ")
            ));
            change.missing = all();
            return change;
        }
        if let Some(id) = &self.trust.registry
            && next.trust.registry.as_ref() != Some(id)
        {
            change.problems.push(format!(
                "it changes the registry's identity (trust.registry `{id}`), which is fixed once set; no approval makes that count"
            ));
            change.missing = all();
            return change;
        }
        if next.version <= self.version {
            change.problems.push(format!(
                "its version ({}) does not grow past the version in force ({}); `exc policy approve` raises it",
                next.version, self.version
            ));
            change.missing = all();
            return change;
        }
        // Not before this policy's own approvals: it existed only once they were made.
        let floor = self.approvals.iter().map(|a| a.at).max().into_iter().chain(bounds.not_before).max();
        let registry = self.trust.registry.as_deref();
        let mut done: Vec<(&str, &str)> = Vec::new();
        for a in &next.approvals {
            if a.policy != theirs || a.version != next.version || a.previous.as_deref() != Some(mine.as_str()) {
                change.problems.push(format!(
                    "the approval by {} of {} covers another policy (version {}) or replaces another one",
                    a.by,
                    a.at.date_naive(),
                    a.version
                ));
                continue;
            }
            if !self.trust.owners.contains(&a.role) || !self.holds(&a.by, &a.role) {
                change
                    .problems
                    .push(format!("{} does not hold `{}`, an owner role of the policy in force", a.by, a.role));
                continue;
            }
            if done.iter().any(|(role, by)| *role != a.role && self.same_person(by, &a.by)) {
                change.problems.push(format!("{} already approved in another owner role", a.by));
                continue;
            }
            if let Some(f) = floor.filter(|f| a.at + SKEW < *f) {
                change.problems.push(format!(
                    "the approval by {} is dated {}, before the policy it replaces was in force ({f})",
                    a.by, a.at
                ));
                continue;
            }
            if let Some(t) = bounds.not_after.filter(|t| a.at > *t + SKEW) {
                change.problems.push(format!(
                    "the approval by {} is dated {}, after the commit that carries it ({t})",
                    a.by, a.at
                ));
                continue;
            }
            if self.signatures_required() {
                let verdict = super::signature::verify_landed(
                    &self.trust.keyring,
                    &a.by,
                    a.at,
                    bounds.landed,
                    &policy_statement(a, registry),
                    a.signature.as_deref(),
                );
                if verdict != super::signature::Verdict::Valid {
                    change.problems.push(format!("the approval by {}: {}", a.by, verdict.describe(&a.by)));
                    continue;
                }
            }
            done.push((&a.role, &a.by));
        }
        change.missing =
            self.trust.owners.iter().filter(|r| !done.iter().any(|(role, _)| role == *r)).cloned().collect();
        change
    }

    /// Whether some owner role has a holder who could approve a change: one
    /// who holds the role and, where signatures are required, has a key
    /// (valid at `at`, when given).
    pub fn can_approve_anything(&self, at: Option<DateTime<Utc>>) -> bool {
        self.trust.owners.iter().any(|role| {
            self.roles.get(role).is_some_and(|people| {
                people.iter().any(|p| {
                    !self.signatures_required()
                        || self.trust.keyring.keys_of(p).iter().any(|k| at.is_none_or(|t| k.valid_at(t)))
                })
            })
        })
    }

    /// When every key of every owner of this policy stops being valid (each
    /// has a `valid-before`), the last of those instants: after it, no change
    /// to the policy can be approved. `None` when some owner key never expires
    /// or no owner has a key.
    pub fn owners_lock_at(&self) -> Option<DateTime<Utc>> {
        let keys: Vec<&super::signature::TrustedKey> = self
            .trust
            .owners
            .iter()
            .filter_map(|r| self.roles.get(r))
            .flatten()
            .flat_map(|p| self.trust.keyring.keys_of(p))
            .collect();
        if keys.is_empty() {
            return None;
        }
        keys.iter().map(|k| k.valid_before).collect::<Option<Vec<_>>>()?.into_iter().max()
    }
}
