//! The parts of the `validate` payload the policy reads, deserialised straight from the bytes:
//! a sparse JSON tree that keeps only the keys the policy reads ([`Key`]), with strings
//! borrowed from the payload where they hold no escape. Everything else is parsed (the payload
//! must be JSON) and dropped unread; the settings are read whole into their own borrowed tree
//! ([`Node`]). No `serde_json::Value` of the request is built: the request's `object` and
//! `oldObject` are read in the same pass into the same sparse tree, their text kept beside it
//! ([`Json::Embedded`]), and the object is parsed whole from that text only when it is to be
//! patched. The payload is read by [`crate::json_scan`] first, by serde_json when the scanner
//! gives up (same tree, or serde_json's error).
//!
//! It reads like a `Value` on purpose, so the workload rules stay those of the JSON: a repeated
//! key keeps its last value, a missing field and `null` are told apart, a field of another
//! type than expected is a value of that type, never a parse error. One tree type, not one
//! struct per Kubernetes type: each deserialisable type costs kilobytes of the module.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::json_scan::{self, Scanner};
use crate::settings::{KeyName, Node, scan_node};

/// The keys the policy reads, wherever they occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `request`: the admission request in the envelope.
    Request,
    /// The policy settings, read whole as a [`Node`] for `settings::parse_admitted_settings`.
    Settings,
    /// `kind` (of the request, and of the group/version/kind).
    Kind,
    /// `group`.
    Group,
    /// `version`.
    Version,
    /// `operation`.
    Operation,
    /// `namespace`.
    Namespace,
    /// `name`.
    Name,
    /// `subResource`.
    SubResource,
    /// `object` (with `oldObject`, kept as its tree and its text).
    Object,
    /// `oldObject`.
    OldObject,
    /// `metadata`.
    Metadata,
    /// `generateName`.
    GenerateName,
    /// `spec`.
    Spec,
    /// `template`.
    Template,
    /// `jobTemplate`.
    JobTemplate,
    /// `containers`.
    Containers,
    /// `initContainers`.
    InitContainers,
    /// `ephemeralContainers`.
    EphemeralContainers,
    /// `volumes`.
    Volumes,
    /// `image`.
    Image,
    /// `reference` (of an image volume).
    Reference,
}

impl Key {
    /// The key a JSON pointer segment or an object key names, if the policy reads it. Every
    /// key of the payload goes through here: a `match` compiles to a dispatch on the length
    /// and bytes instead of a scan of the table.
    pub fn of(name: &str) -> Option<Key> {
        Some(match name {
            "request" => Key::Request,
            "settings" => Key::Settings,
            "kind" => Key::Kind,
            "group" => Key::Group,
            "version" => Key::Version,
            "operation" => Key::Operation,
            "namespace" => Key::Namespace,
            "name" => Key::Name,
            "subResource" => Key::SubResource,
            "object" => Key::Object,
            "oldObject" => Key::OldObject,
            "metadata" => Key::Metadata,
            "generateName" => Key::GenerateName,
            "spec" => Key::Spec,
            "template" => Key::Template,
            "jobTemplate" => Key::JobTemplate,
            "containers" => Key::Containers,
            "initContainers" => Key::InitContainers,
            "ephemeralContainers" => Key::EphemeralContainers,
            "volumes" => Key::Volumes,
            "image" => Key::Image,
            "reference" => Key::Reference,
            _ => return None,
        })
    }
}

/// A JSON value as far as the policy reads it.
#[derive(Debug, PartialEq)]
pub enum Json<'a> {
    /// `null`.
    Null,
    /// A string, borrowed from the payload unless it holds an escape.
    Text(Cow<'a, str>),
    /// A boolean or a number, by the name messages give its type.
    Other(&'static str),
    /// A list.
    List(Vec<Json<'a>>),
    /// The known keys in document order; unknown keys are left out.
    Object(Vec<(Key, Json<'a>)>),
    /// `object` / `oldObject`: the text as written (what a patch starts from) and its tree.
    Embedded(&'a str, Box<Json<'a>>),
    /// `settings`, whole.
    Settings(Node<'a>),
}

impl<'a> Json<'a> {
    /// The value of `key` when this is an object holding it (the last one, as `Value` keeps).
    pub fn get(&self, key: Key) -> Option<&Json<'a>> {
        match self {
            Json::Object(fields) => fields.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a JSON pointer made of known keys only (`/spec/template/spec`), followed
    /// through objects only, as `Value::pointer` does for keys.
    pub fn pointer(&self, pointer: &str) -> Option<&Json<'a>> {
        pointer
            .split('/')
            .skip(1)
            .try_fold(self, |node, segment| node.get(Key::of(segment)?))
    }

    /// The text, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Text(text) => Some(text),
            _ => None,
        }
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// The tree of `object` / `oldObject`; `None` when this is no such value or it is `null`.
    pub fn embedded_tree(&self) -> Option<&Json<'a>> {
        match self {
            Json::Embedded(_, tree) if !matches!(**tree, Json::Null) => Some(tree),
            _ => None,
        }
    }

    /// The text `object` / `oldObject` is written as.
    pub fn embedded_text(&self) -> Option<&'a str> {
        match self {
            Json::Embedded(text, _) => Some(text),
            _ => None,
        }
    }

    /// What a message calls the type of this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Text(_) => "a string",
            Json::Other(name) => name,
            Json::List(_) => "a list",
            Json::Object(_) | Json::Embedded(..) | Json::Settings(_) => "an object",
        }
    }
}

/// Parse JSON bytes into the sparse tree: by the scanner when it answers, else by serde_json
/// (the same tree, or serde_json's error).
pub fn read(bytes: &[u8]) -> Result<Json<'_>, serde_json::Error> {
    match json_scan::scan(bytes, scan_json) {
        Some(tree) => Ok(tree),
        None => serde_json::from_slice(bytes),
    }
}

/// The scanner's reading of a payload into the sparse tree: what the visitor below builds.
fn scan_json<'a>(scanner: &mut Scanner<'a>, depth: usize) -> Option<Json<'a>> {
    scan_value(&mut Stacks::default(), scanner, depth)
}

type Stacks<'a> = json_scan::Stacks<Json<'a>, (Key, Json<'a>)>;

fn scan_value<'a>(
    stacks: &mut Stacks<'a>,
    scanner: &mut Scanner<'a>,
    depth: usize,
) -> Option<Json<'a>> {
    let inner = || json_scan::deeper(depth);
    Some(match scanner.peek()? {
        b'"' => Json::Text(scanner.string()?),
        b'{' => {
            let inner = inner()?;
            Json::Object(stacks.object(scanner, |stacks, scanner, name, _| {
                let field = match Key::of(&name) {
                    None => return scanner.skip_value(inner),
                    Some(key @ (Key::Object | Key::OldObject)) => {
                        let start = scanner.value_start();
                        let tree = scan_value(stacks, scanner, inner)?;
                        (key, Json::Embedded(scanner.since(start)?, Box::new(tree)))
                    }
                    Some(Key::Settings) => {
                        (Key::Settings, Json::Settings(scan_node(scanner, inner)?))
                    }
                    Some(key) => (key, scan_value(stacks, scanner, inner)?),
                };
                stacks.keep(field);
                Some(())
            })?)
        }
        b'[' => {
            let inner = inner()?;
            Json::List(stacks.list(scanner, |stacks, scanner| {
                scan_value(stacks, scanner, inner)
            })?)
        }
        b't' | b'f' => {
            scanner.boolean()?;
            Json::Other("a boolean")
        }
        b'n' => {
            scanner.null()?;
            Json::Null
        }
        _ => {
            scanner.integer()?;
            Json::Other("a number")
        }
    })
}

impl<'a> Deserialize<'a> for Json<'a> {
    fn deserialize<D: Deserializer<'a>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'a> Visitor<'a> for JsonVisitor {
    type Value = Json<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Json::Other("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Json::Other("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Json::Other("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Json::Other("a number"))
    }
    fn visit_borrowed_str<E>(self, text: &'a str) -> Result<Self::Value, E> {
        Ok(Json::Text(Cow::Borrowed(text)))
    }
    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Json::Text(Cow::Owned(text.to_string())))
    }
    fn visit_seq<S: SeqAccess<'a>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::List(items))
    }
    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut fields = Vec::new();
        while let Some(name) = map.next_key::<KeyName<'a>>()? {
            let value = match Key::of(&name.0) {
                None => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                Some(key @ (Key::Object | Key::OldObject)) => {
                    let text = map.next_value::<&RawValue>()?.get();
                    // Text the payload holds as a value reads as one (it is less deep, too).
                    let tree = read(text.as_bytes()).map_err(M::Error::custom)?;
                    (key, Json::Embedded(text, Box::new(tree)))
                }
                Some(Key::Settings) => (Key::Settings, Json::Settings(map.next_value()?)),
                Some(key) => (key, map.next_value()?),
            };
            fields.push(value);
        }
        Ok(Json::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_scan::test_texts;

    proptest::proptest! {
        /// Whenever the scanner answers, serde_json reads the same sparse tree (with `object`
        /// and `oldObject` at the same text); and it answers for every unedited text whose
        /// numbers are all plain whole numbers.
        #[test]
        fn the_scanner_reads_as_serde_json((value, text, edited) in test_texts::texts()) {
            let scanned = json_scan::scan(text.as_bytes(), scan_json);
            if let Some(tree) = &scanned {
                let by_serde: Json<'_> = serde_json::from_str(&text).unwrap();
                proptest::prop_assert_eq!(tree, &by_serde, "{:?}", text);
            }
            if !edited && test_texts::plain(&value) {
                proptest::prop_assert!(scanned.is_some(), "{:?}", text);
            }
        }
    }
}
