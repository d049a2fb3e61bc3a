//! waPC entry points: the three operations a Kubewarden engine calls, and the host seam bound
//! to the real `__host_call`.

use kubewarden_policy_sdk::wapc_guest::{self as guest, CallResult};

use crate::host::Host;

struct WapcHost;

impl Host for WapcHost {
    fn call(&self, namespace: &str, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        guest::host_call("kubewarden", namespace, operation, payload).map_err(|e| e.to_string())
    }

    /// The WASI clock the engine provides to wasm32-wasip1 modules.
    fn now_unix_seconds(&self) -> Option<i64> {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        i64::try_from(since_epoch.as_secs()).ok()
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("protocol_version", protocol_version);
    guest::register_function("validate_settings", validate_settings);
    guest::register_function("validate", validate);
}

fn protocol_version(_payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(crate::PROTOCOL_VERSION)?)
}

fn validate_settings(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&crate::validate_settings(
        payload, &WapcHost,
    ))?)
}

fn validate(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&crate::validate(payload, &WapcHost))?)
}
