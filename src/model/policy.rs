//! The policy (`exc.yaml`): types, routing, SLAs, review cadence and KPI targets.
//!
//! Every section has built-in defaults, so a registry works without the file,
//! and a file may set only the sections it changes. This module does no I/O.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::finding::Overrides;
use super::identity::same_person;
use super::record::{Exception, Risk};
use super::signature::Keyring;

/// The whole policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The system or organisation the registry covers, as reports and the
    /// POA&M name it (default: the repository's directory name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The policy's version: it grows with every approved change (`exc policy
    /// approve` raises it), so an approval of an older version never counts again.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub version: u64,
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
    /// Signatures, keys, and who approves changes to this policy.
    #[serde(default)]
    pub trust: Trust,
    /// The suppression files `exc export --all` writes and `exc check` keeps
    /// fresh (format names, e.g. `trivyignore`, `osv-scanner`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exports: Vec<String>,
    /// What `exc reconcile` looks for besides the built-in suppressions, and
    /// where it does not look.
    #[serde(default, skip_serializing_if = "ReconcileRules::is_empty")]
    pub reconcile: ReconcileRules,
    /// What `exc notify` delivers, to whom and over which channels. Not
    /// written when absent, so policies without it keep their digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<super::notify::Notify>,
    /// Signed approvals of this policy by the owners of the one before it.
    /// Not part of the policy's digest. Kept last in the file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<PolicyApproval>,
}

/// Whether decisions must be signed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signatures {
    /// Every decision carries a valid SSH signature by a key the policy lists
    /// for its maker; others do not count.
    #[default]
    Required,
    /// Signatures are not checked (decisions are attributed by git alone).
    Off,
}

/// One public key or several, as written in `trust.keys`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn iter(&self) -> impl Iterator<Item = &String> {
        match self {
            KeyList::One(k) => std::slice::from_ref(k).iter(),
            KeyList::Many(v) => v.iter(),
        }
    }
}

/// The trust section: the root of trust for decisions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trust {
    /// The registry's identity, fixed at `exc init`: every signed statement
    /// names it, so a decision or a policy approval made in one registry never
    /// counts in another that lists the same keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    #[serde(default)]
    pub signatures: Signatures,
    /// The roles that approve changes to this policy (each role, one person each).
    #[serde(default = "default_owners")]
    pub owners: Vec<String>,
    /// A file of public keys in git's allowed_signers format, relative to the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_signers: Option<String>,
    /// Public keys inline: email → key(s), in OpenSSH format.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, KeyList>,
    /// Whether requests must carry their requester's signature (`exc new`
    /// signs them when the requester has a key, whatever this says).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signed_requests: bool,
    /// The commit the audit starts from: history before it is trusted as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_from: Option<String>,
    /// Everyone's keys, from `keys` and the allowed_signers file (filled in by
    /// whoever reads the file).
    #[serde(skip)]
    pub keyring: Keyring,
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn default_owners() -> Vec<String> {
    vec!["ciso".to_string()]
}

impl Default for Trust {
    fn default() -> Self {
        Trust {
            registry: None,
            signatures: Signatures::Required,
            owners: default_owners(),
            allowed_signers: None,
            keys: BTreeMap::new(),
            signed_requests: false,
            audit_from: None,
            keyring: Keyring::default(),
        }
    }
}

/// One owner's signed approval of the policy (`exc policy approve`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyApproval {
    pub by: String,
    pub role: String,
    pub at: DateTime<Utc>,
    /// The digest of the policy approved.
    pub policy: String,
    /// The version of the policy approved.
    #[serde(default)]
    pub version: u64,
    /// The digest of the policy it replaces (absent for the first one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

fn is_empty_overrides(o: &Overrides) -> bool {
    o.0.is_empty()
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            name: None,
            version: 0,
            roles: default_roles(),
            types: default_types(),
            risk: RiskRouting::default(),
            sla: Sla::default(),
            review: ReviewRules::default(),
            targets: Targets::default(),
            assets: Assets::default(),
            git: GitSettings::default(),
            severity: Overrides::default(),
            trust: Trust::default(),
            exports: Vec::new(),
            reconcile: ReconcileRules::default(),
            notify: None,
            approvals: Vec::new(),
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
            RequiredField::Attachments => e.attachments.iter().any(|a| super::record::is_evidence(a)),
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
    /// What an approved record of this type states in VEX: its findings do
    /// not affect the product (e.g. a false positive, or mitigated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex: Option<Vex>,
    /// FedRAMP's deviation type for this type's records, in the OSCAL POA&M.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deviation: Option<Deviation>,
    /// Where the type is approved automatically (low risk, no approvers):
    /// whether records with findings are too. By default they go to the
    /// next tier with approvers, so no scanner suppression is made without a
    /// person's decision.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_approve_findings: bool,
}

/// FedRAMP's kinds of deviation request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Deviation {
    FalsePositive,
    OperationalRequirement,
    RiskAdjustment,
    VendorDependency,
}

impl Deviation {
    pub fn as_str(self) -> &'static str {
        match self {
            Deviation::FalsePositive => "false-positive",
            Deviation::OperationalRequirement => "operational-requirement",
            Deviation::RiskAdjustment => "risk-adjustment",
            Deviation::VendorDependency => "vendor-dependency",
        }
    }
}

/// `exc reconcile`'s own patterns and exclusions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileRules {
    /// More inline suppression markers: a tool's name and a regular
    /// expression (its first group, if any, is the rule suppressed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<ReconcilePattern>,
    /// Globs of repository paths not to look at (e.g. `tests/fixtures/**`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl ReconcileRules {
    fn is_empty(&self) -> bool {
        self.patterns.is_empty() && self.exclude.is_empty()
    }
}

/// One inline suppression marker the policy adds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcilePattern {
    pub tool: String,
    pub pattern: String,
}

/// A VEX statement a type's approved records make.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vex {
    pub status: VexStatus,
    pub justification: VexJustification,
}

/// The VEX status a type may claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    NotAffected,
}

/// Why a product is not affected, in VEX's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexJustification {
    ComponentNotPresent,
    VulnerableCodeNotPresent,
    VulnerableCodeNotInExecutePath,
    VulnerableCodeCannotBeControlledByAdversary,
    InlineMitigationsAlreadyExist,
}

impl VexJustification {
    pub fn as_str(self) -> &'static str {
        match self {
            VexJustification::ComponentNotPresent => "component_not_present",
            VexJustification::VulnerableCodeNotPresent => "vulnerable_code_not_present",
            VexJustification::VulnerableCodeNotInExecutePath => "vulnerable_code_not_in_execute_path",
            VexJustification::VulnerableCodeCannotBeControlledByAdversary => {
                "vulnerable_code_cannot_be_controlled_by_adversary"
            }
            VexJustification::InlineMitigationsAlreadyExist => "inline_mitigations_already_exist",
        }
    }
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
    /// Most scanner suppressions no active exception governs (`exc reconcile`).
    /// Not written when 0, so policies without it keep their digest.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ungoverned_suppressions_max: u32,
}
fn is_zero(n: &u32) -> bool {
    *n == 0
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
            ungoverned_suppressions_max: 0,
        }
    }
}

/// The asset inventory the "% of assets excepted" KPI divides by.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// The inventory file, relative to the registry root: a CMDB export as
    /// CSV (`.csv`, with a header row) or JSON (`.json`, an array of
    /// objects), or any other file with one asset name per line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<String>,
    /// The inventory's column (CSV) or key (JSON) names, where the CMDB
    /// export does not use `name`, `owner`, `business_unit` and `criticality`.
    #[serde(default, skip_serializing_if = "Columns::is_default")]
    pub columns: Columns,
    /// The scan targets each asset stands for (image references, repository
    /// paths, hostnames; globs as the scanner sees targets), which scope the
    /// suppressions exported for it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub targets: BTreeMap<String, Vec<String>>,
}

/// Where an inventory keeps each field of an asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    #[serde(default = "col_name")]
    pub name: String,
    #[serde(default = "col_owner")]
    pub owner: String,
    #[serde(default = "col_business_unit")]
    pub business_unit: String,
    #[serde(default = "col_criticality")]
    pub criticality: String,
}
fn col_name() -> String {
    "name".into()
}
fn col_owner() -> String {
    "owner".into()
}
fn col_business_unit() -> String {
    "business_unit".into()
}
fn col_criticality() -> String {
    "criticality".into()
}
impl Default for Columns {
    fn default() -> Self {
        Columns {
            name: col_name(),
            owner: col_owner(),
            business_unit: col_business_unit(),
            criticality: col_criticality(),
        }
    }
}
impl Columns {
    fn is_default(&self) -> bool {
        *self == Columns::default()
    }
}

impl Assets {
    /// The scan targets of `assets` (in order, without repeats).
    pub fn targets_of<'a>(&'a self, assets: &'a [String]) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        for t in assets.iter().filter_map(|a| self.targets.get(a)).flatten() {
            if !out.contains(&t.as_str()) {
                out.push(t);
            }
        }
        out
    }
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
        vex: None,
        deviation: None,
        auto_approve_findings: false,
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
    /// A type's tier before anyone assesses it: its default, never below its
    /// `min_risk` (medium for an unknown type).
    pub fn base_tier(&self, kind: &str) -> Risk {
        let rule = self.types.get(kind);
        let default = rule.map(|t| t.default_risk).unwrap_or(Risk::Medium);
        default.max(self.floor(kind))
    }

    /// A record's tier before anyone assesses it: its type's, except that a
    /// record covering findings (scanner suppressions) is never approved
    /// automatically unless its type says `auto_approve_findings`: it goes
    /// to the lowest tier that has approvers.
    pub fn base_tier_for(&self, e: &Exception) -> Risk {
        let base = self.base_tier(&e.kind);
        let allowed = self.types.get(&e.kind).is_some_and(|t| t.auto_approve_findings);
        if e.findings.is_empty() || allowed || !self.required_roles(base).is_empty() {
            return base;
        }
        Risk::ALL.into_iter().find(|r| *r > base && !self.required_roles(*r).is_empty()).unwrap_or(base)
    }

    /// The lowest tier a type may be assessed at.
    pub fn floor(&self, kind: &str) -> Risk {
        self.types.get(kind).and_then(|t| t.min_risk).unwrap_or(Risk::Low)
    }

    /// Fills in the keyring from the inline keys and the allowed_signers file's
    /// text (when the policy names one); returns what cannot be trusted: the
    /// file's unreadable lines, look-alike principals and keys listed for two
    /// people (line 0 for exc.yaml itself).
    pub fn load_keys(&mut self, allowed_signers: Option<&str>) -> Vec<super::signature::KeyProblem> {
        use super::signature::KeyProblem;
        let mut ring = Keyring::default();
        let mut problems = Vec::new();
        for (person, keys) in &self.trust.keys {
            for key in keys.iter() {
                // A key that does not parse is reported by `problems()`.
                if let Err(message) = ring.add(person, key)
                    && !message.starts_with("not an OpenSSH public key")
                {
                    problems.push(KeyProblem { line: 0, message: format!("trust.keys: {message}") });
                }
            }
        }
        if let Some(text) = allowed_signers {
            problems.extend(ring.add_allowed_signers(text));
        }
        // Role holders must not look like someone the keys name otherwise.
        for (role, people) in &self.roles {
            for p in people {
                if let Some(listed) = ring.look_alike(p) {
                    problems.push(KeyProblem {
                        line: 0,
                        message: format!(
                            "roles.{role}: `{}` looks like `{listed}`, whose keys the policy lists; name each person by one exact address",
                            super::identity::email_of(p)
                        ),
                    });
                }
            }
        }
        self.trust.keyring = ring;
        problems
    }

    /// `sha256:` over the policy as it acts: every section, and every key it
    /// trusts (from the allowed_signers file too), but not its own approvals.
    pub fn digest(&self) -> String {
        let mut p = self.clone();
        p.approvals.clear();
        let mut value = serde_json::to_value(&p).unwrap_or_default();
        let keys: Vec<serde_json::Value> = self
            .trust
            .keyring
            .people()
            .flat_map(|(who, keys)| {
                keys.iter().map(move |k| {
                    serde_json::json!({
                        "who": who,
                        "key": k.key.to_openssh().unwrap_or_default(),
                        "valid_after": k.valid_after,
                        "valid_before": k.valid_before,
                    })
                })
            })
            .collect();
        if let serde_json::Value::Object(m) = &mut value {
            m.insert("trusted_keys".into(), serde_json::Value::Array(keys));
        }
        super::statement::hash(super::digest::canonical_json(&value).as_bytes())
    }

    /// Whether signatures are required.
    pub fn signatures_required(&self) -> bool {
        self.trust.signatures == Signatures::Required
    }

    /// Whether two people are the same: they share a key, or their
    /// normalised identities agree.
    pub fn same_person(&self, a: &str, b: &str) -> bool {
        same_person(a, b) || self.trust.keyring.share_a_key(a, b)
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
            return self.same_person(who, &e.risk_owner);
        }
        self.holds(who, role)
    }

    /// Whether `who` is listed under the named role `role`.
    pub fn holds(&self, who: &str, role: &str) -> bool {
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
        // Two role holders written differently who read the same once
        // look-alike letters are folded: one could pass for the other.
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (role, people) in &self.roles {
            for (i, p) in people.iter().enumerate() {
                let email = super::identity::email_of(p).to_string();
                match seen.get(&super::identity::identity(p)) {
                    Some(other) if !other.eq_ignore_ascii_case(&email) => add(
                        format!("/roles/{}/{i}", super::finding::pointer_token(role)),
                        format!("`{email}` looks like `{other}`; name each person by one exact address"),
                    ),
                    Some(_) => {}
                    None => {
                        seen.insert(super::identity::identity(p), email);
                    }
                }
            }
        }
        if self.signatures_required()
            && self.trust.registry.is_none()
            && (!self.trust.keys.is_empty() || self.trust.allowed_signers.is_some())
        {
            add(
                "/trust".into(),
                "decisions are signed but `trust.registry` does not name this registry: add `registry: <a name of your own>` under `trust:` (every signature names it, so none counts in another registry); `exc init` writes one".into(),
            );
        }
        for (i, owner) in self.trust.owners.iter().enumerate() {
            if owner == RISK_OWNER || !self.roles.contains_key(owner) {
                add(format!("/trust/owners/{i}"), format!("unknown role `{owner}`; the roles are {known}"));
            }
        }
        for (person, keys) in &self.trust.keys {
            let mut ring = Keyring::default();
            for (i, key) in keys.iter().enumerate() {
                if let Err(m) = ring.add(person, key) {
                    let at = match keys {
                        KeyList::One(_) => format!("/trust/keys/{}", super::finding::pointer_token(person)),
                        KeyList::Many(_) => format!("/trust/keys/{}/{i}", super::finding::pointer_token(person)),
                    };
                    add(at, format!("{person}: {m}"));
                }
            }
        }
        for (code, message) in self.severity.problems() {
            add(format!("/severity/{}", super::finding::pointer_token(&code)), message);
        }
        for (pointer, message) in self.notify.iter().flat_map(|n| n.problems(&self.roles)) {
            add(pointer, message);
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
        let probs = p.problems();
        assert_eq!(probs.len(), n);
        assert!(probs[0].message.contains("unknown role `nope-0`"), "{}", probs[0].message);
        assert!(probs[0].message.ends_with(&format!("and {} more", n + 3 - MAX_ROLES_LISTED)), "{}", probs[0].message);
        assert!(probs.iter().all(|p| p.message.len() < 400));
    }
}
