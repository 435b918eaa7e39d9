//! A policy file (`exc.yaml`): every input is a policy or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(policy) = exc::parse_policy(data, "exc.yaml") {
        let _ = policy.problems();
    }
});
