//! The lab's certificate authorities: a private X.509 chain (root → intermediate → leaf) for
//! `certificates` rules, and a Fulcio-like CA whose short-lived leaves carry OIDC identities
//! and Fulcio's extensions (protocol doc §7.1).

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use time::OffsetDateTime;

use super::keys::LabKey;

/// Fulcio extension OIDs.
const OID_ISSUER_V1: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 1];
const OID_GITHUB_TRIGGER: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 2];
const OID_GITHUB_SHA: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 3];
const OID_GITHUB_REPOSITORY: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 5];
const OID_GITHUB_REF: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 6];
const OID_ISSUER_V2: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 8];

pub struct Authority {
    pub certificate: Certificate,
    pub key: KeyPair,
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "sigpin lab");
    dn.push(DnType::CommonName, common_name);
    dn
}

fn ca_params(common_name: &str, now: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    params
}

impl Authority {
    pub fn root(key: &LabKey, common_name: &str, now: OffsetDateTime) -> anyhow::Result<Self> {
        let pair = key.rcgen_pair()?;
        let certificate = ca_params(common_name, now).self_signed(&pair)?;
        Ok(Self {
            certificate,
            key: pair,
        })
    }

    pub fn intermediate(
        &self,
        key: &LabKey,
        common_name: &str,
        now: OffsetDateTime,
    ) -> anyhow::Result<Self> {
        let pair = key.rcgen_pair()?;
        let certificate =
            ca_params(common_name, now).signed_by(&pair, &self.certificate, &self.key)?;
        Ok(Self {
            certificate,
            key: pair,
        })
    }

    pub fn pem(&self) -> String {
        self.certificate.pem()
    }

    pub fn der(&self) -> Vec<u8> {
        self.certificate.der().to_vec()
    }

    pub fn issue(&self, key: &LabKey, leaf: &LeafSpec) -> anyhow::Result<String> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.not_before = leaf.not_before;
        params.not_after = leaf.not_after;
        params.subject_alt_names = match &leaf.subject {
            Subject::Email(email) => vec![SanType::Rfc822Name(email.as_str().try_into()?)],
            Subject::Uri(uri) => vec![SanType::URI(uri.as_str().try_into()?)],
        };
        if let Some(issuer) = &leaf.oidc_issuer {
            // v1 is the raw string (the only form sigstore-rs reads); v2 a DER UTF8String.
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(
                    OID_ISSUER_V1,
                    issuer.as_bytes().to_vec(),
                ));
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(
                    OID_ISSUER_V2,
                    der_utf8(issuer),
                ));
        }
        if let Some(github) = &leaf.github {
            for (oid, value) in [
                (OID_GITHUB_TRIGGER, &github.trigger),
                (OID_GITHUB_SHA, &github.sha),
                (OID_GITHUB_REPOSITORY, &github.repository),
                (OID_GITHUB_REF, &github.git_ref),
            ] {
                params
                    .custom_extensions
                    .push(CustomExtension::from_oid_content(
                        oid,
                        value.as_bytes().to_vec(),
                    ));
            }
        }
        let pair = key.rcgen_pair()?;
        Ok(params.signed_by(&pair, &self.certificate, &self.key)?.pem())
    }
}

/// DER UTF8String (tag 12) with a definite length.
fn der_utf8(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = vec![0x0c];
    match bytes.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(bytes);
    out
}

pub enum Subject {
    Email(String),
    Uri(String),
}

pub struct GithubClaims {
    pub repository: String,
    pub git_ref: String,
    pub trigger: String,
    pub sha: String,
}

pub struct LeafSpec {
    pub subject: Subject,
    pub oidc_issuer: Option<String>,
    pub github: Option<GithubClaims>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}
