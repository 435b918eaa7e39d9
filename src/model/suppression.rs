//! Scanner suppressions: what each active, approved vulnerability deferral
//! lets a scanner hide, with the scope it applies to and the instant it
//! lapses. Every export format (Trivy, Snyk, osv-scanner, Grype,
//! better-npm-audit, OpenVEX, SARIF) is written from these, so they agree.
//!
//! An exception is active through its `expires` day (UTC), so a suppression
//! lapses at 00:00 UTC the day after: scanners read a date as its first
//! instant, and would otherwise stop a day early.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::finding::{Code, Finding};
use super::measure;
use super::policy::{Policy, Vex};
use super::record::{Covered, Exception, Record, Status};
use super::time;

pub use super::glob::glob;

/// A package, as a package URL names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// The package URL type (`npm`, `deb`, `pypi`, `maven`, …), when known.
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    /// The package URL as written, when there was one.
    pub purl: Option<String>,
}

impl Package {
    /// The name as the ecosystem writes it: `@scope/name` for npm, `group:artifact` for Maven,
    /// `namespace/name` elsewhere.
    pub fn full_name(&self) -> String {
        match (&self.namespace, self.kind.as_deref()) {
            (Some(ns), Some("maven")) => format!("{ns}:{}", self.name),
            (Some(ns), _) => format!("{ns}/{}", self.name),
            (None, _) => self.name.clone(),
        }
    }
}

/// One finding one exception lets a scanner hide.
#[derive(Clone, Debug)]
pub struct Suppression<'a> {
    pub record: &'a Exception,
    /// The CVE or rule id.
    pub id: String,
    /// The finding's own path glob (a file inside what is scanned).
    pub path: Option<String>,
    /// The scan targets the record's assets stand for (images, repositories, hosts).
    pub targets: Vec<String>,
    pub package: Option<Package>,
    /// 00:00 UTC the day after the exception's last day.
    pub lapses: DateTime<Utc>,
    /// `EXC-0001: title (risk owner …, until 2027-02-08)`.
    pub reason: String,
    /// The policy says this type's approved records mean "not affected" (for VEX).
    pub vex: Option<Vex>,
    /// The application repository the finding is scoped to (a name or glob), if any.
    pub repository: Option<String>,
}

impl Suppression<'_> {
    /// Whether it names where it applies (a package, a path or targets).
    pub fn scoped(&self) -> bool {
        self.package.is_some() || self.path.is_some() || !self.targets.is_empty()
    }

    /// The globs a scanner that matches paths and targets alike (Trivy) gets:
    /// the finding's path, else the assets' targets.
    pub fn paths(&self) -> Vec<String> {
        match &self.path {
            Some(p) => vec![p.clone()],
            None => self.targets.clone(),
        }
    }

    /// Whether it covers a finding `rule` (a CVE or rule id, as a scanner
    /// reports it) at `location` (a path or target): the ids agree (a
    /// scanner may prefix a rule id with the dotted path of its rule file),
    /// and the location matches a path glob when there are any.
    pub fn covers(&self, rule: &str, location: Option<&str>) -> bool {
        let same = rule == self.id || rule.strip_suffix(self.id.as_str()).is_some_and(|p| p.ends_with('.'));
        let paths = self.paths();
        same && (paths.is_empty() || location.is_some_and(|l| paths.iter().any(|g| glob(g, l))))
    }
}

/// The records that suppress findings on `as_of`, and those that would but
/// have problems.
pub struct Eligible<'a> {
    /// Valid, approved, active, existing records with findings (of any
    /// type: `findings` are the scanner ids an exception covers), by expiry then id.
    pub clean: Vec<&'a Exception>,
    /// Records that claim to be approved and active but have a finding (any
    /// but `unscoped-finding`, which the export itself reports), or whose
    /// approvals do not stand: they suppress nothing.
    pub flawed: Vec<&'a Record>,
}

/// Whether `r` would hide findings from scanners on `as_of` (`now` for
/// existence) were it sound: it says approved (or did before its approvals
/// failed to stand), it has not expired, and it covers findings. Only such
/// records are weighed by [`eligible`].
pub fn claims(r: &Record, as_of: NaiveDate, now: DateTime<Utc>) -> bool {
    (r.exception.status == Status::Approved || r.unverified)
        && r.exception.expires >= as_of
        && measure::exists(&r.exception, now)
        && !r.exception.findings.is_empty()
}

/// Chooses the records whose findings scanners may hide on `as_of` (`now`
/// for existence), given the registry's findings.
pub fn eligible<'a>(records: &'a [Record], findings: &[Finding], as_of: NaiveDate, now: DateTime<Utc>) -> Eligible<'a> {
    let blocks =
        |r: &Record| r.unverified || findings.iter().any(|f| f.path == r.path && f.code != Code::UnscopedFinding);
    let (flawed, clean): (Vec<&Record>, Vec<&Record>) =
        records.iter().filter(|r| claims(r, as_of, now)).partition(|r| blocks(r));
    let mut clean: Vec<&Exception> = clean.into_iter().map(|r| &r.exception).collect();
    clean.sort_by(|a, b| (a.expires, &a.id).cmp(&(b.expires, &b.id)));
    Eligible { clean, flawed }
}

/// The suppressions of `records` (the caller has chosen the valid, approved,
/// active deferrals), in record order.
pub fn suppressions<'a>(records: &[&'a Exception], policy: &Policy) -> Vec<Suppression<'a>> {
    let mut out = Vec::new();
    for e in records {
        let targets: Vec<String> = policy.assets.targets_of(&e.assets).into_iter().map(String::from).collect();
        let lapses = time::add_days(e.expires, 1).and_time(NaiveTime::MIN).and_utc();
        let reason = format!("{}: {} (risk owner {}, until {})", e.id, e.title, e.risk_owner, e.expires);
        let vex = policy.types.get(&e.kind).and_then(|t| t.vex.clone());
        for f in &e.findings {
            let scope = f.scope();
            out.push(Suppression {
                record: e,
                id: f.id().to_string(),
                path: scope.path,
                repository: scope.repository,
                targets: targets.clone(),
                package: package_of(f),
                lapses,
                reason: reason.clone(),
                vex: vex.clone(),
            });
        }
    }
    out
}

/// The suppressions that apply in the application repository `name`: those
/// whose finding names no repository (they apply in every one) or names it
/// (a glob, any case), as `exc reconcile` counts them there.
pub fn in_repository<'a>(sups: Vec<Suppression<'a>>, name: &str) -> Vec<Suppression<'a>> {
    let name = name.to_ascii_lowercase();
    sups.into_iter().filter(|s| s.repository.as_deref().is_none_or(|g| glob(&g.to_ascii_lowercase(), &name))).collect()
}

/// The package a finding names: from its package URL, else its name and version.
fn package_of(f: &Covered) -> Option<Package> {
    let s = f.scope();
    if let Some(p) = s.purl.as_deref().and_then(parse_purl) {
        return Some(Package { version: p.version.or(s.version.clone()), ..p });
    }
    s.package.map(|name| Package { kind: None, namespace: None, name, version: s.version, purl: None })
}

/// Reads `pkg:type/namespace/name@version?qualifiers#subpath` (percent-decoded).
pub fn parse_purl(purl: &str) -> Option<Package> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.split('#').next()?.split('?').next()?;
    let (kind, rest) = rest.trim_start_matches('/').split_once('/')?;
    let (path, version) = match rest.rsplit_once('@') {
        Some((p, v)) if !p.is_empty() => (p, Some(decode(v))),
        _ => (rest, None),
    };
    let (namespace, name) = match path.rsplit_once('/') {
        Some((ns, n)) => (Some(ns.split('/').map(decode).collect::<Vec<_>>().join("/")), decode(n)),
        None => (None, decode(path)),
    };
    (!name.is_empty() && !kind.is_empty()).then(|| Package {
        kind: Some(kind.to_ascii_lowercase()),
        namespace,
        name,
        version,
        purl: Some(purl.to_string()),
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_urls() {
        let p = parse_purl("pkg:npm/%40scope/left-pad@1.3.0").unwrap();
        assert_eq!(
            (p.kind.as_deref(), p.full_name(), p.version.as_deref()),
            (Some("npm"), "@scope/left-pad".into(), Some("1.3.0"))
        );
        let p = parse_purl("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar").unwrap();
        assert_eq!(p.full_name(), "org.apache.logging.log4j:log4j-core");
        let p = parse_purl("pkg:deb/debian/openssl").unwrap();
        assert_eq!((p.name.as_str(), p.version), ("openssl", None));
        assert_eq!(parse_purl("npm/x@1"), None);
    }
}
