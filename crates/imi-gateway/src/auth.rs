//! Bearer tokens: HS256 JWTs the gateway signs at login and checks on every request.
//!
//! Claims: `sub` (user id), `authority` (the user's authority), `iat`, `exp` (12 hours after
//! `iat`), `jti` (a random id, so a future revocation list can name one token) and `iss`
//! (`imi`). A token that is missing, malformed, forged or expired never fails a request as a
//! whole: the fields that need a signed-in user answer UNAUTHENTICATED, the others (`login`)
//! still work.

use crate::errors::{reason, ApiError};
use chrono::{DateTime, Duration, TimeZone, Utc};
use imi_domain::actor::Actor;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// How long a token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::hours(12);
/// Issuer of every token.
const ISSUER: &str = "imi";
/// Clock difference tolerated between gateway replicas, in seconds.
const LEEWAY_SECONDS: u64 = 5;
/// Longest token accepted, in bytes (a real one is about 300).
const MAX_TOKEN_BYTES: usize = 4096;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    authority: String,
    iat: i64,
    exp: i64,
    jti: String,
    iss: String,
}

/// A signed-in user, from a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub authority_id: String,
    pub expires_at: DateTime<Utc>,
    pub token_id: String,
}

impl Principal {
    /// The domain's view of who acts.
    pub fn actor(&self) -> Actor {
        Actor::User {
            user_id: self.user_id.clone(),
            authority_id: self.authority_id.clone(),
        }
    }
}

/// Why a presented token was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRejected {
    Expired,
    /// Malformed, forged (wrong signature), wrong algorithm or issuer, or missing claims.
    Invalid,
}

/// What a request says about who sends it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Authentication {
    /// No token was sent.
    #[default]
    Anonymous,
    Authenticated(Principal),
    Rejected(TokenRejected),
}

impl Authentication {
    /// From the value of an `Authorization` header (or the same key of a websocket's
    /// `connection_init` payload).
    pub fn from_authorization(secret: &[u8], value: Option<&str>) -> Self {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Authentication::Anonymous;
        };
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Authentication::Rejected(TokenRejected::Invalid),
        };
        match verify(secret, token, Utc::now()) {
            Ok(principal) => Authentication::Authenticated(principal),
            Err(why) => Authentication::Rejected(why),
        }
    }

    /// The signed-in user, or the UNAUTHENTICATED error a protected field answers with.
    pub fn require(&self) -> Result<&Principal, ApiError> {
        match self {
            Authentication::Authenticated(p) if p.expires_at > Utc::now() => Ok(p),
            Authentication::Authenticated(_) | Authentication::Rejected(TokenRejected::Expired) => {
                Err(ApiError::unauthenticated(
                    "the token has expired: sign in again",
                    reason::TOKEN_EXPIRED,
                ))
            }
            Authentication::Rejected(TokenRejected::Invalid) => Err(ApiError::unauthenticated(
                "the token is not valid: sign in again",
                reason::TOKEN_INVALID,
            )),
            Authentication::Anonymous => Err(ApiError::unauthenticated(
                "sign in first: send `Authorization: Bearer <token>`",
                reason::TOKEN_MISSING,
            )),
        }
    }
}

/// A new token for a user, and when it expires.
pub fn issue(
    secret: &[u8],
    user_id: &str,
    authority_id: &str,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), jsonwebtoken::errors::Error> {
    let expires_at = now + TOKEN_LIFETIME;
    let claims = Claims {
        sub: user_id.to_string(),
        authority: authority_id.to_string(),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
        jti: uuid::Uuid::new_v4().to_string(),
        iss: ISSUER.to_string(),
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )?;
    Ok((token, expires_at))
}

/// Checks a token's signature, algorithm, issuer and expiry at `now`.
pub fn verify(secret: &[u8], token: &str, now: DateTime<Utc>) -> Result<Principal, TokenRejected> {
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(TokenRejected::Invalid);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
    // Expiry is checked below against `now`, so tests can move the clock.
    validation.validate_exp = false;
    let data =
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenRejected::Expired,
                _ => TokenRejected::Invalid,
            })?;
    let claims = data.claims;
    if claims.exp.saturating_add(LEEWAY_SECONDS as i64) <= now.timestamp() {
        return Err(TokenRejected::Expired);
    }
    if claims.sub.is_empty() || claims.authority.is_empty() {
        return Err(TokenRejected::Invalid);
    }
    let expires_at = Utc
        .timestamp_opt(claims.exp, 0)
        .single()
        .ok_or(TokenRejected::Invalid)?;
    Ok(Principal {
        user_id: claims.sub,
        authority_id: claims.authority,
        expires_at,
        token_id: claims.jti,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_token_round_trips() {
        let now = Utc::now();
        let (token, exp) = issue(SECRET, "u-1", "a-1", now).unwrap();
        assert_eq!(exp, now + TOKEN_LIFETIME);
        let p = verify(SECRET, &token, now).unwrap();
        assert_eq!(
            (p.user_id.as_str(), p.authority_id.as_str()),
            ("u-1", "a-1")
        );
        assert_eq!(p.expires_at.timestamp(), exp.timestamp());
    }

    #[test]
    fn forged_expired_and_malformed_tokens_are_refused() {
        let now = Utc::now();
        let (token, _) = issue(SECRET, "u-1", "a-1", now).unwrap();
        assert_eq!(
            verify(b"another secret of the same length!", &token, now),
            Err(TokenRejected::Invalid)
        );
        assert_eq!(
            verify(SECRET, &token, now + TOKEN_LIFETIME + Duration::minutes(1)),
            Err(TokenRejected::Expired)
        );
        for junk in ["", "abc", "a.b.c", "ey.ey.ey", &"x".repeat(10_000)] {
            assert_eq!(
                verify(SECRET, junk, now),
                Err(TokenRejected::Invalid),
                "{junk}"
            );
        }
        // A token signed with "none" is refused.
        let unsigned = format!(
            "{}.{}.",
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0",
            token.split('.').nth(1).unwrap()
        );
        assert_eq!(verify(SECRET, &unsigned, now), Err(TokenRejected::Invalid));
    }

    #[test]
    fn the_header_needs_the_bearer_scheme() {
        let (token, _) = issue(SECRET, "u-1", "a-1", Utc::now()).unwrap();
        assert!(matches!(
            Authentication::from_authorization(SECRET, Some(&format!("Bearer {token}"))),
            Authentication::Authenticated(_)
        ));
        assert_eq!(
            Authentication::from_authorization(SECRET, Some(&format!("Basic {token}"))),
            Authentication::Rejected(TokenRejected::Invalid)
        );
        assert_eq!(
            Authentication::from_authorization(SECRET, None),
            Authentication::Anonymous
        );
    }
}
