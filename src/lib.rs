//! sigpin: a Kubewarden policy that verifies the cosign/Sigstore signature of every image a
//! workload names and pins each verified tag to the digest that was verified.
//!
//! The core is pure: settings → plan of (image, rule) checks → host answers → verdict and
//! patch. The host is reached only through [`host::Host`], so native tests substitute it.

// Every public item says what it is for: the crate is read by the harness, the fuzzer and
// the tests as much as it is compiled to wasm.
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod admission;
pub mod checks;
pub mod escape;
pub mod glob;
pub mod host;
pub mod json_scan;
pub mod matching;
pub mod outcome;
pub mod patch;
pub mod pattern;
pub mod pem_text;
pub mod plan;
pub mod reference;
pub mod settings;
pub mod verdict;
pub mod workload;
pub mod x509;

#[cfg(target_arch = "wasm32")]
mod wapc;

use kubewarden_policy_sdk::response::ValidationResponse;
use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use serde_json::Value;

use std::collections::HashMap;

use admission::{Json, Key};
use host::Host;
use plan::PlanContext;
use verdict::{Decision, Verdict};
use workload::Inspection;

/// The only waPC protocol version Kubewarden defines.
pub const PROTOCOL_VERSION: &str = "v1";

/// Audit annotation keys for warnings: `sigpin-warning-0`, `sigpin-warning-1`, …
pub const AUDIT_ANNOTATION_PREFIX: &str = "sigpin-warning-";

/// `validate_settings`: every structural check, then the certificate chains through the host.
pub fn validate_settings(payload: &[u8], host: &dyn Host) -> SettingsValidationResponse {
    let outcome = settings::read_tree(payload)
        .map_err(|e| format!("settings are not JSON: {e}"))
        .and_then(|tree| settings::parse_settings_tree(&tree).map_err(|e| e.to_string()))
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
    let envelope =
        admission::read(payload).map_err(|e| format!("the validation request is not JSON: {e}"))?;
    let request = envelope
        .get(Key::Request)
        .ok_or("the validation request has no \"request\"")?;
    let settings = match envelope.get(Key::Settings) {
        Some(Json::Settings(settings)) => settings::parse_admitted_settings(settings),
        _ => settings::parse_admitted_settings(&settings::Node::Null),
    }
    .map_err(|e| format!("the policy settings are not valid: {e}"))?;
    let workload = match workload::inspect(request).map_err(|e| e.to_string())? {
        Inspection::NotOurs => return Ok(accept()),
        Inspection::Workload(workload) => workload,
    };
    let unchanged = match settings.reverify_unchanged_images {
        true => HashMap::new(),
        false => workload::old_sites(request).unwrap_or_default(),
    };
    let context = PlanContext {
        namespace: request
            .get(Key::Namespace)
            .and_then(Json::as_str)
            .filter(|ns| !ns.is_empty()),
        exemptions: &settings.exemptions,
        // The clock is read only when an exemption needs it.
        now: match settings.exemptions.is_empty() {
            true => None,
            false => host.now_unix_seconds(),
        },
        unchanged: &unchanged,
    };
    let plan = plan::plan(&settings.rules, &workload.sites, &context);
    let outcomes = checks::run_checks(&plan, host, &settings);
    let pin = settings.modify_images_with_digest && (settings.pin_workloads || workload.is_pod);
    let Decision { verdict, warnings } = verdict::decide(&workload, &plan, &outcomes, pin);
    let mut response = match verdict {
        Verdict::Accept => accept(),
        Verdict::Reject(message) => reject(message),
        Verdict::Mutate(rewrites) => {
            // Parsed whole only now that it is to be patched, keeping its key order.
            let object = match request.get(Key::Object).and_then(Json::embedded_text) {
                Some(text) => serde_json::from_str(text)
                    .map_err(|e| format!("the object cannot be read: {e}"))?,
                None => Value::Null,
            };
            ValidationResponse {
                mutated_object: Some(patch::mutated_object(object, &rewrites)?),
                ..accept()
            }
        }
    };
    if !warnings.is_empty() {
        response.audit_annotations = Some(
            warnings
                .iter()
                .enumerate()
                .map(|(i, w)| (format!("{AUDIT_ANNOTATION_PREFIX}{i}"), w.clone()))
                .collect(),
        );
        response.warnings = Some(warnings);
    }
    Ok(response)
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
