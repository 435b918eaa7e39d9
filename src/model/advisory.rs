//! Advisory ids by their formats: a finding that names a CVE, a GitHub
//! advisory (GHSA), a RustSec, Go or PyPI advisory must be written as its
//! database writes it, or no scanner will ever match it. Other ids (scanner
//! rule ids such as `B105` or `CKV_AWS_20`) are free-form.

/// Why `id` is not a well-formed advisory id of the database its prefix
/// names; `None` when it is, or names no database exc knows.
pub fn malformed(id: &str) -> Option<String> {
    let upper = id.to_ascii_uppercase();
    let (database, example, ok): (&str, &str, fn(&str) -> bool) = if upper.starts_with("CVE-") {
        ("a CVE id", "CVE-2026-12345", |s| year_and_number(s, "CVE-", 4, usize::MAX))
    } else if upper.starts_with("GHSA-") {
        ("a GitHub advisory id", "GHSA-4xc9-8hmq-j652", ghsa)
    } else if upper.starts_with("RUSTSEC-") {
        ("a RustSec id", "RUSTSEC-2026-0001", |s| year_and_number(s, "RUSTSEC-", 4, 4))
    } else if upper.starts_with("GO-") {
        ("a Go vulnerability id", "GO-2026-1234", |s| year_and_number(s, "GO-", 4, usize::MAX))
    } else if upper.starts_with("PYSEC-") {
        ("a PyPI advisory id", "PYSEC-2026-12", |s| year_and_number(s, "PYSEC-", 1, usize::MAX))
    } else {
        return None;
    };
    if ok(id) {
        return None;
    }
    Some(format!("`{id}` is not {database} (written like {example})"))
}

/// `PREFIX-YYYY-N…` with `min..=max` digits after the year.
fn year_and_number(s: &str, prefix: &str, min: usize, max: usize) -> bool {
    let Some(rest) = s.strip_prefix(prefix) else { return false };
    let Some((year, number)) = rest.split_once('-') else { return false };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(year) && year.len() == 4 && year >= "1999" && digits(number) && (min..=max).contains(&number.len())
}

/// `GHSA-xxxx-xxxx-xxxx` in GitHub's alphabet (digits 2-9 and the letters
/// c f g h j m p q r v w x, lower-case).
fn ghsa(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("GHSA-") else { return false };
    let groups: Vec<&str> = rest.split('-').collect();
    groups.len() == 3 && groups.iter().all(|g| g.len() == 4 && g.bytes().all(|b| b"23456789cfghjmpqrvwx".contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advisory_ids_are_checked_by_their_formats() {
        for ok in [
            "CVE-2026-12345",
            "CVE-1999-0001",
            "CVE-2024-1234567",
            "GHSA-4xc9-8hmq-j652",
            "RUSTSEC-2026-0001",
            "GO-2024-2687",
            "PYSEC-2021-19",
            "B105",
            "CKV_AWS_20",
            "python.lang.security.audit.eval",
        ] {
            assert_eq!(malformed(ok), None, "{ok}");
        }
        for bad in [
            "CVE-2026-1",
            "CVE-26-12345",
            "cve-2026-12345",
            "CVE-2026-12a45",
            "CVE-0999-1234",
            "GHSA-4xc9-8hmq",
            "GHSA-4XC9-8HMQ-J652",
            "GHSA-4xc9-8hmq-j65a",
            "RUSTSEC-2026-1",
            "GO-2024",
            "PYSEC-2021",
        ] {
            assert!(malformed(bad).is_some(), "{bad}");
        }
        assert_eq!(malformed("CVE-2026-1").unwrap(), "`CVE-2026-1` is not a CVE id (written like CVE-2026-12345)");
    }
}
