//! The checks `kwctl annotate` makes before it embeds metadata, so that `harness annotate`
//! refuses what kwctl refuses (a module policy-server could not load), and the host
//! capabilities a module calls compared with those its metadata declares.

use serde_json::Value;

use crate::distribution::{DistributionError, Metadata};

const OPERATIONS: [&str; 5] = ["CREATE", "UPDATE", "DELETE", "CONNECT", "*"];
const POLICY_TYPES: [&str; 2] = ["kubernetes", "raw"];
/// The protocol a waPC guest must answer to `protocol_version`.
pub const PROTOCOL_VERSION: &str = "v1";

/// Every host capability Kubewarden serves: (declared name, the operation string a guest
/// passes in its host call).
const CAPABILITIES: [(&str, &str); 13] = [
    ("oci/v1/verify", "v1/verify"),
    ("oci/v2/verify", "v2/verify"),
    ("oci/v1/manifest_digest", "v1/manifest_digest"),
    ("oci/v1/oci_manifest", "v1/oci_manifest"),
    ("oci/v1/oci_manifest_config", "v1/oci_manifest_config"),
    ("net/v1/dns_lookup_host", "v1/dns_lookup_host"),
    (
        "crypto/v1/is_certificate_trusted",
        "v1/is_certificate_trusted",
    ),
    (
        "kubernetes/list_resources_by_namespace",
        "list_resources_by_namespace",
    ),
    ("kubernetes/list_resources_all", "list_resources_all"),
    ("kubernetes/get_resource", "get_resource"),
    ("kubernetes/can_i", "can_i"),
    (
        "kubernetes/get_resource_plural_name",
        "get_resource_plural_name",
    ),
    ("kubernetes/list_resources", "list_resources"),
];

fn invalid(path: &str, why: String) -> DistributionError {
    DistributionError::InvalidMetadata(format!("{path}: {why}"))
}

fn strings<'a>(rule: &'a Value, at: usize, field: &str) -> Result<Vec<&'a str>, DistributionError> {
    let path = format!("rules[{at}].{field}");
    let list = rule
        .get(field)
        .ok_or_else(|| invalid(&path, "missing".into()))?
        .as_array()
        .ok_or_else(|| invalid(&path, "must be a list of strings".into()))?;
    if list.is_empty() {
        return Err(invalid(&path, "must not be empty".into()));
    }
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_str()
                .ok_or_else(|| invalid(&format!("{path}[{i}]"), "must be a string".into()))
        })
        .collect()
}

fn check_rule(rule: &Value, at: usize) -> Result<(), DistributionError> {
    strings(rule, at, "apiGroups")?;
    strings(rule, at, "apiVersions")?;
    let resources = strings(rule, at, "resources")?;
    if resources.contains(&"*")
        && let Some(other) = resources.iter().find(|r| **r != "*" && !r.contains('/'))
    {
        return Err(invalid(
            &format!("rules[{at}].resources"),
            format!("{other:?} listed with \"*\" (only subresources may accompany \"*\")"),
        ));
    }
    let operations = strings(rule, at, "operations")?;
    for (i, operation) in operations.iter().enumerate() {
        if !OPERATIONS.contains(operation) {
            return Err(invalid(
                &format!("rules[{at}].operations[{i}]"),
                format!(
                    "unknown operation {operation:?}, expected one of {}",
                    OPERATIONS.join(", ")
                ),
            ));
        }
    }
    if operations.contains(&"*") && operations.len() > 1 {
        return Err(invalid(
            &format!("rules[{at}].operations"),
            "no other operation may be listed with \"*\"".into(),
        ));
    }
    Ok(())
}

/// kwctl's metadata validation, for a waPC module answering `protocol_version`.
pub fn validate(metadata: &Metadata) -> Result<(), DistributionError> {
    let rules = metadata
        .rules
        .as_array()
        .ok_or_else(|| invalid("rules", "must be a list".into()))?;
    for (at, rule) in rules.iter().enumerate() {
        check_rule(rule, at)?;
    }
    if metadata.execution_mode != "kubewarden-wapc" {
        return Err(invalid(
            "executionMode",
            format!(
                "{:?}, but the module is a waPC policy (kubewarden-wapc)",
                metadata.execution_mode
            ),
        ));
    }
    if !POLICY_TYPES.contains(&metadata.policy_type.as_str()) {
        return Err(invalid(
            "policyType",
            format!(
                "unknown policy type {:?}, expected one of {}",
                metadata.policy_type,
                POLICY_TYPES.join(", ")
            ),
        ));
    }
    match metadata.protocol_version.as_deref() {
        Some(PROTOCOL_VERSION) => Ok(()),
        other => Err(DistributionError::InvalidMetadata(format!(
            "the module answers protocol_version {other:?}; Kubewarden loads {PROTOCOL_VERSION:?} only"
        ))),
    }
}

/// The host capabilities whose operation string appears in the module, as kwctl reports them
/// (a guest names its host call in its data: a capability it never names it cannot call).
pub fn used_capabilities(module: &[u8]) -> Vec<&'static str> {
    CAPABILITIES
        .iter()
        .filter(|(_, operation)| {
            // The operation must not continue as an identifier, so that `v1/oci_manifest`
            // is not found inside `v1/oci_manifest_config`.
            let needle = operation.as_bytes();
            module.windows(needle.len() + 1).any(|w| {
                w.get(..needle.len()) == Some(needle) && w.last().is_some_and(|b| *b != b'_')
            })
        })
        .map(|(name, _)| *name)
        .collect()
}

/// Used but not declared: kwctl warns (the engine refuses the calls at run time).
pub fn undeclared(metadata: &Metadata, used: &[&'static str]) -> Vec<&'static str> {
    let declared = metadata.host_capabilities.clone().unwrap_or_default();
    used.iter()
        .filter(|name| !declared.iter().any(|d| d == *name))
        .copied()
        .collect()
}
