//! bench/null-policy: the committed null-policy.wasm is its WAT assembled (kwctl and
//! policy-server take only binary modules), and it answers the three Kubewarden operations as a
//! policy that accepts everything. `SIGPIN_BLESS=1` rewrites the binary after a WAT change.

use std::sync::Arc;
use std::time::Duration;

use harness::runtime::{HostCall, PolicyModule};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/null-policy");

#[test]
fn committed_binary_is_the_assembled_wat() {
    let assembled = wat::parse_file(format!("{DIR}/null-policy.wat")).unwrap();
    let path = format!("{DIR}/null-policy.wasm");
    if std::env::var_os("SIGPIN_BLESS").is_some() {
        std::fs::write(&path, &assembled).unwrap();
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        assembled,
        "run with SIGPIN_BLESS=1"
    );
}

#[test]
fn it_accepts_everything_without_host_calls() {
    let wasm = wat::parse_file(format!("{DIR}/null-policy.wat")).unwrap();
    let no_host: Arc<HostCall> =
        Arc::new(|_: &str, _: &str, _: &str, _: &[u8]| Err("the null policy asks nothing".into()));
    let module = PolicyModule::load(&wasm, Duration::from_secs(2), no_host).unwrap();
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
