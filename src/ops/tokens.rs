//! API tokens: create (the secret is shown once), list, revoke, and check a presented token.
//!
//! Only the SHA-256 of a token is stored (as an `Entity::Token` row, so creation and
//! revocation are in the change log); the token itself never reaches the store, the log,
//! an API answer or tracing output.

use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use ring::rand::SecureRandom as _;
use serde::{Deserialize, Serialize};

use crate::domain::entry::time_ms;
use crate::store::{Entity, Reader, TxRecord};

use super::{Ctx, OpError, OpResult};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Everything.
    Admin,
    /// Reads only.
    Read,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Read => "read",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "read" => Some(Role::Read),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored token: its name, role and the SHA-256 of the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub name: String,
    pub role: Role,
    pub sha256: [u8; 32],
    #[serde(with = "time_ms")]
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// Who a presented token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

impl Principal {
    /// The actor recorded on the events this token causes.
    pub fn actor(&self) -> String {
        format!("api:{}", self.name)
    }
}

/// Every token starts with this, so a leaked one is easy to recognise in a scan.
pub const TOKEN_PREFIX: &str = "numinv_";
/// Longest token name.
pub const NAME_LEN_MAX: usize = 64;
/// A presented token longer than this is refused without hashing it.
pub const TOKEN_LEN_MAX: usize = 256;

/// SHA-256 of a token.
pub fn token_hash(token: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn check_name(name: &str) -> OpResult<()> {
    let ok = !name.is_empty()
        && name.len() <= NAME_LEN_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(OpError::Invalid(format!(
            "token name {name:?} is not valid; use 1 to {NAME_LEN_MAX} letters, digits, '-', '_' or '.'"
        )))
    }
}

/// Creates a token and returns its secret (shown once) with the change record.
pub fn create(ctx: &Ctx<'_>, name: &str, role: Role) -> OpResult<(String, Option<TxRecord>)> {
    check_name(name)?;
    let mut raw = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut raw)
        .map_err(|_| OpError::Invalid("cannot read random bytes for the token".into()))?;
    let secret = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    );
    let record = TokenRecord {
        name: name.to_string(),
        role,
        sha256: token_hash(&secret),
        created_at: ctx.now,
        created_by: ctx.actor.clone(),
    };
    let written = ctx.store.write("tokens.create", &ctx.actor, ctx.now, |w| {
        if w.get::<TokenRecord>(Entity::Token, name.as_bytes())?
            .is_some()
        {
            return Err(OpError::Invalid(format!(
                "token {name} already exists; revoke it first or pick another name"
            )));
        }
        w.put(Entity::Token, name.as_bytes(), &record)?;
        w.tx.count("created", 1);
        Ok(())
    })?;
    Ok((secret, written.tx))
}

/// Every token, by name (hashes included; callers show only name, role and dates).
pub fn list(reader: &Reader) -> OpResult<Vec<TokenRecord>> {
    Ok(reader
        .scan::<TokenRecord>(Entity::Token, b"")?
        .into_iter()
        .map(|(_, t)| t)
        .collect())
}

/// Removes a token; requests carrying it are refused from then on.
pub fn revoke(ctx: &Ctx<'_>, name: &str) -> OpResult<Option<TxRecord>> {
    let written = ctx.store.write("tokens.revoke", &ctx.actor, ctx.now, |w| {
        if w.get::<TokenRecord>(Entity::Token, name.as_bytes())?
            .is_none()
        {
            return Err(OpError::NotFound(format!(
                "token {name} does not exist; see `numinv tokens list`"
            )));
        }
        w.delete(Entity::Token, name.as_bytes())?;
        w.tx.count("revoked", 1);
        Ok(())
    })?;
    Ok(written.tx)
}

/// The owner of a presented token, if any token matches. Hashes are compared rather than
/// secrets, so the comparison time reveals nothing usable about the secret.
pub fn authenticate(reader: &Reader, token: &str) -> OpResult<Option<Principal>> {
    if token.is_empty() || token.len() > TOKEN_LEN_MAX {
        return Ok(None);
    }
    let hash = token_hash(token);
    Ok(list(reader)?
        .into_iter()
        .find(|t| t.sha256 == hash)
        .map(|t| Principal {
            name: t.name,
            role: t.role,
        }))
}
