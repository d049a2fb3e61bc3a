//! A strict one-pass JSON scanner for the shapes Kubernetes and the engine write, used as the
//! fast path of the two trees the policy reads (`admission::Json`, `settings::Node`).
//!
//! serde_json reads every key through its general string parser and UTF-8 check, skips unread
//! values with a second scanner, and grows every list one push at a time: about half of a
//! `validate` that matches no rule. This scanner checks the payload's UTF-8 once, borrows
//! every string without an escape, and builds nothing it is not asked for.
//!
//! It answers only for what it reads exactly as serde_json does, and gives up (`None`) on
//! everything else: text that is not JSON, nesting deeper than [`MAX_DEPTH`], a number with a
//! sign, fraction or exponent or above `u64::MAX`, a `\u` escape of a surrogate. The caller then
//! reads the payload with serde_json, which gives the same tree or the error message it always
//! gave. So the fast path decides nothing on its own; a property test checks that whenever it
//! answers, serde_json answers the same tree.

use std::borrow::Cow;

/// Deepest nesting of lists and objects the scanner follows (serde_json's limit is 128).
pub const MAX_DEPTH: usize = 64;

/// A position in a UTF-8 payload.
pub struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

/// Reads `bytes` whole with `value` (called at depth 0); `None` when the bytes are not UTF-8,
/// `value` gives up, or anything but whitespace follows the value.
pub fn scan<'a, T>(
    bytes: &'a [u8],
    value: impl FnOnce(&mut Scanner<'a>, usize) -> Option<T>,
) -> Option<T> {
    let mut scanner = Scanner {
        text: std::str::from_utf8(bytes).ok()?,
        at: 0,
    };
    let read = value(&mut scanner, 0)?;
    scanner.skip_whitespace();
    (scanner.at == scanner.text.len()).then_some(read)
}

/// The bytes that end a run of plain string bytes: `"`, `\` and the control characters.
#[allow(clippy::indexing_slicing)] // constant evaluation: an index out of range fails the build
const STOPS_A_RUN: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The depth inside a list or object at `depth`, if the scanner follows it.
pub fn deeper(depth: usize) -> Option<usize> {
    (depth < MAX_DEPTH).then_some(depth + 1)
}

/// The lists and objects of a tree being read, on two stacks (`I` a value, `F` an object's
/// field): each is moved off in one allocation of its final size once read, where a `Vec`
/// grown push by push reallocates two or three times.
pub struct Stacks<I, F> {
    items: Vec<I>,
    fields: Vec<F>,
}

impl<I, F> Default for Stacks<I, F> {
    /// Room for what the engine's requests and common settings hold without growing.
    fn default() -> Self {
        Self {
            items: Vec::with_capacity(16),
            fields: Vec::with_capacity(32),
        }
    }
}

impl<I, F> Stacks<I, F> {
    /// A list, each value read by `item`.
    pub fn list<'a>(
        &mut self,
        scanner: &mut Scanner<'a>,
        item: impl Fn(&mut Self, &mut Scanner<'a>) -> Option<I>,
    ) -> Option<Vec<I>> {
        let start = self.items.len();
        scanner.array(|scanner| {
            let value = item(self, scanner)?;
            self.items.push(value);
            Some(())
        })?;
        Some(self.items.split_off(start))
    }

    /// An object: `field` reads each key's value and keeps what it wants with
    /// [`Stacks::keep`]; it is given where this object's fields start, for [`Stacks::kept`].
    pub fn object<'a>(
        &mut self,
        scanner: &mut Scanner<'a>,
        field: impl Fn(&mut Self, &mut Scanner<'a>, Cow<'a, str>, usize) -> Option<()>,
    ) -> Option<Vec<F>> {
        let start = self.fields.len();
        scanner.object(|scanner, key| field(self, scanner, key, start))?;
        Some(self.fields.split_off(start))
    }

    /// The fields kept so far of the object whose fields start at `start`.
    pub fn kept(&mut self, start: usize) -> &mut [F] {
        self.fields.get_mut(start..).unwrap_or_default()
    }

    /// Keeps a field of the object being read.
    pub fn keep(&mut self, field: F) {
        self.fields.push(field);
    }
}

impl<'a> Scanner<'a> {
    fn byte(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.byte() {
            self.at += 1;
        }
    }

    /// The first byte of the next value or token, after whitespace.
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.byte()
    }

    fn eat(&mut self, token: u8) -> bool {
        let found = self.peek() == Some(token);
        if found {
            self.at += 1;
        }
        found
    }

    /// An object: `field` reads the value of each key, in document order.
    pub fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, Cow<'a, str>) -> Option<()>,
    ) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let key = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            field(self, key)?;
            if !self.eat(b',') {
                return self.eat(b'}').then_some(());
            }
        }
    }

    /// A list: `item` reads each value, in order.
    pub fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if !self.eat(b'[') {
            return None;
        }
        if self.eat(b']') {
            return Some(());
        }
        loop {
            item(self)?;
            if !self.eat(b',') {
                return self.eat(b']').then_some(());
            }
        }
    }

    /// A string, borrowed from the payload unless it holds an escape.
    pub fn string(&mut self) -> Option<Cow<'a, str>> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        self.plain_run();
        match self.byte()? {
            b'"' => {
                let text = self.text.get(start..self.at)?;
                self.at += 1;
                Some(Cow::Borrowed(text))
            }
            b'\\' => {
                // Checked to its end first, so the text is allocated once at a size that holds
                // it (escapes only shorten it).
                let first_escape = self.at;
                self.escaped_rest(None)?;
                let mut owned = String::with_capacity(self.at - start);
                owned.push_str(self.text.get(start..first_escape)?);
                self.at = first_escape;
                self.escaped_rest(Some(&mut owned))?;
                Some(Cow::Owned(owned))
            }
            _ => None,
        }
    }

    /// Moves past the bytes a string holds as they are: everything but `"`, `\` and control
    /// characters (which JSON allows only escaped).
    fn plain_run(&mut self) {
        let bytes = self.text.as_bytes();
        self.at += bytes
            .get(self.at..)
            .unwrap_or_default()
            .iter()
            .position(|&byte| STOPS_A_RUN.get(usize::from(byte)).copied().unwrap_or(true))
            .unwrap_or(bytes.len().saturating_sub(self.at));
    }

    /// The rest of a string from its first escape to its closing quote, appended to `out` when
    /// given (else only checked).
    fn escaped_rest(&mut self, mut out: Option<&mut String>) -> Option<()> {
        loop {
            match self.byte()? {
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                b'\\' => {
                    let escape = self.text.as_bytes().get(self.at + 1).copied()?;
                    self.at += 2;
                    let decoded = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.hex_escape()?,
                        _ => return None,
                    };
                    if let Some(out) = out.as_deref_mut() {
                        out.push(decoded);
                    }
                }
                byte if byte < 0x20 => return None,
                _ => {
                    let start = self.at;
                    self.plain_run();
                    if let Some(out) = out.as_deref_mut() {
                        out.push_str(self.text.get(start..self.at)?);
                    }
                }
            }
        }
    }

    /// The character of `\uXXXX` after the `u`; `None` for a surrogate (half of a pair or
    /// lone), which serde_json reads by rules of its own.
    fn hex_escape(&mut self) -> Option<char> {
        let digits = self.text.get(self.at..self.at + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.at += 4;
        char::from_u32(u32::from_str_radix(digits, 16).ok()?)
    }

    /// A string, checked and skipped.
    fn skip_string(&mut self) -> Option<()> {
        if !self.eat(b'"') {
            return None;
        }
        self.plain_run();
        self.escaped_rest(None)
    }

    /// Moves past `word` when it comes next.
    fn literal(&mut self, word: &str) -> bool {
        self.skip_whitespace();
        let found = self
            .text
            .get(self.at..)
            .is_some_and(|rest| rest.starts_with(word));
        if found {
            self.at += word.len();
        }
        found
    }

    /// `true` or `false`.
    pub fn boolean(&mut self) -> Option<bool> {
        match self.literal("true") {
            true => Some(true),
            false => self.literal("false").then_some(false),
        }
    }

    /// `null`.
    pub fn null(&mut self) -> Option<()> {
        self.literal("null").then_some(())
    }

    /// A number written as a whole number from 0 to `u64::MAX` without sign, fraction or
    /// exponent (serde_json reads those as `u64`); `None` for any other number.
    pub fn integer(&mut self) -> Option<u64> {
        self.skip_whitespace();
        let mut value: u64 = 0;
        let start = self.at;
        while let Some(digit @ b'0'..=b'9') = self.byte() {
            // A leading zero is the whole number: `01` is no JSON.
            if self.at > start && value == 0 {
                return None;
            }
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
            self.at += 1;
        }
        match self.byte() {
            _ if self.at == start => None,
            Some(b'.' | b'e' | b'E') => None,
            _ => Some(value),
        }
    }

    /// Any value, checked and skipped.
    pub fn skip_value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' => {
                let inner = deeper(depth)?;
                self.object(|scanner, _| scanner.skip_value(inner))
            }
            b'[' => {
                let inner = deeper(depth)?;
                self.array(|scanner| scanner.skip_value(inner))
            }
            b't' | b'f' => self.boolean().map(drop),
            b'n' => self.null(),
            _ => self.integer().map(drop),
        }
    }

    /// Where the next value starts, for [`Scanner::since`].
    pub fn value_start(&mut self) -> usize {
        self.skip_whitespace();
        self.at
    }

    /// The text from `start` to here: after reading a value from its [`Scanner::value_start`],
    /// the text it is written as (what serde_json's `RawValue` holds).
    pub fn since(&self, start: usize) -> Option<&'a str> {
        self.text.get(start..self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped(text: &str) -> Option<()> {
        scan(text.as_bytes(), |scanner, depth| scanner.skip_value(depth))
    }

    #[test]
    fn reads_strings_as_json_means_them() {
        let cases = [
            (r#""plain""#, Some("plain")),
            (
                r#""a\"b\\c\/d\b\f\n\r\t""#,
                Some("a\"b\\c/d\u{8}\u{c}\n\r\t"),
            ),
            (r#""\u0041\u00e9\u2028x""#, Some("A\u{e9}\u{2028}x")),
            ("\"é ü 漢\"", Some("é ü 漢")),
            (r#""\ud83d\ude00""#, None),
            (r#""\u+041""#, None),
            (r#""\x""#, None),
            ("\"tab\tin\"", None),
            (r#""open"#, None),
        ];
        for (text, expected) in cases {
            let read = scan(text.as_bytes(), |scanner, _| scanner.string());
            assert_eq!(read.as_deref(), expected, "{text}");
            assert_eq!(skipped(text).is_some(), expected.is_some(), "{text}");
        }
    }

    #[test]
    fn reads_only_plain_whole_numbers() {
        let cases = [
            ("0", Some(0)),
            ("7", Some(7)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("01", None),
            ("-1", None),
            ("1.5", None),
            ("1e3", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                scan(text.as_bytes(), |s, _| s.integer()),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn gives_up_on_what_is_not_json_or_too_deep() {
        for text in [
            "",
            "{",
            "[1,]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            "nul",
            "truex",
            "[1 2]",
            "{} {}",
        ] {
            assert_eq!(skipped(text), None, "{text}");
        }
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(skipped(&deep(MAX_DEPTH)), Some(()));
        assert_eq!(skipped(&deep(MAX_DEPTH + 1)), None);
        assert_eq!(scan(b"\"\xff\"", |s, _| s.string()), None);
    }
}

/// JSON texts for the property tests of the trees read through the scanner: random documents
/// in the spellings serde_json and Kubernetes write (compact or indented, characters written
/// as `\u` escapes), each maybe with one byte replaced, removed or inserted.
#[cfg(test)]
pub mod test_texts {
    use proptest::prelude::*;
    use serde_json::Value;

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0u64..1000).prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            "[a-zA-Z0-9:/@._\"\\\\\n\t\u{1}é\u{2028}😀 -]{0,12}".prop_map(Value::from),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "request",
                "settings",
                "object",
                "oldObject",
                "kind",
                "metadata",
                "spec",
                "containers",
                "image",
                "name",
                "signatures",
                "pubKeys",
                "x",
                "é",
            ])
            .prop_map(String::from),
            "[a-zA-Z\"\\\\é]{0,6}",
        ]
    }

    fn document() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..6)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    /// Whether the scanner must answer for the text of `value` as serde_json writes it: every
    /// number is a whole number from 0 to `u64::MAX`.
    pub fn plain(value: &Value) -> bool {
        match value {
            Value::Number(n) => n.is_u64(),
            Value::Array(items) => items.iter().all(plain),
            Value::Object(fields) => fields.values().all(plain),
            _ => true,
        }
    }

    /// `(value, text, edited)`: a document, a text of it, and whether one byte was edited (the
    /// text may then be no JSON, or another document).
    pub fn texts() -> impl Strategy<Value = (Value, String, bool)> {
        (
            document(),
            any::<bool>(),
            any::<bool>(),
            0usize..4,
            any::<prop::sample::Index>(),
            prop::sample::select(b"\"\\{}[],:0-1.eE tnu\n\xc3".to_vec()),
        )
            .prop_map(|(value, pretty, escaped, edit, at, byte)| {
                let text = match pretty {
                    true => serde_json::to_string_pretty(&value),
                    false => serde_json::to_string(&value),
                }
                .unwrap_or_default();
                // `A` and `/` occur only inside strings: their escapes mean the same text.
                let text = match escaped {
                    true => text.replace('A', "\\u0041").replace('/', "\\/"),
                    false => text,
                };
                let mut bytes = text.into_bytes();
                let at = at.index(bytes.len() + 1);
                match edit {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    2 => bytes.insert(at, byte),
                    _ => return (value, String::from_utf8(bytes).unwrap_or_default(), false),
                }
                (value, String::from_utf8_lossy(&bytes).into_owned(), true)
            })
    }
}
