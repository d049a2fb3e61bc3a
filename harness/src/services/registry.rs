//! Registry access as the engine configures it: kwctl's `sources.yaml` decides which hosts are
//! spoken to over plain HTTP (`insecure_sources`) and which extra CAs are trusted.

use std::path::Path;

use anyhow::Context;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Clone, Deserialize)]
pub struct Sources {
    #[serde(default)]
    pub insecure_sources: Vec<String>,
    #[serde(default)]
    pub source_authorities: std::collections::BTreeMap<String, Vec<SourceAuthority>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type")]
pub enum SourceAuthority {
    Data { data: String },
    Path { path: String },
}

impl Sources {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// PEM certificates of every source authority, for TLS to private registries.
    pub fn extra_roots(&self) -> Vec<Vec<u8>> {
        self.source_authorities
            .values()
            .flatten()
            .filter_map(|authority| match authority {
                SourceAuthority::Data { data } => Some(data.as_bytes().to_vec()),
                SourceAuthority::Path { path } => std::fs::read(path).ok(),
            })
            .collect()
    }

    pub fn oci_config(&self) -> ClientConfig {
        ClientConfig {
            protocol: ClientProtocol::HttpsExcept(self.insecure_sources.clone()),
            extra_root_certificates: self
                .extra_roots()
                .into_iter()
                .map(|data| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data,
                })
                .collect(),
            ..ClientConfig::default()
        }
    }

    pub fn sigstore_config(&self) -> sigstore::registry::ClientConfig {
        sigstore::registry::ClientConfig {
            protocol: sigstore::registry::ClientProtocol::HttpsExcept(
                self.insecure_sources.clone(),
            ),
            extra_root_certificates: self
                .extra_roots()
                .into_iter()
                .map(|data| sigstore::registry::Certificate {
                    encoding: sigstore::registry::CertificateEncoding::Pem,
                    data,
                })
                .collect(),
            ..Default::default()
        }
    }
}

pub fn parse_reference(image: &str) -> Result<Reference, String> {
    image
        .parse::<Reference>()
        .map_err(|e| format!("invalid image reference {image:?}: {e}"))
}

pub async fn manifest_digest(sources: &Sources, image: &str) -> Result<String, String> {
    let reference = parse_reference(image)?;
    Client::new(sources.oci_config())
        .fetch_manifest_digest(&reference, &RegistryAuth::Anonymous)
        .await
        .map_err(|e| format!("cannot resolve {image}: {e}"))
}

pub async fn manifest(sources: &Sources, image: &str) -> Result<Value, String> {
    let reference = parse_reference(image)?;
    let (manifest, _) = Client::new(sources.oci_config())
        .pull_manifest(&reference, &RegistryAuth::Anonymous)
        .await
        .map_err(|e| format!("cannot fetch the manifest of {image}: {e}"))?;
    serde_json::to_value(manifest).map_err(|e| e.to_string())
}

pub async fn manifest_and_config(sources: &Sources, image: &str) -> Result<Value, String> {
    let reference = parse_reference(image)?;
    let (manifest, digest, config) = Client::new(sources.oci_config())
        .pull_manifest_and_config(&reference, &RegistryAuth::Anonymous)
        .await
        .map_err(|e| format!("cannot fetch the manifest and config of {image}: {e}"))?;
    let config: Value = serde_json::from_str(&config)
        .map_err(|e| format!("the config of {image} is not JSON: {e}"))?;
    Ok(serde_json::json!({ "manifest": manifest, "digest": digest, "config": config }))
}
