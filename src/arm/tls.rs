//! TLS trust for the ARM: system roots, a CA file, or a pinned SHA-256 leaf fingerprint, with
//! rustls and the ring provider. Verification is always on; trusting a self-signed device
//! means naming its CA or its exact certificate.
//!
//! Every handshake records the leaf certificate the device presented, so that a refused
//! certificate's fingerprint can go into the error (ready to pin) and `connections test` can
//! show what is being trusted.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};

use super::ArmError;

/// Which server certificates the client accepts.
#[derive(Clone, PartialEq, Eq)]
pub enum TlsTrust {
    /// The operating system's root certificates, with host name and validity checks.
    SystemRoots,
    /// PEM certificates (a CA, or the device's self-signed certificate) as the only roots,
    /// with host name and validity checks. A certificate in the file that is exactly the one
    /// the device presents is trusted as it is, like a pin.
    CaPem(Vec<u8>),
    /// Exactly the leaf certificate with this SHA-256 (of its DER). Host name and validity
    /// are not checked: the pin is the trust decision. The handshake signature still is.
    PinSha256([u8; 32]),
}

impl std::fmt::Debug for TlsTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsTrust::SystemRoots => f.write_str("SystemRoots"),
            TlsTrust::CaPem(pem) => write!(f, "CaPem({} bytes)", pem.len()),
            TlsTrust::PinSha256(fp) => write!(f, "PinSha256({})", hex(fp)),
        }
    }
}

impl TlsTrust {
    /// Parse a pin given as 64 hex digits, with or without `:` separators, any case.
    pub fn pin_from_hex(text: &str) -> Result<Self, ArmError> {
        let digits: String = text
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect();
        let bad = || {
            ArmError::Config(format!(
                "pin-sha256 {text:?} is not 64 hex digits (as printed by `connections test`)"
            ))
        };
        if digits.len() != 64 || !digits.is_ascii() {
            return Err(bad());
        }
        let mut pin = [0u8; 32];
        for (i, byte) in pin.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(TlsTrust::PinSha256(pin))
    }
}

/// The certificate a device presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    /// Lowercase hex SHA-256 of the leaf DER: the value to pin.
    pub sha256_hex: String,
    /// Subject, e.g. `CN=arm.contoso.example, O=Contoso`, when it can be read.
    pub subject: Option<String>,
    /// Issuer, in the same form.
    pub issuer: Option<String>,
    /// Start of validity, `YYYY-MM-DDTHH:MM:SSZ`.
    pub not_before: Option<String>,
    /// End of validity, `YYYY-MM-DDTHH:MM:SSZ`.
    pub not_after: Option<String>,
}

impl PeerCertificate {
    /// Fingerprint and, when the DER can be read, subject, issuer and validity.
    pub fn from_der(der: &[u8]) -> Self {
        let details = der::read_certificate(der);
        PeerCertificate {
            sha256_hex: sha256_hex(der),
            subject: details.as_ref().and_then(|d| d.subject.clone()),
            issuer: details.as_ref().and_then(|d| d.issuer.clone()),
            not_before: details.as_ref().and_then(|d| d.not_before.clone()),
            not_after: details.and_then(|d| d.not_after),
        }
    }
}

/// Lowercase hex SHA-256 of `der`.
pub fn sha256_hex(der: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, der).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The last leaf certificate (DER) a handshake presented, shared with the verifier.
pub(crate) type SeenLeaf = Arc<Mutex<Option<Vec<u8>>>>;

/// A rustls client configuration for `trust` that records each presented leaf in `seen`.
pub(crate) fn client_config(
    trust: &TlsTrust,
    seen: SeenLeaf,
) -> Result<rustls::ClientConfig, ArmError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let check = match trust {
        TlsTrust::PinSha256(pin) => Check::Pin(*pin),
        TlsTrust::CaPem(pem) => {
            let certs = certs_from_pem(pem)?;
            let mut roots = RootCertStore::empty();
            for cert in &certs {
                roots
                    .add(cert.clone())
                    .map_err(|e| ArmError::Config(format!("CA file: unusable certificate: {e}")))?;
            }
            let exact = certs.into_iter().map(|c| c.to_vec()).collect();
            Check::WebPki(webpki_verifier(roots, &provider)?, exact)
        }
        TlsTrust::SystemRoots => {
            Check::WebPki(webpki_verifier(system_roots()?, &provider)?, Vec::new())
        }
    };
    let verifier = Arc::new(Verifier {
        check,
        seen,
        provider: provider.clone(),
    });
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ArmError::Config(format!("TLS setup: {e}")))?
        .dangerous() // only to install our verifier, which always verifies
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(cfg)
}

fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ArmError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ArmError::Config(format!("CA file: cannot read PEM: {e}")))?;
    if certs.is_empty() {
        return Err(ArmError::Config(
            "CA file holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(certs)
}

fn system_roots() -> Result<RootCertStore, ArmError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(ArmError::Config(
            "no system root certificates found; trust the ARM with --ca-file or --pin-sha256"
                .into(),
        ));
    }
    Ok(roots)
}

fn webpki_verifier(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, ArmError> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| ArmError::Config(format!("TLS roots: {e}")))
}

#[derive(Debug)]
enum Check {
    Pin([u8; 32]),
    /// Path validation against roots, plus certificates (DER) trusted as they are: a device's
    /// self-signed certificate put in a CA file is often marked CA:TRUE, which path
    /// validation refuses as a server certificate, yet naming it is as explicit as a pin.
    WebPki(Arc<WebPkiServerVerifier>, Vec<Vec<u8>>),
}

/// Records the leaf, then checks it against the pin or the roots. Handshake signatures are
/// always verified with the ring provider's algorithms, so a pin cannot be replayed by a
/// server that merely copies the certificate.
#[derive(Debug)]
struct Verifier {
    check: Check,
    seen: SeenLeaf,
    provider: Arc<CryptoProvider>,
}

#[derive(Debug)]
struct PinMismatch;

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("its SHA-256 does not match the pinned fingerprint")
    }
}

impl std::error::Error for PinMismatch {}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(end_entity.to_vec());
        }
        match &self.check {
            Check::Pin(pin) => {
                let got = ring::digest::digest(&ring::digest::SHA256, end_entity.as_ref());
                if got.as_ref() == pin.as_slice() {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                        OtherError(Arc::new(PinMismatch)),
                    )))
                }
            }
            Check::WebPki(_, exact) if exact.iter().any(|c| c == end_entity.as_ref()) => {
                Ok(ServerCertVerified::assertion())
            }
            Check::WebPki(v, _) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The rustls error somewhere in `err`'s source chain, described for an admin.
pub(crate) fn find_tls_error(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(err);
    // Bounded: source chains are short; 16 guards against a cyclic one.
    for _ in 0..16 {
        let e = cur?;
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(describe(t));
        }
        // io::Error::source() skips the error it wraps, and connectors wrap io errors in io
        // errors, so step into the wrapped error explicitly.
        cur = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

fn describe(e: &rustls::Error) -> String {
    use CertificateError as C;
    let rustls::Error::InvalidCertificate(c) = e else {
        return e.to_string();
    };
    let why = match c {
        C::Other(o) if o.0.is::<PinMismatch>() => PinMismatch.to_string(),
        C::Other(o) => o.0.to_string(),
        C::UnknownIssuer => "it is not signed by a trusted CA (self-signed?)".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "it is not valid for this host name".into()
        }
        C::Expired | C::ExpiredContext { .. } => "it has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet".into(),
        other => format!("{other:?}"),
    };
    format!("the device's certificate was refused: {why}")
}

/// Just enough DER to show subject, issuer and validity of an X.509 certificate.
mod der {
    pub(super) struct Details {
        pub subject: Option<String>,
        pub issuer: Option<String>,
        pub not_before: Option<String>,
        pub not_after: Option<String>,
    }

    /// One TLV: (tag, content, rest).
    fn next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }

    pub(super) fn read_certificate(der: &[u8]) -> Option<Details> {
        let (_, cert, _) = next(der)?;
        let (_, mut tbs, _) = next(cert)?;
        let mut field = || {
            let (tag, content, rest) = next(tbs)?;
            tbs = rest;
            Some((tag, content))
        };
        // [0] version (optional), serial number, signature algorithm, issuer, validity, subject.
        if field()?.0 == 0xa0 {
            field()?; // that was the version; this is the serial number
        }
        field()?; // signature algorithm
        let (_, issuer) = field()?;
        let (_, validity) = field()?;
        let (_, subject) = field()?;
        let (t1, nb, rest) = next(validity)?;
        let (t2, na, _) = next(rest)?;
        Some(Details {
            subject: name(subject),
            issuer: name(issuer),
            not_before: time(t1, nb),
            not_after: time(t2, na),
        })
    }

    fn name(mut rdns: &[u8]) -> Option<String> {
        let mut parts = Vec::new();
        while let Some((_, set, rest)) = next(rdns) {
            rdns = rest;
            let Some((_, atv, _)) = next(set) else {
                continue;
            };
            let Some((_, oid, value)) = next(atv) else {
                continue;
            };
            let Some((vtag, value, _)) = next(value) else {
                continue;
            };
            let label = match oid {
                [0x55, 0x04, 0x03] => "CN",
                [0x55, 0x04, 0x06] => "C",
                [0x55, 0x04, 0x07] => "L",
                [0x55, 0x04, 0x08] => "ST",
                [0x55, 0x04, 0x0a] => "O",
                [0x55, 0x04, 0x0b] => "OU",
                _ => continue,
            };
            // UTF8String, PrintableString, T61String, IA5String.
            if matches!(vtag, 0x0c | 0x13 | 0x14 | 0x16) {
                parts.push(format!("{label}={}", String::from_utf8_lossy(value)));
            }
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    fn time(tag: u8, v: &[u8]) -> Option<String> {
        let s = std::str::from_utf8(v).ok()?;
        let full = match tag {
            0x17 if s.len() >= 12 => {
                let yy: u32 = s[..2].parse().ok()?;
                format!("{}{}", if yy >= 50 { 19 } else { 20 }, s)
            }
            0x18 => s.to_owned(),
            _ => return None,
        };
        if full.len() < 14 || !full[..14].bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(format!(
            "{}-{}-{}T{}:{}:{}Z",
            &full[..4],
            &full[4..6],
            &full[6..8],
            &full[8..10],
            &full[10..12],
            &full[12..14]
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_parses_with_or_without_colons() {
        let hex64 = "AB".repeat(32);
        let colons = vec!["ab"; 32].join(":");
        assert_eq!(
            TlsTrust::pin_from_hex(&hex64).unwrap(),
            TlsTrust::PinSha256([0xab; 32])
        );
        assert_eq!(
            TlsTrust::pin_from_hex(&colons).unwrap(),
            TlsTrust::PinSha256([0xab; 32])
        );
        assert!(TlsTrust::pin_from_hex("abcd").is_err());
        assert!(TlsTrust::pin_from_hex(&"zz".repeat(32)).is_err());
    }

    /// `openssl req -x509 -newkey ec -subj "/CN=arm.contoso.example/O=Contoso" -days 3650`
    const CERT_PEM: &str = "\
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

    #[test]
    fn peer_certificate_details_from_a_generated_certificate() {
        let der = CertificateDer::from_pem_slice(CERT_PEM.as_bytes()).unwrap();
        let p = PeerCertificate::from_der(&der);
        assert_eq!(
            p.sha256_hex,
            "96f4b367f1f91586068068ab0c38e9d9599b2e645de8d838910b8fc7dddb5058"
        );
        assert_eq!(
            p.subject.as_deref(),
            Some("CN=arm.contoso.example, O=Contoso")
        );
        assert_eq!(p.issuer, p.subject);
        assert_eq!(p.not_before.as_deref(), Some("2026-12-03T16:24:53Z"));
        assert_eq!(p.not_after.as_deref(), Some("2036-11-30T16:24:53Z"));
        assert!(matches!(
            TlsTrust::pin_from_hex(&p.sha256_hex).unwrap(),
            TlsTrust::PinSha256(pin) if hex(&pin) == p.sha256_hex
        ));
    }

    #[test]
    fn garbage_der_gives_a_fingerprint_and_no_details() {
        let p = PeerCertificate::from_der(b"\x30\x82\xff");
        assert_eq!(p.subject, None);
        assert_eq!(p.sha256_hex.len(), 64);
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let seen = SeenLeaf::default();
        let err = client_config(&TlsTrust::CaPem(b"not pem".to_vec()), seen).unwrap_err();
        assert!(err.to_string().contains("CA file"), "{err}");
    }
}
