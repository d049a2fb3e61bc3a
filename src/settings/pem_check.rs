//! Shape checks for key and certificate material in settings. The host does the cryptography;
//! these only catch what is plainly not a key or a certificate, at load time.

/// A DER SubjectPublicKeyInfo and a DER certificate both start with a SEQUENCE tag.
const DER_SEQUENCE: u8 = 0x30;

pub fn check_public_key(text: &str) -> Result<(), String> {
    check_pem(text, "PUBLIC KEY")
}

pub fn check_certificate(text: &str) -> Result<(), String> {
    check_pem(text, "CERTIFICATE")
}

fn check_pem(text: &str, label: &str) -> Result<(), String> {
    let block = pem::parse(text.trim()).map_err(|e| e.to_string())?;
    if block.tag() != label {
        return Err(format!(
            "expected a \"{label}\" PEM block, found \"{}\"",
            block.tag()
        ));
    }
    match block.contents().first() {
        Some(&DER_SEQUENCE) => Ok(()),
        _ => Err("the PEM body is not DER".into()),
    }
}

/// The DER body of a PEM block (any label), for comparing material by content, not spelling.
pub fn der_of(text: &str) -> Result<Vec<u8>, String> {
    pem::parse(text.trim())
        .map(|block| block.into_contents())
        .map_err(|e| e.to_string())
}

/// What identifies the key of a PEM public key, whatever its line endings or point encoding.
pub fn public_key_identity(text: &str) -> Result<Vec<u8>, String> {
    crate::x509::key_identity_of_spki(&der_of(text)?).map_err(|e| e.to_string())
}

/// A PEM certificate's DER and the identity of the key it certifies.
pub fn certificate_identities(text: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let der = der_of(text)?;
    let key = crate::x509::spki_of_certificate(&der)
        .and_then(crate::x509::key_identity_of_spki)
        .map_err(|e| e.to_string())?;
    Ok((der, key))
}
