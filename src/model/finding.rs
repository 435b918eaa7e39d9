//! Findings: every problem exc reports, as values. A finding has a stable code,
//! a severity, the file it is in, a JSON pointer into that file, and the
//! commit when the history is involved. Its line and column are worked out
//! only when it is rendered (`crate::output::findings`), from the pointer.
//!
//! A finding is not an error of the tool: the tool did its job and found
//! something wrong. Errors (`crate::error`) are for when it could not.
//!
//! Every code is described here, with what it means and how to fix it; `exc
//! explain CODE` prints that. The policy can raise or lower a code's severity
//! (`severity:` in `exc.yaml`), except for the codes that guard integrity.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A 1-based line and column in a source file (columns count characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    pub line: u32,
    pub col: u32,
}

impl Position {
    pub const START: Position = Position { line: 1, col: 1 };
}

/// How bad a finding is. Errors fail the command (exit 1); warnings are shown
/// only; `allow` (a policy override) hides the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Allow,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Allow => "allow",
        }
    }

    /// How severe, for comparisons: higher is worse.
    fn rank(self) -> u8 {
        match self {
            Severity::Allow => 0,
            Severity::Warning => 1,
            Severity::Error => 2,
        }
    }
}

/// What a code is about, for `exc explain` and the table in docs/findings.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    /// Reading a record file.
    File,
    /// A record against the schema and the policy.
    Record,
    /// Approvals, signatures and identities.
    Trust,
    /// The git history (`exc audit`, `exc check --base`, `exc diff`).
    History,
    /// The repository's suppressions and the scans (`exc reconcile`).
    Reconcile,
    /// Time rules of the CI gate (`exc check`).
    Gate,
    /// The policy file itself.
    Policy,
}

impl Area {
    pub fn as_str(self) -> &'static str {
        match self {
            Area::File => "file",
            Area::Record => "record",
            Area::Trust => "trust",
            Area::History => "history",
            Area::Reconcile => "reconcile",
            Area::Gate => "gate",
            Area::Policy => "policy",
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $name:literal, $area:ident, $sev:ident, $integrity:literal, $summary:literal, $explain:literal;)*) => {
        /// The stable, kebab-case identity of a kind of finding.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// One line on what the finding means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }

            /// What it means in full and how to fix it.
            pub fn explanation(self) -> &'static str {
                match self { $(Code::$variant => $explain,)* }
            }

            pub fn area(self) -> Area {
                match self { $(Code::$variant => Area::$area,)* }
            }

            /// The severity when neither the policy nor a flag changes it.
            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// Codes that guard the integrity of decisions: the policy cannot lower them.
            pub fn guards_integrity(self) -> bool {
                match self { $(Code::$variant => $integrity,)* }
            }
        }
    };
}

codes! {
    Unreadable = "unreadable", File, Error, true,
        "the file cannot be read as a record (not a regular file, too large, not UTF-8, or an I/O error)",
        "Records are small regular UTF-8 files inside exceptions/. A symbolic link, a directory, a file over 256 KiB, a NUL byte or invalid UTF-8 is refused before parsing. Save the record as plain UTF-8 text, as a regular file in the repository.";
    YamlSyntax = "yaml-syntax", File, Error, true,
        "the file is not valid YAML, or breaks a parsing limit",
        "The record must be one YAML document. Tabs for indentation, duplicate keys, YAML tags, several documents, merge conflict markers, and files nested deeper than 32 levels or with more than 200,000 nodes are refused. Fix the line the message names.";
    Schema = "schema", Record, Error, false,
        "the record does not match the record JSON Schema",
        "A field has the wrong type or form, or a required field is missing. `exc schema` prints the schema; editors with the YAML language server show the same problem as you type.";
    UnknownField = "unknown-field", Record, Error, false,
        "the record has a field the schema does not know",
        "Records accept only the fields the schema lists, so a typo never passes silently. The message suggests the nearest known field.";
    InvalidDate = "invalid-date", Record, Error, false,
        "a date or timestamp is not a real calendar date",
        "Dates are YYYY-MM-DD and timestamps RFC 3339 in UTC (2026-11-27T09:30:00Z), and they must exist (no 2026-02-30).";
    UnknownType = "unknown-type", Record, Error, false,
        "the record's type is not defined in the policy",
        "`type` must be one of the types under `types:` in exc.yaml. The message suggests the nearest one.";
    IdMismatch = "id-mismatch", Record, Error, true,
        "the record's id differs from its file name",
        "A record lives in exceptions/<id>.yaml. Rename the file or fix the id; ids never change once filed.";
    DuplicateId = "duplicate-id", Record, Error, true,
        "two files carry the same id",
        "Two branches filed records with the same id. Give one of them a new id (and rename its file) before merging.";
    ExpiryBeforeCreation = "expiry-before-creation", Record, Error, false,
        "`expires` is not after `created`",
        "An exception ends after it starts. Set `expires` to a later date.";
    ExpiryOverCap = "expiry-over-cap", Record, Error, true,
        "the exception lasts longer than its type allows",
        "Each type has a longest duration (`max_days` in exc.yaml), counted from creation or from the latest extension. Shorten `expires`, or recertify the exception when it nears its end.";
    MissingRequiredField = "missing-required-field", Record, Error, false,
        "a field the type or risk tier requires is missing",
        "Types and risk tiers can require fields (findings for a vulnerability deferral, a migration plan for a legacy system, evidence for high risk). Add the field the message names.";
    StatusInconsistent = "status-inconsistent", Record, Error, true,
        "the status disagrees with the rest of the record (e.g. closed without a reason)",
        "A closed status (rejected, retired, revoked, expired) needs a `closed` entry, and an open one must not have one. Use the exc commands to change a status, never a hand edit.";
    ApprovalsMissing = "approvals-missing", Trust, Error, true,
        "the record says approved, but a required role has not approved it",
        "The risk tier names the roles that must approve. A record is approved only when each of them approved exactly its current content, with a valid signature where the policy requires one. Ask the roles the message names to run `exc approve`.";
    ChangedAfterApproval = "changed-after-approval", Trust, Error, true,
        "a request field changed after an approval; it needs approving again",
        "An approval covers exactly the content it saw (its digest). A request field edited afterwards voids it until each required role approves again. `exc history ID` shows what changed.";
    SelfApproval = "self-approval", Trust, Error, true,
        "the requester approved their own exception",
        "Separation of duties: nobody decides on their own request, under any alias. People are compared by key, then by a normalised identity (Unicode compatibility form, case, confusable letters, plus-addressing).";
    UnauthorizedApprover = "unauthorized-approver", Trust, Error, true,
        "the approver does not hold the role they approved as",
        "An approver must hold the role in exc.yaml (for `risk_owner`, be the record's risk owner), and a `policy` approval is valid only where the policy routes the type to automatic approval.";
    DuplicateRole = "duplicate-role", Trust, Error, true,
        "one person approved in two roles of the same record",
        "Each role of a tier must be filled by a different person, so two people always look at a high-risk exception. Ask someone else who holds the second role.";
    RiskLowered = "risk-lowered", Trust, Error, true,
        "the record is routed below its type's risk without the higher tier's approval",
        "A record's tier is never below its type's default unless an approver assessed it lower, and then every role of the higher tier must approve that assessment. Approve with the type's tier, or have each higher-tier role assess the lower one.";
    SignatureMissing = "signature-missing", Trust, Error, true,
        "a decision carries no signature, and the policy requires one",
        "With `trust: { signatures: required }`, every approval, rejection, review and closure is signed with the decider's SSH key. Unsigned decisions do not count. Make the decision with exc (it signs with git's user.signingkey or --key).";
    SignatureInvalid = "signature-invalid", Trust, Error, true,
        "a decision's signature does not verify: it was edited, reordered, or signed by someone else",
        "A signature covers the record id, the action, the role, the assessed risk, the decision, its time, the request digest and the previous decision. Any edit to those breaks it. Restore the decision as it was signed, or make it again.";
    SignatureUnknownKey = "signature-unknown-key", Trust, Error, true,
        "a decision is signed with a key the policy does not list for its signer",
        "The policy (roles, or its allowed_signers file) lists each person's public keys. A decision signed by another key does not count. Add the key to the policy through a policy change the owners approve, or sign with the listed key.";
    SignatureRevoked = "signature-revoked", Trust, Warning, false,
        "a decision is signed with a key the policy no longer lists (removed, or past its valid-before): it no longer counts",
        "Removing a key from the policy (or giving it a `valid-before`) revokes it: what it signed stops counting, and a record it approved is requested again until its approver approves once more with a key that counts (`exc approve ID`). On a closed record nothing follows, and nothing is reported. New decisions signed with such a key are refused outright (`signature-unknown-key`, by `exc check --base` and `exc audit`).";
    TrustRootMismatch = "trust-root-mismatch", Trust, Error, true,
        "the policy does not descend from the trust root pinned outside the repository",
        "CI can pin the registry's root of trust (`--trust-root`, the environment variable EXC_TRUST_ROOT, the action's `trust-root` input): the policy owners' key fingerprints (SHA256:…) or the digest of a trusted policy (sha256:…). The policy in force must be that policy, be approved by those keys, or be reached from it by approved changes. Anything else is a policy someone replaced without its owners, e.g. by a direct push. Restore the policy, or, if the owners changed on purpose, update the pin.";
    RoleRemoved = "role-removed", Trust, Warning, false,
        "a decision by someone the policy no longer lists in the role they decided as: it no longer counts",
        "Taking someone out of a role works as revoking a key does: what they approved in that role stops counting, so an open record they approved is requested again until someone who holds the role approves it (`exc approve ID`), and the warning goes. On a closed record nothing follows, and nothing is reported. A decision new on a pull request by someone without the role is an error (`unauthorized-approver`), as in the audit.";
    OwnerKeysExpire = "owner-keys-expire", Policy, Warning, false,
        "every key of the policy's owners has a valid-before: after the last one, no change to the policy can be approved",
        "The owners of the policy (`trust.owners`, default ciso) approve every change to it with their keys. When each of their keys carries a `valid-before` in the allowed_signers file, the policy locks once the last one passes: nobody could approve the change that lists a new key. List the next key for an owner (a change the owners approve) before that date. A policy that is already locked can only start over from a new trust root pinned outside the repository.";
    DecisionTime = "decision-time", Trust, Error, true,
        "a decision is dated before the request, in the future, or out of order",
        "A decision's time is when it was made. It cannot precede the request, lie in the future, or come before the decision it follows.";
    RequesterMismatch = "requester-mismatch", Trust, Error, true,
        "the requester is not who committed or signed the request",
        "A request names its requester, and that person must have filed it (committed it or signed it). Otherwise anyone could file in a colleague's name and approve it themselves.";
    ApprovalCommittedByOther = "approval-committed-by-other", History, Error, true,
        "an unsigned approval or review was committed by someone other than the person it names",
        "Unsigned decisions are attributed by the git author who committed them, so merge with a merge commit or a rebase. Where decisions are signed, the signature is what counts, and a squash merge is fine.";
    RecordDeleted = "record-deleted", History, Error, true,
        "a record file was deleted; records are closed, never deleted",
        "The registry is an audit trail. Close a record with `exc retire` or `exc revoke`, never delete its file. Restore the file from git.";
    RecordRenamed = "record-renamed", History, Error, true,
        "a record was renamed with its id changed",
        "Ids never change once filed: approvals and history refer to them. Restore the old id.";
    LifecycleSkipped = "lifecycle-skipped", History, Error, true,
        "a status change skipped a step of the lifecycle (e.g. requested to approved with no approval, or a closed record reopened)",
        "Statuses change only through the lifecycle: requested → approved (when every role approved) → retired, revoked or expired; requested → rejected. A closed record never reopens. File a new request instead.";
    DecisionRewritten = "decision-rewritten", History, Error, true,
        "a decision already made was edited or removed",
        "Approvals, reviews and closures are appended, never edited. The finding names the fields that changed. Restore the decision as it was.";
    PolicyUnapproved = "policy-unapproved", History, Error, true,
        "exc.yaml changed without the approval of the previous policy's owners",
        "The policy is the root of trust. A change takes effect only when the roles the previous policy names as owners (`trust.owners`, default ciso) have approved exactly it, at a version higher than the one in force, with `exc policy approve` (an approval of an older version, or from another registry, never counts again). Until then, the previous policy applies. The way out: an owner runs `exc policy approve --commit` on the change's branch before it merges (the keys file is committed with it); or exc.yaml goes back to the policy in force. A blank first policy, whose owner roles nobody holds with a key, is not a root yet: the first policy with such an owner is trusted on first use in its place. For a registry adopted with old history, name a commit on the protected branch as `trust.audit_from` in a change the owners approve, and pin the trust root in CI (`exc keys --format trust-root`).";
    Symlink = "symlink", History, Error, true,
        "exc.yaml, exceptions/ or a record is a symbolic link",
        "A symbolic link could point the registry at files nobody reviews. Commit regular files and directories.";
    Expired = "expired", Gate, Warning, false,
        "an approved exception is past its expiry date and still marked approved",
        "An exception is active through its `expires` day. Run `exc expire --apply` (nightly in CI) to close it, or recertify it before it lapses. `exc check --fail-on-expired` makes this an error.";
    ReviewOverdue = "review-overdue", Gate, Warning, false,
        "an approved exception's recertification is overdue",
        "Exceptions are recertified every `review.interval_days` (90). Run `exc recertify ID`. `exc check --fail-on-review-overdue` makes this an error.";
    ExpiringSoon = "expiring-soon", Gate, Warning, false,
        "an approved exception expires within the warning window",
        "Shown with `exc check --warn-within DAYS`. Recertify it or plan for it to close.";
    ReviewDueSoon = "review-due-soon", Gate, Warning, false,
        "a recertification falls due within the warning window",
        "Shown with `exc check --warn-within DAYS`. Run `exc recertify ID` before the date.";
    SlaBreach = "sla-breach", Gate, Warning, false,
        "a request has waited for a decision longer than its SLA",
        "Requests are decided within `sla.urgent_hours` (24) or `sla.standard_hours` (120). `exc remind` tells the approvers. `exc check --fail-on-sla` makes this an error.";
    AttachmentOutsideRepo = "attachment-outside-repo", Record, Error, true,
        "an attachment is not evidence: a path outside the repository, missing, a symbolic link, or not an https URL",
        "Evidence is a file inside the repository (a regular file that exists) or an https URL. Anything else (`..`, absolute paths, file:, http:, javascript:) does not count as evidence.";
    ShadowSuppression = "shadow-suppression", Reconcile, Error, false,
        "a scanner suppression (an ignore-file entry or an inline comment) that no active exception governs",
        "An entry in .trivyignore, .snyk, osv-scanner.toml, .grype.yaml, .nsprc or deny.toml, or an inline `# nosec`, `nosemgrep`, `checkov:skip`, `trivy:ignore`, `noqa: S…`, `nolint:gosec` or `eslint-disable … security/…`, hides a finding without an approved exception: nobody decided it and it never lapses. Cite an active exception's id (EXC-…) in the entry's reason or the comment, and list the rule in that exception's findings. `exc import` turns ignore-file entries into requests.";
    ExpiredSuppression = "expired-suppression", Reconcile, Error, false,
        "a scanner suppression cites an exception that is not active",
        "The suppression names an exception that has expired, was closed or rejected, is still only requested, or does not exist. The finding it hides is no longer excepted: remove the suppression (and fix the finding), or renew the exception with `exc recertify`.";
    StaleException = "stale-exception", Reconcile, Warning, false,
        "an active exception covers a finding the scans no longer report",
        "Given the scan results (`exc reconcile --scan FILE`), the finding is gone from the exception's assets: it was fixed, or the asset is gone. Drop the finding from the record, or retire the exception (`exc retire ID`) once the fix is confirmed, so it stops counting and stops suppressing.";
    StaleSuppressions = "stale-suppressions", Gate, Warning, false,
        "a committed suppression file differs from what exc would write today",
        "exc.yaml's `exports:` lists the suppression files the repository keeps (e.g. .trivyignore.yaml). The file differs from what `exc export --all` writes as of the date checked: an exception was approved, changed or lapsed since it was made, or it was edited by hand. Regenerate it with `exc export --all` (the nightly job does) and commit it.";
    MalformedFindingId = "malformed-finding-id", Record, Error, false,
        "a finding names a CVE, GHSA, RUSTSEC, GO or PYSEC advisory in a form its database never writes",
        "Scanners match advisory ids exactly, so a misspelt id excepts nothing and its suppression hides nothing, or the wrong thing. Write the id as the advisory database does: CVE-2026-12345 (four or more digits), GHSA-xxxx-xxxx-xxxx (lower case), RUSTSEC-2026-0001, GO-2026-1234, PYSEC-2026-12.";
    UnscopedFinding = "unscoped-finding", Record, Warning, false,
        "a vulnerability deferral covers a finding with no scope, so its suppression applies to every scanned target",
        "A finding in a record may name the package (`purl`, or `package` and `version`) and the path or target it applies to, and an asset in exc.yaml may name the scan targets it stands for (`assets.targets`). Without either, the exported suppression (Trivy, Snyk, osv-scanner, Grype, SARIF) hides the CVE in every image and repository scanned with the file. Scope it: `--finding 'CVE-… purl=pkg:npm/x@1.2.3 path=app/**'`, or list the asset's targets in exc.yaml.";
    UnknownAsset = "unknown-asset", Record, Warning, false,
        "a record names an asset the inventory (assets.inventory) does not hold",
        "exc.yaml's `assets.inventory` names the CMDB export the assets-excepted KPI counts against. An asset it does not hold is never counted, and is often a misspelt name (the message suggests the nearest ones). Fix the name (an approved record then needs approving again), or add the asset to the inventory. A warning, since a CMDB export can lag a new asset by a day; `severity: { unknown-asset: error }` makes the gate refuse it.";
    PolicyInvalid = "policy-invalid", Policy, Error, true,
        "exc.yaml is not a valid policy",
        "The policy must match `exc schema policy` and make sense (known roles in routing, a lifetime share between 0 and 1, …). Every command stops (exit 2) until it is fixed.";
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Code, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Code {
    type Err = String;

    fn from_str(s: &str) -> Result<Code, String> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s).ok_or_else(|| {
            let hint = super::suggest::closest(s, Code::ALL.iter().map(|c| c.as_str()))
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_else(|| "; `exc explain` lists them".to_string());
            format!("unknown finding code `{s}`{hint}")
        })
    }
}

/// One problem, at one place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// The file, relative to the registry root.
    pub path: String,
    /// A JSON pointer to the field in the file (`""` for the whole file).
    pub pointer: String,
    /// Known up front only for problems found while reading the file itself;
    /// otherwise the renderer works it out from `pointer`.
    #[serde(skip)]
    pub position: Option<Position>,
    /// The record's id, when it is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The commit that did it, for findings in the history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub message: String,
}

impl Finding {
    /// A finding at a field (JSON pointer) of a file, with the code's default severity.
    pub fn new(code: Code, path: &str, pointer: &str, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: code.default_severity(),
            path: path.to_string(),
            pointer: pointer.to_string(),
            position: None,
            id: None,
            commit: None,
            message: message.into(),
        }
    }

    /// A finding at a known line and column (the file could not be parsed).
    pub fn at(code: Code, path: &str, at: Position, message: impl Into<String>) -> Finding {
        Finding { position: Some(at), ..Finding::new(code, path, "", message) }
    }

    pub fn with_id(mut self, id: &str) -> Finding {
        self.id = Some(id.to_string());
        self
    }

    pub fn with_commit(mut self, commit: &str) -> Finding {
        self.commit = Some(commit.to_string());
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Severity overrides from the policy (`severity:` in exc.yaml): code → severity.
/// Codes that guard integrity can be raised but never lowered; the policy
/// checks that when it is read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Overrides(pub BTreeMap<String, Severity>);

impl Overrides {
    /// The severity `code` gets: the override when there is one, else `default`.
    pub fn severity(&self, code: Code, default: Severity) -> Severity {
        match self.0.get(code.as_str()) {
            Some(s) if code.guards_integrity() && s.rank() < default.rank() => default,
            Some(s) => *s,
            None => default,
        }
    }

    /// Applies the overrides: changes severities and drops allowed codes.
    pub fn apply(&self, findings: &mut Vec<Finding>) {
        if self.0.is_empty() {
            return;
        }
        for f in findings.iter_mut() {
            f.severity = self.severity(f.code, f.severity);
        }
        findings.retain(|f| f.severity != Severity::Allow);
    }

    /// Problems with the overrides themselves: unknown codes, and attempts to
    /// lower a code that guards integrity. Each is (code name, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, sev) in &self.0 {
            match name.parse::<Code>() {
                Err(m) => out.push((name.clone(), m)),
                Ok(code) if code.guards_integrity() && sev.rank() < code.default_severity().rank() => out.push((
                    name.clone(),
                    format!("`{name}` guards the integrity of decisions and cannot be lowered to {}", sev.as_str()),
                )),
                Ok(_) => {}
            }
        }
        out
    }
}

/// Where a finding's field is: turns (file, JSON pointer) into a line and
/// column when the finding is shown. The registry implements it over the
/// texts it read; the model never parses.
pub trait Locate {
    fn locate(&self, path: &str, pointer: &str) -> Position;
}

/// No texts at hand: every field is at the start of its file.
pub struct Nowhere;

impl Locate for Nowhere {
    fn locate(&self, _: &str, _: &str) -> Position {
        Position::START
    }
}

impl Finding {
    /// The line and column to show: known up front, or looked up.
    pub fn position(&self, locate: &dyn Locate) -> Position {
        self.position.unwrap_or_else(|| locate.locate(&self.path, &self.pointer))
    }
}

/// Escapes a JSON pointer token (RFC 6901).
pub fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Sorts findings by file, then field, then code, so output is stable.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (&a.path, a.position, &a.pointer, a.code, &a.commit).cmp(&(&b.path, b.position, &b.pointer, b.code, &b.commit))
    });
}

/// How many errors and warnings.
pub fn counts(findings: &[Finding]) -> (usize, usize) {
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = findings.iter().filter(|f| f.severity == Severity::Warning).count();
    (errors, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_explained() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-')));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
        for c in Code::ALL {
            assert!(!c.summary().is_empty() && c.explanation().len() > c.summary().len() / 2, "{c}");
            assert_eq!(c.as_str().parse::<Code>(), Ok(*c));
        }
    }

    #[test]
    fn overrides_raise_and_lower_but_never_lower_integrity() {
        let o = Overrides(BTreeMap::from([
            ("expiring-soon".to_string(), Severity::Error),
            ("unknown-field".to_string(), Severity::Warning),
            ("signature-invalid".to_string(), Severity::Allow),
            ("sla-breach".to_string(), Severity::Allow),
        ]));
        assert_eq!(o.severity(Code::ExpiringSoon, Severity::Warning), Severity::Error);
        assert_eq!(o.severity(Code::UnknownField, Severity::Error), Severity::Warning);
        assert_eq!(o.severity(Code::SignatureInvalid, Severity::Error), Severity::Error);
        let problems = o.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].1.contains("cannot be lowered"), "{problems:?}");
        let mut fs = vec![
            Finding::new(Code::SlaBreach, "a", "", "x").with_severity(Severity::Warning),
            Finding::new(Code::Expired, "a", "", "y"),
        ];
        o.apply(&mut fs);
        assert_eq!(fs.len(), 1);
        assert_eq!(fs[0].code, Code::Expired);
    }

    #[test]
    fn unknown_codes_are_named_with_a_hint() {
        let err = "expird".parse::<Code>().unwrap_err();
        assert!(err.contains("did you mean `expired`"), "{err}");
    }
}
