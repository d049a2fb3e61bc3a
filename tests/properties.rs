//! Properties of the canonical identity (issue 13):
//! 1. two references a registry client resolves to the same endpoint, repository and content
//!    get the same rule decisions (rules, skips, exemptions), or the non-canonical one is
//!    refused — over generated identities, respellings and rule sets;
//! 2. a glob refused at settings validation matches no valid reference; an accepted one
//!    matches at least one (the grammar's witness, checked through the real matcher).
//!
//! Case counts are bounded so that `make test` stays fast; `PROPTEST_CASES` raises them.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use serde_json::json;
use sigpin::matching::RuleMatcher;
use sigpin::pattern::{Language, check, witness};
use sigpin::reference::ImageReference;
use sigpin::settings::{Settings, parse_settings};

const DIGESTS: [&str; 2] = [
    "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
];

#[derive(Debug, Clone)]
enum Registry {
    Dns(String, Option<u16>),
    V4(Ipv4Addr, Option<u16>),
    V6(Ipv6Addr, Option<u16>),
    DockerHub,
}

#[derive(Debug, Clone)]
struct Identity {
    registry: Registry,
    path: Vec<String>,
    tag: Option<String>,
    digest: Option<String>,
}

/// Free choices of one respelling; applied by `respell`.
#[derive(Debug, Clone)]
struct Spelling {
    case_bits: u64,
    zeros: usize,
    add_default_port: bool,
    ip_form: u8,
    hub_alias: u8,
    hub_library: bool,
    explicit_latest: bool,
    tag_beside_digest: Option<String>,
}

fn port() -> impl Strategy<Value = Option<u16>> {
    prop_oneof![
        Just(None),
        Just(Some(5000)),
        Just(Some(443)),
        (1u16..=65535).prop_map(Some)
    ]
}

fn registry() -> impl Strategy<Value = Registry> {
    let dns = prop::sample::select(vec![
        "ghcr.io",
        "registry.example.com",
        "quay.io",
        "localhost",
        "my-registry.local",
        "r1.x9.io",
    ]);
    prop_oneof![
        (dns, port()).prop_map(|(h, p)| Registry::Dns(h.to_string(), p)),
        (any::<[u8; 4]>(), port()).prop_map(|(o, p)| Registry::V4(Ipv4Addr::from(o), p)),
        (
            prop::array::uniform8(prop_oneof![Just(0u16), Just(1), any::<u16>()]),
            port()
        )
            .prop_map(|(g, p)| Registry::V6(Ipv6Addr::from(g), p)),
        Just(Registry::DockerHub),
    ]
}

fn identity() -> impl Strategy<Value = Identity> {
    let component = prop::sample::select(vec![
        "org", "app", "nginx", "busybox", "library", "a.b", "x_y", "x__y", "a--b", "v1",
    ]);
    let tag = prop_oneof![
        Just("v1"),
        Just("latest"),
        Just("1.27"),
        Just("V2_x"),
        Just("a-b.c")
    ];
    (
        registry(),
        prop::collection::vec(component.prop_map(str::to_string), 1..4),
        prop::option::of(tag.prop_map(str::to_string)),
        prop::option::of(prop::sample::select(DIGESTS.to_vec()).prop_map(str::to_string)),
    )
        .prop_map(|(registry, path, tag, digest)| Identity {
            registry,
            path,
            // A digest decides the content; its tag is a respelling choice.
            tag: if digest.is_some() { None } else { tag },
            digest,
        })
}

fn spelling() -> impl Strategy<Value = Spelling> {
    (
        any::<u64>(),
        0usize..4,
        any::<bool>(),
        0u8..8,
        0u8..7,
        any::<bool>(),
        any::<bool>(),
        prop::option::of(prop_oneof![Just("v1"), Just("v2"), Just("latest")]),
    )
        .prop_map(|drawn| Spelling {
            case_bits: drawn.0,
            zeros: drawn.1,
            add_default_port: drawn.2,
            ip_form: drawn.3,
            hub_alias: drawn.4,
            hub_library: drawn.5,
            explicit_latest: drawn.6,
            tag_beside_digest: drawn.7.map(str::to_string),
        })
}

fn canonical_port(port: Option<u16>) -> String {
    match port {
        Some(p) if p != 443 => format!(":{p}"),
        _ => String::new(),
    }
}

fn canonical_host(registry: &Registry) -> String {
    match registry {
        Registry::Dns(host, port) => format!("{host}{}", canonical_port(*port)),
        Registry::V4(address, port) => format!("{address}{}", canonical_port(*port)),
        Registry::V6(address, port) => match address.to_ipv4_mapped() {
            Some(v4) => format!("{v4}{}", canonical_port(*port)),
            None => format!("[{address}]{}", canonical_port(*port)),
        },
        Registry::DockerHub => "docker.io".to_string(),
    }
}

fn canonical_path(identity: &Identity) -> String {
    match (&identity.registry, identity.path.as_slice()) {
        (Registry::DockerHub, [single]) => format!("library/{single}"),
        (_, path) => path.join("/"),
    }
}

/// The one canonical spelling (`ImageReference::canonical`), computed independently.
fn canonical_text(identity: &Identity) -> String {
    let name = format!(
        "{}/{}",
        canonical_host(&identity.registry),
        canonical_path(identity)
    );
    match (&identity.digest, &identity.tag) {
        (Some(digest), _) => format!("{name}@{digest}"),
        (None, tag) => format!("{name}:{}", tag.as_deref().unwrap_or("latest")),
    }
}

fn respell_case(text: &str, bits: u64) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| match (bits >> (i % 64)) & 1 {
            1 => c.to_ascii_uppercase(),
            _ => c,
        })
        .collect()
}

fn respell_port(port: Option<u16>, spelling: &Spelling) -> String {
    let zeros = "0".repeat(spelling.zeros);
    match port {
        Some(p) => format!(":{zeros}{p}"),
        None if spelling.add_default_port => format!(":{zeros}443"),
        None => String::new(),
    }
}

/// A respelling of `identity`, and whether it must be refused (a numeric host shorthand).
fn respell(identity: &Identity, spelling: &Spelling) -> (String, bool) {
    let mut refused = false;
    let mut path = canonical_path(identity);
    let host = match &identity.registry {
        Registry::Dns(host, port) => Some(format!(
            "{}{}",
            respell_case(host, spelling.case_bits),
            respell_port(*port, spelling)
        )),
        Registry::V4(address, port) => {
            let [a, b, c, d] = address.octets();
            let number = u32::from(*address);
            let mapped = address.to_ipv6_mapped().segments();
            let text = match spelling.ip_form {
                1 => format!("[::ffff:{:x}:{:x}]", mapped[6], mapped[7]),
                2 => respell_case(
                    &format!("[0:0:0:0:0:ffff:{:04x}:{:04x}]", mapped[6], mapped[7]),
                    spelling.case_bits,
                ),
                // Numeric shorthands glibc reads as this address; a port keeps the first
                // component a registry.
                3 if port.is_some() => {
                    refused = true;
                    format!("{number}")
                }
                4 => {
                    refused = true;
                    format!("{a}.{b}.{c}.0{d:o}")
                }
                5 => {
                    refused = true;
                    format!("{a}.{b}.{}", u32::from(c) * 256 + u32::from(d))
                }
                _ => address.to_string(),
            };
            Some(format!("{text}{}", respell_port(*port, spelling)))
        }
        Registry::V6(address, port) => {
            let groups = address.segments();
            let text = match spelling.ip_form % 4 {
                1 => groups
                    .iter()
                    .map(|g| format!("{g:04x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
                2 => groups
                    .iter()
                    .map(|g| format!("{g:x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
                3 => respell_case(
                    &groups
                        .iter()
                        .map(|g| format!("{g:X}"))
                        .collect::<Vec<_>>()
                        .join(":"),
                    spelling.case_bits,
                ),
                _ => address.to_string(),
            };
            // `::ffff:a.b.c.d` is outside the grammar: the mapped form is spelled in hex.
            let text = match text.contains('.') {
                true => groups
                    .iter()
                    .map(|g| format!("{g:x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
                false => text,
            };
            Some(format!("[{text}]{}", respell_port(*port, spelling)))
        }
        Registry::DockerHub => {
            if identity.path.len() == 1 && !spelling.hub_library {
                path = identity.path.join("/");
            }
            let first_is_host = path.split('/').next().is_some_and(|c| c.contains('.'));
            match spelling.hub_alias {
                0 if !first_is_host => None,
                1 => Some("index.docker.io".to_string()),
                2 => Some("registry-1.docker.io".to_string()),
                3 => Some(format!("docker.io{}", respell_port(None, spelling))),
                4 => Some(respell_case("docker.io", spelling.case_bits)),
                5 => Some(format!("index.docker.io:{}443", "0".repeat(spelling.zeros))),
                _ => Some("docker.io".to_string()),
            }
        }
    };
    let mut text = match host {
        Some(host) => format!("{host}/{path}"),
        None => path,
    };
    match (&identity.digest, &identity.tag) {
        (Some(digest), _) => {
            if let Some(tag) = &spelling.tag_beside_digest {
                text.push(':');
                text.push_str(tag);
            }
            text.push('@');
            text.push_str(digest);
        }
        (None, Some(tag)) if tag == "latest" && !spelling.explicit_latest => {}
        (None, Some(tag)) => {
            text.push(':');
            text.push_str(tag);
        }
        (None, None) if spelling.explicit_latest => text.push_str(":latest"),
        (None, None) => {}
    }
    (text, refused)
}

/// Glob mutations of a base text: kept, a suffix or a range replaced by `*`, a character by `?`.
fn mutate(base: &str, kind: u8, a: usize, b: usize) -> String {
    let chars: Vec<char> = base.chars().collect();
    let (i, j) = {
        let i = a % (chars.len() + 1);
        let j = b % (chars.len() + 1);
        (i.min(j), i.max(j))
    };
    let head: String = chars[..i].iter().collect();
    let tail: String = chars[j..].iter().collect();
    match kind % 5 {
        0 => base.to_string(),
        1 => format!("{head}*"),
        2 => format!("{head}*{tail}"),
        3 if i < chars.len() => {
            let rest: String = chars[i + 1..].iter().collect();
            format!("{head}?{rest}")
        }
        _ => [
            "*",
            "ghcr.io/*",
            "docker.io/library/*",
            "nginx:*",
            "*:v1",
            "*@sha256:*",
            "127.0.0.1:*/*",
            "[::1]:*/*",
            "*/app:*",
            "*/org/*",
            "org/*",
            "*:latest",
        ][a % 12]
            .to_string(),
    }
}

fn settings_of(rules: &[(String, Option<String>)]) -> Settings {
    let signatures: Vec<_> = rules
        .iter()
        .map(|(image, skip)| match skip {
            Some(skip) => {
                json!({"image": image, "skipImages": [skip], "githubActions": {"owner": "o"}})
            }
            None => json!({"image": image, "githubActions": {"owner": "o"}}),
        })
        .collect();
    parse_settings(&json!({"bindKeyless": false, "signatures": signatures}))
        .unwrap_or_else(|e| panic!("accepted globs must load: {e}"))
}

fn decisions(settings: &Settings, reference: &ImageReference) -> Vec<usize> {
    RuleMatcher::new(&settings.rules, Some("default"))
        .matching(reference)
        .iter()
        .map(|rule| rule.index)
        .collect()
}

fn cases(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Point 1: the invariant.
    #[test]
    fn respellings_get_the_same_decisions_or_are_refused(
        identity in identity(),
        spellings in prop::collection::vec(spelling(), 1..6),
        mutations in prop::collection::vec((0u8..5, any::<usize>(), any::<usize>(), any::<bool>(), 0u8..5, any::<usize>(), any::<usize>()), 1..8),
    ) {
        let canonical = canonical_text(&identity);
        let reference = ImageReference::parse(&canonical)
            .unwrap_or_else(|e| panic!("{canonical}: {e}"));
        prop_assert_eq!(reference.canonical(), canonical.clone(), "canonical form of the canonical text");
        // Rule globs from the image's own spellings (so that some match), skips from its
        // canonical form, each kept only if settings validation accepts it.
        let bases = [canonical.clone(), respell(&identity, &spellings[0]).0, reference.canonical_name()];
        let mut rules = Vec::new();
        for (n, (kind, a, b, with_skip, skip_kind, c, d)) in mutations.iter().enumerate() {
            let image = mutate(&bases[n % bases.len()], *kind, *a, *b);
            if check(&image, Language::RuleImage).is_err() {
                continue;
            }
            let skip = Some(mutate(&canonical, *skip_kind, *c, *d))
                .filter(|_| *with_skip)
                .filter(|s| !s.trim().is_empty() && check(s, Language::SkipImage).is_ok());
            rules.push((image, skip));
        }
        prop_assume!(!rules.is_empty());
        let settings = settings_of(&rules);
        let expected = decisions(&settings, &reference);
        for spelling in &spellings {
            let (written, refused) = respell(&identity, spelling);
            match ImageReference::parse(&written) {
                Err(error) => prop_assert!(refused, "{written} (same image as {canonical}) was refused: {error}"),
                Ok(respelled) => {
                    prop_assert!(!refused, "{written} should have been refused");
                    prop_assert_eq!(respelled.canonical(), canonical.clone(), "{}", written);
                    prop_assert_eq!(respelled.content_address(), reference.content_address());
                    prop_assert_eq!(decisions(&settings, &respelled), expected.clone(),
                        "{} vs {} under {:?}", written, canonical, rules);
                }
            }
        }
    }

    /// Point 4, accepted side: every accepted rule glob has a witness that parses and that the
    /// matcher finds (liberal language).
    #[test]
    fn an_accepted_glob_matches_some_reference(pattern in glob()) {
        if check(&pattern, Language::RuleImage).is_ok() {
            let found = witness(&pattern, Language::RuleImage);
            prop_assert!(found.is_some(), "{:?} accepted without a witness", pattern);
            let found = found.unwrap_or_default();
            let reference = ImageReference::parse(&found)
                .unwrap_or_else(|e| panic!("witness {found:?} of {pattern:?}: {e}"));
            let settings = settings_of(&[(pattern.clone(), None)]);
            prop_assert_eq!(decisions(&settings, &reference), vec![0], "{:?} vs witness {:?}", pattern, found);
        }
    }

    /// Point 4, refused side: no instantiation of a refused glob that is a valid reference
    /// meets the glob (rules: any accepted form; skips: the canonical form).
    #[test]
    fn a_refused_glob_matches_no_reference(pattern in glob(), fills in prop::collection::vec(fill(), 8)) {
        let instance = instantiate(&pattern, &fills);
        let Ok(reference) = ImageReference::parse(&instance) else { return Ok(()); };
        if check(&pattern, Language::RuleImage).is_err() {
            // Build the rule from an accepted glob, then put the refused one in its place.
            let mut settings = settings_of(&[("*".to_string(), None)]);
            settings.rules[0].images = vec![pattern.clone()];
            prop_assert_eq!(decisions(&settings, &reference), Vec::<usize>::new(),
                "refused {:?} matches {:?}", pattern, instance);
        }
        if check(&pattern, Language::SkipImage).is_err() {
            prop_assert!(!wildmatch::WildMatch::new(&pattern).matches(&reference.canonical()),
                "refused skip {:?} matches {:?}", pattern, reference.canonical());
        }
    }

    /// Namespace globs against DNS-1123 labels, both sides.
    #[test]
    fn namespace_globs_are_judged_by_the_label_grammar(pattern in namespace_glob(), fills in prop::collection::vec(prop_oneof![Just(""), Just("a"), Just("-"), Just("0"), Just("prod")], 4)) {
        let valid = |name: &str| {
            !name.is_empty() && name.len() <= 63
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !name.starts_with('-') && !name.ends_with('-')
        };
        match check(&pattern, Language::Namespace) {
            Ok(()) => {
                let found = witness(&pattern, Language::Namespace).unwrap_or_default();
                prop_assert!(valid(&found) && wildmatch::WildMatch::new(&pattern).matches(&found),
                    "{:?}: witness {:?}", pattern, found);
            }
            Err(_) => {
                let fills: Vec<String> = fills.iter().map(|f| f.to_string()).collect();
                let instance = instantiate(&pattern, &fills);
                prop_assert!(!valid(&instance), "refused {:?} matches namespace {:?}", pattern, instance);
            }
        }
    }
}

/// Globs built from fragments an operator (or a confused one) writes. No `[` inside a
/// wildcard host: bracketed IPv6 hosts are checked exactly only when written literally.
const GLOB_FRAGMENTS: [&str; 33] = [
    "ghcr.io",
    "GHCR.IO",
    "/",
    "org",
    "Org",
    ":",
    "443",
    "0443",
    "5000",
    "*",
    "?",
    ".",
    ".*",
    "-",
    "_",
    "@",
    "sha256:",
    DIGESTS[0],
    "[a-z]",
    " ",
    "\n",
    "https://",
    "127.0.0.1",
    "127.1",
    "[::1]:5000/",
    "v1",
    "V1",
    "library/",
    "docker.io/",
    "nginx",
    "app",
    "0",
    "localhost",
];

const NAMESPACE_FRAGMENTS: [&str; 10] = ["prod", "Prod", "-", "*", "?", " ", "_", "kube", "0", "."];

/// What a `*` or `?` of a glob stands for in an instance of it.
const FILLS: [&str; 10] = [
    "", "a", "0", "/", ":", ".", "org/app", "v1", "x/y:v1", "io/org",
];

/// One to `most - 1` fragments, each drawn uniformly, concatenated.
fn concatenated(fragments: &[&'static str], most: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(fragments.to_vec()), 1..most)
        .prop_map(|parts| parts.concat())
}

fn glob() -> impl Strategy<Value = String> {
    concatenated(&GLOB_FRAGMENTS, 7)
}

fn namespace_glob() -> impl Strategy<Value = String> {
    concatenated(&NAMESPACE_FRAGMENTS, 5)
}

fn fill() -> impl Strategy<Value = String> {
    let mut fills: Vec<String> = FILLS.iter().map(|f| f.to_string()).collect();
    // Before the last fill, as the digest has always been drawn.
    fills.insert(FILLS.len() - 1, format!("@{}", DIGESTS[0]));
    prop::sample::select(fills)
}

/// `pattern` with each `*` and `?` replaced by a fill (a `?` by one character).
fn instantiate(pattern: &str, fills: &[String]) -> String {
    let mut out = String::new();
    let mut next = 0;
    for c in pattern.chars() {
        match c {
            '*' => {
                out.push_str(&fills[next % fills.len()]);
                next += 1;
            }
            '?' => {
                let fill = &fills[next % fills.len()];
                out.push(fill.chars().next().unwrap_or('a'));
                next += 1;
            }
            other => out.push(other),
        }
    }
    out
}
