//! Storage benchmark: durable writes/s, big lists and watch latency for the
//! embedded backend, the etcd backend and raw `etcd-client` against the same
//! etcd, all in one run so the ratios are meaningful.
//!
//! Run: `cargo bench -p bosun-storage --bench storage` (add `-- --quick` for a
//! short smoke run). Needs `etcd` on PATH (or `BOSUN_ETCD_BIN`).
#![allow(clippy::unwrap_used, missing_docs)]

use bosun_storage::testing::{EtcdProcess, unique_temp_dir};
use bosun_storage::{EmbeddedStore, ListOptions, Storage, WatchOptions};
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const VALUE_SIZE: usize = 2048;
/// Interleaved rounds per etcd write measurement.
const ROUNDS: usize = 4;

struct Sizes {
    writes_1: usize,
    writes_64: usize,
    list_keys: usize,
    watch_events: usize,
}

/// Runs `total` writes spread over `writers` tasks; returns writes per second.
async fn write_rate<F, Fut>(writers: usize, total: usize, write: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let write = Arc::new(write);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (write, next) = (write.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                write(i).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

async fn store_write_rate(
    store: Arc<dyn Storage>,
    label: &str,
    writers: usize,
    total: usize,
) -> f64 {
    let label = label.to_owned();
    write_rate(writers, total, move |i| {
        let store = store.clone();
        let key = format!("/bench/{label}/w{writers}/{i:08}");
        async move {
            store
                .create(key.as_bytes(), vec![b'x'; VALUE_SIZE])
                .await
                .unwrap();
        }
    })
    .await
}

/// Raw `etcd-client` writes: a plain put, or the create-if-absent transaction
/// (compare create revision, then put) that any guarded write must send.
async fn raw_etcd_write_rate(
    client: etcd_client::Client,
    txn: bool,
    writers: usize,
    total: usize,
) -> f64 {
    use etcd_client::{Compare, CompareOp, Txn, TxnOp};
    write_rate(writers, total, move |i| {
        let mut kv = client.kv_client();
        let key = format!("/bench/raw-{txn}/w{writers}/{i:08}");
        async move {
            let value = vec![b'x'; VALUE_SIZE];
            if txn {
                let guard = Compare::create_revision(key.clone(), CompareOp::Equal, 0);
                let request = Txn::new()
                    .when([guard])
                    .and_then([TxnOp::put(key, value, None)]);
                kv.txn(request).await.unwrap();
            } else {
                kv.put(key, value, None).await.unwrap();
            }
        }
    })
    .await
}

/// Fills `count` keys with 64 writers, then times a full list and a paged one.
async fn list_times(store: Arc<dyn Storage>, count: usize) -> (Duration, Duration) {
    write_rate(64, count, {
        let store = store.clone();
        move |i| {
            let store = store.clone();
            async move {
                let key = format!("/list/{i:08}");
                store.create(key.as_bytes(), vec![b'l'; 256]).await.unwrap();
            }
        }
    })
    .await;
    let opts = ListOptions {
        prefix: b"/list/".to_vec(),
        ..ListOptions::default()
    };
    let started = Instant::now();
    let page = store.list(opts.clone()).await.unwrap();
    let full = started.elapsed();
    assert_eq!(page.kvs.len(), count);
    let started = Instant::now();
    let mut token = None;
    let mut seen = 0;
    loop {
        let page = store
            .list(ListOptions {
                limit: Some(500),
                continue_token: token.take(),
                ..opts.clone()
            })
            .await
            .unwrap();
        seen += page.kvs.len();
        match page.continue_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen, count);
    (full, started.elapsed())
}

/// Sequential writes with a prefix watch open: time from issuing each write
/// to the watcher receiving its event. Returns (p50, p99).
async fn watch_latency(store: Arc<dyn Storage>, events: usize) -> (Duration, Duration) {
    let mut watch = store
        .watch(WatchOptions {
            key: b"/watch/".to_vec(),
            prefix: true,
            start_revision: None,
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut samples = Vec::with_capacity(events);
    for i in 0..events {
        let started = Instant::now();
        let key = format!("/watch/{i:08}");
        let (write, event) =
            tokio::join!(store.create(key.as_bytes(), vec![b'w'; 256]), watch.next());
        write.unwrap();
        event.unwrap().unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    (
        samples[events / 2],
        samples[(events * 99 / 100).min(events - 1)],
    )
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes {
            writes_1: 300,
            writes_64: 3_000,
            list_keys: 5_000,
            watch_events: 200,
        }
    } else {
        Sizes {
            writes_1: 2_000,
            writes_64: 40_000,
            list_keys: 100_000,
            watch_events: 1_000,
        }
    };

    let embedded_dir = unique_temp_dir("bench-embedded");
    let embedded = EmbeddedStore::open(&embedded_dir).unwrap();
    let etcd = EtcdProcess::start().await.unwrap();
    let etcd_store = etcd.store().await.unwrap();
    let raw = etcd_client::Client::connect([etcd.endpoint.clone()], None)
        .await
        .unwrap();
    let embedded_dyn: Arc<dyn Storage> = Arc::new(embedded.clone());
    let etcd_dyn: Arc<dyn Storage> = Arc::new(etcd_store);

    println!(
        "# Bosun storage benchmark ({} mode)",
        if quick { "quick" } else { "full" }
    );
    println!();
    println!("Durable writes of {VALUE_SIZE}-byte values: creates of fresh keys. `raw put` is");
    println!("etcd-client's plain put; `raw txn` is etcd-client sending the same compare-and-put");
    println!("transaction a create needs, without Bosun's layer.");
    println!();
    println!(
        "| writers | embedded | etcd backend | raw put | raw txn | backend / raw put | backend / raw txn |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (writers, total) in [(1, sizes.writes_1), (64, sizes.writes_64)] {
        let e = store_write_rate(embedded_dyn.clone(), "embedded", writers, total).await;
        // Interleave short runs so drift on the machine hits all three alike.
        let (mut b, mut p, mut t) = (0.0, 0.0, 0.0);
        for round in 0..ROUNDS {
            b += store_write_rate(
                etcd_dyn.clone(),
                &format!("etcd{round}"),
                writers,
                total / ROUNDS,
            )
            .await;
            p += raw_etcd_write_rate(raw.clone(), false, writers, total / ROUNDS).await;
            t += raw_etcd_write_rate(raw.clone(), true, writers, total / ROUNDS).await;
        }
        let n = ROUNDS as f64;
        let (b, p, t) = (b / n, p / n, t / n);
        println!(
            "| {writers} | {e:.0}/s | {b:.0}/s | {p:.0}/s | {t:.0}/s | {:.2} | {:.2} |",
            b / p,
            b / t
        );
    }
    println!();
    println!("List of {} keys (256-byte values):", sizes.list_keys);
    println!();
    println!("| backend | one unpaged list | paged, limit 500 |");
    println!("|---|---:|---:|");
    for (name, store) in [
        ("embedded", embedded_dyn.clone()),
        ("etcd backend", etcd_dyn.clone()),
    ] {
        let (full, paged) = list_times(store, sizes.list_keys).await;
        println!("| {name} | {} | {} |", ms(full), ms(paged));
    }
    println!();
    println!(
        "Watch delivery, {} sequential writes (write issued → event received):",
        sizes.watch_events
    );
    println!();
    println!("| backend | p50 | p99 |");
    println!("|---|---:|---:|");
    for (name, store) in [
        ("embedded", embedded_dyn.clone()),
        ("etcd backend", etcd_dyn.clone()),
    ] {
        let (p50, p99) = watch_latency(store, sizes.watch_events).await;
        println!("| {name} | {} | {} |", ms(p50), ms(p99));
    }
    drop(embedded_dyn);
    embedded.close().await;
    let _ = std::fs::remove_dir_all(&embedded_dir);
}
