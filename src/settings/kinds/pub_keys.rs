//! `pubKeys`: PEM public keys. Without a threshold the list is one request (every key must have
//! signed); keys are distinct by their decoded key material.

use std::collections::BTreeMap;

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;

use crate::settings::SettingsError;
use crate::settings::parse::RuleFields;
use crate::settings::pem_check::{check_public_key, public_key_identity};
use crate::settings::signers::{DerOf, Refusal, decoded, duplicate, first_pair};

const KEY: &str = "pubKeys";

pub(super) fn parse(fields: &RuleFields<'_>) -> Result<Vec<String>, SettingsError> {
    let keys = fields.string_list(KEY)?;
    fields.check_pems(KEY, &keys, check_public_key, "a PEM public key")?;
    Ok(keys)
}

pub(super) fn check_distinct(keys: &[String], der_of: DerOf<'_>) -> Result<(), Refusal> {
    let identities = decoded(KEY, keys, |pem| public_key_identity(&der_of(pem)?))?;
    first_pair(&identities, |a, b| a == b).map_or(Ok(()), |pair| {
        Err(duplicate(KEY, pair, "is the same key as"))
    })
}

/// The host request verifying that all `keys` signed `image`.
pub(super) fn request(
    image: &str,
    keys: &[String],
    annotations: Option<&BTreeMap<String, String>>,
) -> SigstoreVerificationInputV2 {
    SigstoreVerificationInputV2::SigstorePubKeyVerify {
        image: image.to_string(),
        pub_keys: keys.to_vec(),
        annotations: annotations.cloned(),
    }
}
