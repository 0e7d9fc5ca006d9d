//! Table definitions. Only `store` touches redb.

use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// Bytes-keyed, bytes-valued: every logged table has this shape, so one code path applies
/// a change to any of them, live or in replay.
pub type Bytes = &'static [u8];

/// The tables whose every change is an event in the log. Replaying the log rebuilds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Entity {
    Entry,
    RegisteredUser,
    Connection,
    Schedule,
    Macro,
    Setting,
    Transaction,
    Token,
}

impl Entity {
    pub const ALL: [Entity; 8] = [
        Entity::Entry,
        Entity::RegisteredUser,
        Entity::Connection,
        Entity::Schedule,
        Entity::Macro,
        Entity::Setting,
        Entity::Transaction,
        Entity::Token,
    ];

    /// The redb table holding this entity.
    pub fn table(self) -> TableDefinition<'static, Bytes, Bytes> {
        TableDefinition::new(self.table_name())
    }

    pub fn table_name(self) -> &'static str {
        match self {
            Entity::Entry => "entries",
            Entity::RegisteredUser => "registered_users",
            Entity::Connection => "connections",
            Entity::Schedule => "schedules",
            Entity::Macro => "macros",
            Entity::Setting => "settings",
            Entity::Transaction => "transactions",
            Entity::Token => "tokens",
        }
    }

    /// The name used in `log show` and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Entry => "entry",
            Entity::RegisteredUser => "registered_user",
            Entity::Connection => "connection",
            Entity::Schedule => "schedule",
            Entity::Macro => "macro",
            Entity::Setting => "setting",
            Entity::Transaction => "transaction",
            Entity::Token => "token",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// The change log: sequence → `[version] ++ postcard(EventRecord) ++ sha256`.
pub const EVENTS: TableDefinition<u64, Bytes> = TableDefinition::new("events");
/// Derived: `[status code] ++ entry key` for every entry.
pub const STATUS_IDX: TableDefinition<Bytes, ()> = TableDefinition::new("idx_status");
/// Derived: `release day (i32 BE, sign-flipped) ++ entry key` for entries with a release date.
pub const RELEASE_IDX: TableDefinition<Bytes, ()> = TableDefinition::new("idx_release");
/// Derived: `[entity] ++ key ++ 0 ++ seq BE`: the events of one entity, in order.
pub const HISTORY_IDX: TableDefinition<Bytes, ()> = TableDefinition::new("idx_history");
/// Derived: `number key ++ 0 ++ connection ++ 0 ++ user key` for every online, mapped
/// registered user: "is this number held?" is one prefix lookup (reference counting).
pub const HOLDERS_IDX: TableDefinition<Bytes, ()> = TableDefinition::new("idx_holders");
/// Connection secrets, encrypted; outside the log on purpose (secrets never enter it).
pub const SECRETS: TableDefinition<&'static str, Bytes> = TableDefinition::new("secrets");
/// Runs that failed and changed nothing; kept outside the log on purpose (see ARCHITECTURE.md).
pub const FAILED_RUNS: TableDefinition<u64, Bytes> = TableDefinition::new("failed_runs");
/// Head of the chain and counters.
pub const META: TableDefinition<&'static str, Bytes> = TableDefinition::new("meta");

pub const META_HEAD: &str = "head";
pub const META_NEXT_TX: &str = "next_tx";
