//! `crypto/v1/is_certificate_trusted` with the engine's semantics (protocol doc §3.6): the last
//! chain element is the only anchor, the others intermediates; validity at `not_after` or now;
//! untrusted is an answer, unreadable input an error.

use kubewarden_policy_sdk::host_capabilities::crypto::{Certificate, CertificateEncoding};
use kubewarden_policy_sdk::host_capabilities::crypto_v1::{
    CertificateVerificationRequest, CertificateVerificationResponse,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::EndEntityCert;

/// The engine accepts a certificate whatever its extended key usages (protocol doc §3.6,
/// confirmed with kwctl): only a malformed EKU extension is refused.
struct AnyExtendedKeyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyExtendedKeyUsage {
    fn validate(&self, purposes: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for purpose in purposes {
            purpose?;
        }
        Ok(())
    }
}

fn der(certificate: &Certificate) -> Result<Vec<u8>, String> {
    match certificate.encoding {
        CertificateEncoding::Der => Ok(certificate.data.clone()),
        CertificateEncoding::Pem => pem::parse(&certificate.data)
            .map(|block| block.contents().to_vec())
            .map_err(|e| format!("cannot parse the PEM certificate: {e}")),
    }
}

/// RFC 3339 (`2027-01-31T12:00:00Z`, with optional fraction or offset) to Unix seconds.
fn parse_time(text: &str) -> Result<u64, String> {
    let time = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("not_after {text:?} is not an RFC 3339 time: {e}"))?;
    u64::try_from(time.timestamp()).map_err(|_| format!("not_after {text:?} is before 1970"))
}

pub fn is_trusted(
    request: &CertificateVerificationRequest,
) -> Result<CertificateVerificationResponse, String> {
    let leaf = der(&request.cert)?;
    let chain = request
        .cert_chain
        .as_ref()
        .map(|chain| chain.iter().map(der).collect::<Result<Vec<_>, _>>())
        .transpose()?;
    let time = match request.not_after.as_deref().filter(|t| !t.is_empty()) {
        Some(text) => UnixTime::since_unix_epoch(std::time::Duration::from_secs(parse_time(text)?)),
        None => UnixTime::now(),
    };
    let leaf_der = CertificateDer::from(leaf.as_slice());
    let end_entity = EndEntityCert::try_from(&leaf_der)
        .map_err(|e| format!("cannot parse the certificate: {e}"))?;
    let (anchors, intermediates) = match &chain {
        Some(chain) => {
            let Some((root, intermediates)) = chain.split_last() else {
                return Err("the certificate chain is empty".into());
            };
            let root = CertificateDer::from(root.as_slice());
            let anchor = webpki::anchor_from_trusted_cert(&root)
                .map_err(|e| format!("cannot use the chain's root as a trust anchor: {e}"))?
                .to_owned();
            let intermediates: Vec<CertificateDer<'_>> = intermediates
                .iter()
                .map(|c| CertificateDer::from(c.as_slice()))
                .collect();
            (vec![anchor], intermediates)
        }
        None => (webpki_roots::TLS_SERVER_ROOTS.to_vec(), Vec::new()),
    };
    let verdict = end_entity.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        time,
        AnyExtendedKeyUsage,
        None,
        None,
    );
    let untrusted = |reason: String| CertificateVerificationResponse {
        trusted: false,
        reason,
    };
    Ok(match verdict {
        Ok(_) => CertificateVerificationResponse {
            trusted: true,
            reason: String::new(),
        },
        Err(webpki::Error::CertExpired { .. }) => {
            untrusted("Certificate is being used after its expiration date".into())
        }
        Err(webpki::Error::CertNotValidYet { .. }) => {
            untrusted("Certificate is being used before its validity date".into())
        }
        Err(webpki::Error::UnknownIssuer) => {
            untrusted("Certificate is not trusted by the provided cert chain".into())
        }
        Err(other) => untrusted(format!("Certificate not trusted: {other}")),
    })
}
