//! Findings: problems in records, as values with a stable code, a severity and a place.
//!
//! A finding is not an error of the tool: the tool did its job and found
//! something wrong in the registry. Errors (`crate::error`) are for when it could not.

use serde::Serialize;

use crate::yaml::Position;

/// How bad a finding is. Errors fail `validate`/`check`; warnings are shown only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $name:literal : $doc:literal,)*) => {
        /// The stable, kebab-case identity of a kind of finding.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// One line on what the finding means.
            pub fn description(self) -> &'static str {
                match self { $(Code::$variant => $doc,)* }
            }
        }
    };
}

codes! {
    Unreadable = "unreadable": "the file cannot be read as a record (not a regular file, too large, not UTF-8, or an I/O error)",
    YamlSyntax = "yaml-syntax": "the file is not valid YAML, or breaks a parsing limit",
    Schema = "schema": "the record does not match the record JSON Schema",
    UnknownField = "unknown-field": "the record has a field the schema does not know",
    InvalidDate = "invalid-date": "a date or timestamp is not a real calendar date",
    UnknownType = "unknown-type": "the record's type is not defined in the policy",
    IdMismatch = "id-mismatch": "the record's id differs from its file name",
    DuplicateId = "duplicate-id": "two files carry the same id",
    ExpiryBeforeCreation = "expiry-before-creation": "`expires` is not after `created`",
    ExpiryOverCap = "expiry-over-cap": "the exception lasts longer than its type allows",
    MissingRequiredField = "missing-required-field": "a field the type or risk tier requires is missing",
    StatusInconsistent = "status-inconsistent": "the status disagrees with the rest of the record (e.g. closed without a reason)",
    ApprovalsMissing = "approvals-missing": "the record says approved, but a required role has not approved it",
    ChangedAfterApproval = "changed-after-approval": "a request field changed after an approval; it needs approving again",
    SelfApproval = "self-approval": "the requester approved their own exception",
    UnauthorizedApprover = "unauthorized-approver": "the approver does not hold the role they approved as",
    ApprovalCommittedByOther = "approval-committed-by-other": "an approval or review was committed by someone other than the person it names",
    RecordDeleted = "record-deleted": "a record file was deleted; records are closed, never deleted",
    LifecycleSkipped = "lifecycle-skipped": "a status change skipped a step of the lifecycle (e.g. requested to approved with no approval)",
    Expired = "expired": "an approved exception is past its expiry date and still marked approved",
    ReviewOverdue = "review-overdue": "an approved exception's recertification is overdue",
    ExpiringSoon = "expiring-soon": "an approved exception expires within the warning window",
    ReviewDueSoon = "review-due-soon": "a recertification falls due within the warning window",
    SlaBreach = "sla-breach": "a request has waited for a decision longer than its SLA",
    AttachmentOutsideRepo = "attachment-outside-repo": "an attachment path leaves the repository (absolute, or through `..`)",
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem, at one place.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// The file, relative to the registry root where possible.
    pub path: String,
    pub line: u32,
    pub column: u32,
    /// The record's id, when it is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub message: String,
}

impl Finding {
    pub fn error(code: Code, path: &str, at: Position, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: Severity::Error,
            path: path.to_string(),
            line: at.line,
            column: at.col,
            id: None,
            message: message.into(),
        }
    }

    pub fn warning(mut self) -> Finding {
        self.severity = Severity::Warning;
        self
    }

    pub fn with_id(mut self, id: &str) -> Finding {
        self.id = Some(id.to_string());
        self
    }
}

/// Sorts findings by file, then position, then code, so output is stable.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| (&a.path, a.line, a.column, a.code).cmp(&(&b.path, b.line, b.column, b.code)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-')));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
    }
}
