//! The table runner shared by the evaluation suites: one `Case` per behaviour, each asserting
//! the verdict, the message or the mutated object, the warnings, and how many verifications ran.

use serde_json::{Value, json};

use super::{FakeHost, read_json};

pub enum Expect {
    Accept,
    /// Accepted with the object rewritten at these (JSON pointer, image) places only.
    Mutate(Vec<(&'static str, String)>),
    Reject(String),
    /// Admitted with these warnings (also as audit annotations) and these rewrites.
    Warn(Vec<String>, Vec<(&'static str, String)>),
}

pub struct Case {
    pub name: &'static str,
    /// File under `test_data/requests/`, or an inline request.
    pub request: Request,
    pub settings: Value,
    pub host: FakeHost,
    pub expect: Expect,
    pub verify_calls: usize,
}

pub enum Request {
    Fixture(&'static str),
    Inline(Value),
}

/// Case names are built once per case for the failure report.
pub fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

pub fn check(case: Case) -> Result<(), String> {
    let request = match &case.request {
        Request::Fixture(name) => read_json(&format!("requests/{name}.json")),
        Request::Inline(value) => value.clone(),
    };
    let payload = json!({ "request": request, "settings": case.settings });
    let bytes = serde_json::to_vec(&payload).map_err(|e| e.to_string())?;
    let response = sigpin::validate(&bytes, &case.host);
    let mut problems = Vec::new();
    let no_warnings: Vec<String> = Vec::new();
    let (admitted, rewrites, warnings) = match &case.expect {
        Expect::Accept => (true, None, &no_warnings),
        Expect::Mutate(rewrites) => (true, Some(rewrites), &no_warnings),
        Expect::Warn(warnings, rewrites) => {
            (true, Some(rewrites).filter(|r| !r.is_empty()), warnings)
        }
        Expect::Reject(message) => {
            if response.message.as_deref() != Some(message.as_str()) {
                problems.push(format!(
                    "message\n  expected: {message}\n  got:      {}",
                    response.message.as_deref().unwrap_or("<none>")
                ));
            }
            (false, None, &no_warnings)
        }
    };
    if response.accepted != admitted {
        problems.push(format!(
            "expected accepted={admitted}, got {} ({:?})",
            response.accepted, response.message
        ));
    }
    if admitted && response.message.is_some() {
        problems.push(format!(
            "an accept carries a message: {:?}",
            response.message
        ));
    }
    let expected_object = rewrites.map(|rewrites| {
        let mut expected = request["object"].clone();
        for (pointer, image) in rewrites {
            match expected.pointer_mut(pointer) {
                Some(slot) => *slot = Value::String(image.clone()),
                None => problems.push(format!("fixture has no {pointer}")),
            }
        }
        expected
    });
    if response.mutated_object != expected_object {
        problems.push(format!(
            "mutated object\n  expected: {expected_object:?}\n  got:      {:?}",
            response.mutated_object
        ));
    }
    if admitted {
        let got = response.warnings.clone().unwrap_or_default();
        if got != *warnings {
            problems.push(format!(
                "warnings\n  expected: {warnings:?}\n  got:      {got:?}"
            ));
        }
        let annotations: Vec<String> = (0..warnings.len())
            .filter_map(|i| {
                response
                    .audit_annotations
                    .as_ref()
                    .and_then(|a| a.get(&format!("{}{i}", sigpin::AUDIT_ANNOTATION_PREFIX)))
                    .cloned()
            })
            .collect();
        if annotations != *warnings {
            problems.push(format!(
                "audit annotations do not repeat the warnings: {:?}",
                response.audit_annotations
            ));
        }
    }
    let calls = case.host.verify_calls();
    if calls != case.verify_calls {
        problems.push(format!(
            "expected {} verifications, the policy asked {calls}",
            case.verify_calls
        ));
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!("{}:\n  {}", case.name, problems.join("\n  "))),
    }
}

pub fn run_table(cases: Vec<Case>) {
    let count = cases.len();
    let failures: Vec<String> = cases.into_iter().filter_map(|c| check(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
