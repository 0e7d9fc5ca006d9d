//! Operations: each applies domain rules to the store in one change. The CLI and the HTTP
//! API both call these, so a workflow behaves the same whichever way it is reached.

pub mod admin;
pub mod connections;
pub mod numbers;
pub mod secrets;
pub mod tokens;

use chrono::{DateTime, Utc};

use crate::domain::workflows::Refused;
use crate::store::{Store, StoreError};

/// An operation's failure: one line saying what, which input, and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// The input is wrong; nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// The thing named does not exist.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refused> for OpError {
    fn from(r: Refused) -> Self {
        OpError::Invalid(r.0)
    }
}

pub type OpResult<T> = Result<T, OpError>;

/// Who acts, when, on which store.
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub now: DateTime<Utc>,
    pub actor: String,
}

impl<'a> Ctx<'a> {
    pub fn new(store: &'a Store, now: DateTime<Utc>, actor: impl Into<String>) -> Self {
        Ctx {
            store,
            now,
            actor: actor.into(),
        }
    }
}
