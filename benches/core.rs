//! Micro-benchmarks for changes to compare against (`cargo bench`):
//! parsing and validating one record, and the KPIs over 10,000 records in memory.

use chrono::NaiveDate;
use exc::model::kpi::{self, Inputs};
use exc::model::policy::Policy;
use exc::model::record::{Exception, Record};

const RECORD: &str = include_str!("../exceptions/EXC-0003.yaml");
const POLICY: &str = include_str!("../exc.yaml");

const SIGNERS: &str = include_str!("../examples/keys/allowed_signers");

/// Nothing in the sample is dated after this.
const CX: exc::model::rules::Context =
    exc::model::rules::Context { horizon: chrono::DateTime::from_timestamp(4_102_444_800, 0).unwrap() };

fn main() {
    divan::main();
}

/// The sample policy with its keys.
fn policy() -> Policy {
    let mut p = exc::parse_policy(POLICY.as_bytes(), "exc.yaml").unwrap();
    assert!(p.load_keys(Some(SIGNERS)).is_empty());
    p
}

/// Verifying one signed decision in-process (ed25519, sshsig): the cost per
/// signature that `check` pays for every decision.
#[divan::bench]
fn verify_one_signature(bencher: divan::Bencher) {
    let policy = policy();
    let e: Exception = serde_json::from_value(exc::yaml::parse_value(RECORD).unwrap()).unwrap();
    let (entry, bytes) =
        exc::model::statement::statements(&e, policy.trust.registry.as_deref()).into_iter().next().unwrap();
    let (by, at) = exc::model::statement::maker(&e, entry).unwrap();
    let sig = exc::model::statement::signature_of(&e, entry).unwrap().to_string();
    assert_eq!(
        exc::model::signature::verify(&policy.trust.keyring, by, at, &bytes, Some(&sig)),
        exc::model::signature::Verdict::Valid
    );
    // Uncached: `verify` remembers what it verified, and would time a lookup.
    bencher.bench(|| {
        exc::model::signature::verify_uncached(&policy.trust.keyring, by, at, divan::black_box(&bytes), Some(&sig))
    });
}

/// YAML with positions, the JSON Schema, the typed record and every rule.
#[divan::bench]
fn parse_and_validate_one_record(bencher: divan::Bencher) {
    let policy = policy();
    exc::schema::record();
    bencher.bench(|| {
        let value = exc::yaml::parse_value(divan::black_box(RECORD)).unwrap();
        let issues = exc::schema::issues(exc::schema::record(), exc::schema::RECORD_SCHEMA, &value);
        assert!(issues.is_empty());
        let exception: Exception = serde_json::from_value(value).unwrap();
        let record = Record::new("exceptions/EXC-0003.yaml".into(), "EXC-0003".into(), exception, RECORD.into());
        exc::model::rules::check_record(&record, &policy, CX).0
    });
}

/// Every KPI, breakdown and action list over 10,000 records.
#[divan::bench]
fn kpis_over_10k_records(bencher: divan::Bencher) {
    let policy: Policy = policy();
    let base: Vec<Exception> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/exceptions"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|t| exc::parse_version(&t).and_then(|v| v.1))
        .collect();
    // As loaded: each record with where it stands worked out once.
    let records: Vec<exc::model::record::Record> = (0..10_000)
        .map(|i| {
            let mut e = base[i % base.len()].clone();
            e.id = format!("EXC-{i:05}");
            e.assets = vec![format!("host-{}", i % 3000)];
            let mut r =
                exc::model::record::Record::new(format!("exceptions/{}.yaml", e.id), e.id.clone(), e, "".into());
            r.route = Some(exc::model::routing::route_of(&r.exception, &policy));
            r
        })
        .collect();
    let refs: Vec<&exc::model::record::Record> = records.iter().collect();
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let edited = std::collections::HashMap::new();
    let inputs = Inputs {
        policy: &policy,
        assets: exc::model::inventory::AssetBase::Total(12_000),
        as_of,
        since: None,
        now: as_of.and_hms_opt(12, 0, 0).unwrap().and_utc(),
        edited: &edited,
        ungoverned: None,
    };
    bencher.bench(|| kpi::report(divan::black_box(&refs), &inputs));
}

/// The parts of the one-record path, to see where its time goes.
mod parts {
    use super::*;

    #[divan::bench]
    fn yaml_values_only() -> serde_json::Value {
        exc::yaml::parse_value(divan::black_box(RECORD)).unwrap()
    }

    #[divan::bench]
    fn yaml_with_positions() -> exc::yaml::Document {
        exc::yaml::parse(divan::black_box(RECORD)).unwrap()
    }

    #[divan::bench]
    fn json_schema(bencher: divan::Bencher) {
        let value = exc::yaml::parse_value(RECORD).unwrap();
        exc::schema::record();
        bencher
            .bench(|| exc::schema::issues(exc::schema::record(), exc::schema::RECORD_SCHEMA, divan::black_box(&value)));
    }

    #[divan::bench]
    fn typed_record(bencher: divan::Bencher) {
        let value = exc::yaml::parse_value(RECORD).unwrap();
        bencher.with_inputs(|| value.clone()).bench_values(|v| serde_json::from_value::<Exception>(v).unwrap());
    }

    #[divan::bench]
    fn digest(bencher: divan::Bencher) {
        let exception: Exception = serde_json::from_value(exc::yaml::parse_value(RECORD).unwrap()).unwrap();
        bencher.bench(|| exc::model::digest::digest(divan::black_box(&exception)));
    }

    #[divan::bench]
    fn rules(bencher: divan::Bencher) {
        let policy = policy();
        let exception: Exception = serde_json::from_value(exc::yaml::parse_value(RECORD).unwrap()).unwrap();
        let record = Record::new("exceptions/EXC-0003.yaml".into(), "EXC-0003".into(), exception, RECORD.into());
        bencher.bench(|| exc::model::rules::check_record(divan::black_box(&record), &policy, CX).0);
    }
}

/// Inputs that once took minutes (quadratic paths found by fuzzing); the unit
/// tests check their results, these their time. Each should stay well under a
/// second.
mod large_inputs {
    use serde_json::{Value, json};

    /// Two versions of a 40,000-item list (was `Vec::contains`: 8m41s at 20,000).
    #[divan::bench(sample_count = 5)]
    fn diff_of_long_lists(bencher: divan::Bencher) {
        let n = 40_000;
        let b = json!({ "assets": (0..n).collect::<Vec<_>>() });
        let a = json!({ "assets": (n / 2..n + n / 2).collect::<Vec<_>>() });
        bencher.bench(|| exc::model::diff::diff(Some(&b), Some(&a)).len());
    }

    /// A record with 20,000 unknown fields (was 4m20s at 24,000).
    #[divan::bench(sample_count = 5)]
    fn schema_with_many_unknown_fields(bencher: divan::Bencher) {
        let v: Value =
            (0..20_000).map(|i| (format!("zz{i}"), Value::from(1))).collect::<serde_json::Map<_, _>>().into();
        bencher.bench(|| exc::schema::issues(exc::schema::record(), exc::schema::RECORD_SCHEMA, &v).len());
    }

    /// A policy with 5,000 roles and 5,000 unknown approvers (was 20.7 s).
    #[divan::bench(sample_count = 5)]
    fn policy_with_many_unknown_approvers(bencher: divan::Bencher) {
        let mut p = exc::model::policy::Policy::default();
        p.roles.extend((0..5_000).map(|i| (format!("role-{i}"), vec![format!("p{i}@example.com")])));
        p.risk.medium.approvers = (0..5_000).map(|i| format!("nope-{i}")).collect();
        bencher.bench(|| p.problems().len());
    }
}
