//! The offline signing lab (`harness lab`): keys, a private X.509 CA chain, a Fulcio-like CA and
//! a Rekor-like log key, tiny images in a registry, and cosign signatures of every kind — good
//! ones and deliberately bad ones — plus the files the tests need (`lab.json`, `trust.json`,
//! `sources.yaml`, PEM files).

mod cosign;
mod keys;
mod pki;
mod push;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use time::OffsetDateTime;

use cosign::{RekorLog, SignatureLayer, payload};
use keys::LabKey;
use pki::{Authority, GithubClaims, LeafSpec, Subject};
use push::{OCI_INDEX, Pusher};

/// Layers of `keyless-pem-variants`: one genuine signature and its certificate re-spelled.
pub const PEM_VARIANTS: usize = 100;
pub const LAB_OIDC_ISSUER: &str = "https://oidc.lab.example";
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const LAB_EMAIL: &str = "alice@lab.example";
pub const GITHUB_SUBJECT: &str =
    "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main";
pub const EVIL_SUBJECT: &str =
    "https://github.com/org-evil/app/.github/workflows/release.yml@refs/heads/main";

#[derive(clap::Args, Debug)]
pub struct LabArgs {
    /// Registry to fill, `127.0.0.1:PORT` (plain HTTP: a test registry).
    #[arg(long)]
    pub registry: String,
    /// Directory for keys, certificates, trust root, sources and `lab.json`.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the lab's keys.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `harness sign`: sign an artefact already in a registry, cosign-style, with a lab key or a
/// release key.
#[derive(clap::Args, Debug)]
pub struct SignArgs {
    /// Registry holding the artefact, `HOST[:PORT]` (plain HTTP without --sources-path: the
    /// lab's test registry).
    #[arg(long)]
    pub registry: String,
    /// Seed of the lab's keys (as given to `harness lab`).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Which lab key signs: `signer-a`, `signer-b` or `attacker`.
    #[arg(long, default_value = "signer-a", conflicts_with = "key")]
    pub signer: String,
    /// Sign with this key instead: unencrypted PKCS#8 PEM ECDSA P-256 private key.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// kwctl-format sources.yaml: reach the registry over HTTPS except `insecure_sources`.
    #[arg(long)]
    pub sources_path: Option<PathBuf>,
    /// Directory of the Docker `config.json` holding the registry login.
    #[arg(long)]
    pub docker_config_json_path: Option<PathBuf>,
    /// `REPOSITORY:TAG` or `REPOSITORY@sha256:…` inside the registry.
    pub target: String,
}

pub fn sign(args: SignArgs) -> anyhow::Result<()> {
    let (repository, version) = match args.target.split_once('@') {
        Some((repository, digest)) => (repository, Err(digest)),
        None => args
            .target
            .rsplit_once(':')
            .map(|(repository, tag)| (repository, Ok(tag)))
            .context("the target must be REPOSITORY:TAG or REPOSITORY@DIGEST")?,
    };
    let key = match &args.key {
        Some(path) => LabKey::from_pkcs8_pem(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{}", path.display()))?,
        None => LabKey::derive(args.seed, &args.signer)?,
    };
    let signer = match &args.key {
        Some(path) => path.display().to_string(),
        None => args.signer.clone(),
    };
    let pusher = match &args.sources_path {
        Some(path) => Pusher::with_sources(
            &args.registry,
            &crate::services::Sources::resolve(
                Some(path),
                args.docker_config_json_path.as_deref(),
            )?,
        )?,
        None if args.docker_config_json_path.is_some() => Pusher::with_sources(
            &args.registry,
            &crate::services::Sources::resolve(None, args.docker_config_json_path.as_deref())?
                .plain_http(&args.registry),
        )?,
        None => Pusher::new(&args.registry),
    };
    crate::executor::block_on(async {
        let digest = match version {
            Ok(tag) => pusher.digest_of_tag(repository, tag).await?,
            Err(digest) => digest.to_string(),
        };
        let body = payload(
            &format!("{}/{repository}", args.registry),
            &digest,
            &BTreeMap::new(),
        );
        let signature = key.sign_base64(&body);
        pusher
            .signatures(repository, &digest, &[SignatureLayer::new(body, signature)])
            .await?;
        println!(
            "signed {}/{repository}@{digest} with {signer}",
            args.registry
        );
        anyhow::Ok(())
    })?
}

/// `quiet`: no progress line per image on stderr.
pub fn run(args: LabArgs, quiet: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    if !quiet {
        eprintln!(
            "lab: deriving keys and certificate authorities (seed {})",
            args.seed
        );
    }
    let mut lab = Lab::new(&args)?;
    lab.quiet = quiet;
    let index = crate::executor::block_on(lab.build())??;
    write(
        &args.out.join("lab.json"),
        &serde_json::to_string_pretty(&index)?,
    )?;
    println!(
        "lab ready in {} ({} images)",
        args.out.display(),
        index
            .get("images")
            .and_then(Value::as_object)
            .map_or(0, |o| o.len())
    );
    Ok(())
}

/// `count` spellings of one PEM certificate: line widths 5, 5, 7, 7, … alternately with LF and
/// CRLF line endings; the first is the certificate as given.
fn pem_spellings(certificate: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let der = pem::parse(certificate)?.into_contents();
    let mut spellings = vec![certificate.to_string()];
    for i in 1..count {
        let config = pem::EncodeConfig::new()
            .set_line_wrap(5 + 2 * (i / 2))
            .set_line_ending(match i % 2 {
                0 => pem::LineEnding::LF,
                _ => pem::LineEnding::CRLF,
            });
        spellings.push(pem::encode_config(
            &pem::Pem::new("CERTIFICATE", der.clone()),
            config,
        ));
    }
    Ok(spellings)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

struct Lab {
    out: PathBuf,
    registry: String,
    pusher: Pusher,
    now: OffsetDateTime,
    key_a: LabKey,
    key_b: LabKey,
    attacker: LabKey,
    x509_root: Authority,
    x509_intermediate: Authority,
    other_root: Authority,
    fulcio_root: Authority,
    fulcio_intermediate: Authority,
    rekor: RekorLog,
    seed: u64,
    images: BTreeMap<String, Value>,
    files: BTreeMap<String, String>,
    /// No progress lines.
    quiet: bool,
}

/// An image pushed by tag, ready to be signed.
struct Pushed {
    repository: String,
    reference: String,
    digest: String,
    /// Bytes of the manifest `digest` names: a descriptor of the image needs them.
    manifest_size: usize,
}

impl Lab {
    fn new(args: &LabArgs) -> anyhow::Result<Self> {
        let now = OffsetDateTime::now_utc();
        let seed = args.seed;
        let x509_root = Authority::root(&LabKey::derive(seed, "x509-root")?, "lab root CA", now)?;
        let x509_intermediate = x509_root.intermediate(
            &LabKey::derive(seed, "x509-intermediate")?,
            "lab intermediate CA",
            now,
        )?;
        let other_root =
            Authority::root(&LabKey::derive(seed, "other-root")?, "unrelated CA", now)?;
        let fulcio_root = Authority::root(
            &LabKey::derive(seed, "fulcio-root")?,
            "lab fulcio root",
            now,
        )?;
        let fulcio_intermediate = fulcio_root.intermediate(
            &LabKey::derive(seed, "fulcio-intermediate")?,
            "lab fulcio intermediate",
            now,
        )?;
        Ok(Self {
            out: args.out.clone(),
            registry: args.registry.clone(),
            pusher: Pusher::new(&args.registry),
            now,
            key_a: LabKey::derive(seed, "signer-a")?,
            key_b: LabKey::derive(seed, "signer-b")?,
            attacker: LabKey::derive(seed, "attacker")?,
            x509_root,
            x509_intermediate,
            other_root,
            fulcio_root,
            fulcio_intermediate,
            rekor: RekorLog::new(LabKey::derive(seed, "rekor")?)?,
            seed,
            images: BTreeMap::new(),
            files: BTreeMap::new(),
            quiet: false,
        })
    }

    fn file(&mut self, name: &str, text: &str) -> anyhow::Result<()> {
        let path = self.out.join(name);
        write(&path, text)?;
        self.files
            .insert(name.to_string(), path.display().to_string());
        Ok(())
    }

    async fn push(&mut self, name: &str) -> anyhow::Result<Pushed> {
        let repository = format!("lab/{name}");
        if !self.quiet {
            eprintln!("lab: image {name}");
        }
        let (manifest, digest) = self.pusher.image(&repository, "v1", name, "amd64").await?;
        let manifest_size = serde_json::to_vec(&manifest)?.len();
        let reference = format!("{}/{repository}:v1", self.registry);
        self.images.insert(
            name.to_string(),
            json!({"ref": reference, "digest": digest, "repository": format!("{}/{repository}", self.registry)}),
        );
        Ok(Pushed {
            repository,
            reference,
            digest,
            manifest_size,
        })
    }

    fn docker_reference(&self, pushed: &Pushed) -> String {
        format!("{}/{}", self.registry, pushed.repository)
    }

    fn key_layer(
        &self,
        pushed: &Pushed,
        key: &LabKey,
        annotations: &[(&str, &str)],
    ) -> SignatureLayer {
        let annotations: BTreeMap<String, String> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let body = payload(&self.docker_reference(pushed), &pushed.digest, &annotations);
        let signature = key.sign_base64(&body);
        SignatureLayer::new(body, signature)
    }

    fn seconds(&self, offset: i64) -> i64 {
        self.now.unix_timestamp() + offset
    }

    /// A keyless signature: a fresh key, a 10-minute Fulcio certificate an hour ago, a bundle.
    fn keyless_layer(
        &mut self,
        pushed: &Pushed,
        name: &str,
        subject: Subject,
        issuer: &str,
        github: Option<GithubClaims>,
    ) -> anyhow::Result<(SignatureLayer, String)> {
        let ephemeral = LabKey::derive(self.seed, &format!("ephemeral-{name}"))?;
        let integrated = self.seconds(-3600);
        let certificate = self.fulcio_intermediate.issue(
            &ephemeral,
            &LeafSpec {
                subject,
                oidc_issuer: Some(issuer.to_string()),
                github,
                not_before: OffsetDateTime::from_unix_timestamp(integrated - 60)?,
                not_after: OffsetDateTime::from_unix_timestamp(integrated + 540)?,
            },
        )?;
        let body = payload(
            &self.docker_reference(pushed),
            &pushed.digest,
            &BTreeMap::new(),
        );
        let signature = ephemeral.sign_base64(&body);
        let bundle = self
            .rekor
            .bundle(&body, &signature, &certificate, integrated);
        let layer = SignatureLayer::new(body, signature)
            .with_certificate(&certificate, None)
            .with_bundle(bundle);
        Ok((layer, certificate))
    }

    fn github_claims(repository: &str) -> GithubClaims {
        GithubClaims {
            repository: repository.to_string(),
            git_ref: "refs/heads/main".into(),
            trigger: "push".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
        }
    }

    fn x509_leaf(
        &self,
        authority: &Authority,
        key: &LabKey,
        from: i64,
        until: i64,
    ) -> anyhow::Result<String> {
        authority.issue(
            key,
            &LeafSpec {
                subject: Subject::Email("release@lab.example".into()),
                oidc_issuer: None,
                github: None,
                not_before: OffsetDateTime::from_unix_timestamp(from)?,
                not_after: OffsetDateTime::from_unix_timestamp(until)?,
            },
        )
    }

    async fn build(mut self) -> anyhow::Result<Value> {
        let (key_a_pem, key_b_pem, attacker_pem) = (
            self.key_a.public_pem()?,
            self.key_b.public_pem()?,
            self.attacker.public_pem()?,
        );
        self.file("key-a.pub", &key_a_pem)?;
        self.file("key-b.pub", &key_b_pem)?;
        self.file("attacker.pub", &attacker_pem)?;

        // Public keys.
        let image = self.push("key-signed").await?;
        let layer = self.key_layer(&image, &self.key_a, &[]);
        self.pusher
            .signatures(&image.repository, &image.digest, &[layer])
            .await?;

        let image = self.push("key-annotated").await?;
        let layer = self.key_layer(&image, &self.key_a, &[("env", "prod")]);
        self.pusher
            .signatures(&image.repository, &image.digest, &[layer])
            .await?;

        let image = self.push("two-signers").await?;
        let layers = [
            self.key_layer(&image, &self.key_a, &[]),
            self.key_layer(&image, &self.key_b, &[]),
        ];
        self.pusher
            .signatures(&image.repository, &image.digest, &layers)
            .await?;

        let image = self.push("wrong-key").await?;
        let layer = self.key_layer(&image, &self.attacker, &[]);
        self.pusher
            .signatures(&image.repository, &image.digest, &[layer])
            .await?;

        self.push("unsigned").await?;

        // Signed only in cosign v3's default format: a Sigstore bundle (key-a's signature over
        // the simple-signing payload) attached through OCI referrers, no `.sig` tag. The
        // Kubewarden host cannot verify it; the policy explains why.
        let image = self.push("bundle-only").await?;
        let body = payload(
            &self.docker_reference(&image),
            &image.digest,
            &BTreeMap::new(),
        );
        let bundle = json!({
            "mediaType": push::SIGSTORE_BUNDLE,
            "verificationMaterial": {"publicKey": {"hint": "key-a"}, "tlogEntries": []},
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": STANDARD.encode(<sha2::Sha256 as sha2::Digest>::digest(&body))},
                "signature": self.key_a.sign_base64(&body)
            }
        });
        let subject = json!({"mediaType": push::OCI_MANIFEST, "digest": image.digest, "size": image.manifest_size});
        self.pusher
            .bundle_referrer(&image.repository, &subject, &serde_json::to_vec(&bundle)?)
            .await?;

        // Fault material: a signature manifest without layers, and a signed image whose
        // signature manifest the tests corrupt in the registry's storage.
        let image = self.push("no-layers").await?;
        self.pusher
            .signatures(&image.repository, &image.digest, &[])
            .await?;
        let image = self.push("corrupt-signature").await?;
        let layer = self.key_layer(&image, &self.key_a, &[]);
        self.pusher
            .signatures(&image.repository, &image.digest, &[layer])
            .await?;

        // A signature valid for another digest, stored under this image's .sig tag.
        let image = self.push("other-digest").await?;
        let other = self.push("other-digest-source").await?;
        let layer = self.key_layer(&other, &self.key_a, &[]);
        self.pusher
            .signatures(&image.repository, &image.digest, &[layer])
            .await?;

        // The payload changed after signing.
        let image = self.push("tampered").await?;
        let mut layer = self.key_layer(&image, &self.key_a, &[]);
        let signature = layer.signature().to_string();
        let tampered = payload(
            &self.docker_reference(&image),
            &image.digest,
            &[("env".to_string(), "prod".to_string())].into(),
        );
        layer = SignatureLayer::new(tampered, signature);
        self.pusher
            .signatures(&image.repository, &image.digest, &[layer])
            .await?;

        // Multi-arch: an index of two platform manifests, signed by its own digest.
        let repository = "lab/multiarch".to_string();
        let (amd, amd_digest) = self
            .pusher
            .image(&repository, "amd64", "multiarch", "amd64")
            .await?;
        let (arm, arm_digest) = self
            .pusher
            .image(&repository, "arm64", "multiarch", "arm64")
            .await?;
        let index = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": push::OCI_MANIFEST, "digest": amd_digest, "size": serde_json::to_vec(&amd)?.len(), "platform": {"architecture": "amd64", "os": "linux"}},
                {"mediaType": push::OCI_MANIFEST, "digest": arm_digest, "size": serde_json::to_vec(&arm)?.len(), "platform": {"architecture": "arm64", "os": "linux"}}
            ]
        });
        let index_digest = self
            .pusher
            .manifest(&repository, "v1", &index, OCI_INDEX)
            .await?;
        let pushed = Pushed {
            repository: repository.clone(),
            reference: format!("{}/{repository}:v1", self.registry),
            digest: index_digest.clone(),
            manifest_size: serde_json::to_vec(&index)?.len(),
        };
        self.images.insert(
            "multiarch".into(),
            json!({"ref": pushed.reference, "digest": index_digest, "repository": format!("{}/{repository}", self.registry), "platforms": [amd_digest, arm_digest]}),
        );
        let layer = self.key_layer(&pushed, &self.key_a, &[]);
        self.pusher
            .signatures(&repository, &index_digest, &[layer])
            .await?;

        // X.509 certificates from the lab CA chain.
        let leaf_key = LabKey::derive(self.seed, "x509-leaf")?;
        let leaf = self.x509_leaf(
            &self.x509_intermediate,
            &leaf_key,
            self.seconds(-86_400),
            self.seconds(86_400 * 365),
        )?;
        let outsider = self.x509_leaf(
            &self.other_root,
            &leaf_key,
            self.seconds(-86_400),
            self.seconds(86_400 * 365),
        )?;
        let expired = self.x509_leaf(
            &self.x509_intermediate,
            &leaf_key,
            self.seconds(-86_400 * 30),
            self.seconds(-86_400),
        )?;
        self.file("leaf.pem", &leaf)?;
        self.file("outsider-leaf.pem", &outsider)?;
        self.file("expired-leaf.pem", &expired)?;
        self.file("ca-intermediate.pem", &self.x509_intermediate.pem())?;
        self.file("ca-root.pem", &self.x509_root.pem())?;
        for (name, certificate, bundled) in [
            ("cert-bundle", leaf.clone(), true),
            ("cert-no-bundle", leaf.clone(), false),
            ("cert-outsider", outsider.clone(), false),
            ("cert-expired", expired.clone(), false),
        ] {
            let image = self.push(name).await?;
            let mut layer = self
                .key_layer(&image, &leaf_key, &[])
                .with_certificate(&certificate, None);
            if bundled {
                let bundle = self.rekor.bundle(
                    &layer.payload,
                    layer.signature(),
                    &certificate,
                    self.seconds(-60),
                );
                layer = layer.with_bundle(bundle);
            }
            self.pusher
                .signatures(&image.repository, &image.digest, &[layer])
                .await?;
        }

        // Forged signer annotations: a genuine signature without annotations, plus a layer an
        // attacker added whose (unsigned) payload carries `env: prod` and whose signature is
        // garbage. The key variant checks annotations on the signed layer only; the certificate
        // variant accepts them from any layer (protocol doc §4.6 point 3).
        for (name, certified) in [
            ("key-forged-annotation", false),
            ("cert-forged-annotation", true),
        ] {
            let image = self.push(name).await?;
            let (key, certificate) = match certified {
                true => (&leaf_key, Some(leaf.as_str())),
                false => (&self.key_a, None),
            };
            let mut genuine = self.key_layer(&image, key, &[]);
            let mut forged = self.key_layer(&image, &self.attacker, &[("env", "prod")]);
            forged.annotations.insert(
                cosign::SIGNATURE_ANNOTATION.to_string(),
                STANDARD.encode(b"garbage"),
            );
            if let Some(certificate) = certificate {
                genuine = genuine.with_certificate(certificate, None);
                forged = forged.with_certificate(certificate, None);
            }
            self.pusher
                .signatures(&image.repository, &image.digest, &[genuine, forged])
                .await?;
        }

        // Keyless signatures from the lab Fulcio.
        let image = self.push("keyless-email").await?;
        let (layer, _) = self.keyless_layer(
            &image,
            "email",
            Subject::Email(LAB_EMAIL.into()),
            LAB_OIDC_ISSUER,
            None,
        )?;
        self.pusher
            .signatures(&image.repository, &image.digest, &[layer])
            .await?;

        let image = self.push("keyless-github").await?;
        let (genuine, _) = self.keyless_layer(
            &image,
            "github",
            Subject::Uri(GITHUB_SUBJECT.into()),
            GITHUB_ISSUER,
            Some(Self::github_claims("org/app")),
        )?;
        self.pusher
            .signatures(
                &image.repository,
                &image.digest,
                std::slice::from_ref(&genuine),
            )
            .await?;

        // One genuine keyless signature plus 99 layers an attacker added with the same
        // certificate and bundle in other PEM spellings (line width, line endings) and garbage
        // signatures: the policy must treat them as one certificate, not 100.
        let image = self.push("keyless-pem-variants").await?;
        let (signed_layer, certificate) = self.keyless_layer(
            &image,
            "pem-variants",
            Subject::Uri(GITHUB_SUBJECT.into()),
            GITHUB_ISSUER,
            Some(Self::github_claims("org/app")),
        )?;
        let mut layers: Vec<SignatureLayer> = pem_spellings(&certificate, PEM_VARIANTS)?
            .iter()
            .skip(1)
            .enumerate()
            .map(|(i, spelling)| {
                let layer = SignatureLayer::new(
                    signed_layer.payload.clone(),
                    STANDARD.encode(format!("garbage {i}")),
                )
                .with_certificate(spelling, None);
                match signed_layer.annotations.get(cosign::BUNDLE_ANNOTATION) {
                    Some(bundle) => layer.with_bundle(bundle.clone()),
                    None => layer,
                }
            })
            .collect();
        layers.push(signed_layer);
        self.pusher
            .signatures(&image.repository, &image.digest, &layers)
            .await?;

        let image = self.push("keyless-evil").await?;
        let (layer, _) = self.keyless_layer(
            &image,
            "evil",
            Subject::Uri(EVIL_SUBJECT.into()),
            GITHUB_ISSUER,
            Some(Self::github_claims("org-evil/app")),
        )?;
        self.pusher
            .signatures(&image.repository, &image.digest, &[layer])
            .await?;

        // Transplants: the genuine certificate and bundle of keyless-github on a layer of another
        // image whose payload names that image, signed by the attacker or not signed at all.
        for (name, garbage) in [("transplant-attacker", false), ("transplant-garbage", true)] {
            let image = self.push(name).await?;
            let body = payload(
                &self.docker_reference(&image),
                &image.digest,
                &BTreeMap::new(),
            );
            let signature = match garbage {
                true => STANDARD.encode(b"not a signature at all"),
                false => self.attacker.sign_base64(&body),
            };
            let mut layer = SignatureLayer::new(body, signature);
            for key in [cosign::CERTIFICATE_ANNOTATION, cosign::BUNDLE_ANNOTATION] {
                if let Some(value) = genuine.annotations.get(key) {
                    layer.annotations.insert(key.to_string(), value.clone());
                }
            }
            self.pusher
                .signatures(&image.repository, &image.digest, &[layer])
                .await?;
        }

        // The transplant again, with the copied certificate in PEM_VARIANTS spellings (line
        // width, line endings) on as many layers with garbage signatures: under the engine's
        // binding every spelling would be a candidate whose proof walks every layer.
        let image = self.push("transplant-pem-variants").await?;
        let body = payload(
            &self.docker_reference(&image),
            &image.digest,
            &BTreeMap::new(),
        );
        let (Some(certificate), Some(bundle)) = (
            genuine.annotations.get(cosign::CERTIFICATE_ANNOTATION),
            genuine.annotations.get(cosign::BUNDLE_ANNOTATION),
        ) else {
            anyhow::bail!("the genuine keyless layer has no certificate or bundle");
        };
        let layers: Vec<SignatureLayer> = pem_spellings(certificate, PEM_VARIANTS)?
            .iter()
            .enumerate()
            .map(|(i, spelling)| {
                SignatureLayer::new(body.clone(), STANDARD.encode(format!("garbage {i}")))
                    .with_certificate(spelling, None)
                    .with_bundle(bundle.clone())
            })
            .collect();
        self.pusher
            .signatures(&image.repository, &image.digest, &layers)
            .await?;

        // Trust material.
        self.file("fulcio-intermediate.pem", &self.fulcio_intermediate.pem())?;
        self.file("fulcio-root.pem", &self.fulcio_root.pem())?;
        let trust = json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": {
                "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
                "tlogs": [{
                    "baseUrl": "https://rekor.lab.invalid",
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": {"rawBytes": STANDARD.encode(self.rekor.key.public_der()?), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": "2020-01-01T00:00:00Z"}},
                    "logId": {"keyId": STANDARD.encode(hex::decode(&self.rekor.log_id)?)}
                }],
                "certificateAuthorities": [{
                    "subject": {"organization": "sigpin lab", "commonName": "lab fulcio"},
                    "uri": "https://fulcio.lab.invalid",
                    "certChain": {"certificates": [
                        {"rawBytes": STANDARD.encode(self.fulcio_intermediate.der())},
                        {"rawBytes": STANDARD.encode(self.fulcio_root.der())}
                    ]},
                    "validFor": {"start": "2020-01-01T00:00:00Z"}
                }],
                "ctlogs": [],
                "timestampAuthorities": []
            }
        });
        self.file("trust.json", &serde_json::to_string_pretty(&trust)?)?;
        self.file(
            "sources.yaml",
            &format!("insecure_sources:\n  - \"{}\"\n", self.registry),
        )?;
        Ok(json!({
            "registry": self.registry,
            "files": self.files,
            "identities": {
                "oidc_issuer": LAB_OIDC_ISSUER,
                "email": LAB_EMAIL,
                "github_issuer": GITHUB_ISSUER,
                "github_subject": GITHUB_SUBJECT,
                "github_owner": "org",
                "github_repo": "app",
                "evil_subject": EVIL_SUBJECT
            },
            "images": self.images
        }))
    }
}
