//! Rule globs against image references and namespaces. Glob semantics are the upstream
//! policy's (wildmatch, whole-string: `*` any run of characters including `/`, `?` one
//! character), applied to every spelling of the reference so that `nginx` cannot dodge a rule
//! for `docker.io/library/nginx`.

use wildmatch::WildMatch;

use crate::reference::ImageReference;
use crate::settings::Rule;

struct CompiledRule<'s> {
    rule: &'s Rule,
    images: Vec<WildMatch>,
    skip_images: Vec<WildMatch>,
}

pub struct RuleMatcher<'s> {
    rules: Vec<CompiledRule<'s>>,
}

fn compile(globs: &[String]) -> Vec<WildMatch> {
    globs.iter().map(|g| WildMatch::new(g)).collect()
}

/// Whether a rule applies in this namespace. A cluster-scoped request (no namespace) is in
/// scope of rules that do not name namespaces.
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
                    images: compile(&rule.images),
                    skip_images: compile(&rule.skip_images),
                })
                .collect(),
        }
    }

    /// The rules whose globs match any spelling of `reference` and whose `skipImages` match
    /// none, in settings order.
    pub fn matching(&self, reference: &ImageReference) -> Vec<&'s Rule> {
        let spellings = reference.spellings();
        let any = |globs: &[WildMatch]| {
            globs
                .iter()
                .any(|glob| spellings.iter().any(|s| glob.matches(s)))
        };
        self.rules
            .iter()
            .filter(|compiled| any(&compiled.images) && !any(&compiled.skip_images))
            .map(|compiled| compiled.rule)
            .collect()
    }
}
