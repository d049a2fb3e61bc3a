//! A signer list names each signer once, so that `threshold` counts signers and not list
//! entries. Keys are compared by their decoded key material, certificates by DER and by the key
//! they certify (one signature verifies for every certificate of the same key), identities as
//! the engine matches them. Where one signature could satisfy two different entries (nested URL
//! prefixes, regular expressions) a threshold of 2 or more would count it twice: that
//! combination is refused.

use super::pem_check::{certificate_identities, public_key_identity};
use super::{Check, IssuerMatch, KeylessPrefix};

/// A refusal: the field of the later entry and why.
pub type Refusal = (String, String);

/// The engine appends `/` to a URL prefix, so `…/org` cannot match `…/org-evil/…`; prefixes
/// are compared (and bound, see `binding`) in that form.
pub fn normalised_url_prefix(prefix: &str) -> String {
    match prefix.ends_with('/') {
        true => prefix.to_string(),
        false => format!("{prefix}/"),
    }
}

/// The first pair of entries `(earlier, later)` for which `same` holds.
fn first_pair<T>(items: &[T], same: impl Fn(&T, &T) -> bool) -> Option<(usize, usize)> {
    items.iter().enumerate().find_map(|(later, item)| {
        items
            .get(..later)
            .unwrap_or_default()
            .iter()
            .position(|earlier| same(earlier, item))
            .map(|earlier| (earlier, later))
    })
}

fn duplicate(key: &str, (earlier, later): (usize, usize), how: &str) -> Refusal {
    (
        format!("{key}[{later}]"),
        format!(
            "{how} {key}[{earlier}]: every signer must be listed once (a threshold would count one signature twice)"
        ),
    )
}

fn nested(prefixes: &[KeylessPrefix], earlier: usize, later: usize) -> Refusal {
    let text = |i: usize| {
        prefixes
            .get(i)
            .map(|p| normalised_url_prefix(&p.url_prefix))
            .unwrap_or_default()
    };
    (
        format!("keylessPrefix[{later}]"),
        format!(
            "{:?} and keylessPrefix[{earlier}] {:?} are nested: one signature under the longer prefix satisfies both, so a threshold of 2 or more could count one signer twice; list prefixes that do not contain each other or drop the threshold",
            text(later),
            text(earlier)
        ),
    )
}

/// `Err` with the field and reason when the rule's signers are not distinct.
pub fn check_distinct(check: &Check, threshold: Option<usize>) -> Result<(), Refusal> {
    let counts_several = threshold.is_some_and(|n| n >= 2);
    match check {
        Check::PubKeys(keys) => {
            let identities = keys
                .iter()
                .map(|k| public_key_identity(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ("pubKeys".to_string(), e))?;
            match first_pair(&identities, |a, b| a == b) {
                Some(pair) => Err(duplicate("pubKeys", pair, "is the same key as")),
                None => Ok(()),
            }
        }
        Check::Certificates { certificates, .. } => {
            let identities = certificates
                .iter()
                .map(|c| certificate_identities(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ("certificates".to_string(), e))?;
            if let Some(pair) = first_pair(&identities, |a, b| a.0 == b.0) {
                return Err(duplicate(
                    "certificates",
                    pair,
                    "is the same certificate as",
                ));
            }
            match first_pair(&identities, |a, b| a.1 == b.1) {
                Some(pair) => Err(duplicate(
                    "certificates",
                    pair,
                    "certifies the same public key as",
                )),
                None => Ok(()),
            }
        }
        Check::Keyless(identities) => match first_pair(identities, |a, b| a == b) {
            Some(pair) => Err(duplicate("keyless", pair, "is the same identity as")),
            None => Ok(()),
        },
        Check::KeylessPrefix(prefixes) => {
            let same_issuer = |a: &KeylessPrefix, b: &KeylessPrefix| a.issuer == b.issuer;
            let norm = |p: &KeylessPrefix| normalised_url_prefix(&p.url_prefix);
            if let Some(pair) = first_pair(prefixes, |x, y| same_issuer(x, y) && norm(x) == norm(y))
            {
                return Err(duplicate("keylessPrefix", pair, "is the same prefix as"));
            }
            let contains = |x: &KeylessPrefix, y: &KeylessPrefix| {
                same_issuer(x, y)
                    && (norm(x).starts_with(&norm(y)) || norm(y).starts_with(&norm(x)))
            };
            match (counts_several, first_pair(prefixes, contains)) {
                (true, Some((earlier, later))) => Err(nested(prefixes, earlier, later)),
                _ => Ok(()),
            }
        }
        Check::KeylessRegex(entries) => {
            let same = |x: &super::RegexIdentity, y: &super::RegexIdentity| {
                x.subject_pattern == y.subject_pattern
                    && match (&x.issuer, &y.issuer) {
                        (IssuerMatch::Exact(a), IssuerMatch::Exact(b))
                        | (IssuerMatch::Pattern(a), IssuerMatch::Pattern(b)) => a == b,
                        _ => false,
                    }
            };
            if let Some(pair) = first_pair(entries, same) {
                return Err(duplicate("keylessRegex", pair, "is the same entry as"));
            }
            match counts_several {
                true => Err((
                    "threshold".to_string(),
                    "a threshold of 2 or more is refused on keylessRegex rules: two expressions can match one identity, so one signature could be counted twice; use keyless entries (exact identities) to count signers".to_string(),
                )),
                false => Ok(()),
            }
        }
        Check::GithubActions { .. } => Ok(()),
    }
}
