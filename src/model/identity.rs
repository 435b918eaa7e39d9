//! People: `Name <email>` as written in records and the policy, and the
//! normalised identity two of them are compared by.
//!
//! Separation of duties must survive aliases. Two people strings name the
//! same person when their emails agree after Unicode compatibility
//! normalisation (NFKC), case folding, the confusable skeleton of UTS #39
//! (so a Cyrillic `ѕ` is an `s`, a `0` an `O`), and with plus-addressing
//! (`sam+x@`) stripped. Where the policy lists keys, people are also compared
//! by key (`crate::model::policy::Policy::same_person`).

use unicode_normalization::UnicodeNormalization;

/// The email inside `Name <email>`, or the whole string when there are no brackets.
pub fn email_of(person: &str) -> &str {
    match (person.rfind('<'), person.rfind('>')) {
        (Some(a), Some(b)) if a < b => person[a + 1..b].trim(),
        _ => person.trim(),
    }
}

/// Whether `s` is written as `Name <email>`, with a sane email.
pub fn is_person(s: &str) -> bool {
    let s = s.trim();
    !s.starts_with('<') && s.contains('<') && s.ends_with('>') && is_email(email_of(s))
}

/// Whether `s` is an email address as the schemas accept one: a local part, and a
/// domain of dot-separated labels ending in a top-level domain of letters
/// (or an IDN's `xn--`): `leo@example.com`, not `leo@example` or `leo@.com`.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    let bad = |c: char| c.is_whitespace() || matches!(c, '<' | '>' | '@');
    if local.is_empty() || local.contains(bad) || domain.contains(bad) {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let Some((tld, rest)) = labels.split_last() else { return false };
    let tld_ok = (2..=63).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_alphabetic())
        || tld.starts_with("xn--") && tld.len() > 4 && tld.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    !rest.is_empty() && rest.iter().all(|l| !l.is_empty()) && tld_ok
}

/// The identity a person string is compared by: its email, normalised as the
/// module documentation says. Not for display. A registry names few people
/// many times, so each thread remembers the ones it has worked out.
pub fn identity(person: &str) -> String {
    thread_local! {
        static SEEN: std::cell::RefCell<std::collections::HashMap<String, String>> = Default::default();
    }
    let email = email_of(person);
    if let Some(known) = SEEN.with(|s| s.borrow().get(email).cloned()) {
        return known;
    }
    let id = normalise(email);
    SEEN.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < 100_000 {
            s.insert(email.to_string(), id.clone());
        }
    });
    id
}

fn normalise(person: &str) -> String {
    let folded: String = email_of(person).nfkc().collect::<String>().to_lowercase();
    let (local, domain) = match folded.rsplit_once('@') {
        Some((l, d)) => (l, Some(d)),
        None => (folded.as_str(), None),
    };
    let local = local.split('+').next().unwrap_or(local);
    let plain = match domain {
        Some(d) => format!("{local}@{d}"),
        None => local.to_string(),
    };
    unicode_security::skeleton(&plain).collect::<String>().to_lowercase()
}

/// Whether two people strings name the same person (by normalised identity).
pub fn same_person(a: &str, b: &str) -> bool {
    // The common case, equal emails up to ASCII case, needs no normalisation.
    let (ea, eb) = (email_of(a), email_of(b));
    ea.eq_ignore_ascii_case(eb) || identity(a) == identity(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_taken_from_brackets() {
        assert_eq!(email_of("Ann Lee <ann@example.com>"), "ann@example.com");
        assert_eq!(email_of("ann@example.com"), "ann@example.com");
        assert!(is_person("Ann Lee <ann@example.com>"));
        assert!(!is_person("<ann@example.com>"));
        assert!(!is_person("ann@example.com"));
    }

    #[test]
    fn emails_need_a_domain_with_a_top_level_domain() {
        for ok in ["leo.marsh@example.com", "a+b@mail.example.co.uk", "x@example.xn--p1ai", "x@sub-1.example.io"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "leo.marsh@example",
            "leo@.com",
            "leo@example.",
            "@example.com",
            "leo@example.c",
            "leo@exa mple.com",
            "leo@example.c0m",
            "leo@@example.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(!is_person("Leo Marsh <leo.marsh@example>"));
    }

    #[test]
    fn aliases_are_the_same_person() {
        let sam = "Sam Okafor <sam.okafor@example.com>";
        for alias in [
            "Sam <SAM.OKAFOR@example.com>",
            "Sam Okafor <\u{455}am.okafor@example.com>", // Cyrillic dze
            "Sam Okafor <sam.okafor+x@example.com>",     // plus-addressing
            "Sam Okafor <ｓａｍ.okafor@example.com>",    // fullwidth (NFKC)
            "Sam Okafor <sam.\u{43e}kafor@example.com>", // Cyrillic o
            "S <sam.okafor@EXAMPLE.COM>",
        ] {
            assert!(same_person(sam, alias), "{alias}");
        }
        assert!(!same_person(sam, "Sam Okafor <sam.okafor@example.org>"));
        assert!(!same_person(sam, "Pam Okafor <pam.okafor@example.com>"));
    }
}
