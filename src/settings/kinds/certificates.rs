//! `certificates`: PEM certificates of the signers, optionally with the chain they must chain
//! to (checked through the host at settings validation, see `trust`). One request per
//! certificate, always; certificates are distinct by DER and by the key they certify.

use crate::settings::tree::Node;
use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;

use super::{Check, RequestContext};
use crate::settings::SettingsError;
use crate::settings::parse::RuleFields;
use crate::settings::pem_check::{certificate_identities, check_certificate};
use crate::settings::signers::{DerOf, Refusal, decoded, duplicate, first_pair};

const KEY: &str = "certificates";

pub(super) fn parse(fields: &RuleFields<'_>) -> Result<Check, SettingsError> {
    let certificates = fields.string_list(KEY)?;
    fields.check_pems(KEY, &certificates, check_certificate, "a PEM certificate")?;
    let chain = match fields.get("certificateChain") {
        None | Some(Node::Null) => None,
        Some(_) => {
            let chain = fields.string_list("certificateChain")?;
            fields.check_pems(
                "certificateChain",
                &chain,
                check_certificate,
                "a PEM certificate",
            )?;
            Some(chain)
        }
    };
    let require_rekor_bundle = match fields.get("requireRekorBundle") {
        None | Some(Node::Null) => false,
        Some(Node::Bool(b)) => *b,
        Some(_) => {
            return Err(fields.error(Some("requireRekorBundle"), "must be true or false"));
        }
    };
    Ok(Check::Certificates {
        certificates,
        chain,
        require_rekor_bundle,
    })
}

pub(super) fn check_distinct(certificates: &[String], der_of: DerOf<'_>) -> Result<(), Refusal> {
    let identities = decoded(KEY, certificates, |pem| {
        certificate_identities(der_of(pem)?)
    })?;
    if let Some(pair) = first_pair(&identities, |a, b| a.0 == b.0) {
        return Err(duplicate(KEY, pair, "is the same certificate as"));
    }
    match first_pair(&identities, |a, b| a.1 == b.1) {
        Some(pair) => Err(duplicate(KEY, pair, "certifies the same public key as")),
        None => Ok(()),
    }
}

/// The host request verifying a signature of `image` made with `certificate`'s key.
pub(super) fn request(
    certificate: &str,
    chain: Option<&[String]>,
    require_rekor_bundle: bool,
    context: &RequestContext<'_>,
) -> SigstoreVerificationInputV2 {
    SigstoreVerificationInputV2::SigstoreCertificateVerify {
        image: context.image.to_string(),
        certificate: certificate.as_bytes().to_vec(),
        certificate_chain: chain.map(|c| c.iter().map(|pem| pem.as_bytes().to_vec()).collect()),
        require_rekor_bundle,
        annotations: context.annotations.cloned(),
    }
}
