//! Kubewarden packaging of a policy module (protocol doc §8): the `io.kubewarden.metadata`
//! custom section `kwctl annotate` writes, and the OCI artefact `kwctl push` makes.

use std::collections::BTreeMap;

use oci_client::{Client, Reference};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::services::Sources;

pub const METADATA_SECTION: &str = "io.kubewarden.metadata";
pub const WASM_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const USAGE_ANNOTATION: &str = "io.kubewarden.policy.usage";
const SOURCE_ANNOTATION: &str = "io.kubewarden.policy.source";

#[derive(Debug, Error)]
pub enum DistributionError {
    #[error("cannot parse the metadata: {0}")]
    Metadata(String),
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),
    #[error("not a WebAssembly module")]
    NotWasm,
    #[error("the module has no {METADATA_SECTION} section: annotate it first")]
    NoMetadata,
    #[error("registry: {0}")]
    Registry(String),
    #[error("{0:?} is not a registry://HOST/REPOSITORY:TAG URI")]
    BadUri(String),
}

/// The metadata as kwctl serialises it into the section: camelCase, this field order,
/// optional fields omitted when absent, defaults filled in.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub protocol_version: Option<String>,
    pub rules: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    pub mutating: bool,
    #[serde(default = "default_true")]
    pub background_audit: bool,
    #[serde(default = "default_execution_mode")]
    pub execution_mode: String,
    #[serde(default = "default_policy_type")]
    pub policy_type: String,
    #[serde(default)]
    pub context_aware_resources: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_capabilities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_kubewarden_version: Option<String>,
}

fn default_true() -> bool {
    true
}
fn default_execution_mode() -> String {
    "kubewarden-wapc".into()
}
fn default_policy_type() -> String {
    "kubernetes".into()
}

impl Metadata {
    pub fn from_yaml(text: &str) -> Result<Self, DistributionError> {
        serde_yaml::from_str(text).map_err(|e| DistributionError::Metadata(e.to_string()))
    }

    pub fn with_usage(mut self, usage: Option<String>) -> Self {
        if let Some(usage) = usage {
            self.annotations
                .get_or_insert_with(BTreeMap::new)
                .insert(USAGE_ANNOTATION.into(), usage);
        }
        self
    }
}

fn leb128(mut value: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_leb128(bytes: &[u8], at: &mut usize) -> Option<usize> {
    let mut value = 0usize;
    let mut shift = 0;
    loop {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= usize::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
    }
}

/// The module with the metadata appended as a custom section (kwctl appends too, so annotate
/// the raw build output: readers take the first such section).
pub fn annotate(module: &[u8], metadata: &Metadata) -> Result<Vec<u8>, DistributionError> {
    if !module.starts_with(b"\0asm") {
        return Err(DistributionError::NotWasm);
    }
    let content =
        serde_json::to_vec(metadata).map_err(|e| DistributionError::Metadata(e.to_string()))?;
    let mut body = Vec::new();
    leb128(METADATA_SECTION.len(), &mut body);
    body.extend_from_slice(METADATA_SECTION.as_bytes());
    body.extend_from_slice(&content);
    let mut out = module.to_vec();
    out.push(0);
    leb128(body.len(), &mut out);
    out.extend_from_slice(&body);
    Ok(out)
}

/// The content of the first `io.kubewarden.metadata` section, parsed.
pub fn read_metadata(module: &[u8]) -> Result<Value, DistributionError> {
    let text = read_metadata_text(module)?;
    serde_json::from_str(&text).map_err(|e| DistributionError::Metadata(e.to_string()))
}

/// The content of the first `io.kubewarden.metadata` section, as stored.
pub fn read_metadata_text(module: &[u8]) -> Result<String, DistributionError> {
    if !module.starts_with(b"\0asm") {
        return Err(DistributionError::NotWasm);
    }
    let mut at = 8;
    while at < module.len() {
        let id = *module.get(at).ok_or(DistributionError::NotWasm)?;
        at += 1;
        let size = read_leb128(module, &mut at).ok_or(DistributionError::NotWasm)?;
        let end = at
            .checked_add(size)
            .filter(|e| *e <= module.len())
            .ok_or(DistributionError::NotWasm)?;
        if id == 0 {
            let mut cursor = at;
            let name_len = read_leb128(module, &mut cursor).ok_or(DistributionError::NotWasm)?;
            let name = module
                .get(cursor..cursor + name_len)
                .ok_or(DistributionError::NotWasm)?;
            if name == METADATA_SECTION.as_bytes() {
                let content = module
                    .get(cursor + name_len..end)
                    .ok_or(DistributionError::NotWasm)?;
                return String::from_utf8(content.to_vec())
                    .map_err(|e| DistributionError::Metadata(e.to_string()));
            }
        }
        at = end;
    }
    Err(DistributionError::NoMetadata)
}

/// `registry://host:port/repo:tag` → `host:port/repo:tag`.
pub fn registry_reference(uri: &str) -> Result<Reference, DistributionError> {
    let bare = uri
        .strip_prefix("registry://")
        .ok_or_else(|| DistributionError::BadUri(uri.to_string()))?;
    bare.parse()
        .map_err(|_| DistributionError::BadUri(uri.to_string()))
}

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Push an annotated module as Kubewarden's OCI artefact; returns `host/repo@digest`.
/// `progress` hears one line per step.
pub async fn push(
    sources: &Sources,
    module: &[u8],
    uri: &str,
    progress: &dyn Fn(&str),
) -> Result<String, DistributionError> {
    let reference = registry_reference(uri)?;
    let metadata = read_metadata(module)?;
    let client = Client::new(sources.oci_config());
    let registry = reference.registry().to_string();
    let registry_error = |e: oci_client::errors::OciDistributionError| {
        DistributionError::Registry(sources.explain(&registry, &e))
    };
    let auth = sources
        .oci_auth(&reference)
        .map_err(DistributionError::Registry)?;
    client
        .auth(&reference, &auth, oci_client::RegistryOperation::Push)
        .await
        .map_err(registry_error)?;
    let config_blob = b"{}";
    client
        .push_blob(&reference, config_blob, &digest_of(config_blob))
        .await
        .map_err(registry_error)?;
    progress(&format!(
        "pushing the module ({} bytes) to {}/{}",
        module.len(),
        reference.registry(),
        reference.repository()
    ));
    client
        .push_blob(&reference, module, &digest_of(module))
        .await
        .map_err(registry_error)?;
    // Manifest annotations: the metadata's single-line annotations, plus the OCI source.
    let mut annotations: BTreeMap<String, String> = metadata
        .get("annotations")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| {
                    v.as_str()
                        .filter(|s| !s.trim().contains('\n'))
                        .map(|s| (k.clone(), s.trim().to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(source) = annotations.get(SOURCE_ANNOTATION).cloned() {
        annotations
            .entry("org.opencontainers.image.source".into())
            .or_insert(source);
    }
    let manifest = json!({
        "schemaVersion": 2,
        "config": {"mediaType": WASM_CONFIG, "digest": digest_of(config_blob), "size": config_blob.len()},
        "layers": [{"mediaType": WASM_LAYER, "digest": digest_of(module), "size": module.len()}],
        "annotations": annotations
    });
    let body =
        serde_json::to_vec(&manifest).map_err(|e| DistributionError::Metadata(e.to_string()))?;
    let digest = digest_of(&body);
    progress(&format!("pushing the manifest as {reference}"));
    client
        .push_manifest_raw(
            &reference,
            body,
            http::HeaderValue::from_static(OCI_MANIFEST),
        )
        .await
        .map_err(registry_error)?;
    Ok(format!(
        "{}/{}@{digest}",
        reference.registry(),
        reference.repository()
    ))
}

/// The module bytes of a policy artefact (its first wasm layer).
pub async fn pull(
    sources: &Sources,
    reference: &Reference,
    progress: &dyn Fn(&str),
) -> Result<Vec<u8>, DistributionError> {
    let auth = sources
        .oci_auth(reference)
        .map_err(DistributionError::Registry)?;
    progress(&format!("pulling {reference}"));
    let image = Client::new(sources.oci_config())
        .pull(reference, &auth, vec![WASM_LAYER])
        .await
        .map_err(|e| DistributionError::Registry(sources.explain(reference.registry(), &e)))?;
    image
        .layers
        .into_iter()
        .find(|layer| layer.media_type == WASM_LAYER)
        .map(|layer| layer.data.to_vec())
        .ok_or_else(|| {
            DistributionError::Registry(format!("{reference} has no {WASM_LAYER} layer"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotate_then_read_back() {
        let module = b"\0asm\x01\0\0\0".to_vec();
        let metadata = Metadata::from_yaml(
            "rules: []\nmutating: true\nannotations: {a: b}\ncontextAware: false\n",
        )
        .unwrap();
        let annotated = annotate(&module, &metadata.with_usage(Some("usage".into()))).unwrap();
        let read = read_metadata_text(&annotated).unwrap();
        assert_eq!(
            read,
            r#"{"protocolVersion":null,"rules":[],"annotations":{"a":"b","io.kubewarden.policy.usage":"usage"},"mutating":true,"backgroundAudit":true,"executionMode":"kubewarden-wapc","policyType":"kubernetes","contextAwareResources":[]}"#
        );
        assert!(matches!(
            read_metadata(&module),
            Err(DistributionError::NoMetadata)
        ));
        assert!(matches!(
            read_metadata(b"nope"),
            Err(DistributionError::NotWasm)
        ));
    }
}
