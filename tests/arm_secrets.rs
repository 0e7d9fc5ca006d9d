//! Secrets (passwords, client secrets, tokens) never reach errors, Debug output or tracing.
//!
//! Its own test binary: tracing caches which call sites are enabled process-wide, so a
//! capturing subscriber only sees everything when no other test runs beside it.

use std::sync::{Arc, Mutex};

use numinv::arm::{ArmClient, Auth, ClientConfig, Endpoint, TlsTrust};
use numinv_sim::{
    ChurnRates, FaultKind, FaultSpec, FaultTarget, ServeOptions, SimConfig, Simulator,
};

const PASSWORD: &str = "sim-password";
const CLIENT_SECRET: &str = "sim-secret";

fn assert_no_secret(text: &str) {
    for secret in [PASSWORD, CLIENT_SECRET] {
        assert!(!text.contains(secret), "secret leaked: {text}");
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_stay_out_of_tracing_errors_and_debug() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let sim = Simulator::new(SimConfig {
        users: 300,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    });
    let loopback = "127.0.0.1:0".parse().unwrap();
    let run = sim
        .serve(ServeOptions {
            http: Some(loopback),
            https: Some(loopback),
        })
        .await
        .unwrap();
    let fault = |kind, skip, count| {
        sim.arm_fault(FaultSpec {
            kind,
            skip,
            count,
            rate: 1.0,
            target: FaultTarget::RegisteredUsers,
        })
    };
    let client = |auth| {
        let endpoint = Endpoint::parse(run.https_url.as_ref().unwrap(), None).unwrap();
        let pin = TlsTrust::pin_from_hex(&run.cert_sha256_hex).unwrap();
        let mut cfg = ClientConfig::new(endpoint, auth, pin);
        cfg.backoff_base_ms = 5;
        ArmClient::new(cfg).unwrap()
    };
    let session = || Auth::Session {
        username: "admin".into(),
        password: PASSWORD.into(),
    };
    let oauth = Auth::OAuth {
        token_url: "/oauth2/token".into(),
        client_id: "numinv".into(),
        client_secret: CLIENT_SECRET.into(),
        scope: None,
    };
    let basic = Auth::Basic {
        username: "admin".into(),
        password: PASSWORD.into(),
    };

    fault(FaultKind::ExpireTokens, 1, 1);
    fault(FaultKind::Status { code: 503 }, 2, 1);
    for auth in [session(), oauth, basic] {
        let client = client(auth);
        assert_no_secret(&format!("{client:?}"));
        client.fetch_all_users().await.unwrap();
    }
    fault(FaultKind::ExpireTokens, 0, u32::MAX);
    let err = client(session()).fetch_all_users().await.unwrap_err();
    assert_no_secret(&format!("{err} {err:?}"));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "retries are traced: {logs}");
    assert_no_secret(&logs);
    assert!(
        !logs.contains("Bearer ") && !logs.contains("Basic "),
        "no auth header in logs"
    );
}
