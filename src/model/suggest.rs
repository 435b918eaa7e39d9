//! "Did you mean …?": the closest known word to a misspelt one.

/// The candidate nearest to `word` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Like [`closest`], and failing that the one candidate that starts with or
/// contains `word` (a shortened name: `mfa` for `mfa-bypass`).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> Option<&'a str> {
    if let Some(c) = closest(word, candidates.clone()) {
        return Some(c);
    }
    let w = word.to_lowercase();
    if w.is_empty() {
        return None;
    }
    let mut containing = candidates.into_iter().filter(|c| c.to_lowercase().contains(&w));
    let first = containing.next()?;
    let starting = first.to_lowercase().starts_with(&w);
    match containing.next() {
        None => Some(first),
        Some(_) if starting => Some(first),
        Some(_) => None,
    }
}

/// Up to `n` candidates nearest to `word` (in any case), each close enough
/// to be a typo, nearest first (then by name). Built for long lists (an
/// asset inventory): a candidate whose length alone puts it out of reach is
/// skipped, and the distance stops counting past the limit.
pub fn closest_n<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>, n: usize) -> Vec<&'a str> {
    let w: Vec<char> = word.trim().to_lowercase().chars().collect();
    let limit = (w.len() / 3).max(2);
    let mut near: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| c.chars().count().abs_diff(w.len()) <= limit)
        .filter_map(|c| {
            let c_low: Vec<char> = c.trim().to_lowercase().chars().collect();
            bounded(&w, &c_low, limit).map(|d| (d, c))
        })
        .collect();
    near.sort_unstable();
    near.dedup_by(|a, b| a.1 == b.1);
    near.into_iter().take(n).map(|(_, c)| c).collect()
}

/// Levenshtein distance when it is at most `limit`, else none (stops as
/// soon as every path is over it).
fn bounded(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        if cur.iter().min().is_some_and(|m| *m > limit) {
            return None;
        }
        prev = cur;
    }
    Some(prev[b.len()]).filter(|d| *d <= limit)
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        let fields = ["title", "expires", "justification"];
        assert_eq!(closest("titel", fields), Some("title"));
        assert_eq!(closest("expiry", fields), Some("expires"));
        assert_eq!(closest("zzzzzz", fields), None);
    }

    #[test]
    fn the_nearest_few_of_a_long_list() {
        let mut names: Vec<String> = (0..20_000).map(|i| format!("srv-{i:05}.dc1.example.com")).collect();
        names.extend(["pay-db-01", "pay-db-02", "pay-gw-01"].map(String::from));
        let near = closest_n("pay-db-1", names.iter().map(String::as_str), 3);
        assert_eq!(near, ["pay-db-01", "pay-db-02"], "pay-gw-01 is three edits away");
        assert!(closest_n("completely-different", names.iter().map(String::as_str), 3).is_empty());
        assert_eq!(closest_n("CRM-1", ["crm-01", "crm-01", "erp-9"], 3), ["crm-01"]);
    }

    #[test]
    fn a_shortened_name_finds_its_type() {
        let types = ["mfa-bypass", "firewall-rule", "patch-deferral", "vendor-access"];
        assert_eq!(nearest("mfa", types), Some("mfa-bypass"));
        assert_eq!(nearest("patch", types), Some("patch-deferral"));
        assert_eq!(nearest("firewal-rule", types), Some("firewall-rule"));
        assert_eq!(nearest("a", types), None);
        assert_eq!(nearest("", types), None);
    }
}
