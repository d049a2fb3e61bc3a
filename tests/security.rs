//! Settings that mean what they say (issue 14): distinct signers, annotations only where they
//! are bound, change decided per container, patches only where Kubernetes allows a change,
//! messages that attacker text cannot forge, and bounded cost with adversarial input.

mod common;

use common::cases::*;
use common::rules::*;
use common::*;
use serde_json::{Value, json};

const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
const TOOL: &str = "quay.io/other/tool:1.0";
const INTEGRATED: i64 = 1_800_000_000;

fn pinned_app() -> String {
    format!("{APP}@{DIGEST_1}")
}

// --- distinct signers and bound annotations: settings validation ---------------------------

fn key(file: &str) -> Value {
    Value::String(read_text(file))
}

fn prefix(issuer: &str, url: &str) -> Value {
    json!({"issuer": issuer, "urlPrefix": url})
}

fn validation(settings: Value) -> Result<(), String> {
    let response =
        sigpin::validate_settings(&serde_json::to_vec(&settings).unwrap(), &FakeHost::new());
    match response.valid {
        true => Ok(()),
        false => Err(response.message.unwrap_or_default()),
    }
}

#[test]
fn signer_lists_name_each_signer_once() {
    let a = || key("pki/cosign.pub");
    let b = || key("pki/other.pub");
    let same_key =
        "field \"pubKeys[1]\": is the same key as pubKeys[0]: every signer must be listed once";
    let org = "https://github.com/org";
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        (
            "one key twice",
            json!([{"image": "*", "pubKeys": [a(), a()]}]),
            Some(same_key),
        ),
        (
            "one key twice, CRLF line endings, threshold 2",
            json!([{"image": "*", "threshold": 2, "pubKeys": [a(), key("security/cosign-crlf.pub")]}]),
            Some(same_key),
        ),
        (
            "one key twice, wrapped at 40 columns",
            json!([{"image": "*", "threshold": 1, "pubKeys": [a(), key("security/cosign-wrapped.pub")]}]),
            Some(same_key),
        ),
        (
            "one key twice, compressed point",
            json!([{"image": "*", "pubKeys": [a(), key("security/cosign-compressed.pub")]}]),
            Some(same_key),
        ),
        (
            "two keys, threshold 2",
            json!([{"image": "*", "threshold": 2, "pubKeys": [a(), b()]}]),
            None,
        ),
        (
            "one certificate twice (CRLF)",
            json!([{"image": "*", "certificates": [pem("leaf.pem"), pem("leaf.pem").replace('\n', "\r\n")]}]),
            Some("field \"certificates[1]\": is the same certificate as certificates[0]"),
        ),
        (
            "two certificates of one key",
            json!([{"image": "*", "threshold": 2, "certificates": [read_text("security/same-key-leaf.pem"), read_text("security/same-key-expired-leaf.pem")]}]),
            Some("field \"certificates[1]\": certifies the same public key as certificates[0]"),
        ),
        (
            "two certificates",
            json!([{"image": "*", "threshold": 2, "certificates": [pem("leaf.pem"), pem("intermediate.pem")]}]),
            None,
        ),
        (
            "one keyless identity twice",
            json!([{"image": "*", "keyless": [{"issuer": "i", "subject": "s"}, {"issuer": "i", "subject": "s"}]}]),
            Some("field \"keyless[1]\": is the same identity as keyless[0]"),
        ),
        (
            "one subject under two issuers",
            json!([{"image": "*", "threshold": 2, "keyless": [{"issuer": "i", "subject": "s"}, {"issuer": "j", "subject": "s"}]}]),
            None,
        ),
        (
            "one prefix with and without /",
            json!([{"image": "*", "keylessPrefix": [prefix(GITHUB_ISSUER, org), prefix(GITHUB_ISSUER, &format!("{org}/"))]}]),
            Some("field \"keylessPrefix[1]\": is the same prefix as keylessPrefix[0]"),
        ),
        (
            "nested prefixes, threshold 2",
            json!([{"image": "*", "threshold": 2, "keylessPrefix": [prefix(GITHUB_ISSUER, &format!("{org}/")), prefix(GITHUB_ISSUER, &format!("{org}/app/"))]}]),
            Some(
                "field \"keylessPrefix[1]\": \"https://github.com/org/app/\" and keylessPrefix[0] \"https://github.com/org/\" are nested",
            ),
        ),
        (
            "nested prefixes, no threshold (each entry satisfied)",
            json!([{"image": "*", "keylessPrefix": [prefix(GITHUB_ISSUER, org), prefix(GITHUB_ISSUER, &format!("{org}/app/"))]}]),
            None,
        ),
        (
            "nested prefixes, threshold 1",
            json!([{"image": "*", "threshold": 1, "keylessPrefix": [prefix(GITHUB_ISSUER, org), prefix(GITHUB_ISSUER, &format!("{org}/app/"))]}]),
            None,
        ),
        (
            "look-alike prefixes are not nested",
            json!([{"image": "*", "threshold": 2, "keylessPrefix": [prefix(GITHUB_ISSUER, org), prefix(GITHUB_ISSUER, "https://github.com/org-evil")]}]),
            None,
        ),
        (
            "nested prefixes of two issuers",
            json!([{"image": "*", "threshold": 2, "keylessPrefix": [prefix(GITHUB_ISSUER, org), prefix("https://other", &format!("{org}/app"))]}]),
            None,
        ),
        (
            "keylessRegex, threshold 2",
            json!([{"image": "*", "threshold": 2, "keylessRegex": [{"issuer": "i", "subjectRegExp": "a.*"}, {"issuer": "i", "subjectRegExp": ".*b"}]}]),
            Some(
                "rule #0 (keylessRegex), field \"threshold\": a threshold of 2 or more is refused on keylessRegex rules",
            ),
        ),
        (
            "keylessRegex, one entry twice",
            json!([{"image": "*", "keylessRegex": [{"issuer": "i", "subjectRegExp": "a.*"}, {"issuer": "i", "subjectRegExp": "a.*"}]}]),
            Some("field \"keylessRegex[1]\": is the same entry as keylessRegex[0]"),
        ),
        (
            "annotations on certificates",
            json!([{"image": "*", "certificates": [pem("leaf.pem")], "annotations": {"env": "prod"}}]),
            Some(
                "rule #0 (certificates), field \"annotations\": cannot be bound to the certificate's signature",
            ),
        ),
        (
            "annotations on pubKeys (bound to the key's layer)",
            json!([{"image": "*", "pubKeys": [a()], "annotations": {"env": "prod"}}]),
            None,
        ),
    ];
    let mut failures = Vec::new();
    for (name, rules, expected) in cases {
        let outcome = validation(json!({"signatures": rules}));
        let ok = match (&outcome, expected) {
            (Ok(()), None) => true,
            (Err(message), Some(part)) => message.contains(part),
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: expected {expected:?}, got {outcome:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Annotations on certificates rules are refused whatever bindKeyless says.
    let unbound = validation(
        json!({"bindKeyless": false, "signatures": [{"image": "*", "certificates": [pem("leaf.pem")], "annotations": {"env": "prod"}}]}),
    );
    assert!(unbound.is_err_and(|m| m.contains("an unsigned one an attacker adds")));
}

// --- requests -------------------------------------------------------------------------------

fn container(name: &str, image: Value) -> Value {
    json!({"name": name, "image": image})
}

/// A PodSpec: its containers, then the optional lists, each left out when empty.
#[derive(Clone, Default)]
struct Spec {
    containers: Vec<Value>,
    init: Vec<Value>,
    ephemeral: Vec<Value>,
    volumes: Vec<Value>,
}

fn spec(containers: Vec<Value>) -> Spec {
    Spec {
        containers,
        ..Spec::default()
    }
}

impl Spec {
    fn init(self, init: Vec<Value>) -> Self {
        Self { init, ..self }
    }

    fn ephemeral(self, ephemeral: Vec<Value>) -> Self {
        Self { ephemeral, ..self }
    }

    fn volumes(self, volumes: Vec<Value>) -> Self {
        Self { volumes, ..self }
    }

    fn json(self) -> Value {
        let mut spec = json!({"containers": self.containers});
        for (key, list) in [
            ("initContainers", self.init),
            ("ephemeralContainers", self.ephemeral),
            ("volumes", self.volumes),
        ] {
            if !list.is_empty() {
                spec[key] = Value::Array(list);
            }
        }
        spec
    }
}

fn image_volume(name: &str, image: &str) -> Value {
    json!({"name": name, "image": {"reference": image, "pullPolicy": "IfNotPresent"}})
}

/// A Pod request; `old` makes it an UPDATE, `sub_resource` one of the Pod's subresources.
fn pod_request(spec: Spec, old: Option<Spec>, sub_resource: Option<&str>) -> Request {
    let object = |spec: Spec| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"}, "spec": spec.json()});
    let mut request = json!({
        "uid": "security", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "name": "web", "namespace": "default",
        "operation": if old.is_some() { "UPDATE" } else { "CREATE" },
        "userInfo": {"username": "alice"},
        "object": object(spec),
    });
    if let Some(old) = old {
        request["oldObject"] = object(old);
    }
    if let Some(sub_resource) = sub_resource {
        request["subResource"] = json!(sub_resource);
    }
    Request::Inline(request)
}

/// A Pod UPDATE that changes nothing.
fn unchanged_pod(spec: Spec) -> Request {
    pod_request(spec.clone(), Some(spec), None)
}

fn deployment_update(spec: Spec, old: Spec) -> Request {
    let object = |spec: Spec| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec.json()}}})
    };
    Request::Inline(json!({
        "uid": "security", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
        "name": "web", "namespace": "default", "operation": "UPDATE", "userInfo": {"username": "alice"},
        "object": object(spec), "oldObject": object(old),
    }))
}

fn no_reverify() -> Value {
    json!({"reverifyUnchangedImages": false, "signatures": [pub_keys("ghcr.io/org/*")]})
}

fn reject(text: &str) -> Expect {
    Expect::Reject(format!("Pod default/web is not accepted: {text}"))
}

// --- change per container -------------------------------------------------------------------

fn change_cases() -> Vec<Case> {
    let app = || container("app", json!(pinned_app()));
    vec![
        Case {
            name: "same list, same name, same digest: not verified again",
            request: pod_request(spec(vec![app()]), Some(spec(vec![app()])), None),
            settings: no_reverify(),
            host: FakeHost::new(),
            expect: Expect::Accept,
            verify_calls: 0,
        },
        Case {
            name: "same site, same tag: verified again (a tag may name other bytes by now)",
            request: pod_request(
                spec(vec![container("app", json!(APP))]),
                Some(spec(vec![container("app", json!(APP))])),
                None,
            ),
            settings: no_reverify(),
            host: signed(PUB_KEY, &[APP]),
            expect: Expect::Mutate(vec![("/spec/containers/0/image", pin(APP))]),
            verify_calls: 1,
        },
        Case {
            name: "kubectl debug: a new ephemeral container with an image of oldObject is verified",
            request: pod_request(
                spec(vec![app()]).ephemeral(vec![container("debugger", json!(pinned_app()))]),
                Some(spec(vec![app()])),
                Some("ephemeralcontainers"),
            ),
            settings: no_reverify(),
            host: FakeHost::new().verify(
                &pinned_app(),
                PUB_KEY,
                host_error("no matching signatures"),
            ),
            expect: reject(&format!(
                "ephemeral container \"debugger\" image \"{}\": rule #0 (pubKeys) failed: no matching signatures",
                pinned_app()
            )),
            verify_calls: 1,
        },
        Case {
            name: "a container switched to a string another list held is verified",
            request: pod_request(
                spec(vec![container("app", json!(format!("{INIT}@{DIGEST_1}")))])
                    .init(vec![container("init", json!(format!("{INIT}@{DIGEST_1}")))]),
                Some(
                    spec(vec![app()])
                        .init(vec![container("init", json!(format!("{INIT}@{DIGEST_1}")))]),
                ),
                None,
            ),
            settings: no_reverify(),
            host: signed(PUB_KEY, &[&format!("{INIT}@{DIGEST_1}")]),
            expect: Expect::Accept,
            verify_calls: 1,
        },
        Case {
            name: "a renamed container is a new site: verified",
            request: pod_request(
                spec(vec![container("app2", json!(pinned_app()))]),
                Some(spec(vec![app()])),
                None,
            ),
            settings: no_reverify(),
            host: signed(PUB_KEY, &[&pinned_app()]),
            expect: Expect::Accept,
            verify_calls: 1,
        },
    ]
}

#[test]
fn change_is_per_container() {
    run_table(change_cases());
}

// --- patches only where Kubernetes allows a change -------------------------------------------

fn patch_cases() -> Vec<Case> {
    let debug_old = || container("debugger-old", json!(DEBUG));
    let app_and_volume =
        || spec(vec![container("app", json!(APP))]).volumes(vec![image_volume("data", INIT)]);
    let all_signed = || signed(PUB_KEY, &[APP, INIT, DEBUG, TOOL]);
    vec![
        Case {
            name: "Pod UPDATE: an image volume is verified and not patched (spec.volumes is immutable)",
            request: unchanged_pod(app_and_volume()),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: all_signed(),
            expect: Expect::Mutate(vec![("/spec/containers/0/image", pin(APP))]),
            verify_calls: 2,
        },
        Case {
            name: "Pod UPDATE: a tagged image volume is still rejected when unsigned",
            request: unchanged_pod(app_and_volume()),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: signed(PUB_KEY, &[APP]).verify(
                INIT,
                PUB_KEY,
                host_error("no matching signatures"),
            ),
            expect: reject(&format!(
                "image volume \"data\" image \"{INIT}\": rule #0 (pubKeys) failed: no matching signatures"
            )),
            verify_calls: 2,
        },
        Case {
            name: "Pod UPDATE: an existing ephemeral container is verified and not patched",
            request: unchanged_pod(
                spec(vec![container("app", json!(APP))])
                    .init(vec![container("init", json!(INIT))])
                    .ephemeral(vec![debug_old()]),
            ),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: all_signed(),
            expect: Expect::Mutate(vec![
                ("/spec/containers/0/image", pin(APP)),
                ("/spec/initContainers/0/image", pin(INIT)),
            ]),
            verify_calls: 3,
        },
        Case {
            name: "pods/ephemeralcontainers: only the added ephemeral container is pinned",
            request: pod_request(
                spec(vec![container("app", json!(APP))])
                    .ephemeral(vec![debug_old(), container("debugger-new", json!(DEBUG))]),
                Some(spec(vec![container("app", json!(APP))]).ephemeral(vec![debug_old()])),
                Some("ephemeralcontainers"),
            ),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: all_signed(),
            expect: Expect::Mutate(vec![("/spec/ephemeralContainers/1/image", pin(DEBUG))]),
            verify_calls: 1,
        },
        Case {
            name: "Pod CREATE: every list and image volumes are pinned",
            request: pod_request(
                spec(vec![container("app", json!(APP))])
                    .ephemeral(vec![container("debugger", json!(DEBUG))])
                    .volumes(vec![image_volume("data", INIT)]),
                None,
                None,
            ),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: all_signed(),
            expect: Expect::Mutate(vec![
                ("/spec/containers/0/image", pin(APP)),
                ("/spec/ephemeralContainers/0/image", pin(DEBUG)),
                ("/spec/volumes/0/image/reference", pin(INIT)),
            ]),
            verify_calls: 3,
        },
        Case {
            name: "Deployment UPDATE: the pod template is freely mutable, image volumes included",
            request: deployment_update(app_and_volume(), app_and_volume()),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: all_signed(),
            expect: Expect::Mutate(vec![
                ("/spec/template/spec/containers/0/image", pin(APP)),
                ("/spec/template/spec/volumes/0/image/reference", pin(INIT)),
            ]),
            verify_calls: 2,
        },
    ]
}

#[test]
fn patches_only_where_kubernetes_allows_a_change() {
    run_table(patch_cases());
}

// --- messages that cannot be forged ---------------------------------------------------------

fn message_cases() -> Vec<Case> {
    let one = |c: Value| pod_request(spec(vec![c]), None, None);
    vec![
        Case {
            name: "a container name with a newline and quotes is escaped",
            request: one(container("x\": verified\nok \"y", json!(APP))),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: FakeHost::new().verify(APP, PUB_KEY, host_error("no matching signatures")),
            expect: reject(&format!("container \"x\\\": verified\\nok \\\"y\" image \"{APP}\": rule #0 (pubKeys) failed: no matching signatures")),
            verify_calls: 1,
        },
        Case {
            name: "an image with ANSI escapes, CR and NUL is escaped",
            request: one(container("app", json!("ghcr.io/org/app:v1\r\u{1b}[2K\0"))),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: FakeHost::new(),
            expect: reject("container \"app\" image \"ghcr.io/org/app:v1\\r\\u{1b}[2K\\0\": not a valid image reference: the tag \"v1\\r\\u{1b}[2K\\0\" is not valid"),
            verify_calls: 0,
        },
        Case {
            name: "a long image is cut",
            request: one(container("app", json!(format!("ghcr.io/org/{}", "a".repeat(300))))),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: FakeHost::new(),
            expect: reject(&format!(
                "container \"app\" image \"ghcr.io/org/{}\"…: not a valid image reference: the repository name is longer than 255 characters",
                "a".repeat(200 - "ghcr.io/org/".len())
            )),
            verify_calls: 0,
        },
        Case {
            name: "a registry's reason with control characters is escaped",
            request: one(container("app", json!(APP))),
            settings: settings(vec![pub_keys("ghcr.io/org/*")]),
            host: FakeHost::new().verify(APP, PUB_KEY, host_error("denied\u{1b}[1A\r\ncontainer \"app\": verified")),
            expect: reject(&format!("container \"app\" image \"{APP}\": rule #0 (pubKeys) failed: denied\\u{{1b}}[1A container \"app\": verified")),
            verify_calls: 1,
        },
        Case {
            name: "an image that is a number",
            request: one(container("app", json!(42))),
            settings: settings(vec![pub_keys("*")]),
            host: FakeHost::new(),
            expect: reject("container \"app\": image is not a string (got a number)"),
            verify_calls: 0,
        },
        Case {
            name: "an image that is a list",
            request: one(container("app", json!([APP]))),
            settings: settings(vec![pub_keys("*")]),
            host: FakeHost::new(),
            expect: reject("container \"app\": image is not a string (got a list)"),
            verify_calls: 0,
        },
        Case {
            name: "a resource name with a newline is escaped",
            request: Request::Inline(json!({
                "uid": "s", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "namespace": "default", "operation": "CREATE",
                "object": {"metadata": {"name": "web\nPod default/x is accepted"}, "spec": {"containers": [{"name": "app", "image": 7}]}}
            })),
            settings: settings(vec![pub_keys("*")]),
            host: FakeHost::new(),
            expect: Expect::Reject("Pod default/web\\nPod default/x is accepted is not accepted: container \"app\": image is not a string (got a number)".into()),
            verify_calls: 0,
        },
    ]
}

#[test]
fn messages_escape_attacker_text() {
    run_table(message_cases());
}

/// A warn rule's failure on an object rejected for another failure does not say "admitted".
#[test]
fn a_rejection_carries_no_admitted_warning() {
    let request = match pod_request(
        spec(vec![
            container("app", json!(APP)),
            container("tool", json!(TOOL)),
        ]),
        None,
        None,
    ) {
        Request::Inline(value) => value,
        Request::Fixture(_) => unreachable!(),
    };
    let mut warn = pub_keys("quay.io/*");
    warn["mode"] = json!("warn");
    let host = FakeHost::new()
        .verify(APP, PUB_KEY, host_error("no matching signatures"))
        .verify(TOOL, PUB_KEY, host_error("no matching signatures"));
    let payload =
        json!({"request": request, "settings": settings(vec![pub_keys("ghcr.io/*"), warn])});
    let response = sigpin::validate(&serde_json::to_vec(&payload).unwrap(), &host);
    assert!(!response.accepted);
    let warnings = response.warnings.unwrap_or_default();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        !warnings.iter().any(|w| w.contains("admitted")),
        "{warnings:?}"
    );
    assert!(
        warnings[0]
            .ends_with("(warn mode: not enforced; the object is rejected for other failures)"),
        "{warnings:?}"
    );
}

// --- bounded cost ---------------------------------------------------------------------------

fn github_rule() -> Value {
    json!({
        "keylessTrustRoot": {"fulcioChain": [read_text("keyless/fulcio-intermediate.pem"), read_text("keyless/fulcio-root.pem")]},
        "signatures": [{"image": "quay.io/*", "githubActions": {"owner": "org", "repo": "app"}}]
    })
}

/// `count` layers carrying `pem_of(i)` as certificate.
fn manifest_of(count: usize, pem_of: impl Fn(usize) -> String) -> Value {
    let mut manifest = signature_manifest(&["github-leaf.pem"], INTEGRATED);
    let layer = manifest["layers"][0].clone();
    manifest["layers"] = (0..count)
        .map(|i| {
            let mut layer = layer.clone();
            layer["annotations"]["dev.sigstore.cosign/certificate"] = json!(pem_of(i));
            layer
        })
        .collect();
    manifest
}

fn keyless_host(manifest: Value) -> FakeHost {
    FakeHost::new()
        .verify(TOOL, GITHUB, verified(DIGEST_1))
        .verify(TOOL, CERTIFICATE, verified(DIGEST_1))
        .manifest_digest(Ok(json!({"digest": DIGEST_1})))
        .manifest(
            &format!("quay.io/other/tool:{}.sig", DIGEST_1.replace(':', "-")),
            Ok(manifest),
        )
        .trust(Ok(json!({"trusted": true, "reason": ""})))
}

/// One certificate in `i`-th spelling: line width, line endings, surrounding blank lines.
fn respelled(i: usize) -> String {
    let block = ::pem::parse(read_text("keyless/github-leaf.pem")).unwrap();
    let width = 4 * (1 + i % 19);
    let config = ::pem::EncodeConfig::new()
        .set_line_wrap(width)
        .set_line_ending(if i.is_multiple_of(2) {
            ::pem::LineEnding::LF
        } else {
            ::pem::LineEnding::CRLF
        });
    let text = ::pem::encode_config(&block, config);
    format!("{}{text}", "\n".repeat(i / 38))
}

fn tool_pod() -> Value {
    match pod_request(spec(vec![container("app", json!(TOOL))]), None, None) {
        Request::Inline(value) => value,
        Request::Fixture(_) => unreachable!(),
    }
}

#[test]
fn one_certificate_in_100_spellings_is_one_proof() {
    let spellings: std::collections::BTreeSet<String> = (0..100).map(respelled).collect();
    assert_eq!(spellings.len(), 100);
    let host = keyless_host(manifest_of(100, respelled));
    let payload = json!({"request": tool_pod(), "settings": github_rule()});
    let response = sigpin::validate(&serde_json::to_vec(&payload).unwrap(), &host);
    assert!(response.accepted, "{:?}", response.message);
    let operations: Vec<String> = host.calls().into_iter().map(|(op, _)| op).collect();
    assert_eq!(
        operations,
        [
            "oci/v2/verify",
            "oci/v1/manifest_digest",
            "oci/v1/oci_manifest",
            "crypto/v1/is_certificate_trusted",
            "oci/v2/verify"
        ]
    );
}

#[test]
fn too_many_certificates_of_one_identity_are_refused_not_tried() {
    // Distinct DER (the signature's last byte differs), one identity.
    let distinct = |i: usize| {
        let block = ::pem::parse(read_text("keyless/github-leaf.pem")).unwrap();
        let mut der = block.contents().to_vec();
        if let Some(last) = der.last_mut() {
            *last = u8::try_from(i).unwrap();
        }
        ::pem::encode(&::pem::Pem::new("CERTIFICATE", der))
    };
    let host = keyless_host(manifest_of(9, distinct));
    let payload = json!({"request": tool_pod(), "settings": github_rule()});
    let response = sigpin::validate(&serde_json::to_vec(&payload).unwrap(), &host);
    assert!(!response.accepted);
    let message = response.message.unwrap_or_default();
    assert!(message.contains("the signatures carry 9 distinct certificates of the identity GitHub Actions of org/app, more than the 8 the policy examines"), "{message}");
    assert_eq!(host.calls().len(), 3, "no proof is attempted");
    // Eight are examined.
    let host = keyless_host(manifest_of(8, distinct));
    let response = sigpin::validate(
        &serde_json::to_vec(&json!({"request": tool_pod(), "settings": github_rule()})).unwrap(),
        &host,
    );
    assert!(response.accepted, "{:?}", response.message);
}

#[test]
fn a_signature_manifest_with_too_many_layers_is_refused() {
    let host = keyless_host(manifest_of(513, respelled));
    let payload = json!({"request": tool_pod(), "settings": github_rule()});
    let response = sigpin::validate(&serde_json::to_vec(&payload).unwrap(), &host);
    assert!(!response.accepted);
    let message = response.message.unwrap_or_default();
    assert!(
        message
            .contains("the signature manifest has 513 layers, more than the 512 the policy reads"),
        "{message}"
    );
}

#[test]
fn host_calls_per_request_are_capped() {
    let images: Vec<Value> = (0..300)
        .map(|i| container(&format!("c{i}"), json!(format!("ghcr.io/org/app{i}:v1"))))
        .collect();
    let request = match pod_request(spec(images), None, None) {
        Request::Inline(value) => value,
        Request::Fixture(_) => unreachable!(),
    };
    let host = FakeHost::new().verify_any(|_| verified(DIGEST_1));
    let payload =
        json!({"request": request, "settings": settings(vec![pub_keys("ghcr.io/org/*")])});
    let response = sigpin::validate(&serde_json::to_vec(&payload).unwrap(), &host);
    assert!(!response.accepted);
    assert_eq!(
        host.verify_calls(),
        sigpin::host::MAX_HOST_CALLS_PER_REQUEST
    );
    let message = response.message.unwrap_or_default();
    assert!(
        message.contains("container \"c256\" image \"ghcr.io/org/app256:v1\": rule #0 (pubKeys) failed: not asked: the request needs more than 256 host calls, the policy's limit per request"),
        "{message}"
    );
}
