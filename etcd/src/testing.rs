//! Test and benchmark support: a real `etcd` process on free loopback ports
//! with a temporary data directory, stopped and removed on drop.

use crate::error::{Result, StorageError};
use crate::etcd3::{EtcdConfig, EtcdStore};
use crate::storage::Storage;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Environment variable naming the etcd binary (default: `etcd` on `PATH`).
pub const ETCD_BIN_ENV: &str = "BOSUN_ETCD_BIN";

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A running single-member etcd, killed and cleaned up on drop.
#[derive(Debug)]
pub struct EtcdProcess {
    child: Child,
    dir: PathBuf,
    /// The client URL, `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| StorageError::Internal(format!("cannot find a free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| StorageError::Internal(format!("cannot find a free port: {e}")))
}

/// A fresh directory under the system temp dir, unique to this call.
pub fn unique_temp_dir(label: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!(
        "bosun-{label}-{}-{}-{nanos}",
        std::process::id(),
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    ))
}

impl EtcdProcess {
    /// Starts etcd and waits (up to 30 s) until it answers requests.
    pub async fn start() -> Result<Self> {
        let bin = std::env::var(ETCD_BIN_ENV).unwrap_or_else(|_| "etcd".to_owned());
        let dir = unique_temp_dir("etcd");
        let (client_port, peer_port) = (free_port()?, free_port()?);
        let endpoint = format!("http://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let child = Command::new(&bin)
            .arg("--name=bosun-test")
            .arg(format!("--data-dir={}", dir.display()))
            .arg(format!("--listen-client-urls={endpoint}"))
            .arg(format!("--advertise-client-urls={endpoint}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=bosun-test={peer}"))
            .arg("--logger=zap")
            .arg("--log-level=error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                StorageError::Unavailable(format!(
                    "cannot run `{bin}` ({e}); install etcd (Debian: apt-get install etcd-server) or set {ETCD_BIN_ENV}"
                ))
            })?;
        let process = Self {
            child,
            dir,
            endpoint,
        };
        process.wait_ready().await?;
        Ok(process)
    }

    async fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut config = EtcdConfig::new([self.endpoint.clone()]);
            config.request_timeout = Duration::from_secs(1);
            config.connect_timeout = Duration::from_secs(1);
            let last = match EtcdStore::connect(config).await {
                Ok(store) => match store.current_revision().await {
                    Ok(_) => return Ok(()),
                    Err(e) => e,
                },
                Err(e) => e,
            };
            if Instant::now() > deadline {
                return Err(StorageError::Unavailable(format!(
                    "etcd at {} never became ready: {last}",
                    self.endpoint
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A store connected to this etcd.
    pub async fn store(&self) -> Result<EtcdStore> {
        EtcdStore::connect(EtcdConfig::new([self.endpoint.clone()])).await
    }
}

impl Drop for EtcdProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
