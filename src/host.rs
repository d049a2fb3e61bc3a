//! The only door to the outside world. Everything the policy learns about images comes through
//! `Host::call`, a Kubewarden host capability call; `HostApi` gives those calls types.

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;
use kubewarden_policy_sdk::host_capabilities::crypto::{Certificate, CertificateEncoding};
use kubewarden_policy_sdk::host_capabilities::crypto_v1::CertificateVerificationRequest;
use serde::Deserialize;
use std::cell::Cell;

/// The policy's only contact with the world: calls of the `kubewarden` binding (`Err` carries
/// the host's error text) and the clock.
pub trait Host {
    /// One host capability call of the `kubewarden` binding: `Err` carries the host's error text.
    fn call(&self, namespace: &str, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String>;

    /// Seconds since the Unix epoch, `None` when no clock can be read.
    fn now_unix_seconds(&self) -> Option<i64>;
}

/// Wrapper prefixes the engine and waPC put around host errors; they say nothing to an operator.
const NOISE_PREFIXES: [&str; 2] = ["Host error: ", "Callback evaluation failure: "];

/// The host's reason in one line, without transport wrappers.
pub fn clean_reason(text: &str) -> String {
    let mut reason = text.trim();
    while let Some(rest) = NOISE_PREFIXES.iter().find_map(|p| reason.strip_prefix(p)) {
        reason = rest.trim_start();
    }
    reason.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Deserialize)]
struct VerificationAnswer {
    is_trusted: bool,
    digest: String,
}

#[derive(Deserialize)]
struct TrustAnswer {
    trusted: bool,
    #[serde(default)]
    reason: Option<String>,
}

/// The host's answer to `crypto/v1/is_certificate_trusted`.
pub enum CertificateTrust {
    /// The certificate chains to the given CA chain.
    Trusted,
    /// It does not, with the host's reason.
    Untrusted(String),
}

/// Most host calls one request may make. Every call can cost a registry round trip, and the
/// engine's evaluation timeout (policy-server: 2 s) turns a slow request into an error that
/// `failurePolicy: Ignore` admits; past this budget the remaining checks fail instead.
pub const MAX_HOST_CALLS_PER_REQUEST: usize = 256;

/// Typed host capability calls, counted against [`MAX_HOST_CALLS_PER_REQUEST`].
pub struct HostApi<'h> {
    host: &'h dyn Host,
    calls: Cell<usize>,
}

impl<'h> HostApi<'h> {
    /// Typed calls through `host`, none made yet.
    pub fn new(host: &'h dyn Host) -> Self {
        Self {
            host,
            calls: Cell::new(0),
        }
    }

    /// One host call, within the request's budget.
    fn call(&self, namespace: &str, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        let made = self.calls.get();
        if made >= MAX_HOST_CALLS_PER_REQUEST {
            return Err(format!(
                "not asked: the request needs more than {MAX_HOST_CALLS_PER_REQUEST} host calls, the policy's limit per request"
            ));
        }
        self.calls.set(made.saturating_add(1));
        self.host
            .call(namespace, operation, payload)
            .map_err(|e| clean_reason(&e))
    }

    /// `oci/v2/verify`: the digest the host verified, or why it did not.
    pub fn verify(&self, input: &SigstoreVerificationInputV2) -> Result<String, String> {
        // Room for a request naming a key or a certificate: written without regrowing.
        let mut payload = Vec::with_capacity(1024);
        serde_json::to_writer(&mut payload, input)
            .map_err(|e| format!("cannot encode the verification request: {e}"))?;
        let answer = self.call("oci", "v2/verify", &payload)?;
        let answer: VerificationAnswer = serde_json::from_slice(&answer)
            .map_err(|e| format!("the host answered an unreadable verification result: {e}"))?;
        if !answer.is_trusted {
            return Err("the host reported the signature as not trusted".into());
        }
        Ok(answer.digest)
    }

    /// `oci/v1/manifest_digest`: the digest the registry reports for `image` now.
    pub fn manifest_digest(&self, image: &str) -> Result<String, String> {
        #[derive(Deserialize)]
        struct DigestAnswer {
            digest: String,
        }
        let payload = serde_json::to_vec(image).map_err(|e| e.to_string())?;
        let answer = self.call("oci", "v1/manifest_digest", &payload)?;
        serde_json::from_slice::<DigestAnswer>(&answer)
            .map(|a| a.digest)
            .map_err(|e| format!("the host answered an unreadable manifest digest: {e}"))
    }

    /// `oci/v1/oci_manifest`: the manifest of `image` as the registry serves it.
    pub fn oci_manifest(&self, image: &str) -> Result<serde_json::Value, String> {
        let payload = serde_json::to_vec(image).map_err(|e| e.to_string())?;
        let answer = self.call("oci", "v1/oci_manifest", &payload)?;
        serde_json::from_slice(&answer)
            .map_err(|e| format!("the host answered an unreadable manifest: {e}"))
    }

    /// `crypto/v1/is_certificate_trusted` of a PEM certificate against a chain (root last),
    /// at `not_after` (RFC 3339) or now.
    pub fn is_certificate_trusted(
        &self,
        certificate: &str,
        chain: &[String],
        not_after: Option<String>,
    ) -> Result<CertificateTrust, String> {
        let pem = |text: &str| Certificate {
            encoding: CertificateEncoding::Pem,
            data: text.as_bytes().to_vec(),
        };
        let request = CertificateVerificationRequest {
            cert: pem(certificate),
            cert_chain: Some(chain.iter().map(|c| pem(c)).collect()),
            not_after,
        };
        let payload = serde_json::to_vec(&request)
            .map_err(|e| format!("cannot encode the certificate request: {e}"))?;
        let answer = self.call("crypto", "v1/is_certificate_trusted", &payload)?;
        let answer: TrustAnswer = serde_json::from_slice(&answer)
            .map_err(|e| format!("the host answered an unreadable trust result: {e}"))?;
        Ok(if answer.trusted {
            CertificateTrust::Trusted
        } else {
            CertificateTrust::Untrusted(answer.reason.unwrap_or_default())
        })
    }
}
