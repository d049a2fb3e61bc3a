//! Keyless identity constraints with the engine's matching rules (protocol doc §4.2), plus the
//! binding the engine omits (§4.6): in strict mode an identity counts only on a layer whose
//! signature its certificate made and whose Rekor bundle describes that very layer.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sigstore::cosign::signature_layers::{CertificateSubject, SignatureLayer};
use sigstore::cosign::verification_constraint::VerificationConstraint;
use sigstore::crypto::Signature;

pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

#[derive(Debug, Clone)]
pub enum IdentityMatch {
    Exact {
        issuer: String,
        subject: String,
    },
    /// `prefix` already ends with `/`, as the engine normalises it.
    Prefix {
        issuer: String,
        prefix: String,
    },
    Github {
        owner: String,
        repo: Option<String>,
    },
}

/// The certificate PEM of each layer of the `.sig` manifest, by layer digest: sigstore-rs
/// keeps only the parsed identity, the bundle check needs the exact PEM.
pub type LayerCertificates = HashMap<String, String>;

#[derive(Debug)]
pub struct IdentityConstraint {
    pub wanted: IdentityMatch,
    pub annotations: Option<BTreeMap<String, String>>,
    /// `Some` in strict mode.
    pub strict: Option<Arc<LayerCertificates>>,
}

/// The engine appends `/` to a URL prefix so `…/org` cannot match `…/org-evil/…`.
pub fn normalise_prefix(prefix: &str) -> String {
    match prefix.ends_with('/') {
        true => prefix.to_string(),
        false => format!("{prefix}/"),
    }
}

impl IdentityMatch {
    fn matches(
        &self,
        issuer: Option<&str>,
        subject: &CertificateSubject,
        repository: Option<&str>,
    ) -> bool {
        let subject_text = match subject {
            CertificateSubject::Email(s) | CertificateSubject::Uri(s) => s.as_str(),
        };
        match self {
            IdentityMatch::Exact {
                issuer: i,
                subject: s,
            } => issuer == Some(i.as_str()) && subject_text == s,
            IdentityMatch::Prefix { issuer: i, prefix } => {
                issuer == Some(i.as_str()) && subject_text.starts_with(prefix.as_str())
            }
            IdentityMatch::Github { owner, repo } => {
                let CertificateSubject::Uri(uri) = subject else {
                    return false;
                };
                let Some((found_owner, found_repo)) = repository.and_then(|r| r.split_once('/'))
                else {
                    return false;
                };
                issuer == Some(GITHUB_ISSUER)
                    && uri.starts_with("https://github.com/")
                    && found_owner == owner
                    && repo.as_deref().is_none_or(|r| r == found_repo)
            }
        }
    }
}

#[derive(Deserialize)]
struct HashedRekord {
    spec: HashedRekordSpec,
}

#[derive(Deserialize)]
struct HashedRekordSpec {
    data: HashedRekordData,
    signature: HashedRekordSignature,
}

#[derive(Deserialize)]
struct HashedRekordData {
    hash: HashedRekordHash,
}

#[derive(Deserialize)]
struct HashedRekordHash {
    algorithm: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HashedRekordSignature {
    content: String,
    public_key: HashedRekordKey,
}

#[derive(Deserialize)]
struct HashedRekordKey {
    content: String,
}

/// The layer's signature was made by its certificate's key, and its bundle's `hashedrekord`
/// body names this payload's hash, this signature and this certificate.
fn is_bound(layer: &SignatureLayer, certificates: &LayerCertificates) -> bool {
    let (Some(identity), Some(signature), Some(bundle)) = (
        &layer.certificate_signature,
        &layer.signature,
        &layer.bundle,
    ) else {
        return false;
    };
    if identity
        .verification_key
        .verify_signature(
            Signature::Base64Encoded(signature.as_bytes()),
            &layer.raw_data,
        )
        .is_err()
    {
        return false;
    }
    let Some(certificate) = certificates.get(&layer.oci_digest) else {
        return false;
    };
    let Some(body) = STANDARD
        .decode(&bundle.payload.body)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<HashedRekord>(&bytes).ok())
    else {
        return false;
    };
    let payload_hash = hex::encode(Sha256::digest(&layer.raw_data));
    body.spec.data.hash.algorithm == "sha256"
        && body.spec.data.hash.value == payload_hash
        && body.spec.signature.content == *signature
        && body.spec.signature.public_key.content == STANDARD.encode(certificate.as_bytes())
}

impl VerificationConstraint for IdentityConstraint {
    fn verify(&self, layer: &SignatureLayer) -> sigstore::errors::Result<bool> {
        let Some(identity) = &layer.certificate_signature else {
            return Ok(false);
        };
        if !self.wanted.matches(
            identity.issuer.as_deref(),
            &identity.subject,
            identity.github_workflow_repository.as_deref(),
        ) {
            return Ok(false);
        }
        if self
            .annotations
            .as_ref()
            .is_some_and(|a| !layer.simple_signing.satisfies_annotations(a))
        {
            return Ok(false);
        }
        Ok(match &self.strict {
            Some(certificates) => is_bound(layer, certificates),
            None => true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_end_with_a_slash_so_lookalike_owners_do_not_match() {
        let wanted = IdentityMatch::Prefix {
            issuer: GITHUB_ISSUER.into(),
            prefix: normalise_prefix("https://github.com/org"),
        };
        let cases = [
            (
                "https://github.com/org/app/.github/workflows/r.yml@refs/heads/main",
                true,
            ),
            (
                "https://github.com/org-evil/app/.github/workflows/r.yml@refs/heads/main",
                false,
            ),
            ("https://github.com/organisation/app", false),
        ];
        for (subject, expected) in cases {
            let subject = CertificateSubject::Uri(subject.into());
            assert_eq!(
                wanted.matches(Some(GITHUB_ISSUER), &subject, None),
                expected,
                "{subject:?}"
            );
        }
    }

    #[test]
    fn github_identities_need_the_issuer_a_uri_and_the_repository_extension() {
        let uri = CertificateSubject::Uri(
            "https://github.com/org/app/.github/workflows/r.yml@refs/heads/main".into(),
        );
        let email = CertificateSubject::Email("a@b.c".into());
        let owner_only = IdentityMatch::Github {
            owner: "org".into(),
            repo: None,
        };
        let with_repo = IdentityMatch::Github {
            owner: "org".into(),
            repo: Some("app".into()),
        };
        let cases = [
            (
                &owner_only,
                Some(GITHUB_ISSUER),
                &uri,
                Some("org/app"),
                true,
            ),
            (&with_repo, Some(GITHUB_ISSUER), &uri, Some("org/app"), true),
            (
                &with_repo,
                Some(GITHUB_ISSUER),
                &uri,
                Some("org/other"),
                false,
            ),
            (
                &owner_only,
                Some(GITHUB_ISSUER),
                &uri,
                Some("org-evil/app"),
                false,
            ),
            (
                &owner_only,
                Some("https://accounts.google.com"),
                &uri,
                Some("org/app"),
                false,
            ),
            (
                &owner_only,
                Some(GITHUB_ISSUER),
                &email,
                Some("org/app"),
                false,
            ),
            (&owner_only, Some(GITHUB_ISSUER), &uri, None, false),
        ];
        for (wanted, issuer, subject, repository, expected) in cases {
            assert_eq!(
                wanted.matches(issuer, subject, repository),
                expected,
                "{wanted:?} {issuer:?} {subject:?} {repository:?}"
            );
        }
    }
}
