//! A signer list names each signer once, so that `threshold` counts signers and not list
//! entries. Keys are compared by their decoded key material, certificates by DER and by the key
//! they certify (one signature verifies for every certificate of the same key), identities as
//! the engine matches them. Where one signature could satisfy two different entries (nested URL
//! prefixes, regular expressions) a threshold of 2 or more would count it twice: that
//! combination is refused. Each kind's own comparison is in its file under `kinds`; these are
//! the pieces they share.

/// A refusal: the field of the later entry and why.
pub(super) type Refusal = (String, String);

/// The DER body of a PEM text of the rule, or why it has none (see `RuleFields::der_of`).
pub(super) type DerOf<'f> = &'f dyn Fn(&str) -> Result<Vec<u8>, String>;

/// Each of the `key` list's PEM texts decoded for comparison, or why one cannot be.
pub(super) fn decoded<T>(
    key: &str,
    pems: &[String],
    decode: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, Refusal> {
    pems.iter()
        .map(|pem| decode(pem))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (key.to_string(), e))
}

/// The first pair of entries `(earlier, later)` for which `same` holds.
pub(super) fn first_pair<T>(items: &[T], same: impl Fn(&T, &T) -> bool) -> Option<(usize, usize)> {
    items.iter().enumerate().find_map(|(later, item)| {
        items
            .get(..later)
            .unwrap_or_default()
            .iter()
            .position(|earlier| same(earlier, item))
            .map(|earlier| (earlier, later))
    })
}

pub(super) fn duplicate(key: &str, (earlier, later): (usize, usize), how: &str) -> Refusal {
    (
        format!("{key}[{later}]"),
        format!(
            "{how} {key}[{earlier}]: every signer must be listed once (a threshold would count one signature twice)"
        ),
    )
}
