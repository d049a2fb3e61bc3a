//! Dispatch of guest → host calls the way the Kubewarden engine does it: binding, then
//! namespace and operation, then the payload parsed into its request type, and only then work.
//! Requests and answers are the SDK's own wire types, so the guest reads exactly what a policy
//! built on the SDK expects. Errors travel back to the guest as text; nothing here can bring
//! the host down.

use kubewarden_policy_sdk::host_capabilities::crypto_v1::{
    CertificateVerificationRequest, CertificateVerificationResponse,
};
use kubewarden_policy_sdk::host_capabilities::oci::{
    ManifestDigestResponse, OciManifestAndConfigResponse, OciManifestResponse,
};
use kubewarden_policy_sdk::host_capabilities::verification::VerificationResponse;
use kubewarden_policy_sdk::host_capabilities::{
    SigstoreVerificationInputV1, SigstoreVerificationInputV2,
};
use serde::Deserialize;
use serde_json::Value;

/// Everything a capability needs from the outside world, each answer typed as the SDK types
/// it. `Services` implements it against a real registry; tests substitute their own.
pub trait CapabilityServices: Send + Sync {
    fn verify(&self, input: SigstoreVerificationInputV2) -> Result<VerificationResponse, String>;
    fn manifest_digest(&self, image: &str) -> Result<ManifestDigestResponse, String>;
    fn oci_manifest(&self, image: &str) -> Result<OciManifestResponse, String>;
    fn oci_manifest_config(&self, image: &str) -> Result<OciManifestAndConfigResponse, String>;
    fn is_certificate_trusted(
        &self,
        request: CertificateVerificationRequest,
    ) -> Result<CertificateVerificationResponse, String>;
}

/// A parsed host request, named as kwctl names it in recorded sessions.
#[derive(Debug)]
pub enum CapabilityRequest {
    Verify(SigstoreVerificationInputV2),
    OciManifestDigest(String),
    OciManifest(String),
    OciManifestAndConfig(String),
    CryptoIsCertificateTrusted(CertificateVerificationRequest),
}

/// The legacy `oci/v1/verify` input (externally tagged, two variants: protocol doc §3.3) as the
/// v2 request it asks for.
fn from_v1(v1: SigstoreVerificationInputV1) -> SigstoreVerificationInputV2 {
    match v1 {
        SigstoreVerificationInputV1::SigstorePubKeyVerify {
            image,
            pub_keys,
            annotations,
        } => SigstoreVerificationInputV2::SigstorePubKeyVerify {
            image,
            pub_keys,
            annotations,
        },
        SigstoreVerificationInputV1::SigstoreKeylessVerify {
            image,
            keyless,
            annotations,
        } => SigstoreVerificationInputV2::SigstoreKeylessVerify {
            image,
            keyless,
            annotations,
        },
    }
}

/// What one guest call asks for.
pub enum Routed {
    Request(CapabilityRequest),
    /// `tracing/log`: printed, always answered with success and an empty payload.
    Log(Vec<u8>),
}

fn parse<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> Result<T, String> {
    serde_json::from_slice(payload).map_err(|e| e.to_string())
}

/// Binding, namespace, operation and payload → a typed request, or the engine's error text.
pub fn route(
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> Result<Routed, String> {
    if binding != "kubewarden" {
        return Err(format!("unknown binding: {binding}"));
    }
    let request = match (namespace, operation) {
        ("tracing", "log") => return Ok(Routed::Log(payload.to_vec())),
        ("tracing", _) => return Err(format!("unknown operation: {operation}")),
        ("oci", "v2/verify") => CapabilityRequest::Verify(parse(payload)?),
        ("oci", "v1/verify") => CapabilityRequest::Verify(from_v1(parse(payload)?)),
        ("oci", "v1/manifest_digest") => CapabilityRequest::OciManifestDigest(parse(payload)?),
        ("oci", "v1/oci_manifest") => CapabilityRequest::OciManifest(parse(payload)?),
        ("oci", "v1/oci_manifest_config") => {
            CapabilityRequest::OciManifestAndConfig(parse(payload)?)
        }
        ("crypto", "v1/is_certificate_trusted") => {
            CapabilityRequest::CryptoIsCertificateTrusted(parse(payload)?)
        }
        ("oci" | "crypto", _) => return Err(format!("unknown operation: {operation}")),
        _ => return Err(format!("unknown namespace: {namespace}")),
    };
    Ok(Routed::Request(request))
}

/// Serve one request with `services`; the success payload is the typed answer as compact JSON.
pub fn serve(
    services: &dyn CapabilityServices,
    request: CapabilityRequest,
) -> Result<Vec<u8>, String> {
    fn encode<T: serde::Serialize>(answer: Result<T, String>) -> Result<Vec<u8>, String> {
        serde_json::to_vec(&answer?).map_err(|e| e.to_string())
    }
    match request {
        CapabilityRequest::Verify(input) => encode(services.verify(input)),
        CapabilityRequest::OciManifestDigest(image) => encode(services.manifest_digest(&image)),
        CapabilityRequest::OciManifest(image) => encode(services.oci_manifest(&image)),
        CapabilityRequest::OciManifestAndConfig(image) => {
            encode(services.oci_manifest_config(&image))
        }
        CapabilityRequest::CryptoIsCertificateTrusted(request) => {
            encode(services.is_certificate_trusted(request))
        }
    }
}

/// A guest's `tracing/log` event on stderr, one readable line.
pub fn print_log(payload: &[u8]) {
    match serde_json::from_slice::<Value>(payload) {
        Ok(event) => {
            let level = event.get("level").and_then(Value::as_str).unwrap_or("info");
            let message = event.get("message").and_then(Value::as_str).unwrap_or("");
            eprintln!("[policy {level}] {message} {event}");
        }
        Err(_) => eprintln!("[policy log] {}", String::from_utf8_lossy(payload)),
    }
}
