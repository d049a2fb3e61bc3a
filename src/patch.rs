//! Rewrites → the mutated object. The request's own object is edited in place, image strings
//! only: no typed round trip, so fields unknown to any Kubernetes library survive untouched.

use serde_json::Value;

use crate::outcome::Rewrite;

/// The request's object with each rewrite's image written at its pointer. The object is
/// edited where it is: it was parsed for this alone, so no copy of it is made.
pub fn mutated_object(mut mutated: Value, rewrites: &[Rewrite]) -> Result<Value, String> {
    for Rewrite { pointer, image } in rewrites {
        let slot = mutated
            .pointer_mut(pointer)
            .ok_or_else(|| format!("internal error: {pointer} vanished from the object"))?;
        *slot = Value::String(image.clone());
    }
    Ok(mutated)
}
