//! Reading the asset inventory `assets.inventory` names: a CMDB export. Its
//! format goes by the file's extension:
//!
//! - `.csv`: a header row, then one asset per row; the columns `name`,
//!   `owner`, `business_unit` and `criticality` (any case, or the names
//!   `assets.columns` gives) are read and every other column is ignored;
//! - `.json`: an array of objects with those keys (others ignored);
//! - anything else: one asset name per line (blank lines and `#` comments
//!   skipped), the format exc read before it knew inventories.
//!
//! Only `name` is required. A problem names the file and the row.

use std::path::Path;

use crate::model::inventory::{Asset, Inventory};
use crate::model::policy::Columns;

/// Reads the inventory at `path`; an error says why, with the row.
pub fn read(path: &Path, columns: &Columns) -> Result<Inventory, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text =
        String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "csv" => csv(text, columns),
        "json" => json(text, columns),
        _ => Ok(lines(text)),
    }
}

/// One name per line.
fn lines(text: &str) -> Inventory {
    Inventory::new(
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|name| Asset { name: name.to_string(), ..Asset::default() }),
    )
}

/// A CSV export with a header row.
fn csv(text: &str, columns: &Columns) -> Result<Inventory, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| format!("the header row: {e}"))?.clone();
    let at = |want: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(want));
    let name = at(&columns.name).ok_or_else(|| {
        format!(
            "the header row has no `{}` column (it has: {}); name the column with assets.columns.name",
            columns.name,
            headers.iter().collect::<Vec<_>>().join(", ")
        )
    })?;
    let (owner, unit, criticality) = (at(&columns.owner), at(&columns.business_unit), at(&columns.criticality));
    let mut assets = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| format!("row {}: {e}", i + 2))?;
        let field = |c: Option<usize>| c.and_then(|c| row.get(c)).filter(|v| !v.is_empty()).map(str::to_string);
        let Some(n) = field(Some(name)) else { continue };
        assets.push(Asset {
            name: n,
            owner: field(owner),
            business_unit: field(unit),
            criticality: field(criticality),
        });
    }
    Ok(Inventory::new(assets))
}

/// A JSON export: an array of objects.
fn json(text: &str, columns: &Columns) -> Result<Inventory, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let items = value.as_array().ok_or("a JSON inventory is an array of objects, one per asset")?;
    let mut assets = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let obj = item.as_object().ok_or_else(|| format!("item {i} is not an object"))?;
        let field = |key: &str| match obj.get(key) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => Some(v.to_string()),
            _ => None,
        };
        let name = field(&columns.name).ok_or_else(|| format!("item {i} has no `{}`", columns.name))?;
        assets.push(Asset {
            name,
            owner: field(&columns.owner),
            business_unit: field(&columns.business_unit),
            criticality: field(&columns.criticality),
        });
    }
    Ok(Inventory::new(assets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_export_with_extra_columns() {
        let text = "sys_id,Name,owner,business_unit,criticality,location\n\
                    1,crm-01,Dana <dana@example.com>,Sales,high,eu\n\
                    2,\"pay-db-01\",,Payments,critical,us\n\
                    3,,nobody,x,y,z\n";
        let inv = csv(text, &Columns::default()).unwrap();
        assert_eq!(inv.len(), 2, "a row without a name is skipped");
        let pay = inv.get("pay-db-01").unwrap();
        assert_eq!((pay.owner.as_deref(), pay.business_unit.as_deref()), (None, Some("Payments")));
        assert!(csv("host,owner\nx,y\n", &Columns::default()).unwrap_err().contains("no `name` column"));
        let renamed = Columns { name: "host".into(), ..Columns::default() };
        assert_eq!(csv("host,owner\nx,y\n", &renamed).unwrap().len(), 1);
    }

    #[test]
    fn a_json_export_and_a_plain_list() {
        let inv =
            json(r#"[{"name": "crm-01", "criticality": 2, "extra": true}, {"name": "erp-01"}]"#, &Columns::default())
                .unwrap();
        assert_eq!(inv.get("crm-01").and_then(|a| a.criticality.as_deref()), Some("2"));
        assert!(json(r#"{"name": "x"}"#, &Columns::default()).is_err());
        assert!(json(r#"[{"owner": "x"}]"#, &Columns::default()).unwrap_err().contains("item 0 has no `name`"));
        assert_eq!(lines("# assets\ncrm-01\n\n  erp-01  \n").len(), 2);
    }
}
