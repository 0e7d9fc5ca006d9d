//! Simulator configuration.

use chrono::{DateTime, TimeZone, Utc};

/// Everything that shapes a simulation run. Two runs with equal configs and the
/// same sequence of `advance`/`script` calls produce the same ground truth.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seed of every deterministic choice (population, churn, fault rates).
    pub seed: u64,
    /// Size of the initial population (registered-user records).
    pub users: usize,
    /// Number of SBC nodes; clamped to `1..=999`.
    pub nodes: usize,
    /// ISO region whose national format some AORs use (`"GB"`: +44, trunk `0`).
    pub region: String,
    /// Start of the virtual clock.
    pub start: DateTime<Utc>,
    /// Base path of the contract routes, e.g. `/ARM/v1`.
    pub base_path: String,
    /// Username for basic and session authentication.
    pub username: String,
    /// Password for basic and session authentication.
    pub password: String,
    /// OAuth client id accepted at `/oauth2/token`.
    pub oauth_client_id: String,
    /// OAuth client secret accepted at `/oauth2/token`.
    pub oauth_client_secret: String,
    /// Lifetime of a session token, in real seconds.
    pub session_ttl_s: u64,
    /// Lifetime of an OAuth access token, in real seconds.
    pub oauth_ttl_s: u64,
    /// When set, `/sim/*` requires `Authorization: Bearer <control_token>`.
    pub control_token: Option<String>,
    /// Churn applied by `advance`.
    pub churn: ChurnRates,
    /// Largest page served; a larger `limit` is clamped to it.
    pub page_size_max: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            users: 1000,
            nodes: 3,
            region: "GB".to_string(),
            start: Utc
                .with_ymd_and_hms(2026, 12, 3, 0, 0, 0)
                .single()
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            base_path: "/ARM/v1".to_string(),
            username: "admin".to_string(),
            password: "sim-password".to_string(),
            oauth_client_id: "numinv".to_string(),
            oauth_client_secret: "sim-secret".to_string(),
            session_ttl_s: 900,
            oauth_ttl_s: 3599,
            control_token: None,
            churn: ChurnRates::default(),
            page_size_max: 1000,
        }
    }
}

/// Churn rates per virtual day; `0.0` disables a kind of churn.
#[derive(Clone, Debug, PartialEq)]
pub struct ChurnRates {
    /// Chance per day that an online user drops offline.
    pub offline_per_user_day: f64,
    /// Chance per day that an offline (still present) user comes back.
    pub return_per_user_day: f64,
    /// Chance per day that a user record is deleted.
    pub delete_per_user_day: f64,
    /// New users per day, as a fraction of the initial population.
    pub create_per_day: f64,
    /// Chance per node per day that the node goes dark.
    pub node_outage_per_day: f64,
    /// How long a dark node stays dark, in virtual minutes.
    pub node_outage_minutes: u64,
}

impl Default for ChurnRates {
    fn default() -> Self {
        ChurnRates {
            offline_per_user_day: 0.05,
            return_per_user_day: 1.0,
            delete_per_user_day: 0.01,
            create_per_day: 0.01,
            node_outage_per_day: 0.05,
            node_outage_minutes: 120,
        }
    }
}

impl ChurnRates {
    /// No churn at all: the population only changes by script or fault.
    pub fn none() -> Self {
        ChurnRates {
            offline_per_user_day: 0.0,
            return_per_user_day: 0.0,
            delete_per_user_day: 0.0,
            create_per_day: 0.0,
            node_outage_per_day: 0.0,
            node_outage_minutes: 0,
        }
    }
}
