//! Which host questions a request needs: one check per distinct (image, rule) pair, however
//! many containers share the image, and the host requests each check is made of. Exempt and
//! (optionally) unchanged images are settled here without any question.

use std::collections::HashMap;

use crate::matching::RuleMatcher;
use crate::reference::{ImageReference, ReferenceError};
use crate::settings::{Exemption, RequestContext, Requests, Rule};
use crate::workload::{ImageSite, ImageValue, SiteKey};

/// What the plan knows about one image site before asking the host.
#[derive(Debug)]
pub enum SitePlan {
    /// The site has no image field.
    MissingImage,
    /// The image field holds another JSON type (named).
    ImageNotString(&'static str),
    /// The image text is not a valid reference (why).
    BadReference(String, ReferenceError),
    /// Admitted without verification, with an optional warning (exemption) or silently
    /// (an image an UPDATE did not change, when re-verification is off).
    Skipped {
        /// Why the operator should know, if at all.
        warning: Option<String>,
    },
    /// To verify with the rules that apply.
    Checked {
        /// The parsed image.
        reference: ImageReference,
        /// Indices into `Plan::checks`, in rule order. Empty: no rule applies.
        checks: Vec<usize>,
        /// Notes for the operator that do not change the verdict (an expired exemption).
        warnings: Vec<String>,
    },
}

/// One question for the host: an image against a rule.
#[derive(Debug)]
pub struct PlannedCheck<'s> {
    /// The image exactly as written: the host resolves it the way the kubelet will.
    pub image: String,
    /// Whether the reference names a digest (`requireDigest`).
    pub has_digest: bool,
    /// The rule to verify with.
    pub rule: &'s Rule,
}

/// What a request needs: per site what is known, and the distinct checks to ask.
#[derive(Debug)]
pub struct Plan<'s> {
    /// One plan per site of the workload, in order.
    pub sites: Vec<SitePlan>,
    /// The distinct (image, rule) checks.
    pub checks: Vec<PlannedCheck<'s>>,
}

/// Everything besides the rules that decides what is asked.
pub struct PlanContext<'a> {
    /// The request's namespace; `None` for cluster-scoped objects.
    pub namespace: Option<&'a str>,
    /// Active and expired exemptions.
    pub exemptions: &'a [Exemption],
    /// Seconds since the Unix epoch; `None` when the host has no clock (exemptions then lapse).
    pub now: Option<i64>,
    /// Image strings of `oldObject` by site, when unchanged images need no new verification.
    /// A site is unchanged only when the same list and the same container name held the same
    /// string, and that string names a digest: a tag may name other bytes by now.
    pub unchanged: &'a HashMap<SiteKey, String>,
}

enum Exemptness {
    None,
    Active(String),
    Lapsed(String),
}

fn exemptness(reference: &ImageReference, context: &PlanContext<'_>) -> Exemptness {
    let Some(address) = reference.content_address() else {
        return Exemptness::None;
    };
    let Some(exemption) = context
        .exemptions
        .iter()
        .find(|e| e.content_address == address)
    else {
        return Exemptness::None;
    };
    let image = &reference.written;
    let (index, reason, expires) = (exemption.index, &exemption.reason, &exemption.expires);
    match context.now {
        Some(now) if now < exemption.expires_at => Exemptness::Active(format!(
            "image \"{image}\" is exempt from signature verification until {expires} (exemption #{index}: {reason})"
        )),
        Some(_) => Exemptness::Lapsed(format!(
            "exemption #{index} of image \"{image}\" expired on {expires}: the image is verified as usual"
        )),
        None => Exemptness::Lapsed(format!(
            "exemption #{index} of image \"{image}\" is ignored: the host offers no clock to check its expiry"
        )),
    }
}

/// One image's reference and the rules that apply to it, or why it is no reference.
type Matched<'s> = Result<(ImageReference, Vec<&'s Rule>), ReferenceError>;

/// The plan of one request: each site settled, skipped or checked against the rules that match it.
pub fn plan<'s>(rules: &'s [Rule], sites: &[ImageSite], context: &PlanContext<'_>) -> Plan<'s> {
    let matcher = RuleMatcher::new(rules, context.namespace);
    let mut checks: Vec<PlannedCheck<'s>> = Vec::new();
    let mut known: HashMap<(&str, usize), usize> = HashMap::new();
    let mut site_plans = Vec::with_capacity(sites.len());
    // Sites sharing an image share the parsing and matching work too: each image is parsed
    // and matched once, cached while later sites still name it, and moved out (not cloned)
    // at its last site.
    // With one site its use is the last: no count (nor hashing) needed.
    let mut remaining: HashMap<&str, usize> = HashMap::new();
    if sites.len() > 1 {
        for image in sites.iter().filter_map(|site| site.image.text()) {
            *remaining.entry(image).or_insert(0) += 1;
        }
    }
    let mut matched: HashMap<&str, Matched<'s>> = HashMap::new();
    for site in sites {
        let image = match &site.image {
            ImageValue::Text(image) => image,
            ImageValue::Missing => {
                site_plans.push(SitePlan::MissingImage);
                continue;
            }
            ImageValue::NotString(found) => {
                site_plans.push(SitePlan::ImageNotString(found));
                continue;
            }
        };
        let last_use = remaining.get_mut(image.as_str()).is_none_or(|left| {
            *left = left.saturating_sub(1);
            *left == 0
        });
        let outcome = match (matched.remove(image.as_str()), last_use) {
            (Some(outcome), true) => outcome,
            (Some(outcome), false) => {
                let copy = outcome.clone();
                matched.insert(image, outcome);
                copy
            }
            (None, last) => {
                let outcome = ImageReference::parse(image).map(|r| {
                    let rules = matcher.matching(&r);
                    (r, rules)
                });
                if !last {
                    matched.insert(image, outcome.clone());
                }
                outcome
            }
        };
        let (reference, rules) = match outcome {
            Err(error) => {
                site_plans.push(SitePlan::BadReference(image.clone(), error));
                continue;
            }
            Ok(matched) => matched,
        };
        if reference.digest.is_some() && context.unchanged.get(&site.key()) == Some(image) {
            site_plans.push(SitePlan::Skipped { warning: None });
            continue;
        }
        let mut warnings = Vec::new();
        match exemptness(&reference, context) {
            Exemptness::Active(warning) => {
                site_plans.push(SitePlan::Skipped {
                    warning: Some(warning),
                });
                continue;
            }
            Exemptness::Lapsed(warning) => warnings.push(warning),
            Exemptness::None => {}
        }
        let indices = rules
            .into_iter()
            .map(|rule| {
                *known.entry((image, rule.index)).or_insert_with(|| {
                    checks.push(PlannedCheck {
                        image: image.clone(),
                        has_digest: reference.digest.is_some(),
                        rule,
                    });
                    checks.len() - 1
                })
            })
            .collect();
        site_plans.push(SitePlan::Checked {
            reference,
            checks: indices,
            warnings,
        });
    }
    Plan {
        sites: site_plans,
        checks,
    }
}

impl PlannedCheck<'_> {
    /// The host requests that together make this check (see [`Check::requests`]).
    pub fn requests(&self) -> Requests<'_> {
        self.rule.check.requests(&RequestContext {
            image: &self.image,
            annotations: self.rule.annotations.as_ref(),
            per_signer: self.rule.threshold.is_some(),
        })
    }
}
