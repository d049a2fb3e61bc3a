//! Registry credentials from a Docker `config.json`, found where kwctl looks for it:
//! `--docker-config-json-path DIR`, else `$DOCKER_CONFIG`, else `~/.docker/config.json`.
//! Only inline credentials (`auth`, or `username`/`password`) are read; a registry that is
//! delegated to a credential helper is refused rather than silently accessed anonymously.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CredentialsError {
    #[error("cannot read the Docker config {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the Docker config {path} is not valid: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error(
        "the Docker config {path} delegates {registry} to the credential helper {helper:?}, which the harness does not run: put the credentials inline (`docker login` with no credsStore)"
    )]
    Helper {
        path: PathBuf,
        registry: String,
        helper: String,
    },
}

#[derive(Debug, Default, Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// A user name and password for one registry host.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a password, even in debug output.
        write!(f, "Login({:?}, <password>)", self.username)
    }
}

/// Inline credentials per registry host (`host[:port]`), from one Docker config file.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    path: Option<PathBuf>,
    logins: BTreeMap<String, Login>,
    helpers: BTreeMap<String, String>,
}

/// `https://index.docker.io/v1/`, `docker.io`, `registry-1.docker.io` → one key; other
/// entries lose their scheme and path (`https://host:5000/v2/` → `host:5000`).
fn registry_key(entry: &str) -> String {
    let bare = entry
        .strip_prefix("https://")
        .or_else(|| entry.strip_prefix("http://"))
        .unwrap_or(entry);
    let host = bare.split('/').next().unwrap_or(bare).to_ascii_lowercase();
    match host.as_str() {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => "docker.io".into(),
        _ => host,
    }
}

impl Credentials {
    /// kwctl's search order. An explicit directory must hold a config.json; the default
    /// locations may be absent (anonymous access).
    pub fn discover(dir: Option<&Path>) -> Result<Self, CredentialsError> {
        let (path, required) = match dir {
            Some(dir) => (dir.join("config.json"), true),
            None => match std::env::var_os("DOCKER_CONFIG") {
                Some(dir) => (PathBuf::from(dir).join("config.json"), false),
                None => match std::env::var_os("HOME") {
                    Some(home) => (PathBuf::from(home).join(".docker/config.json"), false),
                    None => return Ok(Self::default()),
                },
            },
        };
        if !required && !path.exists() {
            return Ok(Self::default());
        }
        Self::load(&path)
    }

    pub fn load(path: &Path) -> Result<Self, CredentialsError> {
        let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |reason: String| CredentialsError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let config: DockerConfig =
            serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let mut logins = BTreeMap::new();
        for (registry, entry) in &config.auths {
            let login = match (&entry.auth, &entry.username, &entry.password) {
                (Some(auth), _, _) if !auth.is_empty() => {
                    let decoded = STANDARD
                        .decode(auth.trim())
                        .map_err(|e| invalid(format!("auths.{registry:?}.auth: {e}")))?;
                    let decoded = String::from_utf8(decoded)
                        .map_err(|_| invalid(format!("auths.{registry:?}.auth is not UTF-8")))?;
                    let (username, password) = decoded.split_once(':').ok_or_else(|| {
                        invalid(format!(
                            "auths.{registry:?}.auth is not base64 of USER:PASSWORD"
                        ))
                    })?;
                    Login {
                        username: username.into(),
                        password: password.into(),
                    }
                }
                (_, Some(username), Some(password)) => Login {
                    username: username.clone(),
                    password: password.clone(),
                },
                // An entry without credentials: `docker login` left it for the credsStore.
                _ => continue,
            };
            logins.insert(registry_key(registry), login);
        }
        let mut helpers: BTreeMap<String, String> = config
            .cred_helpers
            .iter()
            .map(|(registry, helper)| (registry_key(registry), helper.clone()))
            .collect();
        if let Some(store) = config.creds_store {
            for registry in config.auths.keys() {
                let key = registry_key(registry);
                if !logins.contains_key(&key) {
                    helpers.entry(key).or_insert_with(|| store.clone());
                }
            }
        }
        Ok(Self {
            path: Some(path.to_path_buf()),
            logins,
            helpers,
        })
    }

    /// Where the logins came from, for messages.
    pub fn source(&self) -> String {
        match &self.path {
            Some(path) => path.display().to_string(),
            None => "any Docker config (none found)".into(),
        }
    }

    /// The login for `registry` (`host[:port]` as in an image reference), if any.
    pub fn login(&self, registry: &str) -> Result<Option<&Login>, CredentialsError> {
        let key = registry_key(registry);
        if let Some(login) = self.logins.get(&key) {
            return Ok(Some(login));
        }
        match (self.helpers.get(&key), &self.path) {
            (Some(helper), Some(path)) => Err(CredentialsError::Helper {
                path: path.clone(),
                registry: key,
                helper: helper.clone(),
            }),
            _ => Ok(None),
        }
    }

    pub fn oci_auth(
        &self,
        registry: &str,
    ) -> Result<oci_client::secrets::RegistryAuth, CredentialsError> {
        Ok(match self.login(registry)? {
            Some(login) => oci_client::secrets::RegistryAuth::Basic(
                login.username.clone(),
                login.password.clone(),
            ),
            None => oci_client::secrets::RegistryAuth::Anonymous,
        })
    }

    pub fn sigstore_auth(
        &self,
        registry: &str,
    ) -> Result<sigstore::registry::Auth, CredentialsError> {
        Ok(match self.login(registry)? {
            Some(login) => {
                sigstore::registry::Auth::Basic(login.username.clone(), login.password.clone())
            }
            None => sigstore::registry::Auth::Anonymous,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One directory per call: tests run in parallel.
    fn loaded(json: &str) -> Result<Credentials, CredentialsError> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("harness-credentials-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), json).unwrap();
        Credentials::discover(Some(&dir))
    }

    #[test]
    fn logins_by_registry() {
        let alice = Some(("alice".to_string(), "p:w".to_string()));
        type Case<'a> = (&'a str, &'a str, Option<(String, String)>);
        let cases: [Case; 6] = [
            (
                r#"{"auths": {"r.example:5000": {"auth": "YWxpY2U6cDp3"}}}"#,
                "r.example:5000",
                alice.clone(),
            ),
            (
                r#"{"auths": {"https://index.docker.io/v1/": {"auth": "YWxpY2U6cDp3"}}}"#,
                "index.docker.io",
                alice.clone(),
            ),
            (
                r#"{"auths": {"r.example": {"username": "alice", "password": "p:w"}}}"#,
                "R.EXAMPLE",
                alice.clone(),
            ),
            (
                r#"{"auths": {"r.example": {"auth": "YWxpY2U6cDp3"}}}"#,
                "other.example",
                None,
            ),
            (r#"{}"#, "r.example", None),
            (
                r#"{"auths": {"r.example": {}}, "credHelpers": {"s.example": "gcr"}}"#,
                "r.example",
                None,
            ),
        ];
        for (json, registry, expected) in cases {
            let credentials = loaded(json).unwrap();
            let login = credentials
                .login(registry)
                .unwrap()
                .map(|l| (l.username.clone(), l.password.clone()));
            assert_eq!(login, expected, "{json} {registry}");
        }
    }

    #[test]
    fn refusals() {
        for (json, registry, message) in [
            (
                r#"{"auths": 1}"#,
                "r",
                "is not valid: invalid type: integer `1`, expected a map at line 1 column 11",
            ),
            (
                r#"{"auths": {"r": {"auth": "bm9jb2xvbg=="}}}"#,
                "r",
                "is not valid: auths.\"r\".auth is not base64 of USER:PASSWORD",
            ),
        ] {
            let error = loaded(json)
                .and_then(|c| c.login(registry).map(|_| ()))
                .unwrap_err();
            assert!(error.to_string().ends_with(message), "{json}: {error}");
        }
        let helpers = [
            (
                r#"{"auths": {"r": {}}, "credsStore": "desktop"}"#,
                "desktop",
            ),
            (r#"{"credHelpers": {"r": "ecr-login"}}"#, "ecr-login"),
        ];
        for (json, helper) in helpers {
            let error = loaded(json).unwrap().login("r").unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains(&format!("to the credential helper {helper:?}")),
                "{error}"
            );
        }
    }

    #[test]
    fn registry_keys() {
        for (entry, key) in [
            ("https://index.docker.io/v1/", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("ghcr.io", "ghcr.io"),
            ("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"),
            ("GHCR.IO", "ghcr.io"),
        ] {
            assert_eq!(registry_key(entry), key, "{entry}");
        }
    }
}
