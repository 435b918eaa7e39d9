//! Fixtures for the model's unit tests: a policy without signatures, records
//! at each stage, and times. Test-only.

use chrono::{DateTime, NaiveDate, Utc};

use super::lifecycle::{self, Act, Action};
use super::policy::{Policy, Signatures};
use super::record::{Exception, Risk};
use super::request::{self, Draft};

pub const ANN: &str = "Ann Lee <ann@example.com>";
pub const SAM: &str = "Sam Okafor <sam@example.com>";
pub const PRIYA: &str = "Priya Patel <priya@example.com>";
pub const CAROL: &str = "Carol Chen <carol@example.com>";
pub const DANA: &str = "Dana Ops <dana@example.com>";
pub const EVE: &str = "Eve <eve@example.com>";

/// The default policy with people in roles and signatures off.
pub fn policy() -> Policy {
    let mut p = Policy::default();
    p.roles.insert("security".into(), vec!["sam@example.com".into(), "priya@example.com".into()]);
    p.roles.insert("ciso".into(), vec!["carol@example.com".into()]);
    p.trust.signatures = Signatures::Off;
    p
}

pub fn at(s: &str) -> DateTime<Utc> {
    if s.len() == 10 { format!("{s}T00:00:00Z").parse().unwrap() } else { s.parse().unwrap() }
}

pub fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A request by Ann, risk owner Dana, filed on `created`.
pub fn requested(kind: &str, created: &str, expires: &str) -> Exception {
    let draft = Draft {
        kind: kind.into(),
        title: "t".into(),
        justification: "j".into(),
        risk_owner: DANA.into(),
        compensating_controls: vec!["c".into()],
        expires: Some(day(expires)),
        assets: vec!["a".into()],
        attachments: vec!["https://wiki.example.com/e".into()],
        findings: vec![super::record::Covered::Id("CVE-2026-0001".into())],
        migration_plan: Some("p".into()),
        ..Draft::default()
    };
    request::build(&policy(), draft, "EXC-0001".into(), ANN.into(), at(created)).unwrap()
}

/// Applies `action` as `who` on `when`, expecting it to succeed.
pub fn act(e: &Exception, p: &Policy, who: &str, when: &str, action: Action) -> Exception {
    lifecycle::apply(e, p, &Act { actor: who, at: at(when) }, action).unwrap().after
}

/// Applies `action`, expecting a refusal; returns it.
pub fn refused(e: &Exception, p: &Policy, who: &str, when: &str, action: Action) -> String {
    lifecycle::apply(e, p, &Act { actor: who, at: at(when) }, action).unwrap_err()
}

pub fn approving(risk: Option<Risk>) -> Action {
    Action::Approve { role: None, risk, note: None }
}

/// An `other` (medium) request approved by Sam on 2026-01-02.
pub fn approved() -> Exception {
    act(&requested("other", "2026-01-01", "2026-03-01"), &policy(), SAM, "2026-01-02", approving(None))
}
