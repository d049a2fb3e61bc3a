//! Signatures only in cosign v3's bundle format: after the host finds no `.sig` signature, the
//! policy looks for the OCI referrers fallback tag and says how to sign; otherwise it asks
//! nothing more.

mod common;

use common::cases::*;
use common::rules::*;
use common::*;
use serde_json::{Value, json};

const TOOL: &str = "quay.io/other/tool:1.0";
const NO_SIGNATURES: &str = "no signatures found for image: quay.io/other/tool:1.0 ";

fn referrers_tag() -> String {
    format!("quay.io/other/tool:{}", DIGEST_1.replace(':', "-"))
}

fn referrers_index(entry: Value) -> Value {
    json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [entry]})
}

fn bundle_entry() -> Value {
    json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": DIGEST_2, "size": 1,
           "annotations": {"dev.sigstore.bundle.content": "message-signature"}})
}

fn unsigned_host() -> FakeHost {
    FakeHost::new()
        .verify(TOOL, "SigstorePubKeyVerify", host_error(NO_SIGNATURES))
        .manifest_digest(Ok(json!({"digest": DIGEST_1})))
}

fn rejected(reason: &str) -> Expect {
    Expect::Reject(format!(
        "Pod default/web is not accepted: container \"app\" image \"{TOOL}\": rule #0 (pubKeys) failed: {reason}"
    ))
}

const HOW: &str = "but no `.sig` signature; the Kubewarden host verifies only signatures stored under the `.sig` tag: sign with `cosign sign --new-bundle-format=false --use-signing-config=false` (cosign v3) or with cosign v2";

fn cases() -> Vec<Case> {
    let tag = DIGEST_1.replace(':', "-");
    vec![
        Case {
            name: "a Sigstore bundle under the referrers tag: said so, with how to sign",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![pub_keys("quay.io/*")]),
            host: unsigned_host().manifest(&referrers_tag(), Ok(referrers_index(bundle_entry()))),
            expect: rejected(&format!(
                "no signatures found for image: {TOOL}; the image has a Sigstore bundle (cosign v3's default format) under the referrers tag {tag} {HOW}"
            )),
            verify_calls: 1,
        },
        Case {
            name: "other referrers (an SBOM): named as referrers, not as a bundle",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![pub_keys("quay.io/*")]),
            host: unsigned_host().manifest(
                &referrers_tag(),
                Ok(referrers_index(json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": DIGEST_2, "size": 1}))),
            ),
            expect: rejected(&format!(
                "no signatures found for image: {TOOL}; the image has OCI referrers (such as a cosign v3 bundle) under the referrers tag {tag} {HOW}"
            )),
            verify_calls: 1,
        },
        Case {
            name: "no referrers tag: the host's reason unchanged",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![pub_keys("quay.io/*")]),
            host: unsigned_host(),
            expect: rejected(&format!("no signatures found for image: {TOOL}")),
            verify_calls: 1,
        },
        Case {
            name: "the digest cannot be read: the host's reason unchanged",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![pub_keys("quay.io/*")]),
            host: FakeHost::new()
                .verify(TOOL, "SigstorePubKeyVerify", host_error(NO_SIGNATURES))
                .manifest_digest(Err("registry down".into()))
                .manifest("*", Ok(referrers_index(bundle_entry()))),
            expect: rejected(&format!("no signatures found for image: {TOOL}")),
            verify_calls: 1,
        },
        Case {
            name: "another failure (wrong key) is not explained as a bundle",
            request: Request::Fixture("pod-no-match"),
            settings: settings(vec![pub_keys("quay.io/*")]),
            host: FakeHost::new()
                .verify(TOOL, "SigstorePubKeyVerify", host_error("Image verification failed: missing signatures"))
                .manifest_digest(Ok(json!({"digest": DIGEST_1})))
                .manifest("*", Ok(referrers_index(bundle_entry()))),
            expect: rejected("Image verification failed: missing signatures"),
            verify_calls: 1,
        },
    ]
}

#[test]
fn bundle_only_cases() {
    run_table(cases());
}

fn operations(host: &FakeHost) -> Vec<String> {
    host.calls().into_iter().map(|(op, _)| op).collect()
}

fn evaluate(host: &FakeHost, rules: Vec<Value>) {
    let payload =
        json!({"request": read_json("requests/pod-no-match.json"), "settings": settings(rules)});
    sigpin::validate(&serde_json::to_vec(&payload).unwrap(), host);
}

#[test]
fn a_verified_image_asks_nothing_more() {
    let host = FakeHost::new()
        .verify(TOOL, "SigstorePubKeyVerify", verified(DIGEST_1))
        .manifest_digest(Ok(json!({"digest": DIGEST_1})))
        .manifest("*", Ok(referrers_index(bundle_entry())));
    evaluate(&host, vec![pub_keys("quay.io/*")]);
    assert_eq!(operations(&host), ["oci/v2/verify"]);
}

#[test]
fn the_referrers_tag_is_read_once_per_image_whatever_the_rules() {
    let host = unsigned_host().manifest(&referrers_tag(), Ok(referrers_index(bundle_entry())));
    evaluate(
        &host,
        vec![pub_keys("quay.io/*"), pub_keys("quay.io/other/*")],
    );
    let ops = operations(&host);
    let count = |op: &str| ops.iter().filter(|o| *o == op).count();
    assert_eq!(count("oci/v2/verify"), 2, "{ops:?}");
    assert_eq!(count("oci/v1/manifest_digest"), 1, "{ops:?}");
    assert_eq!(count("oci/v1/oci_manifest"), 1, "{ops:?}");
}
