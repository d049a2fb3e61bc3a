//! A Kubewarden waPC policy module loaded in wasmtime, the way the engine runs it: WASI for
//! wasm32-wasip1 modules, epoch interruption for the evaluation timeout, and every host call
//! routed to a callback.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use thiserror::Error;
use wapc::{WapcHost, WasiParams};
use wasmtime_provider::{EpochDeadlines, WasmtimeEngineProviderBuilder};

/// The export every waPC guest has.
pub const WAPC_ENTRY: &str = "__guest_call";

/// How often the epoch advances: the timeout's resolution.
const EPOCH_TICK: Duration = Duration::from_millis(100);

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("not a WebAssembly module")]
    NotWasm,
    #[error(
        "not a waPC policy: the module does not export {WAPC_ENTRY} (the harness runs Kubewarden waPC policies; WASI, OPA and Gatekeeper modules run under kwctl)"
    )]
    NotWapc,
    #[error("cannot compile the policy module: {0}")]
    Compile(String),
    #[error("cannot instantiate the policy module: {0}")]
    Instantiate(String),
    #[error("the guest call {operation} failed: {message}")]
    Guest { operation: String, message: String },
}

/// The host side of every guest → host call: (binding, namespace, operation, payload).
pub type HostCall = dyn Fn(&str, &str, &str, &[u8]) -> Result<Vec<u8>, String> + Send + Sync;

pub struct PolicyModule {
    host: WapcHost,
    ticker_stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
    /// Time to compile and instantiate, for `harness bench`.
    pub load_time: Duration,
}

impl PolicyModule {
    /// `timeout`: how long one guest call may run (policy-server's behaviour); `None` for no
    /// deadline at all (`kwctl run`'s behaviour).
    pub fn load(
        module_bytes: &[u8],
        timeout: Option<Duration>,
        host_call: Arc<HostCall>,
    ) -> Result<Self, RuntimeError> {
        let started = Instant::now();
        if !module_bytes.starts_with(b"\0asm") {
            return Err(RuntimeError::NotWasm);
        }
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(timeout.is_some());
        // Profiling the module as the engine compiles it: `perf record` then names its wasm
        // functions (README, "Performance"). Off by default: the map file grows per load.
        if std::env::var_os("HARNESS_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine =
            wasmtime::Engine::new(&config).map_err(|e| RuntimeError::Compile(e.to_string()))?;
        let module = wasmtime::Module::new(&engine, module_bytes)
            .map_err(|e| RuntimeError::Compile(format!("{e:#}")))?;
        if !module.exports().any(|export| export.name() == WAPC_ENTRY) {
            return Err(RuntimeError::NotWapc);
        }
        let mut builder = WasmtimeEngineProviderBuilder::new()
            .engine(engine.clone())
            .module(module)
            .wasi_params(WasiParams::default());
        if let Some(timeout) = timeout {
            let ticks = (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
            builder = builder.enable_epoch_interruptions(EpochDeadlines {
                wapc_init: ticks,
                wapc_func: ticks,
            });
        }
        let provider = builder
            .build()
            .map_err(|e| RuntimeError::Instantiate(e.to_string()))?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let stop = ticker_stop.clone();
        let ticker = timeout.map(|_| {
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
        });
        let callback =
            move |_id: u64, binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
                host_call(binding, namespace, operation, payload)
                    .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })
            };
        let host = WapcHost::new(Box::new(provider), Some(Box::new(callback)))
            .map_err(|e| RuntimeError::Instantiate(e.to_string()))?;
        Ok(Self {
            host,
            ticker_stop,
            ticker,
            load_time: started.elapsed(),
        })
    }

    /// One guest operation. A trap, a timeout or a guest error is an `Err` with its text.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, RuntimeError> {
        self.host
            .call(operation, payload)
            .map_err(|e| RuntimeError::Guest {
                operation: operation.to_string(),
                message: e.to_string(),
            })
    }
}

impl Drop for PolicyModule {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}
