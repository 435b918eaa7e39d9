//! Two versions of a record, as `exc history` and `exc diff` compare them:
//! the input is split in two halves, each parsed as YAML, then diffed.
#![no_main]

use exc::model::diff::diff;
use libfuzzer_sys::fuzz_target;

fn parse(bytes: &[u8]) -> Option<serde_json::Value> {
    let text = std::str::from_utf8(bytes).ok()?;
    exc::yaml::parse(text).ok().map(|d| d.value)
}

fuzz_target!(|data: &[u8]| {
    let (a, b) = data.split_at(data.len() / 2);
    let (a, b) = (parse(a), parse(b));
    for change in diff(a.as_ref(), b.as_ref()).iter().chain(&diff(b.as_ref(), a.as_ref())) {
        let _ = change.to_string();
    }
    for change in diff(None, a.as_ref()).iter().chain(&diff(b.as_ref(), None)) {
        let _ = change.to_string();
    }
});
