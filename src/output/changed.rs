//! What the commands that change records say they did: `exc new`, and the
//! lifecycle commands (approve, reject, recertify, retire, revoke, expire).

use chrono::NaiveDate;
use serde::Serialize;

use super::escape;
use crate::model::lifecycle::Transition;
use crate::model::policy::Policy;
use crate::model::record::{Risk, Status};
use crate::model::request::Needed;
use crate::model::review;

/// What a lifecycle command reports.
#[derive(Debug, Serialize)]
pub struct Changed {
    pub id: String,
    pub action: String,
    pub status: Status,
    pub path: String,
    /// The roles still needed, while the record is requested.
    pub awaiting: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The text after a lifecycle command: what happened, what is still needed,
/// and what to do next.
pub fn changed_text(c: &Changed, summary: &str) -> String {
    let mut o = format!("{}\n", escape::text(summary));
    if !c.awaiting.is_empty() {
        o.push_str(&format!("Still needs: {}\n", c.awaiting.join(", ")));
    }
    match &c.commit {
        Some(commit) => o.push_str(&format!("Committed {} as {commit}.\n", escape::text(&c.path))),
        None => o.push_str(&format!(
            "Wrote {}; commit it and open a pull request (or use --commit).\n",
            escape::text(&c.path)
        )),
    }
    o
}

/// What `exc new` reports about the record it wrote.
#[derive(Debug, Serialize)]
pub struct Created {
    pub id: String,
    pub path: String,
    pub status: Status,
    pub risk: Risk,
    pub expires: NaiveDate,
    pub approvals_needed: Vec<Needed>,
    /// Fields the tier needs before approval.
    pub missing: Vec<&'static str>,
    /// The repository files it cites as evidence that are not committed yet:
    /// CI, on a fresh clone, finds them only once they are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uncommitted_evidence: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

pub fn created_text(c: &Created) -> String {
    let path = escape::text(&c.path);
    let mut o = format!("Created {path} ({}, expires {})\n", c.id, c.expires);
    if c.status == Status::Approved {
        o.push_str("Low risk: approved on submit by policy.\n");
    } else {
        o.push_str(&format!("Needs approval ({} risk):\n", c.risk));
        for n in &c.approvals_needed {
            let who = if n.people.is_empty() {
                "nobody holds this role yet: add people to exc.yaml".to_string()
            } else {
                n.people.join(", ")
            };
            o.push_str(&format!("  - {}: {}\n", escape::text(&n.role), escape::text(&who)));
        }
        if !c.missing.is_empty() {
            o.push_str(&format!("Before approval, add: {}\n", c.missing.join(", ")));
        }
    }
    // A request its tier approves only with evidence: the next step says so.
    let evidence_first = c.status != Status::Approved && c.missing.contains(&"attachments");
    let evidence: Vec<String> =
        c.uncommitted_evidence.iter().map(|f| escape::text(&escape::shell_word(f)).into_owned()).collect();
    match &c.commit {
        Some(commit) if evidence.is_empty() => {
            o.push_str(&format!("Committed {path} as {commit}; push it and open a pull request.\n"))
        }
        Some(commit) => o.push_str(&format!(
            "Committed {path} as {commit}, without the evidence it cites ({list}); commit that too, before you push:\n  git add {list} && git commit -m 'exc: evidence for {id}'\n",
            list = evidence.join(" "),
            id = c.id
        )),
        None if evidence_first => o.push_str(&format!(
            "Next: add its evidence, which {risk} risk needs before approval: a repository path or an https URL under `attachments:` in {path}; then open a pull request with the file (a path: `git add` that file too):\n  git switch -c exc/{id} && git add {path} && git commit -m 'exc: request {id}' && git push -u origin HEAD\n",
            risk = c.risk,
            id = c.id
        )),
        None => o.push_str(&format!(
            "Next: open a pull request with the new file{and}:\n  git switch -c exc/{id} && git add {path}{files} && git commit -m 'exc: request {id}' && git push -u origin HEAD\n",
            and = if evidence.is_empty() { "" } else { " and the evidence it cites" },
            files = evidence.iter().map(|f| format!(" {f}")).collect::<String>(),
            id = c.id
        )),
    }
    o
}

/// The one line saying what a lifecycle command did.
pub fn summary(t: &Transition, policy: &Policy) -> String {
    let e = &t.after;
    let role = t.detail.as_deref().unwrap_or("");
    match t.action {
        "approve" if e.status == Status::Approved => {
            format!("Approved {} as {role}: every required role has approved; it is active until {}.", e.id, e.expires)
        }
        "approve" => format!("Approved {} as {role} ({} risk).", e.id, crate::model::routing::tier(e, policy)),
        "reject" => format!("Rejected {} as {role}.", e.id),
        "recertify" => match role {
            "extend" => {
                let n = review::extensions(e);
                let chronic = if review::is_chronic(e, policy) {
                    format!(" It has now been extended {n} times and is chronic: escalate it to engineering.")
                } else {
                    String::new()
                };
                let pending = if e.status == Status::Requested {
                    format!(
                        " The new date needs approving by {} as well; until then it is requested again.",
                        t.awaiting.join(", ")
                    )
                } else {
                    String::new()
                };
                format!("Recertified {}: extended to {} (extension {n}).{chronic}{pending}", e.id, e.expires)
            }
            "keep" => format!("Recertified {}: reviewed, the date kept (expires {}).", e.id, e.expires),
            "retire" => format!("Recertification retired {}.", e.id),
            _ => format!("Recertification revoked {}.", e.id),
        },
        "retire" => format!("Retired {}.", e.id),
        "revoke" => format!("Revoked {}.", e.id),
        _ => format!("Closed {} as expired.", e.id),
    }
}
