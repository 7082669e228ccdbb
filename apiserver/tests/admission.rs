//! Admission over real HTTPS: an in-process `bosun-apiserver` on the
//! embedded store (one per test), driven with plain JSON requests.
//! `DefaultTolerationSeconds`, `Priority` and `DefaultStorageClass`, as
//! kubectl and client libraries see them.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use bosun_apiserver::{Config, RunningServer};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// A running apiserver and an admin client for it.
struct Cluster {
    server: Option<RunningServer>,
    http: HyperClient<Https, Full<Bytes>>,
    base: String,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = bosun_apiserver::start(Config::for_tests(dir.path().join("data")))
            .await
            .expect("apiserver starts");
        let (cert, key) = server
            .pki
            .client_certificate("admin", &["system:masters"])
            .expect("client certificate");
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(server.pki.ca_pem.as_bytes()) {
            roots.add(ca.expect("CA PEM")).expect("CA");
        }
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert.as_bytes())
            .collect::<Result<_, _>>()
            .expect("certificate PEM");
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key PEM");
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("client auth");
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .wrap_connector(tcp);
        Self {
            base: format!("https://{}", server.addr),
            server: Some(server),
            http: HyperClient::builder(TokioExecutor::new()).build(connector),
            _dir: dir,
        }
    }

    /// Sends a request; returns the status and the JSON body.
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let bytes = body
            .map(|b| serde_json::to_vec(b).expect("JSON"))
            .unwrap_or_default();
        let response = self
            .http
            .request(
                request
                    .body(Full::new(Bytes::from(bytes)))
                    .expect("request"),
            )
            .await
            .expect("response");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// POSTs `object` to `path` and expects it created.
    async fn create(&self, path: &str, object: Value) -> Value {
        let (status, body) = self.send(Method::POST, path, Some(&object)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    async fn create_pod(&self, pod: Value) -> Value {
        self.create("/api/v1/namespaces/default/pods", pod).await
    }

    async fn create_priority_class(&self, class: Value) -> (StatusCode, Value) {
        self.send(
            Method::POST,
            "/apis/scheduling.k8s.io/v1/priorityclasses",
            Some(&class),
        )
        .await
    }

    /// Waits until the watch cache — what admission reads classes from, as
    /// upstream's informers — shows PriorityClass `name` (a
    /// `resourceVersion=0` list is served from it as it stands).
    async fn wait_cached_priority_class(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, list) = self
                .send(
                    Method::GET,
                    "/apis/scheduling.k8s.io/v1/priorityclasses?resourceVersion=0",
                    None,
                )
                .await;
            let items = list["items"].as_array().cloned().unwrap_or_default();
            if items.iter().any(|c| c["metadata"]["name"] == name) {
                return;
            }
            assert!(Instant::now() < deadline, "{name} never reached the cache");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

fn pod(name: &str, spec: Value) -> Value {
    let mut spec = spec;
    spec["containers"] = json!([{"name": "c", "image": "nginx"}]);
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
}

fn priority_class(name: &str, value: i64, extra: Value) -> Value {
    let mut class = json!({
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name},
        "value": value,
    });
    if let (Some(class), Some(extra)) = (class.as_object_mut(), extra.as_object()) {
        class.extend(extra.clone());
    }
    class
}

/// The (key, tolerationSeconds) of each toleration.
fn tolerations(pod: &Value) -> Vec<(String, Option<i64>)> {
    pod["spec"]["tolerations"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|t| {
                    (
                        t["key"].as_str().unwrap_or_default().to_owned(),
                        t["tolerationSeconds"].as_i64(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a 403 Forbidden Status about pod `name` with `message`.
fn assert_pod_forbidden(status: StatusCode, body: &Value, name: &str, message: &str) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["status"], "Failure");
    assert_eq!(body["reason"], "Forbidden");
    assert_eq!(body["code"], 403);
    assert_eq!(
        body["message"],
        format!("pods \"{name}\" is forbidden: {message}")
    );
    assert_eq!(body["details"], json!({"name": name, "kind": "pods"}));
}

const NOT_READY: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_tolerate_not_ready_and_unreachable_nodes_for_five_minutes() {
    let c = Cluster::start().await;
    let plain = c.create_pod(pod("plain", json!({}))).await;
    assert_eq!(
        plain["spec"]["tolerations"],
        json!([
            {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ])
    );
    // As stored, not only as answered.
    let (_, stored) = c
        .send(Method::GET, "/api/v1/namespaces/default/pods/plain", None)
        .await;
    assert_eq!(stored["spec"]["tolerations"], plain["spec"]["tolerations"]);
    // What admission adds is not the creator's, as upstream records
    // managed fields before admission.
    let owned = &stored["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"];
    assert!(owned.get("f:containers").is_some(), "{owned}");
    for field in ["f:tolerations", "f:priority", "f:preemptionPolicy"] {
        assert!(owned.get(field).is_none(), "{field} owned: {owned}");
    }

    // The pod's own NoExecute toleration for one taint wins; the other is added.
    let own = c
        .create_pod(pod(
            "own",
            json!({"tolerations": [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}]}),
        ))
        .await;
    assert_eq!(
        tolerations(&own),
        vec![(UNREACHABLE.into(), Some(2)), (NOT_READY.into(), Some(300))]
    );
    // A toleration of every taint covers both.
    let everything = c
        .create_pod(pod(
            "everything",
            json!({"tolerations": [{"operator": "Exists"}]}),
        ))
        .await;
    assert_eq!(tolerations(&everything), vec![(String::new(), None)]);
    // A NoSchedule toleration does not count.
    let no_schedule = c
        .create_pod(pod(
            "no-schedule",
            json!({"tolerations": [{"key": NOT_READY, "operator": "Exists", "effect": "NoSchedule"}]}),
        ))
        .await;
    assert_eq!(tolerations(&no_schedule).len(), 3);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_priority_classes_exist_and_their_names_are_reserved() {
    let c = Cluster::start().await;
    for (name, value) in [
        ("system-node-critical", 2_000_001_000_i64),
        ("system-cluster-critical", 2_000_000_000),
    ] {
        let (status, class) = c
            .send(
                Method::GET,
                &format!("/apis/scheduling.k8s.io/v1/priorityclasses/{name}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{class}");
        assert_eq!(class["value"], value);
        assert_eq!(class["globalDefault"], Value::Null);
        assert_eq!(class["preemptionPolicy"], "PreemptLowerPriority");
        assert!(class["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    // A system class in any namespace resolves.
    let critical = c
        .create_pod(pod(
            "critical",
            json!({"priorityClassName": "system-node-critical"}),
        ))
        .await;
    assert_eq!(critical["spec"]["priority"], 2_000_001_000_i64);

    let (status, body) = c
        .create_priority_class(priority_class("system-mine", 10, json!({})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["message"],
        "PriorityClass.scheduling.k8s.io \"system-mine\" is invalid: metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class"
    );
    let (status, body) = c
        .create_priority_class(priority_class("huge", 1_000_000_001, json!({})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["details"]["causes"][0],
        json!({"reason": "FieldValueForbidden", "field": "value", "message": "Forbidden: maximum allowed value of a user defined priority is 1000000000"})
    );
    let (status, body) = c
        .create_priority_class(priority_class("top", 1_000_000_000, json!({})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_takes_priority_and_preemption_policy_from_its_class() {
    let c = Cluster::start().await;
    let (status, body) = c
        .create_priority_class(priority_class(
            "batch",
            1000,
            json!({"preemptionPolicy": "Never", "description": "batch jobs"}),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Named right after its class is created: found even before the cache has it.
    let created = c
        .create_pod(pod("job", json!({"priorityClassName": "batch"})))
        .await;
    assert_eq!(created["spec"]["priority"], 1000);
    assert_eq!(created["spec"]["preemptionPolicy"], "Never");
    assert_eq!(created["spec"]["priorityClassName"], "batch");
    // The same priority sent along is accepted.
    c.create_pod(pod(
        "job-2",
        json!({"priorityClassName": "batch", "priority": 1000}),
    ))
    .await;

    // Without a class and without a default: priority 0.
    let plain = c.create_pod(pod("plain", json!({}))).await;
    assert_eq!(plain["spec"]["priority"], 0);
    assert_eq!(plain["spec"]["preemptionPolicy"], "PreemptLowerPriority");
    assert_eq!(plain["spec"].get("priorityClassName"), None);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_classes_and_client_set_priorities_are_forbidden() {
    let c = Cluster::start().await;
    let path = "/api/v1/namespaces/default/pods";
    let (status, body) = c
        .send(
            Method::POST,
            path,
            Some(&pod("nosuch", json!({"priorityClassName": "nosuch"}))),
        )
        .await;
    assert_pod_forbidden(
        status,
        &body,
        "nosuch",
        "no PriorityClass with name nosuch was found",
    );

    let (status, body) = c
        .send(
            Method::POST,
            path,
            Some(&pod("sneaky", json!({"priority": 10}))),
        )
        .await;
    assert_pod_forbidden(
        status,
        &body,
        "sneaky",
        "the integer value of priority (10) must not be provided in pod spec; priority admission controller computed 0 from the given PriorityClass name",
    );

    let (status, body) = c
        .send(
            Method::POST,
            path,
            Some(&pod("never", json!({"preemptionPolicy": "Never"}))),
        )
        .await;
    assert_pod_forbidden(
        status,
        &body,
        "never",
        "the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name",
    );

    // Generated names are reported by their prefix, as upstream (names are
    // generated after admission there).
    let mut generated = pod("", json!({"priorityClassName": "nosuch"}));
    generated["metadata"] = json!({"generateName": "web-"});
    let (status, body) = c.send(Method::POST, path, Some(&generated)).await;
    assert_pod_forbidden(
        status,
        &body,
        "web-",
        "no PriorityClass with name nosuch was found",
    );

    // Dry runs are admitted too.
    let (status, body) = c
        .send(
            Method::POST,
            &format!("{path}?dryRun=All"),
            Some(&pod("dry", json!({"priorityClassName": "nosuch"}))),
        )
        .await;
    assert_pod_forbidden(
        status,
        &body,
        "dry",
        "no PriorityClass with name nosuch was found",
    );
    let (status, body) = c
        .send(
            Method::POST,
            &format!("{path}?dryRun=All"),
            Some(&pod("dry", json!({}))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["spec"]["priority"], 0);
    assert_eq!(tolerations(&body).len(), 2);
    let (status, _) = c.send(Method::GET, &format!("{path}/dry"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_default_class_applies_and_only_one_may_exist() {
    let c = Cluster::start().await;
    let (status, body) = c
        .create_priority_class(priority_class(
            "normal",
            100,
            json!({"globalDefault": true}),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    c.wait_cached_priority_class("normal").await;

    let defaulted = c.create_pod(pod("defaulted", json!({}))).await;
    assert_eq!(defaulted["spec"]["priorityClassName"], "normal");
    assert_eq!(defaulted["spec"]["priority"], 100);
    assert_eq!(
        defaulted["spec"]["preemptionPolicy"],
        "PreemptLowerPriority"
    );

    let (status, body) = c
        .create_priority_class(priority_class("other", 5, json!({"globalDefault": true})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["reason"], "Forbidden");
    assert_eq!(
        body["message"],
        "priorityclasses.scheduling.k8s.io \"other\" is forbidden: PriorityClass normal is already marked as default. Only one default can exist"
    );
    assert_eq!(
        body["details"],
        json!({"name": "other", "group": "scheduling.k8s.io", "kind": "priorityclasses"})
    );
    // A class that is not the default may not become it either…
    let (status, _) = c
        .create_priority_class(priority_class("other", 5, json!({})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    c.wait_cached_priority_class("other").await;
    let (status, body) = c
        .send(
            Method::PUT,
            "/apis/scheduling.k8s.io/v1/priorityclasses/other",
            Some(&priority_class("other", 5, json!({"globalDefault": true}))),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // …while the default itself may still be updated.
    let (status, body) = c
        .send(
            Method::PUT,
            "/apis/scheduling.k8s.io/v1/priorityclasses/normal",
            Some(&priority_class(
                "normal",
                100,
                json!({"globalDefault": true, "description": "the default"}),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_updates_keep_the_computed_priority() {
    let c = Cluster::start().await;
    let created = c.create_pod(pod("web", json!({}))).await;
    let path = "/api/v1/namespaces/default/pods/web";
    // A PUT from a manifest without the admitted fields keeps them.
    let mut replaced = pod("web", json!({}));
    replaced["metadata"]["labels"] = json!({"tier": "web"});
    replaced["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"].clone();
    let (status, body) = c.send(Method::PUT, path, Some(&replaced)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["spec"]["priority"], 0);
    assert_eq!(body["spec"]["preemptionPolicy"], "PreemptLowerPriority");
    assert_eq!(tolerations(&body).len(), 2);
    assert_eq!(body["metadata"]["labels"]["tier"], "web");
    // Patches are updates: admitted the same way.
    let patch = json!({"metadata": {"labels": {"patched": "yes"}}});
    let response = c
        .http
        .request(
            Request::builder()
                .method(Method::PATCH)
                .uri(format!("{}{path}", c.base))
                .header("content-type", "application/strategic-merge-patch+json")
                .body(Full::new(Bytes::from(patch.to_string())))
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let (_, body) = c.send(Method::GET, path, None).await;
    assert_eq!(body["metadata"]["labels"]["patched"], "yes");
    assert_eq!(tolerations(&body).len(), 2);
    assert_eq!(body["spec"]["priority"], 0);
    // Changing it is a pod update validation refuses.
    let mut changed = body.clone();
    changed["spec"]["priority"] = json!(5);
    let (status, body) = c.send(Method::PUT, path, Some(&changed)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("pod updates may not change fields")),
        "{body}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_without_a_class_get_the_default_storage_class() {
    let c = Cluster::start().await;
    let claim = |name: &str, class: Option<Value>| {
        let mut spec = json!({
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        });
        if let Some(class) = class {
            spec["storageClassName"] = class;
        }
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec})
    };
    let path = "/api/v1/namespaces/default/persistentvolumeclaims";
    let defaulted = c.create(path, claim("data", None)).await;
    assert_eq!(defaulted["spec"]["storageClassName"], "standard");
    let null = c.create(path, claim("null", Some(Value::Null))).await;
    assert_eq!(null["spec"]["storageClassName"], "standard");
    let none = c.create(path, claim("none", Some(json!("")))).await;
    assert_eq!(none["spec"]["storageClassName"], "");
    let fast = c.create(path, claim("fast", Some(json!("fast")))).await;
    assert_eq!(fast["spec"]["storageClassName"], "fast");
    c.stop().await;
}
