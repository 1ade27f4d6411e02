//! Who is calling: the auth file of API.md (`TOKEN operator`, `TOKEN shipper SHIPPER_ID` or
//! `TOKEN producer SOURCE…`, one per line) and the visibility rule every answer goes through.

use crate::error::QueryError;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Operator,
    Shipper(Arc<str>),
    /// A system that publishes events through `POST /v1/intake/{format}`, as these sources
    /// only; it reads nothing.
    Producer(Arc<[Arc<str>]>),
}

/// An authenticated caller. `name` identifies the token in logs without revealing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: Arc<str>,
    pub role: Role,
}

impl Caller {
    /// Whether a shipment (or an alert about one) of `shipper` may appear in this caller's
    /// answers: operators see everything, a shipper only records naming it as the shipper.
    pub fn sees(&self, shipper: Option<&str>) -> bool {
        match &self.role {
            Role::Operator => true,
            Role::Shipper(own) => shipper == Some(&**own),
            Role::Producer(_) => false,
        }
    }

    /// The sources a producer publishes as (empty for the other roles, which publish nothing).
    pub fn sources(&self) -> &[Arc<str>] {
        match &self.role {
            Role::Producer(sources) => sources,
            _ => &[],
        }
    }

    pub fn is_producer(&self) -> bool {
        matches!(self.role, Role::Producer(_))
    }

    pub fn is_operator(&self) -> bool {
        self.role == Role::Operator
    }

    pub fn role_name(&self) -> &'static str {
        match self.role {
            Role::Operator => "operator",
            Role::Shipper(_) => "shipper",
            Role::Producer(_) => "producer",
        }
    }

    pub fn shipper(&self) -> Option<&str> {
        match &self.role {
            Role::Shipper(shipper) => Some(shipper),
            Role::Operator | Role::Producer(_) => None,
        }
    }
}

/// The tokens a server accepts. Tokens are kept only as SHA-256 digests so that a lookup does
/// not compare secrets byte by byte.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    callers: HashMap<[u8; 32], Caller>,
}

impl Auth {
    /// Parses an auth file: blank lines and `#` comments are skipped; anything else must be
    /// `TOKEN operator`, `TOKEN shipper SHIPPER_ID` or `TOKEN producer SOURCE…` (one or more
    /// sources, separated by spaces or commas).
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let mut auth = Auth::default();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: &str| QueryError::AuthFile {
                line: index + 1,
                reason: reason.to_string(),
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            let role = match words.as_slice() {
                [_, "operator"] => Role::Operator,
                [_, "shipper", shipper] => Role::Shipper(Arc::from(*shipper)),
                [_, "shipper"] => return Err(bad("a shipper token needs a SHIPPER_ID")),
                [_, "producer", sources @ ..] => {
                    let sources: Vec<Arc<str>> = sources
                        .iter()
                        .flat_map(|words| words.split(','))
                        .filter(|source| !source.is_empty())
                        .map(Arc::from)
                        .collect();
                    if sources.is_empty() {
                        return Err(bad("a producer token needs the SOURCE(s) it publishes as"));
                    }
                    Role::Producer(sources.into())
                }
                [_, role, ..] if !["operator", "shipper"].contains(role) => {
                    return Err(bad(&format!(
                        "unknown role `{role}`: expected operator, shipper or producer"
                    )))
                }
                _ => {
                    return Err(bad(
                        "expected `TOKEN operator`, `TOKEN shipper SHIPPER_ID` or `TOKEN producer SOURCE…`",
                    ))
                }
            };
            let token = words[0];
            if token.len() < 8 {
                return Err(bad("token is shorter than 8 characters"));
            }
            let digest = digest(token);
            if auth.callers.contains_key(&digest) {
                return Err(bad("token appears twice"));
            }
            let name = Arc::from(format!("token-{}", &hex::encode(digest)[..8]));
            auth.callers.insert(digest, Caller { name, role });
        }
        if auth.callers.is_empty() {
            return Err(QueryError::AuthFile {
                line: 0,
                reason: "no tokens".to_string(),
            });
        }
        Ok(auth)
    }

    /// The caller of a bearer token, if the token is known.
    pub fn caller(&self, token: &str) -> Option<&Caller> {
        self.callers.get(&digest(token))
    }

    pub fn len(&self) -> usize {
        self.callers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.callers.is_empty()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_roles_and_rejects_bad_lines() {
        let auth = Auth::parse(
            "# demo\nop-secret-1 operator\n\nsh-secret-1 shipper SHIPPER-A\nsh-secret-2   shipper SHIPPER-B\n",
        )
        .unwrap();
        assert_eq!(auth.len(), 3);
        assert!(auth.caller("op-secret-1").unwrap().is_operator());
        let shipper = auth.caller("sh-secret-2").unwrap();
        assert_eq!(shipper.shipper(), Some("SHIPPER-B"));
        assert!(shipper.sees(Some("SHIPPER-B")));
        assert!(!shipper.sees(Some("SHIPPER-A")));
        assert!(!shipper.sees(None));
        assert!(auth.caller("unknown-token").is_none());
        assert!(!auth.caller("op-secret-1").unwrap().name.contains("secret"));

        let producer = Auth::parse("pr-secret-1 producer ZZYARD,zz-rail CGOFMCZ\n").unwrap();
        let producer = producer.caller("pr-secret-1").unwrap();
        assert!(producer.is_producer() && !producer.is_operator());
        let sources: Vec<&str> = producer.sources().iter().map(|s| &**s).collect();
        assert_eq!(sources, ["ZZYARD", "zz-rail", "CGOFMCZ"]);
        assert!(!producer.sees(Some("SHIPPER-A")) && !producer.sees(None));

        for (text, needle) in [
            ("tok-12345 producer", "needs the SOURCE(s)"),
            ("tok-12345 admin", "unknown role `admin`"),
            ("tok-12345 shipper", "needs a SHIPPER_ID"),
            ("short operator", "shorter than 8"),
            ("tok-12345 operator\ntok-12345 operator", "appears twice"),
            ("tok-12345", "expected `TOKEN operator`"),
            ("# nothing", "no tokens"),
        ] {
            let error = Auth::parse(text).unwrap_err().to_string();
            assert!(error.contains(needle), "{text:?}: {error}");
        }
    }
}
