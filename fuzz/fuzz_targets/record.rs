//! A record file, as `exc validate` reads one: YAML, schema, typed record,
//! the rules (under the built-in and the sample policy), and the digest.
#![no_main]

use std::sync::OnceLock;

use exc::model::policy::Policy;
use exc::model::record::{Exception, Record};
use exc::model::{digest, rules};
use libfuzzer_sys::fuzz_target;

fn sample_policy() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| {
        exc::parse_policy(include_bytes!("../../exc.yaml"), "exc.yaml").expect("sample policy parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The fast reader for exc's own block style: debug builds (cargo fuzz's
    // default) assert it agrees with the full parser on every input it accepts.
    let fast = exc::yaml::parse_value(text);
    let Ok(doc) = exc::yaml::parse(text) else {
        assert!(fast.is_err(), "the fast path accepted what the full parser refuses");
        return;
    };
    assert_eq!(fast.as_ref().ok(), Some(&doc.value), "the fast path and the full parser read different values");
    let issues = exc::schema::issues(exc::schema::record(), exc::schema::RECORD_SCHEMA, &doc.value);
    for issue in &issues {
        let _ = doc.position(&issue.pointer);
        let _ = doc.value_position(&issue.pointer);
    }
    // Typed even when the schema refused it: `exc audit` and `exc validate`
    // read old versions from git this way, without the schema.
    let Ok(exception) = serde_json::from_value::<Exception>(doc.value.clone()) else { return };
    let _ = digest::digest(&exception);
    let stem = exception.id.clone();
    let record = Record::new("exceptions/FUZZ.yaml".into(), stem, exception, text.into());
    let _ = record.at("/approvals/0/digest");
    drop(doc);
    for f in rules::check_record(&record, &Policy::default()) {
        let _ = f.message.len();
    }
    let _ = rules::check_record(&record, sample_policy());
    let _ = rules::missing_roles(&record.exception, sample_policy());
});
