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
