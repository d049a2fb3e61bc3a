//! The lab's images, in push order: each one's name, content and signatures, as data. What an
//! image is for is said here once; `Lab::build` makes every entry with one loop. Adding a lab
//! image is adding an entry (and a `Layer` kind if no existing one makes its signatures).

/// A lab signing key.
#[derive(Clone, Copy)]
pub enum Signer {
    A,
    B,
    Attacker,
}

/// An X.509 leaf of the `x509-leaf` key.
#[derive(Clone, Copy)]
pub enum Leaf {
    /// From the lab CA chain, valid for a year.
    Lab,
    /// From an unrelated CA.
    Outsider,
    /// From the lab CA chain, expired yesterday.
    Expired,
}

/// A keyless identity the lab Fulcio certifies.
#[derive(Clone, Copy)]
pub enum Identity {
    /// `LAB_EMAIL` from `LAB_OIDC_ISSUER`.
    Email,
    /// `GITHUB_SUBJECT` (org/app's release workflow) from GitHub Actions.
    Github,
    /// `EVIL_SUBJECT` (org-evil/app's release workflow) from GitHub Actions.
    Evil,
}

/// How one layer (or, for the PEM-variant kinds, one run of layers) of a `.sig` manifest is
/// made.
pub enum Layer {
    /// `Signer` over this image's payload carrying these annotations.
    Key(Signer, &'static [(&'static str, &'static str)]),
    /// `Signer` over the payload of another lab image, listed earlier.
    KeyFor(Signer, &'static str),
    /// `Signer` over this image's payload, then the payload changed (it gains `env: prod`).
    Tampered(Signer),
    /// The `x509-leaf` key's signature with `leaf`'s certificate, and a Rekor bundle when
    /// `bundled`.
    Certificate { leaf: Leaf, bundled: bool },
    /// A layer an attacker added: an unsigned `env: prod` payload and a garbage signature, with
    /// the lab leaf's certificate when `certified`.
    ForgedAnnotation { certified: bool },
    /// A keyless signature: a fresh key, a 10-minute Fulcio certificate an hour ago, a bundle.
    Keyless(Identity),
    /// The keyless signature preceded by `PEM_VARIANTS - 1` layers with the same certificate
    /// and bundle in other PEM spellings and garbage signatures.
    KeylessPemVariants(Identity),
    /// The genuine certificate and bundle of `from`'s keyless layer on a layer over this
    /// image, signed by the attacker or (`garbage`) not signed at all.
    Transplant { from: &'static str, garbage: bool },
    /// The transplant with `from`'s certificate in `PEM_VARIANTS` spellings on as many layers
    /// with garbage signatures.
    TransplantPemVariants { from: &'static str },
}

/// What is pushed under `lab/NAME:v1`.
pub enum Content {
    /// A tiny single-layer amd64 image.
    Image,
    /// An index of two platform images (amd64, arm64), signed by its own digest.
    MultiArch,
}

pub enum Signatures {
    /// No `.sig` manifest.
    None,
    /// A `.sig` manifest with these layers (none: a manifest without layers).
    Sig(Vec<Layer>),
    /// cosign v3's default format only: a Sigstore bundle by this signer attached through OCI
    /// referrers, no `.sig` tag.
    BundleReferrer(Signer),
}

pub struct LabImage {
    pub name: &'static str,
    pub content: Content,
    pub signatures: Signatures,
}

fn image(name: &'static str, signatures: Signatures) -> LabImage {
    LabImage {
        name,
        content: Content::Image,
        signatures,
    }
}

fn signed(name: &'static str, layers: Vec<Layer>) -> LabImage {
    image(name, Signatures::Sig(layers))
}

/// Every lab image, in push order (the first is the one the progress test names).
pub fn catalogue() -> Vec<LabImage> {
    use Layer::*;
    vec![
        // Public keys.
        signed("key-signed", vec![Key(Signer::A, &[])]),
        signed("key-annotated", vec![Key(Signer::A, &[("env", "prod")])]),
        signed(
            "two-signers",
            vec![Key(Signer::A, &[]), Key(Signer::B, &[])],
        ),
        signed("wrong-key", vec![Key(Signer::Attacker, &[])]),
        image("unsigned", Signatures::None),
        // Signed only as a cosign v3 bundle: the Kubewarden host cannot verify it; the policy
        // explains why.
        image("bundle-only", Signatures::BundleReferrer(Signer::A)),
        // Fault material: a signature manifest without layers, and a signed image whose
        // signature manifest the tests corrupt in the registry's storage.
        signed("no-layers", vec![]),
        signed("corrupt-signature", vec![Key(Signer::A, &[])]),
        // A signature valid for another digest, stored under this image's .sig tag.
        image("other-digest-source", Signatures::None),
        signed(
            "other-digest",
            vec![KeyFor(Signer::A, "other-digest-source")],
        ),
        // The payload changed after signing.
        signed("tampered", vec![Tampered(Signer::A)]),
        LabImage {
            name: "multiarch",
            content: Content::MultiArch,
            signatures: Signatures::Sig(vec![Key(Signer::A, &[])]),
        },
        // X.509 certificates from the lab CA chain, an unrelated CA, and an expired leaf.
        signed(
            "cert-bundle",
            vec![Certificate {
                leaf: Leaf::Lab,
                bundled: true,
            }],
        ),
        signed(
            "cert-no-bundle",
            vec![Certificate {
                leaf: Leaf::Lab,
                bundled: false,
            }],
        ),
        signed(
            "cert-outsider",
            vec![Certificate {
                leaf: Leaf::Outsider,
                bundled: false,
            }],
        ),
        signed(
            "cert-expired",
            vec![Certificate {
                leaf: Leaf::Expired,
                bundled: false,
            }],
        ),
        // Forged signer annotations: a genuine signature without annotations, plus a layer an
        // attacker added. The key variant checks annotations on the signed layer only; the
        // certificate variant accepts them from any layer (protocol doc §4.6 point 3).
        signed(
            "key-forged-annotation",
            vec![Key(Signer::A, &[]), ForgedAnnotation { certified: false }],
        ),
        signed(
            "cert-forged-annotation",
            vec![
                Certificate {
                    leaf: Leaf::Lab,
                    bundled: false,
                },
                ForgedAnnotation { certified: true },
            ],
        ),
        // Keyless signatures from the lab Fulcio.
        signed("keyless-email", vec![Keyless(Identity::Email)]),
        signed("keyless-github", vec![Keyless(Identity::Github)]),
        // One genuine keyless signature plus 99 respelled copies with garbage signatures: the
        // policy must treat them as one certificate, not 100.
        signed(
            "keyless-pem-variants",
            vec![KeylessPemVariants(Identity::Github)],
        ),
        signed("keyless-evil", vec![Keyless(Identity::Evil)]),
        // Transplants of keyless-github's certificate and bundle onto other images.
        signed(
            "transplant-attacker",
            vec![Transplant {
                from: "keyless-github",
                garbage: false,
            }],
        ),
        signed(
            "transplant-garbage",
            vec![Transplant {
                from: "keyless-github",
                garbage: true,
            }],
        ),
        // Under the engine's binding every spelling would be a candidate whose proof walks
        // every layer.
        signed(
            "transplant-pem-variants",
            vec![TransplantPemVariants {
                from: "keyless-github",
            }],
        ),
    ]
}
