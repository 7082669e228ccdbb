//! Time from `bosun up --nodes 3` to a ready cluster (apiserver `/readyz`
//! ok and, once `bosun-node-sim` exists, 3 nodes Ready), in-process through
//! the library, as `cargo bench -p bosun-cli --bench up` runs it
//! (`BOSUN_BENCH_NODES` changes the node count).
//!
//! Two figures: a cold start (fresh data directory: certificates are
//! generated, the store created) and a warm one (`up` again after `down`,
//! on the same data). `BOSUN_BENCH_RUNS` sets the runs of each (default 5);
//! `BOSUN_BIN_DIR` points at the component binaries if they are not beside
//! this bench's target directory.

#[path = "../tests/common/mod.rs"]
mod common;

use bosun_cli::{ClusterRef, DownOpts, UpOpts, down, up};
use common::Guard;
use std::time::{Duration, Instant};

/// Nodes per cluster: `BOSUN_BENCH_NODES` (default 3).
fn nodes() -> u32 {
    std::env::var("BOSUN_BENCH_NODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (Some(min), Some(max)) = (times.first(), times.last()) else {
        return;
    };
    let median = times[times.len() / 2];
    println!(
        "{label:<28} runs {:>2}  min {:>7.1} ms  median {:>7.1} ms  max {:>7.1} ms",
        times.len(),
        ms(*min),
        ms(median),
        ms(*max)
    );
}

async fn bench(
    runs: usize,
    bin_dir: Option<std::path::PathBuf>,
) -> (Vec<Duration>, Vec<Duration>, bool) {
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut had_nodes = false;
    for _ in 0..runs {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let _guard = Guard::new(&data);
        let opts = UpOpts {
            cluster: ClusterRef {
                name: "bench".to_owned(),
                data_dir: Some(data.clone()),
            },
            nodes: nodes(),
            kubeconfig: Some(dir.path().join("kubeconfig")),
            bin_dir: bin_dir.clone(),
            quiet: true,
            ..UpOpts::default()
        };
        let stop = DownOpts {
            cluster: opts.cluster.clone(),
            delete_data: false,
            quiet: true,
        };

        let started = Instant::now();
        let cluster = up(&opts).await.expect("up");
        cold.push(started.elapsed());
        had_nodes |= cluster
            .component(bosun_cli::ComponentKind::NodeSim)
            .is_some();
        down(&stop).await.expect("down");

        let started = Instant::now();
        up(&opts).await.expect("up again");
        warm.push(started.elapsed());
        let delete = DownOpts {
            delete_data: true,
            ..stop
        };
        down(&delete).await.expect("down --delete-data");
    }
    (cold, warm, had_nodes)
}

fn main() {
    let runs = std::env::var("BOSUN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let bin_dir = std::env::var_os("BOSUN_BIN_DIR").map(std::path::PathBuf::from);
    if bin_dir.is_none() {
        common::ensure_binaries();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (cold, warm, had_nodes) = runtime.block_on(bench(runs, bin_dir));
    let what = if had_nodes {
        format!("{} nodes Ready", nodes())
    } else {
        "apiserver only (no node-sim)".to_owned()
    };
    println!("bosun up --nodes {} to ready: {what}", nodes());
    summary("cold (fresh data dir)", cold);
    summary("warm (up after down)", warm);
}
