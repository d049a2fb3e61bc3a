//! The guest's `ValidationResponse` (the SDK's type) turned into the admission response kwctl prints (protocol
//! doc §5.1–5.2): the patch is the RFC 6902 diff of the mutated object against the request's.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kubewarden_policy_sdk::response::ValidationResponse;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize, PartialEq)]
pub struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

/// Field order and null-vs-absent rules are kwctl's.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    pub audit_annotations: Option<Value>,
    pub warnings: Option<Value>,
}

impl AdmissionResponse {
    pub fn from_validation(uid: &str, request: &Value, response: &ValidationResponse) -> Self {
        let message = response.message.clone();
        let code = response.code;
        let mutated = response.mutated_object.as_ref().filter(|v| !v.is_null());
        let original = request.get("object").filter(|v| !v.is_null());
        // Sorted, so that the printed response does not depend on hashing.
        let audit_annotations = response.audit_annotations.as_ref().map(|annotations| {
            Value::Object(
                annotations
                    .iter()
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        });
        let mut admission = Self {
            uid: uid.to_string(),
            allowed: response.accepted,
            patch_type: None,
            patch: None,
            status: (message.is_some() || code.is_some()).then_some(Status { message, code }),
            audit_annotations,
            warnings: response.warnings.as_ref().map(|w| Value::from(w.clone())),
        };
        match (mutated, original) {
            (Some(_), None) => {
                admission.allowed = false;
                admission.status = Some(Status {
                    message: Some("Incoming object is null, which happens only with DELETE operations, but the policy is attempting a mutation. This is not allowed".into()),
                    code: None,
                });
            }
            (Some(mutated), Some(original)) => {
                let patch = json_patch::diff(original, mutated);
                if !patch.0.is_empty() {
                    let text = serde_json::to_vec(&patch).unwrap_or_default();
                    admission.patch_type = Some("JSONPatch".into());
                    admission.patch = Some(STANDARD.encode(text));
                }
            }
            _ => {}
        }
        admission
    }

    /// A guest failure as the engine reports it: rejected, code 500. A run past the deadline
    /// gets policy-server's own words (wasmtime-provider's interrupt text identifies it).
    pub fn guest_failure(uid: &str, message: String) -> Self {
        let message = if message.contains("execution deadline exceeded") {
            "Policy execution interrupted because it exceeded the allowed execution time".into()
        } else {
            format!("internal server error: Guest call failure: {message}")
        };
        Self {
            uid: uid.to_string(),
            allowed: false,
            patch_type: None,
            patch: None,
            status: Some(Status {
                message: Some(message),
                code: Some(500),
            }),
            audit_annotations: None,
            warnings: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn responses_print_like_kwctl() {
        let request = json!({"object": {"spec": {"containers": [{"image": "a:1"}]}}});
        let cases = [
            (
                json!({"accepted": true, "mutated_object": {"spec": {"containers": [{"image": "a:1@sha256:ff"}]}}}),
                r#"{"uid":"u","allowed":true,"patchType":"JSONPatch","patch":"W3sib3AiOiJyZXBsYWNlIiwicGF0aCI6Ii9zcGVjL2NvbnRhaW5lcnMvMC9pbWFnZSIsInZhbHVlIjoiYToxQHNoYTI1NjpmZiJ9XQ==","auditAnnotations":null,"warnings":null}"#,
            ),
            (
                json!({"accepted": true}),
                r#"{"uid":"u","allowed":true,"auditAnnotations":null,"warnings":null}"#,
            ),
            (
                json!({"accepted": false, "message": "no"}),
                r#"{"uid":"u","allowed":false,"status":{"message":"no"},"auditAnnotations":null,"warnings":null}"#,
            ),
            (
                json!({"accepted": true, "warnings": ["w"], "audit_annotations": {"k": "w"}}),
                r#"{"uid":"u","allowed":true,"auditAnnotations":{"k":"w"},"warnings":["w"]}"#,
            ),
        ];
        for (response, printed) in cases {
            let response: ValidationResponse = serde_json::from_value(response).unwrap();
            let admission = AdmissionResponse::from_validation("u", &request, &response);
            assert_eq!(serde_json::to_string(&admission).unwrap(), printed);
        }
        let failures = [
            (
                "trap: unreachable",
                r#"{"uid":"u","allowed":false,"status":{"message":"internal server error: Guest call failure: trap: unreachable","code":500},"auditAnnotations":null,"warnings":null}"#,
            ),
            (
                "guest code interrupted, execution deadline exceeded",
                r#"{"uid":"u","allowed":false,"status":{"message":"Policy execution interrupted because it exceeded the allowed execution time","code":500},"auditAnnotations":null,"warnings":null}"#,
            ),
        ];
        for (failure, printed) in failures {
            let admission = AdmissionResponse::guest_failure("u", failure.into());
            assert_eq!(serde_json::to_string(&admission).unwrap(), printed);
        }
    }
}
