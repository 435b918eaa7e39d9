//! The policy (`exc.yaml`): types, routing, SLAs, review cadence and KPI targets.
//!
//! Every section has built-in defaults, so a registry works without the file,
//! and a file may set only the sections it changes. This module does no I/O.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::finding::Overrides;
use super::identity::same_person;
use super::record::{Exception, Risk};

/// The whole policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Role name -> the emails of the people who hold it. `security` and `ciso`
    /// always exist (empty unless given), since the default routing names them.
    #[serde(default = "default_roles", deserialize_with = "roles_with_defaults")]
    pub roles: BTreeMap<String, Vec<String>>,
    /// Type id -> its rules, in the order the form lists them.
    #[serde(default = "default_types")]
    pub types: IndexMap<String, TypeRule>,
    #[serde(default)]
    pub risk: RiskRouting,
    #[serde(default)]
    pub sla: Sla,
    #[serde(default)]
    pub review: ReviewRules,
    #[serde(default)]
    pub targets: Targets,
    #[serde(default)]
    pub assets: Assets,
    #[serde(default)]
    pub git: GitSettings,
    /// Finding code -> severity (`error`, `warning`, `allow`): raises or lowers
    /// a code; codes that guard integrity cannot be lowered.
    #[serde(default, skip_serializing_if = "is_empty_overrides")]
    pub severity: Overrides,
}

fn is_empty_overrides(o: &Overrides) -> bool {
    o.0.is_empty()
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            roles: default_roles(),
            types: default_types(),
            risk: RiskRouting::default(),
            sla: Sla::default(),
            review: ReviewRules::default(),
            targets: Targets::default(),
            assets: Assets::default(),
            git: GitSettings::default(),
            severity: Overrides::default(),
        }
    }
}

/// A field a type or tier can require beyond the basic form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequiredField {
    CompensatingControls,
    Controls,
    Findings,
    Attachments,
    MigrationPlan,
    Tickets,
}

impl RequiredField {
    pub fn as_str(self) -> &'static str {
        match self {
            RequiredField::CompensatingControls => "compensating_controls",
            RequiredField::Controls => "controls",
            RequiredField::Findings => "findings",
            RequiredField::Attachments => "attachments",
            RequiredField::MigrationPlan => "migration_plan",
            RequiredField::Tickets => "tickets",
        }
    }

    /// Whether the record fills this field in.
    pub fn is_present(self, e: &Exception) -> bool {
        match self {
            RequiredField::CompensatingControls => !e.compensating_controls.is_empty(),
            RequiredField::Controls => !e.controls.is_empty(),
            RequiredField::Findings => !e.findings.is_empty(),
            RequiredField::Attachments => !e.attachments.is_empty(),
            RequiredField::MigrationPlan => e.migration_plan.as_deref().is_some_and(|s| !s.trim().is_empty()),
            RequiredField::Tickets => !e.tickets.is_empty(),
        }
    }
}

/// The rules for one exception type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeRule {
    pub title: String,
    #[serde(default = "medium")]
    pub default_risk: Risk,
    pub max_days: u32,
    /// The lowest tier an approver may assess this type at (types can raise the tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_risk: Option<Risk>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<RequiredField>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
}

fn medium() -> Risk {
    Risk::Medium
}

/// Who must approve at one risk tier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Roles from `roles`, or `risk_owner` for the record's own risk owner.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Extra fields this tier requires before approval (e.g. evidence for high risk).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<RequiredField>,
}

/// Risk tier -> approvers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskRouting {
    #[serde(default = "tier_low")]
    pub low: Tier,
    #[serde(default = "tier_medium")]
    pub medium: Tier,
    #[serde(default = "tier_high")]
    pub high: Tier,
    #[serde(default = "tier_critical")]
    pub critical: Tier,
}

fn tier(approvers: &[&str], require: &[RequiredField]) -> Tier {
    Tier { approvers: approvers.iter().map(|s| s.to_string()).collect(), require: require.to_vec() }
}
fn tier_low() -> Tier {
    tier(&[], &[])
}
fn tier_medium() -> Tier {
    tier(&["security"], &[])
}
fn tier_high() -> Tier {
    tier(&["security", RISK_OWNER], &[RequiredField::Attachments])
}
fn tier_critical() -> Tier {
    tier(&["security", RISK_OWNER, "ciso"], &[RequiredField::Attachments])
}

impl Default for RiskRouting {
    fn default() -> Self {
        RiskRouting { low: tier_low(), medium: tier_medium(), high: tier_high(), critical: tier_critical() }
    }
}

impl RiskRouting {
    pub fn tier(&self, risk: Risk) -> &Tier {
        match risk {
            Risk::Low => &self.low,
            Risk::Medium => &self.medium,
            Risk::High => &self.high,
            Risk::Critical => &self.critical,
        }
    }
}

/// The pseudo-role meaning "the record's own risk owner".
pub const RISK_OWNER: &str = "risk_owner";

/// Decision deadlines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    #[serde(default = "h24")]
    pub urgent_hours: u32,
    #[serde(default = "h120")]
    pub standard_hours: u32,
}
fn h24() -> u32 {
    24
}
fn h120() -> u32 {
    120
}
impl Default for Sla {
    fn default() -> Self {
        Sla { urgent_hours: 24, standard_hours: 120 }
    }
}

/// Recertification cadence and reminders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRules {
    #[serde(default = "d90")]
    pub interval_days: u32,
    #[serde(default = "d14")]
    pub remind_before_days: u32,
    #[serde(default = "lifetime")]
    pub remind_at_lifetime: f64,
    #[serde(default = "d14")]
    pub grace_days: u32,
    #[serde(default = "two")]
    pub chronic_after_extensions: u32,
}
fn d90() -> u32 {
    90
}
fn d14() -> u32 {
    14
}
fn lifetime() -> f64 {
    0.75
}
fn two() -> u32 {
    2
}
impl Default for ReviewRules {
    fn default() -> Self {
        ReviewRules {
            interval_days: 90,
            remind_before_days: 14,
            remind_at_lifetime: 0.75,
            grace_days: 14,
            chronic_after_extensions: 2,
        }
    }
}

/// KPI targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default = "five")]
    pub assets_excepted_max_pct: f64,
    #[serde(default = "h48")]
    pub approval_hours_max: f64,
    #[serde(default)]
    pub open_ended_max: u32,
    #[serde(default)]
    pub overdue_max_pct: f64,
    #[serde(default = "hundred")]
    pub compensating_controls_min_pct: f64,
    #[serde(default)]
    pub chronic_max: u32,
    #[serde(default)]
    pub sla_breaches_max: u32,
}
fn hundred() -> f64 {
    100.0
}
fn five() -> f64 {
    5.0
}
fn h48() -> f64 {
    48.0
}
impl Default for Targets {
    fn default() -> Self {
        Targets {
            assets_excepted_max_pct: 5.0,
            approval_hours_max: 48.0,
            open_ended_max: 0,
            overdue_max_pct: 0.0,
            compensating_controls_min_pct: 100.0,
            chronic_max: 0,
            sla_breaches_max: 0,
        }
    }
}

/// The asset inventory the "% of assets excepted" KPI divides by.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// A file of one asset per line, relative to the registry root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<String>,
}

/// Git integration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitSettings {
    /// Commit each change a command makes, as with `--commit`.
    #[serde(default)]
    pub commit: bool,
}

fn roles_with_defaults<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    let mut roles = BTreeMap::<String, Vec<String>>::deserialize(d)?;
    for (role, people) in default_roles() {
        roles.entry(role).or_insert(people);
    }
    Ok(roles)
}

fn default_roles() -> BTreeMap<String, Vec<String>> {
    ["security", "ciso"].iter().map(|r| (r.to_string(), Vec::new())).collect()
}

fn default_types() -> IndexMap<String, TypeRule> {
    use RequiredField::*;
    let t = |title: &str, risk, max_days, require: &[RequiredField], controls: &[&str]| TypeRule {
        title: title.into(),
        default_risk: risk,
        max_days,
        min_risk: None,
        require: require.to_vec(),
        controls: controls.iter().map(|s| s.to_string()).collect(),
    };
    IndexMap::from([
        ("mfa-bypass".into(), t("MFA bypass", Risk::High, 90, &[], &["NIST-800-53:IA-2(1)", "CIS:6.5"])),
        (
            "firewall-rule".into(),
            t("Firewall rule exception", Risk::Medium, 180, &[], &["NIST-800-53:SC-7", "CIS:4.4"]),
        ),
        (
            "vulnerability-deferral".into(),
            t("Vulnerability patch deferral", Risk::Medium, 90, &[Findings], &["NIST-800-53:SI-2", "CIS:7.3"]),
        ),
        (
            "endpoint-control-gap".into(),
            t("Endpoint control gap", Risk::High, 180, &[CompensatingControls], &["NIST-800-53:SI-3", "CIS:10.1"]),
        ),
        ("vendor-access".into(), t("Temporary vendor access", Risk::Medium, 30, &[], &["NIST-800-53:AC-2", "CIS:5.3"])),
        (
            "legacy-system".into(),
            t("Legacy system support", Risk::High, 180, &[MigrationPlan], &["NIST-800-53:SA-22", "CIS:2.2"]),
        ),
        ("other".into(), t("Other", Risk::Medium, 90, &[], &[])),
    ])
}

/// How many role names a message about an unknown role lists.
const MAX_ROLES_LISTED: usize = 20;

/// A policy that parsed but says something impossible, at a JSON pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyProblem {
    pub pointer: String,
    pub message: String,
}

impl Policy {
    /// The tier a record is routed by: the approver's assessment, else the type's
    /// default, never below the type's `min_risk`.
    pub fn effective_risk(&self, e: &Exception) -> Risk {
        let rule = self.types.get(&e.kind);
        let default = rule.map(|t| t.default_risk).unwrap_or(Risk::Medium);
        let floor = rule.and_then(|t| t.min_risk).unwrap_or(Risk::Low);
        e.risk.unwrap_or(default).max(floor)
    }

    /// The roles that must approve a record at `risk`, in order.
    pub fn required_roles(&self, risk: Risk) -> &[String] {
        &self.risk.tier(risk).approvers
    }

    /// Everything a record must carry: the type's requirements, then the tier's.
    pub fn required_fields(&self, kind: &str, risk: Risk) -> Vec<RequiredField> {
        let mut out: Vec<RequiredField> = self.types.get(kind).map(|t| t.require.clone()).unwrap_or_default();
        for f in &self.risk.tier(risk).require {
            if !out.contains(f) {
                out.push(*f);
            }
        }
        out
    }

    /// Whether `who` holds `role` (for `risk_owner`, whether it is the record's owner).
    pub fn holds_role(&self, who: &str, role: &str, e: &Exception) -> bool {
        if role == RISK_OWNER {
            return same_person(who, &e.risk_owner);
        }
        self.roles.get(role).is_some_and(|people| people.iter().any(|p| same_person(p, who)))
    }

    /// Semantic checks the schema cannot express.
    pub fn problems(&self) -> Vec<PolicyProblem> {
        let mut out = Vec::new();
        let mut add = |pointer: String, message: String| out.push(PolicyProblem { pointer, message });
        if self.types.is_empty() {
            add("/types".into(), "at least one exception type is needed".into());
        }
        for (id, t) in &self.types {
            if t.max_days == 0 {
                add(format!("/types/{id}/max_days"), format!("type `{id}`: max_days must be at least 1"));
            }
        }
        // Listed once, and only the first few: each message repeated the whole
        // list, so thousands of roles and unknown approvers grew quadratically.
        let listed: Vec<&str> =
            self.roles.keys().map(String::as_str).chain([RISK_OWNER]).take(MAX_ROLES_LISTED).collect();
        let hidden = self.roles.len() + 1 - listed.len();
        let known = if hidden > 0 { format!("{} and {hidden} more", listed.join(", ")) } else { listed.join(", ") };
        for risk in Risk::ALL {
            for (i, role) in self.risk.tier(risk).approvers.iter().enumerate() {
                if role != RISK_OWNER && !self.roles.contains_key(role) {
                    add(format!("/risk/{risk}/approvers/{i}"), format!("unknown role `{role}`; the roles are {known}"));
                }
            }
        }
        let l = self.review.remind_at_lifetime;
        if !(l > 0.0 && l < 1.0) {
            add(
                "/review/remind_at_lifetime".into(),
                format!("must be between 0 and 1 (a share of the lifetime), not {l}"),
            );
        }
        if self.review.interval_days == 0 {
            add("/review/interval_days".into(), "must be at least 1".into());
        }
        if self.assets.total.is_some() && self.assets.inventory.is_some() {
            add("/assets".into(), "give either `total` or `inventory`, not both".into());
        }
        for (code, message) in self.severity.problems() {
            add(format!("/severity/{}", super::finding::pointer_token(&code)), message);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_consistent() {
        let p = Policy::default();
        assert!(p.problems().is_empty(), "{:?}", p.problems());
        assert_eq!(p.required_roles(Risk::Low), &[] as &[String]);
        assert_eq!(p.required_roles(Risk::High), ["security", "risk_owner"]);
        assert_eq!(p.types["vendor-access"].max_days, 30);
    }

    #[test]
    fn unknown_approver_role_is_a_problem() {
        let mut p = Policy::default();
        p.risk.medium.approvers = vec!["secruity".into()];
        let probs = p.problems();
        assert_eq!(probs[0].pointer, "/risk/medium/approvers/0");
        assert!(probs[0].message.contains("unknown role `secruity`"));
        assert!(probs[0].message.ends_with("the roles are ciso, security, risk_owner"), "{}", probs[0].message);
    }

    /// A hand-made 212 KiB policy for the `policy` fuzz target (5,000 roles,
    /// 5,000 unknown approvers) ran 20.7 s there: every message listed every role.
    #[test]
    fn many_unknown_approvers_list_a_few_roles() {
        let n = 5_000;
        let mut p = Policy::default();
        p.roles.extend((0..n).map(|i| (format!("role-{i}"), vec![format!("p{i}@example.com")])));
        p.risk.medium.approvers = (0..n).map(|i| format!("nope-{i}")).collect();
        let start = std::time::Instant::now();
        let probs = p.problems();
        let elapsed = start.elapsed();
        assert_eq!(probs.len(), n);
        assert!(probs[0].message.contains("unknown role `nope-0`"), "{}", probs[0].message);
        assert!(probs[0].message.ends_with(&format!("and {} more", n + 3 - MAX_ROLES_LISTED)), "{}", probs[0].message);
        assert!(probs.iter().all(|p| p.message.len() < 400));
        assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");
    }
}
