//! The process's one tokio runtime. Registry and cosign clients keep connection pools and
//! caches bound to the runtime that first drove them, so every piece of async work — host
//! capabilities, distribution, the lab — runs here, and clients built once stay usable.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

#[derive(Debug, thiserror::Error)]
#[error("cannot start the async runtime: {0}")]
pub struct RuntimeUnavailable(String);

/// Runs `future` to completion on the shared runtime (built on first use). Host calls arrive
/// on the thread running the policy, outside any async context, so this never nests.
pub fn block_on<F: Future>(future: F) -> Result<F::Output, RuntimeUnavailable> {
    let runtime = RUNTIME.get_or_init(|| {
        Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    match runtime {
        Ok(runtime) => Ok(runtime.block_on(future)),
        Err(reason) => Err(RuntimeUnavailable(reason.clone())),
    }
}
