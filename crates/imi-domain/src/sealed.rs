//! Sealed personal data, as events carry it.
//!
//! Personal data never lands in an event in the clear: it travels as a [`Sealed`] value,
//! encrypted (AES-256-GCM) under the data key of its exchange. The key id is the exchange's id
//! (for example `InformationRequest/<uuid>`); deleting that key in the store erases the
//! exchange's personal data everywhere at once (crypto-shredding) while the event log stays
//! immutable.
//!
//! This module is the pure value type: no cryptography, no I/O. Sealing and opening live in
//! `imi_store::sealing`. The nonce and the ciphertext are kept as base64 text so the domain
//! needs no base64 or crypto dependency.
//!
//! The serialized shape is part of the event format and therefore forever:
//! `{"key": "...", "alg": "A256GCM", "nonce": "<base64>", "ct": "<base64, tag included>"}`.

use serde::{Deserialize, Serialize};

/// The algorithm identifier of AES-256-GCM (96-bit nonce, 128-bit tag appended to the
/// ciphertext), the only algorithm in use today.
pub const A256GCM: &str = "A256GCM";

/// A value encrypted under the data key `key_id`.
///
/// `Debug` shows the ciphertext, never the clear value: the type holds none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The data key's id: the id of the exchange the value belongs to. It is also the
    /// additional authenticated data, so a value cannot be moved to another exchange's key.
    #[serde(rename = "key")]
    pub key_id: String,
    /// The algorithm, [`A256GCM`].
    pub alg: String,
    /// The nonce, standard base64 (12 bytes for [`A256GCM`]).
    pub nonce: String,
    /// The ciphertext with its authentication tag appended, standard base64.
    #[serde(rename = "ct")]
    pub ciphertext: String,
}

impl Sealed {
    /// The exchange (data key) this value is sealed under.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

/// The generation of data key `key_id` of exchange `base`: 1 for `base` itself, n for
/// `base#n` (n >= 2, the key an erasure of one person among several re-sealed the others'
/// values under); `None` for a key of anything else.
pub fn key_generation(key_id: &str, base: &str) -> Option<u32> {
    if key_id == base {
        return Some(1);
    }
    let n: u32 = key_id.strip_prefix(base)?.strip_prefix('#')?.parse().ok()?;
    (n >= 2 && key_id == generation_key(base, n)).then_some(n)
}

/// The id of generation `n` of exchange `base`'s data key.
pub fn generation_key(base: &str, n: u32) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}#{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_generation_belongs_to_its_exchange_only() {
        let base = "InformationRequest/r1";
        assert_eq!(key_generation(base, base), Some(1));
        assert_eq!(key_generation("InformationRequest/r1#2", base), Some(2));
        assert_eq!(key_generation("InformationRequest/r1#12", base), Some(12));
        for other in [
            "InformationRequest/r12",
            "InformationRequest/r1#1",
            "InformationRequest/r1#02",
            "InformationRequest/r1#x",
            "InformationRequest/r1#",
            "Alert/r1#2",
        ] {
            assert_eq!(key_generation(other, base), None, "{other}");
        }
        assert_eq!(generation_key(base, 1), base);
        assert_eq!(generation_key(base, 3), "InformationRequest/r1#3");
    }

    #[test]
    fn serializes_with_short_field_names() {
        let sealed = Sealed {
            key_id: "InformationRequest/0191".into(),
            alg: A256GCM.into(),
            nonce: "bm9uY2U=".into(),
            ciphertext: "Y3Q=".into(),
        };
        let json = serde_json::to_value(&sealed).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "key": "InformationRequest/0191",
                "alg": "A256GCM",
                "nonce": "bm9uY2U=",
                "ct": "Y3Q="
            })
        );
        let back: Sealed = serde_json::from_value(json).unwrap();
        assert_eq!(back, sealed);
        assert_eq!(back.key_id(), "InformationRequest/0191");
    }
}
