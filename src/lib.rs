//! sigpin: a Kubewarden policy that verifies the cosign/Sigstore signature of every image a
//! workload names and pins each verified tag to the digest that was verified.
//!
//! The core is pure: settings → plan of (image, rule) checks → host answers → verdict and
//! patch. The host is reached only through [`host::Host`], so native tests substitute it.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod host;
pub mod matching;
pub mod plan;
pub mod reference;
pub mod settings;
pub mod verdict;
pub mod workload;

#[cfg(target_arch = "wasm32")]
mod wapc;

use kubewarden_policy_sdk::response::ValidationResponse;
use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use serde_json::Value;

use host::{Host, HostApi};
use verdict::Verdict;
use workload::Inspection;

/// The only waPC protocol version Kubewarden defines.
pub const PROTOCOL_VERSION: &str = "v1";

/// `validate_settings`: every structural check, then the certificate chains through the host.
pub fn validate_settings(payload: &[u8], host: &dyn Host) -> SettingsValidationResponse {
    let outcome = serde_json::from_slice::<Value>(payload)
        .map_err(|e| format!("settings are not JSON: {e}"))
        .and_then(|value| settings::parse_settings(&value).map_err(|e| e.to_string()))
        .and_then(|parsed| {
            settings::check_certificate_chains(&parsed, host).map_err(|e| e.to_string())
        });
    match outcome {
        Ok(()) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(message) => SettingsValidationResponse {
            valid: false,
            message: Some(message),
        },
    }
}

/// `validate`: the verdict on one admission request. Never fails: every problem is a rejection.
pub fn validate(payload: &[u8], host: &dyn Host) -> ValidationResponse {
    match evaluate(payload, host) {
        Ok(response) => response,
        Err(message) => reject(message),
    }
}

fn evaluate(payload: &[u8], host: &dyn Host) -> Result<ValidationResponse, String> {
    let envelope: Value = serde_json::from_slice(payload)
        .map_err(|e| format!("the validation request is not JSON: {e}"))?;
    let request = envelope
        .get("request")
        .ok_or("the validation request has no \"request\"")?;
    let settings = settings::parse_settings(envelope.get("settings").unwrap_or(&Value::Null))
        .map_err(|e| format!("the policy settings are not valid: {e}"))?;
    let workload = match workload::inspect(request).map_err(|e| e.to_string())? {
        Inspection::NotOurs => return Ok(accept()),
        Inspection::Workload(workload) => workload,
    };
    let plan = plan::plan(&settings.rules, &workload.sites);
    let outcomes = verdict::run_checks(&plan, &HostApi::new(host));
    match verdict::decide(
        &workload,
        &plan,
        &outcomes,
        settings.modify_images_with_digest,
    ) {
        Verdict::Accept => Ok(accept()),
        Verdict::Reject(message) => Ok(reject(message)),
        Verdict::Mutate(rewrites) => {
            let object = request.get("object").unwrap_or(&Value::Null);
            let mutated = verdict::mutated_object(object, &rewrites)?;
            Ok(ValidationResponse {
                mutated_object: Some(mutated),
                ..accept()
            })
        }
    }
}

fn accept() -> ValidationResponse {
    ValidationResponse {
        accepted: true,
        message: None,
        code: None,
        mutated_object: None,
        audit_annotations: None,
        warnings: None,
    }
}

fn reject(message: String) -> ValidationResponse {
    ValidationResponse {
        accepted: false,
        message: Some(message),
        ..accept()
    }
}
