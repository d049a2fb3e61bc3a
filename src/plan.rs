//! Which host questions a request needs: one check per distinct (image, rule) pair, however
//! many containers share the image, and the host requests each check is made of. Exempt and
//! (optionally) unchanged images are settled here without any question.

use std::collections::HashMap;

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;
use kubewarden_policy_sdk::host_capabilities::verification::{KeylessInfo, KeylessPrefixInfo};

use crate::matching::RuleMatcher;
use crate::reference::{ImageReference, ReferenceError};
use crate::settings::{Check, Exemption, Rule};
use crate::workload::{ImageSite, ImageValue, SiteKey};

/// What the plan knows about one image site before asking the host.
#[derive(Debug)]
pub enum SitePlan {
    MissingImage,
    /// The image field holds another JSON type (named).
    ImageNotString(&'static str),
    BadReference(String, ReferenceError),
    /// Admitted without verification, with an optional warning (exemption) or silently
    /// (an image an UPDATE did not change, when re-verification is off).
    Skipped {
        warning: Option<String>,
    },
    Checked {
        reference: ImageReference,
        /// Indices into `Plan::checks`, in rule order. Empty: no rule applies.
        checks: Vec<usize>,
        /// Notes for the operator that do not change the verdict (an expired exemption).
        warnings: Vec<String>,
    },
}

#[derive(Debug)]
pub struct PlannedCheck<'s> {
    /// The image exactly as written: the host resolves it the way the kubelet will.
    pub image: String,
    pub has_digest: bool,
    pub rule: &'s Rule,
}

#[derive(Debug)]
pub struct Plan<'s> {
    pub sites: Vec<SitePlan>,
    pub checks: Vec<PlannedCheck<'s>>,
}

/// Everything besides the rules that decides what is asked.
pub struct PlanContext<'a> {
    pub namespace: Option<&'a str>,
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

pub fn plan<'s>(rules: &'s [Rule], sites: &[ImageSite], context: &PlanContext<'_>) -> Plan<'s> {
    let matcher = RuleMatcher::new(rules, context.namespace);
    let mut checks: Vec<PlannedCheck<'s>> = Vec::new();
    let mut known: HashMap<(&str, usize), usize> = HashMap::new();
    let mut site_plans = Vec::with_capacity(sites.len());
    // Sites sharing an image share the parsing and matching work too: each image is parsed
    // and matched once, cached while later sites still name it, and moved out (not cloned)
    // at its last site.
    let mut remaining: HashMap<&str, usize> = HashMap::new();
    for image in sites.iter().filter_map(|site| site.image.text()) {
        *remaining.entry(image).or_insert(0) += 1;
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
    /// The host requests that together make this check. Without a threshold every request must
    /// succeed (the upstream meaning of a list: all of them), and a key or identity list is one
    /// request. With a threshold each listed signer is its own request, so that they can be
    /// counted.
    pub fn requests(&self) -> Vec<SigstoreVerificationInputV2> {
        let image = self.image.clone();
        let annotations = self.rule.annotations.clone();
        let split = self.rule.threshold.is_some();
        let groups = |count: usize| -> Vec<std::ops::Range<usize>> {
            match split {
                true => (0..count).map(|i| i..i + 1).collect(),
                false => std::iter::once(0..count).collect(),
            }
        };
        match &self.rule.check {
            Check::PubKeys(keys) => groups(keys.len())
                .into_iter()
                .map(|range| SigstoreVerificationInputV2::SigstorePubKeyVerify {
                    image: image.clone(),
                    pub_keys: keys.get(range).unwrap_or_default().to_vec(),
                    annotations: annotations.clone(),
                })
                .collect(),
            Check::Keyless(identities) => groups(identities.len())
                .into_iter()
                .map(|range| SigstoreVerificationInputV2::SigstoreKeylessVerify {
                    image: image.clone(),
                    keyless: identities
                        .get(range)
                        .unwrap_or_default()
                        .iter()
                        .map(|id| KeylessInfo {
                            issuer: id.issuer.clone(),
                            subject: id.subject.clone(),
                        })
                        .collect(),
                    annotations: annotations.clone(),
                })
                .collect(),
            Check::KeylessPrefix(prefixes) => groups(prefixes.len())
                .into_iter()
                .map(
                    |range| SigstoreVerificationInputV2::SigstoreKeylessPrefixVerify {
                        image: image.clone(),
                        keyless_prefix: prefixes
                            .get(range)
                            .unwrap_or_default()
                            .iter()
                            .map(|p| KeylessPrefixInfo {
                                issuer: p.issuer.clone(),
                                url_prefix: p.url_prefix.clone(),
                            })
                            .collect(),
                        annotations: annotations.clone(),
                    },
                )
                .collect(),
            // Its requests depend on the certificates found on the image's signatures.
            Check::KeylessRegex(_) => Vec::new(),
            Check::GithubActions { owner, repo } => {
                vec![SigstoreVerificationInputV2::SigstoreGithubActionsVerify {
                    image,
                    owner: owner.clone(),
                    repo: repo.clone(),
                    annotations,
                }]
            }
            Check::Certificates {
                certificates,
                chain,
                require_rekor_bundle,
            } => certificates
                .iter()
                .map(
                    |certificate| SigstoreVerificationInputV2::SigstoreCertificateVerify {
                        image: image.clone(),
                        certificate: certificate.as_bytes().to_vec(),
                        certificate_chain: chain
                            .as_ref()
                            .map(|c| c.iter().map(|pem| pem.as_bytes().to_vec()).collect()),
                        require_rekor_bundle: *require_rekor_bundle,
                        annotations: annotations.clone(),
                    },
                )
                .collect(),
        }
    }
}
