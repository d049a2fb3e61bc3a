//! `keylessPrefix`: an issuer and a URL prefix the certificate's subject must start with.
//! Prefixes are compared (and bound, see `checks::binding`) in the engine's normalised form;
//! nested prefixes of one issuer are refused under a threshold of 2 or more, since one
//! signature under the longer prefix satisfies both.

use std::collections::BTreeMap;

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;
use kubewarden_policy_sdk::host_capabilities::verification::KeylessPrefixInfo;

use crate::settings::SettingsError;
use crate::settings::parse::RuleFields;
use crate::settings::signers::{Refusal, duplicate, first_pair};

const KEY: &str = "keylessPrefix";

/// One issuer and subject prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeylessPrefix {
    /// The OIDC issuer, exactly.
    pub issuer: String,
    /// An absolute URL the subject must start with (after normalisation).
    pub url_prefix: String,
}

/// The engine appends `/` to a URL prefix, so `…/org` cannot match `…/org-evil/…`; prefixes
/// are compared (and bound, see `binding`) in that form.
pub fn normalised_url_prefix(prefix: &str) -> String {
    match prefix.ends_with('/') {
        true => prefix.to_string(),
        false => format!("{prefix}/"),
    }
}

pub(super) fn parse(fields: &RuleFields<'_>) -> Result<Vec<KeylessPrefix>, SettingsError> {
    fields.entries(KEY, |field, entry| {
        fields.reject_misspelled(entry, field, &["issuer", "urlPrefix", "url_prefix"])?;
        // The upstream README documents `urlPrefix` while the upstream policy only
        // loads `url_prefix`; deployed files use either, so both are accepted.
        let prefix_key = match (
            entry.contains_key("urlPrefix"),
            entry.contains_key("url_prefix"),
        ) {
            (true, true) => {
                return Err(
                    fields.error(Some(field), "set either urlPrefix or url_prefix, not both")
                );
            }
            (false, true) => "url_prefix",
            _ => "urlPrefix",
        };
        let url_prefix = fields.entry_field(entry, field, prefix_key)?;
        if !is_absolute_url(&url_prefix) {
            return Err(fields.error(
                Some(&format!("{field}.{prefix_key}")),
                format!("{url_prefix:?} is not an absolute URL (e.g. https://github.com/org/)"),
            ));
        }
        Ok(KeylessPrefix {
            issuer: fields.entry_field(entry, field, "issuer")?,
            url_prefix,
        })
    })
}

/// `scheme://authority…` with no whitespace. The real engine panics on a prefix its URL parser
/// refuses, so anything short of an absolute URL is refused here, at settings time.
fn is_absolute_url(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    let mut scheme_chars = scheme.chars();
    let scheme_ok = scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    scheme_ok && !authority.is_empty() && !text.chars().any(char::is_whitespace)
}

fn nested(prefixes: &[KeylessPrefix], earlier: usize, later: usize) -> Refusal {
    let text = |i: usize| {
        prefixes
            .get(i)
            .map(|p| normalised_url_prefix(&p.url_prefix))
            .unwrap_or_default()
    };
    (
        format!("{KEY}[{later}]"),
        format!(
            "{:?} and {KEY}[{earlier}] {:?} are nested: one signature under the longer prefix satisfies both, so a threshold of 2 or more could count one signer twice; list prefixes that do not contain each other or drop the threshold",
            text(later),
            text(earlier)
        ),
    )
}

pub(super) fn check_distinct(
    prefixes: &[KeylessPrefix],
    counts_several: bool,
) -> Result<(), Refusal> {
    let same_issuer = |a: &KeylessPrefix, b: &KeylessPrefix| a.issuer == b.issuer;
    let norm = |p: &KeylessPrefix| normalised_url_prefix(&p.url_prefix);
    if let Some(pair) = first_pair(prefixes, |x, y| same_issuer(x, y) && norm(x) == norm(y)) {
        return Err(duplicate(KEY, pair, "is the same prefix as"));
    }
    let contains = |x: &KeylessPrefix, y: &KeylessPrefix| {
        same_issuer(x, y) && (norm(x).starts_with(&norm(y)) || norm(y).starts_with(&norm(x)))
    };
    match (counts_several, first_pair(prefixes, contains)) {
        (true, Some((earlier, later))) => Err(nested(prefixes, earlier, later)),
        _ => Ok(()),
    }
}

/// The host request verifying a signature of `image` under all `prefixes`.
pub(super) fn request(
    image: &str,
    prefixes: &[KeylessPrefix],
    annotations: Option<&BTreeMap<String, String>>,
) -> SigstoreVerificationInputV2 {
    SigstoreVerificationInputV2::SigstoreKeylessPrefixVerify {
        image: image.to_string(),
        keyless_prefix: prefixes
            .iter()
            .map(|p| KeylessPrefixInfo {
                issuer: p.issuer.clone(),
                url_prefix: p.url_prefix.clone(),
            })
            .collect(),
        annotations: annotations.cloned(),
    }
}
