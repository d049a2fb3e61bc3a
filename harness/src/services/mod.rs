//! The outside world of the host capabilities: a real OCI registry (kwctl-format sources),
//! sigstore-rs verification against the trust root given on the command line, and X.509 chain
//! checks. Successful verifications are cached for a TTL, as the engine does; failures never.

mod certificates;
pub mod credentials;
mod identity;
mod registry;
mod trust;
mod verify;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;
use kubewarden_policy_sdk::host_capabilities::crypto_v1::CertificateVerificationRequest;
use serde_json::Value;

use crate::capabilities::CapabilityServices;

pub use registry::Sources;
pub use trust::TrustMaterial;

/// How keyless identities are accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum KeylessBinding {
    /// The real engine's behaviour (identity read from the certificate only, not bound to the
    /// layer's signature). The default: a policy tested here meets the host the cluster runs.
    #[default]
    Engine,
    /// What a binding host would do: an identity counts only when the layer's signature
    /// verifies with the certificate's key and the Rekor bundle's body names that payload
    /// hash, signature and certificate. Stricter than kwctl and policy-server.
    Strict,
}

#[derive(Clone, Debug, Default)]
pub struct ServicesConfig {
    pub sources_path: Option<PathBuf>,
    /// Directory of the Docker `config.json` with registry logins (kwctl's search otherwise).
    pub docker_config_dir: Option<PathBuf>,
    pub trust_root_path: Option<PathBuf>,
    pub cache_ttl: Duration,
    pub keyless_binding: KeylessBinding,
}

pub struct Services {
    sources: Sources,
    trust: Option<TrustMaterial>,
    binding: KeylessBinding,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Value)>>,
    runtime: tokio::runtime::Runtime,
}

impl Services {
    pub fn new(config: ServicesConfig) -> anyhow::Result<Self> {
        let sources = Sources::resolve(
            config.sources_path.as_deref(),
            config.docker_config_dir.as_deref(),
        )?;
        let trust = match &config.trust_root_path {
            Some(path) => Some(TrustMaterial::load(path)?),
            None => None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            sources,
            trust,
            binding: config.keyless_binding,
            cache_ttl: config.cache_ttl,
            cache: Mutex::new(HashMap::new()),
            runtime,
        })
    }

    fn cached(&self, key: &str) -> Option<Value> {
        let cache = self.cache.lock().ok()?;
        let (stored, value) = cache.get(key)?;
        (stored.elapsed() < self.cache_ttl).then(|| value.clone())
    }

    fn remember(&self, key: String, value: &Value) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, (Instant::now(), value.clone()));
        }
    }
}

impl CapabilityServices for Services {
    fn verify(&self, input: SigstoreVerificationInputV2) -> Result<Value, String> {
        // The whole request is the key: image, variant and every constraint.
        let key = serde_json::to_string(&input).map_err(|e| e.to_string())?;
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        let verifier = verify::Verifier {
            sources: &self.sources,
            trust: self.trust.as_ref(),
            binding: self.binding,
        };
        let answer = self.runtime.block_on(verifier.verify(&input))?;
        self.remember(key, &answer);
        Ok(answer)
    }

    fn manifest_digest(&self, image: &str) -> Result<Value, String> {
        let digest = self
            .runtime
            .block_on(registry::manifest_digest(&self.sources, image))?;
        Ok(serde_json::json!({ "digest": digest }))
    }

    fn oci_manifest(&self, image: &str) -> Result<Value, String> {
        self.runtime
            .block_on(registry::manifest(&self.sources, image))
    }

    fn oci_manifest_config(&self, image: &str) -> Result<Value, String> {
        self.runtime
            .block_on(registry::manifest_and_config(&self.sources, image))
    }

    fn is_certificate_trusted(
        &self,
        request: CertificateVerificationRequest,
    ) -> Result<Value, String> {
        certificates::is_trusted(&request)
    }
}
