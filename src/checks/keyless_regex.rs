//! `keylessRegex`: identities given as regular expressions (Sigstore policy-controller's
//! `subjectRegExp`). A Kubewarden host verifies only exact or prefix identities, so the policy
//! reads the certificates on the image's signatures, keeps the (issuer, subject) pairs the
//! expressions match, and asks the host to verify each candidate as an exact identity.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;

use super::binding::{Binder, Candidate, MAX_CANDIDATES};
use crate::outcome::{CheckFailure, CheckOutcome};
use crate::settings::{IssuerMatch, KeylessIdentity, RegexIdentity, anchored, keyless_request};

fn describe(entry: &RegexIdentity) -> String {
    let issuer = match &entry.issuer {
        IssuerMatch::Exact(issuer) => issuer.clone(),
        IssuerMatch::Pattern(pattern) => format!("/{pattern}/"),
    };
    format!("issuer {issuer} and subject /{}/", entry.subject_pattern)
}

/// One answer per entry: the digest a matching identity verified, or why none did.
pub fn answers(
    entries: &[RegexIdentity],
    image: &str,
    annotations: Option<&BTreeMap<String, String>>,
    binder: &Binder<'_>,
    ask: impl Fn(&SigstoreVerificationInputV2) -> CheckOutcome,
) -> Vec<CheckOutcome> {
    let certificates = binder.signature_certificates(image);
    entries
        .iter()
        .map(|entry| {
            let (_, candidates) = certificates
                .as_ref()
                .map_err(|e| CheckFailure::Signatures(e.clone()))?;
            let mut reasons = Vec::new();
            for (issuer, subject) in matching_identities(entry, candidates)? {
                let identity = KeylessIdentity {
                    issuer,
                    subject: subject.clone(),
                };
                let request = keyless_request(image, &[identity], annotations);
                match ask(&request) {
                    Ok(digest) => return Ok(digest),
                    Err(reason) => reasons.push((subject, reason)),
                }
            }
            Err(CheckFailure::NoIdentityVerified {
                entry: describe(entry),
                reasons,
            })
        })
        .collect()
}

/// The distinct (issuer, subject) pairs on the signatures that `entry` matches, in a stable
/// order; at least one and at most [`MAX_CANDIDATES`].
fn matching_identities(
    entry: &RegexIdentity,
    candidates: &[Candidate],
) -> Result<BTreeSet<(String, String)>, CheckFailure> {
    let expression = |e: regex_lite::Error| CheckFailure::Expression(e.to_string());
    let subject = anchored(&entry.subject_pattern).map_err(expression)?;
    let issuer_pattern = match &entry.issuer {
        IssuerMatch::Pattern(p) => Some(anchored(p).map_err(expression)?),
        IssuerMatch::Exact(_) => None,
    };
    let issuer_matches = |issuer: &str| match (&entry.issuer, &issuer_pattern) {
        (IssuerMatch::Exact(wanted), _) => issuer == wanted,
        (_, Some(pattern)) => pattern.is_match(issuer),
        _ => false,
    };
    // `extend`, not `collect`: no sort instantiation in the module.
    let mut identities: BTreeSet<(String, String)> = BTreeSet::new();
    identities.extend(candidates.iter().filter_map(|c| {
        let issuer = c.identity.issuer.as_deref()?;
        let subject_text = c.identity.subject.as_str();
        (issuer_matches(issuer) && subject.is_match(subject_text))
            .then(|| (issuer.to_string(), subject_text.to_string()))
    }));
    if identities.len() > MAX_CANDIDATES {
        return Err(CheckFailure::TooManyIdentities {
            count: identities.len(),
            entry: describe(entry),
            limit: MAX_CANDIDATES,
        });
    }
    if identities.is_empty() {
        return Err(CheckFailure::NoMatchingIdentity {
            entry: describe(entry),
        });
    }
    Ok(identities)
}
