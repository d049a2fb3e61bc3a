//! Why "no signatures found" when the image is signed after all: cosign v3 stores signatures as
//! a Sigstore bundle attached through OCI referrers, and the Kubewarden host verifies only the
//! legacy `<alg>-<hex>.sig` tag (protocol doc §4.1). Asked only after the host found no `.sig`
//! signature, so a verified image pays nothing. A registry without the referrers API keeps the
//! referrers in an index under the fallback tag `<alg>-<hex>` (OCI distribution spec, "referrers
//! tag schema"); that tag is what the host capabilities can see. A registry that serves the
//! referrers API has no such tag, and no host capability lists referrers: that case goes
//! unexplained (README, "Images signed in cosign v3's bundle format").

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::Value;

use crate::host::HostApi;
use crate::reference::ImageReference;

/// How the host words a missing `.sig` manifest (protocol doc §3.8).
const NO_SIGNATURES: &str = "no signatures found for image";
/// Annotation key prefix cosign puts on a bundle's referrer manifest and the fallback index
/// repeats on its entry (`dev.sigstore.bundle.content`, `dev.sigstore.bundle.predicateType`).
const BUNDLE_ANNOTATION_PREFIX: &str = "dev.sigstore.bundle";
/// Entries of the fallback index examined; the rest are not read.
const MAX_INDEX_ENTRIES: usize = 64;

/// How to sign so that a Kubewarden host finds the signature.
pub const HOW_TO_SIGN: &str = "the Kubewarden host verifies only signatures stored under the `.sig` tag: sign with `cosign sign --new-bundle-format=false --use-signing-config=false` (cosign v3) or with cosign v2";

/// What the registry holds beside the missing `.sig` tag, per image, read once per request.
pub struct BundleOnly<'a> {
    api: &'a HostApi<'a>,
    found: RefCell<HashMap<String, Option<String>>>,
}

impl<'a> BundleOnly<'a> {
    /// An explainer asking through `api`, with nothing looked up yet.
    pub fn new(api: &'a HostApi<'a>) -> Self {
        Self {
            api,
            found: RefCell::new(HashMap::new()),
        }
    }

    /// The host's `reason` for `image`, with the explanation appended when the `.sig` tag is
    /// missing but the fallback referrers tag exists. Any failure to look leaves it unchanged.
    pub fn explain(&self, image: &str, reason: String) -> String {
        if !reason.starts_with(NO_SIGNATURES) {
            return reason;
        }
        if let Some(known) = self.found.borrow().get(image) {
            return append(reason, known.as_deref());
        }
        let found = self.look(image);
        let explained = append(reason, found.as_deref());
        self.found.borrow_mut().insert(image.to_string(), found);
        explained
    }

    /// The explanation for `image`, or `None` when no fallback referrers tag is found.
    fn look(&self, image: &str) -> Option<String> {
        let digest = self.api.manifest_digest(image).ok()?;
        let reference = ImageReference::parse(image).ok()?;
        let name = match &reference.registry {
            Some(registry) => format!("{registry}/{}", reference.path),
            None => reference.path.clone(),
        };
        let tag = digest.replace(':', "-");
        let index = self.api.oci_manifest(&format!("{name}:{tag}")).ok()?;
        let what = match carries_bundle(&index) {
            true => "a Sigstore bundle (cosign v3's default format)",
            false => "OCI referrers (such as a cosign v3 bundle)",
        };
        Some(format!(
            "the image has {what} under the referrers tag {tag} but no `.sig` signature; {HOW_TO_SIGN}"
        ))
    }
}

fn append(reason: String, explanation: Option<&str>) -> String {
    match explanation {
        Some(explanation) => format!("{}; {explanation}", reason.trim_end()),
        None => reason,
    }
}

/// Whether a referrers index lists a manifest annotated as a Sigstore bundle.
fn carries_bundle(index: &Value) -> bool {
    let Some(entries) = index.get("manifests").and_then(Value::as_array) else {
        return false;
    };
    entries.iter().take(MAX_INDEX_ENTRIES).any(|entry| {
        entry
            .get("annotations")
            .and_then(Value::as_object)
            .is_some_and(|a| a.keys().any(|k| k.starts_with(BUNDLE_ANNOTATION_PREFIX)))
            || entry
                .get("artifactType")
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("application/vnd.dev.sigstore.bundle"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_bundle_entries() {
        let cases = [
            (json!({"manifests": []}), false),
            (json!({}), false),
            (
                json!({"manifests": [{"annotations": {"dev.sigstore.bundle.content": "message-signature"}}]}),
                true,
            ),
            (
                json!({"manifests": [{"artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"}]}),
                true,
            ),
            (
                json!({"manifests": [{"artifactType": "application/spdx+json"}]}),
                false,
            ),
        ];
        for (index, expected) in cases {
            assert_eq!(carries_bundle(&index), expected, "{index}");
        }
    }

    #[test]
    fn appends_only_with_an_explanation() {
        assert_eq!(
            append("no signatures found for image: a ".into(), None),
            "no signatures found for image: a "
        );
        assert_eq!(
            append("no signatures found for image: a ".into(), Some("why")),
            "no signatures found for image: a; why"
        );
    }
}
