//! `exemptions`: digest-pinned images admitted without verification until a date. Only digests:
//! exempting a tag would exempt whatever is pushed under it next.

use super::tree::Node;

use super::dates::day_end_unix;
use super::{Exemption, SettingsError};
use crate::reference::ImageReference;

const FIELDS: [&str; 3] = ["image", "reason", "expires"];

pub fn parse_exemptions(value: Option<&Node<'_>>) -> Result<Vec<Exemption>, SettingsError> {
    let items = match value {
        None | Some(Node::Null) => return Ok(Vec::new()),
        Some(Node::Array(items)) => items,
        Some(_) => return Err(SettingsError::top("exemptions", "must be a list")),
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_one(index, item))
        .collect()
}

fn parse_one(index: usize, item: &Node<'_>) -> Result<Exemption, SettingsError> {
    let error = |field: &str, problem: String| {
        SettingsError::top(&format!("exemptions[{index}]{field}"), problem)
    };
    let Node::Object(entry) = item else {
        return Err(error(
            "",
            "must be an object with image, reason and expires".into(),
        ));
    };
    if let Some(unknown) = entry.keys().find(|k| !FIELDS.contains(k)) {
        return Err(error(
            &format!(".{unknown}"),
            "unknown field; expected one of image, reason, expires".into(),
        ));
    }
    let text = |key: &str| match entry.get(key) {
        Some(Node::String(s)) if !s.trim().is_empty() => Ok(s.to_string()),
        Some(Node::String(_)) => Err(error(&format!(".{key}"), "must not be empty".into())),
        None | Some(Node::Null) => Err(error(&format!(".{key}"), "is required".into())),
        Some(_) => Err(error(&format!(".{key}"), "must be a string".into())),
    };
    let image = text("image")?;
    let reason = text("reason")?;
    let expires = text("expires")?;
    let reference = ImageReference::parse(&image)
        .map_err(|e| error(".image", format!("not a valid image reference: {e}")))?;
    let Some(content_address) = reference.content_address() else {
        return Err(error(
            ".image",
            "must name a digest (repo@sha256:…): a tag can be re-pushed, so exempting it exempts whatever comes next".into(),
        ));
    };
    let expires_at = day_end_unix(&expires).ok_or_else(|| {
        error(
            ".expires",
            format!("{expires:?} is not a date (YYYY-MM-DD)"),
        )
    })?;
    Ok(Exemption {
        index,
        content_address,
        image,
        reason,
        expires,
        expires_at,
    })
}
