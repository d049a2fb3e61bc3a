//! Just enough X.509 to read a Fulcio certificate's identity in the policy: the first e-mail or
//! URI of the SubjectAltName, the OIDC issuer (Fulcio extension 1.1 raw, or 1.8 UTF8String) and
//! the GitHub workflow repository (extension 1.5). A hand-written DER walker: no dependency
//! in the module, and no path that can panic on hostile bytes.

use thiserror::Error;

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
const UTF8_STRING: u8 = 0x0c;
/// `[3] EXPLICIT` around the extensions of a v3 TBSCertificate.
const EXTENSIONS_TAG: u8 = 0xa3;
/// GeneralName choices, context-specific primitive: `[1]` rfc822Name, `[6]` URI.
const SAN_EMAIL: u8 = 0x81;
const SAN_URI: u8 = 0x86;

/// 2.5.29.17
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// 1.3.6.1.4.1.57264.1.x, without the last arc.
const FULCIO_ARC: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01];
const FULCIO_ISSUER_V1: u8 = 1;
const FULCIO_GITHUB_REPOSITORY: u8 = 5;
const FULCIO_ISSUER_V2: u8 = 8;

/// Why a certificate yields no identity.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CertificateError {
    /// Not PEM.
    #[error("not a PEM certificate: {0}")]
    Pem(String),
    /// Not the DER structure of a certificate (what was expected).
    #[error("malformed DER: {0}")]
    Der(&'static str),
    /// No subject alternative name to identify the signer.
    #[error("the certificate has no e-mail or URI subject alternative name")]
    NoSubject,
}

/// A Fulcio certificate's subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An e-mail identity (rfc822Name).
    Email(String),
    /// A URI identity (workflows, SPIFFE IDs).
    Uri(String),
}

impl Subject {
    /// The subject as text.
    pub fn as_str(&self) -> &str {
        match self {
            Subject::Email(s) | Subject::Uri(s) => s,
        }
    }
}

/// Who a Fulcio certificate says signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The subject alternative name.
    pub subject: Subject,
    /// The OIDC issuer extension, when present.
    pub issuer: Option<String>,
    /// The GitHub workflow repository extension (`owner/repo`), when present.
    pub github_repository: Option<String>,
}

/// One DER element: tag and contents; `rest` is what follows it.
struct Element<'a> {
    tag: u8,
    contents: &'a [u8],
}

fn element(bytes: &[u8]) -> Result<(Element<'_>, &[u8]), CertificateError> {
    let (&tag, rest) = bytes
        .split_first()
        .ok_or(CertificateError::Der("truncated tag"))?;
    let (&first, mut rest) = rest
        .split_first()
        .ok_or(CertificateError::Der("truncated length"))?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return Err(CertificateError::Der("unsupported length"));
        }
        let (digits, after) = rest
            .split_at_checked(count)
            .ok_or(CertificateError::Der("truncated length"))?;
        rest = after;
        digits
            .iter()
            .fold(0usize, |n, d| (n << 8) | usize::from(*d))
    };
    let (contents, rest) = rest
        .split_at_checked(length)
        .ok_or(CertificateError::Der("truncated contents"))?;
    Ok((Element { tag, contents }, rest))
}

fn expect<'a>(
    bytes: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), CertificateError> {
    let (found, rest) = element(bytes)?;
    match found.tag == tag {
        true => Ok((found.contents, rest)),
        false => Err(CertificateError::Der(what)),
    }
}

/// Every element of a constructed element's contents.
fn children(mut contents: &[u8]) -> Result<Vec<Element<'_>>, CertificateError> {
    let mut out = Vec::new();
    while !contents.is_empty() {
        let (child, rest) = element(contents)?;
        out.push(child);
        contents = rest;
    }
    Ok(out)
}

fn text(bytes: &[u8]) -> Option<String> {
    String::from_utf8(bytes.to_vec()).ok()
}

/// The identity of a PEM certificate.
pub fn identity_of_pem(pem_text: &str) -> Result<Identity, CertificateError> {
    let block = crate::pem_text::parse(pem_text.trim())
        .map_err(|e| CertificateError::Pem(e.to_string()))?;
    if block.tag() != "CERTIFICATE" {
        return Err(CertificateError::Pem(format!("a {} block", block.tag())));
    }
    identity_of_der(block.contents())
}

/// The identity a DER certificate names.
pub fn identity_of_der(der: &[u8]) -> Result<Identity, CertificateError> {
    let (certificate, _) = expect(der, SEQUENCE, "certificate is not a SEQUENCE")?;
    let (tbs, _) = expect(certificate, SEQUENCE, "tbsCertificate is not a SEQUENCE")?;
    let extensions = children(tbs)?
        .into_iter()
        .find(|e| e.tag == EXTENSIONS_TAG)
        .map(|e| expect(e.contents, SEQUENCE, "extensions are not a SEQUENCE").map(|(c, _)| c))
        .transpose()?
        .unwrap_or_default();
    let mut subject = None;
    let mut issuer_v1 = None;
    let mut issuer_v2 = None;
    let mut github_repository = None;
    for extension in children(extensions)? {
        let (oid, rest) = expect(extension.contents, OID, "extension without OID")?;
        // An optional `critical` BOOLEAN precedes the value.
        let rest = match element(rest)? {
            (found, after) if found.tag == BOOLEAN => after,
            _ => rest,
        };
        let (value, _) = expect(rest, OCTET_STRING, "extension value is not an OCTET STRING")?;
        if oid == OID_SUBJECT_ALT_NAME {
            let (names, _) = expect(value, SEQUENCE, "SubjectAltName is not a SEQUENCE")?;
            subject = children(names)?
                .into_iter()
                .find_map(|name| match name.tag {
                    SAN_EMAIL => text(name.contents).map(Subject::Email),
                    SAN_URI => text(name.contents).map(Subject::Uri),
                    _ => None,
                });
        } else if let Some(last) = oid.strip_prefix(FULCIO_ARC) {
            match last {
                [FULCIO_ISSUER_V1] => issuer_v1 = text(value),
                [FULCIO_GITHUB_REPOSITORY] => github_repository = text(value),
                [FULCIO_ISSUER_V2] => {
                    issuer_v2 = expect(value, UTF8_STRING, "issuer (v2) is not a UTF8String")
                        .ok()
                        .and_then(|(s, _)| text(s));
                }
                _ => {}
            }
        }
    }
    Ok(Identity {
        subject: subject.ok_or(CertificateError::NoSubject)?,
        issuer: issuer_v1.or(issuer_v2),
        github_repository,
    })
}

/// `BIT STRING`, the key bits of a SubjectPublicKeyInfo.
const BIT_STRING: u8 = 0x03;
/// `[0] EXPLICIT` version, present in every v2/v3 TBSCertificate.
const VERSION_TAG: u8 = 0xa0;
/// SEC 1 point encodings: uncompressed `04‖X‖Y`, compressed `02‖X` (even Y) or `03‖X` (odd Y).
const EC_UNCOMPRESSED: u8 = 0x04;
const EC_COMPRESSED_EVEN: u8 = 0x02;
const EC_COMPRESSED_ODD: u8 = 0x03;

/// What identifies a public key whatever its spelling: the algorithm identifier and the key
/// bits, with an elliptic-curve point in its compressed form (the uncompressed and compressed
/// encodings of one point are the same key). Two PEM texts that differ only in line endings,
/// wrapping or point encoding give the same value.
pub fn key_identity_of_spki(spki: &[u8]) -> Result<Vec<u8>, CertificateError> {
    let (contents, _) = expect(spki, SEQUENCE, "SubjectPublicKeyInfo is not a SEQUENCE")?;
    let (algorithm, rest) = expect(contents, SEQUENCE, "key algorithm is not a SEQUENCE")?;
    let (bits, _) = expect(rest, BIT_STRING, "key bits are not a BIT STRING")?;
    let key = bits.get(1..).unwrap_or_default();
    let compressed = match key.split_first() {
        Some((&EC_UNCOMPRESSED, point)) if !point.is_empty() && point.len() % 2 == 0 => {
            let (x, y) = point.split_at(point.len() / 2);
            let parity = match y.last() {
                Some(last) if last & 1 == 1 => EC_COMPRESSED_ODD,
                _ => EC_COMPRESSED_EVEN,
            };
            Some([&[parity], x].concat())
        }
        _ => None,
    };
    let mut identity = Vec::with_capacity(algorithm.len() + key.len() + 2);
    identity.extend_from_slice(
        &u32::try_from(algorithm.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    identity.extend_from_slice(algorithm);
    identity.extend_from_slice(compressed.as_deref().unwrap_or(key));
    Ok(identity)
}

/// The SubjectPublicKeyInfo of a DER certificate.
pub fn spki_of_certificate(der: &[u8]) -> Result<&[u8], CertificateError> {
    let (certificate, _) = expect(der, SEQUENCE, "certificate is not a SEQUENCE")?;
    let (tbs, _) = expect(certificate, SEQUENCE, "tbsCertificate is not a SEQUENCE")?;
    let mut rest = tbs;
    // [version,] serial, signature algorithm, issuer, validity, subject, then the key.
    let (first, _) = element(rest)?;
    let skipped = if first.tag == VERSION_TAG { 6 } else { 5 };
    for _ in 0..skipped {
        rest = element(rest)?.1;
    }
    let (key, after) = element(rest)?;
    if key.tag != SEQUENCE {
        return Err(CertificateError::Der(
            "subjectPublicKeyInfo is not a SEQUENCE",
        ));
    }
    rest.get(..rest.len().saturating_sub(after.len()))
        .ok_or(CertificateError::Der("truncated subjectPublicKeyInfo"))
}
