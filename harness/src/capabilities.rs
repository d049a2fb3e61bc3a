//! Dispatch of guest → host calls the way the Kubewarden engine does it: binding, then
//! namespace and operation, then the payload parsed into its request type, and only then work.
//! Errors travel back to the guest as text; nothing here can bring the host down.

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;
use kubewarden_policy_sdk::host_capabilities::crypto_v1::CertificateVerificationRequest;
use serde::Deserialize;
use serde_json::Value;

/// Everything a capability needs from the outside world. `Services` implements it against a
/// real registry; tests and replay substitute their own.
pub trait CapabilityServices: Send + Sync {
    fn verify(&self, input: SigstoreVerificationInputV2) -> Result<Value, String>;
    fn manifest_digest(&self, image: &str) -> Result<Value, String>;
    fn oci_manifest(&self, image: &str) -> Result<Value, String>;
    fn oci_manifest_config(&self, image: &str) -> Result<Value, String>;
    fn is_certificate_trusted(
        &self,
        request: CertificateVerificationRequest,
    ) -> Result<Value, String>;
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

/// The legacy `oci/v1/verify` input: externally tagged, two variants (protocol doc §3.3).
#[derive(Deserialize)]
enum VerificationInputV1 {
    SigstorePubKeyVerify {
        image: String,
        pub_keys: Vec<String>,
        annotations: Option<std::collections::BTreeMap<String, String>>,
    },
    SigstoreKeylessVerify {
        image: String,
        keyless: Vec<kubewarden_policy_sdk::host_capabilities::verification::KeylessInfo>,
        annotations: Option<std::collections::BTreeMap<String, String>>,
    },
}

impl From<VerificationInputV1> for SigstoreVerificationInputV2 {
    fn from(v1: VerificationInputV1) -> Self {
        match v1 {
            VerificationInputV1::SigstorePubKeyVerify {
                image,
                pub_keys,
                annotations,
            } => SigstoreVerificationInputV2::SigstorePubKeyVerify {
                image,
                pub_keys,
                annotations,
            },
            VerificationInputV1::SigstoreKeylessVerify {
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
        ("oci", "v1/verify") => {
            CapabilityRequest::Verify(parse::<VerificationInputV1>(payload)?.into())
        }
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

/// Serve one request with `services`; the success payload is compact JSON.
pub fn serve(
    services: &dyn CapabilityServices,
    request: CapabilityRequest,
) -> Result<Vec<u8>, String> {
    let answer = match request {
        CapabilityRequest::Verify(input) => services.verify(input),
        CapabilityRequest::OciManifestDigest(image) => services.manifest_digest(&image),
        CapabilityRequest::OciManifest(image) => services.oci_manifest(&image),
        CapabilityRequest::OciManifestAndConfig(image) => services.oci_manifest_config(&image),
        CapabilityRequest::CryptoIsCertificateTrusted(request) => {
            services.is_certificate_trusted(request)
        }
    }?;
    serde_json::to_vec(&answer).map_err(|e| e.to_string())
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
