//! HTTPS serves with the generated certificate, and the fingerprint in
//! `RunningSim` is the SHA-256 of the certificate actually presented.

use crate::common;

use std::sync::Arc;

use common::default_basic;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use numinv_sim::{ChurnRates, ServeOptions, SimConfig, Simulator};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

fn hex_sha256(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_the_pinned_certificate() {
    let sim = Simulator::new(SimConfig {
        users: 25,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    });
    let running = sim
        .serve(ServeOptions {
            http: None,
            https: Some(([127, 0, 0, 1], 0).into()),
        })
        .await
        .expect("serve");
    assert!(running.http_url.is_none());
    let url = running.https_url.clone().expect("https url");
    assert_eq!(running.cert_sha256_hex.len(), 64);
    assert!(running
        .cert_sha256_hex
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));

    // Trust exactly the PEM the simulator hands out; normal verification
    // then also checks the 127.0.0.1 SAN.
    let pem_der = CertificateDer::from_pem_slice(running.cert_pem.as_bytes()).expect("pem");
    assert_eq!(hex_sha256(&pem_der), running.cert_sha256_hex);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pem_der).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));

    let addr = url.trim_start_matches("https://").to_string();
    let tcp = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("name").to_owned();
    let tls = connector.connect(name, tcp).await.expect("tls handshake");
    let presented = tls.get_ref().1.peer_certificates().expect("peer certs")[0].clone();
    assert_eq!(hex_sha256(&presented), running.cert_sha256_hex);

    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("http handshake");
    let driver = tokio::spawn(conn);
    let req = Request::get("/ARM/v1/registeredUsers?limit=100")
        .header("host", addr.as_str())
        .header("authorization", default_basic())
        .body(Empty::<Bytes>::new())
        .expect("request");
    let resp = sender.send_request(req).await.expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["registeredUsers"].as_array().map(Vec::len), Some(25));
    assert_eq!(v["cursor"]["after"], "-1");
    drop(sender);
    let _ = driver.await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_serve_makes_a_fresh_certificate_and_binding_errors_are_reported() {
    let sim = Simulator::new(SimConfig {
        users: 1,
        ..SimConfig::default()
    });
    let a = sim.serve(ServeOptions::loopback()).await.expect("serve a");
    let b = sim.serve(ServeOptions::loopback()).await.expect("serve b");
    assert_ne!(a.cert_sha256_hex, b.cert_sha256_hex);
    let taken: std::net::SocketAddr = a
        .http_url
        .as_deref()
        .expect("url")
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let err = sim
        .serve(ServeOptions {
            http: Some(taken),
            https: None,
        })
        .await
        .expect_err("port in use");
    assert!(err.to_string().contains(&taken.to_string()), "{err}");
    drop(a);
    let b_addr = b.https_url.clone().expect("url");
    b.shutdown().await;
    // After shutdown the listener is closed.
    let refused = tokio::net::TcpStream::connect(b_addr.trim_start_matches("https://")).await;
    assert!(refused.is_err());
}
