//! The compatibility contract with upstream `verify-image-signatures` for keys this policy does
//! not read: upstream ignores unknown keys, so an object it accepts must load here too. Only a
//! key that is demonstrably a misspelling of a known one (within two edits, one for known keys
//! of up to five letters, case ignored) is refused, because silently ignoring it would verify
//! less than the operator wrote.

use super::tree::Node;

/// Keys the upstream Rancher form writes beside the settings (its kind selector and a hidden
/// description); accepted and ignored.
pub const UI_KEYS: [&str; 2] = ["rule", "description"];

/// Edits (insert, delete, substitute, swap two neighbours) that still make a key a misspelling.
const MAX_EDITS: usize = 2;
/// Known keys this short allow one edit only: `name` is not a misspelling of `mode`.
const SHORT_KEY: usize = 5;

/// The known key `key` is a misspelling of, if any. A key that is itself known is no mistake.
pub fn near_miss<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    if known.contains(&key) {
        return None;
    }
    let lowered = case_folded(key);
    known
        .iter()
        .map(|candidate| {
            let other = case_folded(candidate);
            let allowed = if other.len() <= SHORT_KEY {
                1
            } else {
                MAX_EDITS
            };
            (edit_distance(&lowered, &other), allowed, *candidate)
        })
        .filter(|(distance, allowed, _)| distance <= allowed)
        .min_by_key(|(distance, _, _)| *distance)
        .map(|(_, _, candidate)| candidate)
}

/// `text` lower-cased as `str::to_lowercase` does as far as the comparison can tell: known
/// keys are ASCII, so a non-ASCII character counts only where it lower-cases to ASCII (the
/// Kelvin sign, and `İ`, which becomes `i` and a combining dot); every other one differs from
/// every candidate character either way. Unicode's case tables weigh kilobytes of the module.
fn case_folded(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{212A}' => out.push('k'),
            '\u{0130}' => out.extend(['i', '\u{0307}']),
            c => out.push(c.to_ascii_lowercase()),
        }
    }
    out
}

/// Optimal string alignment distance. Keys are short (settings names); an attacker-sized key
/// is cut off by the length check first.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    if a.len().abs_diff(b.len()) > MAX_EDITS {
        return MAX_EDITS + 1;
    }
    let width = b.len() + 1;
    let mut rows: Vec<usize> = vec![0; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for (i, a_char) in std::iter::once(None).chain(a.iter().map(Some)).enumerate() {
        for (j, b_char) in std::iter::once(None).chain(b.iter().map(Some)).enumerate() {
            let value = match (a_char, b_char) {
                (None, _) => j,
                (_, None) => i,
                (Some(x), Some(y)) => {
                    let cost = usize::from(x != y);
                    let get = |i: usize, j: usize| rows.get(at(i, j)).copied().unwrap_or(0);
                    let mut best = (get(i - 1, j) + 1)
                        .min(get(i, j - 1) + 1)
                        .min(get(i - 1, j - 1) + cost);
                    let swapped = i > 1
                        && j > 1
                        && a.get(i - 1) == b.get(j - 2)
                        && a.get(i - 2) == b.get(j - 1);
                    if swapped {
                        best = best.min(get(i - 2, j - 2) + 1);
                    }
                    best
                }
            };
            if let Some(slot) = rows.get_mut(at(i, j)) {
                *slot = value;
            }
        }
    }
    rows.last().copied().unwrap_or(0)
}

/// A form default left untouched: null, "", [], {}, or a list or map holding only such values
/// (the Rancher UI seeds `keyless: []`, `githubActions: {}`, `{owner: '', repo: ''}` …).
pub fn is_empty_default(value: &Node<'_>) -> bool {
    match value {
        Node::Null => true,
        Node::String(s) => s.is_empty(),
        Node::Array(items) => items.iter().all(is_empty_default),
        Node::Object(map) => map.values().all(is_empty_default),
        Node::Bool(_) | Node::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn misspellings_within_two_edits_are_found() {
        let known = [
            "modifyImagesWithDigest",
            "signatures",
            "excludeNamespaces",
            "image",
            "mode",
        ];
        let cases = [
            ("modifyImageWithDigest", Some("modifyImagesWithDigest")),
            ("Signatures", Some("signatures")),
            ("signatrues", Some("signatures")),
            ("excludeNamespace", Some("excludeNamespaces")),
            ("imag", Some("image")),
            ("signatures", None),
            ("rule", None),
            ("description", None),
            ("imagePullSecret", None),
            ("name", None),
        ];
        for (key, expected) in cases {
            assert_eq!(near_miss(key, &known), expected, "{key}");
        }
    }

    #[test]
    fn untouched_form_defaults_are_empty() {
        for value in [
            json!(null),
            json!(""),
            json!([]),
            json!({}),
            json!({"owner": "", "repo": ""}),
            json!([{"issuer": "", "subject": ""}]),
        ] {
            assert!(is_empty_default(&Node::of_value(&value)), "{value}");
        }
        for value in [
            json!(false),
            json!(0),
            json!(["k"]),
            json!({"owner": "org"}),
        ] {
            assert!(!is_empty_default(&Node::of_value(&value)), "{value}");
        }
    }

    /// Every character: where Unicode lower-casing yields ASCII, `case_folded` yields the same;
    /// elsewhere both give one non-ASCII character, which no known key holds, so the edit
    /// distance to any known key is the same.
    #[test]
    fn case_folding_agrees_with_unicode_wherever_it_can_matter() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let unicode: Vec<char> = c.to_string().to_lowercase().chars().collect();
            let folded = case_folded(&c.to_string());
            if unicode.iter().any(char::is_ascii) || c.is_ascii() {
                assert_eq!(folded, unicode, "{c:?}");
            } else {
                assert_eq!(unicode.len(), 1, "{c:?}");
                assert_eq!(folded.len(), 1, "{c:?}");
                assert!(!folded.iter().any(char::is_ascii), "{c:?}");
            }
        }
    }
}
