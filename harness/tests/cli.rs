//! The `harness` command line as a user meets it: every error says what is wrong and exits
//! non-zero, kwctl's flag names are accepted, and `-r -` / `--settings-json` work. Fixtures in
//! test_data/cli/; the registry cases (auth, push -o json, release) are in distribution.bats.

// Test code may unwrap, index and panic (the workspace denies them elsewhere).
#![allow(clippy::restriction)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// policy.wasm, relative to the repository root (the tests run there).
fn policy() -> String {
    let path = std::env::var("SIGPIN_WASM").unwrap_or_else(|_| "policy.wasm".into());
    assert!(
        root().join(&path).exists(),
        "{path} is missing: run `make policy.wasm` first"
    );
    path
}

/// A scratch directory for this test process.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("harness-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn harness(args: &[&str], stdin: Option<&str>) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .current_dir(root())
        .args(args)
        // No Docker config of the machine running the tests.
        .env(
            "DOCKER_CONFIG",
            root().join("test_data/cli/no-docker-config"),
        )
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("harness starts");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).expect("stdin written");
    }
    let output = child.wait_with_output().expect("harness ends");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

const REQUEST: &str = "test_data/requests/pod.json";
const PUB_KEYS: &str = "test_data/settings/upstream-pub-keys.yaml";

#[test]
fn errors_say_what_is_wrong_and_exit_non_zero() {
    let policy = policy();
    let not_wapc = scratch().join("not-wapc.wasm");
    let wat = std::fs::read_to_string(root().join("test_data/cli/not-wapc.wat")).expect("wat");
    std::fs::write(&not_wapc, wat::parse_str(&wat).expect("valid wat")).expect("written");
    let not_wapc = not_wapc.display().to_string();
    let port = closed_port();
    let closed = format!("registry://127.0.0.1:{port}/policies/sigpin:v1");
    let out = scratch().join("out.wasm").display().to_string();
    let cases: Vec<(&str, Vec<&str>, String)> = vec![
        (
            "request is a string",
            vec!["run", "-r", "test_data/cli/request-not-object.txt", &policy],
            "Error: test_data/cli/request-not-object.txt: the admission request must be a JSON or YAML object, not a string".into(),
        ),
        (
            "request is a list",
            vec!["run", "-r", "test_data/cli/request-list.json", &policy],
            "Error: test_data/cli/request-list.json: the admission request must be a JSON or YAML object, not a list".into(),
        ),
        (
            "request is broken JSON",
            vec!["run", "-r", "test_data/cli/request-broken.json", &policy],
            "Error: test_data/cli/request-broken.json: the admission request is neither JSON (EOF while parsing a value at line 2 column 0) nor YAML (did not find expected node content at line 2 column 1, while parsing a flow node)".into(),
        ),
        (
            "module is not wasm",
            vec!["run", "-r", REQUEST, "README.md"],
            "Error: loading README.md: not a WebAssembly module".into(),
        ),
        (
            "module is not a waPC policy",
            vec!["run", "-r", REQUEST, &not_wapc],
            format!("Error: loading {not_wapc}: not a waPC policy: the module does not export __guest_call (the harness runs Kubewarden waPC policies; WASI, OPA and Gatekeeper modules run under kwctl)"),
        ),
        (
            "unknown key in sources.yaml",
            vec!["run", "-r", REQUEST, "--sources-path", "test_data/cli/sources-typo.yaml", &policy],
            "Error: parsing the sources file test_data/cli/sources-typo.yaml: unknown field `insecureSources`, expected `insecure_sources` or `source_authorities`".into(),
        ),
        (
            "missing CA file",
            vec!["run", "-r", REQUEST, "--sources-path", "test_data/cli/sources-missing-ca.yaml", &policy],
            "Error: test_data/cli/sources-missing-ca.yaml: source_authorities of registry.example:5000: cannot read the CA file test_data/cli/missing-ca.pem: No such file or directory (os error 2)".into(),
        ),
        (
            "connection refused: cause chain and insecure_sources hint",
            vec!["pull", "-o", &out, &closed],
            format!("Error: registry: error sending request for url (https://127.0.0.1:{port}/v2/policies/sigpin/manifests/v1): client error (Connect): tcp connect error: Connection refused (os error 111) (hint: 127.0.0.1:{port} was contacted over HTTPS; if it serves plain HTTP, list it under insecure_sources in the sources file)"),
        ),
        (
            "settings JSON not an object",
            vec!["run", "-r", REQUEST, "--settings-json", "[1]", &policy],
            "Error: --settings-json must be a JSON object, not a list".into(),
        ),
        (
            "settings JSON broken",
            vec!["run", "-r", REQUEST, "--settings-json", "{", &policy],
            "Error: --settings-json is not JSON: EOF while parsing an object at line 1 column 1".into(),
        ),
        (
            "verification key for a file policy",
            vec!["run", "-r", REQUEST, "--verification-key", "x.pub", &policy],
            "Error: --verification-key applies to registry:// policies only".into(),
        ),
        (
            "zero samples",
            vec!["bench", "-r", REQUEST, "--num-samples", "0", &policy],
            "Error: --num-samples must be at least 1".into(),
        ),
        (
            "explicit Docker config directory without config.json",
            vec!["pull", "--docker-config-json-path", "test_data/cli/nothing", "-o", &out, &closed],
            "Error: cannot read the Docker config test_data/cli/nothing/config.json: No such file or directory (os error 2)".into(),
        ),
        (
            "Docker config with undecodable auth",
            vec!["pull", "--docker-config-json-path", "test_data/cli/docker-bad", "-o", &out, &closed],
            "Error: the Docker config test_data/cli/docker-bad/config.json is not valid: auths.\"127.0.0.1:9\".auth: Invalid symbol 32, offset 3.".into(),
        ),
        (
            "Docker config delegating to a credential helper",
            vec!["pull", "--docker-config-json-path", "test_data/cli/docker-helper", "-o", &out, "registry://127.0.0.1:9/a:b"],
            "Error: registry: the Docker config test_data/cli/docker-helper/config.json delegates 127.0.0.1:9 to the credential helper \"desktop\", which the harness does not run: put the credentials inline (`docker login` with no credsStore)".into(),
        ),
        (
            "inspect an unannotated module",
            vec!["inspect", &policy],
            format!("Error: {policy}: the module has no io.kubewarden.metadata section: annotate it first"),
        ),
        (
            "push a bad URI",
            vec!["push", &policy, "oci://example/x:1"],
            format!("Error: pushing {policy} to oci://example/x:1: \"oci://example/x:1\" is not a registry://HOST/REPOSITORY:TAG URI"),
        ),
        (
            "push an unannotated module",
            vec!["push", &policy, &closed],
            format!("Error: pushing {policy} to {closed}: the module has no io.kubewarden.metadata section: annotate it first"),
        ),
        (
            "annotate: unknown operation",
            vec!["annotate", "-m", "test_data/cli/metadata-bad-operation.yml", "-o", &out, &policy],
            "Error: test_data/cli/metadata-bad-operation.yml: invalid metadata: rules[0].operations[0]: unknown operation \"CREAT\", expected one of CREATE, UPDATE, DELETE, CONNECT, *".into(),
        ),
        (
            "annotate: empty apiVersions",
            vec!["annotate", "-m", "test_data/cli/metadata-empty-api-versions.yml", "-o", &out, &policy],
            "Error: test_data/cli/metadata-empty-api-versions.yml: invalid metadata: rules[1].apiVersions: must not be empty".into(),
        ),
        (
            "annotate: \"*\" resource with others",
            vec!["annotate", "-m", "test_data/cli/metadata-star-and-others.yml", "-o", &out, &policy],
            "Error: test_data/cli/metadata-star-and-others.yml: invalid metadata: rules[2].resources: \"jobs\" listed with \"*\" (only subresources may accompany \"*\")".into(),
        ),
        (
            "annotate: \"*\" operation with others",
            vec!["annotate", "-m", "test_data/cli/metadata-star-operation.yml", "-o", &out, &policy],
            "Error: test_data/cli/metadata-star-operation.yml: invalid metadata: rules[2].operations: no other operation may be listed with \"*\"".into(),
        ),
        (
            "annotate: execution mode of another engine",
            vec!["annotate", "-m", "test_data/cli/metadata-execution-mode.yml", "-o", &out, &policy],
            "Error: test_data/cli/metadata-execution-mode.yml: invalid metadata: executionMode: \"opa\", but the module is a waPC policy (kubewarden-wapc)".into(),
        ),
        (
            "annotate: not a waPC module",
            vec!["annotate", "-m", "metadata.yml", "-o", &out, &not_wapc],
            format!("Error: {not_wapc}: not a waPC policy: the module does not export __guest_call (the harness runs Kubewarden waPC policies; WASI, OPA and Gatekeeper modules run under kwctl)"),
        ),
    ];
    let mut failures = Vec::new();
    for (name, args, expected) in &cases {
        let outcome = harness(args, None);
        // Progress lines may precede the error; the error is the last line.
        let last = outcome.stderr.trim_end().lines().last().unwrap_or("");
        if outcome.code != 1 || last != expected {
            failures.push(format!(
                "{name}: exit {} stderr {:?}\n  expected exit 1 and {expected:?}",
                outcome.code, outcome.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn usage_errors_exit_2() {
    let policy = policy();
    for (name, args) in [
        (
            "settings given twice",
            vec![
                "run",
                "-r",
                REQUEST,
                "-s",
                PUB_KEYS,
                "--settings-json",
                "{}",
                &policy,
            ],
        ),
        (
            "unknown push output",
            vec!["push", "-o", "yaml", &policy, "registry://x/y:z"],
        ),
        ("request missing", vec!["run", &policy]),
    ] {
        let outcome = harness(&args, None);
        assert_eq!(outcome.code, 2, "{name}: {}", outcome.stderr);
    }
}

/// The same verdict whatever way the inputs arrive: file, standard input, --settings-json.
#[test]
fn request_on_stdin_and_settings_as_json() {
    let policy = policy();
    // Settings that need no host call for a Pod none of whose images match.
    let settings = r#"{"signatures": [{"image": "nothing.example/*", "pubKeys": ["-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQiTy5S+2JFvVlhUwWPLziM7iTM2j\nbyGAhZNbKWzNVnv6vrKYrbqmRNE9/JDf/rz2Gi3Y7pY6wBaCBmYEBPnEiw==\n-----END PUBLIC KEY-----\n"]}]}"#;
    let settings_file = scratch().join("settings.json");
    std::fs::write(&settings_file, settings).expect("settings written");
    let settings_file = settings_file.display().to_string();
    let request = std::fs::read_to_string(root().join(REQUEST)).expect("request");
    let by_file = harness(&["run", "-r", REQUEST, "-s", &settings_file, &policy], None);
    let by_stdin = harness(
        &["run", "-r", "-", "-s", &settings_file, &policy],
        Some(&request),
    );
    let by_json = harness(
        &["run", "-r", "-", "--settings-json", settings, &policy],
        Some(&request),
    );
    assert_eq!(by_file.code, 0, "{}", by_file.stderr);
    let response: serde_json::Value = serde_json::from_str(by_file.stdout.trim()).expect("JSON");
    assert_eq!(response["allowed"], true, "{}", by_file.stdout);
    for other in [&by_stdin, &by_json] {
        assert_eq!(other.code, 0, "{}", other.stderr);
        assert_eq!(other.stdout, by_file.stdout);
    }
}

#[test]
fn annotate_warns_of_undeclared_capabilities_as_kwctl() {
    let out = scratch().join("undeclared.wasm").display().to_string();
    let outcome = harness(
        &[
            "annotate",
            "-m",
            "test_data/cli/metadata-undeclared-capabilities.yml",
            "-o",
            &out,
            &policy(),
        ],
        None,
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(
        outcome.stderr,
        "warning: host capabilities used by the policy but not declared in hostCapabilities: oci/v1/manifest_digest\n"
    );
    let declared = harness(
        &["annotate", "-m", "metadata.yml", "-o", &out, &policy()],
        None,
    );
    assert_eq!((declared.code, declared.stderr.as_str()), (0, ""));
}

/// kwctl's names are the ones documented; the old names are hidden aliases.
#[test]
fn help_uses_kwctl_names() {
    for (command, names) in [
        (
            "run",
            &[
                "--request-path",
                "--settings-path",
                "--settings-json",
                "--sources-path",
                "--docker-config-json-path",
                "--sigstore-trust-config",
                "--verification-key",
                "--record-host-capabilities-interactions",
                "--replay-host-capabilities-interactions",
            ][..],
        ),
        ("bench", &["--num-samples", "--sigstore-trust-config"][..]),
        (
            "push",
            &["--output", "--docker-config-json-path", "--sources-path"][..],
        ),
        (
            "pull",
            &[
                "--output-path",
                "--docker-config-json-path",
                "--sources-path",
            ][..],
        ),
        (
            "inspect",
            &["--docker-config-json-path", "--sources-path"][..],
        ),
        (
            "annotate",
            &["--metadata-path", "--usage-path", "--output-path"][..],
        ),
        (
            "sign",
            &["--key", "--docker-config-json-path", "--sources-path"][..],
        ),
    ] {
        let help = harness(&[command, "--help"], None).stdout;
        for name in names {
            assert!(help.contains(name), "{command} --help lacks {name}");
        }
        for old in ["--trust-root", "--verify-key", "--runs"] {
            assert!(!help.contains(old), "{command} --help shows the old {old}");
        }
    }
}

/// Every flag `harness --help` shows is documented in the README, and every harness flag the
/// README's tables name exists.
#[test]
fn help_and_readme_agree() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let flags = |text: &str| -> Vec<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|word| {
                word.starts_with("--")
                    && word.chars().nth(2).is_some_and(|c| c.is_ascii_alphabetic())
            })
            .map(str::to_string)
            .collect()
    };
    let mut shown = std::collections::BTreeSet::new();
    for command in [
        "run",
        "bench",
        "validate-settings",
        "lab",
        "sign",
        "annotate",
        "inspect",
        "push",
        "pull",
    ] {
        let help = harness(&[command, "--help"], None);
        assert_eq!(help.code, 0, "{command}");
        for flag in flags(&help.stdout) {
            if flag != "--help" {
                assert!(
                    readme.contains(&format!("`{flag}")) || readme.contains(&format!(" {flag} ")),
                    "README does not document {command} {flag}"
                );
                shown.insert(flag);
            }
        }
    }
    // The README's flag table (rows starting with a flag): every flag it names is one the
    // harness shows (old names appear there only as hidden aliases).
    let start = readme
        .find("## Testing a policy with the harness")
        .expect("section");
    let end = readme.find("## Security model").expect("next section");
    let aliases = ["--trust-root", "--verify-key", "--runs"];
    let rows: String = readme
        .get(start..end)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.starts_with("| `-"))
        .collect();
    assert!(rows.contains("--request-path"), "the flag table moved");
    for flag in flags(&rows) {
        assert!(
            shown.contains(&flag) || aliases.contains(&flag.as_str()),
            "the README names {flag}, which harness --help does not show"
        );
    }
}
