//! Certificates: the cluster CA, the serving certificate and client
//! certificates, created on first start in `<data-dir>/pki` and reused
//! afterwards; and the rustls server configuration that authenticates clients
//! by certificate.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why certificates could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Certificate generation or parsing failed.
    #[error("certificate: {0}")]
    Cert(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_owned(),
        source,
    }
}

fn cert_err(err: impl std::fmt::Display) -> TlsError {
    TlsError::Cert(err.to_string())
}

/// The cluster's PKI material in PEM form.
#[derive(Clone)]
pub struct Pki {
    /// The CA certificate clients trust and that signs client certificates.
    pub ca_pem: String,
    ca_key_pem: Option<String>,
    /// The serving certificate chain.
    pub server_cert_pem: String,
    server_key_pem: String,
    /// The CA that verifies client certificates.
    pub client_ca_pem: String,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").finish_non_exhaustive()
    }
}

/// Writes a private key readable by its owner only, from the moment the
/// file exists (a file already there is narrowed before it is rewritten).
fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(io_err(path))?;
        }
    }
    options
        .open(path)
        .and_then(|mut file| file.write_all(contents.as_bytes()))
        .map_err(io_err(path))
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(io_err(path))
}

fn name(common_name: &str, organizations: &[&str]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    for org in organizations {
        dn.push(DnType::OrganizationName, *org);
    }
    dn
}

impl Pki {
    /// Loads the PKI from `<data_dir>/pki`, creating what is missing. The
    /// serving certificate covers localhost, 127.0.0.1, ::1 and `bind`.
    /// Explicit certificate files, when given, replace the generated ones.
    pub fn load_or_create(
        data_dir: &Path,
        bind: IpAddr,
        tls_cert: Option<&Path>,
        tls_key: Option<&Path>,
        client_ca: Option<&Path>,
    ) -> Result<Self, TlsError> {
        let dir = data_dir.join("pki");
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let (ca_crt, ca_key) = (dir.join("ca.crt"), dir.join("ca.key"));
        if !ca_crt.exists() || !ca_key.exists() {
            let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
            params.distinguished_name = name("bosun-ca", &[]);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            let key = KeyPair::generate().map_err(cert_err)?;
            let cert = params.self_signed(&key).map_err(cert_err)?;
            write_private(&ca_key, &key.serialize_pem())?;
            std::fs::write(&ca_crt, cert.pem()).map_err(io_err(&ca_crt))?;
        }
        let ca_pem = read(&ca_crt)?;
        let ca_key_pem = read(&ca_key)?;

        let (server_cert_pem, server_key_pem) = match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => (read(cert)?, read(key)?),
            _ => {
                let (crt, key) = (dir.join("apiserver.crt"), dir.join("apiserver.key"));
                let sans = server_sans(bind);
                if !crt.exists() || !key.exists() || !covers(&read(&crt)?, &sans) {
                    let (cert, key_pem) =
                        sign(&ca_pem, &ca_key_pem, "bosun-apiserver", &[], &sans, false)?;
                    write_private(&key, &key_pem)?;
                    std::fs::write(&crt, cert).map_err(io_err(&crt))?;
                }
                (read(&crt)?, read(&key)?)
            }
        };
        let client_ca_pem = match client_ca {
            Some(path) => read(path)?,
            None => ca_pem.clone(),
        };
        Ok(Self {
            ca_pem,
            ca_key_pem: Some(ca_key_pem),
            server_cert_pem,
            server_key_pem,
            client_ca_pem,
        })
    }

    /// Issues a client certificate (CN = user, O = group) signed by the CA.
    /// Returns (certificate PEM, key PEM). At most one group: the certificate
    /// library keeps one value per subject attribute.
    pub fn client_certificate(
        &self,
        user: &str,
        groups: &[&str],
    ) -> Result<(String, String), TlsError> {
        if groups.len() > 1 {
            return Err(TlsError::Cert(
                "client certificates carry at most one group".into(),
            ));
        }
        let ca_key = self
            .ca_key_pem
            .as_deref()
            .ok_or_else(|| TlsError::Cert("the CA key is not available".into()))?;
        sign(&self.ca_pem, ca_key, user, groups, &[], true)
    }

    /// The rustls configuration: serves the certificate, offers HTTP/2 and
    /// HTTP/1.1, and asks for (but does not require) a client certificate.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.client_ca_pem.as_bytes()) {
            roots.add(cert.map_err(cert_err)?).map_err(cert_err)?;
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(cert_err)?;
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.server_cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(cert_err)?;
        let key =
            PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes()).map_err(cert_err)?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(cert_err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(cert_err)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn server_sans(bind: IpAddr) -> Vec<String> {
    let mut sans: Vec<String> = [
        "localhost",
        "127.0.0.1",
        "::1",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if !bind.is_unspecified() && !sans.contains(&bind.to_string()) {
        sans.push(bind.to_string());
    }
    sans
}

/// Whether an existing serving certificate names every wanted SAN.
fn covers(cert_pem: &str, sans: &[String]) -> bool {
    let Ok(der) = CertificateDer::from_pem_slice(cert_pem.as_bytes()) else {
        return false;
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else {
        return false;
    };
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return false;
    };
    let names: Vec<String> = ext
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => Some((*d).to_owned()),
            x509_parser::extensions::GeneralName::IPAddress(ip) => match ip.len() {
                4 => <[u8; 4]>::try_from(*ip)
                    .ok()
                    .map(|b| IpAddr::from(b).to_string()),
                16 => <[u8; 16]>::try_from(*ip)
                    .ok()
                    .map(|b| IpAddr::from(b).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    sans.iter().all(|s| names.contains(s))
}

fn sign(
    ca_pem: &str,
    ca_key_pem: &str,
    common_name: &str,
    organizations: &[&str],
    sans: &[String],
    client: bool,
) -> Result<(String, String), TlsError> {
    let ca_key = KeyPair::from_pem(ca_key_pem).map_err(cert_err)?;
    let issuer = Issuer::from_ca_cert_pem(ca_pem, ca_key).map_err(cert_err)?;
    let mut params = CertificateParams::new(sans.to_vec()).map_err(cert_err)?;
    params.distinguished_name = name(common_name, organizations);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    let key = KeyPair::generate().map_err(cert_err)?;
    let cert = params.signed_by(&key, &issuer).map_err(cert_err)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Who a verified client certificate says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The certificate's common name.
    pub user: String,
    /// The certificate's organizations.
    pub groups: Vec<String>,
}

/// Reads CN and O from a client certificate rustls already verified.
pub fn identity_from_cert(der: &[u8]) -> Option<Identity> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let user = subject.iter_common_name().next()?.as_str().ok()?.to_owned();
    let groups = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_owned))
        .collect();
    Some(Identity { user, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pki_is_created_once_and_client_certs_carry_user_and_groups() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bind = IpAddr::from([127, 0, 0, 1]);
        let first = Pki::load_or_create(dir.path(), bind, None, None, None).expect("create");
        let again = Pki::load_or_create(dir.path(), bind, None, None, None).expect("reuse");
        assert_eq!(first.ca_pem, again.ca_pem);
        assert_eq!(first.server_cert_pem, again.server_cert_pem);
        first.server_config().expect("rustls config");
        let (cert, _key) = first
            .client_certificate("alice", &["system:masters"])
            .expect("client cert");
        let der = CertificateDer::from_pem_slice(cert.as_bytes()).expect("pem");
        let id = identity_from_cert(&der).expect("identity");
        assert_eq!(id.user, "alice");
        assert_eq!(id.groups, vec!["system:masters".to_owned()]);
        assert!(first.client_certificate("bob", &["a", "b"]).is_err());
    }

    #[test]
    fn a_new_bind_address_reissues_the_serving_certificate() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = Pki::load_or_create(dir.path(), IpAddr::from([127, 0, 0, 1]), None, None, None)
            .expect("create");
        let other = Pki::load_or_create(dir.path(), IpAddr::from([127, 0, 0, 2]), None, None, None)
            .expect("reissue");
        assert_eq!(first.ca_pem, other.ca_pem);
        assert_ne!(first.server_cert_pem, other.server_cert_pem);
        assert!(covers(
            &other.server_cert_pem,
            &server_sans(IpAddr::from([127, 0, 0, 2]))
        ));
    }
}
