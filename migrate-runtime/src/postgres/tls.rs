//! TLS for PostgreSQL sessions with rustls and its `ring` provider, given
//! explicitly so no process-wide default is needed (rustls panics when none
//! or two are installed). What is checked follows libpq's `sslmode`:
//! nothing without root certificates (`prefer`, `require`), the chain only
//! (`verify-ca`, and `prefer`/`require` with root certificates), chain and
//! host name (`verify-full`).

use crate::database::libpq::{Roots, SslMode, TlsSettings};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector for `settings`; reads the certificate files it names.
/// Under `disable` no file is read, as libpq reads none.
pub(crate) fn connector(settings: &TlsSettings) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let verifier = match settings.mode {
        SslMode::Disable => Arc::new(AnyCertificate(provider)),
        _ => verifier(settings, provider)?,
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
    let config = match &settings.client {
        Some((cert, key)) if settings.mode != SslMode::Disable => {
            builder.with_client_auth_cert(read_certs(cert, "sslcert")?, read_key(key)?).map_err(|e| {
                format!("cannot use sslcert={} with sslkey={}: {e}", cert.display(), key.display())
            })?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

fn verifier(
    settings: &TlsSettings,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let Some(roots) = &settings.roots else { return Ok(Arc::new(AnyCertificate(provider))) };
    let store = Arc::new(root_store(roots)?);
    let webpki = WebPkiServerVerifier::builder_with_provider(store, provider)
        .build()
        .map_err(|e| format!("cannot use {}: {e}", settings.roots_setting()))?;
    match settings.mode {
        SslMode::VerifyFull => Ok(webpki),
        _ => Ok(Arc::new(ChainOnly(webpki))),
    }
}

fn root_store(roots: &Roots) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            for cert in read_certs(path, "sslrootcert")? {
                store.add(cert).map_err(|e| format!("cannot use sslrootcert={}: {e}", path.display()))?;
            }
        }
        Roots::System => {
            store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if store.is_empty() {
                return Err("sslrootcert=system: the system has no root certificates".to_string());
            }
        }
    }
    Ok(store)
}

/// The certificates of a PEM file; an error names the file and setting.
fn read_certs(path: &Path, setting: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let unreadable = |e: &dyn std::fmt::Display| format!("cannot read {setting}={}: {e}", path.display());
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&e))?
        .collect::<Result<_, _>>()
        .map_err(|e| unreadable(&e))?;
    if certs.is_empty() {
        return Err(unreadable(&"no PEM certificate in it"));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| format!("cannot read sslkey={}: {e}", path.display()))
}

/// `verify-ca`: the chain must lead to a root certificate, whatever host
/// the certificate names. webpki checks the chain before the name, so a
/// name error means the chain was good.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer`/`require` without root certificates: encrypted, the server not
/// authenticated (libpq's meaning). The handshake's signatures are still
/// checked, so the session is bound to the certificate shown.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The words for a failed handshake, naming the setting that decided it.
pub(crate) fn explain(error: &rustls::Error, settings: &TlsSettings, host: &str) -> String {
    let roots = settings.roots_setting();
    match error {
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => {
            format!("the server's certificate is not signed by a trusted authority ({roots})")
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!("the server's certificate is not valid for host `{host}` (sslmode=verify-full)"),
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the server's certificate has expired".to_string(),
        other => format!("TLS handshake failed: {other} (sslmode={}, {roots})", settings.mode.name()),
    }
}
