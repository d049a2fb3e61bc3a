//! The Sigstore trust root of keyless verification: a `ClientTrustConfig` (what kwctl's
//! `--sigstore-trust-config` takes) or a bare `TrustedRoot`, reduced to what the cosign `.sig`
//! path uses: Fulcio CA certificates and Rekor keys by log id.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

#[derive(Debug, Clone, Default)]
pub struct TrustMaterial {
    /// DER certificates; every one is a trust anchor for sigstore-rs.
    pub fulcio_certs: Vec<Vec<u8>>,
    /// Hex log id → DER SubjectPublicKeyInfo.
    pub rekor_keys: BTreeMap<String, Vec<u8>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientTrustConfig {
    trusted_root: Option<TrustedRoot>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrustedRoot {
    #[serde(default)]
    tlogs: Vec<TransparencyLog>,
    #[serde(default)]
    certificate_authorities: Vec<CertificateAuthority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransparencyLog {
    public_key: RawBytes,
    log_id: LogId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CertificateAuthority {
    cert_chain: CertChain,
}

#[derive(Deserialize)]
struct CertChain {
    certificates: Vec<RawBytes>,
}

impl TrustMaterial {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("parsing the trust root {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let root: TrustedRoot = if value.get("trustedRoot").is_some() {
            let config: ClientTrustConfig = serde_json::from_value(value)?;
            config.trusted_root.context("trustedRoot is null")?
        } else {
            serde_json::from_value(value)?
        };
        let decode = |b64: &str| {
            STANDARD
                .decode(b64)
                .context("invalid base64 in the trust root")
        };
        let mut material = TrustMaterial::default();
        for authority in &root.certificate_authorities {
            for certificate in &authority.cert_chain.certificates {
                material.fulcio_certs.push(decode(&certificate.raw_bytes)?);
            }
        }
        for log in &root.tlogs {
            let key_id = hex::encode(decode(&log.log_id.key_id)?);
            material
                .rekor_keys
                .insert(key_id, decode(&log.public_key.raw_bytes)?);
        }
        if material.fulcio_certs.is_empty() {
            bail!("the trust root names no certificate authority (Fulcio certificates not found)");
        }
        Ok(material)
    }

    pub fn manual_root(&self) -> sigstore::trust::ManualTrustRoot<'_> {
        sigstore::trust::ManualTrustRoot {
            fulcio_certs: self
                .fulcio_certs
                .iter()
                .map(|der| rustls_pki_types::CertificateDer::from(der.as_slice()))
                .collect(),
            rekor_keys: self.rekor_keys.clone(),
            ctfe_keys: BTreeMap::new(),
        }
    }
}
