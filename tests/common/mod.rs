//! A table-driven stand-in for the Kubewarden host: answers are looked up by (image, variant),
//! and every call is recorded so tests can count what the policy asked.

#![allow(dead_code)]

pub mod cases;
pub mod rules;

use std::cell::RefCell;
use std::path::PathBuf;

use serde_json::{Value, json};
use sigpin::host::Host;

pub const DIGEST_1: &str =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
pub const DIGEST_2: &str =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";

pub type Answer = Result<Value, String>;

/// An answer computed from the request, for hosts whose answer depends on the keys asked.
pub type Responder = Box<dyn Fn(&Value) -> Answer>;

#[derive(Default)]
pub struct FakeHost {
    /// (image, `type` of the verification request, answer). The first entry that matches wins.
    verify: Vec<(String, String, Responder)>,
    /// Answer to `crypto/v1/is_certificate_trusted`.
    trust: Option<Answer>,
    /// `oci/v1/manifest_digest` answer for every image.
    digest_answer: Option<Answer>,
    /// `oci/v1/oci_manifest` answers by image (`*`: any image).
    manifests: Vec<(String, Answer)>,
    /// Answer for verifications no entry of `verify` matches.
    fallback: Option<Responder>,
    /// The clock; `None`: the host has none.
    now: Option<i64>,
    calls: RefCell<Vec<(String, Value)>>,
}

impl FakeHost {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn verify(self, image: &str, variant: &str, answer: Answer) -> Self {
        self.verify_with(image, variant, move |_| answer.clone())
    }

    /// Answer every verification with `responder`, whatever the image.
    pub fn verify_any(mut self, responder: impl Fn(&Value) -> Answer + 'static) -> Self {
        self.fallback = Some(Box::new(responder));
        self
    }

    pub fn verify_with(
        mut self,
        image: &str,
        variant: &str,
        responder: impl Fn(&Value) -> Answer + 'static,
    ) -> Self {
        self.verify
            .push((image.to_string(), variant.to_string(), Box::new(responder)));
        self
    }

    pub fn manifest_digest(mut self, answer: Answer) -> Self {
        self.digest_answer = Some(answer);
        self
    }

    pub fn manifest(mut self, image: &str, answer: Answer) -> Self {
        self.manifests.push((image.to_string(), answer));
        self
    }

    pub fn clock(mut self, now: i64) -> Self {
        self.now = Some(now);
        self
    }

    pub fn trust(mut self, answer: Answer) -> Self {
        self.trust = Some(answer);
        self
    }

    /// Every `(namespace/operation, request)` asked so far, in order.
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.borrow().clone()
    }

    pub fn verify_calls(&self) -> usize {
        self.calls()
            .iter()
            .filter(|(op, _)| op == "oci/v2/verify")
            .count()
    }
}

impl Host for FakeHost {
    fn call(&self, namespace: &str, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        let request: Value = serde_json::from_slice(payload)
            .map_err(|e| format!("fake host: the policy sent non-JSON: {e}"))?;
        let op = format!("{namespace}/{operation}");
        self.calls.borrow_mut().push((op.clone(), request.clone()));
        let answer = match op.as_str() {
            "oci/v2/verify" => {
                let image = request["image"].as_str().unwrap_or_default();
                let variant = request["type"].as_str().unwrap_or_default();
                self.verify
                    .iter()
                    .find(|(i, v, _)| i == image && v == variant)
                    .map(|(_, _, responder)| responder(&request))
                    .or_else(|| self.fallback.as_ref().map(|responder| responder(&request)))
                    .unwrap_or_else(|| Err(format!("fake host: no answer for {image} {variant}")))
            }
            "oci/v1/manifest_digest" => self
                .digest_answer
                .clone()
                .unwrap_or_else(|| Err("fake host: no manifest digest answer".into())),
            "oci/v1/oci_manifest" => {
                let image = request.as_str().unwrap_or_default();
                self.manifests
                    .iter()
                    .find(|(i, _)| i == image || i == "*")
                    .map(|(_, answer)| answer.clone())
                    .unwrap_or_else(|| Err(format!("fake host: no manifest for {image}")))
            }
            "crypto/v1/is_certificate_trusted" => self
                .trust
                .clone()
                .unwrap_or_else(|| Err("fake host: no trust answer".into())),
            _ => Err(format!("fake host: unknown operation {op}")),
        }?;
        Ok(serde_json::to_vec(&answer).unwrap_or_default())
    }

    fn now_unix_seconds(&self) -> Option<i64> {
        self.now
    }
}

/// The host's answer for a verified image.
pub fn verified(digest: &str) -> Answer {
    Ok(json!({"is_trusted": true, "digest": digest}))
}

pub fn host_error(text: &str) -> Answer {
    Err(text.to_string())
}

pub fn test_data(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("test_data")
        .join(relative)
}

pub fn read_text(relative: &str) -> String {
    std::fs::read_to_string(test_data(relative))
        .unwrap_or_else(|e| panic!("cannot read test_data/{relative}: {e}"))
}

pub fn read_json(relative: &str) -> Value {
    serde_json::from_str(&read_text(relative))
        .unwrap_or_else(|e| panic!("test_data/{relative} is not JSON: {e}"))
}

pub fn read_yaml(relative: &str) -> Value {
    serde_yaml::from_str(&read_text(relative))
        .unwrap_or_else(|e| panic!("test_data/{relative} is not YAML: {e}"))
}

pub fn pem(name: &str) -> String {
    read_text(&format!("pki/{name}"))
}

/// A `.sig` manifest whose layers carry these certificates (file names under
/// `test_data/keyless/`), each with a bundle integrated at `integrated_time`.
pub fn signature_manifest(certificates: &[&str], integrated_time: i64) -> Value {
    let layers: Vec<Value> = certificates
        .iter()
        .map(|name| {
            json!({
                "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                "size": 1,
                "annotations": {
                    "dev.cosignproject.cosign/signature": "MEUCIQ==",
                    "dev.sigstore.cosign/certificate": read_text(&format!("keyless/{name}")),
                    "dev.sigstore.cosign/bundle": json!({"SignedEntryTimestamp": "x", "Payload": {"body": "e30=", "integratedTime": integrated_time, "logIndex": 1, "logID": "00"}}).to_string()
                }
            })
        })
        .collect();
    json!({"schemaVersion": 2, "config": {}, "layers": layers})
}
