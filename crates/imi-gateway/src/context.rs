//! What one request (or one websocket connection) brings along besides its GraphQL document:
//! who sends it, in which language they read, and how its writes tie to the client's request.

use crate::auth::{Authentication, Principal};
use crate::errors::ApiError;
use imi_domain::reference::Language;
use imi_store::metadata::CommandMetadata;

/// The language used when the caller names none that IMI knows.
pub const DEFAULT_LANGUAGE: &str = "en";
/// Longest idempotency key or correlation id accepted, in bytes.
pub const MAX_CLIENT_ID_BYTES: usize = 200;

#[derive(Clone, Debug)]
pub struct RequestContext {
    pub auth: Authentication,
    /// From `Accept-Language`, else English.
    pub language: Language,
    /// The client's `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The client's `X-Correlation-Id` header, when it sent a usable one.
    pub correlation_id: Option<String>,
    /// The peer address sign-ins are throttled by ([`client_address`]).
    pub client_address: String,
}

impl RequestContext {
    pub fn principal(&self) -> Result<&Principal, ApiError> {
        self.auth.require()
    }

    /// Metadata for a command sent on behalf of `principal` in this request.
    pub fn metadata(&self, principal: &Principal) -> CommandMetadata {
        let mut metadata = CommandMetadata::for_actor(&principal.actor())
            .with_idempotency_key(self.idempotency_key.clone());
        if let Some(correlation_id) = &self.correlation_id {
            metadata.correlation_id = correlation_id.clone();
        }
        metadata
    }
}

/// The default language.
pub fn default_language() -> Language {
    Language::parse(DEFAULT_LANGUAGE).expect("English is an official EU language")
}

/// The caller's language from an `Accept-Language` header: the official EU language with the
/// highest weight (`fr-BE` counts as `fr`; `*`, unknown languages and `q=0` are skipped).
pub fn negotiate_language(header: Option<&str>) -> Option<Language> {
    let header = header?;
    let mut best: Option<(f32, usize, Language)> = None;
    for (index, item) in header.split(',').enumerate().take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let mut q = 1.0f32;
        for param in parts {
            if let Some(value) = param.trim().strip_prefix("q=") {
                q = value.trim().parse().unwrap_or(0.0);
            }
        }
        if q.is_nan() || q <= 0.0 {
            continue;
        }
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        if primary.len() != 2 {
            continue;
        }
        let Ok(language) = Language::parse(primary) else {
            continue;
        };
        // Highest weight wins; among equals, the first listed.
        let better = match &best {
            None => true,
            Some((best_q, best_index, _)) => q > *best_q || (q == *best_q && index < *best_index),
        };
        if better {
            best = Some((q, index, language));
        }
    }
    best.map(|(_, _, language)| language)
}

/// The address failed sign-ins are counted by: the connection's peer (forwarding headers are
/// not trusted: any client could set them), an IPv6 peer by its /64 (one subscriber usually
/// holds a whole /64), `unknown` when the server was not given peer addresses.
pub fn client_address(peer: Option<std::net::SocketAddr>) -> String {
    use std::net::IpAddr;
    match peer.map(|p| p.ip()) {
        None => "unknown".to_string(),
        Some(IpAddr::V4(ip)) => ip.to_string(),
        Some(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = ip.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A client-chosen identifier (idempotency key, correlation id): visible ASCII, bounded.
pub fn valid_client_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_CLIENT_ID_BYTES
        && value.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(header: &str) -> Option<String> {
        negotiate_language(Some(header)).map(|l| l.code().to_string())
    }

    #[test]
    fn accept_language_picks_the_best_official_language() {
        assert_eq!(code("fr-BE,fr;q=0.9,en;q=0.8").as_deref(), Some("fr"));
        assert_eq!(code("en;q=0.5, de;q=0.9").as_deref(), Some("de"));
        assert_eq!(code("nb, de;q=0.1").as_deref(), Some("de"));
        assert_eq!(code("*"), None);
        assert_eq!(code("fr;q=0, xx"), None);
        assert_eq!(code("de;q=abc"), None);
        assert_eq!(negotiate_language(None), None);
        assert_eq!(default_language().code(), "en");
    }

    #[test]
    fn client_addresses_group_ipv6_by_64() {
        let addr = |s: &str| Some(s.parse::<std::net::SocketAddr>().unwrap());
        assert_eq!(client_address(addr("192.0.2.7:5000")), "192.0.2.7");
        assert_eq!(
            client_address(addr("[2001:db8:1:2:3:4:5:6]:443")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(client_address(addr("[::ffff:192.0.2.7]:1")), "192.0.2.7");
        assert_eq!(client_address(None), "unknown");
    }

    #[test]
    fn client_ids_are_bounded_visible_ascii() {
        assert!(valid_client_id("4f1c-key_1"));
        assert!(!valid_client_id(""));
        assert!(!valid_client_id("with space"));
        assert!(!valid_client_id("é"));
        assert!(!valid_client_id(&"k".repeat(201)));
    }
}
