//! Stop files: while `<control-dir>/<node>.stopped` exists, that node's
//! agent is "down" — it renews no Lease, posts no node status and does not
//! touch its pods — so node-failure handling can be tested. Removing the
//! file brings it back: it heartbeats at once, re-posts Ready and catches
//! its pods up; if its Node object was deleted meanwhile (or before), it
//! first registers a new one, as a starting kubelet does. The directory is
//! polled every [`POLL_INTERVAL`].

use crate::fleet::Fleet;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How often the control directory is read.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The suffix of a stop file.
pub const STOP_SUFFIX: &str = ".stopped";

/// The stop file of `node` in `dir`.
pub fn stop_file(dir: &Path, node: &str) -> PathBuf {
    dir.join(format!("{node}{STOP_SUFFIX}"))
}

/// Node names with a stop file in `dir` (an absent directory has none).
pub async fn stopped_nodes(dir: &Path) -> HashSet<String> {
    let mut names = HashSet::new();
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return names;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        if let Some(node) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_suffix(STOP_SUFFIX))
        {
            names.insert(node.to_owned());
        }
    }
    names
}

/// Applies the stop files once; returns how many nodes changed state.
pub async fn apply(dir: &Path, fleet: &Fleet) -> usize {
    let stopped = stopped_nodes(dir).await;
    let mut changed = 0;
    for node in fleet.iter() {
        let stop = stopped.contains(&node.name);
        if node.set_stopped(stop) {
            changed += 1;
            if stop {
                tracing::info!(node = %node.name, "node stopped by stop file");
            } else {
                tracing::info!(node = %node.name, "node started again");
            }
        }
    }
    changed
}

/// Polls `dir` forever.
pub async fn watch(dir: PathBuf, fleet: Arc<Fleet>) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        apply(&dir, &fleet).await;
    }
}
