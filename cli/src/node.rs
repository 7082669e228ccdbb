//! `bosun node stop|start NAME`: stop files for the node simulator
//! (`--control-dir DATA_DIR/nodes`, file `<node>.stopped`, the convention
//! of `bosun-node-sim`). A stopped node stops renewing its Lease and
//! posting status, and leaves its pods as they are, as a node whose kubelet
//! died; the node-lifecycle controller then marks it NotReady/Unknown.
//! Starting it again makes it heartbeat at once; if its Node object was
//! deleted meanwhile, it registers a new one (same name, new uid), as a
//! starting kubelet does.

use crate::cluster::{Cluster, ComponentKind};
use crate::error::{Error, Result};
use crate::opts::{NodeAction, NodeOpts};
use crate::paths::{self, Layout};

/// The stop-file suffix `bosun-node-sim` watches for.
pub const STOP_SUFFIX: &str = ".stopped";

/// Carries out `opts`; returns what was done, for printing.
pub fn node(opts: &NodeOpts) -> Result<String> {
    let (target, stop) = match &opts.action {
        NodeAction::Stop(t) => (t, true),
        NodeAction::Start(t) => (t, false),
    };
    paths::validate_name(&target.cluster.name)?;
    let data_dir = paths::data_dir(&target.cluster.name, target.cluster.data_dir.as_deref())?;
    let Some(cluster) = Cluster::load(&data_dir)? else {
        return Err(Error::NotFound {
            name: target.cluster.name.clone(),
            record: Layout::new(&data_dir).record(),
        });
    };
    if cluster.component(ComponentKind::NodeSim).is_none() {
        return Err(Error::Node(format!(
            "cluster {:?} runs no simulated nodes",
            cluster.name
        )));
    }
    let node = &target.node;
    let index = node
        .rsplit_once('-')
        .and_then(|(prefix, i)| (prefix == "bosun-node").then_some(i))
        .and_then(|i| i.parse::<u32>().ok());
    if index.is_none_or(|i| i >= cluster.options.nodes) {
        return Err(Error::Node(format!(
            "node {node:?} is not one of this cluster's simulated nodes (bosun-node-0 … bosun-node-{})",
            cluster.options.nodes.saturating_sub(1)
        )));
    }
    let dir = Layout::new(&data_dir).node_control();
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let file = dir.join(format!("{node}{STOP_SUFFIX}"));
    if stop {
        std::fs::write(&file, b"").map_err(Error::io(&file))?;
        Ok(format!("node {node} stopped"))
    } else {
        match std::fs::remove_file(&file) {
            Ok(()) => Ok(format!("node {node} started")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(format!("node {node} is not stopped"))
            }
            Err(e) => Err(Error::Io {
                path: file,
                source: e,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opts::{ClusterRef, NodeTarget};

    #[test]
    fn unknown_clusters_and_nodes_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let target = NodeTarget {
            node: "bosun-node-0".into(),
            cluster: ClusterRef {
                name: "nope".into(),
                data_dir: Some(dir.path().to_path_buf()),
            },
        };
        let err = node(&NodeOpts {
            action: NodeAction::Stop(target),
        })
        .expect_err("no cluster");
        assert!(err.to_string().contains("no cluster"), "{err}");
    }
}
