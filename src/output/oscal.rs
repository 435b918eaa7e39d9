//! The register as an OSCAL plan of action and milestones (POA&M), for
//! FedRAMP and the GRC tools that read deviations so. One poam-item per
//! exception, with its risk (status, deadline, mitigating factors, the
//! deviation type, a remediation with milestones, the decisions as a risk
//! log), its findings as observations, the people as parties, and its
//! evidence as back-matter. UUIDs are v5 from the record ids, and the
//! timestamps come from the records, so re-exports diff cleanly.

use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::timestamp;
use crate::error::Result;
use crate::model::identity::email_of;
use crate::model::policy::Policy;
use crate::model::record::{Decision, Exception, Status};
use crate::model::routing::POLICY_APPROVER;

/// The OSCAL version written.
pub const OSCAL_VERSION: &str = "1.1.2";
const FEDRAMP: &str = "https://fedramp.gov/ns/oscal";

/// A stable UUID for `what` (`risk:EXC-0001`, `party:ann@example.com`, …).
fn id(what: &str) -> String {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("urn:exc:oscal:{what}").as_bytes()).to_string()
}

/// The end of a day, in UTC: when an exception active through it lapses.
fn end_of(d: chrono::NaiveDate) -> String {
    format!("{d}T23:59:59Z")
}

/// The person's name without the email (`Ann Lee`), or the email.
fn name_of(person: &str) -> String {
    person.split_once('<').map(|(n, _)| n.trim()).filter(|n| !n.is_empty()).unwrap_or(person).to_string()
}

/// The POA&M for `records` (as they stand: a record whose approvals do not
/// stand is a requested deviation) under `policy`, titled for `system`.
pub fn poam(records: &[&Exception], policy: &Policy, system: &str) -> Result<String> {
    super::json(&document(records, policy, system)?)
}

/// [`poam`], written to `w` as it is rendered (the evidence pack's copy is
/// never held whole).
pub fn poam_to(w: &mut dyn std::io::Write, records: &[&Exception], policy: &Policy, system: &str) -> Result<()> {
    super::json_to(w, &document(records, policy, system)?)
}

/// The POA&M document, its long lists already text.
fn document(records: &[&Exception], policy: &Policy, system: &str) -> Result<Document> {
    let mut parties: Vec<(String, String)> = Vec::new();
    let mut party = |person: &str| -> String {
        let email = email_of(person).to_ascii_lowercase();
        if !parties.iter().any(|(e, _)| *e == email) {
            parties.push((email.clone(), person.to_string()));
        }
        id(&format!("party:{email}"))
    };
    let mut observations = Vec::new();
    let mut risks = Vec::new();
    let mut items = Vec::new();
    let mut resources = Vec::new();
    for e in records {
        let risk_id = id(&format!("risk:{}", e.id));
        let requester = party(&e.requester);
        party(&e.risk_owner);
        let status = match e.status {
            Status::Requested => "deviation-requested",
            Status::Approved => "deviation-approved",
            _ => "closed",
        };
        let observation_ids: Vec<String> =
            e.findings.iter().map(|f| id(&format!("observation:{}:{}", e.id, f.id()))).collect();
        for (f, uuid) in e.findings.iter().zip(&observation_ids) {
            observations.push(super::embed(
                &json!({
                    "uuid": uuid,
                    "title": f.id(),
                    "description": format!("{} is covered by exception {}: {}", f, e.id, e.title),
                    "methods": ["EXAMINE"],
                    "collected": timestamp(e.created),
                }),
                DEPTH,
            )?);
        }
        let mut risk = json!({
            "uuid": risk_id,
            "title": e.title,
            "description": e.justification,
            "statement": format!(
                "Risk accepted under security exception {} (type {}), owned by {}, until {}.",
                e.id, e.kind, e.risk_owner, e.expires
            ),
            "status": status,
            "deadline": end_of(e.expires),
        });
        let mut props = vec![json!({ "name": "risk-owner", "value": e.risk_owner })];
        if let Some(kind) = policy.types.get(&e.kind).and_then(|t| t.deviation) {
            props.push(json!({ "name": kind.as_str(), "ns": FEDRAMP, "value": "yes" }));
        }
        risk["props"] = json!(props);
        if !e.findings.is_empty() {
            risk["characterizations"] = json!([{
                "origin": { "actors": [{ "type": "party", "actor-uuid": requester }] },
                "facets": e.findings.iter().map(|f| json!({ "name": "vulnerability-id", "system": FEDRAMP, "value": f.id() })).collect::<Vec<_>>(),
            }]);
            risk["related-observations"] =
                json!(observation_ids.iter().map(|u| json!({ "observation-uuid": u })).collect::<Vec<_>>());
        }
        if !e.compensating_controls.is_empty() {
            risk["mitigating-factors"] = json!(
                e.compensating_controls
                    .iter()
                    .enumerate()
                    .map(|(i, c)| json!({ "uuid": id(&format!("mitigation:{}:{i}", e.id)), "description": c }))
                    .collect::<Vec<_>>()
            );
        }
        let mut tasks = vec![json!({
            "uuid": id(&format!("milestone:{}:expiry", e.id)),
            "type": "milestone",
            "title": format!("Exception {} expires; remediated or recertified", e.id),
            "timing": { "on-date": { "date": end_of(e.expires) } },
        })];
        if let Some(review) = e.reviews.iter().map(|v| v.at).max() {
            tasks.insert(
                0,
                json!({
                    "uuid": id(&format!("milestone:{}:review", e.id)),
                    "type": "milestone",
                    "title": "Last recertification",
                    "timing": { "on-date": { "date": timestamp(review) } },
                }),
            );
        }
        risk["remediations"] = json!([{
            "uuid": id(&format!("remediation:{}", e.id)),
            "lifecycle": "planned",
            "title": format!("Remediation of {}", e.id),
            "description": e.migration_plan.clone().unwrap_or_else(|| format!("Remediate before the exception expires on {}.", e.expires)),
            "tasks": tasks,
        }]);
        let mut log = Vec::new();
        log.push(json!({
            "uuid": id(&format!("log:{}:request", e.id)),
            "title": "Requested",
            "start": timestamp(e.created),
            "logged-by": [{ "party-uuid": requester }],
            "status-change": "deviation-requested",
        }));
        for (i, a) in e.approvals.iter().enumerate() {
            let word = if a.decision == Decision::Approved { "Approved" } else { "Rejected" };
            log.push(json!({
                "uuid": id(&format!("log:{}:approval:{i}", e.id)),
                "title": format!("{word} as {} ({} risk)", a.role, a.risk),
                "start": timestamp(a.at),
                "logged-by": [{ "party-uuid": party(&a.by) }],
            }));
        }
        for (i, v) in e.reviews.iter().enumerate() {
            log.push(json!({
                "uuid": id(&format!("log:{}:review:{i}", e.id)),
                "title": format!("Recertified: {:?}", v.decision).to_lowercase(),
                "start": timestamp(v.at),
                "logged-by": [{ "party-uuid": party(&v.by) }],
            }));
        }
        if let Some(c) = &e.closed {
            log.push(json!({
                "uuid": id(&format!("log:{}:closed", e.id)),
                "title": format!("Closed ({}): {}", e.status, c.reason),
                "start": timestamp(c.at),
                "status-change": "closed",
            }));
        }
        risk["risk-log"] = json!({ "entries": log });
        risks.push(super::embed(&risk, DEPTH)?);

        let mut item_props = vec![json!({ "name": "POAM-ID", "ns": FEDRAMP, "value": e.id })];
        item_props.extend(e.controls.iter().map(|c| json!({ "name": "impacted-control-id", "value": c })));
        let mut item = json!({
            "uuid": id(&format!("poam-item:{}", e.id)),
            "title": e.title,
            "description": e.justification,
            "props": item_props,
            "related-risks": [{ "risk-uuid": risk_id }],
        });
        if !observation_ids.is_empty() {
            item["related-observations"] =
                json!(observation_ids.iter().map(|u| json!({ "observation-uuid": u })).collect::<Vec<_>>());
        }
        // Evidence: back-matter resources, linked from the item.
        let mut links = Vec::new();
        for (i, a) in e.attachments.iter().enumerate() {
            let uuid = id(&format!("resource:{}:{i}", e.id));
            links.push(json!({ "href": format!("#{uuid}"), "rel": "reference", "text": "evidence" }));
            resources.push(super::embed(
                &json!({ "uuid": uuid, "title": format!("Evidence for {}", e.id), "rlinks": [{ "href": a }] }),
                DEPTH + 1,
            )?);
        }
        if !links.is_empty() {
            item["links"] = json!(links);
        }
        items.push(super::embed(&item, DEPTH)?);
    }
    let last = records
        .iter()
        .flat_map(|e| {
            std::iter::once(e.created)
                .chain(e.approvals.iter().map(|a| a.at))
                .chain(e.reviews.iter().map(|v| v.at))
                .chain(e.closed.iter().map(|c| c.at))
        })
        .max()
        .unwrap_or(chrono::DateTime::UNIX_EPOCH);
    let parties: Vec<Value> = parties
        .iter()
        .map(|(email, person)| {
            if person == POLICY_APPROVER {
                // The policy's own acts (automatic approval, expiry).
                return json!({ "uuid": id(&format!("party:{email}")), "type": "organization", "name": "The exception policy (exc.yaml)" });
            }
            json!({
                "uuid": id(&format!("party:{email}")),
                "type": "person",
                "name": name_of(person),
                "email-addresses": [email],
            })
        })
        .collect();
    let mut metadata = json!({
        "title": format!("{system}: security exceptions as a plan of action and milestones"),
        "last-modified": timestamp(last),
        "version": timestamp(last),
        "oscal-version": OSCAL_VERSION,
    });
    if !parties.is_empty() {
        metadata["parties"] = json!(parties);
    }
    let doc = Document {
        poam: Poam {
            uuid: id(&format!("poam:{system}")),
            metadata,
            observations,
            risks,
            items,
            back_matter: (!resources.is_empty()).then_some(BackMatter { resources }),
        },
    };
    Ok(doc)
}

/// How deep the POA&M's lists sit in the document: their parts are rendered
/// as text one by one ([`super::embed`]), so 10,000 records never make one tree.
const DEPTH: usize = 3;

type Part = Box<serde_json::value::RawValue>;

#[derive(Serialize)]
struct Document {
    #[serde(rename = "plan-of-action-and-milestones")]
    poam: Poam,
}

#[derive(Serialize)]
struct Poam {
    uuid: String,
    metadata: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    observations: Vec<Part>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    risks: Vec<Part>,
    #[serde(rename = "poam-items")]
    items: Vec<Part>,
    #[serde(rename = "back-matter", skip_serializing_if = "Option::is_none")]
    back_matter: Option<BackMatter>,
}

#[derive(Serialize)]
struct BackMatter {
    resources: Vec<Part>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_and_distinct() {
        assert_eq!(id("risk:EXC-0001"), id("risk:EXC-0001"));
        assert_ne!(id("risk:EXC-0001"), id("risk:EXC-0002"));
        assert_eq!(Uuid::parse_str(&id("risk:EXC-0001")).unwrap().get_version_num(), 5);
    }
}
