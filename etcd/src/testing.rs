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

/// How many times `start` tries fresh ports when etcd exits at start-up
/// (for example because another process took a port between our probe and
/// etcd's bind).
const START_ATTEMPTS: usize = 4;

impl EtcdProcess {
    /// Starts etcd and waits (up to 60 s) until it answers requests. etcd's
    /// own log goes to `etcd.log` in its data directory and is quoted in errors.
    pub async fn start() -> Result<Self> {
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once().await {
                Ok(process) => return Ok(process),
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error.unwrap_or_else(|| StorageError::Unavailable("etcd did not start".into())))
    }

    async fn start_once() -> Result<Self> {
        let bin = std::env::var(ETCD_BIN_ENV).unwrap_or_else(|_| "etcd".to_owned());
        let dir = unique_temp_dir("etcd");
        std::fs::create_dir_all(&dir)
            .map_err(|e| StorageError::Internal(format!("cannot create {}: {e}", dir.display())))?;
        let log = std::fs::File::create(dir.join("etcd.log"))
            .map_err(|e| StorageError::Internal(format!("cannot create etcd log: {e}")))?;
        let (client_port, peer_port) = (free_port()?, free_port()?);
        let endpoint = format!("http://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let child = Command::new(&bin)
            .arg("--name=bosun-test")
            .arg(format!("--data-dir={}", dir.join("data").display()))
            .arg(format!("--listen-client-urls={endpoint}"))
            .arg(format!("--advertise-client-urls={endpoint}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=bosun-test={peer}"))
            .arg("--logger=zap")
            .arg("--log-level=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| {
                StorageError::Unavailable(format!(
                    "cannot run `{bin}` ({e}); install etcd (Debian: apt-get install etcd-server) or set {ETCD_BIN_ENV}"
                ))
            })?;
        let mut process = Self {
            child,
            dir,
            endpoint,
        };
        process.wait_ready().await?;
        Ok(process)
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("etcd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(StorageError::Unavailable(format!(
                    "etcd exited at start-up ({status}): {}",
                    self.log_tail()
                )));
            }
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
                    "etcd at {} never became ready: {last}; log: {}",
                    self.endpoint,
                    self.log_tail()
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
