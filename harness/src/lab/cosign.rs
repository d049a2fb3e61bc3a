//! Signatures in cosign's storage format (protocol doc §6): the simple-signing payload, the
//! `.sig` layer annotations, and Rekor-style bundles whose SET the lab's log key signs (§7.3).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::keys::LabKey;

pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// The simple-signing payload naming `digest`, with optional signer annotations.
pub fn payload(
    docker_reference: &str,
    digest: &str,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let optional = match annotations.is_empty() {
        true => Value::Null,
        false => json!(annotations),
    };
    let value = json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature"
        },
        "optional": optional
    });
    serde_json::to_vec(&value).unwrap_or_default()
}

/// One layer of a `.sig` manifest: the payload blob and its annotations.
#[derive(Clone)]
pub struct SignatureLayer {
    pub payload: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

impl SignatureLayer {
    pub fn new(payload: Vec<u8>, signature: String) -> Self {
        let mut annotations = BTreeMap::new();
        annotations.insert(SIGNATURE_ANNOTATION.to_string(), signature);
        Self {
            payload,
            annotations,
        }
    }

    pub fn signature(&self) -> &str {
        self.annotations
            .get(SIGNATURE_ANNOTATION)
            .map_or("", String::as_str)
    }

    pub fn with_certificate(mut self, certificate_pem: &str, chain_pem: Option<&str>) -> Self {
        self.annotations.insert(
            CERTIFICATE_ANNOTATION.to_string(),
            certificate_pem.to_string(),
        );
        if let Some(chain) = chain_pem {
            self.annotations
                .insert(CHAIN_ANNOTATION.to_string(), chain.to_string());
        }
        self
    }

    pub fn with_bundle(mut self, bundle: String) -> Self {
        self.annotations
            .insert(BUNDLE_ANNOTATION.to_string(), bundle);
        self
    }
}

/// The lab's transparency log: only its key, its id and a counter.
pub struct RekorLog {
    pub key: LabKey,
    pub log_id: String,
    next_index: i64,
}

impl RekorLog {
    pub fn new(key: LabKey) -> anyhow::Result<Self> {
        let log_id = hex::encode(Sha256::digest(key.public_der()?));
        Ok(Self {
            key,
            log_id,
            next_index: 1000,
        })
    }

    /// A bundle for a `hashedrekord` entry of (payload, signature, signer PEM), logged at
    /// `integrated_time`, with a SET over the canonical JSON of its Payload.
    pub fn bundle(
        &mut self,
        payload: &[u8],
        signature: &str,
        signer_pem: &str,
        integrated_time: i64,
    ) -> String {
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(payload))}},
                "signature": {"content": signature, "publicKey": {"content": STANDARD.encode(signer_pem.as_bytes())}}
            }
        });
        let body = STANDARD.encode(serde_json::to_vec(&body).unwrap_or_default());
        let index = self.next_index;
        self.next_index += 1;
        // Canonical JSON: keys sorted, no whitespace (body, integratedTime, logID, logIndex).
        let canonical = format!(
            "{{\"body\":{},\"integratedTime\":{integrated_time},\"logID\":\"{}\",\"logIndex\":{index}}}",
            serde_json::Value::String(body.clone()),
            self.log_id
        );
        let set = self.key.sign_base64(canonical.as_bytes());
        json!({
            "SignedEntryTimestamp": set,
            "Payload": {"body": body, "integratedTime": integrated_time, "logIndex": index, "logID": self.log_id}
        })
        .to_string()
    }
}
