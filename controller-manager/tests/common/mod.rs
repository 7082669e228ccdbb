//! What every controller-manager integration test needs: the real
//! apiserver binary (skipped without `BOSUN_APISERVER_BIN`) with an
//! in-process controller-manager running the chosen controllers.

#![allow(dead_code)]

use bosun_controller_manager::{Config, run};
use bosun_runtime::testing::Apiserver;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// An apiserver, a client, and the controller-manager's stop handle
/// (dropping it stops the controller-manager).
pub struct Cluster {
    pub server: Apiserver,
    pub client: kube::Client,
    pub stop: Option<oneshot::Sender<()>>,
}

/// Flags for `controllers` (`--controllers` syntax) against `server`;
/// replacement pods after Job failures wait 200 ms here, not 10 s.
pub fn config(server: &Apiserver, controllers: &str) -> Config {
    let mut config = Config::new(Some(server.kubeconfig.clone()));
    config.controllers = controllers.split(',').map(str::to_owned).collect();
    config.job_pod_failure_backoff_ms = 200;
    config
}

/// Runs a controller-manager in-process until the returned sender drops.
pub fn start(config: Config) -> oneshot::Sender<()> {
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        if let Err(error) = run(config, async {
            let _ = stopped.await;
        })
        .await
        {
            panic!("controller-manager failed: {error}");
        }
    });
    stop
}

/// [`start`] with [`config`].
pub fn start_controller_manager(server: &Apiserver, controllers: &str) -> oneshot::Sender<()> {
    start(config(server, controllers))
}

/// A cluster whose controller-manager runs `controllers`, its flags
/// changed by `edit`; `None` when the apiserver binary is not given.
pub async fn cluster_with(controllers: &str, edit: impl FnOnce(&mut Config)) -> Option<Cluster> {
    let server = Apiserver::start().await?;
    let client = server.client().await;
    let mut flags = config(&server, controllers);
    edit(&mut flags);
    let stop = start(flags);
    Some(Cluster {
        server,
        client,
        stop: Some(stop),
    })
}

/// [`cluster_with`] default flags.
pub async fn cluster(controllers: &str) -> Option<Cluster> {
    cluster_with(controllers, |_| {}).await
}

/// Polls `check` until it yields a value (bounded at 30 s; not a timing check).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A typed object from JSON.
pub fn object<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("object")
}
