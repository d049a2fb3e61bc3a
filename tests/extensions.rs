//! The optional settings beyond upstream: image lists, thresholds, namespace scoping, warn mode,
//! requireDigest, exemptions, pinWorkloads and reverifyUnchangedImages.

mod common;

use common::cases::*;
use common::rules::*;
use common::*;
use serde_json::{Value, json};

const TOOL: &str = "quay.io/other/tool:1.0";
/// 2027-01-31T12:00:00Z and 2027-02-01T00:00:00Z, the last instant and the end of that day.
const JAN_31_NOON: i64 = 1_801_396_800;
const FEB_1: i64 = 1_801_440_000;

fn two_keys(extra: Value) -> Value {
    let mut rule = json!({"image": "quay.io/*", "pubKeys": [pem("cosign.pub"), pem("other.pub")]});
    if let (Some(rule), Some(extra)) = (rule.as_object_mut(), extra.as_object()) {
        rule.extend(extra.clone());
    }
    rule
}

fn tool_pin() -> Vec<(&'static str, String)> {
    vec![("/spec/containers/0/image", pin(TOOL))]
}

fn exemption(image: &str) -> Value {
    json!({"image": image, "reason": "vendor signs next release", "expires": "2027-01-31"})
}

fn pinned_tool_request() -> Request {
    let mut request = read_json("requests/pod-no-match.json");
    request["object"]["spec"]["containers"][0]["image"] = json!(format!("{TOOL}@{DIGEST_1}"));
    Request::Inline(request)
}

/// A host that verifies the tool with key #0 only (each key asked alone).
fn first_key_only() -> FakeHost {
    let cosign = pem("cosign.pub");
    FakeHost::new().verify_with(TOOL, PUB_KEY, move |request| {
        match request["pub_keys"].as_array().map(Vec::len) == Some(1)
            && request["pub_keys"][0] == cosign
        {
            true => verified(DIGEST_1),
            false => host_error("no matching signatures"),
        }
    })
}

fn extension_cases() -> Vec<Case> {
    let exempt = format!("quay.io/other/tool@{DIGEST_1}");
    vec![
        Case {
            name: "images: a second glob of the list matches",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![json!({"images": ["ghcr.io/*", "quay.io/other/*"], "pubKeys": [pem("cosign.pub")]})]),
            host: signed(PUB_KEY, &[TOOL]),
            expect: Expect::Mutate(tool_pin()),
            verify_calls: 1,
        },
        Case {
            name: "skipImages: a skipped image is not asked about",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![json!({"image": "*", "skipImages": ["quay.io/other/*"], "pubKeys": [pem("cosign.pub")]})]),
            host: FakeHost::new(),
            expect: Expect::Accept,
            verify_calls: 0,
        },
        Case {
            name: "threshold 1 of 2: one verified key is enough",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![two_keys(json!({"threshold": 1}))]),
            host: first_key_only(),
            expect: Expect::Mutate(tool_pin()),
            verify_calls: 2,
        },
        Case {
            name: "threshold 2 of 2: the message lists each signer",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![two_keys(json!({"threshold": 2}))]),
            host: first_key_only(),
            expect: Expect::Reject(format!(
                "Pod default/web is not accepted: container \"app\" image \"{TOOL}\": rule #0 (pubKeys) failed: 1 of 2 required signers verified: key #0 ok, key #1: no matching signatures"
            )),
            verify_calls: 2,
        },
        Case {
            name: "without threshold both keys go in one request (upstream: all must verify)",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![two_keys(json!({}))]),
            host: first_key_only(),
            expect: Expect::Reject(format!(
                "Pod default/web is not accepted: container \"app\" image \"{TOOL}\": rule #0 (pubKeys) failed: no matching signatures"
            )),
            verify_calls: 1,
        },
        Case {
            name: "namespaces: a rule for other namespaces does not apply",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![json!({"image": "*", "namespaces": ["prod-*"], "pubKeys": [pem("cosign.pub")]})]),
            host: FakeHost::new(),
            expect: Expect::Accept,
            verify_calls: 0,
        },
        Case {
            name: "namespaces: a matching namespace glob applies the rule",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![json!({"image": "*", "namespaces": ["def*"], "pubKeys": [pem("cosign.pub")]})]),
            host: FakeHost::new().verify(TOOL, PUB_KEY, host_error("no matching signatures")),
            expect: Expect::Reject(format!(
                "Pod default/web is not accepted: container \"app\" image \"{TOOL}\": rule #0 (pubKeys) failed: no matching signatures"
            )),
            verify_calls: 1,
        },
        Case {
            name: "excludeNamespaces: an excluded namespace is out of scope",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![json!({"image": "*", "excludeNamespaces": ["default"], "pubKeys": [pem("cosign.pub")]})]),
            host: FakeHost::new(),
            expect: Expect::Accept,
            verify_calls: 0,
        },
        Case {
            name: "a request without namespace meets rules without namespaces only",
            request: Request::Fixture("pod-no-namespace"),
            settings: settings(vec![
                json!({"image": "*", "namespaces": ["*"], "githubActions": {"owner": "org"}}),
                pub_keys("quay.io/*"),
            ]),
            host: signed(PUB_KEY, &[TOOL]),
            expect: Expect::Mutate(tool_pin()),
            verify_calls: 1,
        },
        Case {
            name: "warn mode: a failing warn rule admits with a warning; verified images are pinned",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![
                pub_keys("quay.io/*"),
                json!({"image": "quay.io/*", "mode": "warn", "githubActions": {"owner": "org"}}),
            ]),
            host: signed(PUB_KEY, &[TOOL]).verify(TOOL, GITHUB, host_error("no matching signatures")),
            expect: Expect::Warn(
                vec![format!("container \"app\" image \"{TOOL}\": rule #1 (githubActions) failed: no matching signatures (warn mode: admitted)")],
                tool_pin(),
            ),
            verify_calls: 2,
        },
        Case {
            name: "warn mode alone: nothing verified, nothing pinned, admitted with a warning",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![json!({"image": "*", "mode": "warn", "pubKeys": [pem("cosign.pub")]})]),
            host: FakeHost::new().verify(TOOL, PUB_KEY, host_error("no matching signatures")),
            expect: Expect::Warn(
                vec![format!("container \"app\" image \"{TOOL}\": rule #0 (pubKeys) failed: no matching signatures (warn mode: admitted)")],
                vec![],
            ),
            verify_calls: 1,
        },
        Case {
            name: "requireDigest: a tag-only reference is rejected without asking the host",
            request: Request::Fixture("pod-no-match"),
            settings: json!({"requireDigest": true, "modifyImagesWithDigest": false, "signatures": [pub_keys("quay.io/*")]}),
            host: FakeHost::new(),
            expect: Expect::Reject(format!(
                "Pod default/web is not accepted: container \"app\" image \"{TOOL}\": rule #0 (pubKeys) failed: the reference names no digest and the rule requires one (requireDigest)"
            )),
            verify_calls: 0,
        },
        Case {
            name: "requireDigest on a rule: a digest reference is verified",
            request: pinned_tool_request(),
            settings: settings(vec![two_keys(json!({"requireDigest": true}))]),
            host: signed(PUB_KEY, &[&format!("{TOOL}@{DIGEST_1}")]),
            expect: Expect::Accept,
            verify_calls: 1,
        },
        Case {
            name: "exemption before expiry: admitted unverified with a warning",
            request: pinned_tool_request(),
            settings: json!({"exemptions": [exemption(&exempt)], "signatures": [pub_keys("quay.io/*")]}),
            host: FakeHost::new().clock(JAN_31_NOON),
            expect: Expect::Warn(
                vec![format!("image \"{TOOL}@{DIGEST_1}\" is exempt from signature verification until 2027-01-31 (exemption #0: vendor signs next release)")],
                vec![],
            ),
            verify_calls: 0,
        },
        Case {
            name: "exemption after expiry: verified as usual, with a warning",
            request: pinned_tool_request(),
            settings: json!({"exemptions": [exemption(&exempt)], "signatures": [pub_keys("quay.io/*")]}),
            host: FakeHost::new().clock(FEB_1).verify(&format!("{TOOL}@{DIGEST_1}"), PUB_KEY, host_error("no matching signatures")),
            expect: Expect::Reject(format!(
                "Pod default/web is not accepted: container \"app\" image \"{TOOL}@{DIGEST_1}\": rule #0 (pubKeys) failed: no matching signatures"
            )),
            verify_calls: 1,
        },
        Case {
            name: "exemption without a clock: treated as expired",
            request: pinned_tool_request(),
            settings: json!({"exemptions": [exemption(&exempt)], "signatures": [pub_keys("quay.io/*")]}),
            host: signed(PUB_KEY, &[&format!("{TOOL}@{DIGEST_1}")]),
            expect: Expect::Warn(
                vec![format!("exemption #0 of image \"{TOOL}@{DIGEST_1}\" is ignored: the host offers no clock to check its expiry")],
                vec![],
            ),
            verify_calls: 1,
        },
        Case {
            name: "exemption of another digest does not apply",
            request: pinned_tool_request(),
            settings: json!({"exemptions": [exemption(&format!("quay.io/other/tool@{DIGEST_2}"))], "signatures": [pub_keys("quay.io/*")]}),
            host: FakeHost::new().clock(JAN_31_NOON).verify(&format!("{TOOL}@{DIGEST_1}"), PUB_KEY, verified(DIGEST_1)),
            expect: Expect::Accept,
            verify_calls: 1,
        },
        Case {
            name: "pinWorkloads false: a Deployment is verified but keeps its tags",
            request: Request::Fixture("deployment"),
            settings: json!({"pinWorkloads": false, "signatures": [pub_keys("ghcr.io/org/*")]}),
            host: signed(PUB_KEY, &[APP, INIT]),
            expect: Expect::Accept,
            verify_calls: 2,
        },
        Case {
            name: "pinWorkloads false: Pods are still pinned",
            request: Request::Fixture("pod-no-match"),
            settings: json!({"pinWorkloads": false, "signatures": [pub_keys("quay.io/*")]}),
            host: signed(PUB_KEY, &[TOOL]),
            expect: Expect::Mutate(tool_pin()),
            verify_calls: 1,
        },
        Case {
            name: "reverifyUnchangedImages false: a tag is verified again even where unchanged",
            request: Request::Fixture("deployment-scale"),
            settings: json!({"reverifyUnchangedImages": false, "signatures": [pub_keys("ghcr.io/org/*")]}),
            host: signed(PUB_KEY, &[APP, INIT]),
            expect: Expect::Mutate(vec![
                ("/spec/template/spec/containers/0/image", pin(APP)),
                ("/spec/template/spec/initContainers/0/image", pin(INIT)),
            ]),
            verify_calls: 2,
        },
        Case {
            name: "reverifyUnchangedImages false: the changed image is verified (and the unchanged tag too)",
            request: Request::Fixture("deployment-new-image"),
            settings: json!({"reverifyUnchangedImages": false, "signatures": [pub_keys("ghcr.io/org/*")]}),
            host: signed(PUB_KEY, &[INIT]).verify("ghcr.io/org/app:v2", PUB_KEY, host_error("no matching signatures")),
            expect: Expect::Reject(
                "Deployment default/web is not accepted: container \"app\" image \"ghcr.io/org/app:v2\": rule #0 (pubKeys) failed: no matching signatures".into(),
            ),
            verify_calls: 2,
        },
        Case {
            name: "reverifyUnchangedImages default: a scale re-verifies",
            request: Request::Fixture("deployment-scale"),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: signed(PUB_KEY, &[APP, INIT]),
            expect: Expect::Mutate(vec![
                ("/spec/template/spec/containers/0/image", pin(APP)),
                ("/spec/template/spec/initContainers/0/image", pin(INIT)),
            ]),
            verify_calls: 2,
        },
    ]
}

#[test]
fn extension_behaviours() {
    run_table(extension_cases());
}

#[test]
fn extension_settings_are_validated() {
    let key = pem("cosign.pub");
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "empty images",
            json!({"signatures": [{"images": [], "pubKeys": [key]}]}),
            "rule #0 (pubKeys), field \"images\": must not be empty",
        ),
        (
            "empty skip glob",
            json!({"signatures": [{"image": "*", "skipImages": [""], "pubKeys": [key]}]}),
            "rule #0 (pubKeys), field \"skipImages[0]\": must not be empty",
        ),
        (
            "neither image nor images",
            json!({"signatures": [{"skipImages": ["x"], "pubKeys": [key]}]}),
            "rule #0 (pubKeys), field \"image\": is required",
        ),
        (
            "threshold above the signer count",
            json!({"signatures": [{"image": "*", "threshold": 2, "pubKeys": [key]}]}),
            "rule #0 (pubKeys), field \"threshold\": must be a whole number from 1 to 1 (the number of listed signers)",
        ),
        (
            "threshold zero",
            json!({"signatures": [{"image": "*", "threshold": 0, "pubKeys": [key]}]}),
            "rule #0 (pubKeys), field \"threshold\": must be a whole number from 1 to 1 (the number of listed signers)",
        ),
        (
            "threshold on githubActions",
            json!({"signatures": [{"image": "*", "threshold": 1, "githubActions": {"owner": "o"}}]}),
            "rule #0 (githubActions), field \"threshold\": only valid on pubKeys, keyless, keylessPrefix, keylessRegex and certificates rules",
        ),
        (
            "unknown mode",
            json!({"signatures": [{"image": "*", "mode": "audit", "pubKeys": [key]}]}),
            "rule #0 (pubKeys), field \"mode\": must be \"enforce\" or \"warn\"",
        ),
        (
            "rule requireDigest not a boolean",
            json!({"signatures": [{"image": "*", "requireDigest": "yes", "pubKeys": [key]}]}),
            "rule #0 (pubKeys), field \"requireDigest\": must be true or false",
        ),
        (
            "global requireDigest not a boolean",
            json!({"requireDigest": 1, "signatures": [{"image": "*", "pubKeys": [key]}]}),
            "field \"requireDigest\": must be true or false",
        ),
        (
            "pinWorkloads not a boolean",
            json!({"pinWorkloads": "no", "signatures": [{"image": "*", "pubKeys": [key]}]}),
            "field \"pinWorkloads\": must be true or false",
        ),
        (
            "empty namespaces",
            json!({"signatures": [{"image": "*", "namespaces": [], "pubKeys": [key]}]}),
            "rule #0 (pubKeys), field \"namespaces\": must not be empty",
        ),
        (
            "exemption by tag",
            json!({"exemptions": [{"image": "quay.io/x:1", "reason": "r", "expires": "2027-01-31"}], "signatures": [{"image": "*", "pubKeys": [key]}]}),
            "field \"exemptions[0].image\": must name a digest (repo@sha256:…): a tag can be re-pushed, so exempting it exempts whatever comes next",
        ),
        (
            "exemption with a bad date",
            json!({"exemptions": [exemption("quay.io/x@sha256:1111111111111111111111111111111111111111111111111111111111111111").as_object().map(|o| { let mut o = o.clone(); o.insert("expires".into(), json!("2027-02-30")); o }).unwrap()], "signatures": [{"image": "*", "pubKeys": [key]}]}),
            "field \"exemptions[0].expires\": \"2027-02-30\" is not a date (YYYY-MM-DD)",
        ),
        (
            "exemption without reason",
            json!({"exemptions": [{"image": "quay.io/x@sha256:1111111111111111111111111111111111111111111111111111111111111111", "expires": "2027-01-31"}], "signatures": [{"image": "*", "pubKeys": [key]}]}),
            "field \"exemptions[0].reason\": is required",
        ),
        (
            "exemption with an unknown field",
            json!({"exemptions": [{"image": "x", "until": "2027-01-31"}], "signatures": [{"image": "*", "pubKeys": [key]}]}),
            "field \"exemptions[0].until\": unknown field; expected one of image, reason, expires",
        ),
    ];
    let count = cases.len();
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, settings, expected)| {
            let response = sigpin::validate_settings(
                &serde_json::to_vec(&settings).unwrap(),
                &FakeHost::new(),
            );
            match response.message.as_deref() {
                Some(message) if message == expected && !response.valid => None,
                other => Some(format!(
                    "{name}:\n  expected: {expected}\n  got:      {other:?}"
                )),
            }
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
