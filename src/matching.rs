//! Rule globs against image references and namespaces. Glob semantics are the upstream
//! policy's (wildmatch, whole-string: `*` any run of characters including `/`, `?` one
//! character), applied to every spelling of the reference so that `nginx` cannot dodge a rule
//! for `docker.io/library/nginx`.

use crate::glob::{Glob, GlobSet};

use crate::reference::ImageReference;
use crate::settings::Rule;

/// Globs of every rule in scope, compiled once per request, each tagged with its rule.
struct TaggedGlobs {
    set: GlobSet,
    /// Per glob: the position of its rule in `RuleMatcher::rules`.
    owners: Vec<usize>,
}

impl TaggedGlobs {
    fn new<'s>(rules: &[&'s Rule], globs_of: impl Fn(&'s Rule) -> &'s [String]) -> Self {
        let mut owners = Vec::new();
        let mut patterns = Vec::new();
        for (position, rule) in rules.iter().enumerate() {
            for glob in globs_of(rule) {
                owners.push(position);
                patterns.push(glob.as_str());
            }
        }
        Self {
            set: GlobSet::new(patterns),
            owners,
        }
    }

    /// Per rule: whether any of its globs matches any of `texts`.
    fn rules_matching(&self, texts: &[String], rule_count: usize) -> Vec<bool> {
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

pub struct RuleMatcher<'s> {
    rules: Vec<&'s Rule>,
    images: TaggedGlobs,
    skip_images: TaggedGlobs,
}

/// Whether a rule applies in this namespace. A cluster-scoped request (no namespace) is in
/// scope of rules that do not name namespaces.
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
            images: TaggedGlobs::new(&rules, |rule| &rule.images),
            skip_images: TaggedGlobs::new(&rules, |rule| &rule.skip_images),
            rules,
        }
    }

    /// The rules whose globs match any spelling of `reference` and whose `skipImages` match
    /// none, in settings order.
    pub fn matching(&self, reference: &ImageReference) -> Vec<&'s Rule> {
        let spellings = reference.spellings();
        let count = self.rules.len();
        let applies = self.images.rules_matching(&spellings, count);
        let skipped = self.skip_images.rules_matching(&spellings, count);
        self.rules
            .iter()
            .zip(applies.iter().zip(&skipped))
            .filter(|(_, (applies, skipped))| **applies && !**skipped)
            .map(|(rule, _)| *rule)
            .collect()
    }
}
