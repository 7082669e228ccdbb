//! `bosun up`: start a cluster's components in the background, wait until
//! it is ready, and write its kubeconfig context.

use crate::cluster::{Cluster, ComponentKind, ComponentRecord};
use crate::error::{Error, Result};
use crate::opts::UpOpts;
use crate::paths::{self, Layout};
use crate::process::{self, Spawned};
use crate::progress::Progress;
use crate::{health, kubeconfig};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// How often readiness is polled.
const POLL: Duration = Duration::from_millis(20);
/// The timeout of each readiness request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long components get to exit gracefully when `up` fails.
const FAILURE_GRACE: Duration = Duration::from_secs(5);
/// How long a component without a readiness signal (controller-manager,
/// scheduler) must have stayed up.
const SETTLE: Duration = Duration::from_millis(200);
/// Lines of a failed component's log shown in the error.
const TAIL_LINES: usize = 30;

/// Starts the cluster `opts` describes and waits until it is ready: the
/// apiserver answers `/readyz` and, when the node simulator runs, all
/// `--nodes` nodes are Ready. Then merges the `bosun-<name>` context into
/// the kubeconfig (or writes `--kubeconfig`), records everything in
/// `DATA_DIR/cluster.json` and returns that record.
///
/// Fails with [`Error::AlreadyRunning`] when the cluster's recorded
/// processes still run, and with [`Error::ComponentFailed`] (carrying the
/// end of its log) when a component exits or is not ready within
/// `--timeout`; what had been started is then stopped again (its record
/// and logs stay). Dropping the returned future before it completes also
/// stops it.
pub async fn up(opts: &UpOpts) -> Result<Cluster> {
    let name = &opts.cluster.name;
    paths::validate_name(name)?;
    let data_dir = paths::data_dir(name, opts.cluster.data_dir.as_deref())?;
    let layout = Layout::new(&data_dir);
    std::fs::create_dir_all(layout.logs()).map_err(Error::io(layout.logs()))?;
    let _lock = UpLock::acquire(&layout, opts)?;
    if let Some(existing) = Cluster::load(&data_dir)?
        && existing.any_running()
    {
        return Err(Error::AlreadyRunning {
            name: name.clone(),
            data_dir,
            selector: opts.cluster.selector(),
        });
    }
    let target = match &opts.kubeconfig {
        Some(path) => paths::absolute(path)?,
        None => paths::default_kubeconfig()?,
    };
    let apiserver =
        paths::require_binary(ComponentKind::Apiserver.binary(), opts.bin_dir.as_deref())?;

    let mut progress = Progress::new(opts.quiet);
    let started = Instant::now();
    let mut run = Starting {
        record: Cluster::new(opts, &data_dir),
        children: Vec::new(),
        armed: true,
    };
    let deadline = started + Duration::from_secs(opts.timeout);
    let result = start(&mut run, opts, &apiserver, &target, deadline, &mut progress).await;
    match result {
        Ok(()) => {
            run.armed = false;
            print_usage(&run.record, opts, &target, started, &mut progress);
            Ok(run.record.clone())
        }
        Err(err) => {
            progress.note("stopping the components started so far");
            run.stop_all().await;
            Err(err)
        }
    }
}

/// A component started by this `up`, still owned by it.
struct Running {
    kind: ComponentKind,
    child: Child,
    log: PathBuf,
    log_offset: u64,
    started: Instant,
}

/// What `up` has started so far; on drop (cancellation) everything is
/// killed, unless `up` succeeded. The record stays (naming processes that
/// no longer run), so `status` shows the failed cluster and `down
/// --delete-data` can remove its data directory.
struct Starting {
    record: Cluster,
    children: Vec<Running>,
    armed: bool,
}

impl Starting {
    fn spawn(&mut self, kind: ComponentKind, binary: &Path, args: Vec<String>) -> Result<()> {
        let layout = self.record.layout();
        let log = layout.log(kind.name());
        let Spawned { child, log_offset } = process::spawn(binary, &args, &layout.root, &log)?;
        self.record.components.push(ComponentRecord {
            kind,
            binary: binary.to_owned(),
            args,
            pid: child.id(),
            log: log.clone(),
        });
        self.children.push(Running {
            kind,
            child,
            log,
            log_offset,
            started: Instant::now(),
        });
        // Recorded at once, so `down` can stop it even if this process dies.
        self.record.save()
    }

    fn failed(&self, kind: ComponentKind, reason: String) -> Error {
        let (log, tail) = match self.children.iter().find(|r| r.kind == kind) {
            Some(r) => (
                r.log.clone(),
                process::log_tail(&r.log, r.log_offset, TAIL_LINES),
            ),
            None => (
                self.record.layout().log(kind.name()),
                "(not started)".to_owned(),
            ),
        };
        Error::ComponentFailed {
            component: kind.name().to_owned(),
            reason,
            log,
            tail,
        }
    }

    /// Fails if any component has exited.
    fn check_exited(&mut self) -> Result<()> {
        let exited = self
            .children
            .iter_mut()
            .find_map(|r| match r.child.try_wait() {
                Ok(Some(status)) => Some((r.kind, format!("exited ({status})"))),
                Ok(None) => None,
                Err(err) => Some((r.kind, format!("cannot be waited for: {err}"))),
            });
        match exited {
            Some((kind, reason)) => Err(self.failed(kind, reason)),
            None => Ok(()),
        }
    }

    /// Sleeps one poll interval, failing if a component exited or the
    /// deadline passed (blamed on `waiting_for`, with `what` as the reason).
    async fn tick(
        &mut self,
        deadline: Instant,
        waiting_for: ComponentKind,
        what: &str,
    ) -> Result<()> {
        self.check_exited()?;
        if Instant::now() >= deadline {
            let timeout = self.record.options.timeout;
            return Err(self.failed(waiting_for, format!("{what} within {timeout}s")));
        }
        tokio::time::sleep(POLL).await;
        Ok(())
    }

    async fn stop_all(&mut self) {
        for running in self.children.iter_mut().rev() {
            process::stop_child(&mut running.child, FAILURE_GRACE).await;
        }
        self.armed = false;
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if self.armed {
            for running in self.children.iter_mut().rev() {
                process::kill_child_now(&mut running.child);
            }
        }
    }
}

/// Serialises `up`s of one data directory: `DATA_DIR/up.lock` holds the PID
/// of the `up` in progress; a lock whose process is gone is taken over.
struct UpLock(PathBuf);

impl UpLock {
    fn acquire(layout: &Layout, opts: &UpOpts) -> Result<Self> {
        let path = layout.root.join("up.lock");
        let busy = || Error::AlreadyRunning {
            name: opts.cluster.name.clone(),
            data_dir: layout.root.clone(),
            selector: opts.cluster.selector(),
        };
        for _ in 0..3 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    use std::io::Write as _;
                    let _ = write!(file, "{}", std::process::id());
                    return Ok(Self(path));
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok());
                    if holder.is_some_and(|pid| pid != std::process::id() && process::is_alive(pid))
                    {
                        return Err(busy());
                    }
                    let _ = std::fs::remove_file(&path);
                }
                Err(source) => return Err(Error::Io { path, source }),
            }
        }
        Err(busy())
    }
}

impl Drop for UpLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn port_of(url: &str) -> Option<u16> {
    url.trim_end_matches('/').rsplit(':').next()?.parse().ok()
}

async fn start(
    run: &mut Starting,
    opts: &UpOpts,
    apiserver: &Path,
    target: &Path,
    deadline: Instant,
    progress: &mut Progress,
) -> Result<()> {
    let layout = run.record.layout();
    let admin_path = layout.admin_kubeconfig();
    match std::fs::remove_file(&admin_path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::Io {
                path: admin_path,
                source: err,
            });
        }
        _ => {}
    }

    // The apiserver writes the admin kubeconfig once it serves.
    let store = if opts.etcd_servers.is_empty() {
        "embedded store".to_owned()
    } else {
        format!("etcd {}", opts.etcd_servers.join(","))
    };
    progress.step(&format!("Starting apiserver ({store})"));
    let mut args: Vec<String> = vec![
        "--data-dir".into(),
        layout.store().display().to_string(),
        "--bind-address".into(),
        "127.0.0.1".into(),
        "--secure-port".into(),
        opts.port.to_string(),
        "--write-kubeconfig".into(),
        admin_path.display().to_string(),
    ];
    if !opts.etcd_servers.is_empty() {
        args.extend(["--etcd-servers".into(), opts.etcd_servers.join(",")]);
    }
    run.spawn(ComponentKind::Apiserver, apiserver, args)?;
    while !admin_path.exists() {
        run.tick(deadline, ComponentKind::Apiserver, "wrote no kubeconfig")
            .await?;
    }
    let admin = kubeconfig::read(&admin_path)?;
    let endpoint = kubeconfig::server_url(&admin).ok_or_else(|| Error::Kubeconfig {
        path: admin_path.clone(),
        message: "no server URL in the current context".to_owned(),
    })?;
    run.record.port = port_of(&endpoint);
    run.record.endpoint = Some(endpoint.clone());
    run.record.save()?;
    let client = health::client(&admin, &admin_path, REQUEST_TIMEOUT).await?;
    loop {
        match health::readyz(&client).await {
            Ok(()) => break,
            Err(err) => {
                tracing::debug!(error = %err, "apiserver not ready yet");
                run.tick(
                    deadline,
                    ComponentKind::Apiserver,
                    &format!("not ready ({err})"),
                )
                .await?;
            }
        }
    }
    progress.done(&format!("apiserver ready at {endpoint}"));

    // Everything else is an API client of the apiserver; started together.
    let admin_arg = admin_path.display().to_string();
    for kind in [
        ComponentKind::ControllerManager,
        ComponentKind::Scheduler,
        ComponentKind::NodeSim,
    ] {
        if kind == ComponentKind::NodeSim && opts.nodes == 0 {
            continue;
        }
        let Some(binary) = paths::find_binary(kind.binary(), opts.bin_dir.as_deref()) else {
            progress.note(&format!(
                "{} not installed; skipping the {}",
                kind.binary(),
                kind.name()
            ));
            run.record.skipped.push(kind);
            continue;
        };
        let mut args = vec!["--kubeconfig".to_owned(), admin_arg.clone()];
        match kind {
            ComponentKind::NodeSim => {
                args.extend([
                    "--nodes".to_owned(),
                    opts.nodes.to_string(),
                    "--control-dir".to_owned(),
                    layout.node_control().display().to_string(),
                ]);
            }
            // Several clusters may run side by side: health endpoints on
            // any free port rather than upstream's fixed ones.
            ComponentKind::ControllerManager | ComponentKind::Scheduler => {
                args.extend([
                    "--healthz-bind-address".to_owned(),
                    "127.0.0.1:0".to_owned(),
                ]);
                args.extend(if kind == ComponentKind::Scheduler {
                    opts.scheduler_args.iter().cloned()
                } else {
                    opts.controller_manager_args.iter().cloned()
                });
            }
            ComponentKind::Apiserver => {}
        }
        progress.step(&format!("Starting {}", kind.name()));
        run.spawn(kind, &binary, args)?;
        progress.done(&format!("{} started", kind.name()));
    }
    run.record.save()?;

    if run.record.component(ComponentKind::NodeSim).is_some() {
        let want = usize::try_from(opts.nodes).unwrap_or(usize::MAX);
        progress.step(&format!("Waiting for {want} nodes to be Ready"));
        let mut last = health::NodeCount::default();
        loop {
            match health::nodes(&client).await {
                Ok(count) => {
                    last = count;
                    progress.update(&format!("Nodes Ready {}/{want}", count.ready));
                    if count.ready >= want {
                        break;
                    }
                }
                Err(err) => tracing::debug!(error = %err, "listing nodes failed"),
            }
            let what = format!("only {}/{want} nodes Ready", last.ready);
            run.tick(deadline, ComponentKind::NodeSim, &what).await?;
        }
        progress.done(&format!("{want}/{want} nodes Ready"));
    }

    // Components without a readiness signal must at least stay up a moment.
    let unsettled = |r: &Running| {
        matches!(
            r.kind,
            ComponentKind::ControllerManager | ComponentKind::Scheduler
        ) && r.started.elapsed() < SETTLE
    };
    while run.children.iter().any(unsettled) {
        run.tick(deadline, ComponentKind::Apiserver, "not settled")
            .await?;
    }
    run.check_exited()?;

    let entries = kubeconfig::renamed(&admin, &run.record.context, &admin_path)?;
    kubeconfig::merge_into(target, &entries)?;
    run.record.kubeconfig = Some(target.to_owned());
    run.record.save()
}

fn print_usage(
    record: &Cluster,
    opts: &UpOpts,
    target: &Path,
    started: Instant,
    progress: &mut Progress,
) {
    let name = &record.name;
    let context = &record.context;
    let endpoint = record.endpoint.as_deref().unwrap_or("?");
    let selector = opts.cluster.selector();
    let took = started.elapsed().as_secs_f64();
    let how = if opts.kubeconfig.is_some() {
        format!(
            "Kubeconfig written to {} (context {context}). Use it with:\n\n  export KUBECONFIG={}\n  kubectl get nodes",
            target.display(),
            target.display()
        )
    } else {
        format!(
            "Context {context} added to {} and made current. Try:\n\n  kubectl cluster-info --context {context}\n  kubectl get nodes",
            target.display()
        )
    };
    progress.say(&format!(
        "\nCluster {name:?} is ready at {endpoint} ({took:.1}s).\n{how}\n\nStatus: bosun status {selector}\nStop:   bosun down {selector}"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        assert_eq!(port_of("https://127.0.0.1:6443"), Some(6443));
        assert_eq!(port_of("https://127.0.0.1:41000/"), Some(41000));
        assert_eq!(port_of("https://example"), None);
    }
}
