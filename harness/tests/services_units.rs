//! Verification building blocks without a registry: certificate trust (the engine's
//! semantics), trust-root parsing, and the keyless prefix rule.

// Test code may unwrap, index and panic (the workspace denies them elsewhere).
#![allow(clippy::restriction)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use harness::capabilities::CapabilityServices;
use harness::services::{Services, ServicesConfig, TrustMaterial};
use kubewarden_policy_sdk::host_capabilities::crypto::{Certificate, CertificateEncoding};
use kubewarden_policy_sdk::host_capabilities::crypto_v1::CertificateVerificationRequest;
use serde_json::json;

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../test_data/pki/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn certificate(name: &str) -> Certificate {
    Certificate {
        encoding: CertificateEncoding::Pem,
        data: pem(name),
    }
}

#[test]
fn certificate_trust_follows_the_engine() {
    let services = Services::new(ServicesConfig::default()).unwrap();
    let chain = || {
        Some(vec![
            certificate("intermediate.pem"),
            certificate("root.pem"),
        ])
    };
    let cases = [
        (
            "leaf with its chain",
            certificate("leaf.pem"),
            chain(),
            None,
            json!({"trusted": true, "reason": ""}),
        ),
        (
            "leaf with only the root as chain (intermediate missing)",
            certificate("leaf.pem"),
            Some(vec![certificate("root.pem")]),
            None,
            json!({"trusted": false, "reason": "Certificate is not trusted by the provided cert chain"}),
        ),
        (
            "leaf checked after its expiry",
            certificate("leaf.pem"),
            chain(),
            Some("2999-01-01T00:00:00Z".to_string()),
            json!({"trusted": false, "reason": "Certificate is being used after its expiration date"}),
        ),
        (
            "leaf checked before its validity",
            certificate("leaf.pem"),
            chain(),
            Some("2001-01-01T00:00:00Z".to_string()),
            json!({"trusted": false, "reason": "Certificate is being used before its validity date"}),
        ),
        (
            "leaf whose only extended key usage is serverAuth: any EKU is accepted, as kwctl does",
            certificate("server-auth-leaf.pem"),
            Some(vec![certificate("server-auth-root.pem")]),
            None,
            json!({"trusted": true, "reason": ""}),
        ),
    ];
    for (name, cert, cert_chain, not_after, expected) in cases {
        let answer = services
            .is_certificate_trusted(CertificateVerificationRequest {
                cert,
                cert_chain,
                not_after,
            })
            .map(|answer| serde_json::to_value(answer).unwrap());
        assert_eq!(answer, Ok(expected), "{name}");
    }
    let garbage = Certificate {
        encoding: CertificateEncoding::Pem,
        data: b"junk".to_vec(),
    };
    let answer = services.is_certificate_trusted(CertificateVerificationRequest {
        cert: garbage,
        cert_chain: chain(),
        not_after: None,
    });
    assert!(
        answer
            .unwrap_err()
            .starts_with("cannot parse the PEM certificate")
    );
}

#[test]
fn trust_roots_load_in_both_shapes() {
    let der = |name: &str| STANDARD.encode(pem::parse(pem(name)).unwrap().contents());
    let key_der = STANDARD.encode(pem::parse(pem("cosign.pub")).unwrap().contents());
    let root = json!({
        "tlogs": [{"publicKey": {"rawBytes": key_der}, "logId": {"keyId": STANDARD.encode([0xab, 0xcd])}}],
        "certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": der("intermediate.pem")}, {"rawBytes": der("root.pem")}]}}]
    });
    for text in [
        root.to_string(),
        json!({"mediaType": "x", "trustedRoot": root}).to_string(),
    ] {
        let material = TrustMaterial::parse(&text).unwrap();
        assert_eq!(material.fulcio_certs.len(), 2);
        assert_eq!(material.rekor_keys.keys().collect::<Vec<_>>(), vec!["abcd"]);
    }
    let keyless_less = json!({"tlogs": [], "certificateAuthorities": []}).to_string();
    assert!(
        TrustMaterial::parse(&keyless_less)
            .unwrap_err()
            .to_string()
            .contains("Fulcio certificates not found")
    );
}

#[test]
fn keyless_without_trust_root_is_refused_with_a_reason() {
    let services = Services::new(ServicesConfig::default()).unwrap();
    let input = serde_json::from_value(json!({
        "type": "SigstoreGithubActionsVerify", "image": "127.0.0.1:1/x:1", "owner": "org", "repo": null, "annotations": null
    }))
    .unwrap();
    // The SDK's VerificationResponse has no Debug: compare its JSON.
    let answer = services
        .verify(input)
        .map(|answer| serde_json::to_value(answer).unwrap());
    assert_eq!(
        answer,
        Err(
            "keyless verification needs a Sigstore trust root: pass --sigstore-trust-config"
                .to_string()
        )
    );
}
