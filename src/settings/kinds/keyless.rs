//! `keyless`: exact (issuer, subject) identities of Fulcio certificates. Without a threshold
//! the list is one request; identities are distinct as the engine matches them, exactly.

use std::collections::BTreeMap;

use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;
use kubewarden_policy_sdk::host_capabilities::verification::KeylessInfo;

use crate::settings::SettingsError;
use crate::settings::parse::RuleFields;
use crate::settings::signers::{Refusal, duplicate, first_pair};

const KEY: &str = "keyless";

/// One exact identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeylessIdentity {
    /// The OIDC issuer, exactly.
    pub issuer: String,
    /// The certificate's subject (e-mail or URI), exactly.
    pub subject: String,
}

pub(super) fn parse(fields: &RuleFields<'_>) -> Result<Vec<KeylessIdentity>, SettingsError> {
    fields.entries(KEY, |field, entry| {
        fields.reject_misspelled(entry, field, &["issuer", "subject"])?;
        Ok(KeylessIdentity {
            issuer: fields.entry_field(entry, field, "issuer")?,
            subject: fields.entry_field(entry, field, "subject")?,
        })
    })
}

pub(super) fn check_distinct(identities: &[KeylessIdentity]) -> Result<(), Refusal> {
    match first_pair(identities, |a, b| a == b) {
        Some(pair) => Err(duplicate(KEY, pair, "is the same identity as")),
        None => Ok(()),
    }
}

/// The host request verifying `identities` of `image` (all of them).
pub fn keyless_request(
    image: &str,
    identities: &[KeylessIdentity],
    annotations: Option<&BTreeMap<String, String>>,
) -> SigstoreVerificationInputV2 {
    SigstoreVerificationInputV2::SigstoreKeylessVerify {
        image: image.to_string(),
        keyless: identities
            .iter()
            .map(|id| KeylessInfo {
                issuer: id.issuer.clone(),
                subject: id.subject.clone(),
            })
            .collect(),
        annotations: annotations.cloned(),
    }
}
