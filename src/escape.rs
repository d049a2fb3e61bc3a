//! Attacker-controlled text (names, image strings, registry answers) in messages an operator
//! reads in a terminal or a log: control characters, quotes and non-printing characters are
//! escaped and long values cut, so no such text can end a line, move the cursor or imitate the
//! policy's own words.

/// Longest quoted value shown; the rest is replaced by `…` (after the closing quote).
pub const MAX_QUOTED_CHARS: usize = 200;
/// Longest reason (host or registry text) shown.
pub const MAX_REASON_CHARS: usize = 2000;

fn cut(text: &str, limit: usize) -> (&str, bool) {
    match text.char_indices().nth(limit) {
        Some((at, _)) => (text.get(..at).unwrap_or(text), true),
        None => (text, false),
    }
}

/// `text` in double quotes with Rust's escapes (`\n`, `\"`, `\u{1b}`, `\u{202e}`, …), cut to
/// [`MAX_QUOTED_CHARS`] characters with `…` after the quote.
pub fn quoted(text: &str) -> String {
    let (shown, cut_off) = cut(text, MAX_QUOTED_CHARS);
    match cut_off {
        true => format!("{shown:?}…"),
        false => format!("{shown:?}"),
    }
}

/// Free text such as a host's reason: quotes stay as they are, control and non-printing
/// characters are escaped, and the text is cut to [`MAX_REASON_CHARS`] characters.
pub fn plain(text: &str) -> String {
    let (shown, cut_off) = cut(text, MAX_REASON_CHARS);
    // Printable ASCII is shown as it is: the common case (names, images) costs one copy.
    if !cut_off && shown.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return shown.to_string();
    }
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '"' | '\'' | '\\' => out.push(c),
            _ => out.extend(c.escape_debug()),
        }
    }
    if cut_off {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_plain_escape_what_could_forge_a_line() {
        let cases: &[(&str, &str, &str)] = &[
            ("app", "\"app\"", "app"),
            ("a\"b", "\"a\\\"b\"", "a\"b"),
            ("x\n: verified", "\"x\\n: verified\"", "x\\n: verified"),
            ("\r\u{1b}[2K", "\"\\r\\u{1b}[2K\"", "\\r\\u{1b}[2K"),
            ("nul\0", "\"nul\\0\"", "nul\\0"),
            ("rtl\u{202e}", "\"rtl\\u{202e}\"", "rtl\\u{202e}"),
            ("zw\u{200b}", "\"zw\\u{200b}\"", "zw\\u{200b}"),
            ("tab\t", "\"tab\\t\"", "tab\\t"),
            ("é", "\"é\"", "é"),
        ];
        for (text, want_quoted, want_plain) in cases {
            assert_eq!(quoted(text), *want_quoted, "{text:?}");
            assert_eq!(plain(text), *want_plain, "{text:?}");
        }
    }

    #[test]
    fn long_values_are_cut() {
        let long = "a".repeat(MAX_QUOTED_CHARS + 5);
        assert_eq!(
            quoted(&long),
            format!("\"{}\"…", "a".repeat(MAX_QUOTED_CHARS))
        );
        let reason = "b".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(plain(&reason), format!("{}…", "b".repeat(MAX_REASON_CHARS)));
    }
}
