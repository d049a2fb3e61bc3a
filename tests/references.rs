//! Image reference grammar and rule matching: every spelling of an image meets the same rules.

use sigpin::reference::{ImageReference, ReferenceError};

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
    ];
    for (written, error) in cases {
        assert_eq!(ImageReference::parse(written), Err(error), "{written:?}");
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
    ];
    for (glob, image, expected) in cases {
        let settings = sigpin::settings::parse_settings(&serde_json::json!({
            "signatures": [{"image": glob, "githubActions": {"owner": "org"}}]
        }))
        .unwrap();
        let matcher = sigpin::matching::RuleMatcher::new(&settings.rules, None);
        let reference = ImageReference::parse(image).unwrap();
        assert_eq!(
            !matcher.matching(&reference).is_empty(),
            expected,
            "{glob} vs {image}"
        );
    }
}
