//! The settings as a JSON tree borrowed from the payload they arrive in. Settings travel with
//! every `validate` call, so reading them is paid on every admission: a `serde_json::Value`
//! allocates every key and string and hashes every key into an index map, where this tree
//! borrows strings without escapes and keeps an object's fields in a short list (settings
//! objects hold a handful of keys; a scan is cheaper than hashing).
//!
//! It keeps the meaning of a `Value` read with `preserve_order`, so the settings rules stay
//! those of the JSON: fields in document order, a repeated key keeps its first position and its
//! last value, numbers are `serde_json::Number`s.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use crate::json_scan::{self, Scanner};

/// A JSON value of the settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string, borrowed from the payload unless it holds an escape.
    String(Cow<'a, str>),
    /// A list.
    Array(Vec<Node<'a>>),
    /// An object.
    Object(Object<'a>),
}

/// An object's fields in document order, each key once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object<'a>(Vec<(Cow<'a, str>, Node<'a>)>);

impl<'a> Object<'a> {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether the object holds `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The keys, in document order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }

    /// The values, in document order.
    pub fn values(&self) -> impl Iterator<Item = &Node<'a>> {
        self.0.iter().map(|(_, v)| v)
    }

    /// The fields, in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// A repeated key keeps its first position and takes the later value, as an index map does.
    fn insert(&mut self, key: Cow<'a, str>, value: Node<'a>) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key, value)),
        }
    }
}

impl<'a> Node<'a> {
    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }

    /// The number, when it is a whole number from 0 to `u64::MAX`.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Node::Number(number) => number.as_u64(),
            _ => None,
        }
    }

    /// The tree of a `Value`, borrowing its strings (for callers that hold a `Value` already).
    pub fn of_value(value: &'a Value) -> Self {
        match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.clone()),
            Value::String(s) => Node::String(Cow::Borrowed(s)),
            Value::Array(items) => Node::Array(items.iter().map(Node::of_value).collect()),
            Value::Object(map) => Node::Object(Object(
                map.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Node::of_value(v)))
                    .collect(),
            )),
        }
    }
}

/// Parse settings bytes into the tree: by the scanner when it answers, else by serde_json (the
/// same tree, or serde_json's error).
pub fn read(bytes: &[u8]) -> Result<Node<'_>, serde_json::Error> {
    match json_scan::scan(bytes, scan_node) {
        Some(tree) => Ok(tree),
        None => serde_json::from_slice(bytes),
    }
}

/// The scanner's reading of a value into the tree: what the visitor below builds.
pub fn scan_node<'a>(scanner: &mut Scanner<'a>, depth: usize) -> Option<Node<'a>> {
    scan_value(&mut Stacks::default(), scanner, depth)
}

type Stacks<'a> = json_scan::Stacks<Node<'a>, (Cow<'a, str>, Node<'a>)>;

fn scan_value<'a>(
    stacks: &mut Stacks<'a>,
    scanner: &mut Scanner<'a>,
    depth: usize,
) -> Option<Node<'a>> {
    let inner = || json_scan::deeper(depth);
    Some(match scanner.peek()? {
        b'"' => Node::String(scanner.string()?),
        b'{' => {
            let inner = inner()?;
            Node::Object(Object(stacks.object(
                scanner,
                |stacks, scanner, key, start| {
                    let value = scan_value(stacks, scanner, inner)?;
                    // As `Object::insert`: a repeated key keeps its place, takes the new value.
                    match stacks.kept(start).iter_mut().find(|(k, _)| *k == key) {
                        Some((_, slot)) => *slot = value,
                        None => stacks.keep((key, value)),
                    }
                    Some(())
                },
            )?))
        }
        b'[' => {
            let inner = inner()?;
            Node::Array(stacks.list(scanner, |stacks, scanner| {
                scan_value(stacks, scanner, inner)
            })?)
        }
        b't' | b'f' => Node::Bool(scanner.boolean()?),
        b'n' => {
            scanner.null()?;
            Node::Null
        }
        _ => Node::Number(scanner.integer()?.into()),
    })
}

impl<'a> Deserialize<'a> for Node<'a> {
    fn deserialize<D: Deserializer<'a>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

/// An object key, borrowed from the payload where it holds no escape (the admission reader's
/// sparse tree reads its keys with it too).
pub struct KeyName<'a>(pub Cow<'a, str>);

impl<'a> Deserialize<'a> for KeyName<'a> {
    fn deserialize<D: Deserializer<'a>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'a> Visitor<'a> for KeyVisitor {
            type Value = KeyName<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, text: &'a str) -> Result<Self::Value, E> {
                Ok(KeyName(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(KeyName(Cow::Owned(text.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct NodeVisitor;

impl<'a> Visitor<'a> for NodeVisitor {
    type Value = Node<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Node::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
        // JSON has no NaN nor infinity: every f64 the parser hands over is finite.
        Ok(Number::from_f64(n).map_or(Node::Null, Node::Number))
    }
    fn visit_borrowed_str<E>(self, text: &'a str) -> Result<Self::Value, E> {
        Ok(Node::String(Cow::Borrowed(text)))
    }
    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Node::String(Cow::Owned(text.to_string())))
    }
    fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
        Ok(Node::String(Cow::Owned(text)))
    }
    fn visit_seq<S: SeqAccess<'a>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut object = Object::default();
        while let Some(KeyName(key)) = map.next_key()? {
            object.insert(key, map.next_value()?);
        }
        Ok(Node::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree read from the bytes is the tree of the `Value` serde_json reads from them:
    /// same fields in the same order, repeated keys resolved the same way, same numbers.
    #[test]
    fn reads_like_a_value() {
        let texts = [
            r#"null"#,
            r#"{"a": 1, "b": [true, null, "x"], "c": {"d": -2, "e": 1.5}}"#,
            r#"{"k": 1, "j": 2, "k": 3}"#,
            r#"{"k": {"x": 1}, "k": "later"}"#,
            r#"{"pem": "-----BEGIN\nX\u0041-----\n", "n": 18446744073709551615, "big": 1e300}"#,
            r#"{"\u0073ignatures": [{"image": "a/*", "pubKeys": ["k"]}]}"#,
            r#"[[], {}, "", 0]"#,
        ];
        for text in texts {
            let value: Value = serde_json::from_str(text).unwrap();
            let tree = read(text.as_bytes()).unwrap();
            assert_eq!(tree, Node::of_value(&value), "{text}");
        }
    }

    proptest::proptest! {
        /// Whenever the scanner answers, serde_json reads the same tree; and it answers for
        /// every unedited text whose numbers are all plain whole numbers.
        #[test]
        fn the_scanner_reads_as_serde_json((value, text, edited) in crate::json_scan::test_texts::texts()) {
            let scanned = json_scan::scan(text.as_bytes(), scan_node);
            if let Some(tree) = &scanned {
                let by_serde: Node<'_> = serde_json::from_str(&text).unwrap();
                proptest::prop_assert_eq!(tree, &by_serde, "{:?}", text);
            }
            if !edited && crate::json_scan::test_texts::plain(&value) {
                proptest::prop_assert!(scanned.is_some(), "{:?}", text);
            }
        }
    }

    #[test]
    fn refuses_what_is_not_json() {
        for text in ["", "{", r#"{"a" 1}"#, "[1,]", "nul"] {
            assert!(read(text.as_bytes()).is_err(), "{text}");
        }
    }
}
