//! Rule globs against image references and namespaces. Glob semantics are the upstream
//! policy's (wildmatch, whole-string: `*` any run of characters including `/`, `?` one
//! character). The asymmetry that keeps a wrong "allowed" out:
//! - a rule applies when its glob matches the reference's canonical identity in **any**
//!   accepted written form (`nginx` meets a rule for `docker.io/library/nginx`; a digest-pinned
//!   reference meets every tag constraint): more verification is the safe side;
//! - `skipImages` and `excludeNamespaces` apply only to the **one** canonical form (`busybox*`
//!   does not skip `docker.io/busyboxevil/miner`): less skipping is the safe side.

use wildmatch::WildMatch;

use crate::pattern::{Glob, matches_any_tag};
use crate::reference::{ImageReference, Subject};
use crate::settings::Rule;

/// A rule glob, compiled for literal subjects and for "any tag" subjects.
struct RuleGlob {
    literal: WildMatch,
    automaton: Glob,
}

impl RuleGlob {
    fn new(text: &str) -> Self {
        Self {
            literal: WildMatch::new(text),
            automaton: Glob::new(text),
        }
    }

    fn matches(&self, subject: &Subject) -> bool {
        match subject {
            Subject::Literal(text) => self.literal.matches(text),
            Subject::AnyTag { name, digest } => {
                matches_any_tag(&self.automaton, name, digest.as_deref())
            }
        }
    }
}

struct CompiledRule<'s> {
    rule: &'s Rule,
    images: Vec<RuleGlob>,
    skip_images: Vec<WildMatch>,
}

pub struct RuleMatcher<'s> {
    rules: Vec<CompiledRule<'s>>,
}

/// Whether a rule applies in this namespace. A cluster-scoped request (no namespace) is in
/// scope of rules that do not name namespaces. Namespace names reach the policy in their only
/// form, so both lists compare that one string.
fn in_scope(rule: &Rule, namespace: Option<&str>) -> bool {
    let matches_any =
        |globs: &[String], ns: &str| globs.iter().any(|g| WildMatch::new(g).matches(ns));
    let included = match (&rule.namespaces, namespace) {
        (None, _) => true,
        (Some(globs), Some(ns)) => matches_any(globs, ns),
        (Some(_), None) => false,
    };
    let excluded = namespace.is_some_and(|ns| matches_any(&rule.exclude_namespaces, ns));
    included && !excluded
}

impl<'s> RuleMatcher<'s> {
    /// The rules in scope of a request in `namespace`, compiled once for all its images.
    pub fn new(rules: &'s [Rule], namespace: Option<&str>) -> Self {
        Self {
            rules: rules
                .iter()
                .filter(|rule| in_scope(rule, namespace))
                .map(|rule| CompiledRule {
                    rule,
                    images: rule.images.iter().map(|g| RuleGlob::new(g)).collect(),
                    skip_images: rule.skip_images.iter().map(|g| WildMatch::new(g)).collect(),
                })
                .collect(),
        }
    }

    /// The rules whose globs match any accepted form of `reference` and whose `skipImages`
    /// do not match its canonical form, in settings order.
    pub fn matching(&self, reference: &ImageReference) -> Vec<&'s Rule> {
        let subjects = reference.subjects();
        let canonical = reference.canonical();
        self.rules
            .iter()
            .filter(|compiled| {
                compiled
                    .images
                    .iter()
                    .any(|glob| subjects.iter().any(|subject| glob.matches(subject)))
                    && !compiled
                        .skip_images
                        .iter()
                        .any(|glob| glob.matches(&canonical))
            })
            .map(|compiled| compiled.rule)
            .collect()
    }
}
