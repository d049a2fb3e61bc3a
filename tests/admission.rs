//! `validate` on payloads that only raw JSON can spell (repeated keys, escapes, wrong types,
//! missing or `null` parts): the request is read without a `serde_json::Value`, and must read
//! exactly as a `Value` did. Each row: the raw payload and the expected verdict and message.

mod common;

use common::rules::*;
use common::*;

struct Row {
    name: &'static str,
    /// `{SETTINGS}` is replaced by settings with one pubKeys rule for `ghcr.io/org/*`.
    payload: &'static str,
    accepted: bool,
    /// The whole message, or `None` for an accept without one.
    message: Option<&'static str>,
    /// The image the mutated object holds at `/spec/containers/0/image`, when mutated.
    pinned: Option<String>,
}

fn pod(containers: &str) -> String {
    format!(
        r#"{{"uid": "u", "kind": {{"group": "", "version": "v1", "kind": "Pod"}}, "operation": "CREATE",
        "namespace": "default", "object": {{"metadata": {{"name": "p"}}, "spec": {{"containers": {containers}}}}}}}"#
    )
}

/// A request for a Pod running `ghcr.io/org/app:v1` whose `kind` key is written twice: `first`
/// then `second`, each a Kubernetes kind name in the core group.
fn kind_written_twice(first: &str, second: &str) -> String {
    envelope(
        &pod(r#"[{"name": "c", "image": "ghcr.io/org/app:v1"}]"#).replacen(
            r#""kind": {"group": "", "version": "v1", "kind": "Pod"},"#,
            &format!(
                r#""kind": {{"group": "", "version": "v1", "kind": "{first}"}}, "kind": {{"group": "", "version": "v1", "kind": "{second}"}},"#
            ),
            1,
        ),
    )
}

/// A request for a Pod running `ghcr.io/org/app:v1`, followed by `settings` (the envelope's
/// settings member as raw text, or nothing).
fn app_pod_with_settings(settings: &str) -> String {
    format!(
        r#"{{"request": {}{settings}}}"#,
        pod(r#"[{"name": "c", "image": "ghcr.io/org/app:v1"}]"#)
    )
}

/// The validation envelope around `request`, with the settings placeholder.
fn envelope(request: &str) -> String {
    format!(r#"{{"request": {request}, "settings": {{SETTINGS}}}}"#)
}

fn rows() -> Vec<Row> {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    vec![
        Row {
            name: "a repeated image key: the last value counts (a string after a number)",
            payload: leak(envelope(&pod(
                r#"[{"name": "c", "image": 5, "image": "docker.io/library/nginx:1"}]"#,
            ))),
            accepted: true,
            message: None,
            pinned: None,
        },
        Row {
            name: "a repeated image key: the last value counts (a number after a string)",
            payload: leak(envelope(&pod(
                r#"[{"name": "c", "image": "docker.io/library/nginx:1", "image": 5}]"#,
            ))),
            accepted: false,
            message: Some(
                "Pod default/p is not accepted: container \"c\": image is not a string (got a number)",
            ),
            pinned: None,
        },
        Row {
            name: "a repeated kind: the last one decides (not ours)",
            payload: leak(kind_written_twice("Pod", "ConfigMap")),
            accepted: true,
            message: None,
            pinned: None,
        },
        Row {
            name: "a repeated kind: the last one decides (a Pod, verified and pinned)",
            payload: leak(kind_written_twice("ConfigMap", "Pod")),
            accepted: true,
            message: None,
            pinned: Some(pin(APP)),
        },
        Row {
            name: "escaped key and image text read as their decoded strings, pinned as written",
            payload: leak(envelope(&pod(
                r#"[{"name": "c", "im\u0061ge": "ghcr.io\/org\/app:v1"}]"#,
            ))),
            accepted: true,
            message: None,
            pinned: Some(pin(APP)),
        },
        Row {
            name: "containers null: nothing to check",
            payload: leak(format!(
                r#"{{"request": {}, "settings": {{SETTINGS}}}}"#,
                pod("null")
            )),
            accepted: true,
            message: None,
            pinned: None,
        },
        Row {
            name: "containers of another type",
            payload: leak(format!(
                r#"{{"request": {}, "settings": {{SETTINGS}}}}"#,
                pod(r#"{"c": 1}"#)
            )),
            accepted: false,
            message: Some("Pod default/p cannot be checked: spec.containers is not a list"),
            pinned: None,
        },
        Row {
            name: "no request",
            payload: r#"{"settings": {SETTINGS}}"#,
            accepted: false,
            message: Some("the validation request has no \"request\""),
            pinned: None,
        },
        Row {
            name: "request null",
            payload: r#"{"request": null, "settings": {SETTINGS}}"#,
            accepted: false,
            message: Some("the request cannot be checked: it has no kind (group, version, kind)"),
            pinned: None,
        },
        Row {
            name: "the payload is a list",
            payload: r#"[{"request": {}}]"#,
            accepted: false,
            message: Some("the validation request has no \"request\""),
            pinned: None,
        },
        Row {
            name: "settings absent",
            payload: leak(app_pod_with_settings("")),
            accepted: false,
            message: Some(
                "the policy settings are not valid: field \"signatures\": must not be empty",
            ),
            pinned: None,
        },
        Row {
            name: "settings null",
            payload: leak(app_pod_with_settings(r#", "settings": null"#)),
            accepted: false,
            message: Some(
                "the policy settings are not valid: field \"signatures\": must not be empty",
            ),
            pinned: None,
        },
        Row {
            name: "object null on CREATE",
            payload: r#"{"request": {"kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE", "name": "p", "object": null}, "settings": {SETTINGS}}"#,
            accepted: false,
            message: Some("Pod p cannot be checked: the CREATE request has no object"),
            pinned: None,
        },
        Row {
            name: "not JSON",
            payload: r#"{"request": {"kind": "#,
            accepted: false,
            message: Some(
                "the validation request is not JSON: EOF while parsing a value at line 1 column 21",
            ),
            pinned: None,
        },
    ]
}

#[test]
fn raw_payloads_read_as_json_values_do() {
    let settings = serde_json::to_string(&settings(vec![pub_keys("ghcr.io/org/*")]))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    for row in rows() {
        let payload = row.payload.replace("{SETTINGS}", &settings);
        let host = FakeHost::new().verify(APP, PUB_KEY, verified(DIGEST_1));
        let response = sigpin::validate(payload.as_bytes(), &host);
        let pinned = response.mutated_object.as_ref().map(|object| {
            object
                .pointer("/spec/containers/0/image")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        });
        let got = (
            response.accepted,
            response.message.as_deref(),
            pinned.clone(),
        );
        if got != (row.accepted, row.message, row.pinned.clone()) {
            failures.push(format!("{}:\n  got {got:?}", row.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
