//! The one settings check that needs the host: a user certificate must chain to the
//! `certificateChain` given beside it, or every verification with it would fail at admission.

use super::{Check, Settings, SettingsError};
use crate::host::{CertificateTrust, Host, HostApi};

/// `Err` when a `certificates` rule's certificate does not chain to its `certificateChain`,
/// asked through the host.
pub fn check_certificate_chains(settings: &Settings, host: &dyn Host) -> Result<(), SettingsError> {
    let api = HostApi::new(host);
    for rule in &settings.rules {
        let Check::Certificates {
            certificates,
            chain: Some(chain),
            ..
        } = &rule.check
        else {
            continue;
        };
        for (i, certificate) in certificates.iter().enumerate() {
            let problem = match api.is_certificate_trusted(certificate, chain, None) {
                Ok(CertificateTrust::Trusted) => continue,
                Ok(CertificateTrust::Untrusted(reason)) => {
                    format!("not trusted by certificateChain: {reason}")
                }
                Err(host_error) => {
                    format!("could not be checked against certificateChain: {host_error}")
                }
            };
            return Err(SettingsError {
                rule: Some(rule.index),
                kind: Some(rule.check.kind()),
                field: Some(format!("certificates[{i}]")),
                problem,
            });
        }
    }
    Ok(())
}
