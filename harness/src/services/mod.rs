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

use std::future::Future;

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;
use kubewarden_policy_sdk::host_capabilities::crypto_v1::{
    CertificateVerificationRequest, CertificateVerificationResponse,
};
use kubewarden_policy_sdk::host_capabilities::oci::{
    ManifestDigestResponse, OciManifestAndConfigResponse, OciManifestResponse,
};
use kubewarden_policy_sdk::host_capabilities::verification::VerificationResponse;

use crate::capabilities::CapabilityServices;
use crate::executor;

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

/// The host capabilities against the outside world. The registry client and the cosign client
/// are built once and kept, with the shared runtime (`crate::executor`), so that connections
/// are reused and sigstore-rs's registry cache hits across calls, as in the engine.
pub struct Services {
    sources: Sources,
    trust: Option<TrustMaterial>,
    binding: KeylessBinding,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, VerificationResponse)>>,
    registry: oci_client::Client,
    /// sigstore-rs's client takes `&mut self` to verify.
    cosign: Mutex<sigstore::cosign::Client>,
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
        let cosign = verify::cosign_client(&sources, trust.as_ref()).map_err(anyhow::Error::msg)?;
        Ok(Self {
            registry: oci_client::Client::new(sources.oci_config()),
            sources,
            trust,
            binding: config.keyless_binding,
            cache_ttl: config.cache_ttl,
            cache: Mutex::new(HashMap::new()),
            cosign: Mutex::new(cosign),
        })
    }

    fn cached(&self, key: &str) -> Option<VerificationResponse> {
        let cache = self.cache.lock().ok()?;
        let (stored, value) = cache.get(key)?;
        (stored.elapsed() < self.cache_ttl).then(|| value.clone())
    }

    fn remember(&self, key: String, value: &VerificationResponse) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, (Instant::now(), value.clone()));
        }
    }

    fn registry(&self) -> registry::Registry<'_> {
        registry::Registry {
            client: &self.registry,
            sources: &self.sources,
        }
    }

    /// `work` on the shared runtime; a runtime that cannot start is the call's error.
    fn run<T>(&self, work: impl Future<Output = Result<T, String>>) -> Result<T, String> {
        executor::block_on(work).map_err(|e| e.to_string())?
    }
}

impl CapabilityServices for Services {
    fn verify(&self, input: SigstoreVerificationInputV2) -> Result<VerificationResponse, String> {
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
        let mut cosign = self.cosign.lock().map_err(|e| e.to_string())?;
        let answer = self.run(verifier.verify(&mut cosign, &self.registry, &input))?;
        self.remember(key, &answer);
        Ok(answer)
    }

    fn manifest_digest(&self, image: &str) -> Result<ManifestDigestResponse, String> {
        let digest = self.run(self.registry().manifest_digest(image))?;
        Ok(ManifestDigestResponse { digest })
    }

    fn oci_manifest(&self, image: &str) -> Result<OciManifestResponse, String> {
        self.run(self.registry().manifest(image))
    }

    fn oci_manifest_config(&self, image: &str) -> Result<OciManifestAndConfigResponse, String> {
        self.run(self.registry().manifest_and_config(image))
    }

    fn is_certificate_trusted(
        &self,
        request: CertificateVerificationRequest,
    ) -> Result<CertificateVerificationResponse, String> {
        certificates::is_trusted(&request)
    }
}
