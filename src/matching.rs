//! Rule globs against image references and namespaces. Glob semantics are the upstream
//! policy's (whole-string: `*` any run of characters including `/`, `?` one character, see
//! `glob`). The asymmetry that keeps a wrong "allowed" out:
//! - a rule applies when its glob matches the reference's canonical identity in **any**
//!   accepted written form (`nginx` meets a rule for `docker.io/library/nginx`; a digest-pinned
//!   reference meets every tag constraint): more verification is the safe side;
//! - `skipImages` and `excludeNamespaces` apply only to the **one** canonical form (`busybox*`
//!   does not skip `docker.io/busyboxevil/miner`): less skipping is the safe side.

use crate::glob::{Glob, GlobSet};
pub use crate::pattern::digest_form;
use crate::reference::ImageReference;
use crate::settings::Rule;

/// Globs of every rule in scope, compiled once per request, each tagged with its rule.
struct TaggedGlobs {
    set: GlobSet,
    /// Per glob: the position of its rule in `RuleMatcher::rules`.
    owners: Vec<usize>,
}

impl TaggedGlobs {
    fn new<'s, G: AsRef<str>, I: IntoIterator<Item = G>>(
        rules: &[&'s Rule],
        globs_of: impl Fn(&'s Rule) -> I,
    ) -> Self {
        let mut owners = Vec::new();
        let mut patterns = Vec::new();
        for (position, rule) in rules.iter().enumerate() {
            for glob in globs_of(rule) {
                owners.push(position);
                patterns.push(glob);
            }
        }
        Self {
            set: GlobSet::new(patterns.iter().map(AsRef::as_ref)),
            owners,
        }
    }

    fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// Per rule: whether any of its globs matches any of `texts`.
    fn rules_matching(&self, texts: &[String], rule_count: usize) -> Vec<bool> {
        if self.is_empty() {
            return vec![false; rule_count];
        }
        let mut matched = vec![false; self.set.len()];
        for text in texts {
            self.set.mark_matches(text, &mut matched);
        }
        let mut rules = vec![false; rule_count];
        for (owner, _) in self.owners.iter().zip(&matched).filter(|(_, m)| **m) {
            if let Some(flag) = rules.get_mut(*owner) {
                *flag = true;
            }
        }
        rules
    }
}

/// Every rule's globs compiled once: which rules apply to a reference in a namespace.
pub struct RuleMatcher<'s> {
    rules: Vec<&'s Rule>,
    images: TaggedGlobs,
    /// The digest forms of the image globs, for digest-pinned references.
    digest_images: TaggedGlobs,
    skip_images: TaggedGlobs,
}

/// Whether a rule applies in this namespace. A cluster-scoped request (no namespace) is in
/// scope of rules that do not name namespaces. Namespace names reach the policy in their only
/// form, so both lists compare that one string.
fn in_scope(rule: &Rule, namespace: Option<&str>) -> bool {
    let matches_any = |globs: &[String], ns: &str| globs.iter().any(|g| Glob::new(g).matches(ns));
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
        let rules: Vec<&'s Rule> = rules
            .iter()
            .filter(|rule| in_scope(rule, namespace))
            .collect();
        Self {
            images: TaggedGlobs::new(&rules, |rule| rule.images.iter()),
            digest_images: TaggedGlobs::new(&rules, |rule| {
                rule.images.iter().filter_map(|g| digest_form(g))
            }),
            skip_images: TaggedGlobs::new(&rules, |rule| rule.skip_images.iter()),
            rules,
        }
    }

    /// The rules whose globs match any accepted form of `reference` and whose `skipImages`
    /// do not match its canonical form, in settings order.
    pub fn matching(&self, reference: &ImageReference) -> Vec<&'s Rule> {
        let subjects = reference.subjects();
        let count = self.rules.len();
        let mut applies = self.images.rules_matching(&subjects, count);
        if reference.digest.is_some() && !self.digest_images.is_empty() {
            let by_digest = self.digest_images.rules_matching(&subjects, count);
            for (flag, extra) in applies.iter_mut().zip(by_digest) {
                *flag |= extra;
            }
        }
        // The canonical form is built only when some rule in scope has skipImages.
        let skipped = match self.skip_images.is_empty() {
            true => vec![false; count],
            false => self
                .skip_images
                .rules_matching(&[reference.canonical()], count),
        };
        self.rules
            .iter()
            .zip(applies.iter().zip(&skipped))
            .filter(|(_, (applies, skipped))| **applies && !**skipped)
            .map(|(rule, _)| *rule)
            .collect()
    }
}
