//! Issue "main job end to end": `numinv serve --config` with TLS, graceful stop, and the
//! documented example configuration.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;

use numinv::cli::serve::ServeConfig;

#[test]
fn the_example_config_is_valid() {
    let path = format!("{}/numinv.example.toml", env!("CARGO_MANIFEST_DIR"));
    let cfg = ServeConfig::load(std::path::Path::new(&path)).unwrap();
    assert_eq!(cfg.listen.unwrap().to_string(), "127.0.0.1:8080");
    assert_eq!(cfg.expiry_every.as_deref(), Some("1h"));
}

#[test]
fn a_bad_config_is_one_line_naming_the_file_and_key() {
    let s = common::Session::new();
    let f = s.path("bad.toml");
    std::fs::write(&f, "listen = \"127.0.0.1:0\"\nexpiry_evry = \"1h\"\n").unwrap();
    let e = s.fails(&["serve", "--config", f.to_str().unwrap()]);
    assert!(e.contains("bad.toml") && e.contains("expiry_evry"), "{e}");
    std::fs::write(&f, "expiry_every = \"soon\"\n").unwrap();
    let e = s.fails(&["serve", "--config", f.to_str().unwrap()]);
    assert!(e.contains("expiry_every") && e.contains("soon"), "{e}");
}

#[test]
fn serve_with_config_and_tls_answers_healthz_and_stops_on_sigterm() {
    let s = common::Session::new();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    std::fs::write(s.path("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(s.path("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let cfg = s.path("numinv.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = {:?}\nlisten = \"127.0.0.1:0\"\ntls_cert = {:?}\ntls_key = {:?}\ndefault_schedule_every = \"5m\"\nlog_format = \"json\"\n",
            s.data().display().to_string(),
            s.path("cert.pem").display().to_string(),
            s.path("key.pem").display().to_string()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_numinv"))
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env_remove("NUMINV_DATA_DIR")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve exited early"
        );
        if line.contains("numinv serving") {
            break;
        }
    }
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .unwrap()
        .to_string();
    let addr = url.trim_start_matches("https://");

    // HTTPS GET /healthz, trusting exactly the served certificate.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = tls.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    assert!(child.wait().unwrap().success(), "{rest}");
    assert!(!s.data().join("numinv.holder").exists());
    // The config's default schedule interval reached the settings.
    assert_eq!(s.ok(&["settings", "get", "schedule_default_every"]), "5m\n");
}
