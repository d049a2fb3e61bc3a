//! Keyless binding: a keyless identity counts only when its certificate's key signed the image.
//! Each branch of the decision with the fake host, plus the certificate parser.

mod common;

use common::cases::*;
use common::rules::*;
use common::*;
use serde_json::{Value, json};
use sigpin::x509::{CertificateError, Identity, Subject, identity_of_pem};

const TOOL: &str = "quay.io/other/tool:1.0";
const INTEGRATED: i64 = 1_800_000_000;

fn signatures_of_tool() -> String {
    format!("quay.io/other/tool:{}.sig", DIGEST_1.replace(':', "-"))
}

fn bound_settings(rule: Value) -> Value {
    json!({
        "keylessTrustRoot": {"fulcioChain": [read_text("keyless/fulcio-intermediate.pem"), read_text("keyless/fulcio-root.pem")]},
        "signatures": [rule]
    })
}

fn github() -> Value {
    json!({"image": "quay.io/*", "githubActions": {"owner": "org", "repo": "app"}})
}

/// A host that verifies the keyless request and serves a `.sig` manifest with `certificates`.
fn host(variant: &str, certificates: &[&str]) -> FakeHost {
    FakeHost::new()
        .verify(TOOL, variant, verified(DIGEST_1))
        .manifest_digest(Ok(json!({"digest": DIGEST_1})))
        .manifest(
            &signatures_of_tool(),
            Ok(signature_manifest(certificates, INTEGRATED)),
        )
        .trust(Ok(json!({"trusted": true, "reason": ""})))
}

fn rejected(rule: &str, reason: &str) -> Expect {
    Expect::Reject(format!(
        "Pod default/web is not accepted: container \"app\" image \"{TOOL}\": rule #0 ({rule}) failed: {reason}"
    ))
}

fn binding_cases() -> Vec<Case> {
    let pinned = vec![("/spec/containers/0/image", pin(TOOL))];
    vec![
        Case {
            name: "bound: the certificate of the identity signed this digest",
            request: Request::Fixture("pod-no-match"),
            settings: bound_settings(github()),
            host: host(GITHUB, &["github-leaf.pem"]).verify(TOOL, CERTIFICATE, verified(DIGEST_1)),
            expect: Expect::Mutate(pinned.clone()),
            verify_calls: 2,
        },
        Case {
            name: "transplant: identity present, but no signature made with its certificate",
            request: Request::Fixture("pod-no-match"),
            settings: bound_settings(github()),
            host: host(GITHUB, &["github-leaf.pem"]).verify(TOOL, CERTIFICATE, host_error("Image verification failed: missing signatures")),
            expect: rejected(
                "githubActions",
                "identity found only on a signature its certificate did not make (no signature of this image was made with the certificate's key: Image verification failed: missing signatures)",
            ),
            verify_calls: 2,
        },
        Case {
            name: "the certificate does not chain to the Fulcio CA",
            request: Request::Fixture("pod-no-match"),
            settings: bound_settings(github()),
            host: host(GITHUB, &["github-leaf.pem"])
                .trust(Ok(json!({"trusted": false, "reason": "Certificate is not trusted by the provided cert chain"}))),
            expect: rejected(
                "githubActions",
                "no certificate of the identity GitHub Actions of org/app chains to the trusted Fulcio CA (a certificate of the identity is not from the trusted Fulcio CA: Certificate is not trusted by the provided cert chain); if these signatures come from a private Sigstore, set keylessTrustRoot.fulcioChain to its Fulcio CA chain (the default trusts only public-good Sigstore)",
            ),
            verify_calls: 1,
        },
        Case {
            name: "a certificate outside its validity is not a trust-root problem: no keylessTrustRoot hint",
            request: Request::Fixture("pod-no-match"),
            settings: bound_settings(github()),
            host: host(GITHUB, &["github-leaf.pem"])
                .trust(Ok(json!({"trusted": false, "reason": "Certificate is being used after its expiration date"}))),
            expect: rejected(
                "githubActions",
                "identity found only on a signature its certificate did not make (a certificate of the identity is not from the trusted Fulcio CA: Certificate is being used after its expiration date)",
            ),
            verify_calls: 1,
        },
        Case {
            name: "no certificate of the identity at all (only a look-alike owner)",
            request: Request::Fixture("pod-no-match"),
            settings: bound_settings(github()),
            host: host(GITHUB, &["evil-leaf.pem"]),
            expect: rejected("githubActions", "no signature certificate of the image carries the identity GitHub Actions of org/app"),
            verify_calls: 1,
        },
        Case {
            name: "the signature manifest cannot be read: fail closed",
            request: Request::Fixture("pod-no-match"),
            settings: bound_settings(github()),
            host: FakeHost::new()
                .verify(TOOL, GITHUB, verified(DIGEST_1))
                .manifest_digest(Ok(json!({"digest": DIGEST_1}))),
            expect: rejected(
                "githubActions",
                &format!("cannot read the signature manifest {}: fake host: no manifest for {}", signatures_of_tool(), signatures_of_tool()),
            ),
            verify_calls: 1,
        },
        Case {
            name: "the image moved between the verification and the manifest read",
            request: Request::Fixture("pod-no-match"),
            settings: bound_settings(github()),
            host: host(GITHUB, &["github-leaf.pem"])
                .manifest_digest(Ok(json!({"digest": DIGEST_2})))
                .manifest(
                    &format!("quay.io/other/tool:{}.sig", DIGEST_2.replace(':', "-")),
                    Ok(signature_manifest(&["github-leaf.pem"], INTEGRATED)),
                ),
            expect: rejected("githubActions", &format!("the image moved during verification ({DIGEST_1} verified, {DIGEST_2} now)")),
            verify_calls: 1,
        },
        Case {
            name: "keyless exact: an e-mail identity with only the v2 issuer extension is bound",
            request: Request::Fixture("pod-no-match"),
            settings: bound_settings(json!({"image": "quay.io/*", "keyless": [{"issuer": "https://oidc.lab.example", "subject": "alice@lab.example"}]})),
            host: host(KEYLESS, &["evil-leaf.pem", "email-leaf.pem"]).verify(TOOL, CERTIFICATE, verified(DIGEST_1)),
            expect: Expect::Mutate(pinned.clone()),
            verify_calls: 2,
        },
        Case {
            name: "keylessPrefix: a prefix without trailing slash does not bind org-evil",
            request: Request::Fixture("pod-no-match"),
            settings: bound_settings(json!({"image": "quay.io/*", "keylessPrefix": [{"issuer": "https://token.actions.githubusercontent.com", "urlPrefix": "https://github.com/org"}]})),
            host: host(PREFIX, &["evil-leaf.pem"]),
            expect: rejected(
                "keylessPrefix",
                "no signature certificate of the image carries the identity https://github.com/org/… (https://token.actions.githubusercontent.com)",
            ),
            verify_calls: 1,
        },
        Case {
            name: "bindKeyless false: the host's word is taken, no extra question",
            request: Request::Fixture("pod-no-match"),
            settings: json!({"bindKeyless": false, "signatures": [github()]}),
            host: FakeHost::new().verify(TOOL, GITHUB, verified(DIGEST_1)),
            expect: Expect::Mutate(pinned),
            verify_calls: 1,
        },
    ]
}

#[test]
fn binding_decisions() {
    run_table(binding_cases());
}

/// The proof asks the host with the candidate certificate, the Fulcio chain of the settings and
/// the bundle's time.
#[test]
fn the_proof_asks_the_right_questions() {
    let host = host(GITHUB, &["github-leaf.pem"]).verify(TOOL, CERTIFICATE, verified(DIGEST_1));
    let payload = json!({"request": read_json("requests/pod-no-match.json"), "settings": bound_settings(github())});
    let response = sigpin::validate(&serde_json::to_vec(&payload).unwrap(), &host);
    assert!(response.accepted, "{:?}", response.message);
    let calls = host.calls();
    let ops: Vec<&str> = calls.iter().map(|(op, _)| op.as_str()).collect();
    assert_eq!(
        ops,
        [
            "oci/v2/verify",
            "oci/v1/manifest_digest",
            "oci/v1/oci_manifest",
            "crypto/v1/is_certificate_trusted",
            "oci/v2/verify"
        ]
    );
    let trust = &calls[3].1;
    assert_eq!(trust["not_after"], "2027-01-15T08:00:00Z");
    assert_eq!(trust["cert_chain"].as_array().map(Vec::len), Some(2));
    let proof = &calls[4].1;
    assert_eq!(proof["type"], "SigstoreCertificateVerify");
    assert_eq!(proof["require_rekor_bundle"], true);
    assert_eq!(proof["certificate_chain"], Value::Null);
    let certificate: Vec<u8> = serde_json::from_value(proof["certificate"].clone()).unwrap();
    assert_eq!(
        String::from_utf8(certificate).unwrap(),
        read_text("keyless/github-leaf.pem")
    );
}

#[test]
fn binding_settings_are_validated() {
    let cases: Vec<(&str, Value, Result<(), &str>)> = vec![
        (
            "annotations on a keyless rule while binding",
            json!({"signatures": [{"image": "*", "githubActions": {"owner": "o"}, "annotations": {"env": "prod"}}]}),
            Err(
                "rule #0 (githubActions), field \"annotations\": cannot be bound to the keyless signer on a Kubewarden host (the host checks annotations on any signature layer); remove them or set bindKeyless: false",
            ),
        ),
        (
            "annotations on a keyless rule without binding",
            json!({"bindKeyless": false, "signatures": [{"image": "*", "githubActions": {"owner": "o"}, "annotations": {"env": "prod"}}]}),
            Ok(()),
        ),
        (
            "a Fulcio chain entry that is not a certificate",
            json!({"keylessTrustRoot": {"fulcioChain": ["nope"]}, "signatures": [{"image": "*", "githubActions": {"owner": "o"}}]}),
            Err(
                "field \"keylessTrustRoot.fulcioChain[0]\": not a PEM certificate: malformedframing",
            ),
        ),
        (
            "an empty Fulcio chain",
            json!({"keylessTrustRoot": {"fulcioChain": []}, "signatures": [{"image": "*", "githubActions": {"owner": "o"}}]}),
            Err(
                "field \"keylessTrustRoot.fulcioChain\": must be a non-empty list of PEM certificates",
            ),
        ),
        (
            "an unknown trust root field",
            json!({"keylessTrustRoot": {"rekorKey": "x"}, "signatures": [{"image": "*", "githubActions": {"owner": "o"}}]}),
            Err("field \"keylessTrustRoot.rekorKey\": unknown field; expected fulcioChain"),
        ),
    ];
    for (name, settings, expected) in cases {
        let response =
            sigpin::validate_settings(&serde_json::to_vec(&settings).unwrap(), &FakeHost::new());
        let got = match response.valid {
            true => Ok(()),
            false => Err(response.message.unwrap_or_default()),
        };
        assert_eq!(got, expected.map_err(str::to_string), "{name}");
    }
}

#[test]
fn certificate_identities_are_read_like_sigstore() {
    let cases: Vec<(&str, Result<Identity, CertificateError>)> = vec![
        (
            "github-leaf.pem",
            Ok(Identity {
                subject: Subject::Uri(
                    "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main"
                        .into(),
                ),
                issuer: Some("https://token.actions.githubusercontent.com".into()),
                github_repository: Some("org/app".into()),
            }),
        ),
        (
            "email-leaf.pem",
            Ok(Identity {
                subject: Subject::Email("alice@lab.example".into()),
                issuer: Some("https://oidc.lab.example".into()),
                github_repository: None,
            }),
        ),
        ("fulcio-root.pem", Err(CertificateError::NoSubject)),
    ];
    for (file, expected) in cases {
        assert_eq!(
            identity_of_pem(&read_text(&format!("keyless/{file}"))),
            expected,
            "{file}"
        );
    }
    assert!(matches!(
        identity_of_pem("garbage"),
        Err(CertificateError::Pem(_))
    ));
    let truncated = "-----BEGIN CERTIFICATE-----\nMIIBkTCCATeg\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        identity_of_pem(truncated),
        Err(CertificateError::Der(_))
    ));
}

fn regex_rule(subject: &str) -> Value {
    json!({"image": "quay.io/*", "keylessRegex": [{
        "issuer": "https://token.actions.githubusercontent.com",
        "subjectRegExp": subject
    }]})
}

/// The exact identity the policy asks the host to verify for a regex match.
fn exact_request_for(subject: &str) -> impl Fn(&Value) -> Answer + 'static {
    let subject = subject.to_string();
    move |request: &Value| match request["keyless"][0]["subject"].as_str() == Some(subject.as_str())
    {
        true => verified(DIGEST_1),
        false => host_error("Image verification failed: missing signatures"),
    }
}

const GITHUB_SUBJECT: &str =
    "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main";

fn regex_cases() -> Vec<Case> {
    let regex_host = |certificates: &[&str]| {
        FakeHost::new()
            .manifest_digest(Ok(json!({"digest": DIGEST_1})))
            .manifest(
                &signatures_of_tool(),
                Ok(signature_manifest(certificates, INTEGRATED)),
            )
            .trust(Ok(json!({"trusted": true, "reason": ""})))
            .verify_with(TOOL, KEYLESS, exact_request_for(GITHUB_SUBJECT))
            .verify(TOOL, CERTIFICATE, verified(DIGEST_1))
    };
    vec![
        Case {
            name: "keylessRegex: every repository of the org, release workflow on main",
            request: Request::Fixture("pod-no-match"),
            settings: bound_settings(regex_rule(
                r"https://github\.com/org/[^/]+/\.github/workflows/release\.yml@refs/heads/main",
            )),
            host: regex_host(&["evil-leaf.pem", "github-leaf.pem"]),
            expect: Expect::Mutate(vec![("/spec/containers/0/image", pin(TOOL))]),
            verify_calls: 2,
        },
        Case {
            name: "keylessRegex: the look-alike org does not match the anchored expression",
            request: Request::Fixture("pod-no-match"),
            settings: bound_settings(regex_rule(r"https://github\.com/org/.*")),
            host: regex_host(&["evil-leaf.pem"]),
            expect: rejected(
                "keylessRegex",
                r"no signature certificate matches issuer https://token.actions.githubusercontent.com and subject /https://github\.com/org/.*/",
            ),
            verify_calls: 0,
        },
        Case {
            name: "keylessRegex: a matching certificate the host does not verify",
            request: Request::Fixture("pod-no-match"),
            settings: bound_settings(regex_rule(r"https://github\.com/org-evil/.*")),
            host: regex_host(&["evil-leaf.pem"]),
            expect: rejected(
                "keylessRegex",
                r"no identity matching issuer https://token.actions.githubusercontent.com and subject /https://github\.com/org-evil/.*/ verified (https://github.com/org-evil/app/.github/workflows/release.yml@refs/heads/main: Image verification failed: missing signatures)",
            ),
            verify_calls: 1,
        },
    ]
}

#[test]
fn keyless_regex_decisions() {
    run_table(regex_cases());
}

#[test]
fn keyless_regex_settings_are_validated() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"signatures": [{"image": "*", "keylessRegex": [{"issuer": "i", "subjectRegExp": "("}]}]}),
            "rule #0 (keylessRegex), field \"keylessRegex[0].subjectRegExp\": not a valid regular expression",
        ),
        (
            json!({"signatures": [{"image": "*", "keylessRegex": [{"subjectRegExp": ".*"}]}]}),
            "rule #0 (keylessRegex), field \"keylessRegex[0]\": set exactly one of issuer and issuerRegExp",
        ),
        (
            json!({"signatures": [{"image": "*", "keylessRegex": [{"issuer": "i", "issuerRegExp": ".*", "subjectRegExp": ".*"}]}]}),
            "rule #0 (keylessRegex), field \"keylessRegex[0]\": set exactly one of issuer and issuerRegExp",
        ),
        (
            json!({"signatures": [{"image": "*", "keylessRegex": []}]}),
            "rule #0 (keylessRegex), field \"keylessRegex\": must not be empty",
        ),
    ];
    for (settings, expected) in cases {
        let response =
            sigpin::validate_settings(&serde_json::to_vec(&settings).unwrap(), &FakeHost::new());
        assert!(!response.valid);
        let message = response.message.unwrap_or_default();
        assert!(message.starts_with(expected), "{message}");
    }
    let valid = json!({"signatures": [{"image": "*", "threshold": 1, "keylessRegex": [
        {"issuerRegExp": "https://token\\.actions\\..*", "subjectRegExp": "https://github\\.com/org/.*"},
        {"issuer": "https://oidc.lab.example", "subjectRegExp": ".*@lab\\.example"}
    ]}]});
    let response =
        sigpin::validate_settings(&serde_json::to_vec(&valid).unwrap(), &FakeHost::new());
    assert!(response.valid, "{:?}", response.message);
}
