//! A host that answers every call at random, the way a flaky or hostile engine might.

use std::cell::Cell;

use sigpin::host::Host;

use crate::rng::Rng;

pub struct RandomHost {
    rng: std::cell::RefCell<Rng>,
    verify_calls: Cell<usize>,
    verified: Cell<usize>,
}

impl RandomHost {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: std::cell::RefCell::new(Rng::new(seed)),
            verify_calls: Cell::new(0),
            verified: Cell::new(0),
        }
    }

    pub fn verify_calls(&self) -> usize {
        self.verify_calls.get()
    }

    /// How many verification answers said "trusted" with a well-formed digest.
    pub fn verified_count(&self) -> usize {
        self.verified.get()
    }

    fn digest(rng: &mut Rng) -> String {
        // A handful of digests so that rules sometimes agree and sometimes do not.
        let nibble = rng.pick(b"0123").map_or('0', |n| char::from(*n));
        format!("sha256:{}", nibble.to_string().repeat(64))
    }
}

impl Host for RandomHost {
    fn call(&self, namespace: &str, operation: &str, _payload: &[u8]) -> Result<Vec<u8>, String> {
        let mut rng = self.rng.borrow_mut();
        let is_verify = namespace == "oci" && operation == "v2/verify";
        if is_verify {
            self.verify_calls.set(self.verify_calls.get() + 1);
        }
        let answer = match rng.below(9) {
            0..=2 if is_verify => {
                self.verified.set(self.verified.get() + 1);
                format!(r#"{{"is_trusted":true,"digest":"{}"}}"#, Self::digest(&mut rng))
            }
            0..=2 => r#"{"trusted":true}"#.to_string(),
            3 => r#"{"is_trusted":true,"digest":"sha256:XYZ"}"#.to_string(),
            4 => r#"{"is_trusted":false,"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}"#.to_string(),
            5 => r#"{"trusted":false,"reason":"random"}"#.to_string(),
            6 => return Err("Callback evaluation failure: no matching signatures".into()),
            7 => String::from_utf8_lossy(&[0xff, 0x00, b'{']).into_owned(),
            _ => "[]".to_string(),
        };
        Ok(answer.into_bytes())
    }

    /// Around the fixtures' exemption dates, or no clock at all.
    fn now_unix_seconds(&self) -> Option<i64> {
        let mut rng = self.rng.borrow_mut();
        match rng.below(3) {
            0 => None,
            _ => Some(1_750_000_000 + rng.below(200_000_000) as i64),
        }
    }
}
