//! The offline signing lab (`harness lab`): keys, a private X.509 CA chain, a Fulcio-like CA and
//! a Rekor-like log key, tiny images in a registry, and cosign signatures of every kind — good
//! ones and deliberately bad ones — plus the files the tests need (`lab.json`, `trust.json`,
//! `sources.yaml`, PEM files).

mod cosign;
mod images;
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
use images::{Content, Identity, LabImage, Layer, Leaf, Signatures, Signer};
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

/// The lab's X.509 leaves, all of the `x509-leaf` key.
struct Leaves {
    key: LabKey,
    lab: String,
    outsider: String,
    expired: String,
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
    fulcio_root: Authority,
    fulcio_intermediate: Authority,
    leaves: Leaves,
    rekor: RekorLog,
    seed: u64,
    images: BTreeMap<String, Value>,
    files: BTreeMap<String, String>,
    /// Every image pushed so far, for signatures over another image's payload.
    pushed: BTreeMap<&'static str, Pushed>,
    /// The keyless layer of every image signed keyless so far, for transplants.
    keyless: BTreeMap<&'static str, SignatureLayer>,
    /// No progress lines.
    quiet: bool,
}

/// An image pushed by tag, ready to be signed.
#[derive(Clone)]
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
        let leaf_key = LabKey::derive(seed, "x509-leaf")?;
        let day = 86_400;
        let at = |offset: i64| now.unix_timestamp() + offset;
        let leaves = Leaves {
            lab: x509_leaf(&x509_intermediate, &leaf_key, at(-day), at(day * 365))?,
            outsider: x509_leaf(&other_root, &leaf_key, at(-day), at(day * 365))?,
            expired: x509_leaf(&x509_intermediate, &leaf_key, at(-day * 30), at(-day))?,
            key: leaf_key,
        };
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
            fulcio_root,
            fulcio_intermediate,
            leaves,
            rekor: RekorLog::new(LabKey::derive(seed, "rekor")?)?,
            seed,
            images: BTreeMap::new(),
            files: BTreeMap::new(),
            pushed: BTreeMap::new(),
            keyless: BTreeMap::new(),
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

    fn key(&self, signer: Signer) -> &LabKey {
        match signer {
            Signer::A => &self.key_a,
            Signer::B => &self.key_b,
            Signer::Attacker => &self.attacker,
        }
    }

    fn leaf(&self, leaf: Leaf) -> &str {
        match leaf {
            Leaf::Lab => &self.leaves.lab,
            Leaf::Outsider => &self.leaves.outsider,
            Leaf::Expired => &self.leaves.expired,
        }
    }

    /// Push `image`'s content under `lab/NAME:v1` and list it in lab.json.
    async fn push(&mut self, image: &LabImage) -> anyhow::Result<Pushed> {
        let name = image.name;
        let repository = format!("lab/{name}");
        if !self.quiet {
            eprintln!("lab: image {name}");
        }
        let (manifest, digest, platforms) = match image.content {
            Content::Image => {
                let (manifest, digest) =
                    self.pusher.image(&repository, "v1", name, "amd64").await?;
                (manifest, digest, None)
            }
            Content::MultiArch => {
                let (index, digests) = self.multiarch(&repository, name).await?;
                let digest = self
                    .pusher
                    .manifest(&repository, "v1", &index, OCI_INDEX)
                    .await?;
                (index, digest, Some(digests))
            }
        };
        let pushed = Pushed {
            reference: format!("{}/{repository}:v1", self.registry),
            repository,
            digest,
            manifest_size: serde_json::to_vec(&manifest)?.len(),
        };
        let mut entry = json!({"ref": pushed.reference, "digest": pushed.digest, "repository": format!("{}/{}", self.registry, pushed.repository)});
        if let (Some(platforms), Some(fields)) = (platforms, entry.as_object_mut()) {
            fields.insert("platforms".into(), json!(platforms));
        }
        self.images.insert(name.to_string(), entry);
        self.pushed.insert(name, pushed.clone());
        Ok(pushed)
    }

    /// Two platform images (tags `amd64`, `arm64`) and the index of both; returns the index and
    /// the platform digests.
    async fn multiarch(
        &self,
        repository: &str,
        content: &str,
    ) -> anyhow::Result<(Value, Vec<String>)> {
        let mut manifests = Vec::new();
        let mut digests = Vec::new();
        for architecture in ["amd64", "arm64"] {
            let (manifest, digest) = self
                .pusher
                .image(repository, architecture, content, architecture)
                .await?;
            manifests.push(json!({"mediaType": push::OCI_MANIFEST, "digest": digest, "size": serde_json::to_vec(&manifest)?.len(), "platform": {"architecture": architecture, "os": "linux"}}));
            digests.push(digest);
        }
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
        Ok((index, digests))
    }

    fn docker_reference(&self, pushed: &Pushed) -> String {
        format!("{}/{}", self.registry, pushed.repository)
    }

    /// The simple-signing payload naming `pushed`, with these annotations.
    fn payload(&self, pushed: &Pushed, annotations: &[(&str, &str)]) -> Vec<u8> {
        let annotations: BTreeMap<String, String> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        payload(&self.docker_reference(pushed), &pushed.digest, &annotations)
    }

    fn key_layer(
        &self,
        pushed: &Pushed,
        key: &LabKey,
        annotations: &[(&str, &str)],
    ) -> SignatureLayer {
        let body = self.payload(pushed, annotations);
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
        identity: Identity,
    ) -> anyhow::Result<(SignatureLayer, String)> {
        let (subject, issuer, github) = match identity {
            Identity::Email => (Subject::Email(LAB_EMAIL.into()), LAB_OIDC_ISSUER, None),
            Identity::Github => (
                Subject::Uri(GITHUB_SUBJECT.into()),
                GITHUB_ISSUER,
                Some(github_claims("org/app")),
            ),
            Identity::Evil => (
                Subject::Uri(EVIL_SUBJECT.into()),
                GITHUB_ISSUER,
                Some(github_claims("org-evil/app")),
            ),
        };
        // Each keyless image its own ephemeral key (`keyless-NAME` → `ephemeral-NAME`).
        let ephemeral = LabKey::derive(
            self.seed,
            &format!("ephemeral-{}", name.trim_start_matches("keyless-")),
        )?;
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
        let body = self.payload(pushed, &[]);
        let signature = ephemeral.sign_base64(&body);
        let bundle = self
            .rekor
            .bundle(&body, &signature, &certificate, integrated);
        let layer = SignatureLayer::new(body, signature)
            .with_certificate(&certificate, None)
            .with_bundle(bundle);
        Ok((layer, certificate))
    }

    /// An earlier image's keyless layer: its certificate and bundle.
    fn genuine_keyless(&self, from: &str) -> anyhow::Result<(String, String)> {
        let layer = self
            .keyless
            .get(from)
            .with_context(|| format!("no keyless layer of {from} (it must come earlier)"))?;
        match (
            layer.annotations.get(cosign::CERTIFICATE_ANNOTATION),
            layer.annotations.get(cosign::BUNDLE_ANNOTATION),
        ) {
            (Some(certificate), Some(bundle)) => Ok((certificate.clone(), bundle.clone())),
            _ => anyhow::bail!("the keyless layer of {from} has no certificate or bundle"),
        }
    }

    /// The `.sig` layers one `Layer` of `image` stands for.
    fn layers(
        &mut self,
        image: &LabImage,
        pushed: &Pushed,
        layer: &Layer,
    ) -> anyhow::Result<Vec<SignatureLayer>> {
        Ok(match layer {
            Layer::Key(signer, annotations) => {
                vec![self.key_layer(pushed, self.key(*signer), annotations)]
            }
            Layer::KeyFor(signer, other) => {
                let other = self
                    .pushed
                    .get(other)
                    .with_context(|| format!("{other} must come before {}", image.name))?;
                vec![self.key_layer(other, self.key(*signer), &[])]
            }
            Layer::Tampered(signer) => {
                let signed = self.key_layer(pushed, self.key(*signer), &[]);
                let tampered = self.payload(pushed, &[("env", "prod")]);
                vec![SignatureLayer::new(
                    tampered,
                    signed.signature().to_string(),
                )]
            }
            Layer::Certificate { leaf, bundled } => {
                vec![self.certificate_layer(pushed, *leaf, *bundled)]
            }
            Layer::ForgedAnnotation { certified } => {
                let mut forged = self.key_layer(pushed, &self.attacker, &[("env", "prod")]);
                forged.annotations.insert(
                    cosign::SIGNATURE_ANNOTATION.to_string(),
                    STANDARD.encode(b"garbage"),
                );
                if *certified {
                    forged = forged.with_certificate(&self.leaves.lab, None);
                }
                vec![forged]
            }
            Layer::Keyless(identity) => {
                let (layer, _) = self.keyless_layer(pushed, image.name, *identity)?;
                self.keyless.insert(image.name, layer.clone());
                vec![layer]
            }
            Layer::KeylessPemVariants(identity) => {
                self.keyless_pem_variants(pushed, image.name, *identity)?
            }
            Layer::Transplant { from, garbage } => vec![self.transplant(pushed, from, *garbage)?],
            Layer::TransplantPemVariants { from } => self.transplant_pem_variants(pushed, from)?,
        })
    }

    /// The `x509-leaf` key's signature with `leaf`'s certificate, bundled or not.
    fn certificate_layer(&mut self, pushed: &Pushed, leaf: Leaf, bundled: bool) -> SignatureLayer {
        let certificate = self.leaf(leaf).to_string();
        let layer = self
            .key_layer(pushed, &self.leaves.key, &[])
            .with_certificate(&certificate, None);
        if !bundled {
            return layer;
        }
        let integrated = self.seconds(-60);
        let bundle = self
            .rekor
            .bundle(&layer.payload, layer.signature(), &certificate, integrated);
        layer.with_bundle(bundle)
    }

    /// `PEM_VARIANTS - 1` respellings of a keyless layer's certificate with garbage
    /// signatures, then the genuine layer.
    fn keyless_pem_variants(
        &mut self,
        pushed: &Pushed,
        name: &str,
        identity: Identity,
    ) -> anyhow::Result<Vec<SignatureLayer>> {
        let (signed, certificate) = self.keyless_layer(pushed, name, identity)?;
        let bundle = signed.annotations.get(cosign::BUNDLE_ANNOTATION).cloned();
        let mut layers: Vec<SignatureLayer> = pem_spellings(&certificate, PEM_VARIANTS)?
            .iter()
            .skip(1)
            .enumerate()
            .map(|(i, spelling)| {
                let layer = SignatureLayer::new(
                    signed.payload.clone(),
                    STANDARD.encode(format!("garbage {i}")),
                )
                .with_certificate(spelling, None);
                match &bundle {
                    Some(bundle) => layer.with_bundle(bundle.clone()),
                    None => layer,
                }
            })
            .collect();
        layers.push(signed);
        Ok(layers)
    }

    /// `from`'s keyless certificate and bundle on a layer over `pushed`, signed by the
    /// attacker or not at all.
    fn transplant(
        &self,
        pushed: &Pushed,
        from: &str,
        garbage: bool,
    ) -> anyhow::Result<SignatureLayer> {
        let (certificate, bundle) = self.genuine_keyless(from)?;
        let body = self.payload(pushed, &[]);
        let signature = match garbage {
            true => STANDARD.encode(b"not a signature at all"),
            false => self.attacker.sign_base64(&body),
        };
        let mut layer = SignatureLayer::new(body, signature);
        layer
            .annotations
            .insert(cosign::CERTIFICATE_ANNOTATION.to_string(), certificate);
        layer
            .annotations
            .insert(cosign::BUNDLE_ANNOTATION.to_string(), bundle);
        Ok(layer)
    }

    /// The transplant with `from`'s certificate in `PEM_VARIANTS` spellings, garbage signed.
    fn transplant_pem_variants(
        &self,
        pushed: &Pushed,
        from: &str,
    ) -> anyhow::Result<Vec<SignatureLayer>> {
        let (certificate, bundle) = self.genuine_keyless(from)?;
        let body = self.payload(pushed, &[]);
        Ok(pem_spellings(&certificate, PEM_VARIANTS)?
            .iter()
            .enumerate()
            .map(|(i, spelling)| {
                SignatureLayer::new(body.clone(), STANDARD.encode(format!("garbage {i}")))
                    .with_certificate(spelling, None)
                    .with_bundle(bundle.clone())
            })
            .collect())
    }

    /// A Sigstore bundle of `signer` over `pushed`'s payload, attached through OCI referrers.
    async fn bundle_referrer(&self, pushed: &Pushed, signer: Signer) -> anyhow::Result<()> {
        let body = self.payload(pushed, &[]);
        let bundle = json!({
            "mediaType": push::SIGSTORE_BUNDLE,
            "verificationMaterial": {"publicKey": {"hint": "key-a"}, "tlogEntries": []},
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": STANDARD.encode(<sha2::Sha256 as sha2::Digest>::digest(&body))},
                "signature": self.key(signer).sign_base64(&body)
            }
        });
        let subject = json!({"mediaType": push::OCI_MANIFEST, "digest": pushed.digest, "size": pushed.manifest_size});
        self.pusher
            .bundle_referrer(&pushed.repository, &subject, &serde_json::to_vec(&bundle)?)
            .await
    }

    /// Every image of the catalogue pushed and signed, then the files the tests read.
    async fn build(mut self) -> anyhow::Result<Value> {
        let public_keys = [
            ("key-a.pub", self.key_a.public_pem()?),
            ("key-b.pub", self.key_b.public_pem()?),
            ("attacker.pub", self.attacker.public_pem()?),
        ];
        for (name, pem) in public_keys {
            self.file(name, &pem)?;
        }
        for image in images::catalogue() {
            let pushed = self.push(&image).await?;
            match &image.signatures {
                Signatures::None => {}
                Signatures::BundleReferrer(signer) => {
                    self.bundle_referrer(&pushed, *signer).await?;
                }
                Signatures::Sig(layers) => {
                    let mut signature_layers = Vec::new();
                    for layer in layers {
                        signature_layers.extend(self.layers(&image, &pushed, layer)?);
                    }
                    self.pusher
                        .signatures(&pushed.repository, &pushed.digest, &signature_layers)
                        .await?;
                }
            }
        }
        self.trust_files()?;
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

    /// The X.509 leaves and CAs, the Fulcio CAs, the trust root and the sources file.
    fn trust_files(&mut self) -> anyhow::Result<()> {
        let pems = [
            ("leaf.pem", self.leaves.lab.clone()),
            ("outsider-leaf.pem", self.leaves.outsider.clone()),
            ("expired-leaf.pem", self.leaves.expired.clone()),
            ("ca-intermediate.pem", self.x509_intermediate.pem()),
            ("ca-root.pem", self.x509_root.pem()),
            ("fulcio-intermediate.pem", self.fulcio_intermediate.pem()),
            ("fulcio-root.pem", self.fulcio_root.pem()),
        ];
        for (name, pem) in pems {
            self.file(name, &pem)?;
        }
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
        )
    }
}

fn github_claims(repository: &str) -> GithubClaims {
    GithubClaims {
        repository: repository.to_string(),
        git_ref: "refs/heads/main".into(),
        trigger: "push".into(),
        sha: "0123456789abcdef0123456789abcdef01234567".into(),
    }
}

/// A `release@lab.example` leaf of `key` from `authority`, valid between two Unix times.
fn x509_leaf(authority: &Authority, key: &LabKey, from: i64, until: i64) -> anyhow::Result<String> {
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
