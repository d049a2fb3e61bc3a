//! Packaging files agree with the crate and with what the policy really does.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

fn root_yaml(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn oci_url() -> String {
    root_yaml("metadata.yml")["annotations"]["io.kubewarden.policy.ociUrl"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn versions_agree() {
    let version = env!("CARGO_PKG_VERSION");
    let metadata = root_yaml("metadata.yml");
    let artifacthub = root_yaml("artifacthub-pkg.yml");
    assert_eq!(
        metadata["annotations"]["io.kubewarden.policy.version"],
        version
    );
    assert_eq!(artifacthub["version"], version);
    let oci_url = metadata["annotations"]["io.kubewarden.policy.ociUrl"]
        .as_str()
        .unwrap();
    assert_eq!(
        artifacthub["containersImages"][0]["image"],
        format!("{oci_url}:v{version}")
    );
}

#[test]
fn artifacthub_carries_the_metadata_rules_and_the_questions() {
    let metadata = root_yaml("metadata.yml");
    let artifacthub = root_yaml("artifacthub-pkg.yml");
    let annotations = &artifacthub["annotations"];
    let rules: Value =
        serde_yaml::from_str(annotations["kubewarden/rules"].as_str().unwrap()).unwrap();
    assert_eq!(rules, metadata["rules"]);
    assert_eq!(annotations["kubewarden/mutation"], "true");
    assert_eq!(metadata["mutating"], true);
    let questions = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("questions-ui.yml"),
    )
    .unwrap();
    assert_eq!(
        annotations["kubewarden/questions-ui"]
            .as_str()
            .unwrap()
            .trim(),
        questions.trim()
    );
}

/// Every kind the policy judges is routed to it by the metadata rules, including the
/// subresource `kubectl debug` uses.
#[test]
fn metadata_rules_cover_every_handled_resource() {
    let metadata = root_yaml("metadata.yml");
    let mut covered = BTreeSet::new();
    for rule in metadata["rules"].as_array().unwrap() {
        let operations: Vec<&str> = rule["operations"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(operations.contains(&"UPDATE"));
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                covered.insert(format!(
                    "{}/{}",
                    group.as_str().unwrap(),
                    resource.as_str().unwrap()
                ));
            }
        }
    }
    for needed in [
        "/pods",
        "/pods/ephemeralcontainers",
        "/replicationcontrollers",
        "apps/deployments",
        "apps/replicasets",
        "apps/statefulsets",
        "apps/daemonsets",
        "batch/jobs",
        "batch/cronjobs",
    ] {
        assert!(
            covered.contains(needed),
            "metadata.yml does not route {needed}"
        );
    }
}

/// Kubewarden's audit scanner (kubewarden-controller: internal/audit-scanner/policies/client.go,
/// `groupPoliciesByGVR`) drops wildcard rules and rules without CREATE, then asks the REST mapper
/// whether each remaining resource is namespaced; the mapper has no entry for a subresource, so
/// one `pods/ephemeralcontainers` in a CREATE rule makes the scanner skip the whole policy as
/// errored. Every audited policy this project ships must survive that walk, and must still
/// route the subresource (UPDATE is the only operation the API server admits on it).
#[test]
fn audited_policies_keep_subresources_out_of_create_rules() {
    let mut policies = vec![("metadata.yml".to_string(), root_yaml("metadata.yml"))];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for dir in [root.clone(), root.join("rollout")] {
        for entry in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let policy: Value =
                    serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                policies.push((path.display().to_string(), policy["spec"].clone()));
            }
        }
    }
    assert_eq!(policies.len(), 9);
    for (name, spec) in policies {
        assert_eq!(spec["backgroundAudit"], true, "{name}");
        let mut routes_subresource = false;
        for rule in spec["rules"].as_array().unwrap() {
            let list = |key: &str| -> Vec<String> {
                rule[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect()
            };
            let (groups, versions, resources) =
                (list("apiGroups"), list("apiVersions"), list("resources"));
            let wildcard = [&groups, &versions, &resources]
                .iter()
                .any(|l| l.iter().any(|v| v == "*"));
            let audited = !wildcard && list("operations").iter().any(|o| o == "CREATE");
            for resource in resources.iter().filter(|r| r.contains('/')) {
                assert!(
                    !audited,
                    "{name}: {resource} in a rule the audit scanner looks up"
                );
                routes_subresource |= resource == "pods/ephemeralcontainers";
            }
        }
        assert!(
            routes_subresource,
            "{name}: pods/ephemeralcontainers is not routed"
        );
    }
}

/// `hostCapabilities` lists exactly the operations the policy calls over all fixtures.
#[test]
fn host_capabilities_are_exactly_what_the_policy_calls() {
    let metadata = root_yaml("metadata.yml");
    let declared: BTreeSet<String> = metadata["hostCapabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let mut called = BTreeSet::new();
    let settings_files = std::fs::read_dir(test_data("settings")).unwrap();
    let requests: Vec<_> = std::fs::read_dir(test_data("requests"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    for settings in settings_files.filter_map(Result::ok) {
        let mut settings = read_yaml(&format!(
            "settings/{}",
            settings.file_name().to_string_lossy()
        ));
        // Every rule applies to every fixture image, so that every check kind runs.
        for rule in settings["signatures"].as_array_mut().unwrap() {
            rule["image"] = json!("*");
        }
        // A host that verifies everything and whose signatures carry a GitHub identity, so
        // that keyless binding asks its questions too.
        let host = FakeHost::new()
            .trust(Ok(json!({"trusted": true})))
            .verify_any(|_| verified(DIGEST_1))
            .manifest_digest(Ok(json!({"digest": DIGEST_1})))
            .manifest(
                "*",
                Ok(signature_manifest(&["github-leaf.pem"], 1_700_000_000)),
            );
        sigpin::validate_settings(&serde_json::to_vec(&settings).unwrap(), &host);
        for request in &requests {
            let request: Value =
                serde_json::from_str(&std::fs::read_to_string(request).unwrap()).unwrap();
            let payload = json!({"request": request, "settings": settings});
            sigpin::validate(&serde_json::to_vec(&payload).unwrap(), &host);
        }
        called.extend(host.calls().into_iter().map(|(op, _)| op));
    }
    assert_eq!(called, declared);
}

/// Every ClusterAdmissionPolicy in `examples/` carries settings the policy accepts.
#[test]
fn example_policies_have_valid_settings() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for dir in [root.clone(), root.join("rollout")] {
        for entry in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let policy: Value =
                serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            // `make release` rewrites this for its REGISTRY and TAG; the committed examples
            // name the default publication.
            assert_eq!(
                policy["spec"]["module"],
                format!("registry://{}:v{}", oci_url(), env!("CARGO_PKG_VERSION")),
                "{}",
                path.display()
            );
            assert_eq!(
                policy["kind"],
                "ClusterAdmissionPolicy",
                "{}",
                path.display()
            );
            let host = FakeHost::new().trust(Ok(json!({"trusted": true})));
            let settings = serde_json::to_vec(&policy["spec"]["settings"]).unwrap();
            let response = sigpin::validate_settings(&settings, &host);
            assert!(response.valid, "{}: {:?}", path.display(), response.message);
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
}
