//! A fuzzer for the policy core on the stable toolchain, with no fuzzing engine. It mutates the
//! repository's own fixtures, read in place from `test_data` (requests, bypass tricks,
//! settings), with structure-aware JSON edits plus raw byte edits; answers every host call at
//! random (verified with a good or malformed digest, not trusted, host error, garbage); and
//! checks two properties: no input panics, and nothing is admitted with a mutation unless the
//! host verified something. A panicking input is written to `fuzz/crashes/` before the process
//! aborts.

mod host;
mod mutate;
mod rng;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

use host::RandomHost;
use mutate::Mutator;
use rng::Rng;

/// The input being evaluated, for the panic hook.
static CURRENT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Args {
    target: String,
    iterations: u64,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        target: "all".into(),
        iterations: 100_000,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => args.target = value()?,
            "--iterations" => {
                args.iterations = value()?.parse().map_err(|e| format!("--iterations: {e}"))?
            }
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--help" | "-h" => {
                return Err("usage: sigpin-fuzz [--target settings|validate|all] [--iterations N] [--seed S]".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// The repository's `test_data`: the seeds are the fixtures the tests use, read in place, so
/// that the fuzzer starts from every request and settings file the suites know.
fn test_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test_data")
}

/// The files of `dir` whose names end in `extension`, in name order.
fn files(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    paths.sort();
    Ok(paths)
}

/// A JSON fixture, or a YAML one (settings).
fn read_fixture(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let parsed = match path.extension().is_some_and(|e| e == "json") {
        true => serde_json::from_str(&text).map_err(|e| e.to_string()),
        false => serde_yaml::from_str(&text).map_err(|e| e.to_string()),
    };
    parsed.map_err(|e| format!("{}: {e}", path.display()))
}

/// Admission requests: `requests/*.json` (bare requests) and the `request` of every
/// `bypass/*.json` trick.
fn request_seeds() -> Result<Vec<Value>, String> {
    let root = test_data();
    let mut seeds = Vec::new();
    for path in files(&root.join("requests"), "json")? {
        seeds.push(read_fixture(&path)?);
    }
    for path in files(&root.join("bypass"), "json")? {
        let trick = read_fixture(&path)?;
        let request = trick
            .get("request")
            .cloned()
            .ok_or(format!("{}: no request", path.display()))?;
        seeds.push(request);
    }
    Ok(seeds)
}

/// Settings: `settings/*.yaml`, the bypass suite's `bypass/settings.yaml` and the differential
/// corpus `compat/*.yaml` (valid and refused settings alike).
fn settings_seeds() -> Result<Vec<Value>, String> {
    let root = test_data();
    let mut paths = files(&root.join("settings"), "yaml")?;
    paths.push(root.join("bypass/settings.yaml"));
    paths.extend(files(&root.join("compat"), "yaml")?);
    paths.iter().map(|path| read_fixture(path)).collect()
}

fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let input = CURRENT.lock().map(|g| g.clone()).unwrap_or_default();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crashes");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("crash-{}.json", input.len()));
        let _ = std::fs::write(&path, &input);
        eprintln!("crashing input written to {}", path.display());
        default(info);
    }));
}

fn remember(input: &[u8]) {
    if let Ok(mut current) = CURRENT.lock() {
        current.clear();
        current.extend_from_slice(input);
    }
}

fn fuzz_settings(rng: &mut Rng, mutator: &Mutator, corpus: &[Value], iterations: u64) {
    for _ in 0..iterations {
        let input = mutator.mutate(rng, corpus);
        remember(&input);
        let host = RandomHost::new(rng.next());
        let response = sigpin::validate_settings(&input, &host);
        if !response.valid && response.message.as_deref().is_none_or(str::is_empty) {
            fail(&input, "invalid settings without a message");
        }
    }
}

fn fuzz_validate(
    rng: &mut Rng,
    mutator: &Mutator,
    requests: &[Value],
    settings: &[Value],
    iterations: u64,
) {
    for _ in 0..iterations {
        let request = mutator.mutate_value(rng, requests);
        let chosen = rng.pick(settings).cloned().unwrap_or(Value::Null);
        let settings = if rng.chance(8) {
            mutator.mutate_one(rng, chosen)
        } else {
            chosen
        };
        let envelope = serde_json::json!({"request": request, "settings": settings});
        let mut input = serde_json::to_vec(&envelope).unwrap_or_default();
        if rng.chance(16) {
            input = mutator.mutate_bytes(rng, input);
        }
        remember(&input);
        let host = RandomHost::new(rng.next());
        let response = sigpin::validate(&input, &host);
        if !response.accepted && response.message.as_deref().is_none_or(str::is_empty) {
            fail(&input, "a rejection without a message");
        }
        if response.mutated_object.is_some() && host.verified_count() == 0 {
            fail(&input, "a mutation although the host verified nothing");
        }
        // Warn-mode rules admit failures on purpose, but never silently.
        let warned = response.warnings.as_ref().is_some_and(|w| !w.is_empty());
        if response.accepted && !warned && host.verify_calls() > 0 && host.verified_count() == 0 {
            fail(
                &input,
                "admitted without a warning although every verification failed",
            );
        }
    }
}

/// A violated property: the panic hook writes the input out, then the process aborts.
#[allow(clippy::panic, reason = "a fuzzer reports a finding by crashing")]
fn fail(input: &[u8], property: &str) -> ! {
    remember(input);
    panic!("property violated: {property}");
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let (requests, settings) = match (request_seeds(), settings_seeds()) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("cannot load the seeds from test_data: {e}");
            std::process::exit(2);
        }
    };
    install_panic_hook();
    let mut rng = Rng::new(args.seed);
    let mutator = Mutator::new();
    let run = |name: &str, rng: &mut Rng, body: &dyn Fn(&mut Rng)| {
        let started = Instant::now();
        body(rng);
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{name}: {} inputs, 0 crashes, {seconds:.1} s ({:.0} inputs/s)",
            args.iterations,
            args.iterations as f64 / seconds.max(1e-9)
        );
    };
    if matches!(args.target.as_str(), "settings" | "all") {
        run("settings", &mut rng, &|rng| {
            fuzz_settings(rng, &mutator, &settings, args.iterations)
        });
    }
    if matches!(args.target.as_str(), "validate" | "all") {
        run("validate", &mut rng, &|rng| {
            fuzz_validate(rng, &mutator, &requests, &settings, args.iterations)
        });
    }
}
