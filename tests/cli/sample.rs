//! The project's own sample registry (`exceptions/`, `exc.yaml`) and the records in
//! `examples/` are valid, and the Rust types agree with the schemas.

use std::path::Path;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn record_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "yaml")).collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn sample_registry_validates_as_of_its_snapshot_date() {
    let mut c = std::process::Command::new(assert_cmd::cargo_bin!("exc"));
    c.current_dir(root()).env_remove("EXC_DIR").env("NO_COLOR", "1").args(["validate"]);
    let out = c.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let n = record_files(&root().join("exceptions")).len();
    assert!((8..=15).contains(&n), "the sample registry holds {n} records");
}

#[test]
fn every_sample_and_example_record_round_trips_through_the_rust_types() {
    let mut files = record_files(&root().join("exceptions"));
    files.extend(record_files(&root().join("examples/records")));
    assert!(!files.is_empty());
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let doc = exc::yaml::parse(&text).unwrap();
        let issues = exc::schema::issues(exc::schema::record(), exc::schema::RECORD_SCHEMA, &doc.value);
        assert!(issues.is_empty(), "{}: {issues:?}", f.display());
        let typed: exc::model::record::Exception = serde_json::from_value(doc.value.clone()).unwrap();
        let back = serde_json::to_value(&typed).unwrap();
        let issues = exc::schema::issues(exc::schema::record(), exc::schema::RECORD_SCHEMA, &back);
        assert!(issues.is_empty(), "{} written back: {issues:?}", f.display());
        let again: exc::model::record::Exception = serde_json::from_value(back).unwrap();
        assert_eq!(typed, again, "{}", f.display());
    }
}

#[test]
fn policy_files_and_defaults_pass_the_policy_schema() {
    let default = serde_json::to_value(exc::model::policy::Policy::default()).unwrap();
    let issues = exc::schema::issues(exc::schema::policy(), exc::schema::POLICY_SCHEMA, &default);
    assert!(issues.is_empty(), "defaults: {issues:?}");
    let text = std::fs::read(root().join("exc.yaml")).unwrap();
    exc::parse_policy(&text, "exc.yaml").unwrap();
}

#[test]
fn shipped_schemas_are_valid_2020_12() {
    for s in [exc::schema::RECORD_SCHEMA, exc::schema::POLICY_SCHEMA] {
        let v: Value = serde_json::from_str(s).unwrap();
        assert!(jsonschema::meta::is_valid(&v));
    }
}

#[test]
fn the_finding_codes_page_lists_every_code() {
    let page = std::fs::read_to_string(root().join("docs/findings.md")).unwrap();
    let table = String::from_utf8(
        std::process::Command::new(assert_cmd::cargo_bin!("exc"))
            .args(["explain", "--format", "markdown"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        page.contains(&table),
        "docs/findings.md's table is stale: regenerate it with `cargo run -- explain --format markdown`"
    );
}

/// The sample registry's trust root (the sample CISO's key), as CI pins it.
pub fn trust_root() -> String {
    std::fs::read_to_string(root().join("examples/keys/trust-root")).unwrap().trim().to_string()
}

#[test]
fn the_sample_history_passes_its_own_audit() {
    let shallow =
        std::process::Command::new("git").args(["rev-parse", "--is-shallow-repository"]).current_dir(root()).output();
    match shallow {
        Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "false" => {}
        _ => {
            eprintln!("skipped: not a full clone of the project's history");
            return;
        }
    }
    let out = std::process::Command::new(assert_cmd::cargo_bin!("exc"))
        .current_dir(root())
        .env_remove("EXC_DIR")
        .env("NO_COLOR", "1")
        .env("EXC_TRUST_ROOT", trust_root())
        .args(["audit"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("the history is clean"));
}
