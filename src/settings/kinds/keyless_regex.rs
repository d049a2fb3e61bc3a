//! `keylessRegex`: identities as regular expressions (Sigstore policy-controller's
//! `subjectRegExp`). The host verifies only exact or prefix identities, so this kind has no
//! requests of its own: `checks::keyless_regex` reads the identities on the image's signatures
//! and asks one exact-identity request per match. Two expressions can match one identity, so
//! a threshold of 2 or more is refused.

use crate::settings::SettingsError;
use crate::settings::parse::RuleFields;
use crate::settings::signers::{Refusal, duplicate, first_pair};

const KEY: &str = "keylessRegex";

/// A `keylessRegex` entry: expressions are anchored (whole-string) and compiled at validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexIdentity {
    /// The issuer, exactly or as an expression.
    pub issuer: IssuerMatch,
    /// The expression the whole subject must match.
    pub subject_pattern: String,
}

/// How an entry names the issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerMatch {
    /// `issuer`: exactly this text.
    Exact(String),
    /// `issuerRegExp`: an expression the whole issuer must match.
    Pattern(String),
}

/// `pattern` as a whole-string regular expression.
pub fn anchored(pattern: &str) -> Result<regex_lite::Regex, regex_lite::Error> {
    regex_lite::Regex::new(&format!("^(?:{pattern})$"))
}

pub(super) fn parse(fields: &RuleFields<'_>) -> Result<Vec<RegexIdentity>, SettingsError> {
    fields.entries(KEY, |field, entry| {
        fields.reject_unknown(entry, field, &["issuer", "issuerRegExp", "subjectRegExp"])?;
        let pattern = |key: &str| -> Result<String, SettingsError> {
            let text = fields.entry_field(entry, field, key)?;
            if fields.checks_content() {
                anchored(&text).map_err(|e| {
                    fields.error(
                        Some(&format!("{field}.{key}")),
                        format!("not a valid regular expression: {e}"),
                    )
                })?;
            }
            Ok(text)
        };
        let issuer = match (
            entry.contains_key("issuer"),
            entry.contains_key("issuerRegExp"),
        ) {
            (true, false) => IssuerMatch::Exact(fields.entry_field(entry, field, "issuer")?),
            (false, true) => IssuerMatch::Pattern(pattern("issuerRegExp")?),
            _ => {
                return Err(fields.error(Some(field), "set exactly one of issuer and issuerRegExp"));
            }
        };
        Ok(RegexIdentity {
            issuer,
            subject_pattern: pattern("subjectRegExp")?,
        })
    })
}

pub(super) fn check_distinct(
    entries: &[RegexIdentity],
    counts_several: bool,
) -> Result<(), Refusal> {
    let same = |x: &RegexIdentity, y: &RegexIdentity| {
        x.subject_pattern == y.subject_pattern
            && match (&x.issuer, &y.issuer) {
                (IssuerMatch::Exact(a), IssuerMatch::Exact(b))
                | (IssuerMatch::Pattern(a), IssuerMatch::Pattern(b)) => a == b,
                _ => false,
            }
    };
    if let Some(pair) = first_pair(entries, same) {
        return Err(duplicate(KEY, pair, "is the same entry as"));
    }
    match counts_several {
        true => Err((
            "threshold".to_string(),
            "a threshold of 2 or more is refused on keylessRegex rules: two expressions can match one identity, so one signature could be counted twice; use keyless entries (exact identities) to count signers".to_string(),
        )),
        false => Ok(()),
    }
}
