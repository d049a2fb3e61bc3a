//! The runner with a hand-written waPC guest (fixtures/echo-policy.wat) that makes one host call
//! per operation and echoes the answer: what the guest receives for success and each error.

// Test code may unwrap, index and panic (the workspace denies them elsewhere).
#![allow(clippy::restriction)]

use std::sync::Arc;
use std::time::Duration;

use harness::capabilities::CapabilityServices;
use harness::host::{Answers, Host};
use harness::runtime::PolicyModule;
use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;
use kubewarden_policy_sdk::host_capabilities::crypto_v1::{
    CertificateVerificationRequest, CertificateVerificationResponse,
};
use kubewarden_policy_sdk::host_capabilities::oci::{
    ManifestDigestResponse, OciManifestAndConfigResponse, OciManifestResponse,
};
use kubewarden_policy_sdk::host_capabilities::verification::VerificationResponse;
use serde_json::{Value, json};

/// Answers like a registry that knows one image.
struct FakeServices;

impl CapabilityServices for FakeServices {
    fn verify(&self, input: SigstoreVerificationInputV2) -> Result<VerificationResponse, String> {
        match serde_json::to_value(&input).map_err(|e| e.to_string())?["image"].as_str() {
            Some("reg/signed:1") => Ok(VerificationResponse {
                is_trusted: true,
                digest: "sha256:aa".into(),
            }),
            Some(image) => Err(format!("no signatures found for image: {image}")),
            None => Err("no image".into()),
        }
    }
    fn manifest_digest(&self, image: &str) -> Result<ManifestDigestResponse, String> {
        Ok(ManifestDigestResponse {
            digest: format!("sha256:digest-of-{image}"),
        })
    }
    fn oci_manifest(&self, _image: &str) -> Result<OciManifestResponse, String> {
        Err("not used".into())
    }
    fn oci_manifest_config(&self, _image: &str) -> Result<OciManifestAndConfigResponse, String> {
        Err("not used".into())
    }
    fn is_certificate_trusted(
        &self,
        request: CertificateVerificationRequest,
    ) -> Result<CertificateVerificationResponse, String> {
        Ok(CertificateVerificationResponse {
            trusted: request.cert_chain.is_some(),
            reason: String::new(),
        })
    }
}

fn load(timeout: Duration) -> PolicyModule {
    let wat = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/echo-policy.wat"
    ))
    .unwrap();
    let wasm = wat::parse_str(&wat).unwrap();
    // The harness's own dispatcher, answering live from the fake services.
    let host = Arc::new(Host::new(Answers::Live(Box::new(FakeServices))));
    PolicyModule::load(&wasm, Some(timeout), host.callback()).unwrap()
}

#[test]
fn the_guest_receives_what_the_host_answers() {
    let module = load(Duration::from_secs(5));
    let verify = |image: &str| {
        json!({"type": "SigstorePubKeyVerify", "image": image, "pub_keys": ["k"], "annotations": null}).to_string()
    };
    let cases: Vec<(&str, String, Result<&str, &str>)> = vec![
        ("v", verify("reg/signed:1"), Ok(r#"{"digest":"sha256:aa","is_trusted":true}"#)),
        ("v", verify("reg/unsigned:1"), Err("no signatures found for image: reg/unsigned:1")),
        ("v", r#"{"type":"SigstoreNoSuchVerify","image":"x"}"#.into(), Err("unknown variant `SigstoreNoSuchVerify`")),
        ("v", "not json".into(), Err("expected ident")),
        ("d", r#""reg/app:1""#.into(), Ok(r#"{"digest":"sha256:digest-of-reg/app:1"}"#)),
        ("t", r#"{"cert":{"encoding":"Pem","data":[45]},"cert_chain":[{"encoding":"Pem","data":[45]}],"not_after":null}"#.into(), Ok(r#"{"reason":"","trusted":true}"#)),
        ("n", "{}".into(), Err("unknown namespace: nowhere")),
        ("b", "{}".into(), Err("unknown binding: other")),
    ];
    for (operation, payload, expected) in cases {
        let answer = module.call(operation, payload.as_bytes());
        match (expected, answer) {
            (Ok(text), Ok(bytes)) => {
                let got: Value = serde_json::from_slice(&bytes).unwrap();
                let want: Value = serde_json::from_str(text).unwrap();
                assert_eq!(got, want, "{operation} {payload}");
            }
            (Err(text), Err(error)) => assert!(
                error.to_string().contains(text),
                "{operation} {payload}: {error}"
            ),
            (expected, got) => panic!("{operation} {payload}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn a_guest_that_never_returns_is_stopped_by_the_timeout() {
    let module = load(Duration::from_millis(500));
    // Without epoch interruption this call would never return.
    let answer = module.call("l", b"");
    let error = answer
        .expect_err("the loop must be interrupted")
        .to_string();
    // `AdmissionResponse::guest_failure` recognises a timeout by this text.
    assert!(error.contains("execution deadline exceeded"), "{error}");
}
