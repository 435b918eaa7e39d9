//! The pure parts of a fleet (several registries read as one): how a record
//! is named across registries, whose ids may repeat (`payments:EXC-0042`),
//! and the registries a run could not read, which it names rather than
//! leave out of its totals. The KPIs over the union are `kpi::fleet`, the
//! reminders' `remind::fleet`.

use serde::Serialize;

/// A record's name in a fleet: `registry:id`; its id alone outside one.
pub fn qualified(registry: Option<&str>, id: &str) -> String {
    match registry {
        Some(r) => format!("{r}:{id}"),
        None => id.to_string(),
    }
}

/// A registry of a fleet that could not be read, and why.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Unreadable {
    pub registry: String,
    /// Its path or `URL@ref`.
    pub source: String,
    pub error: String,
}

/// The line a partial run starts (and ends) with, naming what it left out.
pub fn partial_notice(unreadable: &[Unreadable], total: usize) -> Option<String> {
    if unreadable.is_empty() {
        return None;
    }
    let names: Vec<String> = unreadable.iter().map(|u| format!("{} ({}: {})", u.registry, u.source, u.error)).collect();
    Some(format!(
        "PARTIAL: {} of {total} registries could not be read, and nothing below counts them: {}",
        unreadable.len(),
        names.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_across_registries() {
        assert_eq!(qualified(Some("payments"), "EXC-0042"), "payments:EXC-0042");
        assert_eq!(qualified(None, "EXC-0042"), "EXC-0042");
        assert_eq!(partial_notice(&[], 3), None);
        let u = Unreadable { registry: "retail".into(), source: "../retail".into(), error: "no exc.yaml".into() };
        assert_eq!(
            partial_notice(&[u], 3).unwrap(),
            "PARTIAL: 1 of 3 registries could not be read, and nothing below counts them: retail (../retail: no exc.yaml)"
        );
    }
}
