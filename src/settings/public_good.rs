//! The public-good Sigstore Fulcio chain, the default trust for keyless binding. It is a
//! constant of the build, so it is decoded only when a keyless proof needs it, never while
//! settings are read (a unit test proves it decodes).

const PUBLIC_GOOD_FULCIO: &str = include_str!("public_good_fulcio.pem");

/// The chain as the host receives it: one normalised PEM certificate per entry.
pub fn public_good_fulcio_chain() -> Result<Vec<String>, String> {
    pem::parse_many(PUBLIC_GOOD_FULCIO)
        .map(|blocks| blocks.iter().map(pem::encode).collect())
        .map_err(|e| format!("built-in public-good Fulcio chain: {e}"))
}

#[cfg(test)]
mod tests {
    use super::super::pem_check::check_certificate;
    use super::public_good_fulcio_chain;

    #[test]
    fn built_in_chain_is_two_certificates() {
        let chain = public_good_fulcio_chain().expect("built-in chain decodes");
        assert_eq!(chain.len(), 2);
        for certificate in &chain {
            check_certificate(certificate).expect("a PEM certificate");
        }
    }
}
