//! Filing a request: from the form's answers to a record, with what the tool
//! owns filled in (id, status, requester, created, default controls and
//! expiry), and a low-risk request approved on submit by the policy itself.
//!
//! Pure: the caller supplies the time, the requester, randomness for the id
//! and the ids already taken.

use chrono::{DateTime, NaiveDate, Utc};

use super::digest;
use super::policy::{Policy, RequiredField};
use super::record::{Approval, Decision, Exception, Risk, Status, Urgency};
use super::routing::{self, POLICY_APPROVER};
use super::time;

/// The form's answers: what the requester writes.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub kind: String,
    pub title: String,
    pub justification: String,
    pub risk_owner: String,
    pub compensating_controls: Vec<String>,
    /// Default: the longest the type allows.
    pub expires: Option<NaiveDate>,
    pub assets: Vec<String>,
    /// Default: the type's usual controls.
    pub controls: Vec<String>,
    pub findings: Vec<super::record::Covered>,
    pub attachments: Vec<String>,
    pub migration_plan: Option<String>,
    pub tickets: Vec<String>,
    pub notes: Option<String>,
    pub urgency: Urgency,
    /// A higher tier than the type's default, proposed by the requester.
    pub risk: Option<Risk>,
}

impl Draft {
    /// Whether the draft fills in a field the policy can require.
    pub fn has(&self, f: RequiredField) -> bool {
        match f {
            RequiredField::CompensatingControls => !self.compensating_controls.is_empty(),
            RequiredField::Controls => true,
            RequiredField::Findings => !self.findings.is_empty(),
            RequiredField::Attachments => !self.attachments.is_empty(),
            RequiredField::MigrationPlan => self.migration_plan.as_deref().is_some_and(|s| !s.trim().is_empty()),
            RequiredField::Tickets => !self.tickets.is_empty(),
        }
    }
}

/// The longest `expires` a type allows for a request made on `created`.
pub fn max_expiry(policy: &Policy, kind: &str, created: NaiveDate) -> Result<NaiveDate, String> {
    let rule = policy.types.get(kind).ok_or_else(|| unknown_type(policy, kind))?;
    Ok(time::add_days(created, rule.max_days.into()))
}

/// Whether a request of `kind` made on `created` may expire on `expires`, and
/// if not, why: after the day it is made, and within the type's maximum.
pub fn check_expiry(policy: &Policy, kind: &str, created: NaiveDate, expires: NaiveDate) -> Result<(), String> {
    let max = max_expiry(policy, kind, created)?;
    if expires > max {
        Err(format!("type `{kind}` allows at most {} days: until {max}", (max - created).num_days()))
    } else if expires <= created {
        Err(format!("the expiry must be after today ({created})"))
    } else {
        Ok(())
    }
}

/// The tier a requester proposes for a request of `kind`, as the record
/// keeps it: at least the type's default (else refused, saying why), and
/// nothing when it is the default (the record then reads as before).
pub fn propose(policy: &Policy, kind: &str, risk: Option<Risk>) -> Result<Option<Risk>, String> {
    let Some(risk) = risk else { return Ok(None) };
    let base = policy.base_tier(kind);
    if risk < base {
        return Err(format!(
            "type `{kind}` is {base} risk; a requester may propose a higher tier, never a lower one (the approvers may assess it lower)"
        ));
    }
    Ok((risk > base).then_some(risk))
}

/// "unknown type `x`; did you mean `y`? The types are …".
pub fn unknown_type(policy: &Policy, kind: &str) -> String {
    let types = policy.types.keys().cloned().collect::<Vec<_>>().join(", ");
    match super::suggest::nearest(kind, policy.types.keys().map(String::as_str)) {
        Some(near) => format!("unknown type `{kind}`; did you mean `{near}`? The types are {types}"),
        None => format!("unknown type `{kind}`; the types are {types}"),
    }
}

/// Builds the record for a draft, filed by `requester` at `created` under `id`.
pub fn build(
    policy: &Policy,
    draft: Draft,
    id: String,
    requester: String,
    created: DateTime<Utc>,
) -> Result<Exception, String> {
    let max = max_expiry(policy, &draft.kind, created.date_naive())?;
    let proposed_risk = propose(policy, &draft.kind, draft.risk)?;
    let controls = if draft.controls.is_empty() {
        policy.types.get(&draft.kind).map(|t| t.controls.clone()).unwrap_or_default()
    } else {
        draft.controls
    };
    let e = Exception {
        id,
        title: draft.title,
        kind: draft.kind,
        status: Status::Requested,
        requester,
        risk_owner: draft.risk_owner,
        created,
        urgency: draft.urgency,
        proposed_risk,
        expires: draft.expires.unwrap_or(max),
        justification: draft.justification,
        assets: draft.assets,
        compensating_controls: draft.compensating_controls,
        controls,
        findings: draft.findings,
        attachments: draft.attachments,
        migration_plan: draft.migration_plan,
        tickets: draft.tickets,
        notes: draft.notes,
        signature: None,
        approvals: Vec::new(),
        reviews: Vec::new(),
        closed: None,
    };
    Ok(route(policy, e))
}

/// Sets the request's routing from scratch: a request of a type the policy
/// routes to automatic approval (low risk, no approvers) is approved by
/// `policy` on submit; anything else waits.
pub fn route(policy: &Policy, mut e: Exception) -> Exception {
    e.approvals.clear();
    e.status = Status::Requested;
    if routing::base_tier(&e, policy) == Risk::Low && policy.required_roles(Risk::Low).is_empty() {
        e.status = Status::Approved;
        let digest = digest::digest(&e);
        e.approvals.push(Approval {
            by: POLICY_APPROVER.into(),
            role: POLICY_APPROVER.into(),
            at: e.created,
            decision: Decision::Approved,
            risk: Risk::Low,
            digest,
            expires: e.expires,
            note: Some("low risk: approved on submit by policy".into()),
            signature: None,
        });
    }
    e
}

/// Crockford base32 without I, L, O, U: easy to say and to type.
const ID_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A random id such as `EXC-7K3Q` from four random bytes: about a million
/// choices, so two branches filing at once almost never collide (and
/// `validate` names both files if they do). `None` when taken.
pub fn id_from(random: [u8; 4], taken: &dyn Fn(&str) -> bool) -> Option<String> {
    let code: String = random.iter().map(|b| ID_ALPHABET[(*b as usize) % 32] as char).collect();
    let id = format!("EXC-{code}");
    (!taken(&id)).then_some(id)
}

/// One role that must approve a new request, and who holds it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Needed {
    pub role: String,
    pub people: Vec<String>,
}

/// Who must still approve `e`.
pub fn needed(policy: &Policy, e: &Exception) -> Vec<Needed> {
    routing::missing_roles(e, policy)
        .into_iter()
        .map(|role| Needed { people: routing::people(&role, e, policy), role })
        .collect()
}

/// The fields the tier needs before approval that `e` lacks.
pub fn missing_fields(policy: &Policy, e: &Exception) -> Vec<&'static str> {
    policy
        .required_fields(&e.kind, routing::tier(e, policy))
        .into_iter()
        .filter(|f| !f.is_present(e))
        .map(|f| f.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(kind: &str) -> Draft {
        Draft {
            kind: kind.into(),
            title: "t".into(),
            justification: "j".into(),
            risk_owner: "Dana <dana@example.com>".into(),
            assets: vec!["a".into()],
            ..Draft::default()
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// The type's last day is a valid expiry; the day after, and the day it is made, are not.
    #[test]
    fn expiry_boundaries() {
        let p = Policy::default();
        let created: NaiveDate = "2026-01-01".parse().unwrap();
        let max = max_expiry(&p, "vendor-access", created).unwrap();
        assert_eq!(check_expiry(&p, "vendor-access", created, max), Ok(()));
        let why = check_expiry(&p, "vendor-access", created, max.succ_opt().unwrap()).unwrap_err();
        assert_eq!(why, "type `vendor-access` allows at most 30 days: until 2026-01-31");
        assert!(check_expiry(&p, "vendor-access", created, created).unwrap_err().contains("after today"));
        assert!(check_expiry(&p, "nope", created, max).unwrap_err().contains("unknown type"));
    }

    #[test]
    fn defaults_come_from_the_type() {
        let p = Policy::default();
        let e = build(
            &p,
            draft("vendor-access"),
            "EXC-1".into(),
            "Ann <ann@example.com>".into(),
            at("2026-01-01T10:00:00Z"),
        )
        .unwrap();
        assert_eq!(e.expires.to_string(), "2026-01-31");
        assert_eq!(e.controls, ["NIST-800-53:AC-2", "CIS:5.3"]);
        assert_eq!(e.status, Status::Requested);
        assert!(e.approvals.is_empty());
    }

    #[test]
    fn low_risk_is_approved_by_policy_on_submit() {
        let mut p = Policy::default();
        p.types.get_mut("other").unwrap().default_risk = Risk::Low;
        let e = build(&p, draft("other"), "EXC-1".into(), "Ann <ann@example.com>".into(), at("2026-01-01T10:00:00Z"))
            .unwrap();
        assert_eq!(e.status, Status::Approved);
        assert_eq!(e.approvals[0].by, POLICY_APPROVER);
        assert_eq!(e.approvals[0].digest, digest::digest(&e));
    }

    /// A requester may propose a higher tier than the type's, never a lower
    /// one; routing starts there, the digest covers it, and a record without
    /// one has the digest it always had.
    #[test]
    fn a_proposed_risk_raises_the_tier_routing_starts_at() {
        let p = crate::model::testkit::policy();
        let file = |risk: Option<Risk>| {
            let mut d = draft("other");
            d.risk = risk;
            build(&p, d, "EXC-1".into(), "Ann <ann@example.com>".into(), at("2026-01-01T10:00:00Z"))
        };
        let plain = file(None).unwrap();
        assert_eq!(file(Some(Risk::Medium)).unwrap(), plain, "the type's own tier is no proposal");
        assert!(file(Some(Risk::Low)).unwrap_err().contains("never a lower one"));
        let high = file(Some(Risk::High)).unwrap();
        assert_eq!(high.proposed_risk, Some(Risk::High));
        assert_eq!(routing::tier(&high, &p), Risk::High);
        assert_eq!(routing::missing_roles(&high, &p), ["security", "risk_owner"]);
        assert_eq!(missing_fields(&p, &high), ["attachments"], "what high risk requires");
        assert_ne!(digest::digest(&high), digest::digest(&plain), "the digest covers it");
        let mut unproposed = high.clone();
        unproposed.proposed_risk = None;
        assert_eq!(digest::digest(&unproposed), digest::digest(&plain));
        // A low-risk type proposed at medium is not approved on submit.
        let mut lowp = p.clone();
        lowp.types.get_mut("other").unwrap().default_risk = Risk::Low;
        let mut d = draft("other");
        d.risk = Some(Risk::Medium);
        let e = build(&lowp, d, "EXC-1".into(), "Ann <ann@example.com>".into(), at("2026-01-01T10:00:00Z")).unwrap();
        assert_eq!((e.status, e.approvals.len()), (Status::Requested, 0));
    }

    /// The approvers decide: from the proposed tier they may lower it as they
    /// may lower a type's default (every role of the proposed tier agreeing).
    #[test]
    fn approvers_may_lower_a_proposed_risk_only_together() {
        use crate::model::lifecycle::{Act, Action, apply};
        use crate::model::testkit::{DANA, SAM, policy};
        let p = policy();
        let mut d = draft("other");
        d.risk = Some(Risk::High);
        d.attachments = vec!["https://wiki.example.com/e".into()];
        let e = build(&p, d, "EXC-1".into(), "Ann <ann@example.com>".into(), at("2026-01-01T10:00:00Z")).unwrap();
        let approve = |e: &Exception, who: &str, risk: Option<Risk>| {
            apply(
                e,
                &p,
                &Act { actor: who, at: at("2026-01-02T00:00:00Z") },
                Action::Approve { role: None, risk, note: None },
            )
            .unwrap()
            .after
        };
        let one = approve(&e, SAM, Some(Risk::Medium));
        assert_eq!(
            (one.status, routing::tier(&one, &p)),
            (Status::Requested, Risk::High),
            "security alone cannot lower it"
        );
        let both = approve(&one, DANA, Some(Risk::Medium));
        assert_eq!((both.status, routing::tier(&both, &p)), (Status::Approved, Risk::Medium));
    }

    #[test]
    fn unknown_types_and_taken_ids_are_refused() {
        let p = Policy::default();
        let err = build(&p, draft("nope"), "EXC-1".into(), "A <a@x.com>".into(), at("2026-01-01T00:00:00Z"));
        assert!(err.unwrap_err().starts_with("unknown type `nope`; the types are"));
        let near = build(&p, draft("mfa-bypas"), "EXC-1".into(), "A <a@x.com>".into(), at("2026-01-01T00:00:00Z"));
        assert!(near.unwrap_err().starts_with("unknown type `mfa-bypas`; did you mean `mfa-bypass`?"));
        let short = build(&p, draft("vendor"), "EXC-1".into(), "A <a@x.com>".into(), at("2026-01-01T00:00:00Z"));
        assert!(short.unwrap_err().contains("did you mean `vendor-access`?"));
        assert_eq!(id_from([0, 1, 31, 32], &|_| false).as_deref(), Some("EXC-01Z0"));
        assert_eq!(id_from([0, 1, 31, 32], &|id| id == "EXC-01Z0"), None);
    }
}
