//! Automatic persisted queries, Apollo's protocol: a client sends
//! `extensions.persistedQuery = {version: 1, sha256Hash}` with or without the query.
//!
//! - Without the query, the hash is looked up; unknown: an error with
//!   `extensions.code = PERSISTED_QUERY_NOT_FOUND` and message `PersistedQueryNotFound`, on which
//!   Apollo clients resend with the query.
//! - With the query, its SHA-256 must be the hash (else BAD_USER_INPUT,
//!   `PERSISTED_QUERY_HASH_MISMATCH`); it is stored once it has run without a request error
//!   (it parsed, passed the guards and validated), so a refused document is never stored.
//!
//! Only the text is resolved here: a looked-up query runs exactly as a sent one, through every
//! guard of [`crate::guard`] and the introspection switch. The store is this process's own,
//! bounded (least recently used out first) by [`MAX_ENTRIES`] and [`MAX_BYTES`]; several
//! gateways each keep theirs, a miss only makes the client send the query once more.

use crate::errors::{reason, ApiError};
use lru::LruCache;
use sha2::{Digest, Sha256};
use std::num::NonZeroUsize;
use std::sync::Mutex;

/// Most queries kept.
pub const MAX_ENTRIES: usize = 10_000;
/// Most bytes of query text kept (whichever bound is reached first evicts).
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

/// `extensions.code` of an unknown hash, as Apollo clients expect it.
pub const NOT_FOUND_CODE: &str = "PERSISTED_QUERY_NOT_FOUND";
/// The message Apollo clients also recognise.
pub const NOT_FOUND_MESSAGE: &str = "PersistedQueryNotFound";
pub const HASH_MISMATCH: &str = "PERSISTED_QUERY_HASH_MISMATCH";
pub const NOT_SUPPORTED: &str = "PERSISTED_QUERY_NOT_SUPPORTED";

/// A query's SHA-256.
pub type Hash = [u8; 32];

/// The queries this process has seen by hash.
pub struct PersistedQueries {
    inner: Mutex<Inner>,
}

struct Inner {
    queries: LruCache<Hash, String>,
    bytes: usize,
}

impl Default for PersistedQueries {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                queries: LruCache::new(NonZeroUsize::new(MAX_ENTRIES).expect("not zero")),
                bytes: 0,
            }),
        }
    }
}

/// The query a request runs, and whether to store it once it ran.
#[derive(Debug)]
pub enum Resolved {
    /// No persisted query asked for: the query sent, if any.
    Plain(Option<String>),
    /// The query the hash names (sent, or found in the store).
    Persisted { query: String, store: Option<Hash> },
    /// An unknown hash and no query: the client should resend with it.
    NotFound,
}

impl PersistedQueries {
    /// The query a request with `query` and `extensions` runs.
    pub fn resolve(
        &self,
        query: Option<String>,
        extensions: Option<&serde_json::Value>,
    ) -> Result<Resolved, ApiError> {
        let Some(persisted) = extensions.and_then(|e| e.get("persistedQuery")) else {
            return Ok(Resolved::Plain(query));
        };
        if persisted.get("version").and_then(serde_json::Value::as_u64) != Some(1) {
            return Err(
                ApiError::bad_input("only version 1 of persisted queries is supported")
                    .with_reason(NOT_SUPPORTED),
            );
        }
        let hash = persisted
            .get("sha256Hash")
            .and_then(serde_json::Value::as_str)
            .and_then(parse_hash)
            .ok_or_else(|| {
                ApiError::bad_input("persistedQuery.sha256Hash must be 64 hexadecimal digits")
                    .with_reason(reason::MALFORMED_REQUEST)
            })?;
        match query {
            Some(query) => {
                if Sha256::digest(query.as_bytes()).as_slice() != hash {
                    return Err(ApiError::bad_input(
                        "persistedQuery.sha256Hash is not the SHA-256 of the query",
                    )
                    .with_reason(HASH_MISMATCH));
                }
                let known = self.lock().queries.contains(&hash);
                let store = (!known).then_some(hash);
                Ok(Resolved::Persisted { query, store })
            }
            None => Ok(match self.lock().queries.get(&hash) {
                Some(query) => Resolved::Persisted {
                    query: query.clone(),
                    store: None,
                },
                None => Resolved::NotFound,
            }),
        }
    }

    /// Keeps `query` under `hash`, evicting the least recently used past the bounds.
    pub fn store(&self, hash: Hash, query: String) {
        if query.len() > MAX_BYTES {
            return;
        }
        let mut inner = self.lock();
        inner.bytes += query.len();
        if let Some((_, old)) = inner.queries.push(hash, query) {
            inner.bytes -= old.len();
        }
        while inner.bytes > MAX_BYTES {
            match inner.queries.pop_lru() {
                Some((_, old)) => inner.bytes -= old.len(),
                None => break,
            }
        }
    }

    /// How many queries are kept.
    pub fn len(&self) -> usize {
        self.lock().queries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a consistent map: keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn parse_hash(text: &str) -> Option<Hash> {
    if text.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(hash)
}

/// The hexadecimal SHA-256 of `query`, as clients send it.
pub fn sha256_hex(query: &str) -> String {
    Sha256::digest(query.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ext(hash: &str) -> serde_json::Value {
        json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
    }

    #[test]
    fn stores_looks_up_and_refuses_a_wrong_hash() {
        let store = PersistedQueries::default();
        let query = "{ __typename }";
        let hash = sha256_hex(query);
        assert!(matches!(
            store.resolve(None, Some(&ext(&hash))),
            Ok(Resolved::NotFound)
        ));
        let Ok(Resolved::Persisted {
            store: Some(key), ..
        }) = store.resolve(Some(query.into()), Some(&ext(&hash)))
        else {
            panic!("not resolved")
        };
        store.store(key, query.into());
        assert!(matches!(
            store.resolve(None, Some(&ext(&hash.to_uppercase()))),
            Ok(Resolved::Persisted { store: None, .. })
        ));
        let wrong = store
            .resolve(Some("{ other }".into()), Some(&ext(&hash)))
            .unwrap_err();
        assert_eq!(wrong.reason, Some(HASH_MISMATCH));
        let version = json!({"persistedQuery": {"version": 2, "sha256Hash": hash}});
        assert_eq!(
            store.resolve(None, Some(&version)).unwrap_err().reason,
            Some(NOT_SUPPORTED)
        );
        assert!(store.resolve(None, Some(&ext("zz"))).is_err());
    }

    #[test]
    fn bounded_by_bytes_too() {
        let store = PersistedQueries::default();
        let big = "x".repeat(MAX_BYTES / 2 + 1);
        store.store([1; 32], big.clone());
        store.store([2; 32], big);
        assert_eq!(store.len(), 1);
    }
}
