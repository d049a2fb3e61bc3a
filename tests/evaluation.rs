//! `validate` end to end through the pure core with a fake host: one row per behaviour, each
//! asserting the verdict, the message or the mutated object, and how many verifications ran.

mod common;

use common::cases::*;
use common::rules::*;
use common::*;
use serde_json::{Value, json};

/// Pointers of the three images of the Pod fixture, in the order the policy reports them.
fn pod_pins() -> Vec<(&'static str, String)> {
    vec![
        ("/spec/containers/0/image", pin(APP)),
        ("/spec/initContainers/0/image", pin(INIT)),
        ("/spec/ephemeralContainers/0/image", pin(DEBUG)),
    ]
}

fn template_pins(spec: &'static str) -> Vec<(&'static str, String)> {
    let (containers, init): (&'static str, &'static str) = match spec {
        "template" => (
            "/spec/template/spec/containers/0/image",
            "/spec/template/spec/initContainers/0/image",
        ),
        _ => (
            "/spec/jobTemplate/spec/template/spec/containers/0/image",
            "/spec/jobTemplate/spec/template/spec/initContainers/0/image",
        ),
    };
    vec![(containers, pin(APP)), (init, pin(INIT))]
}

fn signature_kind_cases() -> Vec<Case> {
    let kinds: [(&str, &str, Value); 5] = [
        ("pubKeys", PUB_KEY, pub_keys("ghcr.io/org/*")),
        ("keyless", KEYLESS, keyless("ghcr.io/org/*")),
        ("keylessPrefix", PREFIX, keyless_prefix("ghcr.io/org/*")),
        ("githubActions", GITHUB, github_actions("ghcr.io/org/*")),
        (
            "certificates",
            CERTIFICATE,
            certificates("ghcr.io/org/*", 1),
        ),
    ];
    let mut cases = Vec::new();
    for (kind, variant, rule) in kinds {
        cases.push(Case {
            name: leak(format!("{kind}: signed images are accepted and pinned")),
            request: Request::Fixture("pod"),
            settings: settings(vec![rule.clone()]),
            host: signed(variant, &[APP, INIT, DEBUG]),
            expect: Expect::Mutate(pod_pins()),
            verify_calls: 3,
        });
        cases.push(Case {
            name: leak(format!("{kind}: an unsigned image is rejected with the host's reason")),
            request: Request::Fixture("pod"),
            settings: settings(vec![rule]),
            host: signed(variant, &[INIT, DEBUG]).verify(
                APP,
                variant,
                host_error("Callback evaluation failure: no matching signatures"),
            ),
            expect: Expect::Reject(format!(
                "Pod default/web is not accepted: container \"app\" image \"{APP}\": rule #0 ({kind}) failed: no matching signatures"
            )),
            verify_calls: 3,
        });
    }
    cases
}

fn resource_kind_cases() -> Vec<Case> {
    let kinds: [(&str, &str, &'static str); 7] = [
        ("deployment", "Deployment", "template"),
        ("replicaset", "ReplicaSet", "template"),
        ("statefulset", "StatefulSet", "template"),
        ("daemonset", "DaemonSet", "template"),
        ("replicationcontroller", "ReplicationController", "template"),
        ("job", "Job", "template"),
        ("cronjob", "CronJob", "jobTemplate"),
    ];
    let mut cases = Vec::new();
    for (fixture, kind, spec) in kinds {
        cases.push(Case {
            name: leak(format!("{kind}: containers and init containers are pinned")),
            request: Request::Fixture(fixture),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: signed(PUB_KEY, &[APP, INIT]),
            expect: Expect::Mutate(template_pins(spec)),
            verify_calls: 2,
        });
        cases.push(Case {
            name: leak(format!("{kind}: an unsigned init container is rejected")),
            request: Request::Fixture(fixture),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: signed(PUB_KEY, &[APP]).verify(
                INIT,
                PUB_KEY,
                host_error("Host error: no signatures found for image: ghcr.io/org/init:v1"),
            ),
            expect: Expect::Reject(format!(
                "{kind} default/web is not accepted: init container \"init\" image \"{INIT}\": rule #0 (pubKeys) failed: no signatures found for image: ghcr.io/org/init:v1"
            )),
            verify_calls: 2,
        });
    }
    cases
}

fn behaviour_cases() -> Vec<Case> {
    let pub_key_settings = || settings(vec![pub_keys("ghcr.io/org/*")]);
    let sha9 = format!("sha256:{}", "9".repeat(64));
    vec![
        Case {
            name: "the issue's example message for a Deployment",
            request: Request::Fixture("deployment"),
            settings: pub_key_settings(),
            host: signed(PUB_KEY, &[INIT]).verify(APP, PUB_KEY, host_error("no matching signatures")),
            expect: Expect::Reject(format!(
                "Deployment default/web is not accepted: container \"app\" image \"{APP}\": rule #0 (pubKeys) failed: no matching signatures"
            )),
            verify_calls: 2,
        },
        Case {
            name: "every failing image is listed, in container order",
            request: Request::Fixture("pod"),
            settings: pub_key_settings(),
            host: FakeHost::new()
                .verify(APP, PUB_KEY, host_error("no matching signatures"))
                .verify(INIT, PUB_KEY, host_error("manifest unknown"))
                .verify(DEBUG, PUB_KEY, verified(DIGEST_1)),
            expect: Expect::Reject(format!(
                "Pod default/web is not accepted: container \"app\" image \"{APP}\": rule #0 (pubKeys) failed: no matching signatures; init container \"init\" image \"{INIT}\": rule #0 (pubKeys) failed: manifest unknown"
            )),
            verify_calls: 3,
        },
        Case {
            name: "mutation off: verified images are accepted unchanged",
            request: Request::Fixture("pod"),
            settings: json!({"modifyImagesWithDigest": false, "signatures": [pub_keys("ghcr.io/org/*")]}),
            host: signed(PUB_KEY, &[APP, INIT, DEBUG]),
            expect: Expect::Accept,
            verify_calls: 3,
        },
        Case {
            name: "mutation off still rejects an unsigned image",
            request: Request::Fixture("pod"),
            settings: json!({"modifyImagesWithDigest": false, "signatures": [pub_keys("ghcr.io/org/app*")]}),
            host: FakeHost::new().verify(APP, PUB_KEY, host_error("no matching signatures")),
            expect: Expect::Reject(format!(
                "Pod default/web is not accepted: container \"app\" image \"{APP}\": rule #0 (pubKeys) failed: no matching signatures"
            )),
            verify_calls: 1,
        },
        Case {
            name: "an image already pinned to the verified digest is accepted without a patch",
            request: Request::Fixture("pod-right-digest"),
            settings: pub_key_settings(),
            host: signed(PUB_KEY, &[&pin(APP)]),
            expect: Expect::Accept,
            verify_calls: 1,
        },
        Case {
            name: "an image pinned to another digest than the verified one is rejected",
            request: Request::Fixture("pod-wrong-digest"),
            settings: pub_key_settings(),
            host: signed(PUB_KEY, &[&format!("{APP}@{sha9}")]),
            expect: Expect::Reject(format!(
                "Pod default/web is not accepted: container \"app\" image \"{APP}@{sha9}\": the signatures verified {DIGEST_1}, not the digest the reference names"
            )),
            verify_calls: 1,
        },
        Case {
            name: "fields unknown to any Kubernetes library survive the mutation",
            request: Request::Fixture("pod-unknown-fields"),
            settings: pub_key_settings(),
            host: signed(PUB_KEY, &[APP, &format!("ghcr.io/org/sidecar@{DIGEST_1}")]),
            expect: Expect::Mutate(vec![("/spec/containers/0/image", pin(APP))]),
            verify_calls: 2,
        },
        Case {
            name: "a rule that matches no image asks nothing and accepts",
            request: Request::Fixture("pod-no-match"),
            settings: pub_key_settings(),
            host: FakeHost::new(),
            expect: Expect::Accept,
            verify_calls: 0,
        },
        Case {
            name: "an image shared by four containers is verified once and pinned everywhere",
            request: Request::Fixture("pod-duplicate-images"),
            settings: pub_key_settings(),
            host: signed(PUB_KEY, &[APP]),
            expect: Expect::Mutate(vec![
                ("/spec/containers/0/image", pin(APP)),
                ("/spec/containers/1/image", pin(APP)),
                ("/spec/containers/2/image", pin(APP)),
                ("/spec/initContainers/0/image", pin(APP)),
            ]),
            verify_calls: 1,
        },
        Case {
            name: "two rules on one image are both asked and both must pass",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![pub_keys("quay.io/*"), keyless("quay.io/other/*")]),
            host: FakeHost::new()
                .verify("quay.io/other/tool:1.0", PUB_KEY, verified(DIGEST_1))
                .verify("quay.io/other/tool:1.0", KEYLESS, host_error("no signature matches the identity")),
            expect: Expect::Reject(
                "Pod default/web is not accepted: container \"app\" image \"quay.io/other/tool:1.0\": rule #1 (keyless) failed: no signature matches the identity".into(),
            ),
            verify_calls: 2,
        },
        Case {
            name: "two rules verifying different digests reject: the image moved",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![pub_keys("quay.io/*"), keyless("quay.io/other/*")]),
            host: FakeHost::new()
                .verify("quay.io/other/tool:1.0", PUB_KEY, verified(DIGEST_1))
                .verify("quay.io/other/tool:1.0", KEYLESS, verified(DIGEST_2)),
            expect: Expect::Reject(format!(
                "Pod default/web is not accepted: container \"app\" image \"quay.io/other/tool:1.0\": rules verified different digests ({DIGEST_1} by rule #0, {DIGEST_2} by rule #1): the image moved during verification"
            )),
            verify_calls: 2,
        },
        Case {
            name: "every certificate of a rule is verified, each with its own request",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![certificates("quay.io/*", 2)]),
            host: FakeHost::new().verify("quay.io/other/tool:1.0", CERTIFICATE, verified(DIGEST_1)),
            expect: Expect::Mutate(vec![(
                "/spec/containers/0/image",
                pin("quay.io/other/tool:1.0"),
            )]),
            verify_calls: 2,
        },
        Case {
            name: "a container without image is rejected, never skipped",
            request: Request::Fixture("pod-missing-image"),
            settings: pub_key_settings(),
            host: FakeHost::new(),
            expect: Expect::Reject(
                "Pod default/web is not accepted: container \"app\": has no image".into(),
            ),
            verify_calls: 0,
        },
        Case {
            name: "an image reference that does not parse is rejected",
            request: Request::Fixture("pod-bad-reference"),
            settings: pub_key_settings(),
            host: FakeHost::new(),
            expect: Expect::Reject(
                "Pod default/web is not accepted: container \"app\" image \"ghcr.io/Org/App:v1\": not a valid image reference: the repository path \"Org/App\" is not valid (lower-case letters, digits and separators only)".into(),
            ),
            verify_calls: 0,
        },
        Case {
            name: "a Deployment whose containers are not a list cannot be checked",
            request: Request::Fixture("deployment-containers-not-list"),
            settings: pub_key_settings(),
            host: FakeHost::new(),
            expect: Expect::Reject(
                "Deployment default/web cannot be checked: spec.template.spec.containers is not a list".into(),
            ),
            verify_calls: 0,
        },
        Case {
            name: "a StatefulSet without a pod template cannot be checked",
            request: Request::Fixture("statefulset-no-template"),
            settings: pub_key_settings(),
            host: FakeHost::new(),
            expect: Expect::Reject(
                "StatefulSet default/web cannot be checked: spec.template.spec is missing".into(),
            ),
            verify_calls: 0,
        },
        Case {
            name: "a Pod object that is not a JSON object cannot be checked",
            request: Request::Fixture("pod-object-not-object"),
            settings: pub_key_settings(),
            host: FakeHost::new(),
            expect: Expect::Reject(
                "Pod default/web cannot be checked: the object is not a JSON object".into(),
            ),
            verify_calls: 0,
        },
        Case {
            name: "a host error rejects with the cleaned host reason",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![pub_keys("quay.io/*")]),
            host: FakeHost::new().verify(
                "quay.io/other/tool:1.0",
                PUB_KEY,
                host_error("Host error: Callback evaluation failure:   error sending request\n for url (http://127.0.0.1:5000/v2/)"),
            ),
            expect: Expect::Reject(
                "Pod default/web is not accepted: container \"app\" image \"quay.io/other/tool:1.0\": rule #0 (pubKeys) failed: error sending request for url (http://127.0.0.1:5000/v2/)".into(),
            ),
            verify_calls: 1,
        },
        Case {
            name: "a host answer that is not trusted rejects",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![pub_keys("quay.io/*")]),
            host: FakeHost::new().verify(
                "quay.io/other/tool:1.0",
                PUB_KEY,
                Ok(json!({"is_trusted": false, "digest": DIGEST_1})),
            ),
            expect: Expect::Reject(
                "Pod default/web is not accepted: container \"app\" image \"quay.io/other/tool:1.0\": rule #0 (pubKeys) failed: the host reported the signature as not trusted".into(),
            ),
            verify_calls: 1,
        },
        Case {
            name: "a malformed digest from the host rejects",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![pub_keys("quay.io/*")]),
            host: FakeHost::new().verify(
                "quay.io/other/tool:1.0",
                PUB_KEY,
                Ok(json!({"is_trusted": true, "digest": "sha256:abc"})),
            ),
            expect: Expect::Reject(
                "Pod default/web is not accepted: container \"app\" image \"quay.io/other/tool:1.0\": rule #0 (pubKeys) failed: the host returned a malformed digest \"sha256:abc\"".into(),
            ),
            verify_calls: 1,
        },
        Case {
            name: "an unreadable host answer rejects",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![pub_keys("quay.io/*")]),
            host: FakeHost::new().verify("quay.io/other/tool:1.0", PUB_KEY, Ok(json!({"digest": DIGEST_1}))),
            expect: Expect::Reject(
                "Pod default/web is not accepted: container \"app\" image \"quay.io/other/tool:1.0\": rule #0 (pubKeys) failed: the host answered an unreadable verification result: missing field `is_trusted` at line 1 column 84".into(),
            ),
            verify_calls: 1,
        },
        Case {
            name: "kubectl debug: only the ephemeral container is judged on the subresource",
            request: Request::Fixture("pod-ephemeral-subresource"),
            settings: pub_key_settings(),
            host: signed(PUB_KEY, &[DEBUG]),
            expect: Expect::Mutate(vec![("/spec/ephemeralContainers/0/image", pin(DEBUG))]),
            verify_calls: 1,
        },
        Case {
            name: "an image volume is verified and pinned like a container",
            request: Request::Fixture("pod-image-volume"),
            settings: pub_key_settings(),
            host: signed(PUB_KEY, &[APP, "ghcr.io/org/models:v3"]),
            expect: Expect::Mutate(vec![
                ("/spec/containers/0/image", pin(APP)),
                ("/spec/volumes/0/image/reference", pin("ghcr.io/org/models:v3")),
            ]),
            verify_calls: 2,
        },
        Case {
            name: "a Pod made by a controller is named by its generateName",
            request: Request::Fixture("pod-generate-name"),
            settings: pub_key_settings(),
            host: FakeHost::new().verify(APP, PUB_KEY, host_error("no matching signatures")),
            expect: Expect::Reject(format!(
                "Pod default/web-7d4b9c- is not accepted: container \"app\" image \"{APP}\": rule #0 (pubKeys) failed: no matching signatures"
            )),
            verify_calls: 1,
        },
        Case {
            name: "a short Docker Hub name is caught by a rule written in full",
            request: Request::Fixture("pod-docker-hub-short"),
            settings: settings(vec![pub_keys("docker.io/library/nginx:*")]),
            host: signed(PUB_KEY, &["nginx"]),
            expect: Expect::Mutate(vec![("/spec/containers/0/image", pin("nginx"))]),
            verify_calls: 1,
        },
        Case {
            name: "a kind that holds no PodSpec is not ours",
            request: Request::Fixture("configmap"),
            settings: pub_key_settings(),
            host: FakeHost::new(),
            expect: Expect::Accept,
            verify_calls: 0,
        },
        Case {
            name: "a custom resource called Pod is not a Pod",
            request: Request::Fixture("crd-named-pod"),
            settings: settings(vec![pub_keys("*")]),
            host: FakeHost::new(),
            expect: Expect::Accept,
            verify_calls: 0,
        },
        Case {
            name: "a DELETE is not judged",
            request: Request::Fixture("pod-delete"),
            settings: pub_key_settings(),
            host: FakeHost::new(),
            expect: Expect::Accept,
            verify_calls: 0,
        },
        Case {
            name: "invalid settings reject every request",
            request: Request::Fixture("pod"),
            settings: json!({"signatures": []}),
            host: FakeHost::new(),
            expect: Expect::Reject(
                "the policy settings are not valid: field \"signatures\": must not be empty".into(),
            ),
            verify_calls: 0,
        },
        Case {
            name: "a request without a kind is rejected",
            request: Request::Inline(json!({"uid": "1", "operation": "CREATE", "object": {}})),
            settings: pub_key_settings(),
            host: FakeHost::new(),
            expect: Expect::Reject(
                "the request cannot be checked: it has no kind (group, version, kind)".into(),
            ),
            verify_calls: 0,
        },
        Case {
            name: "a CREATE without an object is rejected",
            request: Request::Inline(json!({
                "uid": "1", "operation": "CREATE", "namespace": "ns", "name": "p",
                "kind": {"group": "", "version": "v1", "kind": "Pod"}
            })),
            settings: pub_key_settings(),
            host: FakeHost::new(),
            expect: Expect::Reject("Pod ns/p cannot be checked: the CREATE request has no object".into()),
            verify_calls: 0,
        },
        many_failures_case(),
    ]
}

/// 25 unsigned containers: the message names 20 and counts the rest.
fn many_failures_case() -> Case {
    let containers: Vec<Value> = (0..25)
        .map(|i| json!({"name": format!("c{i}"), "image": format!("ghcr.io/org/app{i}:v1")}))
        .collect();
    let mut host = FakeHost::new();
    for i in 0..25 {
        host = host.verify(
            &format!("ghcr.io/org/app{i}:v1"),
            PUB_KEY,
            host_error("no matching signatures"),
        );
    }
    let listed: Vec<String> = (0..20)
        .map(|i| format!("container \"c{i}\" image \"ghcr.io/org/app{i}:v1\": rule #0 (pubKeys) failed: no matching signatures"))
        .collect();
    Case {
        name: "a rejection lists at most 20 failures and counts the others",
        request: Request::Inline(json!({
            "uid": "1", "operation": "CREATE", "namespace": "default", "name": "big",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "object": {"metadata": {"name": "big"}, "spec": {"containers": containers}}
        })),
        settings: settings(vec![pub_keys("ghcr.io/org/*")]),
        host,
        expect: Expect::Reject(format!(
            "Pod default/big is not accepted: {}; and 5 more failures omitted",
            listed.join("; ")
        )),
        verify_calls: 25,
    }
}

#[test]
fn each_signature_kind_accepts_and_rejects() {
    run_table(signature_kind_cases());
}

#[test]
fn each_resource_kind_is_verified_and_pinned() {
    run_table(resource_kind_cases());
}

#[test]
fn behaviours() {
    run_table(behaviour_cases());
}

/// Beyond equal values: the untouched parts serialise to the very same text as in the request.
#[test]
fn unknown_fields_are_kept_byte_for_byte() {
    let request = read_json("requests/pod-unknown-fields.json");
    let payload =
        json!({"request": request, "settings": settings(vec![pub_keys("ghcr.io/org/*")])});
    let host = signed(PUB_KEY, &[APP, &format!("ghcr.io/org/sidecar@{DIGEST_1}")]);
    let response = sigpin::validate(&serde_json::to_vec(&payload).unwrap(), &host);
    let mutated = serde_json::to_string(&response.mutated_object.expect("a mutation")).unwrap();
    let original = serde_json::to_string(&request["object"]).unwrap();
    let expected = original.replace(&format!("\"{APP}\""), &format!("\"{}\"", pin(APP)));
    assert_ne!(original, expected, "the fixture must contain the image");
    assert_eq!(mutated, expected);
}

#[test]
fn requests_that_are_not_json_are_rejected() {
    let response = sigpin::validate(b"{not json", &FakeHost::new());
    assert!(!response.accepted);
    assert_eq!(
        response.message.as_deref(),
        Some("the validation request is not JSON: key must be a string at line 1 column 2")
    );
}

/// The host sees exactly the request shape the Kubewarden SDK defines for each variant.
#[test]
fn verification_requests_carry_the_rule() {
    let host = signed(CERTIFICATE, &[APP]);
    let payload = json!({
        "request": read_json("requests/pod-no-match.json"),
        "settings": settings(vec![json!({
            "image": "quay.io/*",
            "certificates": [pem("leaf.pem")]
        })])
    });
    let host = host.verify("quay.io/other/tool:1.0", CERTIFICATE, verified(DIGEST_1));
    sigpin::validate(&serde_json::to_vec(&payload).unwrap(), &host);
    let calls = host.calls();
    let (op, request) = calls.first().expect("one call");
    assert_eq!(op, "oci/v2/verify");
    assert_eq!(request["type"], "SigstoreCertificateVerify");
    assert_eq!(request["image"], "quay.io/other/tool:1.0");
    assert_eq!(request["require_rekor_bundle"], false);
    assert_eq!(request["annotations"], Value::Null);
    assert_eq!(request["certificate_chain"], Value::Null);
    let certificate: Vec<u8> = serde_json::from_value(request["certificate"].clone()).unwrap();
    assert_eq!(String::from_utf8(certificate).unwrap(), pem("leaf.pem"));
}
