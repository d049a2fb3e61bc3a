//! policy.wasm through the `harness run` binary with replayed host sessions: the exact response
//! kwctl would print for accept, mutate and reject, and the patch decoded.

// Test code may unwrap, index and panic (the workspace denies them elsewhere).
#![allow(clippy::restriction)]

use std::path::PathBuf;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

fn policy() -> PathBuf {
    let path = std::env::var("SIGPIN_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../policy.wasm")));
    assert!(
        path.exists(),
        "{} is missing: run `make policy.wasm` first",
        path.display()
    );
    path
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run(request: &str, session: &str) -> (i32, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "--request-path"])
        .arg(format!(
            "{}/../test_data/requests/{request}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg("--settings-path")
        .arg(fixture("replay/settings.json"))
        .arg("--replay-host-capabilities-interactions")
        .arg(fixture(&format!("replay/{session}")))
        .arg(policy())
        .output()
        .expect("harness runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), value)
}

#[test]
fn replayed_sessions_give_kwctl_responses() {
    let uid = "705ab4f5-6393-11e8-b7cc-42010a800002";
    let pinned = format!("quay.io/other/tool:1.0@sha256:{}", "1".repeat(64));
    let patch = json!([{"op": "replace", "path": "/spec/containers/0/image", "value": pinned}]);
    let cases = [
        (
            "signed image: mutated",
            "pod-no-match.json",
            "signed.yml",
            json!({"uid": uid, "allowed": true, "patchType": "JSONPatch",
                   "patch": STANDARD.encode(serde_json::to_vec(&patch).unwrap()),
                   "auditAnnotations": null, "warnings": null}),
        ),
        (
            "unsigned image: rejected with the host's reason",
            "pod-no-match.json",
            "unsigned.yml",
            json!({"uid": uid, "allowed": false, "status": {"message": "Pod default/web is not accepted: container \"app\" image \"quay.io/other/tool:1.0\": rule #0 (pubKeys) failed: no signatures found for image: quay.io/other/tool:1.0"},
                   "auditAnnotations": null, "warnings": null}),
        ),
        (
            "no rule matches: accepted, no host call",
            "pod.json",
            "empty.yml",
            json!({"uid": uid, "allowed": true, "auditAnnotations": null, "warnings": null}),
        ),
    ];
    for (name, request, session, expected) in cases {
        let (code, response) = run(request, session);
        assert_eq!(code, 0, "{name}");
        assert_eq!(response, expected, "{name}");
    }
}

#[test]
fn a_session_that_does_not_match_is_a_rejection_not_a_crash() {
    let (code, response) = run("pod-no-match.json", "empty.yml");
    assert_eq!(code, 0);
    assert_eq!(response["allowed"], false);
    let message = response["status"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Replay error: the list of recorded responses is empty"),
        "{message}"
    );
}
