//! `validate_settings`: upstream files load, and every refusal names the rule, its kind and the
//! field, with the exact message an operator will read.

mod common;

use common::*;
use serde_json::{Value, json};

const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn validate(settings: &Value, host: &FakeHost) -> Result<(), String> {
    let payload = serde_json::to_vec(settings).map_err(|e| e.to_string())?;
    let response = sigpin::validate_settings(&payload, host);
    match (response.valid, response.message) {
        (true, None) => Ok(()),
        (false, Some(message)) => Err(message),
        (valid, message) => Err(format!(
            "inconsistent response: valid={valid} message={message:?}"
        )),
    }
}

fn one_rule(rule: Value) -> Value {
    json!({ "signatures": [rule] })
}

fn trusted_host() -> FakeHost {
    FakeHost::new().trust(Ok(json!({"trusted": true})))
}

#[test]
fn upstream_settings_files_validate() {
    let files = [
        "upstream-pub-keys.yaml",
        "upstream-keyless.yaml",
        "upstream-keyless-prefix.yaml",
        "upstream-keyless-prefix-url_prefix.yaml",
        "upstream-github-actions.yaml",
        "upstream-github-actions-annotations.yaml",
        "upstream-certificates.yaml",
    ];
    for file in files {
        let settings = read_yaml(&format!("settings/{file}"));
        let host = trusted_host();
        assert_eq!(validate(&settings, &host), Ok(()), "{file}");
    }
}

#[test]
fn the_certificate_is_checked_against_its_chain_by_the_host() {
    let host = trusted_host();
    validate(&read_yaml("settings/upstream-certificates.yaml"), &host).unwrap();
    let calls = host.calls();
    assert_eq!(calls.len(), 1);
    let (op, request) = &calls[0];
    assert_eq!(op, "crypto/v1/is_certificate_trusted");
    assert_eq!(request["cert"]["encoding"], "Pem");
    let chain = request["cert_chain"].as_array().expect("a chain");
    assert_eq!(chain.len(), 2);
    let leaf: Vec<u8> = serde_json::from_value(request["cert"]["data"].clone()).unwrap();
    assert_eq!(String::from_utf8(leaf).unwrap(), pem("leaf.pem"));
}

#[test]
fn refusals_name_rule_kind_and_field() {
    let key = pem("cosign.pub");
    let cert = pem("leaf.pem");
    let chain = json!([pem("intermediate.pem"), pem("root.pem")]);
    let cases: Vec<(&str, Value, FakeHost, &str)> = vec![
        (
            "empty signatures",
            json!({"signatures": []}),
            FakeHost::new(),
            "field \"signatures\": must not be empty",
        ),
        (
            "no signatures at all",
            json!({"modifyImagesWithDigest": true}),
            FakeHost::new(),
            "field \"signatures\": must not be empty",
        ),
        (
            "signatures not a list",
            json!({"signatures": {"image": "*"}}),
            FakeHost::new(),
            "field \"signatures\": must be a list of rules",
        ),
        (
            "unknown top-level setting",
            json!({"signatures": [{"image": "*", "pubKeys": [key]}], "modifyImageWithDigest": false}),
            FakeHost::new(),
            "field \"modifyImageWithDigest\": unknown setting; did you mean \"modifyImagesWithDigest\"?",
        ),
        (
            "modifyImagesWithDigest not a boolean",
            json!({"signatures": [{"image": "*", "pubKeys": [key]}], "modifyImagesWithDigest": "yes"}),
            FakeHost::new(),
            "field \"modifyImagesWithDigest\": must be true or false",
        ),
        (
            "rule without a kind",
            one_rule(json!({"image": "*"})),
            FakeHost::new(),
            "rule #0: no signature kind: set exactly one of pubKeys, keyless, keylessPrefix, keylessRegex, githubActions, certificates",
        ),
        (
            "rule with two kinds",
            one_rule(json!({"image": "*", "pubKeys": [key], "githubActions": {"owner": "org"}})),
            FakeHost::new(),
            "rule #0: more than one signature kind (pubKeys, githubActions): set exactly one",
        ),
        (
            "misspelled field in a rule, second rule",
            json!({"signatures": [
                {"image": "*", "pubKeys": [key]},
                {"image": "*", "pubKeys": [key], "skipImage": ["x/*"]}
            ]}),
            FakeHost::new(),
            "rule #1: unknown field \"skipImage\"; did you mean \"skipImages\"?",
        ),
        (
            "misspelled kind key",
            one_rule(json!({"image": "*", "pubkeys": [key]})),
            FakeHost::new(),
            "rule #0: unknown field \"pubkeys\"; did you mean \"pubKeys\"?",
        ),
        (
            "two kinds that both list signers",
            one_rule(
                json!({"image": "*", "pubKeys": [key], "keyless": [{"issuer": ISSUER, "subject": "a@b.c"}]}),
            ),
            FakeHost::new(),
            "rule #0: more than one signature kind (pubKeys, keyless): set exactly one",
        ),
        (
            "two kind keys, both empty",
            one_rule(json!({"image": "*", "pubKeys": [], "keyless": []})),
            FakeHost::new(),
            "rule #0: more than one signature kind (pubKeys, keyless): set exactly one",
        ),
        (
            "empty image glob",
            one_rule(json!({"image": "", "pubKeys": [key]})),
            FakeHost::new(),
            "rule #0 (pubKeys), field \"image\": must not be empty",
        ),
        (
            "missing image glob",
            one_rule(json!({"pubKeys": [key]})),
            FakeHost::new(),
            "rule #0 (pubKeys), field \"image\": is required",
        ),
        (
            "empty key list",
            one_rule(json!({"image": "*", "pubKeys": []})),
            FakeHost::new(),
            "rule #0 (pubKeys), field \"pubKeys\": must not be empty",
        ),
        (
            "a certificate where a public key belongs",
            one_rule(json!({"image": "*", "pubKeys": [key, cert]})),
            FakeHost::new(),
            "rule #0 (pubKeys), field \"pubKeys[1]\": not a PEM public key: expected a \"PUBLIC KEY\" PEM block, found \"CERTIFICATE\"",
        ),
        (
            "a key that is not PEM",
            one_rule(json!({"image": "*", "pubKeys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"]})),
            FakeHost::new(),
            "rule #0 (pubKeys), field \"pubKeys[0]\": not a PEM public key: malformedframing",
        ),
        (
            "annotation value not a string",
            one_rule(json!({"image": "*", "pubKeys": [key], "annotations": {"build": 7}})),
            FakeHost::new(),
            "rule #0 (pubKeys), field \"annotations.build\": must be a string (quote numbers and booleans)",
        ),
        (
            "empty keyless list",
            one_rule(json!({"image": "*", "keyless": []})),
            FakeHost::new(),
            "rule #0 (keyless), field \"keyless\": must not be empty",
        ),
        (
            "keyless identity without subject",
            one_rule(json!({"image": "*", "keyless": [{"issuer": ISSUER}]})),
            FakeHost::new(),
            "rule #0 (keyless), field \"keyless[0].subject\": is required",
        ),
        (
            "keyless identity with a misspelled field",
            one_rule(
                json!({"image": "*", "keyless": [{"issuer": ISSUER, "subject": "a@b.c", "subjet": "x@b.c"}]}),
            ),
            FakeHost::new(),
            "rule #0 (keyless), field \"keyless[0].subjet\": unknown field; did you mean \"subject\"?",
        ),
        (
            "urlPrefix that is not an absolute URL",
            one_rule(
                json!({"image": "*", "keylessPrefix": [{"issuer": ISSUER, "urlPrefix": "github.com/org/"}]}),
            ),
            FakeHost::new(),
            "rule #0 (keylessPrefix), field \"keylessPrefix[0].urlPrefix\": \"github.com/org/\" is not an absolute URL (e.g. https://github.com/org/)",
        ),
        (
            "url_prefix that is not an absolute URL",
            one_rule(
                json!({"image": "*", "keylessPrefix": [{"issuer": ISSUER, "url_prefix": "https:// org"}]}),
            ),
            FakeHost::new(),
            "rule #0 (keylessPrefix), field \"keylessPrefix[0].url_prefix\": \"https:// org\" is not an absolute URL (e.g. https://github.com/org/)",
        ),
        (
            "both prefix spellings",
            one_rule(
                json!({"image": "*", "keylessPrefix": [{"issuer": ISSUER, "urlPrefix": "https://a/", "url_prefix": "https://b/"}]}),
            ),
            FakeHost::new(),
            "rule #0 (keylessPrefix), field \"keylessPrefix[0]\": set either urlPrefix or url_prefix, not both",
        ),
        (
            "empty GitHub owner",
            one_rule(json!({"image": "*", "githubActions": {"owner": "", "repo": "app"}})),
            FakeHost::new(),
            "rule #0 (githubActions), field \"githubActions.owner\": must not be empty",
        ),
        (
            "GitHub rule that is not an object",
            one_rule(json!({"image": "*", "githubActions": ["org"]})),
            FakeHost::new(),
            "rule #0 (githubActions), field \"githubActions\": must be an object with owner and optional repo",
        ),
        (
            "a public key where a certificate belongs",
            one_rule(json!({"image": "*", "certificates": [key]})),
            FakeHost::new(),
            "rule #0 (certificates), field \"certificates[0]\": not a PEM certificate: expected a \"CERTIFICATE\" PEM block, found \"PUBLIC KEY\"",
        ),
        (
            "a chain entry that is not a certificate",
            one_rule(
                json!({"image": "*", "certificates": [cert], "certificateChain": [pem("intermediate.pem"), key]}),
            ),
            FakeHost::new(),
            "rule #0 (certificates), field \"certificateChain[1]\": not a PEM certificate: expected a \"CERTIFICATE\" PEM block, found \"PUBLIC KEY\"",
        ),
        (
            "a certificate outside its chain",
            one_rule(json!({"image": "*", "certificates": [cert], "certificateChain": chain})),
            FakeHost::new().trust(Ok(
                json!({"trusted": false, "reason": "certificate is not signed by the chain"}),
            )),
            "rule #0 (certificates), field \"certificates[0]\": not trusted by certificateChain: certificate is not signed by the chain",
        ),
        (
            "the host cannot check the chain",
            one_rule(json!({"image": "*", "certificates": [cert], "certificateChain": chain})),
            FakeHost::new().trust(Err("Host error: unknown operation".into())),
            "rule #0 (certificates), field \"certificates[0]\": could not be checked against certificateChain: unknown operation",
        ),
        (
            "requireRekorBundle not a boolean",
            one_rule(json!({"image": "*", "certificates": [cert], "requireRekorBundle": "true"})),
            FakeHost::new(),
            "rule #0 (certificates), field \"requireRekorBundle\": must be true or false",
        ),
    ];
    let count = cases.len();
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(
            |(name, settings, host, expected)| match validate(&settings, &host) {
                Err(message) if message == expected => None,
                other => Some(format!(
                    "{name}:\n  expected: Err({expected})\n  got:      {other:?}"
                )),
            },
        )
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn settings_that_are_not_json_are_refused() {
    let response = sigpin::validate_settings(b"signatures: []", &FakeHost::new());
    assert!(!response.valid);
    assert_eq!(
        response.message.as_deref(),
        Some("settings are not JSON: expected value at line 1 column 1")
    );
}

/// The compatibility contract: what upstream ignores is ignored here, with the same meaning as
/// the settings without it (README, "Migrating from verify-image-signatures").
#[test]
fn keys_upstream_ignores_are_ignored_with_the_same_meaning() {
    let key = pem("cosign.pub");
    let identity = json!({"issuer": ISSUER, "subject": "a@b.c"});
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "Rancher form kind selector and description",
            json!({"rule": "PublicKey", "description": null, "signatures": [{"image": "*", "pubKeys": [key]}]}),
            json!({"signatures": [{"image": "*", "pubKeys": [key]}]}),
        ),
        (
            "other kinds left at their form defaults",
            json!({"signatures": [{"image": "*", "pubKeys": [key], "keyless": [], "keylessPrefix": [],
                "githubActions": {}, "certificates": [], "keylessRegex": null}]}),
            json!({"signatures": [{"image": "*", "pubKeys": [key]}]}),
        ),
        (
            "a GitHub template left untouched beside keyless",
            json!({"signatures": [{"image": "*", "keyless": [identity],
                "githubActions": {"owner": "", "repo": ""}}]}),
            json!({"signatures": [{"image": "*", "keyless": [identity]}]}),
        ),
        (
            "certificate-only fields on a pubKeys rule",
            json!({"signatures": [{"image": "*", "pubKeys": [key], "requireRekorBundle": true,
                "certificateChain": []}]}),
            json!({"signatures": [{"image": "*", "pubKeys": [key]}]}),
        ),
        (
            "unknown keys far from every known key",
            json!({"team": "payments", "signatures": [{"image": "*", "comment": "prod images",
                "keyless": [{"issuer": ISSUER, "subject": "a@b.c", "subjectRegExp": ".*"}]}]}),
            json!({"signatures": [{"image": "*", "keyless": [identity]}]}),
        ),
    ];
    for (name, noisy, clean) in cases {
        let noisy = sigpin::settings::parse_settings(&noisy);
        let clean = sigpin::settings::parse_settings(&clean);
        assert!(clean.is_ok(), "{name}: {clean:?}");
        assert_eq!(noisy, clean, "{name}");
    }
}
