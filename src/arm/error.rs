//! Errors of the ARM client. Every message names the host, the request (and page), the cause
//! and the admin's next step, in one line. No message ever holds a secret: causes come from
//! status codes, transport errors and the device's `description`, never from request headers
//! or token bodies.

use super::contract::ContractError;

/// Which request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Page `n` (1-based) of the registered users.
    UsersPage(u32),
    /// The node list.
    Nodes,
    /// The session login.
    Login,
    /// The OAuth token request.
    Token,
}

/// Host and request of an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// `host:port` that was asked.
    pub host: String,
    /// Which request.
    pub stage: Stage,
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ARM {}, ", self.host)?;
        match self.stage {
            Stage::UsersPage(n) => write!(f, "registered users page {n}"),
            Stage::Nodes => f.write_str("node list"),
            Stage::Login => f.write_str("session login"),
            Stage::Token => f.write_str("OAuth token request"),
        }
    }
}

/// A failed ARM request or fetch. A fetch that fails returns no users at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArmError {
    /// The connection settings cannot work (bad URL, unreadable CA file, bad pin …).
    #[error("invalid ARM connection setting: {0}")]
    Config(String),
    /// The TLS handshake failed; certificate problems are never retried.
    #[error("{site}: TLS handshake failed: {cause}; {}", tls_hint(.seen_sha256.as_deref()))]
    Tls {
        /// Where.
        site: Site,
        /// rustls's reason.
        cause: String,
        /// Lowercase hex SHA-256 of the certificate the device presented, when it got that far.
        seen_sha256: Option<String>,
    },
    /// No TCP connection (refused, unreachable, DNS), or it broke mid-answer.
    #[error("{site}: connection failed{}: {cause}; check host, port and that the ARM is reachable", after_attempts(*.attempts))]
    Connect {
        /// Where.
        site: Site,
        /// The transport's reason.
        cause: String,
        /// Requests made.
        attempts: u32,
    },
    /// No complete answer within the per-request timeout.
    #[error("{site}: no complete answer within {timeout_ms} ms (request_timeout_ms){}; the device or the network is slow or down", after_attempts(*.attempts))]
    Timeout {
        /// Where.
        site: Site,
        /// The per-request timeout that expired.
        timeout_ms: u64,
        /// Requests made.
        attempts: u32,
    },
    /// The device answered with an error status.
    #[error("{site}: HTTP {status}{}{}: {hint}", description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default(), after_attempts(*.attempts))]
    Http {
        /// Where.
        site: Site,
        /// HTTP status code.
        status: u16,
        /// The device's `description`, when it gave one.
        description: Option<String>,
        /// The admin's next step.
        hint: String,
        /// Requests made.
        attempts: u32,
    },
    /// `429` with a `Retry-After` longer than `retry_after_max_s`.
    #[error("{site}: device asked to wait {retry_after_s} s (HTTP 429 Retry-After), more than retry_after_max_s = {max_s} s; try again later")]
    RetryAfterTooLong {
        /// Where.
        site: Site,
        /// What the device asked for.
        retry_after_s: u64,
        /// Our bound.
        max_s: u64,
    },
    /// A `200` body that does not follow the contract.
    #[error("{site}: response does not follow the ARM contract{}: {source}; {}", after_attempts(*.attempts), contract_hint(.source))]
    Contract {
        /// Where.
        site: Site,
        /// What is wrong with the body.
        source: ContractError,
        /// Requests made.
        attempts: u32,
    },
    /// Paging did not converge: a repeated cursor, a user seen twice, or `pages_max` reached.
    #[error(
        "{site}: cursor chain broken: {detail}; the fetch was abandoned and no users were kept"
    )]
    CursorChain {
        /// Where.
        site: Site,
        /// What went wrong.
        detail: String,
    },
}

impl ArmError {
    /// The request this error is about, when it is about one.
    pub fn site(&self) -> Option<&Site> {
        match self {
            ArmError::Config(_) => None,
            ArmError::Tls { site, .. }
            | ArmError::Connect { site, .. }
            | ArmError::Timeout { site, .. }
            | ArmError::Http { site, .. }
            | ArmError::RetryAfterTooLong { site, .. }
            | ArmError::Contract { site, .. }
            | ArmError::CursorChain { site, .. } => Some(site),
        }
    }
}

fn after_attempts(n: u32) -> String {
    if n > 1 {
        format!(" (after {n} attempts)")
    } else {
        String::new()
    }
}

fn contract_hint(e: &ContractError) -> &'static str {
    if e.is_transient() {
        "the device keeps cutting its answer short; try again later or check the ARM's health"
    } else {
        "check base_path and the ARM version"
    }
}

fn tls_hint(seen_sha256: Option<&str>) -> String {
    match seen_sha256 {
        Some(fp) => format!(
            "the device presented a certificate with SHA-256 {fp}; if that is the ARM's \
             certificate, trust it with --pin-sha256 {fp} or --ca-file <its CA>"
        ),
        None => "trust the device with --pin-sha256 <fingerprint> or --ca-file <its CA>".into(),
    }
}

/// The admin's next step for an error status.
pub(crate) fn http_hint(status: u16, stage: Stage, auth_method: &str, base_path: &str) -> String {
    match status {
        401 => match auth_method {
            "oauth" => "not authenticated: check client_id, client_secret, scope and auth_method (oauth)".into(),
            m => format!("not authenticated: check username, password and auth_method (currently {m})"),
        },
        403 | 405 => "the account lacks the privilege for this request; give it a role that may read registered users and topology".into(),
        404 if stage == Stage::Token => "token URL not found: check token_url".into(),
        404 => format!("path not found: check base_path (currently {base_path})"),
        400 if stage == Stage::Token => "token request refused: check client_id, client_secret and scope".into(),
        400 => "the device refused the query: check page_size and the ARM version".into(),
        429 => "the device is rate limiting; try again later".into(),
        300..=399 => "the device redirects elsewhere; check the scheme (https or http), port and base_path".into(),
        500..=599 => "the device failed to answer; try again later or check the ARM's health".into(),
        _ => "unexpected answer".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_host_page_cause_and_next_step() {
        let site = Site {
            host: "10.0.0.5:443".into(),
            stage: Stage::UsersPage(3),
        };
        let e = ArmError::Http {
            site: site.clone(),
            status: 404,
            description: Some("no such resource".into()),
            hint: http_hint(404, Stage::UsersPage(3), "basic", "/ARM/v1"),
            attempts: 1,
        };
        assert_eq!(
            e.to_string(),
            "ARM 10.0.0.5:443, registered users page 3: HTTP 404 (no such resource): \
             path not found: check base_path (currently /ARM/v1)"
        );
        let e = ArmError::Timeout {
            site,
            timeout_ms: 300,
            attempts: 5,
        };
        assert_eq!(
            e.to_string(),
            "ARM 10.0.0.5:443, registered users page 3: no complete answer within 300 ms \
             (request_timeout_ms) (after 5 attempts); the device or the network is slow or down"
        );
        let e = ArmError::Tls {
            site: Site {
                host: "h:1".into(),
                stage: Stage::Login,
            },
            cause: "invalid peer certificate: UnknownIssuer".into(),
            seen_sha256: Some("ab".repeat(32)),
        };
        assert!(
            e.to_string()
                .contains(&format!("--pin-sha256 {}", "ab".repeat(32))),
            "{e}"
        );
    }
}
