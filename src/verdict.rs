//! Host answers → verdict. A site passes only when every rule that applies to it verified the
//! same well-formed digest, equal to any digest its reference already names; anything else,
//! including a host error, is a failure that rejects the whole object.

use serde_json::Value;

use crate::host::HostApi;
use crate::plan::{Plan, PlannedCheck, SitePlan};
use crate::reference::is_valid_digest;
use crate::workload::{ImageSite, Workload};

/// Longest list of failures spelled out in a rejection; the rest are counted.
pub const MAX_REPORTED_FAILURES: usize = 20;

/// The outcome of one (image, rule) check.
pub type CheckOutcome = Result<String, String>;

/// Ask the host every question of the plan, once each.
pub fn run_checks(plan: &Plan<'_>, api: &HostApi<'_>) -> Vec<CheckOutcome> {
    plan.checks
        .iter()
        .map(|check| run_check(check, api))
        .collect()
}

fn run_check(check: &PlannedCheck<'_>, api: &HostApi<'_>) -> CheckOutcome {
    let requests = check.requests();
    let several = requests.len() > 1;
    let mut verified: Option<String> = None;
    for (i, request) in requests.iter().enumerate() {
        let label = |reason: String| {
            if several {
                format!("certificate #{i}: {reason}")
            } else {
                reason
            }
        };
        let digest = api.verify(request).map_err(label)?;
        if !is_valid_digest(&digest) {
            return Err(label(format!(
                "the host returned a malformed digest {digest:?}"
            )));
        }
        match &verified {
            Some(previous) if *previous != digest => {
                return Err(label(format!(
                    "verified {digest}, but an earlier certificate verified {previous}: the image moved during verification"
                )));
            }
            _ => verified = Some(digest),
        }
    }
    verified.ok_or_else(|| "the rule produced no verification request".to_string())
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Accept with these (JSON pointer, new image) rewrites.
    Mutate(Vec<(String, String)>),
    Reject(String),
}

pub fn decide(
    workload: &Workload,
    plan: &Plan<'_>,
    outcomes: &[CheckOutcome],
    pin_digests: bool,
) -> Verdict {
    let mut failures = Vec::new();
    let mut rewrites = Vec::new();
    for (site, site_plan) in workload.sites.iter().zip(&plan.sites) {
        match judge_site(site, site_plan, plan, outcomes) {
            Err(failure) => failures.push(failure),
            Ok(Some(new_image)) if pin_digests => rewrites.push((site.pointer.clone(), new_image)),
            Ok(_) => {}
        }
    }
    if !failures.is_empty() {
        return Verdict::Reject(rejection_message(&workload.resource, &failures));
    }
    if rewrites.is_empty() {
        Verdict::Accept
    } else {
        Verdict::Mutate(rewrites)
    }
}

/// `Ok(Some(image))` when the site verified and its pinned form differs from what is written.
fn judge_site(
    site: &ImageSite,
    site_plan: &SitePlan,
    plan: &Plan<'_>,
    outcomes: &[CheckOutcome],
) -> Result<Option<String>, String> {
    let (reference, checks) = match site_plan {
        SitePlan::MissingImage => return Err(format!("{}: has no image", site.describe())),
        SitePlan::BadReference(image, error) => {
            return Err(format!(
                "{} image \"{image}\": not a valid image reference: {error}",
                site.describe()
            ));
        }
        SitePlan::Checked { reference, checks } => (reference, checks),
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
            Err(reason) => problems.push(format!(
                "rule #{} ({}) failed: {reason}",
                rule.index,
                rule.check.kind()
            )),
            Ok(digest) => digests.push((digest.clone(), rule.index)),
        }
    }
    let Some((digest, _)) = digests.first().cloned() else {
        return match problems.is_empty() {
            true => Ok(None),
            false => Err(site_failure(site, &reference.written, &problems)),
        };
    };
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
    if !problems.is_empty() {
        return Err(site_failure(site, &reference.written, &problems));
    }
    let pinned = reference.pinned(&digest);
    Ok((pinned != reference.written).then_some(pinned))
}

fn site_failure(site: &ImageSite, image: &str, problems: &[String]) -> String {
    format!(
        "{} image \"{image}\": {}",
        site.describe(),
        problems.join(", ")
    )
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
