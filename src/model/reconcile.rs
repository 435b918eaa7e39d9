//! Reconciling the exceptions with what the repository and the scans say:
//! suppressions that no active exception governs (an ignore-file entry or an
//! inline `# nosec` that cites none, or cites one that is not active), and
//! active exceptions whose findings the scans no longer report.
//!
//! Pure: the caller reads the files and scan results (`crate::scan`) and
//! hands over what it found.

use chrono::NaiveDate;
use serde::Serialize;

use super::finding::{Code, Finding, Position};
use super::record::{Exception, Record, Status};
use super::suppression::glob;

/// How an evidence pack's `MANIFEST` begins. A folder holding one is exc's
/// own output (it quotes the records and the policy), not the repository's
/// code, so the search for suppressions does not go into it.
pub const EVIDENCE_PACK_MARK: &str = "# exc evidence pack";

/// Where a suppression was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SiteKind {
    /// An entry of an ignore file (`.trivyignore`, `.snyk`, …).
    IgnoreFile,
    /// An inline comment in source or IaC (`# nosec`, `#checkov:skip=`, …).
    Inline,
}

/// One suppression in the repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Site {
    /// Relative to the repository root, `/`-separated.
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub kind: SiteKind,
    /// The tool that honours it (`trivy`, `semgrep`, `bandit`, …).
    pub tool: String,
    /// The finding or rule it hides, when it names one (`CVE-…`, `CKV_AWS_20`).
    pub rule: Option<String>,
    /// The exception ids it cites.
    pub cited: Vec<String>,
    /// Its reason or comment as written, for messages and `exc import`.
    pub reason: Option<String>,
    /// Its expiry as written, when the format has one.
    pub expires: Option<NaiveDate>,
    /// The package it is scoped to, when the format says (a purl or name@version).
    pub package: Option<String>,
    /// For an ignore-file entry, everything that decides what it hides (its
    /// id, packages, paths and the like), as canonical JSON, without its
    /// free text and its expiry: two entries with the same scope hide the
    /// same thing until their expiries.
    pub scope: Option<String>,
}

/// The findings about `sites`, found in the application repository
/// `repository` (its name, when known): each must cite an exception that is
/// approved and active on `as_of` and, when the site names a rule, that
/// covers it there (a finding scoped to another repository does not).
pub fn judge(sites: &[Site], records: &[Record], as_of: NaiveDate, repository: Option<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in sites {
        let at = Position { line: s.line, col: s.col };
        let what = match &s.rule {
            Some(rule) => format!("{} suppression of {rule}", s.tool),
            None => format!("{} suppression", s.tool),
        };
        if s.cited.is_empty() {
            out.push(Finding::at(
                Code::ShadowSuppression,
                &s.file,
                at,
                format!(
                    "{what} cites no exception: nobody approved it and it never lapses; file one and cite its id in {} (`exc import --rewrite` does both)",
                    if s.kind == SiteKind::Inline { "this comment" } else { "the entry" }
                ),
            ));
            continue;
        }
        let found: Vec<(&String, Option<&Exception>)> = s
            .cited
            .iter()
            .map(|id| (id, records.iter().map(|r| &r.exception).find(|e| e.id.eq_ignore_ascii_case(id))))
            .collect();
        let active: Vec<&Exception> = found.iter().filter_map(|(_, e)| *e).filter(|e| e.is_active(as_of)).collect();
        if active.is_empty() {
            let why: Vec<String> = found
                .iter()
                .map(|(id, e)| match e {
                    None => format!("{id} does not exist"),
                    Some(e) if e.status == Status::Approved => format!("{id} expired on {}", e.expires),
                    Some(e) => format!("{id} is {}", e.status),
                })
                .collect();
            let pending = found.iter().any(|(_, e)| e.is_some_and(|e| e.status == Status::Requested));
            let advice = if pending {
                "it counts once the request is approved (`exc approve`)"
            } else {
                "remove it (and fix the finding), or renew the exception"
            };
            out.push(Finding::at(
                Code::ExpiredSuppression,
                &s.file,
                at,
                format!("{what} cites no active exception ({}): {advice}", why.join("; ")),
            ));
            continue;
        }
        let here = |e: &&Exception| applies_in(e, repository);
        let ids: Vec<&str> = active.iter().map(|e| e.id.as_str()).collect();
        let uncovered = match &s.rule {
            Some(rule) => {
                let covering: Vec<&Exception> =
                    active.iter().copied().filter(|e| e.findings.iter().any(|f| same_rule(f.id(), rule))).collect();
                if covering.is_empty() {
                    Some(format!(
                        "cites {}, which does not cover {rule}: add it to the exception's findings, or file one for it",
                        ids.join(", ")
                    ))
                } else if !covering
                    .iter()
                    .any(|e| e.findings.iter().any(|f| same_rule(f.id(), rule) && f.applies_in(repository)))
                {
                    Some(format!(
                        "cites {}, which covers {rule} only in {}, not in {}: file an exception for this repository",
                        ids.join(", "),
                        repositories(&covering, Some(rule)),
                        repository.unwrap_or("this repository")
                    ))
                } else {
                    None
                }
            }
            None if !active.iter().any(here) => Some(format!(
                "cites {}, which applies only in {}, not in {}: file an exception for this repository",
                ids.join(", "),
                repositories(&active, None),
                repository.unwrap_or("this repository")
            )),
            None => None,
        };
        if let Some(why) = uncovered {
            out.push(Finding::at(Code::ShadowSuppression, &s.file, at, format!("{what} {why}")));
        }
    }
    out
}

/// Whether an exception applies in the application repository `name`: it
/// has no findings (no scope at all), or one of them applies there.
pub fn applies_in(e: &Exception, name: Option<&str>) -> bool {
    e.findings.is_empty() || e.findings.iter().any(|f| f.applies_in(name))
}

/// The repositories `records`' findings (of `rule`, when given) name, for messages.
fn repositories(records: &[&Exception], rule: Option<&str>) -> String {
    let mut names: Vec<&str> = records
        .iter()
        .flat_map(|e| e.findings.iter())
        .filter(|f| rule.is_none_or(|r| same_rule(f.id(), r)))
        .filter_map(|f| match f {
            super::record::Covered::Scoped(s) => s.repository.as_deref(),
            super::record::Covered::Id(_) => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join(", ")
}

/// Whether a record's finding and a suppression's rule name the same thing
/// (case-insensitive; a tool may prefix a rule with its rule file's path).
fn same_rule(finding: &str, rule: &str) -> bool {
    finding.eq_ignore_ascii_case(rule)
        || rule.rsplit_once('.').is_some_and(|(_, tail)| tail.eq_ignore_ascii_case(finding))
        || rule.to_ascii_uppercase().strip_prefix("AVD-").is_some_and(|r| r.eq_ignore_ascii_case(finding))
}

/// One finding a scanner reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reported {
    /// The CVE or rule id, and any aliases the scanner gives (GHSA, …).
    pub ids: Vec<String>,
    /// Where: a scan target or a file path.
    pub location: Option<String>,
    /// The package URL, when the scanner gives one.
    pub purl: Option<String>,
}

/// Active exceptions whose findings the scans no longer report (where the
/// finding is scoped, on its package or path): each such finding could be
/// dropped, and a record with none left could be retired. Only the findings
/// `judged` picks are looked at (those the scanned repository is meant to show).
pub fn stale(
    records: &[Record],
    reported: &[Reported],
    as_of: NaiveDate,
    judged: impl Fn(&super::record::Covered) -> bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in records.iter().filter(|r| r.exception.is_active(as_of)) {
        let e = &r.exception;
        let unseen: Vec<(usize, &str)> = e
            .findings
            .iter()
            .enumerate()
            .filter(|(_, f)| judged(f))
            .filter(|(_, f)| {
                let scope = f.scope();
                !reported.iter().any(|rep| {
                    rep.ids.iter().any(|id| same_rule(f.id(), id))
                        && scope.path.as_deref().is_none_or(|g| rep.location.as_deref().is_some_and(|l| glob(g, l)))
                        && scope
                            .purl
                            .as_deref()
                            .is_none_or(|p| rep.purl.as_deref().is_some_and(|rp| purl_matches(p, rp)))
                })
            })
            .map(|(i, f)| (i, f.id()))
            .collect();
        let all = unseen.len() == e.findings.len();
        if unseen.is_empty() {
            continue;
        }
        for (i, id) in unseen {
            let advice = if all {
                format!(
                    "none of {}'s findings appear in the scans: retire it (`exc retire {}`) once the fix is confirmed",
                    e.id, e.id
                )
            } else {
                "drop it from the exception's findings once the fix is confirmed".to_string()
            };
            out.push(
                Finding::new(
                    Code::StaleException,
                    &r.path,
                    &format!("/findings/{i}"),
                    format!("{id} no longer appears in the scans given; {advice}"),
                )
                .with_id(&e.id),
            );
        }
    }
    out
}

/// A record's package URL (maybe without version or qualifiers) matches a
/// reported one: same type, namespace and name, and version when it has one.
fn purl_matches(want: &str, got: &str) -> bool {
    let strip = |p: &str| p.split(['?', '#']).next().unwrap_or(p).to_ascii_lowercase();
    let (want, got) = (strip(want), strip(got));
    let has_version = |p: &str| p.rfind('@').is_some_and(|at| at > p.rfind('/').unwrap_or(0));
    if has_version(&want) {
        want == got
    } else {
        got == want || got.rsplit_once('@').is_some_and(|(name, _)| name == want)
    }
}

/// The note an imported record carries, which also makes importing twice
/// create nothing new. Imported into a registry in another repository, the
/// site is named with its repository (`web-shop:app/main.py`), since
/// repositories hold files of the same names.
pub fn import_key(s: &Site, repository: Option<&str>) -> String {
    let file = match repository {
        Some(r) => format!("{r}:{}", s.file),
        None => s.file.clone(),
    };
    format!("Imported by exc import from {file} ({} {})", s.tool, s.rule.as_deref().unwrap_or("any rule"))
}

/// Whether a rule id names a vulnerability (so the request is a deferral).
fn is_vulnerability(rule: &str) -> bool {
    ["CVE-", "GHSA-", "RUSTSEC-", "PYSEC-", "GO-", "OSV-", "SNYK-"]
        .iter()
        .any(|p| rule.to_ascii_uppercase().starts_with(p))
        || rule.chars().all(|c| c.is_ascii_digit())
}

/// What `exc import` files for one suppression, or one file's suppressions
/// of one tool (`sites` non-empty): a request naming what was suppressed,
/// where, the reason and the expiry it had, and who last changed it.
pub struct Import<'a> {
    pub sites: Vec<&'a Site>,
    pub kind: String,
    pub title: String,
    pub justification: String,
    pub findings: Vec<super::record::Covered>,
    pub expires: Option<NaiveDate>,
    pub notes: String,
}

/// The import of `sites`: `kind` when given, else the vulnerability
/// deferral for vulnerability ids (where the policy has it) or `other`.
/// `blame` is who last changed each site's line, and when, if git knows.
/// From an application repository governed by a registry elsewhere
/// (`central`, its name), each finding is scoped to that repository.
pub fn import<'a>(
    sites: Vec<&'a Site>,
    kind: Option<&str>,
    policy: &super::policy::Policy,
    today: NaiveDate,
    blame: &[Option<(String, NaiveDate)>],
    central: Option<&str>,
) -> Import<'a> {
    use super::record::{Covered, Scoped};
    let first = sites[0];
    let rules: Vec<String> = sites.iter().map(|s| s.rule.clone().unwrap_or_else(|| s.tool.clone())).collect();
    let vulnerable = rules.iter().all(|r| is_vulnerability(r));
    let kind = kind.map(String::from).unwrap_or_else(|| {
        let pick = if vulnerable { "vulnerability-deferral" } else { "other" };
        if policy.types.contains_key(pick) {
            pick.to_string()
        } else {
            policy.types.keys().next().cloned().unwrap_or_default()
        }
    });
    let findings = sites
        .iter()
        .zip(&rules)
        .map(|(s, rule)| {
            let (purl, package, version) = match s.package.as_deref() {
                Some(p) if p.starts_with("pkg:") => (Some(p.to_string()), None, None),
                Some(p) => match p.rsplit_once('@').filter(|(n, _)| !n.is_empty()) {
                    Some((n, v)) => (None, Some(n.to_string()), Some(v.to_string())),
                    None => (None, Some(p.to_string()), None),
                },
                None => (None, None, None),
            };
            let path = (s.kind == SiteKind::Inline).then(|| s.file.clone());
            let repository = central.map(str::to_string);
            let scoped = Scoped { id: rule.clone(), package, path, purl, repository, version };
            if scoped.package.is_none() && scoped.path.is_none() && scoped.purl.is_none() && scoped.repository.is_none()
            {
                Covered::Id(rule.clone())
            } else {
                Covered::Scoped(scoped)
            }
        })
        .collect();
    let cap = policy.types.get(&kind).map(|t| super::time::add_days(today, t.max_days.into()));
    let expires =
        sites.iter().filter_map(|s| s.expires).max().filter(|d| *d > today).map(|d| cap.map_or(d, |c| d.min(c)));
    let what = match (sites.len(), &first.rule) {
        (1, Some(rule)) => format!("{} suppression of {rule}", first.tool),
        (1, None) => format!("{} suppression", first.tool),
        (n, _) => format!("{n} {} suppressions", first.tool),
    };
    let place = match central {
        Some(r) => format!("{r}:{}", first.file),
        None => first.file.clone(),
    };
    let title: String = format!("{what} in {place}").chars().take(200).collect();
    let reasons: Vec<String> = sites.iter().filter_map(|s| s.reason.clone()).filter(|r| !r.is_empty()).collect();
    let justification = if reasons.is_empty() {
        format!("Imported from {place}, where it gave no reason: replace this with why the finding is accepted.")
    } else {
        format!("Imported from {place}: {}", reasons.join("; "))
    };
    let mut notes = Vec::new();
    for (s, who) in sites.iter().zip(blame) {
        let by = match who {
            Some((author, day)) => format!("; line {} last changed by {author} on {day} (git blame)", s.line),
            None => format!("; line {}", s.line),
        };
        notes.push(format!("{}{by}", import_key(s, central)));
    }
    Import { sites, kind, title, justification, findings, expires, notes: notes.join("\n") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::Covered;
    use crate::model::testkit::*;

    fn site(rule: Option<&str>, cited: &[&str]) -> Site {
        Site {
            file: "app/main.py".into(),
            line: 3,
            col: 5,
            kind: SiteKind::Inline,
            tool: "bandit".into(),
            rule: rule.map(String::from),
            cited: cited.iter().map(|s| s.to_string()).collect(),
            reason: None,
            expires: None,
            package: None,
            scope: None,
        }
    }

    fn records() -> Vec<Record> {
        let mut ok = approved(); // EXC-0001, CVE-2026-0001, through 2026-03-01
        ok.findings.push(Covered::Id("B101".into()));
        let mut rejected = requested("other", "2026-01-01", "2026-03-01");
        rejected.id = "EXC-0002".into();
        rejected.status = Status::Rejected;
        vec![
            Record::new("exceptions/EXC-0001.yaml".into(), "EXC-0001".into(), ok, "".into()),
            Record::new("exceptions/EXC-0002.yaml".into(), "EXC-0002".into(), rejected, "".into()),
        ]
    }

    #[test]
    fn each_kind_of_ungoverned_suppression() {
        let rs = records();
        let codes = |s: Site, as_of: &str| {
            judge(&[s], &rs, day(as_of), Some("app")).into_iter().map(|f| (f.code, f.message)).collect::<Vec<_>>()
        };
        assert_eq!(codes(site(Some("B101"), &["EXC-0001"]), "2026-02-01"), vec![]);
        assert_eq!(codes(site(None, &["exc-0001"]), "2026-02-01"), vec![], "ids in any case");
        let shadow = codes(site(Some("B101"), &[]), "2026-02-01");
        assert_eq!(shadow[0].0, Code::ShadowSuppression);
        let lapsed = codes(site(Some("B101"), &["EXC-0001"]), "2026-03-02");
        assert_eq!(lapsed[0].0, Code::ExpiredSuppression);
        assert!(lapsed[0].1.contains("EXC-0001 expired on 2026-03-01"), "{}", lapsed[0].1);
        let rejected = codes(site(None, &["EXC-0002", "EXC-9999"]), "2026-02-01");
        assert!(rejected[0].1.contains("EXC-0002 is rejected; EXC-9999 does not exist"), "{}", rejected[0].1);
        let other = codes(site(Some("B602"), &["EXC-0001"]), "2026-02-01");
        assert!(other[0].1.contains("does not cover B602"), "{}", other[0].1);
        assert_eq!(codes(site(Some("rules.b101"), &["EXC-0001"]), "2026-02-01"), vec![], "a rule file's prefix");
    }

    #[test]
    fn a_finding_scoped_to_a_repository_governs_only_there() {
        let mut e = approved(); // EXC-0001, through 2026-03-01
        e.findings = vec!["B101 repository=payments-*".parse().unwrap()];
        let rs = vec![Record::new("exceptions/EXC-0001.yaml".into(), "EXC-0001".into(), e, "".into())];
        let judged = |rule: Option<&str>, repo: Option<&str>| {
            judge(&[site(rule, &["EXC-0001"])], &rs, day("2026-02-01"), repo)
                .into_iter()
                .map(|f| (f.code, f.message))
                .collect::<Vec<_>>()
        };
        assert_eq!(judged(Some("B101"), Some("payments-api")), vec![]);
        assert_eq!(judged(Some("B101"), Some("Payments-API")), vec![], "names in any case");
        assert_eq!(judged(None, Some("payments-api")), vec![]);
        let elsewhere = judged(Some("B101"), Some("web-shop"));
        assert_eq!(elsewhere[0].0, Code::ShadowSuppression);
        assert!(elsewhere[0].1.contains("covers B101 only in payments-*, not in web-shop"), "{}", elsewhere[0].1);
        let any = judged(None, Some("web-shop"));
        assert!(any[0].1.contains("applies only in payments-*"), "{}", any[0].1);
        assert_eq!(judged(Some("B101"), None)[0].0, Code::ShadowSuppression, "an unknown repository is not payments");
    }

    #[test]
    fn stale_findings_are_those_the_scans_no_longer_report() {
        let rs = records();
        let seen = |id: &str| Reported { ids: vec![id.into()], location: Some("app".into()), purl: None };
        let codes = |rep: &[Reported]| {
            stale(&rs, rep, day("2026-02-01"), |_| true).into_iter().map(|f| f.pointer).collect::<Vec<_>>()
        };
        assert_eq!(codes(&[seen("CVE-2026-0001"), seen("B101")]), Vec::<String>::new());
        assert_eq!(codes(&[seen("CVE-2026-0001")]), vec!["/findings/1".to_string()]);
        let all = stale(&rs, &[], day("2026-02-01"), |_| true);
        assert_eq!(all.len(), 2);
        assert!(all[0].message.contains("retire it"), "{}", all[0].message);
        // Closed and lapsed records are not judged.
        assert!(stale(&rs, &[], day("2026-03-02"), |_| true).is_empty());
    }

    #[test]
    fn package_urls_match_by_name_and_version_when_given() {
        assert!(purl_matches("pkg:npm/lodash@4.17.20", "pkg:npm/lodash@4.17.20"));
        assert!(!purl_matches("pkg:npm/lodash@4.17.20", "pkg:npm/lodash@4.17.21"));
        assert!(purl_matches("pkg:deb/debian/openssl", "pkg:deb/debian/openssl@3.0.11-1?arch=amd64"));
        assert!(purl_matches("pkg:deb/debian/openssl@3.0.11-1", "pkg:deb/debian/openssl@3.0.11-1?arch=amd64"));
    }
}
