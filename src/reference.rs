//! Image references parsed with the distribution reference grammar, so that every spelling of
//! the same image (`nginx`, `docker.io/nginx`, `index.docker.io/library/nginx:latest`) is seen
//! by the rule matcher and none of them can dodge a rule written for another.

use thiserror::Error;

const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_LEGACY: &str = "index.docker.io";
/// Host names that serve Docker Hub's content under other names than `docker.io`.
const DOCKER_HUB_ALIASES: [&str; 3] = [DOCKER_HUB, DOCKER_HUB_LEGACY, "registry-1.docker.io"];
/// The port every registry client uses when none is written.
const HTTPS_PORT_SUFFIX: &str = ":443";
const OFFICIAL_NAMESPACE: &str = "library";
const DEFAULT_TAG: &str = "latest";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("the reference is empty")]
    Empty,
    #[error("the reference has leading or trailing whitespace")]
    Whitespace,
    #[error("the registry host {0:?} is not a valid host[:port]")]
    BadRegistry(String),
    #[error(
        "the repository path {0:?} is not valid (lower-case letters, digits and separators only)"
    )]
    BadRepository(String),
    #[error("the repository name is longer than 255 characters")]
    NameTooLong,
    #[error("the tag {0:?} is not valid")]
    BadTag(String),
    #[error("the digest {0:?} is not valid")]
    BadDigest(String),
}

/// A parsed image reference. `written` keeps the user's exact text: it is what the host is asked
/// to verify and what the mutation extends, so the object changes no more than needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    pub written: String,
    /// Registry host as written, if the reference names one.
    pub registry: Option<String>,
    /// Repository path as written (without registry).
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageReference {
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        if text.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if text.trim() != text {
            return Err(ReferenceError::Whitespace);
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                if !is_valid_digest(digest) {
                    return Err(ReferenceError::BadDigest(digest.to_string()));
                }
                (rest, Some(digest.to_string()))
            }
            None => (text, None),
        };
        // A ':' after the last '/' separates the tag; one before it belongs to a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest.get(last_slash..).and_then(|tail| tail.rfind(':')) {
            Some(colon) => {
                let split = last_slash + colon;
                let name = rest.get(..split).unwrap_or_default();
                let tag = rest.get(split + 1..).unwrap_or_default();
                if !is_valid_tag(tag) {
                    return Err(ReferenceError::BadTag(tag.to_string()));
                }
                (name, Some(tag.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if name.len() > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong);
        }
        let (registry, path) = split_registry(name);
        if let Some(host) = registry.filter(|host| !is_valid_registry(host)) {
            return Err(ReferenceError::BadRegistry(host.to_string()));
        }
        if !path.split('/').all(is_valid_path_component) {
            return Err(ReferenceError::BadRepository(path.to_string()));
        }
        Ok(Self {
            written: text.to_string(),
            registry: registry.map(str::to_string),
            path: path.to_string(),
            tag,
            digest,
        })
    }

    /// The canonical form, e.g. `docker.io/library/nginx:latest`.
    pub fn normalized(&self) -> String {
        let (registry, path) = self.canonical_name();
        let mut out = format!("{registry}/{path}");
        self.push_suffix(&mut out, true);
        out
    }

    /// `registry/repository@digest` without the tag: what a digest-pinned reference pulls,
    /// whatever tag is written beside the digest. `None` without a digest.
    pub fn content_address(&self) -> Option<String> {
        let (registry, path) = self.canonical_name();
        self.digest
            .as_ref()
            .map(|digest| format!("{registry}/{path}@{digest}"))
    }

    /// Every way of writing this same image. A rule glob applies when it matches any of them, so
    /// a reference cannot escape a rule by being spelled differently from the rule's author.
    pub fn spellings(&self) -> Vec<String> {
        let (registry, path) = self.canonical_name();
        let mut names = vec![format!("{registry}/{path}")];
        if registry == DOCKER_HUB {
            let short = path
                .strip_prefix(OFFICIAL_NAMESPACE)
                .and_then(|p| p.strip_prefix('/'))
                .filter(|p| !p.contains('/'));
            let mut repo_forms = vec![path.clone()];
            repo_forms.extend(short.map(str::to_string));
            names.clear();
            for repo in &repo_forms {
                names.push(repo.clone());
                names.extend(
                    DOCKER_HUB_ALIASES
                        .iter()
                        .map(|host| format!("{host}/{repo}")),
                );
            }
        }
        let mut out = Vec::with_capacity(names.len() * 2 + 1);
        out.push(self.written.clone());
        for name in names {
            for implicit_tag in [false, true] {
                let mut spelled = name.clone();
                self.push_suffix(&mut spelled, implicit_tag);
                if !out.contains(&spelled) {
                    out.push(spelled);
                }
            }
        }
        out
    }

    /// The reference as written with `@digest` added or kept: the pinned form.
    pub fn pinned(&self, digest: &str) -> String {
        match &self.digest {
            Some(_) => self.written.clone(),
            None => format!("{}@{digest}", self.written),
        }
    }

    fn canonical_name(&self) -> (String, String) {
        // Host names are case-insensitive and `:443` is the default port: `GHCR.IO:443/org/app`
        // is pulled from the same place as `ghcr.io/org/app` and must meet the same rules.
        let host = self.registry.as_deref().map(|host| {
            let host = host.to_ascii_lowercase();
            match host.strip_suffix(HTTPS_PORT_SUFFIX) {
                Some(bare) => bare.to_string(),
                None => host,
            }
        });
        let registry = match host {
            None => DOCKER_HUB.to_string(),
            Some(host) if DOCKER_HUB_ALIASES.contains(&host.as_str()) => DOCKER_HUB.to_string(),
            Some(host) => host,
        };
        let path = if registry == DOCKER_HUB && !self.path.contains('/') {
            format!("{OFFICIAL_NAMESPACE}/{}", self.path)
        } else {
            self.path.clone()
        };
        (registry, path)
    }

    fn push_suffix(&self, out: &mut String, implicit_tag: bool) {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => {
                out.push(':');
                out.push_str(tag);
            }
            (None, None) if implicit_tag => {
                out.push(':');
                out.push_str(DEFAULT_TAG);
            }
            _ => {}
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        }
    }
}

/// The distribution rule: the first component is a registry when it has a `.` or `:`, is
/// `localhost`, or has upper-case letters (which a repository path cannot have).
fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn is_valid_registry(host: &str) -> bool {
    let (hostname, port) = if let Some(v6) = host.strip_prefix('[') {
        let Some((addr, rest)) = v6.split_once(']') else {
            return false;
        };
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return false;
        }
        let port = match rest {
            "" => None,
            _ => match rest.strip_prefix(':') {
                Some(port) => Some(port),
                None => return false,
            },
        };
        (None, port)
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (Some(name), Some(port)),
            None => (Some(host), None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let name_ok = hostname.is_none_or(|name| {
        !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
    });
    port_ok && name_ok
}

/// `[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*`
fn is_valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut run: Vec<u8> = Vec::new();
    for b in bytes {
        if alnum(b) {
            if !is_valid_separator(&run) {
                return false;
            }
            run.clear();
        } else {
            run.push(*b);
        }
    }
    true
}

fn is_valid_separator(run: &[u8]) -> bool {
    matches!(run, [] | [b'.'] | [b'_'] | [b'_', b'_']) || run.iter().all(|b| *b == b'-')
}

/// `[\w][\w.-]{0,127}`
fn is_valid_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = tag.chars();
    tag.len() <= MAX_TAG_LEN
        && chars.next().is_some_and(word)
        && chars.all(|c| word(c) || c == '.' || c == '-')
}

/// Only the digests a registry can serve and the host can return: sha256 (64 hex) and sha512
/// (128 hex), lower-case.
pub fn is_valid_digest(digest: &str) -> bool {
    let hex_len = match digest.split_once(':') {
        Some(("sha256", hex)) => (hex, 64),
        Some(("sha512", hex)) => (hex, 128),
        _ => return false,
    };
    hex_len.0.len() == hex_len.1
        && hex_len
            .0
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}
