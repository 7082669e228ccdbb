//! `bosun down`: stop what `up` started and remove its kubeconfig context.

use crate::cluster::{Cluster, ComponentKind};
use crate::error::{Error, Result};
use crate::kubeconfig;
use crate::opts::DownOpts;
use crate::paths::{self, Layout};
use crate::process::{self, Stopped};
use crate::progress::Progress;
use std::path::PathBuf;

/// What `down` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    /// Each recorded component and how its stop went.
    pub stopped: Vec<(ComponentKind, u32, Stopped)>,
    /// The kubeconfig the context was removed from, if it was there.
    pub kubeconfig: Option<PathBuf>,
    /// Whether the data directory was deleted.
    pub deleted_data: bool,
}

/// Stops every component recorded in the cluster's `cluster.json` (in
/// reverse start order; SIGTERM, then SIGKILL after a grace period; only
/// PIDs that still run the recorded binary), removes the context it merged
/// into the kubeconfig and, with `--delete-data`, the data directory.
///
/// Stopping a stopped cluster again is not an error; a data directory
/// without a record is [`Error::NotFound`] (and is never deleted).
pub async fn down(opts: &DownOpts) -> Result<Down> {
    let name = &opts.cluster.name;
    paths::validate_name(name)?;
    let data_dir = paths::data_dir(name, opts.cluster.data_dir.as_deref())?;
    let layout = Layout::new(&data_dir);
    let Some(mut record) = Cluster::load(&data_dir)? else {
        return Err(Error::NotFound {
            name: name.clone(),
            record: layout.record(),
        });
    };
    let mut progress = Progress::new(opts.quiet);
    let mut stopped = Vec::new();
    for component in record.components.iter().rev() {
        let kind = component.kind;
        progress.step(&format!("Stopping {} (pid {})", kind.name(), component.pid));
        let outcome = process::stop(
            kind.name(),
            component.pid,
            &component.binary,
            &component.args,
            process::STOP_GRACE,
        )
        .await?;
        progress.done(&match outcome {
            Stopped::NotRunning => format!("{} was not running", kind.name()),
            Stopped::Terminated => format!("{} stopped", kind.name()),
            Stopped::Killed => format!(
                "{} killed after {}s",
                kind.name(),
                process::STOP_GRACE.as_secs()
            ),
        });
        stopped.push((kind, component.pid, outcome));
    }

    let mut removed_from = None;
    if let Some(path) = record.kubeconfig.take()
        && kubeconfig::remove_from(&path, &record.context)?
    {
        progress.note(&format!(
            "removed context {} from {}",
            record.context,
            path.display()
        ));
        removed_from = Some(path);
    }

    let deleted_data = opts.delete_data;
    if deleted_data {
        std::fs::remove_dir_all(&data_dir).map_err(Error::io(&data_dir))?;
        progress.note(&format!("deleted {}", data_dir.display()));
    } else {
        // Keep the record (status shows the cluster stopped), without the
        // context that is gone now.
        record.save()?;
    }
    Ok(Down {
        stopped,
        kubeconfig: removed_from,
        deleted_data,
    })
}
