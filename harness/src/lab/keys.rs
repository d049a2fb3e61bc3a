//! ECDSA P-256 keys derived from a seed and a name, so a lab rebuilt with the same seed has the
//! same keys (these keys only ever sign test material).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};

pub struct LabKey {
    pub signing: SigningKey,
}

impl LabKey {
    pub fn derive(seed: u64, name: &str) -> anyhow::Result<Self> {
        // Hash until the bytes form a valid scalar (practically always the first try).
        let mut material = Sha256::digest(format!("sigpin-lab/{seed}/{name}").as_bytes());
        loop {
            if let Ok(signing) = SigningKey::from_slice(&material) {
                return Ok(Self { signing });
            }
            material = Sha256::digest(material);
        }
    }

    /// A release key: an unencrypted PKCS#8 PEM ECDSA P-256 private key (`openssl genpkey
    /// -algorithm EC -pkeyopt ec_paramgen_curve:P-256`). cosign's encrypted key format is
    /// not read: decrypt it first (`cosign import-key-pair` goes the other way).
    pub fn from_pkcs8_pem(text: &str) -> anyhow::Result<Self> {
        use p256::pkcs8::DecodePrivateKey;
        let signing = SigningKey::from_pkcs8_pem(text).map_err(|e| {
            anyhow::anyhow!("not an unencrypted PKCS#8 PEM ECDSA P-256 private key: {e}")
        })?;
        Ok(Self { signing })
    }

    /// `-----BEGIN PUBLIC KEY-----`, as `cosign generate-key-pair` writes `cosign.pub`.
    pub fn public_pem(&self) -> anyhow::Result<String> {
        Ok(self
            .signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)?)
    }

    pub fn public_der(&self) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .signing
            .verifying_key()
            .to_public_key_der()?
            .as_bytes()
            .to_vec())
    }

    pub fn pkcs8_der(&self) -> anyhow::Result<Vec<u8>> {
        Ok(self.signing.to_pkcs8_der()?.as_bytes().to_vec())
    }

    /// cosign's scheme: ECDSA P-256, SHA-256, ASN.1 DER, standard base64.
    pub fn sign_base64(&self, message: &[u8]) -> String {
        let signature: Signature = self.signing.sign(message);
        STANDARD.encode(signature.to_der().as_bytes())
    }

    /// For rcgen, which signs certificates with this key.
    pub fn rcgen_pair(&self) -> anyhow::Result<rcgen::KeyPair> {
        Ok(rcgen::KeyPair::try_from(self.pkcs8_der()?.as_slice())?)
    }
}
