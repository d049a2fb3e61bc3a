//! `oci/v2/verify`: resolve the image, read its `.sig` layers through sigstore-rs (integrity,
//! bundles, certificate identities against the trust root), and require every constraint of
//! the request, as the engine does (protocol doc §4.1–4.3).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;
use kubewarden_policy_sdk::host_capabilities::verification::{
    KeylessInfo, KeylessPrefixInfo, VerificationResponse,
};
use oci_client::manifest::OciManifest;
use sigstore::cosign::verification_constraint::{
    AnnotationVerifier, CertificateVerifier, PublicKeyVerifier,
};
use sigstore::cosign::{
    Client as CosignClient, ClientBuilder, CosignCapabilities, verify_constraints,
};
use sigstore::registry::OciReference;

use super::identity::{IdentityConstraint, IdentityMatch, LayerCertificates, normalise_prefix};
use super::registry::{Sources, parse_reference};
use super::{KeylessBinding, TrustMaterial};

const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";

pub struct Verifier<'a> {
    pub sources: &'a Sources,
    pub trust: Option<&'a TrustMaterial>,
    pub binding: KeylessBinding,
}

/// A constraint plus how the failure message names it.
struct Wanted {
    constraint: Box<dyn sigstore::cosign::verification_constraint::VerificationConstraint>,
    describe: String,
}

fn image_of(input: &SigstoreVerificationInputV2) -> &str {
    match input {
        SigstoreVerificationInputV2::SigstorePubKeyVerify { image, .. }
        | SigstoreVerificationInputV2::SigstoreKeylessVerify { image, .. }
        | SigstoreVerificationInputV2::SigstoreKeylessPrefixVerify { image, .. }
        | SigstoreVerificationInputV2::SigstoreGithubActionsVerify { image, .. }
        | SigstoreVerificationInputV2::SigstoreCertificateVerify { image, .. } => image,
    }
}

fn is_keyless(input: &SigstoreVerificationInputV2) -> bool {
    matches!(
        input,
        SigstoreVerificationInputV2::SigstoreKeylessVerify { .. }
            | SigstoreVerificationInputV2::SigstoreKeylessPrefixVerify { .. }
            | SigstoreVerificationInputV2::SigstoreGithubActionsVerify { .. }
    )
}

/// The cosign client of a `Services`: built once, with sigstore-rs's registry cache, the
/// sources' registry configuration and the trust root (when keyless is configured).
pub fn cosign_client(
    sources: &Sources,
    trust: Option<&TrustMaterial>,
) -> Result<CosignClient, String> {
    let manual = trust.map(TrustMaterial::manual_root);
    let mut builder = ClientBuilder::default()
        .with_oci_client_config(sources.sigstore_config())
        .enable_registry_caching();
    if let Some(root) = &manual {
        builder = builder
            .with_trust_repository(root)
            .map_err(|e| format!("cannot use the trust root: {e}"))?;
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the cosign client: {e}"))
}

type Annotations = Option<BTreeMap<String, String>>;

impl Verifier<'_> {
    pub async fn verify(
        &self,
        cosign: &mut CosignClient,
        registry: &oci_client::Client,
        input: &SigstoreVerificationInputV2,
    ) -> Result<VerificationResponse, String> {
        let image = image_of(input);
        if is_keyless(input) && self.trust.is_none() {
            return Err(
                "keyless verification needs a Sigstore trust root: pass --sigstore-trust-config"
                    .into(),
            );
        }
        let reference = OciReference::from_str(image).map_err(|e| invalid_reference(image, &e))?;
        let auth = self
            .sources
            .credentials
            .sigstore_auth(reference.resolve_registry())
            .map_err(|e| e.to_string())?;
        let (signature_image, source_digest) = cosign
            .triangulate(&reference, &auth)
            .await
            .map_err(|e| trusted_layers_failure(&e))?;
        let layers = cosign
            .trusted_signature_layers(&auth, &source_digest, &signature_image)
            .await
            .map_err(|e| match e {
                // As the engine: any failure to pull the `.sig` manifest (absent, or a registry
                // error on it) means no signatures; other failures are about the layers.
                sigstore::errors::SigstoreError::RegistryPullManifestError { .. } => {
                    format!("no signatures found for image: {image}")
                }
                other => trusted_layers_failure(&other),
            })?;
        let strict = match (is_keyless(input), self.binding) {
            (true, KeylessBinding::Strict) => Some(Arc::new(
                self.layer_certificates(registry, &signature_image.to_string())
                    .await?,
            )),
            _ => None,
        };
        let wanted = self.constraints(input, strict)?;
        // The engine's all-of: every constraint must be met by some layer.
        let unsatisfied: Vec<&str> = wanted
            .iter()
            .filter(|w| verify_constraints(&layers, std::iter::once(&w.constraint)).is_err())
            .map(|w| w.describe.as_str())
            .collect();
        if unsatisfied.is_empty() {
            return Ok(VerificationResponse {
                is_trusted: true,
                digest: source_digest,
            });
        }
        // The certificate variant reports sigstore-rs's own error, the others list the
        // unsatisfied constraints as YAML (what kwctl prints, measured).
        if matches!(
            input,
            SigstoreVerificationInputV2::SigstoreCertificateVerify { .. }
        ) {
            return Err("verification failed: Several Signature Layers failed verification".into());
        }
        Err(format!(
            "Image verification failed: missing signatures\nThe following constraints were not satisfied:\n{}",
            unsatisfied.concat()
        ))
    }

    /// The certificate PEM of every `.sig` layer, for the strict bundle check.
    async fn layer_certificates(
        &self,
        registry: &oci_client::Client,
        signature_image: &str,
    ) -> Result<LayerCertificates, String> {
        let reference = parse_reference(signature_image)?;
        let (manifest, _) = registry
            .pull_manifest(&reference, &self.sources.oci_auth(&reference)?)
            .await
            .map_err(|e| format!("failed to get image trusted layers: {e}"))?;
        let OciManifest::Image(manifest) = manifest else {
            return Err(
                "failed to get image trusted layers: the signature manifest is an index".into(),
            );
        };
        Ok(manifest
            .layers
            .iter()
            .filter_map(|layer| {
                let certificate = layer.annotations.as_ref()?.get(CERTIFICATE_ANNOTATION)?;
                Some((layer.digest.clone(), certificate.clone()))
            })
            .collect())
    }

    /// The engine's constraints for one request: one function per request variant.
    fn constraints(
        &self,
        input: &SigstoreVerificationInputV2,
        strict: Option<Arc<LayerCertificates>>,
    ) -> Result<Vec<Wanted>, String> {
        let identities = |annotations| Identities {
            annotations,
            strict: strict.clone(),
        };
        match input {
            SigstoreVerificationInputV2::SigstorePubKeyVerify {
                pub_keys,
                annotations,
                ..
            } => pub_key_constraints(pub_keys, annotations),
            SigstoreVerificationInputV2::SigstoreKeylessVerify {
                keyless,
                annotations,
                ..
            } => keyless_constraints(keyless, &identities(annotations)),
            SigstoreVerificationInputV2::SigstoreKeylessPrefixVerify {
                keyless_prefix,
                annotations,
                ..
            } => keyless_prefix_constraints(keyless_prefix, &identities(annotations)),
            SigstoreVerificationInputV2::SigstoreGithubActionsVerify {
                owner,
                repo,
                annotations,
                ..
            } => github_actions_constraints(owner, repo.as_deref(), &identities(annotations)),
            SigstoreVerificationInputV2::SigstoreCertificateVerify {
                certificate,
                certificate_chain,
                require_rekor_bundle,
                annotations,
                ..
            } => certificate_constraints(
                certificate,
                certificate_chain.as_deref(),
                *require_rekor_bundle,
                annotations,
            ),
        }
    }
}

/// What every identity constraint of one request shares: the signer annotations, and the
/// layers' certificates when identities are bound to their layer (`strict`).
struct Identities<'a> {
    annotations: &'a Annotations,
    strict: Option<Arc<LayerCertificates>>,
}

impl Identities<'_> {
    /// A keyless identity the layers must show, named as the engine names it.
    fn wanted(&self, wanted: IdentityMatch, engine: &EngineConstraint<'_>) -> Wanted {
        Wanted {
            constraint: Box::new(IdentityConstraint {
                wanted,
                annotations: self.annotations.clone(),
                strict: self.strict.clone(),
            }),
            describe: describe(engine),
        }
    }
}

/// One constraint per key, each key with the signer annotations on the same layer.
fn pub_key_constraints(
    pub_keys: &[String],
    annotations: &Annotations,
) -> Result<Vec<Wanted>, String> {
    if pub_keys.is_empty() {
        return Err("Must provide at least one pub key".into());
    }
    pub_keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let verifier = PublicKeyVerifier::try_from(key.as_bytes())
                .map_err(|e| format!("public key #{i} cannot be used: {e}"))?;
            Ok(Wanted {
                constraint: Box::new(KeyAndAnnotations {
                    key: verifier,
                    annotations: annotations.clone(),
                }),
                describe: describe(&EngineConstraint::PubKey {
                    owner: None,
                    key,
                    annotations,
                }),
            })
        })
        .collect()
}

/// One constraint per keyless entry: `wanted` gives its identity and how the engine names it.
fn each_identity<'a, T>(
    entries: &'a [T],
    identities: &Identities<'a>,
    wanted: impl Fn(&'a T) -> (IdentityMatch, EngineConstraint<'a>),
) -> Result<Vec<Wanted>, String> {
    if entries.is_empty() {
        return Err("Must provide keyless info".into());
    }
    Ok(entries
        .iter()
        .map(|entry| {
            let (identity, engine) = wanted(entry);
            identities.wanted(identity, &engine)
        })
        .collect())
}

/// One exact issuer and subject per entry.
fn keyless_constraints(
    keyless: &[KeylessInfo],
    identities: &Identities<'_>,
) -> Result<Vec<Wanted>, String> {
    each_identity(keyless, identities, |k| {
        (
            IdentityMatch::Exact {
                issuer: k.issuer.clone(),
                subject: k.subject.clone(),
            },
            EngineConstraint::GenericIssuer {
                issuer: &k.issuer,
                subject: EngineSubject::Equal(&k.subject),
                annotations: identities.annotations,
            },
        )
    })
}

/// One issuer and URL prefix (normalised as the engine does) per entry.
fn keyless_prefix_constraints(
    keyless_prefix: &[KeylessPrefixInfo],
    identities: &Identities<'_>,
) -> Result<Vec<Wanted>, String> {
    each_identity(keyless_prefix, identities, |k| {
        let prefix = normalise_prefix(&k.url_prefix);
        (
            IdentityMatch::Prefix {
                issuer: k.issuer.clone(),
                prefix,
            },
            EngineConstraint::GenericIssuer {
                issuer: &k.issuer,
                subject: EngineSubject::UrlPrefix(&k.url_prefix),
                annotations: identities.annotations,
            },
        )
    })
}

/// One GitHub Actions identity: the owner, and the repository when given.
fn github_actions_constraints(
    owner: &str,
    repo: Option<&str>,
    identities: &Identities<'_>,
) -> Result<Vec<Wanted>, String> {
    if owner.is_empty() {
        return Err("Must provide owner info".into());
    }
    Ok(vec![identities.wanted(
        IdentityMatch::Github {
            owner: owner.to_string(),
            repo: repo.map(str::to_string),
        },
        &EngineConstraint::GithubAction {
            owner,
            repo,
            annotations: identities.annotations,
        },
    )])
}

/// sigstore-rs's certificate verifier, plus a separate annotation constraint (any layer may
/// carry the annotations: protocol doc §4.6 point 3).
fn certificate_constraints(
    certificate: &[u8],
    certificate_chain: Option<&[Vec<u8>]>,
    require_rekor_bundle: bool,
    annotations: &Annotations,
) -> Result<Vec<Wanted>, String> {
    let chain: Option<Vec<sigstore::registry::Certificate>> = certificate_chain.map(|chain| {
        chain
            .iter()
            .map(|pem| sigstore::registry::Certificate {
                encoding: sigstore::registry::CertificateEncoding::Pem,
                data: pem.clone(),
            })
            .collect()
    });
    let verifier =
        CertificateVerifier::from_pem(certificate, require_rekor_bundle, chain.as_deref())
            // The engine passes a construction error on as it is (measured with kwctl).
            .map_err(|e| e.to_string())?;
    // Reported as one sigstore-rs error, not per constraint (see `Verifier::verify`).
    let mut wanted = vec![Wanted {
        constraint: Box::new(verifier),
        describe: String::new(),
    }];
    if let Some(annotations) = annotations.clone().filter(|a| !a.is_empty()) {
        wanted.push(Wanted {
            describe: String::new(),
            constraint: Box::new(AnnotationVerifier { annotations }),
        });
    }
    Ok(wanted)
}

/// The engine's text for an image string its reference parser refuses (oci-spec's reason, with
/// anyhow's `Caused by` repetition; measured with kwctl on `[::ffff:7f00:1]:5000/a:1`).
fn invalid_reference(image: &str, error: &sigstore::errors::SigstoreError) -> String {
    let reason = match image.parse::<oci_client::Reference>() {
        Err(e) => e.to_string(),
        Ok(_) => error.to_string(),
    };
    format!("Invalid OCI image reference: {reason}\n\nCaused by:\n    {reason}")
}

/// The engine's text for a failure to read the signature layers: an anyhow error whose Debug
/// form (what the guest receives) repeats the cause.
fn trusted_layers_failure(error: &sigstore::errors::SigstoreError) -> String {
    format!("failed to get image trusted layers: {error}\n\nCaused by:\n    {error}")
}

/// How the engine names an unsatisfied constraint: the constraint serialised as YAML.
#[derive(serde::Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum EngineConstraint<'a> {
    PubKey {
        owner: Option<&'a str>,
        key: &'a str,
        annotations: &'a Option<BTreeMap<String, String>>,
    },
    GenericIssuer {
        issuer: &'a str,
        subject: EngineSubject<'a>,
        annotations: &'a Option<BTreeMap<String, String>>,
    },
    GithubAction {
        owner: &'a str,
        repo: Option<&'a str>,
        annotations: &'a Option<BTreeMap<String, String>>,
    },
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
enum EngineSubject<'a> {
    Equal(&'a str),
    UrlPrefix(&'a str),
}

fn describe(constraint: &EngineConstraint<'_>) -> String {
    serde_yaml::to_string(constraint)
        .unwrap_or_else(|e| format!("(constraint not printable: {e})\n"))
}

/// A public key signature and the signer annotations, on the same layer (engine semantics).
#[derive(Debug)]
struct KeyAndAnnotations {
    key: PublicKeyVerifier,
    annotations: Option<BTreeMap<String, String>>,
}

impl sigstore::cosign::verification_constraint::VerificationConstraint for KeyAndAnnotations {
    fn verify(
        &self,
        layer: &sigstore::cosign::signature_layers::SignatureLayer,
    ) -> sigstore::errors::Result<bool> {
        if !self.key.verify(layer)? {
            return Ok(false);
        }
        Ok(self
            .annotations
            .as_ref()
            .is_none_or(|a| layer.simple_signing.satisfies_annotations(a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const KEY: &str = include_str!("../../../test_data/pki/cosign.pub");
    const LEAF: &str = include_str!("../../../test_data/keyless/github-leaf.pem");

    fn describe(input: Value) -> Result<Vec<String>, String> {
        let sources = Sources::default();
        let verifier = Verifier {
            sources: &sources,
            trust: None,
            binding: KeylessBinding::Strict,
        };
        let input: SigstoreVerificationInputV2 =
            serde_json::from_value(input).map_err(|e| e.to_string())?;
        verifier
            .constraints(&input, None)
            .map(|wanted| wanted.into_iter().map(|w| w.describe).collect())
    }

    /// Each guest request becomes the engine's constraints: one per key or identity (all-of),
    /// one GitHub constraint, a certificate constraint plus a separate annotation constraint;
    /// each named as kwctl names it (YAML captured from kwctl 1.36.0-beta.1).
    #[test]
    fn guest_requests_map_to_constraints() {
        let indented: String = KEY.lines().map(|line| format!("  {line}\n")).collect();
        let pub_key_yaml =
            format!("kind: pubKey\nowner: null\nkey: |\n{indented}annotations:\n  env: prod\n");
        let cases = [
            (
                json!({"type": "SigstorePubKeyVerify", "image": "r/a:1", "pub_keys": [KEY, KEY], "annotations": {"env": "prod"}}),
                Ok(vec![pub_key_yaml.clone(), pub_key_yaml]),
            ),
            (
                json!({"type": "SigstoreKeylessVerify", "image": "r/a:1", "keyless": [{"issuer": "https://i", "subject": "a@b.c"}], "annotations": null}),
                Ok(vec![
                    "kind: genericIssuer\nissuer: https://i\nsubject: !equal a@b.c\nannotations: null\n".to_string(),
                ]),
            ),
            (
                json!({"type": "SigstoreKeylessPrefixVerify", "image": "r/a:1", "keyless_prefix": [{"issuer": "https://i", "url_prefix": "https://github.com/org"}], "annotations": null}),
                Ok(vec![
                    "kind: genericIssuer\nissuer: https://i\nsubject: !urlPrefix https://github.com/org\nannotations: null\n".to_string(),
                ]),
            ),
            (
                json!({"type": "SigstoreGithubActionsVerify", "image": "r/a:1", "owner": "org", "repo": "app", "annotations": null}),
                Ok(vec![
                    "kind: githubAction\nowner: org\nrepo: app\nannotations: null\n".to_string(),
                ]),
            ),
            (
                json!({"type": "SigstoreCertificateVerify", "image": "r/a:1", "certificate": LEAF.as_bytes(), "certificate_chain": null, "require_rekor_bundle": true, "annotations": {"env": "prod"}}),
                // Two constraints, reported together as one sigstore-rs error.
                Ok(vec![String::new(), String::new()]),
            ),
            (
                json!({"type": "SigstorePubKeyVerify", "image": "r/a:1", "pub_keys": [], "annotations": null}),
                Err("Must provide at least one pub key".to_string()),
            ),
            (
                json!({"type": "SigstoreKeylessVerify", "image": "r/a:1", "keyless": [], "annotations": null}),
                Err("Must provide keyless info".to_string()),
            ),
            (
                json!({"type": "SigstoreGithubActionsVerify", "image": "r/a:1", "owner": "", "repo": null, "annotations": null}),
                Err("Must provide owner info".to_string()),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(describe(input.clone()), expected, "{input}");
        }
    }
}
