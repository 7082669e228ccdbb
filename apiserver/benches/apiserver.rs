//! apiserver benchmark, through HTTPS against the real `bosun-apiserver`
//! binary, on the embedded store and on etcd, with the storage layer's own
//! write rate measured in the same run:
//! - pod creates/s at 64 concurrent clients, and the ratio to raw storage writes;
//! - LIST of 10,000 pods served from the watch cache;
//! - 1,000 concurrent watchers: event delivery latency at 1,000 writes/s;
//! - apiserver RSS with 100,000 pods stored, against their JSON size;
//! - writes of a ~10 KiB Deployment at 16 concurrent clients: plain update
//!   (PUT), strategic merge patch and server-side apply, and the patches'
//!   ratio to the update.
//!
//! Run: `cargo bench -p bosun-apiserver --bench apiserver` (`-- --quick` for a
//! smoke run). Needs `etcd` on PATH (unless only the embedded store runs).
//!
//! Knobs (environment), to run only part of it:
//! - `BOSUN_BENCH_BACKENDS`: comma-separated `embedded`, `etcd` (default both);
//! - `BOSUN_BENCH_PARTS`: comma-separated `create` (raw storage and pod
//!   creates, and the LISTs), `watch`, `patch`, `rss` (default all). `rss`
//!   alone creates all 100,000 pods itself.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use bosun_apiserver::tls::Pki;
use bosun_storage::testing::{EtcdProcess, unique_temp_dir};
use bosun_storage::{EmbeddedStore, EtcdConfig, EtcdStore, Storage};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

#[derive(Clone)]
struct Client {
    http: HyperClient<Https, Full<Bytes>>,
    base: String,
}

impl Client {
    fn new(pki: &Pki, addr: &str, http2: bool) -> Self {
        let (cert, key) = pki
            .client_certificate("bench", &["system:masters"])
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .unwrap();
        // Go's clients (kubectl) disable Nagle; so must this one.
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only();
        let connector = if http2 {
            builder.enable_http2().wrap_connector(tcp)
        } else {
            builder.enable_http1().wrap_connector(tcp)
        };
        let mut http = HyperClient::builder(TokioExecutor::new());
        http.pool_max_idle_per_host(256);
        if http2 {
            http.http2_only(true);
        }
        Self {
            http: http.build(connector),
            base: format!("https://{addr}"),
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> (StatusCode, Bytes) {
        self.send_as(method, path, body, "application/json").await
    }

    async fn send_as(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> (StatusCode, Bytes) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if body.is_some() {
            request = request.header("content-type", content_type);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .unwrap();
        let response = self.http.request(request).await.unwrap();
        let status = response.status();
        (
            status,
            response.into_body().collect().await.unwrap().to_bytes(),
        )
    }
}

/// A pod manifest (a few labels, one container with ports, env and
/// resources), rendered once; requests substitute the name.
fn pod_template(namespace: &str) -> String {
    serde_json::to_string(&serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "NAME-PLACEHOLDER", "namespace": namespace, "labels": {"app": "bench", "tier": "web"}},
        "spec": {"containers": [{
            "name": "app",
            "image": "registry.example/bench/app:1.0.0",
            "ports": [{"containerPort": 8080, "name": "http"}],
            "env": [{"name": "MODE", "value": "bench"}],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        }]},
    }))
    .unwrap()
}

fn pod(namespace: &str, name: &str) -> Vec<u8> {
    pod_template(namespace)
        .replace("NAME-PLACEHOLDER", name)
        .into_bytes()
}

struct Server {
    child: Child,
    addr: String,
    pki: Pki,
}

impl Server {
    fn start(dir: &Path, etcd: Option<&str>) -> Self {
        let kubeconfig = dir.join("kubeconfig");
        let mut command = Command::new(env!("CARGO_BIN_EXE_bosun-apiserver"));
        command
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--secure-port", "0", "--write-kubeconfig"])
            .arg(&kubeconfig)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(endpoint) = etcd {
            command.arg("--etcd-servers").arg(endpoint);
        }
        let child = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !kubeconfig.exists() {
            assert!(Instant::now() < deadline, "apiserver did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = std::fs::read_to_string(&kubeconfig).unwrap();
        let addr = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("server: https://"))
            .unwrap()
            .to_owned();
        let pki = Pki::load_or_create(
            &dir.join("data"),
            "127.0.0.1".parse().unwrap(),
            None,
            None,
            None,
        )
        .unwrap();
        Self { child, addr, pki }
    }

    fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn create_namespace(client: &Client, name: &str) {
    let body = serde_json::to_vec(
        &serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
    )
    .unwrap();
    let (status, _) = client
        .send(Method::POST, "/api/v1/namespaces", Some(body))
        .await;
    assert!(
        status.is_success() || status == StatusCode::CONFLICT,
        "namespace: {status}"
    );
}

/// Creates `count` pods with `clients` concurrent tasks; returns creates/s.
async fn create_pods(clients: &[Client], namespace: &str, prefix: &str, count: usize) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let template = Arc::new(pod_template(namespace));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in clients {
        let template = template.clone();
        let (client, next, namespace, prefix) = (
            client.clone(),
            next.clone(),
            namespace.to_owned(),
            prefix.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let name = format!("{prefix}-{i:06}");
                let path = format!("/api/v1/namespaces/{namespace}/pods");
                let body = template.replace("NAME-PLACEHOLDER", &name).into_bytes();
                let (status, body) = client.send(Method::POST, &path, Some(body)).await;
                assert_eq!(
                    status,
                    StatusCode::CREATED,
                    "{}",
                    String::from_utf8_lossy(&body)
                );
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// The storage layer's own create rate with pod-sized values at 64 writers.
async fn raw_storage_rate(store: Arc<dyn Storage>, label: &str, count: usize) -> f64 {
    let value = pod("raw", "raw-000000");
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (store, next, value, label) =
            (store.clone(), next.clone(), value.clone(), label.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                store
                    .create(
                        format!("/bench-raw/{label}/{i:08}").as_bytes(),
                        value.clone(),
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// Average time of `runs` LISTs of a namespace's pods (the whole response
/// received, not parsed); checks the count once, outside the timing.
async fn list_time(
    client: &Client,
    namespace: &str,
    query: &str,
    expected: usize,
    runs: u32,
) -> Duration {
    let path = format!("/api/v1/namespaces/{namespace}/pods{query}");
    let (_, body) = client.send(Method::GET, &path, None).await;
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(list["items"].as_array().map_or(0, Vec::len), expected);
    let started = Instant::now();
    for _ in 0..runs {
        let (status, body) = client.send(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.len() > expected * 100);
    }
    started.elapsed() / runs
}

/// `watchers` watches of a namespace; writes at `rate`/s for `seconds`;
/// returns (deliveries, p50, p99, max) of write-issued → event-received.
async fn watch_latency(
    client: &Client,
    watch_clients: &[Client],
    watchers: usize,
    rate: u32,
    seconds: u32,
) -> (usize, Duration, Duration, Duration) {
    let namespace = "watch-bench";
    create_namespace(client, namespace).await;
    let epoch = Instant::now();
    let (status, body) = client
        .send(
            Method::GET,
            &format!("/api/v1/namespaces/{namespace}/configmaps"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let rv =
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_owned();
    let samples = Arc::new(std::sync::Mutex::new(Vec::<Duration>::new()));
    let total = (rate * seconds) as usize;
    let ready = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..watchers {
        let client = watch_clients[w % watch_clients.len()].clone();
        let (samples, rv, ready) = (samples.clone(), rv.clone(), ready.clone());
        tasks.push(tokio::spawn(async move {
            let uri = format!(
                "{}/api/v1/namespaces/{namespace}/configmaps?watch=1&resourceVersion={rv}",
                client.base
            );
            let request = Request::builder()
                .uri(uri)
                .body(Full::new(Bytes::new()))
                .unwrap();
            let response = client.http.request(request).await.unwrap();
            ready.fetch_add(1, Ordering::Relaxed);
            let mut body = response.into_body();
            let mut seen = 0;
            let mut local = Vec::with_capacity(total);
            let mut pending: Vec<u8> = Vec::new();
            while seen < total {
                let Some(Ok(frame)) = body.frame().await else {
                    break;
                };
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                pending.extend_from_slice(&data);
                while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let now = epoch.elapsed();
                    // The writer put its send time (ns since epoch) in data.t.
                    let text = String::from_utf8_lossy(&line);
                    if let Some(start) = text.find("\"t\":\"") {
                        let rest = &text[start + 5..];
                        if let Some(sent) =
                            rest.split('"').next().and_then(|n| n.parse::<u64>().ok())
                        {
                            local.push(now.saturating_sub(Duration::from_nanos(sent)));
                            seen += 1;
                        }
                    }
                }
            }
            samples.lock().unwrap().extend(local);
        }));
    }
    while ready.load(Ordering::Relaxed) < watchers {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Paced writers: `rate` creates per second in total.
    let writers = 8u32;
    let per_writer = total / writers as usize;
    let interval = Duration::from_secs_f64(writers as f64 / f64::from(rate));
    let mut writes = Vec::new();
    for w in 0..writers {
        let client = client.clone();
        writes.push(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            for i in 0..per_writer {
                ticker.tick().await;
                let sent = epoch.elapsed().as_nanos().to_string();
                let body = serde_json::to_vec(&serde_json::json!({
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("w{w}-{i}"), "namespace": namespace},
                    "data": {"t": sent},
                }))
                .unwrap();
                let (status, _) = client
                    .send(
                        Method::POST,
                        &format!("/api/v1/namespaces/{namespace}/configmaps"),
                        Some(body),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED);
            }
        }));
    }
    for w in writes {
        w.await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    for t in tasks {
        let _ = tokio::time::timeout_at(deadline, t).await;
    }
    let mut samples = samples.lock().unwrap().clone();
    samples.sort();
    let n = samples.len();
    if n == 0 {
        return (0, Duration::ZERO, Duration::ZERO, Duration::ZERO);
    }
    (
        n,
        samples[n / 2],
        samples[(n * 99 / 100).min(n - 1)],
        samples[n - 1],
    )
}

/// A Deployment of about 10 KiB as JSON: four containers with env, ports,
/// resources, probes and mounts; `image` is the first container's image.
fn big_deployment(namespace: &str, name: &str, image: &str) -> serde_json::Value {
    let containers: Vec<serde_json::Value> = (0..4)
        .map(|c| {
            serde_json::json!({
                "name": format!("c{c}"),
                "image": if c == 0 { image.to_owned() } else { format!("registry.example/bench/sidecar-{c}:1.0.0") },
                "args": ["--port=8080", "--verbose", format!("--shard={c}")],
                "ports": [{"containerPort": 8080 + c, "name": format!("http-{c}")}, {"containerPort": 9090 + c, "name": format!("metrics-{c}")}],
                "env": (0..30).map(|e| serde_json::json!({"name": format!("SETTING_{c}_{e}"), "value": format!("value-{c}-{e}-abcdefghij")})).collect::<Vec<_>>(),
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080 + c}, "periodSeconds": 5},
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080 + c}, "periodSeconds": 10},
                "volumeMounts": [{"name": "config", "mountPath": format!("/etc/config-{c}")}, {"name": "data", "mountPath": format!("/var/lib/data-{c}")}],
            })
        })
        .collect();
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name, "namespace": namespace,
            "labels": {"app": name, "tier": "web", "team": "bench", "release": "stable"},
            "annotations": {"bench.example/owner": "apiserver-bench", "bench.example/description": "a deployment of about ten kibibytes"},
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "tier": "web", "team": "bench"}},
                "spec": {
                    "containers": containers,
                    "volumes": [{"name": "config", "configMap": {"name": "bench-config"}}, {"name": "data", "emptyDir": {}}],
                    "nodeSelector": {"disktype": "ssd"},
                    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "bench", "effect": "NoSchedule"}],
                },
            },
        },
    })
}

/// How a patch-throughput run writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WriteKind {
    /// PUT of the whole object (no resourceVersion: unconditional).
    Update,
    /// `kubectl set image`'s strategic merge patch.
    Strategic,
    /// Server-side apply of the whole manifest.
    Apply,
}

/// Writes `count` changes (a new image each) to one ~10 KiB Deployment per
/// client, `clients.len()` at a time; returns writes/s.
async fn deployment_writes(clients: &[Client], kind: WriteKind, count: usize) -> f64 {
    let namespace = "bench";
    let prefix = match kind {
        WriteKind::Update => "put",
        WriteKind::Strategic => "smp",
        WriteKind::Apply => "ssa",
    };
    let collection = format!("/apis/apps/v1/namespaces/{namespace}/deployments");
    for (i, client) in clients.iter().enumerate() {
        let name = format!("{prefix}-{i}");
        let body = big_deployment(namespace, &name, "registry.example/bench/app:0");
        let (status, text) = if kind == WriteKind::Apply {
            client
                .send_as(
                    Method::PATCH,
                    &format!("{collection}/{name}?fieldManager=bench"),
                    Some(serde_json::to_vec(&body).unwrap()),
                    "application/apply-patch+yaml",
                )
                .await
        } else {
            client
                .send(
                    Method::POST,
                    &format!("{collection}?fieldManager=bench"),
                    Some(serde_json::to_vec(&body).unwrap()),
                )
                .await
        };
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&text)
        );
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        let (client, next, collection) = (client.clone(), next.clone(), collection.clone());
        tasks.push(tokio::spawn(async move {
            let name = format!("{prefix}-{i}");
            let path = format!("{collection}/{name}?fieldManager=bench");
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    break;
                }
                let image = format!("registry.example/bench/app:{}", n + 1);
                let (method, body, content_type) = match kind {
                    WriteKind::Update => (
                        Method::PUT,
                        serde_json::to_vec(&big_deployment(namespace, &name, &image)).unwrap(),
                        "application/json",
                    ),
                    WriteKind::Strategic => (
                        Method::PATCH,
                        serde_json::to_vec(&serde_json::json!({"spec": {"template": {"spec": {
                            "$setElementOrder/containers": [{"name": "c0"}, {"name": "c1"}, {"name": "c2"}, {"name": "c3"}],
                            "containers": [{"name": "c0", "image": image}],
                        }}}}))
                        .unwrap(),
                        "application/strategic-merge-patch+json",
                    ),
                    WriteKind::Apply => (
                        Method::PATCH,
                        serde_json::to_vec(&big_deployment(namespace, &name, &image)).unwrap(),
                        "application/apply-patch+yaml",
                    ),
                };
                let (status, text) = client.send_as(method, &path, Some(body), content_type).await;
                assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&text));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (creates, list_pods, watchers, rss_pods): (usize, usize, usize, usize) = if quick {
        (2_000, 2_000, 100, 5_000)
    } else {
        (10_000, 10_000, 1_000, 100_000)
    };
    let deployment_writes_count = if quick { 1_000 } else { 5_000 };
    let deployment_size = serde_json::to_vec(&big_deployment(
        "bench",
        "put-0",
        "registry.example/bench/app:0",
    ))
    .unwrap()
    .len();

    println!(
        "# bosun-apiserver benchmark ({} mode)",
        if quick { "quick" } else { "full" }
    );
    println!();
    let knob = |name: &str, all: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| all.to_owned())
            .split(',')
            .map(|p| p.trim().to_owned())
            .collect::<Vec<String>>()
    };
    let backends = knob("BOSUN_BENCH_BACKENDS", "embedded,etcd");
    let parts = knob("BOSUN_BENCH_PARTS", "create,watch,patch,rss");
    let part = |name: &str| parts.iter().any(|p| p == name);
    let etcd = if backends.iter().any(|b| b == "etcd") {
        Some(EtcdProcess::start().await.unwrap())
    } else {
        None
    };
    let mut rows = Vec::new();
    let mut patch_rows = Vec::new();
    for backend in ["embedded", "etcd"] {
        if !backends.iter().any(|b| b == backend) {
            continue;
        }
        let etcd_endpoint = etcd
            .as_ref()
            .map(|e| e.endpoint.clone())
            .unwrap_or_default();
        let dir = unique_temp_dir(&format!("apiserver-bench-{backend}"));
        std::fs::create_dir_all(&dir).unwrap();
        // The storage layer's own figure, on the same disk / the same etcd.
        let raw_rate = if part("create") {
            let raw: Arc<dyn Storage> = if backend == "embedded" {
                Arc::new(EmbeddedStore::open(dir.join("raw")).unwrap())
            } else {
                Arc::new(
                    EtcdStore::connect(EtcdConfig::new([etcd_endpoint.clone()]))
                        .await
                        .unwrap(),
                )
            };
            let rate = raw_storage_rate(raw.clone(), backend, creates).await;
            drop(raw);
            rate
        } else {
            f64::NAN
        };
        let server = Server::start(&dir, (backend == "etcd").then_some(etcd_endpoint.as_str()));
        let client = Client::new(&server.pki, &server.addr, true);
        // 64 clients, one connection each; watchers share 10 connections.
        let clients: Vec<Client> = (0..64)
            .map(|_| Client::new(&server.pki, &server.addr, true))
            .collect();
        let watch_clients: Vec<Client> = (0..10)
            .map(|_| Client::new(&server.pki, &server.addr, true))
            .collect();
        create_namespace(&client, "bench").await;
        let (rate, list_consistent, list_any, created) = if part("create") {
            let rate = create_pods(&clients, "bench", "p", creates.max(list_pods)).await;
            let list_consistent = list_time(&client, "bench", "", creates.max(list_pods), 5).await;
            let list_any = list_time(
                &client,
                "bench",
                "?resourceVersion=0",
                creates.max(list_pods),
                5,
            )
            .await;
            (rate, list_consistent, list_any, creates.max(list_pods))
        } else {
            (f64::NAN, Duration::ZERO, Duration::ZERO, 0)
        };
        let (deliveries, p50, p99, max) = if part("watch") {
            watch_latency(
                &client,
                &watch_clients,
                watchers,
                1000,
                if quick { 2 } else { 5 },
            )
            .await
        } else {
            (0, Duration::ZERO, Duration::ZERO, Duration::ZERO)
        };
        if part("patch") {
            // Deployment writes at 16 clients, one Deployment each.
            let writers = &clients[..16];
            let put = deployment_writes(writers, WriteKind::Update, deployment_writes_count).await;
            let smp =
                deployment_writes(writers, WriteKind::Strategic, deployment_writes_count).await;
            let ssa = deployment_writes(writers, WriteKind::Apply, deployment_writes_count).await;
            patch_rows.push(format!(
                "| {backend} | {put:.0}/s | {smp:.0}/s | {:.2} | {ssa:.0}/s | {:.2} |",
                smp / put,
                ssa / put
            ));
        }
        rows.push(format!(
            "| {backend} | {raw_rate:.0}/s | {rate:.0}/s | {:.2} | {} | {} | {watchers} | {deliveries} | {} | {} | {} |",
            rate / raw_rate,
            ms(list_consistent),
            ms(list_any),
            ms(p50),
            ms(p99),
            ms(max)
        ));
        if backend == "embedded" && part("rss") {
            let before = server.rss_bytes();
            let remaining = rss_pods.saturating_sub(created);
            create_pods(&clients, "bench", "r", remaining).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let (status, body) = client
                .send(
                    Method::GET,
                    "/api/v1/namespaces/bench/pods?resourceVersion=0",
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK);
            let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let items = list["items"].as_array().unwrap();
            let json_bytes: usize = items
                .iter()
                .map(|i| serde_json::to_vec(i).unwrap().len())
                .sum();
            let after = server.rss_bytes();
            println!(
                "RSS with {} pods stored (embedded): {:.1} MiB (before the pods: {:.1} MiB); the pods' JSON: {:.1} MiB; RSS / JSON = {:.2}",
                items.len(),
                after as f64 / 1048576.0,
                before as f64 / 1048576.0,
                json_bytes as f64 / 1048576.0,
                after as f64 / json_bytes as f64
            );
            println!();
        }
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
        let _: &PathBuf = &dir;
    }
    println!(
        "| backend | raw storage creates (64 writers) | pod creates via HTTPS (64 clients) | ratio | LIST {} pods (consistent, from cache) | LIST (resourceVersion=0) | watchers | events delivered | p50 | p99 | max |",
        creates.max(list_pods)
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!("{row}");
    }
    println!();
    println!(
        "| backend | update (PUT) of a {:.1} KiB Deployment, 16 clients | strategic merge patch | ratio to update | server-side apply | ratio to update |",
        deployment_size as f64 / 1024.0
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for row in patch_rows {
        println!("{row}");
    }
}
