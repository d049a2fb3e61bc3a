//! Input mutation: structure-aware edits of JSON values (the policy's real input language) and
//! raw byte edits of their serialisation (what a broken client might send).

use serde_json::{Map, Value, json};

use crate::rng::Rng;

/// Strings that have broken reference parsers and matchers before.
const INTERESTING_STRINGS: [&str; 24] = [
    "",
    " ",
    "nginx",
    "NGINX",
    "docker.io/library/nginx:latest",
    "ghcr.io/org/app:v1",
    "ghcr.io/org/app:v1@sha256:1111111111111111111111111111111111111111111111111111111111111111",
    "ghcr.io/org/app@sha512:",
    "ghcr.io:443/org/app",
    "[::1]:5000/app",
    "[::1/app",
    "localhost:/app",
    "a/b/c/d/e/f/g:h@i",
    ":tag",
    "@sha256:",
    "image:latest@",
    "é/ü:ß",
    "ghcr.io/org/*",
    "*",
    "**?",
    "https://github.com/org/",
    "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----",
    "ephemeralcontainers",
];

const INTERESTING_KEYS: [&str; 16] = [
    "image",
    "containers",
    "initContainers",
    "ephemeralContainers",
    "volumes",
    "reference",
    "spec",
    "template",
    "jobTemplate",
    "kind",
    "subResource",
    "operation",
    "signatures",
    "pubKeys",
    "keylessPrefix",
    "certificateChain",
];

pub struct Mutator;

impl Mutator {
    pub fn new() -> Self {
        Self
    }

    /// A mutated serialisation of one corpus entry.
    pub fn mutate(&self, rng: &mut Rng, corpus: &[Value]) -> Vec<u8> {
        let value = self.mutate_value(rng, corpus);
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        if rng.chance(4) {
            self.mutate_bytes(rng, bytes)
        } else {
            bytes
        }
    }

    pub fn mutate_value(&self, rng: &mut Rng, corpus: &[Value]) -> Value {
        let seed = rng.pick(corpus).cloned().unwrap_or(Value::Null);
        self.mutate_one(rng, seed)
    }

    /// One to eight structural edits.
    pub fn mutate_one(&self, rng: &mut Rng, mut value: Value) -> Value {
        let edits = 1 + rng.below(8);
        for _ in 0..edits {
            let nodes = count_nodes(&value);
            let target = rng.below(nodes);
            let mut seen = 0;
            edit_nth(&mut value, target, &mut seen, rng);
        }
        value
    }

    pub fn mutate_bytes(&self, rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
        let edits = 1 + rng.below(4);
        for _ in 0..edits {
            let len = bytes.len();
            match rng.below(4) {
                0 if len > 0 => {
                    let at = rng.below(len);
                    if let Some(b) = bytes.get_mut(at) {
                        *b ^= 1 << rng.below(8);
                    }
                }
                1 if len > 0 => {
                    let at = rng.below(len);
                    bytes.truncate(at);
                }
                2 => {
                    let at = rng.below(len + 1);
                    let junk = [b'"', b'{', b'}', b'[', b']', b',', b':', b'\\', 0xc3, 0x00];
                    bytes.insert(at, rng.pick(&junk).copied().unwrap_or(0));
                }
                _ if len > 1 => {
                    let start = rng.below(len);
                    let end = (start + rng.below(64)).min(len);
                    let chunk: Vec<u8> = bytes
                        .get(start..end)
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default();
                    let at = rng.below(len);
                    bytes.splice(at..at, chunk);
                }
                _ => {}
            }
        }
        bytes
    }
}

fn count_nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(map) => map.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Depth-first walk to the `target`-th node and edit it there.
fn edit_nth(value: &mut Value, target: usize, seen: &mut usize, rng: &mut Rng) -> bool {
    if *seen == target {
        edit_node(value, rng);
        return true;
    }
    *seen += 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|v| edit_nth(v, target, seen, rng)),
        Value::Object(map) => map.values_mut().any(|v| edit_nth(v, target, seen, rng)),
        _ => false,
    }
}

fn random_scalar(rng: &mut Rng) -> Value {
    match rng.below(7) {
        0 => Value::Null,
        1 => json!(rng.chance(2)),
        2 => json!(rng.next() as i64),
        3 => json!(f64::from(rng.below(1000) as u32) / 7.0),
        4 => json!(interesting_string(rng)),
        5 => json!("x".repeat(rng.below(300))),
        _ => json!({}),
    }
}

fn interesting_string(rng: &mut Rng) -> &'static str {
    rng.pick(&INTERESTING_STRINGS).copied().unwrap_or_default()
}

fn edit_node(value: &mut Value, rng: &mut Rng) {
    match (rng.below(6), value) {
        (0, node) => *node = random_scalar(rng),
        (1, Value::Array(items)) if !items.is_empty() => {
            // Duplicate an element many times: stresses dedup and message capping.
            let index = rng.below(items.len());
            if let Some(item) = items.get(index).cloned() {
                for _ in 0..rng.below(40) {
                    items.push(item.clone());
                }
            }
        }
        (2, Value::Array(items)) if !items.is_empty() => {
            let index = rng.below(items.len());
            items.remove(index);
        }
        (3, Value::Object(map)) if !map.is_empty() => {
            let index = rng.below(map.len());
            let key = map.keys().nth(index).cloned();
            if let Some(key) = key {
                map.shift_remove(&key);
            }
        }
        (4, Value::Object(map)) => {
            let key = rng.pick(&INTERESTING_KEYS).copied().unwrap_or_default();
            let new = match rng.below(3) {
                0 => Value::Array(vec![random_scalar(rng)]),
                1 => Value::Object(Map::new()),
                _ => random_scalar(rng),
            };
            map.insert(key.to_string(), new);
        }
        (_, Value::String(text)) => {
            *text = match rng.below(3) {
                0 => interesting_string(rng).to_string(),
                1 => text.to_uppercase(),
                _ => format!("{text}{}", interesting_string(rng)),
            };
        }
        (_, node) => *node = random_scalar(rng),
    }
}
