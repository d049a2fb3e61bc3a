//! PEM text → block, as the `pem` crate reads it, with a fast path for the one shape keys and
//! certificates are written in. `pem::parse` copies the body character by character and decodes
//! it through a general base64 engine: about 15,000 instructions for a P-256 public key, half of
//! `validate_settings`. The fast path reads `-----BEGIN L-----`, lines of standard base64 with
//! canonical padding, `-----END L-----` (nothing before or after, no headers) in one pass; any
//! other text, valid or not, goes to `pem::parse`, so blocks and error messages are the crate's.
//! The fast path accepts a subset of what the crate accepts and gives the same block for it
//! (a property test checks both on random and mutated PEM texts).

use pem::{Pem, PemError};

/// The first PEM block of `text`, exactly as `pem::parse(text)` gives it.
pub fn parse(text: &str) -> Result<Pem, PemError> {
    match canonical(text) {
        Some((label, contents)) => Ok(Pem::new(label, contents)),
        None => pem::parse(text),
    }
}

/// A label the fast path takes: what keys and certificates use (`PUBLIC KEY`, `CERTIFICATE`,
/// `EC PRIVATE KEY`, …). No `-`, so the label cannot hide the framing.
fn plain_label(label: &str) -> bool {
    !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
}

/// `(label, contents)` of a canonical block, `None` for anything else.
fn canonical(text: &str) -> Option<(&str, Vec<u8>)> {
    let rest = text.strip_prefix("-----BEGIN ")?;
    // Neither a plain label nor base64 holds a `-`: the first one must open the framing.
    let (label, rest) = rest.split_at_checked(rest.find('-')?)?;
    let rest = rest.strip_prefix("-----")?;
    let (body, end) = rest.split_at_checked(rest.find('-')?)?;
    let end_label = end.strip_prefix("-----END ")?.strip_suffix("-----")?;
    if !plain_label(label) || label != end_label {
        return None;
    }
    Some((label, decode_base64(body)?))
}

/// What a body byte is to the decoder: a sextet (0..=63) or one of these.
const INVALID: u8 = 0xff;
const WHITESPACE: u8 = 0xfe;
const PAD: u8 = 0xfd;

/// The decoder's view of every byte, built at compile time (one load per byte). Indexing in a
/// constant cannot panic at run time: an out-of-range index would fail the build.
#[allow(clippy::indexing_slicing)]
const BASE64: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table[b' ' as usize] = WHITESPACE;
    table[b'\t' as usize] = WHITESPACE;
    table[b'\n' as usize] = WHITESPACE;
    table[b'\r' as usize] = WHITESPACE;
    table[b'=' as usize] = PAD;
    table
};

/// Whether the `\n` at `at` ends a blank line: one right after `\n`, or `\r\n\r\n`.
fn blank_line_ends_at(bytes: &[u8], at: usize) -> bool {
    let before = |n: usize| at.checked_sub(n).and_then(|i| bytes.get(i)).copied();
    before(1) == Some(b'\n')
        || (before(1) == Some(b'\r') && before(2) == Some(b'\n') && before(3) == Some(b'\r'))
}

/// Standard base64 with whitespace between characters, padding required and canonical (no
/// bits set past the data), as the crate's engine decodes it; `None` for anything else,
/// including an empty body.
fn decode_base64(body: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 3);
    let mut quantum: u32 = 0;
    let mut filled = 0;
    let mut padding = 0;
    let bytes = body.as_bytes();
    for (at, &byte) in bytes.iter().enumerate() {
        match BASE64.get(usize::from(byte)).copied().unwrap_or(INVALID) {
            // A blank line (`\n\n`, `\r\n\r\n`) makes the crate read what comes before it
            // as headers.
            WHITESPACE if byte == b'\n' && blank_line_ends_at(bytes, at) => return None,
            WHITESPACE => {}
            PAD => {
                // Padding only completes a quantum holding two or three characters.
                padding += 1;
                if filled + padding > 4 || filled < 2 {
                    return None;
                }
            }
            INVALID => return None,
            sextet => {
                if padding > 0 {
                    return None;
                }
                quantum = (quantum << 6) | u32::from(sextet);
                filled += 1;
                if filled == 4 {
                    let [_, a, b, c] = quantum.to_be_bytes();
                    // Three pushes within the reserved capacity: no call, no reallocation.
                    out.push(a);
                    out.push(b);
                    out.push(c);
                    quantum = 0;
                    filled = 0;
                }
            }
        }
    }
    match (filled, padding) {
        (0, 0) if !out.is_empty() => Some(out),
        // Two characters: 12 bits, one byte; the low 4 bits must be zero.
        (2, 2) if quantum & 0xf == 0 => {
            let [_, _, _, byte] = (quantum >> 4).to_be_bytes();
            out.push(byte);
            Some(out)
        }
        // Three characters: 18 bits, two bytes; the low 2 bits must be zero.
        (3, 1) if quantum & 0x3 == 0 => {
            let [_, _, a, b] = (quantum >> 2).to_be_bytes();
            out.extend_from_slice(&[a, b]);
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(label: &str, contents: &[u8], width: usize, crlf: bool) -> String {
        let body = pem::encode(&Pem::new(label, contents.to_vec()));
        // Re-wrap the crate's 64-column body at `width`, with the chosen line ending.
        let lines: Vec<&str> = body.lines().collect();
        let data: String = lines[1..lines.len() - 1].concat();
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("-----BEGIN {label}-----{eol}");
        for chunk in data.as_bytes().chunks(width.max(1)) {
            text.push_str(std::str::from_utf8(chunk).unwrap());
            text.push_str(eol);
        }
        text.push_str(&format!("-----END {label}-----"));
        text
    }

    #[test]
    fn canonical_blocks_take_the_fast_path() {
        for len in 1..70 {
            let contents: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = encode("PUBLIC KEY", &contents, 64, false);
            assert_eq!(canonical(&text), Some(("PUBLIC KEY", contents)), "{text}");
        }
    }

    #[test]
    fn other_shapes_are_the_crates() {
        let cases = [
            "",
            "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END CERTIFICATE-----",
            "junk -----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nAB=C\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nAB\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nAB==\nAAAA\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nAAB=\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nAAA=\n-----END PUBLIC KEY-----",
            "-----BEGIN X-Y-----\nAAAA\n-----END X-Y-----",
            "-----BEGIN PUBLIC KEY-----\nProc-Type: 4\n\nAAAA\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nA\u{a0}AAA\n-----END PUBLIC KEY-----",
        ];
        for text in cases {
            let fast = canonical(text);
            if let Some((label, contents)) = fast {
                assert_eq!(pem::parse(text), Ok(Pem::new(label, contents)), "{text:?}");
            }
            assert_eq!(parse(text), pem::parse(text), "{text:?}");
        }
    }

    proptest! {
        /// Random blocks in random spellings, then one byte replaced, removed or inserted:
        /// whenever the fast path answers, the crate answers the same block.
        #[test]
        fn the_fast_path_agrees_with_the_crate(
            contents in proptest::collection::vec(any::<u8>(), 0..120),
            label in prop::sample::select(vec!["PUBLIC KEY", "CERTIFICATE", "A", "EC PRIVATE KEY"]),
            width in 1usize..80,
            crlf in any::<bool>(),
            edit in 0usize..3,
            at in any::<prop::sample::Index>(),
            byte in prop::sample::select(b"=A/+-\n\r \tZz09:".to_vec()),
        ) {
            let text = encode(label, &contents, width, crlf);
            let mut bytes = text.into_bytes();
            let at = at.index(bytes.len() + 1);
            match edit {
                0 if at < bytes.len() => bytes[at] = byte,
                1 if at < bytes.len() => { bytes.remove(at); }
                _ => bytes.insert(at, byte),
            }
            let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
            if let Some((label, contents)) = canonical(&text) {
                prop_assert_eq!(pem::parse(&text), Ok(Pem::new(label, contents)), "{:?}", text);
            }
            prop_assert_eq!(parse(&text), pem::parse(&text), "{:?}", text);
        }
    }
}
