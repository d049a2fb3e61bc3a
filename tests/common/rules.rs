//! Rule builders and image names shared by the evaluation suites.

use serde_json::{Value, json};

use super::{DIGEST_1, FakeHost, pem, verified};

pub const APP: &str = "ghcr.io/org/app:v1";
pub const INIT: &str = "ghcr.io/org/init:v1";
pub const DEBUG: &str = "ghcr.io/org/debug:v1";
pub const PUB_KEY: &str = "SigstorePubKeyVerify";
pub const KEYLESS: &str = "SigstoreKeylessVerify";
pub const PREFIX: &str = "SigstoreKeylessPrefixVerify";
pub const GITHUB: &str = "SigstoreGithubActionsVerify";
pub const CERTIFICATE: &str = "SigstoreCertificateVerify";

pub fn pin(image: &str) -> String {
    format!("{image}@{DIGEST_1}")
}

/// Settings of these rules. Keyless binding is off here: tests/binding.rs covers it with the
/// host answers it needs.
pub fn settings(rules: Vec<Value>) -> Value {
    json!({ "bindKeyless": false, "signatures": rules })
}

pub fn pub_keys(glob: &str) -> Value {
    json!({ "image": glob, "pubKeys": [pem("cosign.pub")] })
}

pub fn keyless(glob: &str) -> Value {
    json!({ "image": glob, "keyless": [{
        "issuer": "https://token.actions.githubusercontent.com",
        "subject": "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main"
    }]})
}

pub fn keyless_prefix(glob: &str) -> Value {
    json!({ "image": glob, "keylessPrefix": [{
        "issuer": "https://token.actions.githubusercontent.com",
        "urlPrefix": "https://github.com/org/"
    }]})
}

pub fn github_actions(glob: &str) -> Value {
    json!({ "image": glob, "githubActions": { "owner": "org", "repo": "app" } })
}

/// A certificates rule listing `count` distinct certificates (each of its own key).
pub fn certificates(glob: &str, count: usize) -> Value {
    let listed: Vec<String> = ["leaf.pem", "intermediate.pem", "root.pem"]
        .iter()
        .take(count)
        .map(|file| pem(file))
        .collect();
    assert_eq!(listed.len(), count, "the fixtures hold three certificates");
    json!({
        "image": glob,
        "certificates": listed,
        "certificateChain": [pem("intermediate.pem"), pem("root.pem")],
        "requireRekorBundle": true
    })
}

/// A host that verifies each image with `variant` to `DIGEST_1`.
pub fn signed(variant: &str, images: &[&str]) -> FakeHost {
    images.iter().fold(FakeHost::new(), |host, image| {
        host.verify(image, variant, verified(DIGEST_1))
    })
}
