//! `questions-ui.yml` rendered the way the Rancher UI (kubewarden-ui) fills a form: top-level
//! questions seed their defaults (dotted variables become nested maps); choosing a kind sets
//! `rule`; "Add" on a sequence appends an item holding the default of every one of its
//! `sequence_questions`, whatever their `show_if`; nested sequences and maps are edited as YAML
//! whose template holds the defaults of their own questions. Every kind's path must give
//! settings the policy accepts once the required fields are filled, and nothing but the
//! required fields may be missing when they are not.

mod common;

use common::*;
use serde_json::{Map, Value, json};

const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn form() -> Vec<Value> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("questions-ui.yml"),
    )
    .unwrap();
    let form: Value = serde_yaml::from_str(&text).unwrap();
    form["questions"].as_array().unwrap().clone()
}

/// `set(values, "a.b", v)` of the UI: dotted variables are paths.
fn set_path(values: &mut Map<String, Value>, variable: &str, value: Value) {
    match variable.split_once('.') {
        None => {
            values.insert(variable.to_string(), value);
        }
        Some((head, rest)) => {
            let inner = values
                .entry(head.to_string())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .unwrap();
            set_path(inner, rest, value);
        }
    }
}

/// What the user types into a required field (by variable name).
fn sample(variable: &str) -> Value {
    match variable {
        "image" => json!("ghcr.io/org/*"),
        "pubKeys" => json!([pem("cosign.pub")]),
        "certificates" => json!([pem("leaf.pem")]),
        "issuer" => json!(ISSUER),
        "subject" => {
            json!("https://github.com/org/app/.github/workflows/release.yml@refs/heads/main")
        }
        "urlPrefix" => json!("https://github.com/org/"),
        "subjectRegExp" => json!("https://github.com/org/.*"),
        "owner" | "githubActions.owner" => json!("org"),
        other => panic!("the test has no sample value for required field {other}"),
    }
}

/// A new sequence item as the UI seeds it; `fill`: the user then fills the required fields
/// (nested sequences through their YAML template, which holds their questions' defaults).
fn seeded_item(question: &Value, fill: bool) -> Value {
    let mut item = Map::new();
    for sub in question["sequence_questions"].as_array().unwrap() {
        let variable = sub["variable"].as_str().unwrap();
        let required = sub["required"].as_bool().unwrap_or(false);
        let kind = sub["type"].as_str().unwrap();
        let value = if !fill || !required {
            sub["default"].clone()
        } else if kind.starts_with("sequence[") {
            json!([seeded_item(sub, true)])
        } else if kind.starts_with("map[") && sub.get("subquestions").is_some() {
            let mut map = Map::new();
            for field in sub["subquestions"].as_array().unwrap() {
                let path = field["variable"].as_str().unwrap();
                let key = path.rsplit('.').next().unwrap();
                let value = if field["required"].as_bool().unwrap_or(false) {
                    sample(path)
                } else {
                    field["default"].clone()
                };
                map.insert(key.to_string(), value);
            }
            Value::Object(map)
        } else {
            sample(variable)
        };
        item.insert(variable.to_string(), value);
    }
    Value::Object(item)
}

/// The settings the form produces for kind `kind` with one rule added.
fn render(kind: &str, fill: bool) -> Value {
    let questions = form();
    let mut values = Map::new();
    for question in &questions {
        set_path(
            &mut values,
            question["variable"].as_str().unwrap(),
            question["default"].clone(),
        );
    }
    values.insert("rule".into(), json!(kind));
    let show_if = format!("rule={kind}");
    let sequence = questions
        .iter()
        .find(|q| q["show_if"].as_str() == Some(&show_if))
        .unwrap_or_else(|| panic!("no sequence shown for {show_if}"));
    assert_eq!(sequence["variable"], "signatures");
    let item = seeded_item(sequence, fill);
    values
        .get_mut("signatures")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(item);
    Value::Object(values)
}

fn kinds() -> Vec<String> {
    let questions = form();
    let selector = questions
        .iter()
        .find(|q| q["variable"] == "rule")
        .expect("a kind selector");
    selector["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect()
}

fn validate(settings: &Value) -> Result<(), String> {
    let response =
        sigpin::validate_settings(&serde_json::to_vec(settings).unwrap(), &FakeHost::new());
    match response.valid {
        true => Ok(()),
        false => Err(response.message.unwrap_or_default()),
    }
}

#[test]
fn every_kind_of_the_form_yields_settings_the_policy_accepts() {
    let kinds = kinds();
    assert_eq!(kinds.len(), 6, "{kinds:?}");
    for kind in kinds {
        let settings = render(&kind, true);
        assert_eq!(validate(&settings), Ok(()), "{kind}: {settings:#}");
    }
}

#[test]
fn an_untouched_rule_is_refused_only_for_its_empty_image() {
    for kind in kinds() {
        let settings = render(&kind, false);
        let message = validate(&settings).unwrap_err();
        assert!(
            message.ends_with("field \"image\": must not be empty"),
            "{kind}: {message}"
        );
    }
}

#[test]
fn the_form_offers_the_extensions_operators_need() {
    let questions = form();
    assert!(
        questions
            .iter()
            .any(|q| q["variable"] == "keylessTrustRoot.fulcioChain")
    );
    for sequence in questions.iter().filter(|q| q["variable"] == "signatures") {
        let fields: Vec<&str> = sequence["sequence_questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["variable"].as_str().unwrap())
            .collect();
        for field in ["mode", "namespaces", "excludeNamespaces"] {
            assert!(fields.contains(&field), "{}: {field}", sequence["label"]);
        }
        if sequence["show_if"] != "rule=GithubAction" {
            assert!(fields.contains(&"threshold"), "{}", sequence["label"]);
        }
    }
}
