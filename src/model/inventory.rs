//! The asset inventory: what the organisation owns, as its CMDB exports it
//! (name, owner, business unit, criticality), and what "% of assets
//! excepted" divides by. Records name their assets; a name the inventory
//! does not hold is a finding (`unknown-asset`), with the nearest names it
//! does hold, since a misspelt asset is never counted and never scoped.
//!
//! Names are compared as the CMDB's hostnames and service names are: trimmed,
//! in any case. Reading the file is `crate::registry`'s job; this module
//! does no I/O.

use std::collections::HashMap;

use super::finding::{Code, Finding};
use super::record::{Record, Status};

/// One asset of the inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Asset {
    pub name: String,
    pub owner: Option<String>,
    pub business_unit: Option<String>,
    pub criticality: Option<String>,
}

/// The inventory, indexed by name.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    assets: Vec<Asset>,
    /// Normalised name → position in `assets`.
    index: HashMap<String, usize>,
}

/// A name as the inventory compares it: trimmed, lower case.
pub fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Inventory {
    /// The inventory of `assets`; a name given twice keeps its first entry.
    pub fn new(assets: impl IntoIterator<Item = Asset>) -> Inventory {
        let mut inv = Inventory::default();
        for a in assets {
            let k = key(&a.name);
            if k.is_empty() || inv.index.contains_key(&k) {
                continue;
            }
            inv.index.insert(k, inv.assets.len());
            inv.assets.push(a);
        }
        inv
    }

    /// The union of several inventories (a fleet's): each name once, its
    /// first entry kept.
    pub fn union<'a>(parts: impl IntoIterator<Item = &'a Inventory>) -> Inventory {
        Inventory::new(parts.into_iter().flat_map(|p| p.assets.iter().cloned()))
    }

    pub fn len(&self) -> usize {
        self.assets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }

    pub fn assets(&self) -> &[Asset] {
        &self.assets
    }

    /// The asset of that name, in any case.
    pub fn get(&self, name: &str) -> Option<&Asset> {
        self.index.get(&key(name)).map(|i| &self.assets[*i])
    }

    /// Up to `n` names nearest to `name` (edit distance, close enough to be a typo).
    pub fn nearest(&self, name: &str, n: usize) -> Vec<&str> {
        super::suggest::closest_n(name, self.assets.iter().map(|a| a.name.as_str()), n)
    }
}

/// What "% of assets excepted" divides by: nothing, a count typed into the
/// policy (`assets.total`), or an inventory.
#[derive(Clone, Copy, Debug, Default)]
pub enum AssetBase<'a> {
    #[default]
    Unknown,
    Total(u64),
    Inventory(&'a Inventory),
}

impl AssetBase<'_> {
    /// How many assets are in scope.
    pub fn size(&self) -> Option<u64> {
        match self {
            AssetBase::Unknown => None,
            AssetBase::Total(n) => Some(*n),
            AssetBase::Inventory(inv) => Some(inv.len() as u64),
        }
    }
}

/// `unknown-asset` for every asset an open record (requested or approved)
/// names that `inventory` (the file `source`) does not hold, with the
/// nearest names it holds. Closed records are left alone: their request can
/// no longer change. Each misspelt name is looked up once.
pub fn unknown_assets(records: &[Record], inventory: &Inventory, source: &str) -> Vec<Finding> {
    let mut near: HashMap<String, Vec<&str>> = HashMap::new();
    let mut out = Vec::new();
    for r in records.iter().filter(|r| matches!(r.exception.status, Status::Requested | Status::Approved)) {
        for (i, asset) in r.exception.assets.iter().enumerate() {
            if inventory.get(asset).is_some() {
                continue;
            }
            let names = near.entry(key(asset)).or_insert_with(|| inventory.nearest(asset, 3));
            let hint = match names.as_slice() {
                [] => "and no name there is close: check the name, or add the asset to the inventory".to_string(),
                [one] => format!("did you mean `{one}`?"),
                many => {
                    format!("did you mean {}?", many.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))
                }
            };
            out.push(
                Finding::new(
                    Code::UnknownAsset,
                    &r.path,
                    &format!("/assets/{i}"),
                    format!("asset `{asset}` is not in the inventory ({source}); {hint}"),
                )
                .with_id(&r.exception.id),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testkit;

    fn asset(name: &str, bu: &str) -> Asset {
        Asset { name: name.into(), business_unit: Some(bu.into()), ..Asset::default() }
    }

    #[test]
    fn names_match_in_any_case_and_the_first_entry_wins() {
        let inv = Inventory::new([asset("crm-01", "sales"), asset("CRM-01", "ops"), asset("pay-db-01", "payments")]);
        assert_eq!(inv.len(), 2);
        assert_eq!(inv.get(" Crm-01 ").and_then(|a| a.business_unit.as_deref()), Some("sales"));
        assert!(inv.get("crm-02").is_none());
    }

    #[test]
    fn an_unknown_asset_is_named_with_the_nearest_names() {
        let inv = Inventory::new([asset("crm-01", "sales"), asset("crm-02", "sales"), asset("pay-db-01", "payments")]);
        let mut e = testkit::approved();
        e.assets = vec!["crm-01".into(), "crm-1".into(), "zzzz-unrelated-99".into()];
        let records = vec![Record::new("exceptions/EXC-0001.yaml".into(), "EXC-0001".into(), e.clone(), "".into())];
        let found = unknown_assets(&records, &inv, "cmdb.csv");
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].code, found[0].pointer.as_str()), (Code::UnknownAsset, "/assets/1"));
        assert!(found[0].message.contains("did you mean `crm-01`, `crm-02`?"), "{}", found[0].message);
        assert!(found[1].message.contains("no name there is close"), "{}", found[1].message);
        // A closed record is left alone.
        e.status = Status::Retired;
        let closed = vec![Record::new("exceptions/EXC-0001.yaml".into(), "EXC-0001".into(), e, "".into())];
        assert!(unknown_assets(&closed, &inv, "cmdb.csv").is_empty());
    }
}
