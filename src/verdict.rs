//! Host answers → verdict. A site passes only when every enforcing rule that applies to it
//! verified the same well-formed digest, equal to any digest its reference already names;
//! anything else, including a host error, is a failure that rejects the whole object. Failures
//! of `warn` rules admit the object with a warning instead.

use serde_json::Value;

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;

use crate::binding::Binder;
use crate::escape::{plain, quoted};
use crate::host::HostApi;
use crate::keyless_regex;
use crate::plan::{Plan, PlannedCheck, SitePlan};
use crate::reference::is_valid_digest;
use crate::settings::Check;
use crate::settings::Mode;
use crate::workload::{ImageSite, Workload};

/// Longest list of failures spelled out in a rejection; the rest are counted.
pub const MAX_REPORTED_FAILURES: usize = 20;

/// The outcome of one (image, rule) check: the verified digest or why not.
pub type CheckOutcome = Result<String, String>;

/// Ask the host every question of the plan, once each. With a `binder`, every keyless
/// identity the host accepts must also be proven to have signed the digest.
pub fn run_checks(
    plan: &Plan<'_>,
    api: &HostApi<'_>,
    binder: &Binder<'_>,
    bind: bool,
) -> Vec<CheckOutcome> {
    let asker = Asker { api, binder, bind };
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
}

impl Asker<'_> {
    /// One signer's answer: the digest it verified, checked for shape and, for keyless
    /// identities, bound to the signature.
    fn ask(&self, request: &SigstoreVerificationInputV2) -> CheckOutcome {
        let digest = self.api.verify(request)?;
        if !is_valid_digest(&digest) {
            return Err(format!("the host returned a malformed digest {digest:?}"));
        }
        if self.bind {
            self.binder.bind(request, &digest)?;
        }
        Ok(digest)
    }
}

/// The digest every answer agrees on, or why they do not.
fn agreed_digest<'a>(digests: impl IntoIterator<Item = (String, &'a str)>) -> CheckOutcome {
    let mut agreed: Option<String> = None;
    for (label, digest) in digests {
        match &agreed {
            Some(previous) if previous != digest => {
                return Err(format!(
                    "{label} verified {digest}, but another signer verified {previous}: the image moved during verification"
                ));
            }
            _ => agreed = Some(digest.to_string()),
        }
    }
    agreed.ok_or_else(|| "the rule produced no verification request".to_string())
}

fn run_check(check: &PlannedCheck<'_>, asker: &Asker<'_>) -> CheckOutcome {
    let rule = check.rule;
    if rule.require_digest && !check.has_digest {
        return Err(
            "the reference names no digest and the rule requires one (requireDigest)".into(),
        );
    }
    let label = |i: usize| format!("{} #{i}", rule.check.kind().signer_label());
    if let Check::KeylessRegex(entries) = &rule.check {
        let answers = keyless_regex::answers(
            entries,
            &check.image,
            rule.annotations.as_ref(),
            asker.binder,
            |request| asker.ask(request),
        );
        return combine(answers, rule.threshold, label);
    }
    let requests = check.requests();
    if rule.threshold.is_some() {
        let answers = requests.iter().map(|r| asker.ask(r)).collect();
        return combine(answers, rule.threshold, label);
    }
    // All must pass; a certificates rule asks once per certificate, stopping at a failure.
    let several = requests.len() > 1;
    let mut digests = Vec::with_capacity(requests.len());
    for (i, request) in requests.iter().enumerate() {
        let digest = asker.ask(request).map_err(|reason| match several {
            true => format!("{}: {reason}", label(i)),
            false => reason,
        })?;
        digests.push((label(i), digest));
    }
    agreed_digest(digests.iter().map(|(l, d)| (l.clone(), d.as_str())))
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
        if let Some((i, Err(reason))) = answers.iter().enumerate().find(|(_, a)| a.is_err()) {
            return Err(match several {
                true => format!("{}: {reason}", label(i)),
                false => reason.clone(),
            });
        }
        return agreed_digest(
            answers
                .iter()
                .enumerate()
                .filter_map(|(i, a)| a.as_ref().ok().map(|d| (label(i), d.as_str()))),
        );
    };
    let verified: Vec<(String, &str)> = answers
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.as_ref().ok().map(|d| (label(i), d.as_str())))
        .collect();
    if verified.len() >= required {
        return agreed_digest(verified);
    }
    let details: Vec<String> = answers
        .iter()
        .enumerate()
        .map(|(i, answer)| match answer {
            Ok(_) => format!("{} ok", label(i)),
            Err(reason) => format!("{}: {reason}", label(i)),
        })
        .collect();
    Err(format!(
        "{} of {required} required signers verified: {}",
        verified.len(),
        details.join(", ")
    ))
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Accept with these (JSON pointer, new image) rewrites.
    Mutate(Vec<(String, String)>),
    Reject(String),
}

/// The verdict plus what the operator should hear even when the object is admitted.
#[derive(Debug, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub warnings: Vec<String>,
}

/// What judging one site found.
#[derive(Default)]
struct SiteJudgement {
    /// Enforced failures: the object is rejected.
    failure: Option<String>,
    warnings: Vec<String>,
    /// Failures of `warn` rules; whether they admit is known only once every site is judged.
    warn_failures: Vec<String>,
    /// The pinned image, when it differs from what is written.
    rewrite: Option<String>,
}

pub fn decide(
    workload: &Workload,
    plan: &Plan<'_>,
    outcomes: &[CheckOutcome],
    pin_digests: bool,
) -> Decision {
    let mut failures = Vec::new();
    let mut rewrites = Vec::new();
    let mut warnings = Vec::new();
    let mut warn_failures = Vec::new();
    for (site, site_plan) in workload.sites.iter().zip(&plan.sites) {
        let judgement = judge_site(site, site_plan, plan, outcomes);
        failures.extend(judgement.failure);
        warnings.extend(judgement.warnings);
        warn_failures.extend(judgement.warn_failures);
        // Only where the API server lets this request change the image: elsewhere the
        // verified image stays as written (a patch there would be refused).
        if let (Some(image), true, true) = (judgement.rewrite, pin_digests, site.mutable) {
            rewrites.push((site.pointer.clone(), image));
        }
    }
    // A rejected object is not admitted, whatever a warn rule would have let through.
    let outcome = match failures.is_empty() {
        true => "warn mode: admitted",
        false => "warn mode: not enforced; the object is rejected for other failures",
    };
    warnings.extend(
        warn_failures
            .into_iter()
            .map(|w| format!("{w} ({outcome})")),
    );
    let verdict = if !failures.is_empty() {
        Verdict::Reject(rejection_message(&workload.resource, &failures))
    } else if rewrites.is_empty() {
        Verdict::Accept
    } else {
        Verdict::Mutate(rewrites)
    };
    Decision { verdict, warnings }
}

fn judge_site(
    site: &ImageSite,
    site_plan: &SitePlan,
    plan: &Plan<'_>,
    outcomes: &[CheckOutcome],
) -> SiteJudgement {
    let fail = |message: String| SiteJudgement {
        failure: Some(message),
        ..SiteJudgement::default()
    };
    let (reference, checks, notes) = match site_plan {
        SitePlan::MissingImage => return fail(format!("{}: has no image", site.describe())),
        SitePlan::ImageNotString(found) => {
            return fail(format!(
                "{}: image is not a string (got {found})",
                site.describe()
            ));
        }
        SitePlan::BadReference(image, error) => {
            return fail(format!(
                "{} image {}: not a valid image reference: {}",
                site.describe(),
                quoted(image),
                plain(&error.to_string())
            ));
        }
        SitePlan::Skipped { warning } => {
            return SiteJudgement {
                warnings: warning.iter().cloned().collect(),
                ..SiteJudgement::default()
            };
        }
        SitePlan::Checked {
            reference,
            checks,
            warnings,
        } => (reference, checks, warnings),
    };
    let mut judgement = SiteJudgement {
        warnings: notes.clone(),
        ..SiteJudgement::default()
    };
    let mut problems = Vec::new();
    let mut digests: Vec<(String, usize)> = Vec::new();
    for &index in checks {
        let (Some(check), Some(outcome)) = (plan.checks.get(index), outcomes.get(index)) else {
            problems.push("internal error: a planned check has no outcome".to_string());
            continue;
        };
        let rule = check.rule;
        match outcome {
            Err(reason) => {
                let problem = format!(
                    "rule #{} ({}) failed: {}",
                    rule.index,
                    rule.check.kind(),
                    plain(reason)
                );
                match rule.mode {
                    Mode::Enforce => problems.push(problem),
                    Mode::Warn => judgement.warn_failures.push(format!(
                        "{} image {}: {problem}",
                        site.describe(),
                        quoted(&reference.written)
                    )),
                }
            }
            Ok(digest) => digests.push((digest.clone(), rule.index)),
        }
    }
    if let Some((digest, _)) = digests.first().cloned() {
        if digests.iter().any(|(d, _)| *d != digest) {
            let listed: Vec<String> = digests
                .iter()
                .map(|(d, rule)| format!("{d} by rule #{rule}"))
                .collect();
            problems.push(format!(
                "rules verified different digests ({}): the image moved during verification",
                listed.join(", ")
            ));
        }
        if reference
            .digest
            .as_ref()
            .is_some_and(|written| *written != digest)
        {
            problems.push(format!(
                "the signatures verified {digest}, not the digest the reference names"
            ));
        }
        let pinned = reference.pinned(&digest);
        judgement.rewrite = (pinned != reference.written).then_some(pinned);
    }
    if !problems.is_empty() {
        judgement.failure = Some(format!(
            "{} image {}: {}",
            site.describe(),
            quoted(&reference.written),
            problems.join(", ")
        ));
        judgement.rewrite = None;
    }
    judgement
}

fn rejection_message(resource: &str, failures: &[String]) -> String {
    let shown: Vec<&str> = failures
        .iter()
        .take(MAX_REPORTED_FAILURES)
        .map(String::as_str)
        .collect();
    let mut message = format!("{resource} is not accepted: {}", shown.join("; "));
    let omitted = failures.len().saturating_sub(MAX_REPORTED_FAILURES);
    if omitted > 0 {
        message.push_str(&format!("; and {omitted} more failures omitted"));
    }
    message
}

/// The request's own object with only the image strings replaced: no typed round trip, so
/// fields unknown to any Kubernetes library survive untouched.
pub fn mutated_object(object: &Value, rewrites: &[(String, String)]) -> Result<Value, String> {
    let mut mutated = object.clone();
    for (pointer, image) in rewrites {
        let slot = mutated
            .pointer_mut(pointer)
            .ok_or_else(|| format!("internal error: {pointer} vanished from the object"))?;
        *slot = Value::String(image.clone());
    }
    Ok(mutated)
}
