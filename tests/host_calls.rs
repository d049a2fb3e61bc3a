//! The benchmark scenarios, evaluated natively: the policy asks the host exactly once per
//! distinct (image, rule) pair, whatever the number of containers or rules. Counts, not times.

mod common;

use common::*;
use serde_json::{Value, json};

#[test]
fn one_host_call_per_distinct_image_and_rule() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/scenarios");
    let mut scenarios: Vec<_> = std::fs::read_dir(&root)
        .expect("bench/scenarios: run python3 bench/scenarios.py")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 10);
    for dir in scenarios {
        let read = |file: &str| -> Value {
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
        };
        let (review, settings, expect) = (
            read("request.json"),
            read("settings.json"),
            read("expect.json"),
        );
        let signed = expect["signed"].as_bool().unwrap();
        let host = FakeHost::new().verify_any(move |_| match signed {
            true => verified(DIGEST_1),
            false => host_error("no matching signatures"),
        });
        let payload = json!({"request": review["request"], "settings": settings});
        let response = sigpin::validate(&serde_json::to_vec(&payload).unwrap(), &host);
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(
            host.verify_calls() as u64,
            expect["host_calls"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(response.accepted, signed, "{name}: {:?}", response.message);
    }
}
