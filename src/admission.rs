//! The parts of the `validate` payload the policy reads, deserialised straight from the bytes:
//! strings borrowed from the payload where they hold no escape, everything else skipped
//! unread. No `serde_json::Value` of the request is built; the object is kept as its raw text
//! and read for what the request kind needs, and parsed whole only when it is to be patched.
//!
//! Every type here accepts any JSON (a field of the wrong type is recorded, never an error),
//! so that the workload rules, not the parser, name what is wrong, exactly as reading a
//! `Value` did: a repeated key keeps its last value, a missing field and `null` are told apart.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// A string of the payload: borrowed unless JSON escapes had to be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'a> Deserialize<'a> for Text<'a> {
    fn deserialize<D: Deserializer<'a>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'a> Visitor<'a> for TextVisitor {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'a str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_string())))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// A value the policy does not read: parsed (the payload must be JSON) and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skip;

impl<'a> Deserialize<'a> for Skip {
    fn deserialize<D: Deserializer<'a>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| Skip)
    }
}

/// Any JSON value, read as `O` when it is an object and as `L` when it is a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json<'a, O, L> {
    Null,
    Text(Cow<'a, str>),
    Object(O),
    List(L),
    /// A boolean or a number, by the name messages give its type.
    Other(&'static str),
}

/// A field read only when it is a string.
pub type Scalar<'a> = Json<'a, Skip, Skip>;

impl<'a, O, L> Json<'a, O, L> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Text(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&O> {
        match self {
            Json::Object(object) => Some(object),
            _ => None,
        }
    }

    /// What a message calls the type of this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Text(_) => "a string",
            Json::Object(_) => "an object",
            Json::List(_) => "a list",
            Json::Other(name) => name,
        }
    }
}

impl<'a, O: Deserialize<'a>, L: Deserialize<'a>> Deserialize<'a> for Json<'a, O, L> {
    fn deserialize<D: Deserializer<'a>>(deserializer: D) -> Result<Self, D::Error> {
        struct JsonVisitor<O, L>(PhantomData<(O, L)>);
        impl<'a, O: Deserialize<'a>, L: Deserialize<'a>> Visitor<'a> for JsonVisitor<O, L> {
            type Value = Json<'a, O, L>;
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
            fn visit_map<M: MapAccess<'a>>(self, map: M) -> Result<Self::Value, M::Error> {
                O::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Json::Object)
            }
            fn visit_seq<S: SeqAccess<'a>>(self, seq: S) -> Result<Self::Value, S::Error> {
                L::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(Json::List)
            }
        }
        deserializer.deserialize_any(JsonVisitor(PhantomData))
    }
}

/// A JSON object read into `Option` fields by key; other keys are skipped, and a repeated key
/// keeps its last value (as `serde_json::Value` does, unlike `#[derive(Deserialize)]`).
macro_rules! json_object {
    ($(#[$meta:meta])* pub struct $name:ident<$lt:lifetime> {
        $($(#[$field_meta:meta])* $key:literal => $field:ident: $ty:ty,)*
    }) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $name<$lt> {
            $($(#[$field_meta])* pub $field: Option<$ty>,)*
            _payload: PhantomData<&$lt str>,
        }

        impl<$lt> Deserialize<$lt> for $name<$lt> {
            fn deserialize<D: Deserializer<$lt>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;
                impl<$lt> Visitor<$lt> for ObjectVisitor {
                    type Value = $name<$lt>;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a JSON object")
                    }
                    fn visit_map<M: MapAccess<$lt>>(
                        self,
                        mut map: M,
                    ) -> Result<Self::Value, M::Error> {
                        let mut object = $name::default();
                        while let Some(key) = map.next_key::<Text<$lt>>()? {
                            match &*key.0 {
                                $($key => object.$field = Some(map.next_value()?),)*
                                _ => {
                                    map.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(object)
                    }
                }
                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
}

json_object! {
    /// The `validate` payload: `{"request": …, "settings": …}`.
    pub struct Envelope<'a> {
        "request" => request: Json<'a, Request<'a>, Skip>,
        /// A `Value`: the settings are parsed by `settings::parse_admitted_settings`.
        "settings" => settings: Value,
    }
}

json_object! {
    /// An `AdmissionRequest`, as far as the policy reads it.
    pub struct Request<'a> {
        "kind" => kind: Json<'a, GroupVersionKind<'a>, Skip>,
        "operation" => operation: Scalar<'a>,
        "namespace" => namespace: Scalar<'a>,
        "name" => name: Scalar<'a>,
        "subResource" => sub_resource: Scalar<'a>,
        /// Raw text: read once the kind says where its images are.
        "object" => object: &'a RawValue,
        "oldObject" => old_object: &'a RawValue,
    }
}

json_object! {
    pub struct GroupVersionKind<'a> {
        "group" => group: Scalar<'a>,
        "version" => version: Scalar<'a>,
        "kind" => kind: Scalar<'a>,
    }
}

json_object! {
    /// Any object on the way from a workload to its PodSpec, and the PodSpec itself: the
    /// request kind decides which path of `spec`/`template`/`jobTemplate` is followed.
    pub struct Node<'a> {
        "metadata" => metadata: Json<'a, Metadata<'a>, Skip>,
        "spec" => spec: Json<'a, Box<Node<'a>>, Skip>,
        "template" => template: Json<'a, Box<Node<'a>>, Skip>,
        "jobTemplate" => job_template: Json<'a, Box<Node<'a>>, Skip>,
        "containers" => containers: EntryList<'a>,
        "initContainers" => init_containers: EntryList<'a>,
        "ephemeralContainers" => ephemeral_containers: EntryList<'a>,
        "volumes" => volumes: EntryList<'a>,
    }
}

/// A PodSpec list (`containers`, `volumes`, …): each entry read when it is an object.
pub type EntryList<'a> = Json<'a, Skip, Vec<Json<'a, Entry<'a>, Skip>>>;

json_object! {
    pub struct Metadata<'a> {
        "name" => name: Scalar<'a>,
        "generateName" => generate_name: Scalar<'a>,
        "namespace" => namespace: Scalar<'a>,
    }
}

json_object! {
    /// A container or a volume: its name and its image (a string for containers, an
    /// `{"reference": …}` object for image volumes).
    pub struct Entry<'a> {
        "name" => name: Scalar<'a>,
        "image" => image: Json<'a, ImageSource<'a>, Skip>,
    }
}

json_object! {
    pub struct ImageSource<'a> {
        "reference" => reference: Scalar<'a>,
    }
}

impl<'a> Node<'a> {
    /// The object one pointer segment down, if this node holds it (as any JSON type).
    pub fn child(&self, key: &str) -> Option<&Json<'a, Box<Node<'a>>, Skip>> {
        match key {
            "spec" => self.spec.as_ref(),
            "template" => self.template.as_ref(),
            "jobTemplate" => self.job_template.as_ref(),
            _ => None,
        }
    }
}

/// The raw text of an optional object field, `None` for a missing field or `null`.
pub fn present(raw: Option<&RawValue>) -> Option<&RawValue> {
    raw.filter(|raw| raw.get() != "null")
}
