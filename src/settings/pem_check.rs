//! Shape checks for key and certificate material in settings. The host does the cryptography;
//! these only catch what is plainly not a key or a certificate, at load time.

/// A DER SubjectPublicKeyInfo and a DER certificate both start with a SEQUENCE tag.
const DER_SEQUENCE: u8 = 0x30;

/// The DER body of a PEM public key, or why the text is none.
pub fn check_public_key(text: &str) -> Result<Vec<u8>, String> {
    check_pem(text, "PUBLIC KEY")
}

/// The DER body of a PEM certificate, or why the text is none.
pub fn check_certificate(text: &str) -> Result<Vec<u8>, String> {
    check_pem(text, "CERTIFICATE")
}

fn check_pem(text: &str, label: &str) -> Result<Vec<u8>, String> {
    let block = crate::pem_text::parse(text.trim()).map_err(|e| e.to_string())?;
    if block.tag() != label {
        return Err(format!(
            "expected a \"{label}\" PEM block, found \"{}\"",
            block.tag()
        ));
    }
    match block.contents().first() {
        Some(&DER_SEQUENCE) => Ok(block.into_contents()),
        _ => Err("the PEM body is not DER".into()),
    }
}

/// The DER body of a PEM block (any label), for comparing material by content, not spelling.
pub fn der_of(text: &str) -> Result<Vec<u8>, String> {
    crate::pem_text::parse(text.trim())
        .map(|block| block.into_contents())
        .map_err(|e| e.to_string())
}

/// What identifies the key of a public key's DER (a PEM body), whatever its point encoding.
pub fn public_key_identity(der: &[u8]) -> Result<Vec<u8>, String> {
    crate::x509::key_identity_of_spki(der).map_err(|e| e.to_string())
}

/// A certificate's DER (a PEM body) and the identity of the key it certifies.
pub fn certificate_identities(der: Vec<u8>) -> Result<(Vec<u8>, Vec<u8>), String> {
    let key = crate::x509::spki_of_certificate(&der)
        .and_then(crate::x509::key_identity_of_spki)
        .map_err(|e| e.to_string())?;
    Ok((der, key))
}
