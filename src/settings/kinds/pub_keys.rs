//! `pubKeys`: PEM public keys. Without a threshold the list is one request (every key must have
//! signed); keys are distinct by their decoded key material.

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;

use super::RequestContext;
use crate::settings::SettingsError;
use crate::settings::parse::RuleFields;
use crate::settings::pem_check::{check_public_key, public_key_identity};
use crate::settings::signers::{Refusal, duplicate, first_pair};

const KEY: &str = "pubKeys";

pub(super) fn parse(fields: &RuleFields<'_>) -> Result<Vec<String>, SettingsError> {
    let keys = fields.string_list(KEY)?;
    if !fields.checks_content() {
        return Ok(keys);
    }
    for (i, key) in keys.iter().enumerate() {
        check_public_key(key).map_err(|problem| {
            fields.error(
                Some(&format!("{KEY}[{i}]")),
                format!("not a PEM public key: {problem}"),
            )
        })?;
    }
    Ok(keys)
}

pub(super) fn check_distinct(keys: &[String]) -> Result<(), Refusal> {
    let identities = keys
        .iter()
        .map(|k| public_key_identity(k))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (KEY.to_string(), e))?;
    match first_pair(&identities, |a, b| a == b) {
        Some(pair) => Err(duplicate(KEY, pair, "is the same key as")),
        None => Ok(()),
    }
}

pub(super) fn requests(
    keys: &[String],
    context: &RequestContext<'_>,
) -> Vec<SigstoreVerificationInputV2> {
    context.per_group(keys, |keys| {
        SigstoreVerificationInputV2::SigstorePubKeyVerify {
            image: context.image.to_string(),
            pub_keys: keys.to_vec(),
            annotations: context.annotations.cloned(),
        }
    })
}
