//! What the rooms hand each other: `checks` produces a [`CheckOutcome`] per (image, rule),
//! `verdict` turns outcomes into [`Rewrite`]s, `patch` applies them. These types sit below all
//! three and import none of them, so a digest is validated once, where it enters, and every
//! failure keeps its structure until a message is needed.

use std::fmt;

use thiserror::Error;

use crate::reference::is_valid_digest;

/// A manifest digest (`sha256:` + 64 hex digits, or `sha512:` + 128) as the host reported it.
/// Built only by [`Digest::parse`], so holding one means the host's answer was well formed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(String);

impl Digest {
    /// The host's digest text, refused when malformed.
    pub fn parse(text: String) -> Result<Self, CheckFailure> {
        match is_valid_digest(&text) {
            true => Ok(Self(text)),
            false => Err(CheckFailure::MalformedDigest(text)),
        }
    }

    /// The digest as written, `algorithm:hex`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One listed signer's answer within a threshold rule, for the "n of m" message. `label` is
/// how the message names the signer, e.g. `key #1`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignerAnswer {
    /// The signer verified.
    #[error("{label} ok")]
    Verified {
        /// The signer's name in messages.
        label: String,
    },
    /// The signer did not verify.
    #[error("{label}: {reason}")]
    Failed {
        /// The signer's name in messages.
        label: String,
        /// Why.
        reason: Box<CheckFailure>,
    },
}

/// Why one (image, rule) check did not verify. `Display` is the text operators read in a
/// rejection (after `rule #N (kind) failed: `), so each variant keeps its wording exactly.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckFailure {
    /// The rule (or the global setting) requires a digest and the reference has none.
    #[error("the reference names no digest and the rule requires one (requireDigest)")]
    DigestRequired,
    /// The host did not verify: its reason, cleaned, possibly explained (cosign v3 bundles).
    #[error("{0}")]
    Host(String),
    /// The host answered a digest that is not one.
    #[error("the host returned a malformed digest {0:?}")]
    MalformedDigest(String),
    /// A keyless identity the host accepted is not proven to have signed the digest, or the
    /// signatures needed for that proof (or for `keylessRegex`) could not be read.
    #[error("{0}")]
    Signatures(String),
    /// `keylessRegex`: an expression does not compile (settings validation refuses it first).
    #[error("{0}")]
    Expression(String),
    /// `keylessRegex`: more matching identities than the policy examines.
    #[error(
        "the signatures carry {count} distinct identities matching {entry}, more than the {limit} the policy examines"
    )]
    TooManyIdentities {
        /// Distinct matching identities found.
        count: usize,
        /// The entry, described.
        entry: String,
        /// Most identities examined per entry.
        limit: usize,
    },
    /// `keylessRegex`: no certificate on the signatures matches the entry.
    #[error("no signature certificate matches {entry}")]
    NoMatchingIdentity {
        /// The entry, described.
        entry: String,
    },
    /// `keylessRegex`: identities matched, none verified.
    #[error("no identity matching {entry} verified ({})", joined(reasons, "; "))]
    NoIdentityVerified {
        /// The entry, described.
        entry: String,
        /// Each candidate subject with why it did not verify.
        reasons: Vec<(String, CheckFailure)>,
    },
    /// One signer of several failed (a list without threshold stops at the first failure).
    #[error("{label}: {reason}")]
    Signer {
        /// How the message names the signer, e.g. `identity #0`.
        label: String,
        /// Its failure.
        reason: Box<CheckFailure>,
    },
    /// Two signers of one rule verified different digests.
    #[error(
        "{label} verified {digest}, but another signer verified {previous}: the image moved during verification"
    )]
    SignersDisagree {
        /// The later signer.
        label: String,
        /// What it verified.
        digest: Digest,
        /// What an earlier signer verified.
        previous: Digest,
    },
    /// The rule made no request at all (cannot happen with validated settings).
    #[error("the rule produced no verification request")]
    NoRequest,
    /// Fewer signers than the threshold verified.
    #[error(
        "{verified} of {required} required signers verified: {}",
        joined(answers, ", ")
    )]
    BelowThreshold {
        /// How many verified.
        verified: usize,
        /// The rule's threshold.
        required: usize,
        /// Every signer's answer, in list order.
        answers: Vec<SignerAnswer>,
    },
}

/// `(subject, reason)` pairs and signer answers, joined for a message.
fn joined<T: JoinItem>(items: &[T], separator: &str) -> String {
    items
        .iter()
        .map(JoinItem::text)
        .collect::<Vec<_>>()
        .join(separator)
}

trait JoinItem {
    fn text(&self) -> String;
}

impl JoinItem for SignerAnswer {
    fn text(&self) -> String {
        self.to_string()
    }
}

impl JoinItem for (String, CheckFailure) {
    fn text(&self) -> String {
        format!("{}: {}", self.0, self.1)
    }
}

/// The outcome of one (image, rule) check: the verified digest or why not.
pub type CheckOutcome = Result<Digest, CheckFailure>;

/// One image string to replace in the request's object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// JSON pointer of the image string inside the object.
    pub pointer: String,
    /// The pinned image, `name:tag@digest` or `name@digest`.
    pub image: String,
}

/// The admission operation of a request, as the API server names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `CREATE`.
    Create,
    /// `UPDATE`.
    Update,
    /// `DELETE`: nothing to verify.
    Delete,
    /// `CONNECT`: nothing to verify.
    Connect,
    /// Anything else, kept as written (including the empty text of a missing field) for
    /// messages.
    Other(String),
}

impl Operation {
    /// The operation named by the request's `operation` text.
    pub fn from_wire(text: &str) -> Self {
        match text {
            "CREATE" => Operation::Create,
            "UPDATE" => Operation::Update,
            "DELETE" => Operation::Delete,
            "CONNECT" => Operation::Connect,
            other => Operation::Other(other.to_string()),
        }
    }

    /// Whether the request can carry images to verify (not a deletion or a connection).
    pub fn carries_object(&self) -> bool {
        !matches!(self, Operation::Delete | Operation::Connect)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
            Operation::Other(text) => text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_built_only_from_well_formed_text() {
        let hex64 = "a".repeat(64);
        let cases = [
            (format!("sha256:{hex64}"), true),
            (format!("sha512:{}", "0".repeat(128)), true),
            (format!("sha256:{}", "A".repeat(64)), false),
            (format!("sha256:{}", "a".repeat(63)), false),
            (format!("sha512:{hex64}"), false),
            (hex64.clone(), false),
            (String::new(), false),
        ];
        for (text, valid) in cases {
            match Digest::parse(text.clone()) {
                Ok(digest) => {
                    assert!(valid, "{text:?} accepted");
                    assert_eq!(digest.as_str(), text);
                }
                Err(failure) => {
                    assert!(!valid, "{text:?} refused");
                    assert_eq!(
                        failure.to_string(),
                        format!("the host returned a malformed digest {text:?}")
                    );
                }
            }
        }
    }

    #[test]
    fn operations_keep_their_wire_text() {
        for (text, operation, carries_object) in [
            ("CREATE", Operation::Create, true),
            ("UPDATE", Operation::Update, true),
            ("DELETE", Operation::Delete, false),
            ("CONNECT", Operation::Connect, false),
            ("", Operation::Other(String::new()), true),
            ("update", Operation::Other("update".into()), true),
        ] {
            let parsed = Operation::from_wire(text);
            assert_eq!(parsed, operation);
            assert_eq!(parsed.to_string(), text);
            assert_eq!(parsed.carries_object(), carries_object, "{text}");
        }
    }
}
