//! An ARM connection (DESIGN §4.1) and its schedule, as stored. The password lives
//! elsewhere, encrypted; these records never hold a secret.

use serde::{Deserialize, Serialize};

/// How numinv authenticates to the ARM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum AuthMethod {
    Basic,
    Session,
    Oauth,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Basic => "basic",
            AuthMethod::Session => "session",
            AuthMethod::Oauth => "oauth",
        }
    }
}

/// A connection to one ARM host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub name: String,
    /// `https://host:port` (or `http://` when the administrator says so).
    pub url: String,
    pub base_path: String,
    pub username: String,
    pub auth_method: AuthMethod,
    /// OAuth only: token URL (absolute, or a path on the ARM host), client id, scope.
    pub token_url: Option<String>,
    pub scope: Option<String>,
    /// PEM of a CA (or the device's own certificate) to trust.
    pub ca_pem: Option<String>,
    /// Lowercase hex SHA-256 of the device certificate to pin.
    pub pin_sha256: Option<String>,
    pub hierarchy: String,
    /// Region for national numbers, e.g. `GB`.
    pub region: Option<String>,
    pub sync_on_save: bool,
    pub page_size: u32,
    pub timeout_ms: u64,
}

/// Name prefixes of the jobs and schedule a connection owns.
pub const SYNC_JOB_PREFIX: &str = "SyncAudioCodes__";
pub const PURGE_JOB_PREFIX: &str = "PurgeAudioCodes__";
pub const SCHEDULE_PREFIX: &str = "ScheduleAudioCodes__";

impl Connection {
    pub fn sync_job(&self) -> String {
        format!("{SYNC_JOB_PREFIX}{}", self.name)
    }
    pub fn purge_job(&self) -> String {
        format!("{PURGE_JOB_PREFIX}{}", self.name)
    }
    pub fn schedule_name(&self) -> String {
        format!("{SCHEDULE_PREFIX}{}", self.name)
    }
    /// The actor recorded on a sync's events.
    pub fn actor(&self) -> String {
        format!("sync:{}", self.name)
    }
}

/// Checks a connection name: it becomes part of job names and keys.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "connection name {name:?} must be 1 to 64 letters, digits, '-', '_' or '.'"
        ))
    }
}

/// A periodic sync of one connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub name: String,
    pub connection: String,
    pub every_s: u64,
    pub active: bool,
}

/// Default interval of a new schedule.
pub const SCHEDULE_EVERY_S_DEFAULT: u64 = 15 * 60;
/// Shortest interval a schedule accepts.
pub const SCHEDULE_EVERY_S_MIN: u64 = 10;

/// Parses `90s`, `15m`, `2h`, `1d` (or plain seconds).
pub fn parse_interval(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("interval {s:?}: use a number with s, m, h or d, e.g. 15m"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(format!("interval {s:?}: unit must be s, m, h or d")),
    };
    if secs < SCHEDULE_EVERY_S_MIN {
        return Err(format!(
            "interval {s:?} is too short; at least {SCHEDULE_EVERY_S_MIN}s"
        ));
    }
    Ok(secs)
}
