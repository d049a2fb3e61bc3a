//! Registry access as the engine configures it: kwctl's `sources.yaml` decides which hosts are
//! spoken to over plain HTTP (`insecure_sources`) and which extra CAs are trusted.

use std::path::Path;

use anyhow::Context;
use kubewarden_policy_sdk::host_capabilities::oci::{
    OciManifestAndConfigResponse, OciManifestResponse,
};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Deserialize;
use serde_json::Value;

use super::credentials::Credentials;

/// kwctl's `sources.yaml`; an unknown key (a typo such as `insecureSources`) is refused, not
/// ignored, and every CA file is read when the file is loaded.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sources {
    #[serde(default)]
    pub insecure_sources: Vec<String>,
    #[serde(default)]
    pub source_authorities: std::collections::BTreeMap<String, Vec<SourceAuthority>>,
    /// Registry logins (Docker config.json), not part of sources.yaml.
    #[serde(skip)]
    pub credentials: Credentials,
    /// The PEM of every source authority, read once at load.
    #[serde(skip)]
    roots: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum SourceAuthority {
    Data { data: String },
    Path { path: String },
}

impl Sources {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut sources: Self = serde_yaml::from_str(&text)
            .with_context(|| format!("parsing the sources file {}", path.display()))?;
        for (host, authorities) in &sources.source_authorities {
            for authority in authorities {
                let pem = match authority {
                    SourceAuthority::Data { data } => data.as_bytes().to_vec(),
                    SourceAuthority::Path { path: ca } => std::fs::read(ca).with_context(|| {
                        format!(
                            "{}: source_authorities of {host}: cannot read the CA file {ca}",
                            path.display()
                        )
                    })?,
                };
                sources.roots.push(pem);
            }
        }
        Ok(sources)
    }

    /// kwctl's sources (none: HTTPS everywhere, system roots) and Docker config logins.
    pub fn resolve(
        sources_path: Option<&Path>,
        docker_config_dir: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let mut sources = match sources_path {
            Some(path) => Self::load(path)?,
            None => Self::default(),
        };
        sources.credentials = Credentials::discover(docker_config_dir)?;
        Ok(sources)
    }

    /// The same, with `registry` reached over plain HTTP (the lab's test registries).
    pub fn plain_http(mut self, registry: &str) -> Self {
        self.insecure_sources.push(registry.to_string());
        self
    }

    /// PEM certificates of every source authority, for TLS to private registries.
    pub fn extra_roots(&self) -> Vec<Vec<u8>> {
        self.roots.clone()
    }

    /// The login to use for `reference`'s registry (anonymous without one).
    pub fn oci_auth(&self, reference: &Reference) -> Result<RegistryAuth, String> {
        self.credentials
            .oci_auth(reference.resolve_registry())
            .map_err(|e| e.to_string())
    }

    /// A registry failure with its whole cause chain, and a hint when a host this
    /// configuration reaches over HTTPS could not be reached at all.
    pub fn explain(&self, registry: &str, error: &dyn std::error::Error) -> String {
        let mut text = error.to_string();
        let mut cause = error.source();
        while let Some(inner) = cause {
            let inner_text = inner.to_string();
            if !text.contains(&inner_text) {
                text.push_str(": ");
                text.push_str(&inner_text);
            }
            cause = inner.source();
        }
        let mut text = text.trim_end().to_string();
        if text.contains("code: 401")
            || text.contains("UNAUTHORIZED")
            || text.contains("Not authorized")
        {
            text.push_str(&match self.credentials.login(registry) {
                Ok(Some(login)) => format!(
                    " (hint: the registry refused the login of {:?} for {registry} from {})",
                    login.username,
                    self.credentials.source()
                ),
                _ => format!(
                    " (hint: no login for {registry} in {}: pass --docker-config-json-path DIR, set DOCKER_CONFIG, or `docker login`)",
                    self.credentials.source()
                ),
            });
        }
        let unreachable = text.contains("error sending request")
            || text.contains("onnection refused")
            || text.contains("InvalidContentType");
        if unreachable && !self.insecure_sources.iter().any(|s| s == registry) {
            text.push_str(&format!(
                " (hint: {registry} was contacted over HTTPS; if it serves plain HTTP, list it under insecure_sources in the sources file)"
            ));
        }
        text
    }

    pub fn oci_config(&self) -> ClientConfig {
        ClientConfig {
            protocol: ClientProtocol::HttpsExcept(self.insecure_sources.clone()),
            extra_root_certificates: self
                .extra_roots()
                .into_iter()
                .map(|data| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data,
                })
                .collect(),
            ..ClientConfig::default()
        }
    }

    pub fn sigstore_config(&self) -> sigstore::registry::ClientConfig {
        sigstore::registry::ClientConfig {
            protocol: sigstore::registry::ClientProtocol::HttpsExcept(
                self.insecure_sources.clone(),
            ),
            extra_root_certificates: self
                .extra_roots()
                .into_iter()
                .map(|data| sigstore::registry::Certificate {
                    encoding: sigstore::registry::CertificateEncoding::Pem,
                    data,
                })
                .collect(),
            ..Default::default()
        }
    }
}

pub fn parse_reference(image: &str) -> Result<Reference, String> {
    image
        .parse::<Reference>()
        .map_err(|e| format!("invalid image reference {image:?}: {e}"))
}

/// One registry client and the sources it was configured from: the `oci` capabilities.
pub struct Registry<'a> {
    pub client: &'a Client,
    pub sources: &'a Sources,
}

impl Registry<'_> {
    pub async fn manifest_digest(&self, image: &str) -> Result<String, String> {
        let (reference, auth) = self.target(image)?;
        self.client
            .fetch_manifest_digest(&reference, &auth)
            .await
            .map_err(|e| self.failure(&reference, format!("cannot resolve {image}"), &e))
    }

    /// `image` parsed, and the login for its registry.
    fn target(&self, image: &str) -> Result<(Reference, RegistryAuth), String> {
        let reference = parse_reference(image)?;
        let auth = self.sources.oci_auth(&reference)?;
        Ok((reference, auth))
    }

    /// A registry failure on `reference`: what was being done, then why (`Sources::explain`).
    fn failure(
        &self,
        reference: &Reference,
        doing: String,
        error: &dyn std::error::Error,
    ) -> String {
        format!(
            "{doing}: {}",
            self.sources.explain(reference.registry(), error)
        )
    }

    pub async fn manifest(&self, image: &str) -> Result<OciManifestResponse, String> {
        let (reference, auth) = self.target(image)?;
        let doing = format!("cannot fetch the manifest of {image}");
        let (manifest, _) = self
            .client
            .pull_manifest(&reference, &auth)
            .await
            .map_err(|e| self.failure(&reference, doing, &e))?;
        typed(
            manifest,
            &format!("the manifest of {image} is not an OCI manifest"),
        )
    }

    pub async fn manifest_and_config(
        &self,
        image: &str,
    ) -> Result<OciManifestAndConfigResponse, String> {
        let (reference, auth) = self.target(image)?;
        let (manifest, digest, config) = self
            .client
            .pull_manifest_and_config(&reference, &auth)
            .await
            .map_err(|e| {
                let doing = format!("cannot fetch the manifest and config of {image}");
                self.failure(&reference, doing, &e)
            })?;
        let config: Value = serde_json::from_str(&config)
            .map_err(|e| format!("the config of {image} is not JSON: {e}"))?;
        Ok(OciManifestAndConfigResponse {
            manifest: typed(manifest, &format!("the manifest of {image}"))?,
            digest,
            config: typed(config, &format!("the config of {image}"))?,
        })
    }
}

/// What the registry sent, in the SDK's type (oci-spec's manifest or index).
fn typed<T: serde::de::DeserializeOwned>(
    value: impl serde::Serialize,
    what: &str,
) -> Result<T, String> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| format!("{what}: {e}"))
}
