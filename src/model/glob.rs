//! Glob matching as scanners do it (doublestar): the paths and targets a
//! finding's scope names, the repositories a finding applies in, and the
//! paths `exc reconcile` leaves out.

/// Glob matching as scanners do it (doublestar): `*` matches within a path
/// segment, `**` any number of segments, `?` one character. Memoised, so a
/// hostile pattern cannot make it take exponential time.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let mut memo = vec![None; (p.len() + 1) * (t.len() + 1)];
    glob_at(p, t, 0, 0, &mut memo)
}

fn glob_at(p: &[u8], t: &[u8], pi: usize, ti: usize, memo: &mut [Option<bool>]) -> bool {
    let key = pi * (t.len() + 1) + ti;
    if let Some(known) = memo[key] {
        return known;
    }
    let answer = match p.get(pi) {
        None => ti == t.len(),
        Some(b'*') if p.get(pi + 1) == Some(&b'*') => {
            let mut next = pi + 2;
            if next == p.len() {
                true
            } else {
                if p[next] == b'/' {
                    next += 1;
                }
                (ti..=t.len()).any(|i| (i == ti || t[i - 1] == b'/') && glob_at(p, t, next, i, memo))
            }
        }
        Some(b'*') => {
            (ti..=t.len()).take_while(|i| *i == ti || t[i - 1] != b'/').any(|i| glob_at(p, t, pi + 1, i, memo))
        }
        Some(b'?') => t.get(ti).is_some_and(|c| *c != b'/') && glob_at(p, t, pi + 1, ti + 1, memo),
        Some(c) => t.get(ti) == Some(c) && glob_at(p, t, pi + 1, ti + 1, memo),
    };
    memo[key] = Some(answer);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_as_doublestar() {
        for (pattern, text, yes) in [
            ("app/**", "app/package-lock.json", true),
            ("app/**", "app/a/b/c.json", true),
            ("**/package-lock.json", "package-lock.json", true),
            ("**/package-lock.json", "x/y/package-lock.json", true),
            ("app/*", "app/a/b", false),
            ("registry.example.com/pay/gw*", "registry.example.com/pay/gw:1.2 (debian 12.4)", true),
            ("registry.example.com/pay/gw*", "registry.example.com/web/gw:1", false),
            ("a?c", "abc", true),
            ("a?c", "a/c", false),
            ("**", "anything/at/all", true),
        ] {
            assert_eq!(glob(pattern, text), yes, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn a_hostile_glob_is_quick() {
        let pattern = "*a".repeat(200) + "b";
        assert!(!glob(&pattern, &"a".repeat(400)));
    }
}
