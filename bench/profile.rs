//! Native profiling driver: the policy crate's `validate` or `validate_settings`, called in a
//! loop on one benchmark input, for `valgrind --tool=callgrind` or `perf` (`make profile`).
//! The wasm module runs the same code; a native profile names the functions the time goes to.
//!
//!   cargo run --release --example profile -- validate|settings REQUEST SETTINGS [SESSION] [N]
//!
//! REQUEST is an AdmissionReview or a bare AdmissionRequest (as `kwctl run --request-path`
//! takes), SETTINGS a JSON file; the payload is built once as kwctl builds it. SESSION is a
//! kwctl session file (YAML list of exchanges, `bench/scenarios/*/session.yml`): its answers are
//! replayed in order, round after round, so a signed request costs what it costs with the
//! engine's answers cached. Host calls beyond the session are answered with an error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::cell::Cell;
use std::hint::black_box;

use serde_json::{Value, json};
use sigpin::host::Host;

/// Replays the answers of a session file in order, from the start again after the last.
struct ReplayHost {
    answers: Vec<Result<Vec<u8>, String>>,
    next: Cell<usize>,
}

impl Host for ReplayHost {
    fn call(&self, _namespace: &str, _operation: &str, _payload: &[u8]) -> Result<Vec<u8>, String> {
        if self.answers.is_empty() {
            return Err("profile: the session holds no answer".into());
        }
        let at = self.next.get() % self.answers.len();
        self.next.set(at + 1);
        self.answers[at].clone()
    }

    fn now_unix_seconds(&self) -> Option<i64> {
        Some(1_800_000_000)
    }
}

fn session_answers(path: Option<&String>) -> Vec<Result<Vec<u8>, String>> {
    let Some(path) = path else { return Vec::new() };
    let text = std::fs::read_to_string(path).expect("the session file is readable");
    let exchanges: Vec<Value> = serde_yaml::from_str(&text).expect("the session file is YAML");
    exchanges
        .iter()
        .map(|exchange| {
            let response = &exchange["response"];
            let payload = response["payload"].as_str().unwrap_or_default();
            match response["type"].as_str() {
                Some("Success") => Ok(payload.as_bytes().to_vec()),
                _ => Err(payload.to_string()),
            }
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [operation, request_path, settings_path, rest @ ..] = args.as_slice() else {
        eprintln!("usage: profile validate|settings REQUEST SETTINGS [SESSION] [N]");
        std::process::exit(2);
    };
    let read = |path: &str| -> Value {
        serde_json::from_slice(&std::fs::read(path).expect("the input is readable"))
            .expect("the input is JSON")
    };
    let review = read(request_path);
    let request = review.get("request").cloned().unwrap_or(review);
    let settings = read(settings_path);
    let (session, rounds) = match rest {
        [count] if count.parse::<u64>().is_ok() => (None, count.parse().unwrap()),
        [session] => (Some(session), 10_000),
        [session, count, ..] => (Some(session), count.parse().expect("N is a number")),
        [] => (None, 10_000),
    };
    let host = ReplayHost {
        answers: session_answers(session),
        next: Cell::new(0),
    };
    let payload = match operation.as_str() {
        "validate" => serde_json::to_vec(&json!({"request": request, "settings": settings})),
        "settings" => serde_json::to_vec(&settings),
        other => panic!("unknown operation {other}: validate or settings"),
    }
    .unwrap();
    let mut accepted = 0u64;
    for _ in 0..rounds {
        host.next.set(0);
        accepted += match operation.as_str() {
            "validate" => u64::from(sigpin::validate(black_box(&payload), &host).accepted),
            _ => u64::from(sigpin::validate_settings(black_box(&payload), &host).valid),
        };
    }
    println!("{operation}: {rounds} rounds, {accepted} accepted / valid");
}
