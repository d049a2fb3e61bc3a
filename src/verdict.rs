//! Check outcomes → verdict, without asking anything: the room between `checks` (which asks the
//! host) and `patch` (which edits the object). A site passes only when every enforcing rule that applies to it
//! verified the same well-formed digest, equal to any digest its reference already names;
//! anything else, including a host error, is a failure that rejects the whole object. Failures
//! of `warn` rules admit the object with a warning instead.

use crate::escape::{plain, quoted};
use crate::outcome::{CheckFailure, CheckOutcome, Digest, Rewrite};
use crate::plan::{Plan, SitePlan};
use crate::reference::ImageReference;
use crate::settings::{Mode, Rule};
use crate::workload::{ImageSite, Workload};

/// Longest list of failures spelled out in a rejection; the rest are counted.
pub const MAX_REPORTED_FAILURES: usize = 20;

/// What the policy answers about the whole object.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Admit unchanged.
    Accept,
    /// Accept with these image rewrites.
    Mutate(Vec<Rewrite>),
    /// Refuse, with the message for the operator.
    Reject(String),
}

/// The verdict plus what the operator should hear even when the object is admitted.
#[derive(Debug, PartialEq, Eq)]
pub struct Decision {
    /// Accept, mutate or reject.
    pub verdict: Verdict,
    /// Warnings and failures of `warn` rules, admitted or not.
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

/// Outcomes of the plan's checks → the verdict on the object and its warnings.
pub fn decide(
    workload: &Workload<'_>,
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
            rewrites.push(Rewrite {
                pointer: site.pointer.clone(),
                image,
            });
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
    let (reference, checks, notes) = match site_plan {
        SitePlan::Checked {
            reference,
            checks,
            warnings,
        } => (reference, checks, warnings),
        SitePlan::Skipped { warning } => {
            return SiteJudgement {
                warnings: warning.iter().cloned().collect(),
                ..SiteJudgement::default()
            };
        }
        unreadable => {
            return SiteJudgement {
                failure: unreadable_image(site, unreadable),
                ..SiteJudgement::default()
            };
        }
    };
    let mut judgement = SiteJudgement {
        warnings: notes.clone(),
        ..SiteJudgement::default()
    };
    let mut problems = Vec::new();
    let mut digests: Vec<(&Digest, usize)> = Vec::new();
    for &index in checks {
        let (Some(check), Some(outcome)) = (plan.checks.get(index), outcomes.get(index)) else {
            problems.push("internal error: a planned check has no outcome".to_string());
            continue;
        };
        let rule = check.rule;
        match (outcome, rule.mode) {
            (Ok(digest), _) => digests.push((digest, rule.index)),
            (Err(reason), Mode::Enforce) => problems.push(rule_failure(rule, reason)),
            (Err(reason), Mode::Warn) => judgement.warn_failures.push(format!(
                "{} image {}: {}",
                site.describe(),
                quoted(&reference.written),
                rule_failure(rule, reason)
            )),
        }
    }
    if let Some(&(digest, _)) = digests.first() {
        problems.extend(digest_problems(reference, digest, &digests));
        let pinned = reference.pinned(digest.as_str());
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

/// Why a site whose image cannot be read as a reference is refused; `None` for a site the plan
/// skipped or checked.
fn unreadable_image(site: &ImageSite, site_plan: &SitePlan) -> Option<String> {
    match site_plan {
        SitePlan::MissingImage => Some(format!("{}: has no image", site.describe())),
        SitePlan::ImageNotString(found) => Some(format!(
            "{}: image is not a string (got {found})",
            site.describe()
        )),
        SitePlan::BadReference(image, error) => Some(format!(
            "{} image {}: not a valid image reference: {}",
            site.describe(),
            quoted(image),
            plain(&error.to_string())
        )),
        SitePlan::Skipped { .. } | SitePlan::Checked { .. } => None,
    }
}

/// One rule's failure on a site, as the rejection or warning names it.
fn rule_failure(rule: &Rule, reason: &CheckFailure) -> String {
    format!(
        "rule #{} ({}) failed: {}",
        rule.index,
        rule.check.kind(),
        plain(&reason.to_string())
    )
}

/// What is wrong with the digests a site's rules verified (`(digest, rule index)`, the first
/// being `first`): they must agree, and equal the digest the reference names, if any.
fn digest_problems(
    reference: &ImageReference,
    first: &Digest,
    digests: &[(&Digest, usize)],
) -> Vec<String> {
    let mut problems = Vec::new();
    if digests.iter().any(|(d, _)| *d != first) {
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
        .is_some_and(|written| written != first.as_str())
    {
        problems.push(format!(
            "the signatures verified {first}, not the digest the reference names"
        ));
    }
    problems
}

fn rejection_message(resource: &impl std::fmt::Display, failures: &[String]) -> String {
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
