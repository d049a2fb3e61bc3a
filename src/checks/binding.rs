//! Keyless identities bound to the image they are said to have signed, with standard host
//! capabilities only (issue: engine weakness, protocol doc §4.6). The engine accepts an identity
//! when some `.sig` layer carries a certificate of it that chains to Fulcio, without checking
//! that the layer's signature was made with that certificate. So, for every keyless check the
//! host passed, the policy reads the signature manifest itself, finds the certificates of the
//! identity, and asks the host two things per candidate certificate C:
//!   (a) `crypto/v1/is_certificate_trusted`: C chains to the Fulcio CA at its bundle's time —
//!       C was really issued to the identity;
//!   (b) `oci/v2/verify`, certificate variant with C and a required Rekor bundle: some layer
//!       whose payload names this digest carries a signature made with C's key.
//! Together: the holder of the identity's key signed this digest.

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;
use serde_json::Value;

use crate::host::{CertificateTrust, HostApi};
use crate::reference::ImageReference;
use crate::settings::{normalised_url_prefix, public_good_fulcio_chain, rfc3339_from_unix};
use crate::x509::{Identity, Subject, identity_of_der};

const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
const GITHUB_URL: &str = "https://github.com/";
/// Why a keyless identity the host accepted is refused when no certificate of it is proven
/// to have signed the digest.
pub const UNBOUND: &str = "identity found only on a signature its certificate did not make";
/// What the host's trust check says when a certificate does not chain to the given CA, as
/// opposed to a validity-period failure (protocol doc §3.6): `Certificate is not trusted by the
/// provided cert chain`, `Certificate not trusted: <webpki error>`.
const UNTRUSTED_CHAIN: &str = "not trusted";
const UNTRUSTED_FULCIO: &str = "a certificate of the identity is not from the trusted Fulcio CA";

fn is_untrusted_chain(reason: &str) -> bool {
    reason.starts_with(UNTRUSTED_FULCIO) && reason.contains(UNTRUSTED_CHAIN)
}

/// The fix when the signatures come from a Sigstore whose Fulcio the policy does not know.
pub const TRUST_ROOT_HINT: &str = "if these signatures come from a private Sigstore, set keylessTrustRoot.fulcioChain to its Fulcio CA chain (the default trusts only public-good Sigstore)";

/// One identity a keyless request asks for, as the engine matches it.
#[derive(Debug, Clone)]
enum Wanted {
    Exact { issuer: String, subject: String },
    Prefix { issuer: String, prefix: String },
    Github { owner: String, repo: Option<String> },
}

impl Wanted {
    fn matches(&self, identity: &Identity) -> bool {
        let issuer = identity.issuer.as_deref();
        match self {
            Wanted::Exact { issuer: i, subject } => {
                issuer == Some(i) && identity.subject.as_str() == subject
            }
            Wanted::Prefix { issuer: i, prefix } => {
                issuer == Some(i) && identity.subject.as_str().starts_with(prefix.as_str())
            }
            Wanted::Github { owner, repo } => {
                let Subject::Uri(uri) = &identity.subject else {
                    return false;
                };
                let found = identity
                    .github_repository
                    .as_deref()
                    .and_then(|r| r.split_once('/'));
                issuer == Some(GITHUB_ISSUER)
                    && uri.starts_with(GITHUB_URL)
                    && found
                        .is_some_and(|(o, r)| o == owner && repo.as_deref().is_none_or(|w| w == r))
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Wanted::Exact { issuer, subject } => format!("{subject} ({issuer})"),
            Wanted::Prefix { issuer, prefix } => format!("{prefix}… ({issuer})"),
            Wanted::Github { owner, repo } => match repo {
                Some(repo) => format!("GitHub Actions of {owner}/{repo}"),
                None => format!("GitHub Actions of {owner}"),
            },
        }
    }
}

/// The identities a request asks for; empty for key and certificate requests.
fn wanted_of(request: &SigstoreVerificationInputV2) -> Vec<Wanted> {
    match request {
        SigstoreVerificationInputV2::SigstoreKeylessVerify { keyless, .. } => keyless
            .iter()
            .map(|k| Wanted::Exact {
                issuer: k.issuer.clone(),
                subject: k.subject.clone(),
            })
            .collect(),
        SigstoreVerificationInputV2::SigstoreKeylessPrefixVerify { keyless_prefix, .. } => {
            keyless_prefix
                .iter()
                .map(|k| Wanted::Prefix {
                    issuer: k.issuer.clone(),
                    prefix: normalised_url_prefix(&k.url_prefix),
                })
                .collect()
        }
        SigstoreVerificationInputV2::SigstoreGithubActionsVerify { owner, repo, .. } => {
            vec![Wanted::Github {
                owner: owner.clone(),
                repo: repo.clone(),
            }]
        }
        _ => Vec::new(),
    }
}

pub(crate) fn image_of(request: &SigstoreVerificationInputV2) -> &str {
    match request {
        SigstoreVerificationInputV2::SigstorePubKeyVerify { image, .. }
        | SigstoreVerificationInputV2::SigstoreKeylessVerify { image, .. }
        | SigstoreVerificationInputV2::SigstoreKeylessPrefixVerify { image, .. }
        | SigstoreVerificationInputV2::SigstoreGithubActionsVerify { image, .. }
        | SigstoreVerificationInputV2::SigstoreCertificateVerify { image, .. } => image,
    }
}

/// Most `.sig` layers read per image; a larger signature manifest is refused, not walked.
pub const MAX_SIGNATURE_LAYERS: usize = 512;
/// Most distinct certificates of one wanted identity examined per image. Each costs two host
/// calls, and the host walks every layer for each: more is refused, not tried.
pub const MAX_CANDIDATES: usize = 8;

/// A certificate found on a `.sig` layer. Layers carrying the same certificate (by DER, in any
/// PEM spelling) with the same bundle time are one candidate.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The certificate as the layer annotation carries it, for host requests.
    pub pem: String,
    /// Its DER bytes: what makes two candidates the same.
    pub der: Vec<u8>,
    /// The Fulcio identity the certificate names.
    pub identity: Identity,
    /// The Rekor bundle's integration time, when the layer has a bundle.
    pub integrated_time: Option<i64>,
}

/// What an image's signature manifest says: the digest it was read for, and its certificates.
pub type SignatureCertificates = Result<(String, Vec<Candidate>), String>;

fn integrated_time(bundle: &str) -> Option<i64> {
    serde_json::from_slice::<Value>(bundle.as_bytes())
        .ok()?
        .get("Payload")?
        .get("integratedTime")?
        .as_i64()
}

/// Certificates of the `.sig` manifest's layers, each distinct (DER, bundle time) once, in
/// layer order (unparseable ones are skipped: they cannot carry an identity).
fn candidates_of(manifest: &Value) -> Result<Vec<Candidate>, String> {
    let layers = manifest
        .get("layers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if layers.len() > MAX_SIGNATURE_LAYERS {
        return Err(format!(
            "the signature manifest has {} layers, more than the {MAX_SIGNATURE_LAYERS} the policy reads",
            layers.len()
        ));
    }
    let mut seen = HashSet::new();
    Ok(layers
        .iter()
        .filter_map(|layer| {
            let annotations = layer.get("annotations")?;
            let pem_text = annotations.get(CERTIFICATE_ANNOTATION)?.as_str()?;
            let block = crate::pem_text::parse(pem_text.trim()).ok()?;
            let identity = identity_of_der(block.contents()).ok()?;
            let integrated_time = annotations
                .get(BUNDLE_ANNOTATION)
                .and_then(Value::as_str)
                .and_then(integrated_time);
            let der = block.into_contents();
            seen.insert((der.clone(), integrated_time))
                .then(|| Candidate {
                    pem: pem_text.to_string(),
                    der,
                    identity,
                    integrated_time,
                })
        })
        .collect())
}

/// (image, certificate DER, bundle time): what one proof is about.
type ProofKey = (String, Vec<u8>, Option<i64>);

/// Proves keyless identities signed the digest; caches signature manifests and proofs per request.
pub struct Binder<'a> {
    api: &'a HostApi<'a>,
    /// `None`: the built-in public-good chain, decoded on the first proof that needs it.
    fulcio_chain: Option<&'a [String]>,
    public_good: OnceCell<Result<Vec<String>, String>>,
    /// Per image as written: the certificates of its signatures, read once per request.
    candidates: RefCell<HashMap<String, SignatureCertificates>>,
    /// Per (image, certificate DER, bundle time): whether that certificate's key signed it.
    proofs: RefCell<HashMap<ProofKey, Result<(), String>>>,
}

impl<'a> Binder<'a> {
    /// A binder asking through `api`, trusting `fulcio_chain` (`None`: public-good Sigstore).
    pub fn new(api: &'a HostApi<'a>, fulcio_chain: Option<&'a [String]>) -> Self {
        Self {
            api,
            fulcio_chain,
            public_good: OnceCell::new(),
            candidates: RefCell::new(HashMap::new()),
            proofs: RefCell::new(HashMap::new()),
        }
    }

    /// `Ok` when every identity `request` asks for is proven to have signed `digest`.
    pub fn bind(&self, request: &SigstoreVerificationInputV2, digest: &str) -> Result<(), String> {
        let wanted = wanted_of(request);
        if wanted.is_empty() {
            return Ok(());
        }
        let image = image_of(request);
        let (current, candidates) = self.signature_certificates(image)?;
        if current != digest {
            return Err(format!(
                "the image moved during verification ({digest} verified, {current} now)"
            ));
        }
        for identity in &wanted {
            let mut reasons = Vec::new();
            let mut bound = false;
            let matching: Vec<&Candidate> = candidates
                .iter()
                .filter(|c| identity.matches(&c.identity))
                .collect();
            if matching.len() > MAX_CANDIDATES {
                return Err(format!(
                    "the signatures carry {} distinct certificates of the identity {}, more than the {MAX_CANDIDATES} the policy examines",
                    matching.len(),
                    identity.describe()
                ));
            }
            for candidate in matching {
                match self.prove(image, digest, candidate) {
                    Ok(()) => {
                        bound = true;
                        break;
                    }
                    Err(reason) => reasons.push(reason),
                }
            }
            if bound {
                continue;
            }
            return Err(match reasons.is_empty() {
                true => format!(
                    "no signature certificate of the image carries the identity {}",
                    identity.describe()
                ),
                false if reasons.iter().all(|r| is_untrusted_chain(r)) => format!(
                    "no certificate of the identity {} chains to the trusted Fulcio CA ({}); {TRUST_ROOT_HINT}",
                    identity.describe(),
                    reasons.join("; ")
                ),
                false => format!("{UNBOUND} ({})", reasons.join("; ")),
            });
        }
        Ok(())
    }

    /// The image's current digest and the certificates on its signatures, read once per
    /// request: `oci/v1/manifest_digest`, then `oci/v1/oci_manifest` of the `.sig` tag.
    pub fn signature_certificates(&self, image: &str) -> SignatureCertificates {
        if let Some(known) = self.candidates.borrow().get(image) {
            return known.clone();
        }
        let found = self.read_signature_certificates(image);
        self.candidates
            .borrow_mut()
            .insert(image.to_string(), found.clone());
        found
    }

    fn read_signature_certificates(&self, image: &str) -> SignatureCertificates {
        let digest = self
            .api
            .manifest_digest(image)
            .map_err(|e| format!("cannot read the image digest to find its signatures: {e}"))?;
        let reference = ImageReference::parse(image).map_err(|e| e.to_string())?;
        let name = match &reference.registry {
            Some(registry) => format!("{registry}/{}", reference.path),
            None => reference.path.clone(),
        };
        let signatures = format!("{name}:{}.sig", digest.replace(':', "-"));
        let manifest = self
            .api
            .oci_manifest(&signatures)
            .map_err(|e| format!("cannot read the signature manifest {signatures}: {e}"))?;
        Ok((digest, candidates_of(&manifest)?))
    }

    fn prove(&self, image: &str, digest: &str, candidate: &Candidate) -> Result<(), String> {
        let key = (
            image.to_string(),
            candidate.der.clone(),
            candidate.integrated_time,
        );
        if let Some(known) = self.proofs.borrow().get(&key) {
            return known.clone();
        }
        let proof = self.prove_uncached(image, digest, candidate);
        self.proofs.borrow_mut().insert(key, proof.clone());
        proof
    }

    fn prove_uncached(
        &self,
        image: &str,
        digest: &str,
        candidate: &Candidate,
    ) -> Result<(), String> {
        let Some(time) = candidate.integrated_time else {
            return Err("a certificate of the identity has no Rekor bundle".into());
        };
        let fulcio_chain = match self.fulcio_chain {
            Some(chain) => chain,
            None => self
                .public_good
                .get_or_init(public_good_fulcio_chain)
                .as_deref()
                .map_err(Clone::clone)?,
        };
        match self.api.is_certificate_trusted(
            &candidate.pem,
            fulcio_chain,
            Some(rfc3339_from_unix(time)),
        ) {
            Ok(CertificateTrust::Trusted) => {}
            Ok(CertificateTrust::Untrusted(reason)) => {
                return Err(format!("{UNTRUSTED_FULCIO}: {reason}"));
            }
            Err(e) => {
                return Err(format!(
                    "cannot check a certificate of the identity against the Fulcio CA: {e}"
                ));
            }
        }
        let request = SigstoreVerificationInputV2::SigstoreCertificateVerify {
            image: image.to_string(),
            certificate: candidate.pem.as_bytes().to_vec(),
            certificate_chain: None,
            require_rekor_bundle: true,
            annotations: None,
        };
        match self.api.verify(&request) {
            Ok(verified) if verified == digest => Ok(()),
            Ok(other) => Err(format!(
                "the certificate's signature is for {other}, not {digest}"
            )),
            Err(reason) => Err(format!(
                "no signature of this image was made with the certificate's key: {reason}"
            )),
        }
    }
}
