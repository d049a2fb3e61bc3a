//! The bypass suite: each file of `test_data/bypass/` is one way images slip past signature
//! policies. Every one must be rejected, or verified and admitted for the right reason.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Trick {
    why: String,
    request: Value,
    /// image → digest the host verifies it to; every other image has no signature.
    signed: std::collections::BTreeMap<String, String>,
    allowed: bool,
    /// Distinct (image, rule kind) pairs the policy must ask the host about: a specific rule
    /// that does not see a respelled image would show up here even behind the catch-all.
    asked: Vec<(String, String)>,
}

const VARIANTS: [&str; 2] = ["SigstoreGithubActionsVerify", "SigstoreKeylessPrefixVerify"];

fn host_for(trick: &Trick, images: &[String]) -> FakeHost {
    let mut host = FakeHost::new();
    for image in images {
        for variant in VARIANTS {
            let answer = match trick.signed.get(image) {
                Some(digest) => verified(digest),
                None => host_error("no matching signatures"),
            };
            host = host.verify(image, variant, answer);
        }
    }
    host
}

#[test]
fn every_trick_is_closed() {
    let settings = read_yaml("bypass/settings.yaml");
    let mut files: Vec<_> = std::fs::read_dir(test_data("bypass"))
        .expect("test_data/bypass")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the suite lost cases: {}", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let trick: Trick = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut images: Vec<String> = trick.asked.iter().map(|(i, _)| i.clone()).collect();
        images.extend(trick.signed.keys().cloned());
        let host = host_for(&trick, &images);
        let payload = json!({"request": trick.request, "settings": settings});
        let response = sigpin::validate(&serde_json::to_vec(&payload).unwrap(), &host);
        let asked: BTreeSet<(String, String)> = host
            .calls()
            .iter()
            .map(|(_, request)| {
                let kind = match request["type"].as_str() {
                    Some("SigstoreGithubActionsVerify") => "githubActions",
                    Some("SigstoreKeylessPrefixVerify") => "keylessPrefix",
                    _ => "unexpected",
                };
                (
                    request["image"].as_str().unwrap_or_default().to_string(),
                    kind.to_string(),
                )
            })
            .collect();
        let expected_asked: BTreeSet<(String, String)> = trick.asked.iter().cloned().collect();
        if response.accepted != trick.allowed {
            failures.push(format!(
                "{name} ({}): allowed={} expected {}; message: {:?}",
                trick.why, response.accepted, trick.allowed, response.message
            ));
        }
        if !response.accepted && response.message.as_deref().is_none_or(str::is_empty) {
            failures.push(format!("{name}: a rejection without a message"));
        }
        if asked != expected_asked {
            failures.push(format!(
                "{name}: asked about {asked:?}, expected {expected_asked:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
