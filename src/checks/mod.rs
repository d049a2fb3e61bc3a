//! The room that asks the host. Every question of a plan is asked here, once each, and its
//! answer becomes a typed [`CheckOutcome`]; deciding what the outcomes mean is `verdict`'s job.
//! Besides the settings' certificate-chain check, only this room holds a [`HostApi`].

pub mod binding;
pub mod bundle_only;
pub mod keyless_regex;

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;

use crate::host::{Host, HostApi};
use crate::outcome::{CheckFailure, CheckOutcome, Digest, SignerAnswer};
use crate::plan::{Plan, PlannedCheck};
use crate::settings::{Requests, Settings};
use binding::{Binder, image_of};
use bundle_only::BundleOnly;

/// Ask the host every question of the plan, once each. With `settings.bind_keyless`, every
/// keyless identity the host accepts must also be proven to have signed the digest.
pub fn run_checks(plan: &Plan<'_>, host: &dyn Host, settings: &Settings) -> Vec<CheckOutcome> {
    let api = HostApi::new(host);
    let binder = Binder::new(&api, settings.fulcio_chain.as_deref());
    let bundle_only = BundleOnly::new(&api);
    let asker = Asker {
        api: &api,
        binder: &binder,
        bind: settings.bind_keyless,
        bundle_only: &bundle_only,
    };
    plan.checks
        .iter()
        .map(|check| run_check(check, &asker))
        .collect()
}

struct Asker<'a> {
    api: &'a HostApi<'a>,
    /// Reads signature manifests (keylessRegex) and binds identities when binding is on.
    binder: &'a Binder<'a>,
    bind: bool,
    /// Explains a missing `.sig` tag when the image is signed only in cosign v3's format.
    bundle_only: &'a BundleOnly<'a>,
}

impl Asker<'_> {
    /// One signer's answer: the digest it verified, checked for shape and, for keyless
    /// identities, bound to the signature.
    fn ask(&self, request: &SigstoreVerificationInputV2) -> CheckOutcome {
        let digest = self.api.verify(request).map_err(|reason| {
            CheckFailure::Host(self.bundle_only.explain(image_of(request), reason))
        })?;
        let digest = Digest::parse(digest)?;
        if self.bind {
            self.binder
                .bind(request, digest.as_str())
                .map_err(CheckFailure::Signatures)?;
        }
        Ok(digest)
    }
}

/// The digest every answer agrees on, or why they do not.
fn agreed_digest<'a>(digests: impl IntoIterator<Item = (String, &'a Digest)>) -> CheckOutcome {
    let mut agreed: Option<&Digest> = None;
    for (label, digest) in digests {
        match agreed {
            Some(previous) if previous != digest => {
                return Err(CheckFailure::SignersDisagree {
                    label,
                    digest: digest.clone(),
                    previous: previous.clone(),
                });
            }
            _ => agreed = Some(digest),
        }
    }
    agreed.cloned().ok_or(CheckFailure::NoRequest)
}

fn run_check(check: &PlannedCheck<'_>, asker: &Asker<'_>) -> CheckOutcome {
    let rule = check.rule;
    if rule.require_digest && !check.has_digest {
        return Err(CheckFailure::DigestRequired);
    }
    let label = |i: usize| format!("{} #{i}", rule.check.kind().signer_label());
    let answers = match check.requests() {
        // One answer per entry, from the identities found on the signatures.
        Requests::FromSignatures(entries) => keyless_regex::answers(
            entries,
            &check.image,
            rule.annotations.as_ref(),
            asker.binder,
            |request| asker.ask(request),
        ),
        Requests::Fixed(requests) if rule.threshold.is_some() => {
            requests.iter().map(|r| asker.ask(r)).collect()
        }
        // All must pass; a certificates rule asks once per certificate, stopping at a failure.
        Requests::Fixed(requests) => return all_requests(&requests, asker, label),
    };
    combine(answers, rule.threshold, label)
}

/// Every request must verify, asked in order and stopping at the first failure.
fn all_requests(
    requests: &[SigstoreVerificationInputV2],
    asker: &Asker<'_>,
    label: impl Fn(usize) -> String,
) -> CheckOutcome {
    all_of(
        requests.iter().map(|r| asker.ask(r)),
        requests.len() > 1,
        label,
    )
}

/// Every answer must be a digest, the same one; the first failure is the check's, and answers
/// after it are not drawn (so not asked, when the iterator asks the host).
fn all_of(
    answers: impl Iterator<Item = CheckOutcome>,
    several: bool,
    label: impl Fn(usize) -> String,
) -> CheckOutcome {
    let mut digests = Vec::new();
    for (i, answer) in answers.enumerate() {
        match answer {
            Ok(digest) => digests.push((label(i), digest)),
            Err(reason) => return Err(signer_failure(several, label(i), reason)),
        }
    }
    agreed_digest(digests.iter().map(|(l, d)| (l.clone(), d)))
}

/// A signer's failure, named when the rule lists several signers.
fn signer_failure(several: bool, label: String, reason: CheckFailure) -> CheckFailure {
    match several {
        true => CheckFailure::Signer {
            label,
            reason: Box::new(reason),
        },
        false => reason,
    }
}

/// Per-signer answers → the check: at least `threshold` (default: all) verified the same digest.
fn combine(
    answers: Vec<CheckOutcome>,
    threshold: Option<usize>,
    label: impl Fn(usize) -> String,
) -> CheckOutcome {
    let Some(required) = threshold else {
        // All must pass, reported like a key list: the first failure.
        let several = answers.len() > 1;
        return all_of(answers.into_iter(), several, label);
    };
    let verified = || {
        answers
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.as_ref().ok().map(|d| (label(i), d)))
    };
    let count = verified().count();
    if count >= required {
        return agreed_digest(verified());
    }
    Err(CheckFailure::BelowThreshold {
        verified: count,
        required,
        answers: answers
            .into_iter()
            .enumerate()
            .map(|(i, answer)| match answer {
                Ok(_) => SignerAnswer::Verified { label: label(i) },
                Err(reason) => SignerAnswer::Failed {
                    label: label(i),
                    reason: Box::new(reason),
                },
            })
            .collect(),
    })
}
