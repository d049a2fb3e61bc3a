//! Policy settings: the upstream `verify-image-signatures` format, parsed strictly so that a typo
//! or an ambiguous rule is refused at load time instead of silently verifying less.

mod dates;
mod exemptions;
mod parse;
mod pem_check;
mod public_good;
mod signers;
mod trust;
mod vocabulary;

use std::collections::BTreeMap;
use std::fmt;

pub use dates::{day_end_unix, rfc3339_from_unix};
pub use parse::{parse_admitted_settings, parse_settings};
pub use public_good::public_good_fulcio_chain;
pub use signers::normalised_url_prefix;
pub use trust::check_certificate_chains;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub modify_images_with_digest: bool,
    /// `false`: workload controllers are verified but keep their tags; their Pods get pinned.
    pub pin_workloads: bool,
    /// `false`: on UPDATE, images already in `oldObject` are not verified again.
    pub reverify_unchanged_images: bool,
    pub exemptions: Vec<Exemption>,
    /// Prove each keyless identity signed the image (see `binding`); on by default.
    pub bind_keyless: bool,
    /// Fulcio CA chain for that proof, intermediates first, root last; `None`: the built-in
    /// public-good chain ([`public_good_fulcio_chain`]).
    pub fulcio_chain: Option<Vec<String>>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Position in `signatures`, used in every message about this rule.
    pub index: usize,
    /// Globs the rule applies to (`image` and `images` together).
    pub images: Vec<String>,
    /// Globs the rule never applies to, even when `images` match.
    pub skip_images: Vec<String>,
    /// Namespace globs the rule is limited to; `None`: every namespace and cluster scope.
    pub namespaces: Option<Vec<String>>,
    pub exclude_namespaces: Vec<String>,
    pub mode: Mode,
    /// A matching reference must name a digest (rule setting or the global one).
    pub require_digest: bool,
    /// How many of the listed signers must verify; `None`: all of them (upstream meaning).
    pub threshold: Option<usize>,
    pub annotations: Option<BTreeMap<String, String>>,
    pub check: Check,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    /// A failure admits the object with a warning and an audit annotation.
    Warn,
}

/// An image admitted without verification until the end of `expires` (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exemption {
    pub index: usize,
    /// `registry/repository@digest`, compared with each image's content address.
    pub content_address: String,
    pub image: String,
    pub reason: String,
    /// `YYYY-MM-DD` as written.
    pub expires: String,
    /// First second after the exemption ends.
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeylessIdentity {
    pub issuer: String,
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeylessPrefix {
    pub issuer: String,
    pub url_prefix: String,
}

/// A `keylessRegex` entry: expressions are anchored (whole-string) and compiled at validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexIdentity {
    pub issuer: IssuerMatch,
    pub subject_pattern: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerMatch {
    Exact(String),
    Pattern(String),
}

/// `pattern` as a whole-string regular expression.
pub fn anchored(pattern: &str) -> Result<regex_lite::Regex, regex_lite::Error> {
    regex_lite::Regex::new(&format!("^(?:{pattern})$"))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    PubKeys(Vec<String>),
    Keyless(Vec<KeylessIdentity>),
    KeylessPrefix(Vec<KeylessPrefix>),
    KeylessRegex(Vec<RegexIdentity>),
    GithubActions {
        owner: String,
        repo: Option<String>,
    },
    Certificates {
        certificates: Vec<String>,
        chain: Option<Vec<String>>,
        require_rekor_bundle: bool,
    },
}

/// The settings key that selects each kind of check; also how messages name the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    PubKeys,
    Keyless,
    KeylessPrefix,
    KeylessRegex,
    GithubActions,
    Certificates,
}

impl CheckKind {
    /// Kinds whose identity comes from a Fulcio certificate.
    pub fn is_keyless(self) -> bool {
        matches!(
            self,
            CheckKind::Keyless
                | CheckKind::KeylessPrefix
                | CheckKind::KeylessRegex
                | CheckKind::GithubActions
        )
    }

    /// Kinds listing several signers, where `threshold` can ask for fewer than all of them.
    pub fn has_signer_list(self) -> bool {
        !matches!(self, CheckKind::GithubActions)
    }

    /// How a message names one listed signer of this kind.
    pub fn signer_label(self) -> &'static str {
        match self {
            CheckKind::PubKeys => "key",
            CheckKind::Keyless => "identity",
            CheckKind::KeylessPrefix => "prefix",
            CheckKind::KeylessRegex => "identity",
            CheckKind::GithubActions => "workflow",
            CheckKind::Certificates => "certificate",
        }
    }

    pub const ALL: [CheckKind; 6] = [
        CheckKind::PubKeys,
        CheckKind::Keyless,
        CheckKind::KeylessPrefix,
        CheckKind::KeylessRegex,
        CheckKind::GithubActions,
        CheckKind::Certificates,
    ];

    pub fn key(self) -> &'static str {
        match self {
            CheckKind::PubKeys => "pubKeys",
            CheckKind::Keyless => "keyless",
            CheckKind::KeylessPrefix => "keylessPrefix",
            CheckKind::KeylessRegex => "keylessRegex",
            CheckKind::GithubActions => "githubActions",
            CheckKind::Certificates => "certificates",
        }
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl Check {
    /// How many signers the rule lists.
    pub fn signer_count(&self) -> usize {
        match self {
            Check::PubKeys(keys) => keys.len(),
            Check::Keyless(identities) => identities.len(),
            Check::KeylessPrefix(prefixes) => prefixes.len(),
            Check::KeylessRegex(identities) => identities.len(),
            Check::GithubActions { .. } => 1,
            Check::Certificates { certificates, .. } => certificates.len(),
        }
    }

    pub fn kind(&self) -> CheckKind {
        match self {
            Check::PubKeys(_) => CheckKind::PubKeys,
            Check::Keyless(_) => CheckKind::Keyless,
            Check::KeylessPrefix(_) => CheckKind::KeylessPrefix,
            Check::KeylessRegex(_) => CheckKind::KeylessRegex,
            Check::GithubActions { .. } => CheckKind::GithubActions,
            Check::Certificates { .. } => CheckKind::Certificates,
        }
    }
}

/// Where in the settings a problem is: every message names the rule, its kind and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub rule: Option<usize>,
    pub kind: Option<CheckKind>,
    pub field: Option<String>,
    pub problem: String,
}

impl SettingsError {
    fn top(field: &str, problem: impl Into<String>) -> Self {
        Self {
            rule: None,
            kind: None,
            field: Some(field.to_string()),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(rule) = self.rule {
            write!(f, "rule #{rule}")?;
            if let Some(kind) = self.kind {
                write!(f, " ({kind})")?;
            }
            if self.field.is_some() {
                f.write_str(", ")?;
            } else {
                f.write_str(": ")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, "field \"{field}\": ")?;
        }
        f.write_str(&self.problem)
    }
}

impl std::error::Error for SettingsError {}
