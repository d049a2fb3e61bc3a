//! Image references parsed with the distribution reference grammar and reduced to one canonical
//! identity (registry, repository, tag, digest) before any rule is consulted. Every spelling a
//! registry client resolves to the same endpoint (`GHCR.IO:0443`, `[0:0::1]`, `nginx`,
//! `index.docker.io/library/nginx:latest`) gets the same identity; spellings that cannot be
//! canonicalised safely (`127.1`, `127.0.0.010`) are refused with the spelling to use.

use std::net::{Ipv4Addr, Ipv6Addr};

use thiserror::Error;

pub const DOCKER_HUB: &str = "docker.io";
/// Host names that serve Docker Hub's content under other names than `docker.io`.
pub const DOCKER_HUB_ALIASES: [&str; 3] = [DOCKER_HUB, "index.docker.io", "registry-1.docker.io"];
/// The port every registry client uses when none is written.
const HTTPS_PORT: u16 = 443;
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
    #[error("the registry port in {0:?} is not a port number from 1 to 65535")]
    BadPort(String),
    #[error(
        "the registry host {written:?} is not written canonically and registry clients may read it as {read}: write the registry as {canonical}"
    )]
    NonCanonicalHost {
        written: String,
        /// How a resolver (glibc `inet_aton`) reads the host.
        read: String,
        canonical: String,
    },
    #[error(
        "the registry host {0:?} ends in a numeric label but is not an IPv4 address in dotted-quad form (such as 10.0.0.1)"
    )]
    NumericHost(String),
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
/// to verify and what the mutation extends, so the object changes no more than needed. Every
/// decision (rules, skips, exemptions) is made on the canonical fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    pub written: String,
    /// Registry host as written, if the reference names one.
    pub registry: Option<String>,
    /// Repository path as written (without registry).
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// Canonical registry: lower case, no default port, numeric port without leading zeros,
    /// canonical IP literal, `docker.io` for every Docker Hub alias and for no registry.
    canonical_registry: String,
    /// Canonical repository path: `library/` made explicit on Docker Hub.
    canonical_path: String,
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
        let canonical_registry = match registry {
            Some(host) => canonical_registry(host)?,
            None => DOCKER_HUB.to_string(),
        };
        if !path.split('/').all(is_valid_path_component) {
            return Err(ReferenceError::BadRepository(path.to_string()));
        }
        let canonical_path = if canonical_registry == DOCKER_HUB && !path.contains('/') {
            format!("{OFFICIAL_NAMESPACE}/{path}")
        } else {
            path.to_string()
        };
        Ok(Self {
            written: text.to_string(),
            registry: registry.map(str::to_string),
            path: path.to_string(),
            tag,
            digest,
            canonical_registry,
            canonical_path,
        })
    }

    /// `registry/repository` in canonical form.
    pub fn canonical_name(&self) -> String {
        joined(&[&self.canonical_registry, "/", &self.canonical_path])
    }

    /// The canonical form with the implicit tag made explicit and any tag kept, e.g.
    /// `docker.io/library/nginx:latest`.
    pub fn normalized(&self) -> String {
        let mut out = self.canonical_name();
        self.push_suffix(&mut out);
        out
    }

    /// The one string exemptions (`skipImages`) are matched against: `registry/repository:tag`,
    /// or `registry/repository@digest` when a digest is given (the tag beside a digest does not
    /// decide what runs, so it cannot decide what is skipped either).
    pub fn canonical(&self) -> String {
        let (separator, suffix) = self.subject_suffix();
        joined(&[
            &self.canonical_registry,
            "/",
            &self.canonical_path,
            separator,
            suffix,
        ])
    }

    /// What follows a name in a matched subject: `@digest`, else `:tag` (`latest` by default).
    fn subject_suffix(&self) -> (&str, &str) {
        match &self.digest {
            Some(digest) => ("@", digest),
            None => (":", self.tag.as_deref().unwrap_or(DEFAULT_TAG)),
        }
    }

    /// `registry/repository@digest` without the tag: what a digest-pinned reference pulls,
    /// whatever tag is written beside the digest. `None` without a digest.
    pub fn content_address(&self) -> Option<String> {
        self.digest.as_ref().map(|_| self.canonical())
    }

    /// Every accepted way of writing the repository name: the canonical one and, on Docker Hub,
    /// each alias host, no host, and `library/` left out for official images.
    pub fn name_spellings(&self) -> Vec<String> {
        let canonical = self.canonical_name();
        if self.canonical_registry != DOCKER_HUB {
            return vec![canonical];
        }
        let path = &self.canonical_path;
        let short = path
            .strip_prefix(OFFICIAL_NAMESPACE)
            .and_then(|p| p.strip_prefix('/'))
            .filter(|p| !p.contains('/'));
        let mut names = Vec::new();
        for repo in std::iter::once(path.as_str()).chain(short) {
            names.push(repo.to_string());
            names.extend(
                DOCKER_HUB_ALIASES
                    .iter()
                    .map(|host| format!("{host}/{repo}")),
            );
        }
        names
    }

    /// What rule globs are matched against (liberally: any one match makes the rule apply).
    /// Every name spelling alone (a pattern naming a repository covers all its tags and
    /// digests), and with the tag (`latest` when none is written) or, for a digest-pinned
    /// reference, with the digest and without any tag: the tag beside a digest does not decide
    /// what runs, so it is not matched; rules meet such references through the digest form of
    /// their globs (`matching::digest_form`), so no tag constraint can be dodged either.
    pub fn subjects(&self) -> Vec<String> {
        let (separator, suffix) = self.subject_suffix();
        let names = self.name_spellings();
        let mut out = Vec::with_capacity(2 * names.len());
        for name in names {
            let suffixed = joined(&[&name, separator, suffix]);
            out.push(name);
            out.push(suffixed);
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

    fn push_suffix(&self, out: &mut String) {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => {
                out.push(':');
                out.push_str(tag);
            }
            (None, None) => {
                out.push(':');
                out.push_str(DEFAULT_TAG);
            }
            (None, Some(_)) => {}
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        }
    }
}

/// The pieces one after the other, allocated once (`format!` grows its string piece by piece).
fn joined(pieces: &[&str]) -> String {
    let mut out = String::with_capacity(pieces.iter().map(|p| p.len()).sum());
    for piece in pieces {
        out.push_str(piece);
    }
    out
}

/// The canonical text of a registry `host[:port]` as written in a reference, or why it is
/// refused. Docker Hub aliases become `docker.io`.
pub fn canonical_registry(written: &str) -> Result<String, ReferenceError> {
    let bad = || ReferenceError::BadRegistry(written.to_string());
    let (host, port) = if let Some(v6) = written.strip_prefix('[') {
        let (addr, rest) = v6.split_once(']').ok_or_else(bad)?;
        let port = match rest {
            "" => None,
            _ => Some(rest.strip_prefix(':').ok_or_else(bad)?),
        };
        (Ok(canonical_ipv6(addr).ok_or_else(bad)?), port)
    } else {
        let (name, port) = match written.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (written, None),
        };
        (canonical_host_name(name).ok_or_else(bad)?, port)
    };
    let port = match port {
        None => None,
        Some(text) => match canonical_port(text) {
            Some(HTTPS_PORT) => None,
            Some(number) => Some(number),
            None => return Err(ReferenceError::BadPort(written.to_string())),
        },
    };
    let with_port = |host: String| match port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    };
    match host {
        Ok(host) if port.is_none() && DOCKER_HUB_ALIASES.contains(&host.as_str()) => {
            Ok(DOCKER_HUB.to_string())
        }
        Ok(host) => Ok(with_port(host)),
        Err(Some(address)) => Err(ReferenceError::NonCanonicalHost {
            written: written.to_string(),
            read: address.to_string(),
            canonical: with_port(address.to_string()),
        }),
        Err(None) => Err(ReferenceError::NumericHost(written.to_string())),
    }
}

/// Registry clients read a port as a number: `05000` is port 5000. Digits only; 1 to 65535.
fn canonical_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = text.trim_start_matches('0');
    if significant.len() > 5 {
        return None;
    }
    significant.parse::<u16>().ok().filter(|port| *port != 0)
}

/// The grammar allows hex digits and colons in brackets; the address is written back in
/// RFC 5952 form, and an IPv4-mapped address (the same socket as its IPv4) as that IPv4.
fn canonical_ipv6(text: &str) -> Option<String> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
        return None;
    }
    let address: Ipv6Addr = text.parse().ok()?;
    Some(match address.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => format!("[{address}]"),
    })
}

/// `None`: not a host name at all. `Some(Ok)`: the canonical host. `Some(Err(read))`: a numeric
/// spelling that is not a canonical dotted quad, with the address glibc's `inet_aton` reads
/// it as, if any. A name whose last label starts with a digit is read by resolvers as an
/// address (no top-level domain starts with a digit), so it must be a dotted quad in canonical
/// form: `127.1`, `2130706433` and `0x7f.1` are 127.0.0.1, and `127.0.0.010` is octal, 127.0.0.8.
fn canonical_host_name(name: &str) -> Option<Result<String, Option<Ipv4Addr>>> {
    let valid = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !valid {
        return None;
    }
    let name = name.to_ascii_lowercase();
    let numeric = name
        .rsplit('.')
        .next()
        .and_then(|last| last.chars().next())
        .is_some_and(|c| c.is_ascii_digit());
    Some(match numeric && !is_dotted_quad(&name) {
        false => Ok(name),
        true => Err(inet_aton(&name)),
    })
}

/// Four decimal octets from 0 to 255 without leading zeros: the only IPv4 spelling accepted.
pub fn is_dotted_quad(text: &str) -> bool {
    let octets: Vec<&str> = text.split('.').collect();
    octets.len() == 4
        && octets.iter().all(|octet| {
            !octet.is_empty()
                && octet.len() <= 3
                && octet.bytes().all(|b| b.is_ascii_digit())
                && !(octet.len() > 1 && octet.starts_with('0'))
                && octet.parse::<u8>().is_ok()
        })
}

/// glibc's `inet_aton`: one to four parts, each decimal, octal (leading `0`) or hex (`0x`); the
/// last part fills the remaining bytes.
fn inet_aton(text: &str) -> Option<Ipv4Addr> {
    let parts: Vec<u32> = text
        .split('.')
        .map(|part| {
            let (digits, radix) = if let Some(hex) = part.strip_prefix("0x") {
                (hex, 16)
            } else if part.len() > 1 && part.starts_with('0') {
                (part.get(1..).unwrap_or_default(), 8)
            } else {
                (part, 10)
            };
            if digits.is_empty() && radix != 16 {
                return None;
            }
            if digits.is_empty() {
                return Some(0);
            }
            u32::from_str_radix(digits, radix).ok()
        })
        .collect::<Option<_>>()?;
    let (last, leading) = parts.split_last()?;
    if leading.len() > 3 || leading.iter().any(|part| *part > 255) {
        return None;
    }
    let last_bits = 32 - 8 * leading.len() as u32;
    if last_bits < 32 && *last >= 1u32 << last_bits {
        return None;
    }
    let value = leading
        .iter()
        .enumerate()
        .fold(*last, |acc, (i, part)| acc | (part << (24 - 8 * i as u32)));
    Some(Ipv4Addr::from(value))
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
