//! Which host questions a request needs: one check per distinct (image, rule) pair, however
//! many containers share the image, and the host requests each check is made of.

use std::collections::HashMap;

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;
use kubewarden_policy_sdk::host_capabilities::verification::{KeylessInfo, KeylessPrefixInfo};

use crate::matching::RuleMatcher;
use crate::reference::{ImageReference, ReferenceError};
use crate::settings::{Check, Rule};
use crate::workload::ImageSite;

/// What the plan knows about one image site before asking the host.
#[derive(Debug)]
pub enum SitePlan {
    MissingImage,
    BadReference(String, ReferenceError),
    Checked {
        reference: ImageReference,
        /// Indices into `Plan::checks`, in rule order. Empty: no rule applies.
        checks: Vec<usize>,
    },
}

#[derive(Debug)]
pub struct PlannedCheck<'s> {
    /// The image exactly as written: the host resolves it the way the kubelet will.
    pub image: String,
    pub rule: &'s Rule,
}

#[derive(Debug)]
pub struct Plan<'s> {
    pub sites: Vec<SitePlan>,
    pub checks: Vec<PlannedCheck<'s>>,
}

pub fn plan<'s>(rules: &'s [Rule], sites: &[ImageSite]) -> Plan<'s> {
    let matcher = RuleMatcher::new(rules);
    let mut checks: Vec<PlannedCheck<'s>> = Vec::new();
    let mut known: HashMap<(String, usize), usize> = HashMap::new();
    let mut site_plans = Vec::with_capacity(sites.len());
    // Sites sharing an image share the matching work too.
    let mut matched: HashMap<String, Result<(ImageReference, Vec<&'s Rule>), ReferenceError>> =
        HashMap::new();
    for site in sites {
        let Some(image) = &site.image else {
            site_plans.push(SitePlan::MissingImage);
            continue;
        };
        let outcome = matched
            .entry(image.clone())
            .or_insert_with(|| {
                ImageReference::parse(image).map(|r| {
                    let rules = matcher.matching(&r);
                    (r, rules)
                })
            })
            .clone();
        match outcome {
            Err(error) => site_plans.push(SitePlan::BadReference(image.clone(), error)),
            Ok((reference, rules)) => {
                let indices = rules
                    .into_iter()
                    .map(|rule| {
                        *known.entry((image.clone(), rule.index)).or_insert_with(|| {
                            checks.push(PlannedCheck {
                                image: image.clone(),
                                rule,
                            });
                            checks.len() - 1
                        })
                    })
                    .collect();
                site_plans.push(SitePlan::Checked {
                    reference,
                    checks: indices,
                });
            }
        }
    }
    Plan {
        sites: site_plans,
        checks,
    }
}

impl PlannedCheck<'_> {
    /// The host requests that together make this check. Every one must succeed: the upstream
    /// meaning of a list of keys, identities or certificates is "all of them".
    pub fn requests(&self) -> Vec<SigstoreVerificationInputV2> {
        let image = self.image.clone();
        let annotations = self.rule.annotations.clone();
        match &self.rule.check {
            Check::PubKeys(keys) => vec![SigstoreVerificationInputV2::SigstorePubKeyVerify {
                image,
                pub_keys: keys.clone(),
                annotations,
            }],
            Check::Keyless(identities) => {
                vec![SigstoreVerificationInputV2::SigstoreKeylessVerify {
                    image,
                    keyless: identities
                        .iter()
                        .map(|id| KeylessInfo {
                            issuer: id.issuer.clone(),
                            subject: id.subject.clone(),
                        })
                        .collect(),
                    annotations,
                }]
            }
            Check::KeylessPrefix(prefixes) => {
                vec![SigstoreVerificationInputV2::SigstoreKeylessPrefixVerify {
                    image,
                    keyless_prefix: prefixes
                        .iter()
                        .map(|p| KeylessPrefixInfo {
                            issuer: p.issuer.clone(),
                            url_prefix: p.url_prefix.clone(),
                        })
                        .collect(),
                    annotations,
                }]
            }
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
