//! Hand-written modules for the real engine: bench/null-policy (accepts everything, asks the host
//! nothing) and test_data/engine/overrun-policy (never finishes `validate`). The committed
//! binaries are their WAT assembled (kwctl and policy-server take only binary modules);
//! `SIGPIN_BLESS=1` rewrites them after a WAT change.

// Test code may unwrap, index and panic (the workspace denies them elsewhere).
#![allow(clippy::restriction)]

use std::sync::Arc;
use std::time::Duration;

use harness::runtime::{HostCall, PolicyModule};

/// The hand-written modules kwctl and policy-server run, as (WAT, committed binary), relative
/// to the repository root.
const MODULES: [(&str, &str); 2] = [
    (
        "bench/null-policy/null-policy.wat",
        "bench/null-policy/null-policy.wasm",
    ),
    (
        "test_data/engine/overrun-policy.wat",
        "test_data/engine/overrun-policy.wasm",
    ),
];

fn in_repository(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_binaries_are_the_assembled_wat() {
    for (wat, wasm) in MODULES {
        let (wat, wasm) = (in_repository(wat), in_repository(wasm));
        let assembled = wat::parse_file(wat).unwrap();
        if std::env::var_os("SIGPIN_BLESS").is_some() {
            std::fs::write(&wasm, &assembled).unwrap();
        }
        assert_eq!(
            std::fs::read(&wasm).unwrap(),
            assembled,
            "{wasm}: run with SIGPIN_BLESS=1"
        );
    }
}

#[test]
fn the_overrun_policy_loads_and_is_stopped_by_the_timeout() {
    let wasm = wat::parse_file(in_repository(MODULES[1].0)).unwrap();
    let no_host: Arc<HostCall> =
        Arc::new(|_: &str, _: &str, _: &str, _: &[u8]| Err("asks nothing".into()));
    let module = PolicyModule::load(&wasm, Some(Duration::from_millis(300)), no_host).unwrap();
    assert_eq!(module.call("protocol_version", b"").unwrap(), br#""v1""#);
    assert_eq!(
        module.call("validate_settings", b"{}").unwrap(),
        br#"{"valid":true}"#
    );
    let error = module.call("validate", b"{}").unwrap_err().to_string();
    assert!(error.contains("execution deadline exceeded"), "{error}");
}

#[test]
fn it_accepts_everything_without_host_calls() {
    let wasm = wat::parse_file(in_repository(MODULES[0].0)).unwrap();
    let no_host: Arc<HostCall> =
        Arc::new(|_: &str, _: &str, _: &str, _: &[u8]| Err("the null policy asks nothing".into()));
    let module = PolicyModule::load(&wasm, None, no_host).unwrap();
    let big = format!(
        r#"{{"request": {{"pad": "{}"}}, "settings": {{}}}}"#,
        "x".repeat(200_000)
    );
    let cases: [(&str, &[u8], &str); 4] = [
        ("protocol_version", b"", r#""v1""#),
        ("validate_settings", b"{}", r#"{"valid":true}"#),
        (
            "validate",
            br#"{"request": {}, "settings": {}}"#,
            r#"{"accepted":true}"#,
        ),
        ("validate", big.as_bytes(), r#"{"accepted":true}"#),
    ];
    for (operation, payload, answer) in cases {
        let got = module.call(operation, payload).unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), answer, "{operation}");
    }
}
