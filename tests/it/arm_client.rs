//! The ARM client against the simulator over real loopback sockets: auth methods, paging,
//! every fault kind, TLS trust, and secrets kept out of errors and logs.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use numinv::arm::{
    ArmClient, ArmError, Auth, ClientConfig, Endpoint, RegisteredUser, Stage, TlsTrust,
};
use numinv_sim::{
    ChurnRates, FaultKind, FaultSpec, FaultTarget, RunningSim, ServeOptions, SimConfig, Simulator,
};

const PASSWORD: &str = "sim-password";
const CLIENT_SECRET: &str = "sim-secret";

struct Sim {
    sim: Simulator,
    run: RunningSim,
}

async fn start(users: usize) -> Sim {
    start_with(SimConfig {
        users,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    })
    .await
}

async fn start_with(cfg: SimConfig) -> Sim {
    let sim = Simulator::new(cfg);
    let loopback = "127.0.0.1:0".parse().unwrap();
    let run = sim
        .serve(ServeOptions {
            http: Some(loopback),
            https: Some(loopback),
        })
        .await
        .expect("simulator serves");
    Sim { sim, run }
}

impl Sim {
    fn https(&self) -> String {
        self.run.https_url.clone().unwrap()
    }

    fn http(&self) -> String {
        self.run.http_url.clone().unwrap()
    }

    fn pin(&self) -> TlsTrust {
        TlsTrust::pin_from_hex(&self.run.cert_sha256_hex).unwrap()
    }

    /// A client for the https listener, trusting the simulator's certificate by its pin.
    fn client(&self, auth: Auth) -> ArmClient {
        ArmClient::new(config(&self.https(), auth, self.pin())).unwrap()
    }

    fn fault(&self, kind: FaultKind, skip: u32, count: u32) {
        self.fault_on(kind, skip, count, FaultTarget::RegisteredUsers);
    }

    fn fault_on(&self, kind: FaultKind, skip: u32, count: u32, target: FaultTarget) {
        self.sim.arm_fault(FaultSpec {
            kind,
            skip,
            count,
            rate: 1.0,
            target,
        });
    }

    fn truth_ids(&self) -> HashSet<String> {
        self.sim.truth().users.into_iter().map(|u| u.id).collect()
    }
}

/// Fast timeouts and backoff so fault tests finish in well under a second each.
fn config(url: &str, auth: Auth, tls: TlsTrust) -> ClientConfig {
    let mut cfg = ClientConfig::new(Endpoint::parse(url, None).unwrap(), auth, tls);
    cfg.request_timeout_ms = 2_000;
    cfg.retries_max = 3;
    cfg.backoff_base_ms = 5;
    cfg.backoff_max_ms = 40;
    cfg.retry_after_max_s = 2;
    cfg
}

fn basic() -> Auth {
    Auth::Basic {
        username: "admin".into(),
        password: PASSWORD.into(),
    }
}

fn session() -> Auth {
    Auth::Session {
        username: "admin".into(),
        password: PASSWORD.into(),
    }
}

fn oauth() -> Auth {
    Auth::OAuth {
        token_url: "/oauth2/token".into(),
        client_id: "numinv".into(),
        client_secret: CLIENT_SECRET.into(),
        scope: None,
    }
}

fn keys(users: &[RegisteredUser]) -> HashSet<String> {
    users.iter().map(|u| u.key.clone()).collect()
}

/// The fetch returned every user the simulator holds, each once.
fn assert_complete(sim: &Sim, users: &[RegisteredUser]) {
    let got = keys(users);
    assert_eq!(got.len(), users.len(), "no user twice");
    assert_eq!(got, sim.truth_ids());
}

fn assert_no_secret(text: &str) {
    for secret in [PASSWORD, CLIENT_SECRET] {
        assert!(!text.contains(secret), "secret leaked: {text}");
    }
}

// ---- auth methods -------------------------------------------------------------------------

#[tokio::test]
async fn each_auth_method_reads_every_user() {
    let sim = start(250).await;
    for auth in [basic(), session(), oauth()] {
        let method = auth.method();
        let users = sim
            .client(auth)
            .fetch_all_users()
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        assert_complete(&sim, &users);
    }
    let stats = sim.sim.stats();
    assert_eq!(stats.requests.get("login"), Some(&1), "{stats:?}");
    assert_eq!(stats.requests.get("oauth_token"), Some(&1), "{stats:?}");
}

#[tokio::test]
async fn wrong_credentials_give_a_401_that_says_what_to_check() {
    let sim = start(10).await;
    let cases = [
        (
            Auth::Basic {
                username: "admin".into(),
                password: "nope-basic".into(),
            },
            "username, password",
        ),
        (
            Auth::Session {
                username: "admin".into(),
                password: "nope-session".into(),
            },
            "username, password",
        ),
        (
            Auth::OAuth {
                token_url: "/oauth2/token".into(),
                client_id: "numinv".into(),
                client_secret: "nope-oauth".into(),
                scope: None,
            },
            "client_secret",
        ),
    ];
    for (auth, hint) in cases {
        let err = sim.client(auth).fetch_all_users().await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(
                err,
                ArmError::Http {
                    status: 400 | 401,
                    ..
                }
            ),
            "{text}"
        );
        assert!(text.contains(hint), "{text}");
        assert!(
            !text.contains("nope-") && !format!("{err:?}").contains("nope-"),
            "{text}"
        );
    }
}

// ---- paging -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_users_in_pages_of_100_and_of_1000() {
    let sim = start(10_000).await;
    let page_requests = || {
        sim.sim
            .stats()
            .requests
            .get("registered_users")
            .copied()
            .unwrap_or(0)
    };
    for page_size in [100, 1000] {
        let mut cfg = config(&sim.https(), session(), sim.pin());
        cfg.page_size = page_size;
        let client = ArmClient::new(cfg).unwrap();
        let mut pages = 0;
        let requests_before = page_requests();
        let users = client
            .fetch_all_users_with(&mut |p| pages = p.pages)
            .await
            .unwrap();
        assert_eq!(users.len(), 10_000);
        assert_eq!(keys(&users).len(), 10_000);
        assert_complete(&sim, &users);
        assert_eq!(pages, 10_000 / page_size, "page size {page_size}");
        // Each page is asked for once: the read-ahead request is the page's request.
        assert_eq!(
            page_requests() - requests_before,
            u64::from(pages),
            "page size {page_size}"
        );
    }
}

#[tokio::test]
async fn an_empty_collection_answers_204_and_gives_no_users() {
    let sim = start(0).await;
    let users = sim.client(basic()).fetch_all_users().await.unwrap();
    assert!(users.is_empty());
}

#[tokio::test]
async fn plain_http_works_when_the_url_says_so() {
    let sim = start(30).await;
    let client = ArmClient::new(config(&sim.http(), basic(), TlsTrust::SystemRoots)).unwrap();
    assert_complete(&sim, &client.fetch_all_users().await.unwrap());
}

#[tokio::test]
async fn pages_max_ends_the_fetch_with_an_error() {
    let sim = start(1000).await;
    let mut cfg = config(&sim.https(), basic(), sim.pin());
    cfg.pages_max = 5;
    let err = ArmClient::new(cfg)
        .unwrap()
        .fetch_all_users()
        .await
        .unwrap_err();
    assert!(matches!(err, ArmError::CursorChain { .. }), "{err}");
    assert!(err.to_string().contains("pages_max = 5"), "{err}");
}

#[tokio::test]
async fn a_wrong_base_path_suggests_checking_base_path() {
    let sim = start(10).await;
    let cfg = config(&sim.https(), basic(), sim.pin());
    let cfg = ClientConfig {
        endpoint: Endpoint::parse(&sim.https(), Some("/ARM/v9")).unwrap(),
        ..cfg
    };
    let err = ArmClient::new(cfg)
        .unwrap()
        .fetch_all_users()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ArmError::Http { status: 404, .. }), "{text}");
    assert!(
        text.contains("check base_path (currently /ARM/v9)"),
        "{text}"
    );
    assert!(text.contains("registered users page 1"), "{text}");
}

// ---- faults: each recovers by retry, or ends in a clear error and no users ----------------

#[tokio::test]
async fn latency_below_the_timeout_is_only_slow() {
    let sim = start(300).await;
    sim.fault(FaultKind::Latency { ms: 100 }, 1, 1);
    assert_complete(&sim, &sim.client(basic()).fetch_all_users().await.unwrap());
}

#[tokio::test]
async fn a_timeout_mid_paging_is_retried() {
    let sim = start(300).await;
    sim.fault(FaultKind::Timeout, 1, 1);
    sim.fault(FaultKind::Latency { ms: 5_000 }, 2, 1);
    let mut cfg = config(&sim.https(), basic(), sim.pin());
    cfg.request_timeout_ms = 300;
    let users = ArmClient::new(cfg)
        .unwrap()
        .fetch_all_users()
        .await
        .unwrap();
    assert_complete(&sim, &users);
    assert_eq!(sim.sim.stats().faults_fired.get("timeout"), Some(&1));
}

#[tokio::test]
async fn a_device_that_never_answers_ends_in_a_timeout_error() {
    let sim = start(300).await;
    sim.fault(FaultKind::Timeout, 2, u32::MAX);
    let mut cfg = config(&sim.https(), basic(), sim.pin());
    cfg.request_timeout_ms = 200;
    cfg.retries_max = 2;
    let err = ArmClient::new(cfg)
        .unwrap()
        .fetch_all_users()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ArmError::Timeout { attempts: 3, .. }),
        "{text}"
    );
    assert!(
        text.contains("registered users page 3") && text.contains("200 ms (request_timeout_ms)"),
        "{text}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let sim = start(300).await;
    for code in [500, 502, 503] {
        sim.fault(FaultKind::Status { code }, 1, 1);
    }
    assert_complete(&sim, &sim.client(basic()).fetch_all_users().await.unwrap());
    assert_eq!(sim.sim.stats().faults_fired.get("status"), Some(&3));

    sim.sim.clear_faults();
    sim.fault(FaultKind::Status { code: 503 }, 0, u32::MAX);
    let err = sim.client(basic()).fetch_all_users().await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            ArmError::Http {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains("try again later"), "{text}");
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after() {
    let sim = start(300).await;
    sim.fault(FaultKind::TooManyRequests { retry_after_s: 1 }, 1, 1);
    let started = Instant::now();
    assert_complete(&sim, &sim.client(basic()).fetch_all_users().await.unwrap());
    assert_eq!(
        sim.sim.stats().faults_fired.get("too_many_requests"),
        Some(&1)
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );

    sim.sim.clear_faults();
    sim.fault(FaultKind::TooManyRequests { retry_after_s: 600 }, 1, 1);
    let err = sim.client(basic()).fetch_all_users().await.unwrap_err();
    assert!(
        matches!(
            err,
            ArmError::RetryAfterTooLong {
                retry_after_s: 600,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("page 2"), "{err}");
}

#[tokio::test]
async fn truncated_json_is_retried_then_reported() {
    let sim = start(300).await;
    sim.fault(FaultKind::TruncatedJson, 1, 2);
    assert_complete(&sim, &sim.client(basic()).fetch_all_users().await.unwrap());
    assert_eq!(sim.sim.stats().faults_fired.get("truncated_json"), Some(&2));

    sim.sim.clear_faults();
    sim.fault(FaultKind::TruncatedJson, 0, u32::MAX);
    let err = sim.client(basic()).fetch_all_users().await.unwrap_err();
    assert!(
        matches!(err, ArmError::Contract { attempts: 4, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(
        err.to_string().contains("cutting its answer short"),
        "{err}"
    );
}

#[tokio::test]
async fn a_stray_204_mid_paging_does_not_cut_the_list_short() {
    let sim = start(300).await;
    sim.fault(FaultKind::Empty204, 1, 1);
    assert_complete(&sim, &sim.client(basic()).fetch_all_users().await.unwrap());
    assert_eq!(sim.sim.stats().faults_fired.get("empty204"), Some(&1));
    // Also on the first page: one 204 is not yet "the collection is empty".
    sim.sim.clear_faults();
    sim.fault(FaultKind::Empty204, 0, 1);
    assert_complete(&sim, &sim.client(basic()).fetch_all_users().await.unwrap());
    // Two in a row mid-paging still recover (204 is retried like a 5xx there) …
    sim.sim.clear_faults();
    sim.fault(FaultKind::Empty204, 2, 2);
    assert_complete(&sim, &sim.client(basic()).fetch_all_users().await.unwrap());
}

#[tokio::test]
async fn a_persistent_204_mid_paging_is_an_error_not_a_short_list() {
    let sim = start(300).await;
    sim.fault(FaultKind::Empty204, 1, u32::MAX);
    let err = sim.client(basic()).fetch_all_users().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ArmError::CursorChain { .. }), "{text}");
    assert!(
        text.contains("page 2") && text.contains("204 No Content 4 times"),
        "{text}"
    );
}

#[tokio::test]
async fn token_expiry_mid_paging_is_recovered_by_one_login() {
    let sim = start(500).await;
    for (auth, route) in [(session(), "login"), (oauth(), "oauth_token")] {
        sim.sim.clear_faults();
        sim.fault(FaultKind::ExpireTokens, 2, 1);
        let before = sim.sim.stats().requests.get(route).copied().unwrap_or(0);
        assert_complete(&sim, &sim.client(auth).fetch_all_users().await.unwrap());
        let after = sim.sim.stats().requests[route];
        assert_eq!(after - before, 2, "{route}: first login and one re-login");
    }
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires_not_after_a_401() {
    let sim = start_with(SimConfig {
        users: 50,
        churn: ChurnRates::none(),
        session_ttl_s: 1,
        oauth_ttl_s: 1,
        ..SimConfig::default()
    })
    .await;
    for (auth, route) in [(session(), "login"), (oauth(), "oauth_token")] {
        let before = sim.sim.stats().requests;
        let count =
            |m: &std::collections::BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
        let client = sim.client(auth);
        assert_complete(&sim, &client.fetch_all_users().await.unwrap());
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        assert_complete(&sim, &client.fetch_all_users().await.unwrap());
        let after = sim.sim.stats().requests;
        assert_eq!(count(&after, route) - count(&before, route), 2, "{route}");
        // One page per fetch: no page was refused with 401 and sent again.
        assert_eq!(
            count(&after, "registered_users") - count(&before, "registered_users"),
            2,
            "{route}"
        );
    }
}

#[tokio::test]
async fn tokens_that_keep_expiring_end_in_a_401_after_one_relogin() {
    let sim = start(300).await;
    sim.fault(FaultKind::ExpireTokens, 1, u32::MAX);
    let err = sim.client(session()).fetch_all_users().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ArmError::Http { status: 401, .. }), "{text}");
    assert_no_secret(&format!("{text} {err:?}"));
    assert!(
        text.contains("page 2") && text.contains("auth_method"),
        "{text}"
    );
}

#[tokio::test]
async fn users_inserted_or_removed_mid_paging_never_come_twice() {
    let sim = start(500).await;
    let before = sim.truth_ids();
    sim.fault(FaultKind::InsertUsers { n: 7 }, 2, 1);
    let users = sim.client(basic()).fetch_all_users().await.unwrap();
    // New ids sort after the cursor, so they are read too.
    assert_complete(&sim, &users);
    assert_eq!(users.len(), before.len() + 7);

    sim.sim.clear_faults();
    let before = sim.truth_ids();
    sim.fault(FaultKind::RemoveUsers { n: 20 }, 2, 1);
    let users = sim.client(basic()).fetch_all_users().await.unwrap();
    let got = keys(&users);
    assert_eq!(got.len(), users.len(), "no user twice");
    let after = sim.truth_ids();
    assert!(after.is_subset(&got) && got.is_subset(&before));
}

#[tokio::test]
async fn login_and_node_faults_either_recover_or_are_named() {
    let sim = start(50).await;
    // The login POST is not repeated after the device answered: the error names the login.
    sim.fault_on(FaultKind::Status { code: 503 }, 0, 1, FaultTarget::Login);
    let err = sim.client(session()).fetch_all_users().await.unwrap_err();
    assert!(err.to_string().contains("session login: HTTP 503"), "{err}");
    assert_eq!(err.to_string().matches("page").count(), 0, "{err}");
    // Once the device recovers, the next fetch logs in.
    assert_complete(
        &sim,
        &sim.client(session()).fetch_all_users().await.unwrap(),
    );

    sim.fault_on(FaultKind::Status { code: 502 }, 0, 1, FaultTarget::Nodes);
    let nodes = sim.client(basic()).nodes().await.unwrap();
    assert_eq!(nodes.len(), 3);
    assert!(nodes.iter().all(|n| n.online));
}

/// An unrelated self-signed certificate (CN=arm.contoso.example), used as a CA that did not
/// sign the simulator's certificate.
const OTHER_CA: &str = "\
-----BEGIN CERTIFICATE-----
MIIBtTCCAVugAwIBAgIUVR7/VpKYt80g9HRYM6nUbKRMlfQwCgYIKoZIzj0EAwIw
MDEcMBoGA1UEAwwTYXJtLmNvbnRvc28uZXhhbXBsZTEQMA4GA1UECgwHQ29udG9z
bzAeFw0yNjEyMDMxNjI0NTNaFw0zNjExMzAxNjI0NTNaMDAxHDAaBgNVBAMME2Fy
bS5jb250b3NvLmV4YW1wbGUxEDAOBgNVBAoMB0NvbnRvc28wWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASwfcDEXe/w+wLy0VKQ4a8BSPFm2rxP8r01PI1+Ia+Jbsp2
dP7vUQodrQRem0xPwDZSSO8Za1dNuTiaTO/I8zLwo1MwUTAdBgNVHQ4EFgQU2ALs
qK1XtztJXPGvlbA1WCJiDRwwHwYDVR0jBBgwFoAU2ALsqK1XtztJXPGvlbA1WCJi
DRwwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAsBLBopYmRX3d
Bx/DOLqLFfnMaZ30ZhrYlm40PbDcYHACIGK+/ENH2je+awJWJswcCjAYITSLkM+q
6yp4NF4XoRQT
-----END CERTIFICATE-----
";

// ---- TLS trust ----------------------------------------------------------------------------

#[tokio::test]
async fn a_self_signed_certificate_is_refused_without_pin_or_ca() {
    let sim = start(10).await;
    // A CA that did not sign the simulator's certificate stands in for any trust store.
    let client = ArmClient::new(config(
        &sim.https(),
        basic(),
        TlsTrust::CaPem(OTHER_CA.into()),
    ))
    .unwrap();
    let err = client.fetch_all_users().await.unwrap_err();
    let text = err.to_string();
    let ArmError::Tls {
        seen_sha256, site, ..
    } = &err
    else {
        panic!("{text}")
    };
    assert_eq!(
        seen_sha256.as_deref(),
        Some(sim.run.cert_sha256_hex.as_str())
    );
    assert_eq!(site.stage, Stage::UsersPage(1));
    assert!(
        text.contains(&format!("--pin-sha256 {}", sim.run.cert_sha256_hex)),
        "{text}"
    );
    assert!(text.contains("--ca-file"), "{text}");
    // The system's roots, where the machine has them, refuse it too.
    if let Ok(client) = ArmClient::new(config(&sim.https(), basic(), TlsTrust::SystemRoots)) {
        let err = client.fetch_all_users().await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ArmError::Tls { .. }), "{text}");
        assert!(text.contains(&sim.run.cert_sha256_hex), "{text}");
    }
}

#[tokio::test]
async fn the_printed_pin_is_accepted_and_a_wrong_pin_is_refused() {
    let sim = start(120).await;
    assert_complete(
        &sim,
        &sim.client(session()).fetch_all_users().await.unwrap(),
    );

    let mut wrong = [0u8; 32];
    wrong[0] = 1;
    let client =
        ArmClient::new(config(&sim.https(), session(), TlsTrust::PinSha256(wrong))).unwrap();
    let err = client.fetch_all_users().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ArmError::Tls { .. }), "{text}");
    assert!(
        text.contains("does not match the pinned fingerprint"),
        "{text}"
    );
    assert!(text.contains(&sim.run.cert_sha256_hex), "{text}");
    assert!(
        text.contains("session login"),
        "the first request is the login: {text}"
    );
}

#[tokio::test]
async fn the_certificate_as_ca_file_is_accepted() {
    let sim = start(50).await;
    let trust = TlsTrust::CaPem(sim.run.cert_pem.clone().into_bytes());
    let client = ArmClient::new(config(&sim.https(), basic(), trust)).unwrap();
    assert_complete(&sim, &client.fetch_all_users().await.unwrap());
}

#[tokio::test]
async fn an_https_url_on_a_plain_http_port_is_not_downgraded() {
    let sim = start(10).await;
    let url = sim.http().replace("http://", "https://");
    let client = ArmClient::new(config(&url, basic(), sim.pin())).unwrap();
    let err = client.fetch_all_users().await.unwrap_err();
    assert!(
        matches!(err, ArmError::Tls { .. } | ArmError::Connect { .. }),
        "{err}"
    );
}

// ---- connections test ---------------------------------------------------------------------

#[tokio::test]
async fn test_connection_reports_counts_auth_and_certificate() {
    let sim = start(250).await;
    let report = sim.client(oauth()).test_connection().await.unwrap();
    assert_eq!(report.auth_method, "oauth");
    assert_eq!(report.first_page_users, 100);
    assert!(report.more_pages);
    assert_eq!((report.nodes, report.nodes_online), (3, 3));
    let peer = report.peer.as_ref().expect("https has a certificate");
    assert_eq!(peer.sha256_hex, sim.run.cert_sha256_hex);
    assert!(peer.not_after.is_some(), "{peer:?}");
    let text = report.to_string();
    assert!(
        text.contains(&sim.run.cert_sha256_hex) && text.contains("nodes: 3"),
        "{text}"
    );

    let client = ArmClient::new(config(&sim.http(), basic(), TlsTrust::SystemRoots)).unwrap();
    let report = client.test_connection().await.unwrap();
    assert!(report.peer.is_none());
}

#[tokio::test]
async fn a_mix_of_random_faults_still_gives_the_complete_list() {
    let sim = start(5_000).await;
    let kinds = [
        FaultKind::Latency { ms: 50 },
        FaultKind::Timeout,
        FaultKind::Status { code: 503 },
        FaultKind::TooManyRequests { retry_after_s: 0 },
        FaultKind::TruncatedJson,
        FaultKind::Empty204,
        FaultKind::ExpireTokens,
    ];
    for kind in kinds {
        sim.sim.arm_fault(FaultSpec {
            kind,
            skip: 0,
            count: u32::MAX,
            rate: 0.1,
            target: FaultTarget::RegisteredUsers,
        });
    }
    let mut cfg = config(&sim.https(), session(), sim.pin());
    cfg.request_timeout_ms = 500;
    cfg.retries_max = 6;
    let users = ArmClient::new(cfg)
        .unwrap()
        .fetch_all_users()
        .await
        .unwrap();
    assert_complete(&sim, &users);
    let fired = sim.sim.stats().faults_fired;
    // Seeded, so normally all seven fire; a slow machine that times out an extra request
    // shifts the sequence, hence the margin.
    assert!(fired.len() >= 5, "most kinds fired: {fired:?}");
}
