//! `harness`: run Kubewarden waPC policies like kwctl, with real Sigstore verification, and the
//! offline signing lab.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use harness::capabilities::CapabilityServices;
use harness::host::{Answers, Host};
use harness::record::{Recorder, Replayer};
use harness::response::AdmissionResponse;
use harness::runtime::{HostCall, PolicyModule};
use harness::services::{KeylessBinding, Services, ServicesConfig, Sources};
use harness::{distribution, executor, metadata_check};
use kubewarden_policy_sdk::response::ValidationResponse;
use kubewarden_policy_sdk::settings::SettingsValidationResponse;

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Run Kubewarden waPC policies natively with real Sigstore verification, plus an offline signing lab"
)]
struct Cli {
    /// No progress lines on stderr (results and errors are still printed).
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate one admission request, print the admission response like `kwctl run`.
    Run(RunArgs),
    /// Evaluate one request many times; print min / median / p99 per evaluation.
    Bench(BenchArgs),
    /// Run `validate_settings` on many settings files with one loaded module; one JSON line
    /// per file: {"file", "valid", "message"}.
    ValidateSettings(ValidateSettingsArgs),
    /// Build the offline signing lab in a registry (keys, CAs, images, signatures).
    Lab(harness::lab::LabArgs),
    /// Sign an artefact in a registry, cosign format, with a lab key or a release key.
    Sign(harness::lab::SignArgs),
    /// Embed metadata.yml into the module, as `kwctl annotate` does (and validate it as kwctl).
    Annotate(AnnotateArgs),
    /// Print the metadata embedded in a module (a file or registry://HOST/REPO:TAG).
    Inspect(InspectArgs),
    /// Push an annotated module as a Kubewarden OCI artefact (registry://HOST/REPO:TAG).
    Push(PushArgs),
    /// Fetch a policy artefact's module (registry://HOST/REPO:TAG) into a file.
    Pull(PullArgs),
}

/// How registries are reached: kwctl's sources file and Docker config.
#[derive(Args, Clone)]
struct RegistryArgs {
    /// kwctl-format sources.yaml (`insecure_sources`, `source_authorities`).
    #[arg(long)]
    sources_path: Option<PathBuf>,
    /// Directory holding the Docker `config.json` with registry logins (default:
    /// $DOCKER_CONFIG, then ~/.docker).
    #[arg(long)]
    docker_config_json_path: Option<PathBuf>,
}

impl RegistryArgs {
    fn sources(&self) -> anyhow::Result<Sources> {
        Sources::resolve(
            self.sources_path.as_deref(),
            self.docker_config_json_path.as_deref(),
        )
    }
}

#[derive(Args)]
struct AnnotateArgs {
    /// metadata.yml (Kubewarden policy metadata).
    #[arg(long, short = 'm')]
    metadata_path: PathBuf,
    /// A usage text (README) stored as io.kubewarden.policy.usage.
    #[arg(long, short = 'u')]
    usage_path: Option<PathBuf>,
    /// Where to write the annotated module.
    #[arg(long, short = 'o')]
    output_path: PathBuf,
    /// The raw module (annotating an annotated module would add a second section).
    policy: PathBuf,
}

#[derive(Args)]
struct InspectArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    /// Output format (YAML, the only one).
    #[arg(long, short = 'o', value_parser = ["yaml"], default_value = "yaml")]
    output: String,
    /// An annotated module: a file, or registry://HOST/REPOSITORY:TAG.
    policy: String,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PushOutput {
    Text,
    Json,
}

#[derive(Args)]
struct PushArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    /// `json` prints kwctl's `{"immutable_ref": …}`.
    #[arg(long, short = 'o', value_enum, default_value_t = PushOutput::Text)]
    output: PushOutput,
    /// The annotated module.
    policy: PathBuf,
    /// Destination, registry://HOST/REPOSITORY:TAG.
    uri: String,
}

#[derive(Args)]
struct PullArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    /// Where to write the module.
    #[arg(long, short = 'o', alias = "output")]
    output_path: PathBuf,
    /// Source, registry://HOST/REPOSITORY:TAG.
    uri: String,
}

#[derive(Args, Clone)]
struct RunArgs {
    /// AdmissionReview or bare `request` object, JSON or YAML; `-` reads standard input.
    #[arg(long, short = 'r')]
    request_path: String,
    /// Policy settings, YAML or JSON.
    #[arg(long, short = 's', conflicts_with = "settings_json")]
    settings_path: Option<PathBuf>,
    /// Policy settings as a JSON string.
    #[arg(long)]
    settings_json: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
    /// Sigstore trust root (ClientTrustConfig, as kwctl takes, or TrustedRoot JSON) for
    /// keyless verification.
    #[arg(long, alias = "trust-root")]
    sigstore_trust_config: Option<PathBuf>,
    /// Seconds a successful verification stays cached.
    #[arg(long, default_value_t = 60)]
    cache_ttl: u64,
    /// Seconds one guest call may run: 2 is policy-server's default evaluation timeout; 0 means
    /// no deadline, as `kwctl run`.
    #[arg(long, default_value_t = 2)]
    timeout: u64,
    /// `engine` (default) reads keyless identities as the real Kubewarden engine does, without
    /// binding them to the layer they sign; `strict` binds them, as no Kubewarden host does.
    #[arg(long, value_enum, default_value_t = KeylessBinding::Engine)]
    keyless_binding: KeylessBinding,
    /// Write every host capability exchange to this file (kwctl's session format).
    #[arg(long, conflicts_with = "replay_host_capabilities_interactions")]
    record_host_capabilities_interactions: Option<PathBuf>,
    /// Answer host capability calls from this recorded session instead of the network.
    #[arg(long)]
    replay_host_capabilities_interactions: Option<PathBuf>,
    /// For a registry:// policy: refuse to run it unless its cosign signature verifies with
    /// this public key (PEM); the verified digest is what runs.
    #[arg(long, short = 'k', alias = "verify-key")]
    verification_key: Option<PathBuf>,
    /// The policy: a wasm file, or registry://HOST/REPO:TAG.
    policy: String,
}

#[derive(Args)]
struct ValidateSettingsArgs {
    /// Registry access for host calls made while validating.
    #[command(flatten)]
    registry: RegistryArgs,
    /// Sigstore trust root (ClientTrustConfig or TrustedRoot JSON).
    #[arg(long, alias = "trust-root")]
    sigstore_trust_config: Option<PathBuf>,
    /// The policy module (a wasm file).
    policy: PathBuf,
    /// Settings files, YAML or JSON.
    #[arg(required = true)]
    settings: Vec<PathBuf>,
}

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Evaluations to time.
    #[arg(long, alias = "runs", default_value_t = 100)]
    num_samples: usize,
    /// A second module evaluated on the same inputs; the ratio is printed per statistic.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Print the statistics as one JSON object.
    #[arg(long)]
    json: bool,
}

/// One line per step of long work, on stderr, unless `-q`.
#[derive(Clone, Copy)]
struct Progress {
    quiet: bool,
}

impl Progress {
    fn step(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}

/// A JSON or YAML object, read from `source` (a path, or `-` for standard input).
fn read_object(source: &str, what: &str) -> anyhow::Result<Value> {
    let text = if source == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        std::fs::read_to_string(source).with_context(|| format!("reading {source}"))?
    };
    let name = if source == "-" {
        "standard input"
    } else {
        source
    };
    parse_object(&text, name, what)
}

fn parse_object(text: &str, name: &str, what: &str) -> anyhow::Result<Value> {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(json_error) => serde_yaml::from_str(text).map_err(|yaml_error| {
            anyhow::anyhow!(
                "{name}: the {what} is neither JSON ({json_error}) nor YAML ({yaml_error})"
            )
        })?,
    };
    match value {
        Value::Object(_) => Ok(value),
        other => bail!(
            "{name}: the {what} must be a JSON or YAML object, not {}",
            kind(&other)
        ),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The `request` of an AdmissionReview, or the input itself when it is a bare request.
fn admission_request(source: &str) -> anyhow::Result<Value> {
    let value = read_object(source, "admission request")?;
    Ok(match value.get("request") {
        Some(request) if value.get("uid").is_none() => request.clone(),
        _ => value,
    })
}

/// A settings file, YAML or JSON; an empty file means no settings, as for kwctl.
fn settings_file(path: &std::path::Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    parse_object(&text, &path.display().to_string(), "settings")
}

fn settings(args: &RunArgs) -> anyhow::Result<Value> {
    match (&args.settings_path, &args.settings_json) {
        (Some(path), _) => settings_file(path),
        (None, Some(json)) => {
            let value: Value = serde_json::from_str(json)
                .map_err(|e| anyhow::anyhow!("--settings-json is not JSON: {e}"))?;
            match value {
                Value::Object(_) => Ok(value),
                other => bail!(
                    "--settings-json must be a JSON object, not {}",
                    kind(&other)
                ),
            }
        }
        (None, None) => Ok(Value::Object(Default::default())),
    }
}

/// The services a command's host answers with: kwctl's registry flags and trust root.
fn services(
    registry: &RegistryArgs,
    trust_root: Option<&PathBuf>,
    cache_ttl: Duration,
    keyless_binding: KeylessBinding,
) -> anyhow::Result<Services> {
    Services::new(ServicesConfig {
        sources_path: registry.sources_path.clone(),
        docker_config_dir: registry.docker_config_json_path.clone(),
        trust_root_path: trust_root.cloned(),
        cache_ttl,
        keyless_binding,
    })
}

/// The host of `run` and `bench`: replayed (`cycle`: again for every evaluation, for
/// benchmarks), recording, or live.
fn host(args: &RunArgs, cycle: bool) -> anyhow::Result<Host> {
    if let Some(path) = &args.replay_host_capabilities_interactions {
        let replayer = Replayer::load(path)?;
        return Ok(Host::new(Answers::Replay(if cycle {
            replayer.cycling()
        } else {
            replayer
        })));
    }
    let live = Box::new(services(
        &args.registry,
        args.sigstore_trust_config.as_ref(),
        Duration::from_secs(args.cache_ttl),
        args.keyless_binding,
    )?);
    Ok(Host::new(
        match &args.record_host_capabilities_interactions {
            Some(_) => Answers::Recording(live, Recorder::default()),
            None => Answers::Live(live),
        },
    ))
}

struct Evaluation {
    module: PolicyModule,
    request: Value,
    settings: Value,
}

impl Evaluation {
    fn prepare(
        args: &RunArgs,
        policy: &str,
        host: Arc<Host>,
        progress: Progress,
    ) -> anyhow::Result<Self> {
        // Inputs first: a typo in them is reported before any registry is contacted.
        let settings = settings(args)?;
        let request = admission_request(&args.request_path)?;
        let bytes = policy_bytes(args, policy, progress)?;
        let module = PolicyModule::load(
            &bytes,
            (args.timeout > 0).then(|| Duration::from_secs(args.timeout)),
            host.callback(),
        )
        .with_context(|| format!("loading {policy}"))?;
        Ok(Self {
            module,
            request,
            settings,
        })
    }

    /// `validate_settings`; `Err` carries the policy's own message.
    fn validate_settings(&self) -> anyhow::Result<()> {
        match settings_verdict(&self.module, &self.settings)? {
            None => Ok(()),
            // kwctl's words, so that both refusals read alike.
            Some(message) => bail!("Provided settings are not valid: {message}"),
        }
    }

    fn evaluate(&self) -> anyhow::Result<AdmissionResponse> {
        let uid = self
            .request
            .get("uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let payload = serde_json::json!({"request": self.request, "settings": self.settings});
        match self.module.call("validate", &serde_json::to_vec(&payload)?) {
            Ok(answer) => {
                let response: ValidationResponse = serde_json::from_slice(&answer)
                    .context("validate did not answer a ValidationResponse")?;
                Ok(AdmissionResponse::from_validation(
                    &uid,
                    &self.request,
                    &response,
                ))
            }
            Err(failure) => Ok(AdmissionResponse::guest_failure(&uid, failure.to_string())),
        }
    }
}

/// The module's `validate_settings` answer: `None` when valid, else its message. A guest error
/// (upstream policies fail to deserialise settings that way) is an invalid answer, as in the
/// engine.
fn settings_verdict(module: &PolicyModule, settings: &Value) -> anyhow::Result<Option<String>> {
    let answer = match module.call("validate_settings", &serde_json::to_vec(settings)?) {
        Ok(answer) => answer,
        Err(failure) => {
            return Ok(Some(format!(
                "Error invoking settings validation callback: {failure}"
            )));
        }
    };
    let answer: SettingsValidationResponse = serde_json::from_slice(&answer)
        .context("validate_settings did not answer a SettingsValidationResponse")?;
    if answer.valid {
        return Ok(None);
    }
    Ok(Some(
        answer.message.unwrap_or_else(|| "(no message)".to_string()),
    ))
}

fn validate_settings_files(args: ValidateSettingsArgs) -> anyhow::Result<()> {
    let host = Arc::new(Host::new(Answers::Live(Box::new(services(
        &args.registry,
        args.sigstore_trust_config.as_ref(),
        Duration::ZERO,
        KeylessBinding::default(),
    )?))));
    let bytes = std::fs::read(&args.policy)
        .with_context(|| format!("reading {}", args.policy.display()))?;
    let module = PolicyModule::load(&bytes, Some(Duration::from_secs(10)), host.callback())
        .with_context(|| format!("loading {}", args.policy.display()))?;
    for path in &args.settings {
        let settings = settings_file(path)?;
        let message = settings_verdict(&module, &settings)?;
        let line = serde_json::json!({
            "file": path.display().to_string(),
            "valid": message.is_none(),
            "message": message,
        });
        println!("{line}");
    }
    Ok(())
}

/// The module bytes: a file, or a registry artefact (signature-checked with
/// --verification-key).
fn policy_bytes(args: &RunArgs, policy: &str, progress: Progress) -> anyhow::Result<Vec<u8>> {
    let Some(bare) = policy.strip_prefix("registry://") else {
        if args.verification_key.is_some() {
            bail!("--verification-key applies to registry:// policies only");
        }
        return std::fs::read(policy).with_context(|| format!("reading {policy}"));
    };
    let sources = args.registry.sources()?;
    let mut reference = distribution::registry_reference(policy)?;
    if let Some(key_path) = &args.verification_key {
        let key = std::fs::read_to_string(key_path)
            .with_context(|| format!("reading {}", key_path.display()))?;
        let services = services(
            &args.registry,
            None,
            Duration::ZERO,
            KeylessBinding::default(),
        )?;
        let input = serde_json::from_value(serde_json::json!({
            "type": "SigstorePubKeyVerify", "image": bare, "pub_keys": [key], "annotations": null
        }))?;
        progress.step(&format!(
            "verifying the signature of {bare} with {}",
            key_path.display()
        ));
        let verified = services.verify(input).map_err(|e| {
            anyhow::anyhow!(
                "refusing to run {policy}: its signature does not verify with {}: {e}",
                key_path.display()
            )
        })?;
        reference = format!(
            "{}/{}@{}",
            reference.registry(),
            reference.repository(),
            verified.digest
        )
        .parse()?;
    }
    let step = |line: &str| progress.step(line);
    Ok(executor::block_on(distribution::pull(
        &sources, &reference, &step,
    ))??)
}

fn annotate(args: AnnotateArgs) -> anyhow::Result<()> {
    let module = std::fs::read(&args.policy)
        .with_context(|| format!("reading {}", args.policy.display()))?;
    let text = std::fs::read_to_string(&args.metadata_path)
        .with_context(|| format!("reading {}", args.metadata_path.display()))?;
    let usage = args
        .usage_path
        .as_ref()
        .map(|path| {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
        })
        .transpose()?;
    let mut metadata = distribution::Metadata::from_yaml(&text)
        .with_context(|| args.metadata_path.display().to_string())?
        .with_usage(usage);
    // As kwctl: ask the module itself which protocol it speaks.
    let no_host: Arc<HostCall> =
        Arc::new(|_: &str, _: &str, _: &str, _: &[u8]| Err("no host during annotate".to_string()));
    let loaded = PolicyModule::load(&module, Some(Duration::from_secs(10)), no_host)
        .with_context(|| args.policy.display().to_string())?;
    let version: String = serde_json::from_slice(
        &loaded
            .call("protocol_version", b"")
            .with_context(|| format!("{}: protocol_version", args.policy.display()))?,
    )
    .with_context(|| {
        format!(
            "{}: protocol_version is not a JSON string",
            args.policy.display()
        )
    })?;
    metadata.protocol_version = Some(version);
    metadata_check::validate(&metadata)
        .with_context(|| args.metadata_path.display().to_string())?;
    let undeclared =
        metadata_check::undeclared(&metadata, &metadata_check::used_capabilities(&module));
    if !undeclared.is_empty() {
        // kwctl warns and writes the module: the engine refuses the calls at run time.
        eprintln!(
            "warning: host capabilities used by the policy but not declared in hostCapabilities: {}",
            undeclared.join(", ")
        );
    }
    let annotated = distribution::annotate(&module, &metadata)?;
    std::fs::write(&args.output_path, annotated)
        .with_context(|| format!("writing {}", args.output_path.display()))?;
    Ok(())
}

fn run(args: RunArgs, progress: Progress) -> anyhow::Result<()> {
    let host = Arc::new(host(&args, false)?);
    let evaluation = Evaluation::prepare(&args, &args.policy, host.clone(), progress)?;
    evaluation.validate_settings()?;
    let response = evaluation.evaluate()?;
    println!("{}", serde_json::to_string(&response)?);
    if let Some(path) = &args.record_host_capabilities_interactions {
        host.save(path)?;
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct Statistics {
    module: String,
    module_bytes: usize,
    allowed: bool,
    host_calls_per_evaluation: f64,
    load_ms: f64,
    min_us: f64,
    median_us: f64,
    p99_us: f64,
    runs: usize,
}

fn measure(args: &BenchArgs, policy: &str, progress: Progress) -> anyhow::Result<Statistics> {
    let host = Arc::new(host(&args.run, true)?);
    let evaluation = Evaluation::prepare(&args.run, policy, host.clone(), progress)?;
    evaluation.validate_settings()?;
    let first = evaluation.evaluate()?;
    let calls_before = host.calls();
    progress.step(&format!(
        "{policy}: timing {} evaluations",
        args.num_samples
    ));
    let mut times = Vec::with_capacity(args.num_samples);
    for _ in 0..args.num_samples {
        let started = Instant::now();
        evaluation.evaluate()?;
        times.push(started.elapsed());
    }
    let calls = host.calls() - calls_before;
    times.sort();
    let at = |q: f64| {
        let index = ((times.len() as f64 - 1.0) * q).round() as usize;
        times.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    Ok(Statistics {
        module: policy.to_string(),
        module_bytes: std::fs::metadata(policy).map_or(0, |m| m.len() as usize),
        allowed: first.allowed,
        host_calls_per_evaluation: calls as f64 / times.len() as f64,
        load_ms: evaluation.module.load_time.as_secs_f64() * 1e3,
        min_us: at(0.0),
        median_us: at(0.5),
        p99_us: at(0.99),
        runs: times.len(),
    })
}

fn bench(args: BenchArgs, progress: Progress) -> anyhow::Result<()> {
    if args.num_samples == 0 {
        bail!("--num-samples must be at least 1");
    }
    let mut rows = vec![measure(&args, &args.run.policy, progress)?];
    if let Some(other) = &args.compare {
        rows.push(measure(&args, &other.display().to_string(), progress)?);
    }
    if args.json {
        println!("{}", serde_json::to_string(&rows)?);
        return Ok(());
    }
    println!(
        "{:<40} {:>10} {:>12} {:>12} {:>12}",
        "module", "load ms", "min µs", "median µs", "p99 µs"
    );
    for row in &rows {
        println!(
            "{:<40} {:>10.1} {:>12.1} {:>12.1} {:>12.1}",
            row.module, row.load_ms, row.min_us, row.median_us, row.p99_us
        );
    }
    if let [first, second] = rows.as_slice() {
        println!(
            "{:<40} {:>10.2} {:>12.2} {:>12.2} {:>12.2}",
            "ratio (second / first)",
            second.load_ms / first.load_ms,
            second.min_us / first.min_us,
            second.median_us / first.median_us,
            second.p99_us / first.p99_us
        );
    }
    Ok(())
}

fn inspect(args: InspectArgs, progress: Progress) -> anyhow::Result<()> {
    let module = if args.policy.starts_with("registry://") {
        let sources = args.registry.sources()?;
        let reference = distribution::registry_reference(&args.policy)?;
        let step = |line: &str| progress.step(line);
        executor::block_on(distribution::pull(&sources, &reference, &step))??
    } else {
        std::fs::read(&args.policy).with_context(|| format!("reading {}", args.policy))?
    };
    let metadata = distribution::read_metadata(&module).with_context(|| args.policy.to_string())?;
    print!("{}", serde_yaml::to_string(&metadata)?);
    Ok(())
}

fn push(args: PushArgs, progress: Progress) -> anyhow::Result<()> {
    let module = std::fs::read(&args.policy)
        .with_context(|| format!("reading {}", args.policy.display()))?;
    let sources = args.registry.sources()?;
    let step = |line: &str| progress.step(line);
    let pushed = executor::block_on(distribution::push(&sources, &module, &args.uri, &step))?
        .with_context(|| format!("pushing {} to {}", args.policy.display(), args.uri))?;
    match args.output {
        PushOutput::Text => println!("Policy successfully pushed: {pushed}"),
        PushOutput::Json => println!("{}", serde_json::json!({ "immutable_ref": pushed })),
    }
    Ok(())
}

fn pull(args: PullArgs, progress: Progress) -> anyhow::Result<()> {
    let sources = args.registry.sources()?;
    let reference = distribution::registry_reference(&args.uri)?;
    let step = |line: &str| progress.step(line);
    let module = executor::block_on(distribution::pull(&sources, &reference, &step))??;
    std::fs::write(&args.output_path, &module)
        .with_context(|| format!("writing {}", args.output_path.display()))?;
    progress.step(&format!(
        "wrote {} ({} bytes)",
        args.output_path.display(),
        module.len()
    ));
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    let progress = Progress { quiet: cli.quiet };
    let outcome = match cli.command {
        Command::Run(args) => run(args, progress),
        Command::Bench(args) => bench(args, progress),
        Command::ValidateSettings(args) => validate_settings_files(args),
        Command::Lab(args) => harness::lab::run(args, progress.quiet),
        Command::Sign(args) => harness::lab::sign(args),
        Command::Annotate(args) => annotate(args),
        Command::Inspect(args) => inspect(args, progress),
        Command::Push(args) => push(args, progress),
        Command::Pull(args) => pull(args, progress),
    };
    if let Err(error) = outcome {
        eprintln!("Error: {error:#}");
        std::process::exit(1);
    }
}
