//! The ARM registered-users client: contract (paths, field names), auth, paging, retries and
//! TLS trust for one AudioCodes Routing Manager.
//!
//! Architecture invariant: only `arm` knows the device's paths and field names, and only
//! [`contract`] inside it. The rest of numinv sees [`RegisteredUser`] and [`Node`].
//!
//! Architecture invariant: [`ArmClient::fetch_all_users`] returns the complete list or an
//! error; it never returns a partial list (DESIGN §4.2 step 1).

pub mod client;
pub mod contract;
mod error;
pub mod tls;

pub use client::{ArmClient, PageProgress, TestReport};
pub use contract::{
    parse_nodes, parse_users_page, Contact, ContractError, Node, RegisteredUser, UsersPage,
};
pub use error::{ArmError, Site, Stage};
pub use tls::{PeerCertificate, TlsTrust};

/// A password, client secret or token. Debug prints `***`; there is no Display and no
/// Serialize, so it cannot reach logs, errors or API output by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The value, for the one place that sends it to the device.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// Where the ARM's REST API lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https` unless the URL says `http://`.
    pub https: bool,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Path prefix of the API, with a leading and without a trailing `/` (default `/ARM/v1`).
    pub base_path: String,
}

impl Endpoint {
    /// Parse `https://host[:port][/path]` (a URL without scheme means https). The base path
    /// is `base_path` when given, else the URL's path when it has one, else `/ARM/v1`.
    pub fn parse(url: &str, base_path: Option<&str>) -> Result<Self, ArmError> {
        let bad = |why: &str| ArmError::Config(format!("ARM URL {url:?}: {why}"));
        let url = url.trim();
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if url.contains("://") {
            return Err(bad("only https:// and http:// are supported"));
        } else {
            (true, url)
        };
        let (authority, url_path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(bad(
                "put credentials in the connection settings, not the URL",
            ));
        }
        let (host, port) =
            split_host_port(authority).ok_or_else(|| bad("cannot read host and port"))?;
        if host.is_empty() {
            return Err(bad("host is missing"));
        }
        if authority.parse::<http::uri::Authority>().is_err() {
            return Err(bad("host holds characters not allowed in a URL"));
        }
        let port = port.unwrap_or(if https { 443 } else { 80 });
        let url_path = url_path.trim_end_matches('/');
        let base = match (base_path, url_path) {
            (Some(b), "") => b,
            (Some(b), p) if normalize_base_path(b) == p => b,
            (Some(_), _) => {
                return Err(bad(
                    "the URL's path differs from base_path; give the path in one place",
                ))
            }
            (None, "") => contract::BASE_PATH_DEFAULT,
            (None, p) => p,
        };
        Ok(Endpoint {
            https,
            host: host.to_owned(),
            port,
            base_path: normalize_base_path(base),
        })
    }

    /// `host:port` as used in error messages (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `scheme://host:port` without the base path.
    pub fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.authority())
    }
}

fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0)?),
        None => None,
    };
    Some((host, port))
}

fn normalize_base_path(p: &str) -> String {
    let p = p.trim().trim_end_matches('/');
    if p.is_empty() {
        String::new()
    } else if p.starts_with('/') {
        p.to_owned()
    } else {
        format!("/{p}")
    }
}

/// How the client authenticates (`auth_method` of the connection).
#[derive(Debug, Clone)]
pub enum Auth {
    /// HTTP Basic on every request.
    Basic {
        /// Account name.
        username: String,
        /// Account password.
        password: Secret,
    },
    /// `POST {base}/login` for a bearer token; one re-login on `401`.
    Session {
        /// Account name.
        username: String,
        /// Account password.
        password: Secret,
    },
    /// OAuth 2.0 client credentials against `token_url`; the token is refreshed before expiry.
    OAuth {
        /// Absolute URL, or a path (`/oauth2/token`) on the ARM host.
        token_url: String,
        /// Application (client) id.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
        /// Scope, e.g. `api://…/.default`, when the issuer needs one.
        scope: Option<String>,
    },
}

impl Auth {
    /// The `auth_method` name: `basic`, `session` or `oauth`.
    pub fn method(&self) -> &'static str {
        match self {
            Auth::Basic { .. } => "basic",
            Auth::Session { .. } => "session",
            Auth::OAuth { .. } => "oauth",
        }
    }
}

/// Everything the client needs; each bound and timeout is spelled out.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Where the ARM is.
    pub endpoint: Endpoint,
    /// How to authenticate.
    pub auth: Auth,
    /// Which certificates to trust (verification is always on for https).
    pub tls: TlsTrust,
    /// Users per page (`limit`), 1..=1000.
    pub page_size: u32,
    /// Bound on one request: connect, TLS, headers and body together.
    pub request_timeout_ms: u64,
    /// Repeats of one request after a timeout, connection failure, truncated body, 5xx or 429.
    pub retries_max: u32,
    /// First backoff delay; doubles per retry, with jitter.
    pub backoff_base_ms: u64,
    /// Largest backoff delay.
    pub backoff_max_ms: u64,
    /// Largest `Retry-After` we wait for; a longer one ends the fetch with an error.
    pub retry_after_max_s: u64,
    /// Bound on the pages of one fetch, so a broken cursor chain cannot loop forever.
    pub pages_max: u32,
}

impl ClientConfig {
    /// A configuration with the documented defaults.
    pub fn new(endpoint: Endpoint, auth: Auth, tls: TlsTrust) -> Self {
        ClientConfig {
            endpoint,
            auth,
            tls,
            page_size: 100,
            request_timeout_ms: 10_000,
            retries_max: 4,
            backoff_base_ms: 200,
            backoff_max_ms: 5_000,
            retry_after_max_s: 30,
            pages_max: 100_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_parse_defaults_and_forms() {
        let e = Endpoint::parse("https://arm.example:8443", None).unwrap();
        assert_eq!(
            e,
            Endpoint {
                https: true,
                host: "arm.example".into(),
                port: 8443,
                base_path: "/ARM/v1".into()
            }
        );
        let e = Endpoint::parse("http://127.0.0.1", Some("api/")).unwrap();
        assert_eq!((e.https, e.port, e.base_path.as_str()), (false, 80, "/api"));
        let e = Endpoint::parse("arm.example/ARM/v2/", None).unwrap();
        assert_eq!(
            (e.https, e.port, e.base_path.as_str()),
            (true, 443, "/ARM/v2")
        );
        let e = Endpoint::parse("https://[::1]:9443", None).unwrap();
        assert_eq!(
            (e.host.as_str(), e.authority()),
            ("::1", "[::1]:9443".to_owned())
        );
        assert!(Endpoint::parse("ftp://x", None).is_err());
        assert!(Endpoint::parse("https://x:0", None).is_err());
        assert!(Endpoint::parse("https://u:p@x", None).is_err());
        assert!(Endpoint::parse("https://x/a", Some("/b")).is_err());
        let e = Endpoint::parse("https://x/ARM/v1/", Some("/ARM/v1")).unwrap();
        assert_eq!(e.base_path, "/ARM/v1");
        assert!(Endpoint::parse("https://bad host", None).is_err());
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let auth = Auth::Session {
            username: "admin".into(),
            password: "hunter2".into(),
        };
        let cfg = ClientConfig::new(
            Endpoint::parse("https://h", None).unwrap(),
            auth,
            TlsTrust::SystemRoots,
        );
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("***"));
    }
}
