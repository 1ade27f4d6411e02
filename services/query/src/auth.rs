//! Who is calling: the auth file of API.md (`TOKEN operator` or `TOKEN shipper SHIPPER_ID`, one
//! per line) and the visibility rule every answer goes through.

use crate::error::QueryError;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Operator,
    Shipper(Arc<str>),
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
        }
    }

    pub fn is_operator(&self) -> bool {
        self.role == Role::Operator
    }

    pub fn role_name(&self) -> &'static str {
        match self.role {
            Role::Operator => "operator",
            Role::Shipper(_) => "shipper",
        }
    }

    pub fn shipper(&self) -> Option<&str> {
        match &self.role {
            Role::Operator => None,
            Role::Shipper(shipper) => Some(shipper),
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
    /// `TOKEN operator` or `TOKEN shipper SHIPPER_ID`.
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
                [_, role, ..] if *role != "operator" && *role != "shipper" => {
                    return Err(bad(&format!(
                        "unknown role `{role}`: expected operator or shipper"
                    )))
                }
                _ => {
                    return Err(bad(
                        "expected `TOKEN operator` or `TOKEN shipper SHIPPER_ID`",
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

        for (text, needle) in [
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
