//! Rule globs against image references. Glob semantics are the upstream policy's (wildmatch,
//! whole-string: `*` any run of characters including `/`, `?` one character), applied to every
//! spelling of the reference so that `nginx` cannot dodge a rule for `docker.io/library/nginx`.

use wildmatch::WildMatch;

use crate::reference::ImageReference;
use crate::settings::Rule;

pub struct RuleMatcher<'s> {
    patterns: Vec<(WildMatch, &'s Rule)>,
}

impl<'s> RuleMatcher<'s> {
    pub fn new(rules: &'s [Rule]) -> Self {
        Self {
            patterns: rules
                .iter()
                .map(|rule| (WildMatch::new(&rule.image), rule))
                .collect(),
        }
    }

    /// The rules whose glob matches any spelling of `reference`, in settings order.
    pub fn matching(&self, reference: &ImageReference) -> Vec<&'s Rule> {
        let spellings = reference.spellings();
        self.patterns
            .iter()
            .filter(|(pattern, _)| spellings.iter().any(|s| pattern.matches(s)))
            .map(|(_, rule)| *rule)
            .collect()
    }
}
