//! The admin kubeconfig `--write-kubeconfig` produces.

use crate::tls::{Pki, TlsError};
use std::net::SocketAddr;
use std::path::Path;

/// The cluster, user and context name in generated kubeconfigs.
pub const CONTEXT_NAME: &str = "bosun";
/// The admin user's certificate CN.
pub const ADMIN_USER: &str = "bosun-admin";

fn b64(data: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Renders a kubeconfig for `server_url` with a client certificate for
/// `user` in `groups`, trusting the cluster CA.
pub fn render(
    pki: &Pki,
    server_url: &str,
    user: &str,
    groups: &[&str],
) -> Result<String, TlsError> {
    let (cert, key) = pki.client_certificate(user, groups)?;
    Ok(format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {CONTEXT_NAME}\n  cluster:\n    server: {server_url}\n    certificate-authority-data: {ca}\nusers:\n- name: {user}\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\ncontexts:\n- name: {CONTEXT_NAME}\n  context:\n    cluster: {CONTEXT_NAME}\n    user: {user}\ncurrent-context: {CONTEXT_NAME}\npreferences: {{}}\n",
        ca = b64(&pki.ca_pem),
        cert = b64(&cert),
        key = b64(&key),
    ))
}

/// Writes the admin kubeconfig (O=system:masters) for a server at `addr`.
pub fn write_admin(pki: &Pki, addr: SocketAddr, path: &Path) -> Result<(), TlsError> {
    let url = format!("https://{addr}");
    let contents = render(pki, &url, ADMIN_USER, &["system:masters"])?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| TlsError::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    // Write then rename, so a reader never sees half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(|source| TlsError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| TlsError::Io {
        path: path.to_owned(),
        source,
    })
}
