//! Image reference grammar and rule matching: every spelling of an image meets the same rules.

use sigpin::pattern::{Language, check};
use sigpin::reference::{ImageReference, ReferenceError};

const D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

#[test]
fn references_normalise() {
    let cases = [
        ("nginx", "docker.io/library/nginx:latest"),
        ("docker.io/nginx", "docker.io/library/nginx:latest"),
        (
            "index.docker.io/library/nginx:1.27",
            "docker.io/library/nginx:1.27",
        ),
        ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
        (
            "registry-1.docker.io/bitnami/redis:7",
            "docker.io/bitnami/redis:7",
        ),
        ("GHCR.IO:443/org/app:v1", "ghcr.io/org/app:v1"),
        ("ghcr.io:5000/org/app:v1", "ghcr.io:5000/org/app:v1"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/team/app:v1", "localhost:5000/team/app:v1"),
        (
            "127.0.0.1:5000/app@sha256:1111111111111111111111111111111111111111111111111111111111111111",
            "127.0.0.1:5000/app@sha256:1111111111111111111111111111111111111111111111111111111111111111",
        ),
        (
            "ghcr.io/org/app:v1@sha256:1111111111111111111111111111111111111111111111111111111111111111",
            "ghcr.io/org/app:v1@sha256:1111111111111111111111111111111111111111111111111111111111111111",
        ),
        // Ports are numbers; 443 is the default.
        ("ghcr.io:0443/org/app:v1", "ghcr.io/org/app:v1"),
        ("GHCR.IO:000443/org/app:v1", "ghcr.io/org/app:v1"),
        ("127.0.0.1:05000/app:v1", "127.0.0.1:5000/app:v1"),
        ("127.0.0.1:0005000/app:v1", "127.0.0.1:5000/app:v1"),
        ("docker.io:443/nginx", "docker.io/library/nginx:latest"),
        ("DOCKER.IO/nginx", "docker.io/library/nginx:latest"),
        (
            "index.docker.io:0443/nginx",
            "docker.io/library/nginx:latest",
        ),
        ("docker.io:5000/nginx", "docker.io:5000/nginx:latest"),
        // IP literals in one form: RFC 5952 IPv6, IPv4-mapped as IPv4.
        ("[0:0:0:0:0:0:0:1]:5000/app", "[::1]:5000/app:latest"),
        ("[0000::0001]:5000/app", "[::1]:5000/app:latest"),
        (
            "[2001:DB8:0:0:1:0:0:1]/app",
            "[2001:db8::1:0:0:1]/app:latest",
        ),
        ("[::ffff:7f00:1]:5000/app", "127.0.0.1:5000/app:latest"),
        (
            "[0:0:0:0:0:FFFF:7F00:0001]:5000/app",
            "127.0.0.1:5000/app:latest",
        ),
        ("[::ffff:7f00:1]:443/app", "127.0.0.1/app:latest"),
        ("127.0.0.1/app", "127.0.0.1/app:latest"),
        // A lone dotted component is a Docker Hub repository, not a registry.
        ("127.0.0.1", "docker.io/library/127.0.0.1:latest"),
    ];
    for (written, normalized) in cases {
        let reference = ImageReference::parse(written).unwrap_or_else(|e| panic!("{written}: {e}"));
        assert_eq!(reference.normalized(), normalized, "{written}");
        assert_eq!(reference.written, written);
    }
}

#[test]
fn bad_references_are_refused() {
    let cases = [
        ("", ReferenceError::Empty),
        (" nginx", ReferenceError::Whitespace),
        (
            "ghcr.io/Org/app",
            ReferenceError::BadRepository("Org/app".into()),
        ),
        ("ghcr.io/org/app:", ReferenceError::BadTag(String::new())),
        ("ghcr.io/org/app:-v1", ReferenceError::BadTag("-v1".into())),
        (
            "ghcr.io/org/app@sha256:abc",
            ReferenceError::BadDigest("sha256:abc".into()),
        ),
        (
            "bad_host.io:x/app",
            ReferenceError::BadRegistry("bad_host.io:x".into()),
        ),
        (
            "ghcr.io/org//app",
            ReferenceError::BadRepository("org//app".into()),
        ),
        (
            "ghcr.io/org/app..x",
            ReferenceError::BadRepository("org/app..x".into()),
        ),
        // Numeric host shorthands: refused, naming how glibc reads them.
        (
            "127.1:5000/app",
            non_canonical("127.1:5000", "127.0.0.1", "127.0.0.1:5000"),
        ),
        (
            "2130706433:5000/app",
            non_canonical("2130706433:5000", "127.0.0.1", "127.0.0.1:5000"),
        ),
        (
            "127.0.0.01:5000/app",
            non_canonical("127.0.0.01:5000", "127.0.0.1", "127.0.0.1:5000"),
        ),
        (
            "127.0.0.010/app",
            non_canonical("127.0.0.010", "127.0.0.8", "127.0.0.8"),
        ),
        (
            "0x7f.1:05000/app",
            non_canonical("0x7f.1:05000", "127.0.0.1", "127.0.0.1:5000"),
        ),
        (
            "0177.0.0.1/app",
            non_canonical("0177.0.0.1", "127.0.0.1", "127.0.0.1"),
        ),
        (
            "256.0.0.1/app",
            ReferenceError::NumericHost("256.0.0.1".into()),
        ),
        (
            "registry.1x/app",
            ReferenceError::NumericHost("registry.1x".into()),
        ),
        ("ghcr.io:0/app", ReferenceError::BadPort("ghcr.io:0".into())),
        (
            "ghcr.io:65536/app",
            ReferenceError::BadPort("ghcr.io:65536".into()),
        ),
        (
            "[::1]:70000/app",
            ReferenceError::BadPort("[::1]:70000".into()),
        ),
        (
            "[::ffff:127.0.0.1]/app",
            ReferenceError::BadRegistry("[::ffff:127.0.0.1]".into()),
        ),
        (
            "[::1%lo]/app",
            ReferenceError::BadRegistry("[::1%lo]".into()),
        ),
        (
            "ghcr.io./app",
            ReferenceError::BadRegistry("ghcr.io.".into()),
        ),
    ];
    for (written, error) in cases {
        assert_eq!(ImageReference::parse(written), Err(error), "{written:?}");
    }
}

fn non_canonical(written: &str, read: &str, canonical: &str) -> ReferenceError {
    ReferenceError::NonCanonicalHost {
        written: written.into(),
        read: read.into(),
        canonical: canonical.into(),
    }
}

#[test]
fn pinning_adds_the_digest_once() {
    let digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    let tagged = ImageReference::parse("ghcr.io/org/app:v1").unwrap();
    assert_eq!(
        tagged.pinned(digest),
        format!("ghcr.io/org/app:v1@{digest}")
    );
    let pinned = ImageReference::parse(&format!("ghcr.io/org/app:v1@{digest}")).unwrap();
    assert_eq!(
        pinned.pinned(digest),
        format!("ghcr.io/org/app:v1@{digest}")
    );
}

#[test]
fn globs_see_every_spelling() {
    // (rule glob, image, matches)
    let cases = [
        ("docker.io/library/nginx*", "nginx", true),
        ("nginx", "docker.io/library/nginx", true),
        ("nginx:*", "index.docker.io/library/nginx:1.27", true),
        ("docker.io/nginx*", "nginx:1.27", true),
        ("ghcr.io/org/*", "ghcr.io/org/app:v1", true),
        ("ghcr.io/org/*", "ghcr.io/org/team/app:v1", true),
        ("ghcr.io/org/*", "ghcr.io/org-evil/app:v1", false),
        ("ghcr.io/org/app:v?", "ghcr.io/org/app:v1", true),
        ("ghcr.io/org/app:v?", "ghcr.io/org/app:v10", false),
        ("docker.io/library/nginx*", "quay.io/nginx", false),
        ("*", "registry.example.com:5000/x/y:z", true),
        ("ghcr.io/org/*", "GHCR.io/org/app:v1", true),
        ("ghcr.io/org/*", "ghcr.io:443/org/app:v1", true),
        ("ghcr.io/org/*", "ghcr.io:8443/org/app:v1", false),
        ("registry-1.docker.io/library/nginx*", "nginx", true),
        // Respelled registries.
        ("ghcr.io/org/*", "ghcr.io:0443/org/app:v1", true),
        ("ghcr.io/org/*", "GHCR.IO:00443/org/app:v1", true),
        ("127.0.0.1:5000/*", "127.0.0.1:05000/org/app:v1", true),
        ("127.0.0.1:5000/*", "[::ffff:7f00:1]:5000/org/app:v1", true),
        ("[::1]:5000/*", "[0:0:0:0:0:0:0:1]:5000/app", true),
        ("[::1]:5000/*", "[0000::0001]:5000/app", true),
        ("127.0.0.1:5000/*", "127.0.0.1:50000/app", false),
        // Digest-only references meet tag globs: no tag can dodge `*`, nor any other tag.
        ("ghcr.io/org/app:*", &format!("ghcr.io/org/app@{D}"), true),
        ("nginx:*", &format!("nginx@{D}"), true),
        ("nginx:*", &format!("docker.io/library/nginx@{D}"), true),
        ("ghcr.io/org/app:v1", &format!("ghcr.io/org/app@{D}"), true),
        (
            "ghcr.io/org/app:v1",
            &format!("ghcr.io/org/app:v2@{D}"),
            true,
        ),
        (
            "ghcr.io/org/app:v1.*",
            &format!("ghcr.io/org/app@{D}"),
            true,
        ),
        ("ghcr.io/org/app:v1", "ghcr.io/org/app:v2", false),
        (
            "ghcr.io/org/app:v1",
            &format!("ghcr.io/org/apple@{D}"),
            false,
        ),
        (&format!("ghcr.io/org/app@{D}"), "ghcr.io/org/app:v1", false),
        (
            &format!("ghcr.io/org/app@{D}"),
            &format!("ghcr.io/org/app:v1@{D}"),
            true,
        ),
        // A repository named without tag or wildcard covers all its tags and digests.
        ("ghcr.io/org/app", "ghcr.io/org/app:v2", true),
        ("ghcr.io/org/app", &format!("ghcr.io/org/app@{D}"), true),
        ("ghcr.io/org/app", "ghcr.io/org/apple:v2", false),
        ("nginx", "nginx:1.27", true),
    ];
    for (glob, image, expected) in cases {
        let settings = sigpin::settings::parse_settings(&serde_json::json!({
            "signatures": [{"image": glob, "githubActions": {"owner": "org"}}]
        }))
        .unwrap_or_else(|e| panic!("{glob}: {e}"));
        let matcher = sigpin::matching::RuleMatcher::new(&settings.rules, None);
        let reference = ImageReference::parse(image).unwrap();
        assert_eq!(
            !matcher.matching(&reference).is_empty(),
            expected,
            "{glob} vs {image}"
        );
    }
}

#[test]
fn skips_match_only_the_canonical_form() {
    // (skip glob, image, skipped)
    let cases = [
        ("busybox*", "docker.io/busyboxevil/miner", false),
        ("busybox*", "busyboxevil/miner", false),
        ("busybox*", "busybox", false),
        ("docker.io/library/busybox:*", "busybox:1.36", true),
        ("docker.io/library/busybox:*", "busybox", true),
        (
            "docker.io/library/busybox:*",
            "index.docker.io/busybox:1.36",
            true,
        ),
        (
            "docker.io/library/busybox:*",
            "docker.io/busyboxevil/miner",
            false,
        ),
        // The tag beside a digest does not decide what runs, nor what is skipped.
        (
            "docker.io/library/busybox:*",
            &format!("busybox:1.36@{D}"),
            false,
        ),
        (
            "docker.io/library/busybox@*",
            &format!("busybox:1.36@{D}"),
            true,
        ),
        (
            "ghcr.io/org/app:v1",
            &format!("ghcr.io/org/app:v1@{D}"),
            false,
        ),
        ("ghcr.io/org/app:v1", "ghcr.io:0443/org/app:v1", true),
        ("ghcr.io/org/sandbox/*", "GHCR.IO/org/sandbox/x:1", true),
        ("127.0.0.1:5000/*", "[::ffff:7f00:1]:5000/x", true),
    ];
    for (skip, image, skipped) in cases {
        let settings = sigpin::settings::parse_settings(&serde_json::json!({
            "signatures": [{"image": "*", "skipImages": [skip], "githubActions": {"owner": "org"}}]
        }))
        .unwrap_or_else(|e| panic!("{skip}: {e}"));
        let matcher = sigpin::matching::RuleMatcher::new(&settings.rules, None);
        let reference = ImageReference::parse(image).unwrap();
        assert_eq!(
            matcher.matching(&reference).is_empty(),
            skipped,
            "skip {skip} vs {image}"
        );
    }
}

#[test]
fn globs_that_can_match_nothing_are_refused_with_the_fix() {
    // (language, glob, words the reason must contain, the fix offered)
    use Language::*;
    let cases: &[(Language, &str, &str, Option<&str>)] = &[
        // Met only by a tag beside a digest, which references are never matched with.
        (
            RuleImage,
            "127.0.0.1*.@*",
            "only references with a tag beside a digest",
            None,
        ),
        (RuleImage, "*-@sha256:*", "tag beside a digest", None),
        (
            RuleImage,
            "GHCR.IO/org/*",
            "registry hosts are lower case",
            Some("ghcr.io/org/*"),
        ),
        (
            RuleImage,
            "ghcr.io/Org/*",
            "(upper case)",
            Some("ghcr.io/org/*"),
        ),
        (
            RuleImage,
            "ghcr.io:443/org/*",
            ":443 is the default port",
            Some("ghcr.io/org/*"),
        ),
        (
            RuleImage,
            "ghcr.io:0443/org/*",
            "is ghcr.io",
            Some("ghcr.io/org/*"),
        ),
        (
            RuleImage,
            "127.0.0.1:05000/*",
            "is 127.0.0.1:5000",
            Some("127.0.0.1:5000/*"),
        ),
        (
            RuleImage,
            "127.1:5000/*",
            "read the registry host \"127.1:5000\" as 127.0.0.1",
            Some("127.0.0.1:5000/*"),
        ),
        (
            RuleImage,
            "[0:0::1]:5000/*",
            "is [::1]:5000",
            Some("[::1]:5000/*"),
        ),
        (
            RuleImage,
            "[::ffff:7f00:1]:5000/*",
            "is 127.0.0.1:5000",
            Some("127.0.0.1:5000/*"),
        ),
        (
            RuleImage,
            "https://ghcr.io/org/*",
            "no scheme",
            Some("ghcr.io/org/*"),
        ),
        (RuleImage, "docker://nginx", "no scheme", Some("nginx")),
        (
            RuleImage,
            "ghcr.io/org/.*",
            "not regular expressions",
            Some("ghcr.io/org/*"),
        ),
        (
            RuleImage,
            "^ghcr\\.io/org/.+$",
            "not regular expressions",
            Some("ghcr.io/org/*"),
        ),
        (
            RuleImage,
            "ghcr.io/[a-z]*",
            "no character classes",
            Some("ghcr.io/?*"),
        ),
        (
            RuleImage,
            " ghcr.io/org/*",
            "whitespace",
            Some("ghcr.io/org/*"),
        ),
        (
            RuleImage,
            "ghcr.io/org/*\n",
            "whitespace",
            Some("ghcr.io/org/*"),
        ),
        (
            RuleImage,
            "ghcr.io/org/app@sha256:abc",
            "ends before a complete name",
            None,
        ),
        (RuleImage, "ghcr.io/org/app:-v1", "a tag (after ':')", None),
        (RuleImage, "*:0443/*", "cannot appear there", None),
        (
            SkipImage,
            "index.docker.io/library/nginx:*",
            "Docker Hub is docker.io",
            Some("docker.io/library/nginx:*"),
        ),
        (
            SkipImage,
            "busybox:1.36",
            "written in full",
            Some("docker.io/library/busybox:1.36"),
        ),
        (
            SkipImage,
            "ghcr.io/org/app",
            "ends before a complete name",
            None,
        ),
        (Namespace, "prod ", "whitespace", Some("prod")),
        (Namespace, "Prod", "lower case", Some("prod")),
        (Namespace, "prod_*", "DNS-1123", None),
        (Namespace, "-prod", "DNS-1123", None),
    ];
    for (language, glob, reason, fix) in cases {
        let refusal = check(glob, *language).expect_err(glob);
        assert!(
            refusal.reason.contains(reason),
            "{glob:?}: {refusal}, expected {reason:?}"
        );
        assert_eq!(refusal.fix.as_deref(), *fix, "{glob:?}: {refusal}");
    }
    let accepted: &[(Language, &str)] = &[
        (RuleImage, "*"),
        (RuleImage, "nginx"),
        (RuleImage, "index.docker.io/library/nginx*"),
        (RuleImage, "ghcr.io:*/org/*"),
        (RuleImage, "[::1]:5000/*"),
        (RuleImage, "ghcr.io/org/app:V1.*"),
        (RuleImage, "*@sha256:*"),
        (SkipImage, "docker.io/library/busybox:*"),
        (SkipImage, "ghcr.io/org/sandbox/*"),
        (Namespace, "kube-*"),
        (Namespace, "*"),
    ];
    for (language, glob) in accepted {
        assert_eq!(check(glob, *language), Ok(()), "{glob:?}");
    }
}

#[test]
fn settings_refusals_name_the_rule_the_field_the_glob_and_the_fix() {
    let cases = [
        (
            serde_json::json!({"image": "GHCR.IO/org/*", "githubActions": {"owner": "org"}}),
            "rule #0 (githubActions), field \"image\": \"GHCR.IO/org/*\" can match no image: registry hosts are lower case (\"GHCR.IO\" is ghcr.io) — write \"ghcr.io/org/*\"",
        ),
        (
            serde_json::json!({"images": ["ghcr.io/org/*", "ghcr.io/org/.*"], "githubActions": {"owner": "org"}}),
            "rule #0 (githubActions), field \"images[1]\": \"ghcr.io/org/.*\" can match no image:",
        ),
        (
            serde_json::json!({"image": "*", "skipImages": ["busybox:1.36"], "githubActions": {"owner": "org"}}),
            "field \"skipImages[0]\": \"busybox:1.36\" can match no image:",
        ),
        (
            serde_json::json!({"image": "*", "namespaces": ["prod "], "githubActions": {"owner": "org"}}),
            "field \"namespaces[0]\": \"prod \" can match no namespace:",
        ),
        (
            serde_json::json!({"image": "*", "excludeNamespaces": ["Kube-*"], "githubActions": {"owner": "org"}}),
            "— write \"kube-*\"",
        ),
    ];
    for (rule, expected) in cases {
        let error = sigpin::settings::parse_settings(&serde_json::json!({"signatures": [rule]}))
            .expect_err(expected)
            .to_string();
        assert!(error.contains(expected), "{error}\nexpected: {expected}");
    }
}

#[test]
fn the_digest_form_of_a_glob_sets_its_tag_aside() {
    use sigpin::matching::digest_form;
    let cases = [
        ("ghcr.io/org/app:v1", Some("ghcr.io/org/app")),
        ("ghcr.io:5000/org/app:v1.*", Some("ghcr.io:5000/org/app")),
        ("*:v1@sha256:*", Some("*@sha256:*")),
        ("nginx:*", Some("nginx")),
        ("ghcr.io/org/app@sha256:*", None),
        ("ghcr.io/org/*", None),
        ("ghcr.io:*", Some("ghcr.io")),
    ];
    for (glob, expected) in cases {
        assert_eq!(digest_form(glob).as_deref(), expected, "{glob}");
    }
}
