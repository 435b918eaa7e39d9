//! The request form of `exc new`: at most [`MAX_QUESTIONS`] questions for
//! what the flags left out, then the preview, from which any answer can be
//! changed (asked again, starting from the answer given).

use chrono::NaiveDate;

use super::{select, text};
use crate::error::{Error, Result};
use crate::model::identity::is_person;
use crate::model::policy::{Policy, RequiredField};
use crate::model::record::{Covered, Risk};
use crate::model::request::{self, Draft, unknown_type};

/// The form never asks more than this many questions.
pub const MAX_QUESTIONS: usize = 7;

/// A question of the form, by the answer it fills in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Question {
    Type,
    Title,
    Justification,
    RiskOwner,
    Assets,
    CompensatingControls,
    /// A field the type or the risk tier requires (compensating controls are
    /// [`Question::CompensatingControls`]).
    Field(RequiredField),
    Expires,
    /// The risk tier the requester proposes (only from the preview: never
    /// one of the seven questions).
    Risk,
}

/// The questions every request answers, in the form's order after the type.
const BASICS: [Question; 5] =
    [Question::Title, Question::Justification, Question::RiskOwner, Question::Assets, Question::CompensatingControls];

/// The fields beyond the basics that a request may hold, in the order the
/// answers are listed.
const FIELDS: [RequiredField; 5] = [
    RequiredField::Findings,
    RequiredField::Attachments,
    RequiredField::MigrationPlan,
    RequiredField::Tickets,
    RequiredField::Controls,
];

impl Question {
    /// Its name in the list of answers.
    fn label(self) -> &'static str {
        match self {
            Question::Type => "Type",
            Question::Title => "Title",
            Question::Justification => "Justification",
            Question::RiskOwner => "Risk owner",
            Question::Assets => "Assets",
            Question::CompensatingControls | Question::Field(RequiredField::CompensatingControls) => {
                "Compensating controls"
            }
            Question::Field(RequiredField::Findings) => "Findings",
            Question::Field(RequiredField::Attachments) => "Evidence",
            Question::Field(RequiredField::MigrationPlan) => "Migration plan",
            Question::Field(RequiredField::Tickets) => "Tickets",
            Question::Field(RequiredField::Controls) => "Controls",
            Question::Expires => "Expires",
            Question::Risk => "Risk",
        }
    }

    /// Whether the draft leaves it unanswered.
    fn unanswered(self, d: &Draft) -> bool {
        match self {
            Question::Type => d.kind.is_empty(),
            Question::Title => d.title.is_empty(),
            Question::Justification => d.justification.is_empty(),
            Question::RiskOwner => d.risk_owner.is_empty(),
            Question::Assets => d.assets.is_empty(),
            Question::CompensatingControls => d.compensating_controls.is_empty(),
            Question::Field(RequiredField::Controls) => d.controls.is_empty(),
            Question::Field(f) => !d.has(f),
            Question::Expires => d.expires.is_none(),
            Question::Risk => d.risk.is_none(),
        }
    }

    /// The draft's answer, as it would be typed.
    fn answer(self, policy: &Policy, d: &Draft, created: NaiveDate) -> String {
        match self {
            Question::Type => d.kind.clone(),
            Question::Title => d.title.clone(),
            Question::Justification => d.justification.clone(),
            Question::RiskOwner => d.risk_owner.clone(),
            Question::Assets => d.assets.join(", "),
            Question::CompensatingControls | Question::Field(RequiredField::CompensatingControls) => {
                d.compensating_controls.join(", ")
            }
            Question::Field(RequiredField::Findings) => {
                d.findings.iter().map(Covered::to_string).collect::<Vec<_>>().join(", ")
            }
            Question::Field(RequiredField::Attachments) => d.attachments.join(", "),
            Question::Field(RequiredField::MigrationPlan) => d.migration_plan.clone().unwrap_or_default(),
            Question::Field(RequiredField::Tickets) => d.tickets.join(", "),
            Question::Field(RequiredField::Controls) if d.controls.is_empty() => {
                policy.types.get(&d.kind).map(|t| t.controls.join(", ")).unwrap_or_default()
            }
            Question::Field(RequiredField::Controls) => d.controls.join(", "),
            Question::Expires => match d.expires {
                Some(day) => day.to_string(),
                None => request::max_expiry(policy, &d.kind, created).map(|d| d.to_string()).unwrap_or_default(),
            },
            Question::Risk => match d.risk.filter(|r| *r > policy.base_tier(&d.kind)) {
                Some(r) => format!("{r} (proposed)"),
                None => format!("{} (the type's)", policy.base_tier(&d.kind)),
            },
        }
    }

    /// Asks it, starting from the draft's answer, and puts the answer in the draft.
    fn ask(self, policy: &Policy, d: &mut Draft, created: NaiveDate) -> Result<()> {
        let old = self.answer(policy, d, created);
        let required_by_type = |f: RequiredField| policy.types.get(&d.kind).is_some_and(|t| t.require.contains(&f));
        match self {
            Question::Type => {
                let items: Vec<String> = policy
                    .types
                    .iter()
                    .map(|(id, t)| format!("{} ({id}, {} risk, up to {} days)", t.title, t.default_risk, t.max_days))
                    .collect();
                let i = select("Type of exception", &items, policy.types.get_index_of(&d.kind).unwrap_or(0))?;
                d.kind = policy.types.get_index(i).map(|(k, _)| k.clone()).unwrap_or_default();
            }
            Question::Title => d.title = text("Title (one line: what is excepted)", &old, one_line)?,
            Question::Justification => {
                d.justification = text("Justification (business need and impact)", &old, one_line)?
            }
            Question::RiskOwner => {
                d.risk_owner = text("Risk owner (Name <email>, accountable for the risk)", &old, person)?
            }
            Question::Assets => d.assets = text("Assets affected (comma-separated)", &old, at_least_one)?,
            Question::CompensatingControls | Question::Field(RequiredField::CompensatingControls) => {
                d.compensating_controls = if required_by_type(RequiredField::CompensatingControls) {
                    text("Compensating controls (this type needs at least one)", &old, at_least_one)?
                } else {
                    text("Compensating controls (comma-separated; empty if none)", &old, |s| Ok(split_list(s)))?
                }
            }
            Question::Field(RequiredField::Findings) => {
                d.findings =
                    text("Findings (ids, comma-separated; scope: package= version= purl= path=)", &old, findings)?
            }
            Question::Field(RequiredField::MigrationPlan) => {
                d.migration_plan = Some(text("Migration plan (how and when this goes away)", &old, one_line)?)
            }
            Question::Field(RequiredField::Attachments) => {
                let question = if required_by_type(RequiredField::Attachments) {
                    "Evidence (repository paths or https URLs, comma-separated)"
                } else {
                    "Evidence for the approvers (repository paths or https URLs, comma-separated)"
                };
                d.attachments = text(question, &old, at_least_one)?;
            }
            Question::Field(RequiredField::Tickets) => {
                d.tickets = text("Tickets (comma-separated)", &old, at_least_one)?
            }
            Question::Field(RequiredField::Controls) => {
                d.controls = text("Controls deviated from (e.g. CIS:6.5)", &old, at_least_one)?
            }
            Question::Risk => {
                let base = policy.base_tier(&d.kind);
                let tiers: Vec<Risk> = Risk::ALL.into_iter().filter(|r| *r >= base).collect();
                let items: Vec<String> = tiers
                    .iter()
                    .map(|r| {
                        let roles = policy.required_roles(*r);
                        let how = if roles.is_empty() {
                            "approved on submit".to_string()
                        } else {
                            format!("approved by {}", roles.join(", "))
                        };
                        let whose = if *r == base { "the type's default; " } else { "" };
                        format!("{r} ({whose}{how})")
                    })
                    .collect();
                let now = tiers.iter().position(|r| Some(*r) == d.risk).unwrap_or(0);
                let i = select("Risk tier (you may propose a higher one; the approvers decide)", &items, now)?;
                d.risk = tiers.get(i).copied().filter(|r| *r > base);
            }
            Question::Expires => {
                let max = request::max_expiry(policy, &d.kind, created).map_err(Error::Usage)?;
                let initial = d.expires.unwrap_or(max);
                let question = format!("Expires (YYYY-MM-DD or e.g. 30d; at most {max})");
                let kind = d.kind.clone();
                d.expires = Some(super::date(&question, created, initial, |day| {
                    request::check_expiry(policy, &kind, created, day)
                })?);
            }
        }
        Ok(())
    }
}

fn one_line(s: &str) -> std::result::Result<String, String> {
    if s.is_empty() {
        Err("please write something".into())
    } else if s.chars().count() > 500 {
        Err("keep it to one line (at most 500 characters)".into())
    } else {
        Ok(s.to_string())
    }
}

fn person(s: &str) -> std::result::Result<String, String> {
    if s.is_empty() {
        Err("please write something: Name <email>".into())
    } else if is_person(s) {
        Ok(s.to_string())
    } else {
        Err("write it as: Name <email>".into())
    }
}

fn at_least_one(s: &str) -> std::result::Result<Vec<String>, String> {
    let list = split_list(s);
    if list.is_empty() { Err("please write something: at least one, separated by commas".into()) } else { Ok(list) }
}

/// Findings as the flags take them, comma-separated, each checked as it is
/// typed: `CVE-2026-1234 package=openssl version=3.0.11, GHSA-… path=app/**`.
fn findings(s: &str) -> std::result::Result<Vec<Covered>, String> {
    let list: Vec<String> = split_outside_braces(s);
    if list.is_empty() {
        return Err("please write something: at least one, separated by commas".into());
    }
    list.iter().map(|f| f.parse()).collect()
}

/// Comma-separated answers, a comma inside `{…}` (a glob's alternatives) kept.
fn split_outside_braces(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(s[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim().to_string());
    out.retain(|p| !p.is_empty());
    out
}

/// Comma-separated answers as a list.
fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

/// What the type, then the risk tier, requires beyond the basics, with
/// whether the type requires it.
fn required(policy: &Policy, d: &Draft) -> Vec<(RequiredField, bool)> {
    let Some(rule) = policy.types.get(&d.kind) else { return Vec::new() };
    let tier = rule.default_risk.max(rule.min_risk.unwrap_or(rule.default_risk)).max(d.risk.unwrap_or(Risk::Low));
    let fields = policy.required_fields(&d.kind, tier);
    let by_type = fields.iter().filter(|f| rule.require.contains(f)).map(|f| (*f, true));
    let by_tier = fields.iter().filter(|f| !rule.require.contains(f)).map(|f| (*f, false));
    by_type.chain(by_tier).filter(|(f, _)| *f != RequiredField::CompensatingControls).collect()
}

/// The request form: asks for what the flags left out, at most seven
/// questions: the type, title, justification, risk owner, assets and
/// compensating controls, then what the type requires, then (while a question
/// is left) what the risk tier requires.
pub fn form(policy: &Policy, mut d: Draft, created: NaiveDate) -> Result<Draft> {
    eprintln!("New security exception (Ctrl-C cancels; nothing is written until you submit)");
    let mut asked = 0;
    if Question::Type.unanswered(&d) {
        Question::Type.ask(policy, &mut d, created)?;
        asked += 1;
    }
    if !policy.types.contains_key(&d.kind) {
        return Err(Error::Usage(unknown_type(policy, &d.kind)));
    }
    for q in BASICS {
        if q.unanswered(&d) {
            q.ask(policy, &mut d, created)?;
            asked += 1;
        }
    }
    for (f, by_type) in required(policy, &d) {
        let q = Question::Field(f);
        if q.unanswered(&d) && (by_type || asked < MAX_QUESTIONS) {
            q.ask(policy, &mut d, created)?;
            asked += 1;
        }
    }
    Ok(d)
}

/// The answers that can be changed: the type, the basics, the fields the
/// request holds or its type and tier require, and the expiry.
fn answers(policy: &Policy, d: &Draft) -> Vec<Question> {
    let required = required(policy, d);
    let fields = FIELDS
        .into_iter()
        .filter(|f| required.iter().any(|(r, _)| r == f) || !Question::Field(*f).unanswered(d))
        .map(Question::Field);
    [Question::Type].into_iter().chain(BASICS).chain(fields).chain([Question::Risk, Question::Expires]).collect()
}

/// Lists the answers, asks the chosen one again starting from its answer,
/// then what a newly chosen type requires.
pub fn change(policy: &Policy, mut d: Draft, created: NaiveDate) -> Result<Draft> {
    let list = answers(policy, &d);
    let items: Vec<String> = list.iter().map(|q| format!("{}: {}", q.label(), q.answer(policy, &d, created))).collect();
    let chosen = list[select("Change which answer?", &items, 0)?];
    chosen.ask(policy, &mut d, created)?;
    if chosen == Question::Type {
        // A tier proposed for the old type that the new one starts at, or above, is no proposal.
        d.risk = d.risk.filter(|r| *r > policy.base_tier(&d.kind));
        for (f, by_type) in required(policy, &d) {
            if by_type && Question::Field(f).unanswered(&d) {
                Question::Field(f).ask(policy, &mut d, created)?;
            }
        }
    }
    Ok(d)
}

/// What to do with the previewed request.
pub enum Choice {
    Submit,
    Change,
    Cancel,
}

/// Shows the preview and, when the request cannot be filed as it is, why;
/// asks what to do with it (submitting only when it can be filed).
pub fn submit(preview: &str, problems: Option<&str>) -> Result<Choice> {
    eprintln!("\n{preview}");
    let mut choices =
        vec![(Choice::Submit, "Submit"), (Choice::Change, "Change an answer"), (Choice::Cancel, "Cancel")];
    let question = match problems {
        Some(problems) => {
            eprintln!("This request cannot be filed as it is:\n{problems}");
            choices.remove(0);
            "Change it?"
        }
        None => "Submit this exception?",
    };
    let items: Vec<String> = choices.iter().map(|(_, label)| label.to_string()).collect();
    let i = select(question, &items, 0)?;
    Ok(choices.into_iter().nth(i).map_or(Choice::Cancel, |(c, _)| c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(kind: &str) -> Draft {
        Draft { kind: kind.into(), ..Draft::default() }
    }

    #[test]
    fn answers_list_what_the_type_requires_and_what_was_given() {
        let p = Policy::default();
        let labels = |d: &Draft| answers(&p, d).into_iter().map(Question::label).collect::<Vec<_>>();
        let basics = ["Type", "Title", "Justification", "Risk owner", "Assets", "Compensating controls"];
        assert_eq!(labels(&draft("other")), [&basics[..], &["Risk", "Expires"]].concat());
        let deferral = labels(&draft("vulnerability-deferral"));
        assert_eq!(deferral, [&basics[..], &["Findings", "Risk", "Expires"]].concat());
        // Proposing high risk adds what high risk requires (evidence).
        let mut high = draft("other");
        high.risk = Some(Risk::High);
        assert!(labels(&high).contains(&"Evidence"));
        let mut given = draft("other");
        given.tickets = vec!["OPS-1".into()];
        assert!(labels(&given).contains(&"Tickets"));
    }

    #[test]
    fn answers_read_back_as_they_are_typed() {
        let p = Policy::default();
        let created: NaiveDate = "2026-01-01".parse().unwrap();
        let mut d = draft("vendor-access");
        d.findings = vec![
            "CVE-2026-1111 purl=pkg:npm/x@1".parse().unwrap(),
            Covered::Id("B105".into()),
            "GHSA-4xc9-8hmq-j652 path=app/{a,b}/**".parse().unwrap(),
        ];
        let typed = Question::Field(RequiredField::Findings).answer(&p, &d, created);
        assert_eq!(typed, "CVE-2026-1111 purl=pkg:npm/x@1, B105, GHSA-4xc9-8hmq-j652 path=app/{a,b}/**");
        assert_eq!(findings(&typed), Ok(d.findings.clone()));
        assert_eq!(Question::Expires.answer(&p, &d, created), "2026-01-31");
        assert_eq!(Question::Field(RequiredField::Controls).answer(&p, &d, created), "NIST-800-53:AC-2, CIS:5.3");
    }

    #[test]
    fn empty_answers_say_what_to_write() {
        assert_eq!(one_line(""), Err("please write something".into()));
        assert!(person("").unwrap_err().starts_with("please write something"));
        assert!(at_least_one(" , ").unwrap_err().starts_with("please write something"));
        assert!(findings("CVE-2026-1111 colour=red").unwrap_err().contains("not a finding's scope"));
    }

    /// A finding is checked where it is typed: its id, then its scope.
    #[test]
    fn findings_are_refused_as_they_are_typed() {
        let refused = |s: &str| findings(s).unwrap_err();
        assert_eq!(refused("CVE-2026-1"), "`CVE-2026-1` is not a CVE id (written like CVE-2026-12345)");
        assert!(refused("B105, cve-2026-12345").contains("is not a CVE id"));
        assert!(refused("CVE-2026-1111 purl=npm/x").contains("is not a package URL"));
        assert!(refused("CVE-2026-1111 version=1.2").contains("`version=` goes with `package=`"));
        assert!(refused("CVE-2026-1111 path=").contains("`path=` needs a value"));
        assert!(refused("CVE-2026-1111 path=a path=b").contains("given twice"));
        assert!(refused("$(rm)").contains("is not a finding id"));
        let ok = findings("CVE-2026-1111 package=openssl version=3.0.11, B105").unwrap();
        assert_eq!(ok.len(), 2);
        assert!(ok[0].is_scoped() && !ok[1].is_scoped());
    }
}
