//! `githubActions`: a signature by a GitHub Actions workflow of an owner (and repository). One
//! signer, so no list and no threshold.

use crate::settings::tree::Node;
use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2;

use super::{Check, RequestContext};
use crate::settings::SettingsError;
use crate::settings::parse::RuleFields;

const KEY: &str = "githubActions";

pub(super) fn parse(fields: &RuleFields<'_>) -> Result<Check, SettingsError> {
    let Some(Node::Object(entry)) = fields.get(KEY) else {
        return Err(fields.error(Some(KEY), "must be an object with owner and optional repo"));
    };
    fields.reject_misspelled(entry, KEY, &["owner", "repo"])?;
    let owner = fields.entry_field(entry, KEY, "owner")?;
    let repo = match entry.get("repo") {
        None | Some(Node::Null) => None,
        Some(_) => Some(fields.entry_field(entry, KEY, "repo")?),
    };
    Ok(Check::GithubActions { owner, repo })
}

/// The host request verifying a signature of `image` by a workflow of `owner` (`repo`).
pub(super) fn request(
    owner: &str,
    repo: Option<&str>,
    context: &RequestContext<'_>,
) -> SigstoreVerificationInputV2 {
    SigstoreVerificationInputV2::SigstoreGithubActionsVerify {
        image: context.image.to_string(),
        owner: owner.to_string(),
        repo: repo.map(str::to_string),
        annotations: context.annotations.cloned(),
    }
}
