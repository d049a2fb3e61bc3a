//! Pushing blobs and manifests to the test registry over plain HTTP.

use http::HeaderValue;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A blob in the registry: what a descriptor of it says.
pub struct Blob {
    pub digest: String,
    pub size: usize,
}

impl Blob {
    /// The OCI descriptor of this blob as `media_type`.
    pub fn descriptor(&self, media_type: &str) -> Value {
        json!({"mediaType": media_type, "digest": self.digest, "size": self.size})
    }
}

pub struct Pusher {
    client: Client,
    registry: String,
    auth: RegistryAuth,
}

impl Pusher {
    /// The lab's test registry: plain HTTP, anonymous.
    pub fn new(registry: &str) -> Self {
        let client = Client::new(ClientConfig {
            protocol: ClientProtocol::Http,
            ..ClientConfig::default()
        });
        Self {
            client,
            registry: registry.to_string(),
            auth: RegistryAuth::Anonymous,
        }
    }

    /// Any registry, reached as `sources` says (HTTPS unless insecure, CAs, Docker logins).
    pub fn with_sources(
        registry: &str,
        sources: &crate::services::Sources,
    ) -> anyhow::Result<Self> {
        let auth = sources
            .credentials
            .oci_auth(registry)
            .map_err(anyhow::Error::from)?;
        Ok(Self {
            client: Client::new(sources.oci_config()),
            registry: registry.to_string(),
            auth,
        })
    }

    fn reference(&self, repository: &str, tag: &str) -> anyhow::Result<Reference> {
        Ok(format!("{}/{repository}:{tag}", self.registry).parse()?)
    }

    pub async fn blob(&self, repository: &str, bytes: &[u8]) -> anyhow::Result<Blob> {
        let reference = self.reference(repository, "latest")?;
        self.client
            .store_auth_if_needed(&self.registry, &self.auth)
            .await;
        let digest = digest_of(bytes);
        self.client.push_blob(&reference, bytes, &digest).await?;
        Ok(Blob {
            digest,
            size: bytes.len(),
        })
    }

    pub async fn digest_of_tag(&self, repository: &str, tag: &str) -> anyhow::Result<String> {
        let reference = self.reference(repository, tag)?;
        Ok(self
            .client
            .fetch_manifest_digest(&reference, &self.auth)
            .await?)
    }

    /// Push a manifest under `tag`; returns its digest.
    pub async fn manifest(
        &self,
        repository: &str,
        tag: &str,
        manifest: &Value,
        media_type: &str,
    ) -> anyhow::Result<String> {
        let body = serde_json::to_vec(manifest)?;
        let digest = digest_of(&body);
        let reference = self.reference(repository, tag)?;
        self.client
            .store_auth_if_needed(&self.registry, &self.auth)
            .await;
        self.client
            .push_manifest_raw(&reference, body, HeaderValue::from_str(media_type)?)
            .await?;
        Ok(digest)
    }

    /// A tiny single-layer image for `platform` (architecture); returns the manifest and digest.
    pub async fn image(
        &self,
        repository: &str,
        tag: &str,
        content: &str,
        architecture: &str,
    ) -> anyhow::Result<(Value, String)> {
        let layer_bytes = format!("sigpin lab image {repository}:{tag} {content}\n").into_bytes();
        let layer = self.blob(repository, &layer_bytes).await?;
        let config_bytes = serde_json::to_vec(&json!({
            "architecture": architecture,
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [digest_of(&layer_bytes)]}
        }))?;
        let config = self.blob(repository, &config_bytes).await?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.descriptor(OCI_CONFIG),
            "layers": [layer.descriptor(OCI_LAYER)]
        });
        let digest = self
            .manifest(repository, tag, &manifest, OCI_MANIFEST)
            .await?;
        Ok((manifest, digest))
    }

    /// The `.sig` manifest of `digest` with these layers, as cosign stores it.
    pub async fn signatures(
        &self,
        repository: &str,
        digest: &str,
        layers: &[super::cosign::SignatureLayer],
    ) -> anyhow::Result<()> {
        let config = self.blob(repository, b"{}").await?;
        let mut descriptors = Vec::new();
        for layer in layers {
            let blob = self.blob(repository, &layer.payload).await?;
            let mut descriptor = blob.descriptor(SIMPLE_SIGNING);
            if let Some(fields) = descriptor.as_object_mut() {
                fields.insert("annotations".into(), json!(layer.annotations));
            }
            descriptors.push(descriptor);
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.descriptor(OCI_CONFIG),
            "layers": descriptors
        });
        let tag = format!("{}.sig", digest.replace(':', "-"));
        self.manifest(repository, &tag, &manifest, OCI_MANIFEST)
            .await?;
        Ok(())
    }

    /// A Sigstore bundle attached to `subject` as cosign v3 stores it on a registry without the
    /// OCI referrers API: an artifact manifest whose `subject` is the image, pushed by digest,
    /// and the referrers index under the fallback tag `<alg>-<hex>` (OCI distribution spec,
    /// "referrers tag schema"). No `.sig` tag.
    pub async fn bundle_referrer(
        &self,
        repository: &str,
        subject: &Value,
        bundle: &[u8],
    ) -> anyhow::Result<()> {
        let empty = self.blob(repository, b"{}").await?;
        let layer = self.blob(repository, bundle).await?;
        let annotations = json!({
            "dev.sigstore.bundle.content": "message-signature",
            "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"
        });
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": SIGSTORE_BUNDLE,
            "config": empty.descriptor(OCI_EMPTY),
            "layers": [layer.descriptor(SIGSTORE_BUNDLE)],
            "subject": subject,
            "annotations": annotations
        });
        let body = serde_json::to_vec(&manifest)?;
        let digest = digest_of(&body);
        let by_digest: Reference = format!("{}/{repository}@{digest}", self.registry).parse()?;
        self.client
            .push_manifest_raw(
                &by_digest,
                body.clone(),
                HeaderValue::from_str(OCI_MANIFEST)?,
            )
            .await?;
        let index = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{
                "mediaType": OCI_MANIFEST,
                "artifactType": SIGSTORE_BUNDLE,
                "digest": digest,
                "size": body.len(),
                "annotations": annotations
            }]
        });
        let Some(subject_digest) = subject.get("digest").and_then(Value::as_str) else {
            anyhow::bail!("the bundle's subject has no digest");
        };
        let tag = subject_digest.replace(':', "-");
        self.manifest(repository, &tag, &index, OCI_INDEX).await?;
        Ok(())
    }
}
