//! Policy settings: the upstream `verify-image-signatures` format, parsed strictly so that a typo
//! or an ambiguous rule is refused at load time instead of silently verifying less.

mod dates;
mod exemptions;
mod kinds;
mod parse;
mod pem_check;
mod public_good;
mod signers;
mod tree;
mod trust;
mod vocabulary;

use std::collections::BTreeMap;
use std::fmt;

pub use dates::{day_end_unix, rfc3339_from_unix};
pub use kinds::{
    Check, CheckKind, IssuerMatch, KeylessIdentity, KeylessPrefix, RegexIdentity, RequestContext,
    Requests, anchored, keyless_request, normalised_url_prefix,
};
pub use parse::{parse_admitted_settings, parse_settings, parse_settings_tree};
pub use public_good::public_good_fulcio_chain;
pub use tree::{KeyName, Node, Object, read as read_tree, scan_node};
pub use trust::check_certificate_chains;

/// Validated settings: every rule parsed, every default applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Pin each verified tag to its digest (mutation); on by default.
    pub modify_images_with_digest: bool,
    /// `false`: workload controllers are verified but keep their tags; their Pods get pinned.
    pub pin_workloads: bool,
    /// `false`: on UPDATE, images already in `oldObject` are not verified again.
    pub reverify_unchanged_images: bool,
    /// Images admitted without verification until a date.
    pub exemptions: Vec<Exemption>,
    /// Prove each keyless identity signed the image (see `binding`); on by default.
    pub bind_keyless: bool,
    /// Fulcio CA chain for that proof, intermediates first, root last; `None`: the built-in
    /// public-good chain ([`public_good_fulcio_chain`]).
    pub fulcio_chain: Option<Vec<String>>,
    /// The `signatures` rules, in order.
    pub rules: Vec<Rule>,
}

/// One `signatures` rule: which images, where, and which signers.
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
    /// Namespace globs the rule never applies in.
    pub exclude_namespaces: Vec<String>,
    /// Enforce (reject) or warn on failure.
    pub mode: Mode,
    /// A matching reference must name a digest (rule setting or the global one).
    pub require_digest: bool,
    /// How many of the listed signers must verify; `None`: all of them (upstream meaning).
    pub threshold: Option<usize>,
    /// Annotations the signature must carry.
    pub annotations: Option<BTreeMap<String, String>>,
    /// The signers, by kind.
    pub check: Check,
}

/// What a failing rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A failure rejects the object.
    Enforce,
    /// A failure admits the object with a warning and an audit annotation.
    Warn,
}

/// An image admitted without verification until the end of `expires` (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exemption {
    /// Position in `exemptions`.
    pub index: usize,
    /// `registry/repository@digest`, compared with each image's content address.
    pub content_address: String,
    /// The image as written in the settings.
    pub image: String,
    /// Why it is exempt, repeated in every warning.
    pub reason: String,
    /// `YYYY-MM-DD` as written.
    pub expires: String,
    /// First second after the exemption ends.
    pub expires_at: i64,
}

/// Where in the settings a problem is: every message names the rule, its kind and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// The rule's position, when the problem is in a rule.
    pub rule: Option<usize>,
    /// The rule's kind, once known.
    pub kind: Option<CheckKind>,
    /// The field, as a path inside the rule or the settings.
    pub field: Option<String>,
    /// What is wrong.
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
