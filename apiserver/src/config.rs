//! Command-line flags and the server configuration they make.

use clap::Parser;
use std::net::IpAddr;
use std::path::PathBuf;

/// `bosun-apiserver` flags, named as kube-apiserver's where they overlap.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "bosun-apiserver",
    version,
    about = "Bosun's Kubernetes API server"
)]
pub struct Config {
    /// Directory for the embedded store and the generated certificates.
    #[arg(long, default_value = "./bosun-data")]
    pub data_dir: PathBuf,
    /// Comma-separated etcd client URLs; without it the embedded store is used.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,
    /// HTTPS port; 0 picks a free one.
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,
    /// Write an admin kubeconfig here once the server is ready.
    #[arg(long)]
    pub write_kubeconfig: Option<PathBuf>,
    /// The range Service cluster IPs are allocated from.
    #[arg(long, default_value = "10.96.0.0/12")]
    pub service_cluster_ip_range: String,
    /// The range NodePorts are allocated from.
    #[arg(long, default_value = "30000-32767")]
    pub service_node_port_range: String,
    /// Serving certificate (PEM); generated in the data dir when absent.
    #[arg(long, requires = "tls_private_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// Serving key (PEM).
    #[arg(long, requires = "tls_cert_file")]
    pub tls_private_key_file: Option<PathBuf>,
    /// CA that signs client certificates (PEM); the generated CA when absent.
    #[arg(long)]
    pub client_ca_file: Option<PathBuf>,
    /// How long an Event is kept after its last write.
    #[arg(long, default_value = "1h", value_parser = bosun_types::duration::parse)]
    pub event_ttl: std::time::Duration,
}

impl Config {
    /// The defaults, for tests: embedded store in `data_dir`, any free port.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            etcd_servers: Vec::new(),
            bind_address: IpAddr::from([127, 0, 0, 1]),
            secure_port: 0,
            write_kubeconfig: None,
            service_cluster_ip_range: "10.96.0.0/12".into(),
            service_node_port_range: "30000-32767".into(),
            tls_cert_file: None,
            tls_private_key_file: None,
            client_ca_file: None,
            event_ttl: crate::event_ttl::DEFAULT_TTL,
        }
    }
}
