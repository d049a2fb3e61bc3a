//! The signature kinds, one file each: its settings type, how a rule of it is parsed and checked
//! for distinct signers, and which host requests verify it. This file is the table the rest of
//! the policy derives from: the settings key, how messages name a signer, which kinds are
//! keyless or list signers, and every message that lists kinds. Adding a kind: a file here, a
//! `Check` variant, a `CheckKind` row, and the arms of the dispatches below.

mod certificates;
mod github_actions;
mod keyless;
mod keyless_prefix;
mod keyless_regex;
mod pub_keys;

use std::collections::BTreeMap;
use std::fmt;

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;

use super::SettingsError;
use super::parse::RuleFields;
use super::signers::{DerOf, Refusal};

pub use keyless::{KeylessIdentity, keyless_request};
pub use keyless_prefix::{KeylessPrefix, normalised_url_prefix};
pub use keyless_regex::{IssuerMatch, RegexIdentity, anchored};

/// A rule's signers, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `pubKeys`: PEM public keys.
    PubKeys(Vec<String>),
    /// `keyless`: exact (issuer, subject) identities.
    Keyless(Vec<KeylessIdentity>),
    /// `keylessPrefix`: an issuer and a URL prefix of the subject.
    KeylessPrefix(Vec<KeylessPrefix>),
    /// `keylessRegex`: regular expressions over the identities found on the signatures.
    KeylessRegex(Vec<RegexIdentity>),
    /// `githubActions`: a workflow of a GitHub owner (and repository).
    GithubActions {
        /// GitHub user or organisation.
        owner: String,
        /// Repository of `owner`; `None`: any.
        repo: Option<String>,
    },
    /// `certificates`: PEM certificates, optionally with their chain.
    Certificates {
        /// The signers' certificates.
        certificates: Vec<String>,
        /// Intermediates and root the certificates must chain to.
        chain: Option<Vec<String>>,
        /// Whether a Rekor bundle must accompany the signature.
        require_rekor_bundle: bool,
    },
}

/// The settings key that selects each kind of check; also how messages name the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// `pubKeys`.
    PubKeys,
    /// `keyless`.
    Keyless,
    /// `keylessPrefix`.
    KeylessPrefix,
    /// `keylessRegex`.
    KeylessRegex,
    /// `githubActions`.
    GithubActions,
    /// `certificates`.
    Certificates,
}

/// One row of the kind table.
struct KindRow {
    key: &'static str,
    /// How a message names one listed signer.
    signer_label: &'static str,
    /// The identity comes from a Fulcio certificate.
    keyless: bool,
    /// Several signers can be listed, so `threshold` can ask for fewer than all.
    signer_list: bool,
}

impl CheckKind {
    /// Every kind, in the order messages list them.
    pub const ALL: [CheckKind; 6] = [
        CheckKind::PubKeys,
        CheckKind::Keyless,
        CheckKind::KeylessPrefix,
        CheckKind::KeylessRegex,
        CheckKind::GithubActions,
        CheckKind::Certificates,
    ];

    fn row(self) -> KindRow {
        let row = |key, signer_label, keyless, signer_list| KindRow {
            key,
            signer_label,
            keyless,
            signer_list,
        };
        match self {
            CheckKind::PubKeys => row("pubKeys", "key", false, true),
            CheckKind::Keyless => row("keyless", "identity", true, true),
            CheckKind::KeylessPrefix => row("keylessPrefix", "prefix", true, true),
            CheckKind::KeylessRegex => row("keylessRegex", "identity", true, true),
            CheckKind::GithubActions => row("githubActions", "workflow", true, false),
            CheckKind::Certificates => row("certificates", "certificate", false, true),
        }
    }

    /// The settings key of the kind.
    pub fn key(self) -> &'static str {
        self.row().key
    }

    /// Kinds whose identity comes from a Fulcio certificate.
    pub fn is_keyless(self) -> bool {
        self.row().keyless
    }

    /// Kinds listing several signers, where `threshold` can ask for fewer than all of them.
    pub fn has_signer_list(self) -> bool {
        self.row().signer_list
    }

    /// How a message names one listed signer of this kind.
    pub fn signer_label(self) -> &'static str {
        self.row().signer_label
    }

    /// The keys of the kinds `which` selects, as a message lists them: `a, b, c` or, with a
    /// `conjunction`, `a, b and c`.
    pub fn listing(which: fn(CheckKind) -> bool, conjunction: Option<&str>) -> String {
        let keys: Vec<&str> = Self::ALL
            .into_iter()
            .filter(|kind| which(*kind))
            .map(CheckKind::key)
            .collect();
        match (conjunction, keys.split_last()) {
            (Some(word), Some((last, rest))) if !rest.is_empty() => {
                format!("{} {word} {last}", rest.join(", "))
            }
            _ => keys.join(", "),
        }
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The host requests a check is made of, or where they come from.
#[derive(Debug)]
pub enum Requests<'c> {
    /// Known from the settings alone.
    Fixed(Vec<SigstoreVerificationInputV2>),
    /// `keylessRegex`: one exact-identity request per identity found on the image's signatures
    /// that an entry matches; only the host can say which (see `checks::keyless_regex`).
    FromSignatures(&'c [RegexIdentity]),
}

/// What every request of a rule shares.
pub struct RequestContext<'a> {
    /// The image exactly as written.
    pub image: &'a str,
    /// The signer annotations the signature must carry.
    pub annotations: Option<&'a BTreeMap<String, String>>,
    /// One request per listed signer (a threshold counts them) instead of one for the list.
    pub per_signer: bool,
}

impl RequestContext<'_> {
    /// `make` applied to the whole list, or to each signer when they are counted.
    fn per_group<T>(
        &self,
        signers: &[T],
        make: impl Fn(&str, &[T], Option<&BTreeMap<String, String>>) -> SigstoreVerificationInputV2,
    ) -> Vec<SigstoreVerificationInputV2> {
        let make = |group: &[T]| make(self.image, group, self.annotations);
        match self.per_signer {
            true => signers.chunks(1).map(make).collect(),
            false => vec![make(signers)],
        }
    }
}

impl Check {
    /// The kind of this check.
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

    /// The check of a rule of `kind`, parsed from its fields.
    pub(super) fn parse(kind: CheckKind, fields: &RuleFields<'_>) -> Result<Self, SettingsError> {
        Ok(match kind {
            CheckKind::PubKeys => Check::PubKeys(pub_keys::parse(fields)?),
            CheckKind::Keyless => Check::Keyless(keyless::parse(fields)?),
            CheckKind::KeylessPrefix => Check::KeylessPrefix(keyless_prefix::parse(fields)?),
            CheckKind::KeylessRegex => Check::KeylessRegex(keyless_regex::parse(fields)?),
            CheckKind::GithubActions => github_actions::parse(fields)?,
            CheckKind::Certificates => certificates::parse(fields)?,
        })
    }

    /// `Err` with the field and reason when the rule's signers are not distinct (see
    /// `signers`).
    pub(super) fn check_distinct(
        &self,
        threshold: Option<usize>,
        der_of: DerOf<'_>,
    ) -> Result<(), Refusal> {
        let counts_several = threshold.is_some_and(|n| n >= 2);
        match self {
            Check::PubKeys(keys) => pub_keys::check_distinct(keys, der_of),
            Check::Keyless(identities) => keyless::check_distinct(identities),
            Check::KeylessPrefix(prefixes) => {
                keyless_prefix::check_distinct(prefixes, counts_several)
            }
            Check::KeylessRegex(entries) => keyless_regex::check_distinct(entries, counts_several),
            Check::GithubActions { .. } => Ok(()),
            Check::Certificates { certificates, .. } => {
                certificates::check_distinct(certificates, der_of)
            }
        }
    }

    /// The host requests that together make this check. Without a threshold every request must
    /// succeed (the upstream meaning of a list: all of them), and a key or identity list is one
    /// request. With a threshold each listed signer is its own request, so that they can be
    /// counted.
    pub fn requests<'c>(&'c self, context: &RequestContext<'_>) -> Requests<'c> {
        Requests::Fixed(match self {
            Check::PubKeys(keys) => context.per_group(keys, pub_keys::request),
            Check::Keyless(identities) => context.per_group(identities, keyless_request),
            Check::KeylessPrefix(prefixes) => context.per_group(prefixes, keyless_prefix::request),
            Check::KeylessRegex(entries) => return Requests::FromSignatures(entries),
            Check::GithubActions { owner, repo } => {
                vec![github_actions::request(owner, repo.as_deref(), context)]
            }
            // One request per certificate, whatever the threshold.
            Check::Certificates {
                certificates,
                chain,
                require_rekor_bundle,
            } => certificates
                .iter()
                .map(|c| certificates::request(c, chain.as_deref(), *require_rekor_bundle, context))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which kinds, the conjunction, the listing expected.
    type Case = (fn(CheckKind) -> bool, Option<&'static str>, &'static str);

    #[test]
    fn messages_list_kinds_from_the_table() {
        let cases: [Case; 4] = [
            (
                |_| true,
                None,
                "pubKeys, keyless, keylessPrefix, keylessRegex, githubActions, certificates",
            ),
            (
                CheckKind::has_signer_list,
                Some("and"),
                "pubKeys, keyless, keylessPrefix, keylessRegex and certificates",
            ),
            (
                |k| k == CheckKind::GithubActions,
                Some("and"),
                "githubActions",
            ),
            (|_| false, Some("and"), ""),
        ];
        for (which, conjunction, expected) in cases {
            assert_eq!(CheckKind::listing(which, conjunction), expected);
        }
    }

    #[test]
    fn every_kind_has_its_own_key_and_a_label() {
        for kind in CheckKind::ALL {
            assert_eq!(
                CheckKind::ALL
                    .iter()
                    .filter(|k| k.key() == kind.key())
                    .count(),
                1,
                "{kind}"
            );
            assert!(!kind.signer_label().is_empty(), "{kind}");
        }
    }
}
