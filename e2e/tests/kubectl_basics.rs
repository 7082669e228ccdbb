//! Real kubectl against bosun-apiserver, on the embedded store and on etcd.

use bosun_e2e::{Backend, Cluster};

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: nginx:1.25
        ports: [{containerPort: 80}]
"#;

const CONFIGMAP: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {tier: backend}
data:
  a: "1"
"#;

macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::$name(Cluster::start(Backend::Embedded).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn etcd() {
                super::$name(Cluster::start(Backend::Etcd).await).await;
            }
        }
    };
}

async fn discovery_and_version(c: Cluster) {
    let version = c.kubectl(&["version"]).ok();
    assert!(version.contains("Server Version: v1.33.0"), "{version}");
    let resources = c.kubectl(&["api-resources"]).ok();
    for line in [
        "pods                       po           v1",
        "deployments                deploy       apps/v1",
        "namespaces                 ns           v1                             false        Namespace",
    ] {
        let columns: Vec<&str> = line.split_whitespace().collect();
        assert!(
            resources.lines().any(|l| l
                .split_whitespace()
                .collect::<Vec<_>>()
                .starts_with(&columns)),
            "api-resources lacks {line:?}:\n{resources}"
        );
    }
    let names = c.kubectl(&["get", "namespaces", "-o", "name"]).ok();
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(names.contains(&format!("namespace/{ns}")), "{names}");
    }
    let svc = c
        .kubectl(&[
            "get",
            "svc",
            "kubernetes",
            "-o",
            "jsonpath={.spec.clusterIP} {.spec.ports[0].port}",
        ])
        .ok();
    assert_eq!(svc, "10.96.0.1 443");
}
on_both_backends!(discovery_and_version);

async fn create_apply_get_delete(c: Cluster) {
    let deploy = c.manifest("deploy.yaml", DEPLOYMENT);
    let cm = c.manifest("cm.yaml", CONFIGMAP);
    // Both clients: the 1.32 binary and the one matching /version.
    assert_eq!(
        c.kubectl_at("1.32", &["create", "-f", &cm]).ok().trim(),
        "configmap/settings created"
    );
    assert_eq!(
        c.kubectl(&["apply", "-f", &deploy]).ok().trim(),
        "deployment.apps/web created"
    );
    let dup = c.kubectl(&["create", "-f", &deploy]).err();
    assert!(
        dup.contains("Error from server (AlreadyExists): error when creating")
            && dup.contains("deployments.apps \"web\" already exists"),
        "{dup}"
    );

    let table = c.kubectl(&["get", "deploy", "-o", "wide"]).ok();
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    assert!(
        table.lines().nth(1).unwrap_or("").starts_with("web "),
        "{table}"
    );
    assert!(
        table.contains("nginx:1.25") && table.contains("app=web"),
        "{table}"
    );

    // Server-side defaults are visible.
    let yaml = c.kubectl(&["get", "deploy", "web", "-o", "yaml"]).ok();
    for expected in [
        "maxSurge: 25%",
        "revisionHistoryLimit: 10",
        "progressDeadlineSeconds: 600",
        "imagePullPolicy: IfNotPresent",
        "generation: 1",
    ] {
        assert!(yaml.contains(expected), "missing {expected:?} in\n{yaml}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&c.kubectl(&["get", "cm", "settings", "-o", "json"]).ok())
            .expect("json");
    assert_eq!(json["data"]["a"], "1");
    assert!(
        json["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| u.len() == 36)
    );
    assert_eq!(
        c.kubectl(&["get", "cm", "-l", "tier=backend", "-o", "name"])
            .ok()
            .trim(),
        "configmap/settings"
    );
    assert_eq!(
        c.kubectl(&["get", "cm", "-l", "tier=frontend", "-o", "name"])
            .ok()
            .trim(),
        ""
    );
    assert_eq!(
        c.kubectl(&[
            "get",
            "cm",
            "--field-selector",
            "metadata.name=settings",
            "-o",
            "jsonpath={.items[*].metadata.name}"
        ])
        .ok(),
        "settings"
    );
    let all = c.kubectl(&["get", "deploy", "-A"]).ok();
    assert!(
        all.lines().nth(1).unwrap_or("").starts_with("default "),
        "{all}"
    );
    let labels = c.kubectl(&["get", "cm", "settings", "--show-labels"]).ok();
    assert!(labels.contains("tier=backend"), "{labels}");

    let missing = c.kubectl(&["get", "pod", "nosuch"]).err();
    assert!(
        missing.contains("Error from server (NotFound): pods \"nosuch\" not found"),
        "{missing}"
    );

    assert_eq!(
        c.kubectl(&["delete", "-f", &cm]).ok().trim(),
        "configmap \"settings\" deleted"
    );
    assert_eq!(
        c.kubectl(&["delete", "deploy", "web"]).ok().trim(),
        "deployment.apps \"web\" deleted"
    );
    let gone = c.kubectl(&["get", "deploy", "web"]).err();
    assert!(
        gone.contains("deployments.apps \"web\" not found"),
        "{gone}"
    );
}
on_both_backends!(create_apply_get_delete);

async fn label_annotate_patch(c: Cluster) {
    let cm = c.manifest("cm.yaml", CONFIGMAP);
    c.kubectl(&["create", "-f", &cm]).ok();
    assert_eq!(
        c.kubectl(&["label", "cm", "settings", "env=prod"])
            .ok()
            .trim(),
        "configmap/settings labeled"
    );
    assert_eq!(
        c.kubectl(&["annotate", "cm", "settings", "note=hi"])
            .ok()
            .trim(),
        "configmap/settings annotated"
    );
    assert_eq!(
        c.kubectl(&[
            "get",
            "cm",
            "settings",
            "-o",
            "jsonpath={.metadata.labels.env} {.metadata.annotations.note}"
        ])
        .ok(),
        "prod hi"
    );
    c.kubectl(&["label", "cm", "settings", "env-"]).ok();
    assert_eq!(
        c.kubectl(&[
            "get",
            "cm",
            "settings",
            "-o",
            "jsonpath={.metadata.labels.env}"
        ])
        .ok(),
        ""
    );
    assert_eq!(
        c.kubectl(&[
            "patch",
            "cm",
            "settings",
            "--type=merge",
            "-p",
            r#"{"data":{"b":"2"}}"#
        ])
        .ok()
        .trim(),
        "configmap/settings patched"
    );
    assert_eq!(
        c.kubectl(&[
            "patch",
            "cm",
            "settings",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/data/a","value":"9"}]"#
        ])
        .ok()
        .trim(),
        "configmap/settings patched"
    );
    assert_eq!(
        c.kubectl(&["get", "cm", "settings", "-o", "jsonpath={.data.a}{.data.b}"])
            .ok(),
        "92"
    );
    // A patch that changes nothing is reported as such.
    assert_eq!(
        c.kubectl(&[
            "patch",
            "cm",
            "settings",
            "--type=merge",
            "-p",
            r#"{"data":{"b":"2"}}"#
        ])
        .ok()
        .trim(),
        "configmap/settings patched (no change)"
    );
}
on_both_backends!(label_annotate_patch);

async fn watch_sees_added_modified_deleted(c: Cluster) {
    use std::io::{BufRead, BufReader};
    let cm = c.manifest("cm.yaml", CONFIGMAP);
    let mut watcher =
        c.spawn_kubectl(&["get", "cm", "-w", "--output-watch-events", "--no-headers"]);
    let stdout = watcher.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The watch starts after the initial list; give it a moment.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    c.kubectl(&["create", "-f", &cm]).ok();
    c.kubectl(&["label", "cm", "settings", "x=y"]).ok();
    c.kubectl(&["delete", "cm", "settings"]).ok();
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        match rx.recv_timeout(std::time::Duration::from_millis(200)) {
            Ok(line) => {
                let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
                if words.get(1).map(String::as_str) == Some("settings") {
                    seen.push(words[0].clone());
                }
                if seen.last().map(String::as_str) == Some("DELETED") {
                    break;
                }
            }
            Err(_) => continue,
        }
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
    assert_eq!(seen, ["ADDED", "MODIFIED", "DELETED"], "watch events");
}
on_both_backends!(watch_sees_added_modified_deleted);

async fn scale_describe_explain(c: Cluster) {
    let deploy = c.manifest("deploy.yaml", DEPLOYMENT);
    c.kubectl(&["apply", "-f", &deploy]).ok();
    assert_eq!(
        c.kubectl(&["scale", "deploy", "web", "--replicas=5"])
            .ok()
            .trim(),
        "deployment.apps/web scaled"
    );
    let scale: serde_json::Value = serde_json::from_str(
        &c.kubectl(&[
            "get",
            "--raw",
            "/apis/apps/v1/namespaces/default/deployments/web/scale",
        ])
        .ok(),
    )
    .expect("scale json");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 5);
    assert_eq!(scale["status"]["selector"], "app=web");
    assert_eq!(
        c.kubectl(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.replicas} {.metadata.generation}"
        ])
        .ok(),
        "5 2"
    );

    let described = c.kubectl(&["describe", "deploy", "web"]).ok();
    for expected in [
        "Name:",
        "web",
        "Selector:",
        "app=web",
        "Replicas:",
        "5 desired",
        "StrategyType:",
        "RollingUpdate",
    ] {
        assert!(
            described.contains(expected),
            "describe lacks {expected:?}:\n{described}"
        );
    }
    let explained = c.kubectl(&["explain", "pods.spec.containers"]).ok();
    assert!(
        explained.contains("KIND:") && explained.contains("Pod"),
        "{explained}"
    );
    assert!(
        explained.contains("FIELD: containers <[]Container>"),
        "{explained}"
    );
    assert!(
        explained.contains("image\t<string>")
            || explained.contains("image <string>")
            || explained.contains("image\t"),
        "{explained}"
    );
}
on_both_backends!(scale_describe_explain);

const NODEPORT_SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: NAME
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
    nodePort: 30080
"#;

async fn services_get_addresses_and_ports(c: Cluster) {
    let first = c.manifest("a.yaml", &NODEPORT_SERVICE.replace("NAME", "a"));
    let second = c.manifest("b.yaml", &NODEPORT_SERVICE.replace("NAME", "b"));
    c.kubectl(&["apply", "-f", &first]).ok();
    let ip = c
        .kubectl(&["get", "svc", "a", "-o", "jsonpath={.spec.clusterIP}"])
        .ok();
    assert!(
        ip.starts_with("10.") && ip != "10.96.0.1",
        "cluster IP {ip}"
    );
    let taken = c.kubectl(&["apply", "-f", &second]).err();
    assert!(
        taken.contains("provided port is already allocated"),
        "{taken}"
    );
    assert!(taken.contains("spec.ports[0].nodePort"), "{taken}");
    // Without an explicit node port one is picked from the range.
    let auto = c.manifest(
        "c.yaml",
        &NODEPORT_SERVICE
            .replace("NAME", "c")
            .replace("    nodePort: 30080\n", ""),
    );
    c.kubectl(&["apply", "-f", &auto]).ok();
    let port: u32 = c
        .kubectl(&[
            "get",
            "svc",
            "c",
            "-o",
            "jsonpath={.spec.ports[0].nodePort}",
        ])
        .ok()
        .parse()
        .expect("port");
    assert!(
        (30000..=32767).contains(&port) && port != 30080,
        "node port {port}"
    );
    let row = c.kubectl(&["get", "svc", "a", "--no-headers"]).ok();
    assert!(
        row.contains("NodePort") && row.contains("80:30080/TCP"),
        "{row}"
    );
    // Deleting releases the port.
    c.kubectl(&["delete", "svc", "a"]).ok();
    c.kubectl(&["apply", "-f", &second]).ok();
    let other_ip = c
        .kubectl(&["get", "svc", "b", "-o", "jsonpath={.spec.clusterIP}"])
        .ok();
    assert_ne!(
        other_ip,
        c.kubectl(&["get", "svc", "c", "-o", "jsonpath={.spec.clusterIP}"])
            .ok()
    );
}
on_both_backends!(services_get_addresses_and_ports);

async fn pods_bind_once_and_delete_gracefully(c: Cluster) {
    c.kubectl(&["run", "p", "--image=busybox"]).ok();
    // A binding for another pod of the same name (its uid) is refused.
    let stale = c.manifest(
        "stale-binding.json",
        r#"{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p","uid":"not-this-pod"},"target":{"apiVersion":"v1","kind":"Node","name":"node-1"}}"#,
    );
    let refused = c
        .kubectl(&[
            "create",
            "--raw",
            "/api/v1/namespaces/default/pods/p/binding",
            "-f",
            &stale,
        ])
        .err();
    assert!(refused.contains("Precondition failed: UID"), "{refused}");
    let binding = c.manifest(
        "binding.json",
        r#"{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p","annotations":{"bound-by":"test"}},"target":{"apiVersion":"v1","kind":"Node","name":"node-1"}}"#,
    );
    c.kubectl(&[
        "create",
        "--raw",
        "/api/v1/namespaces/default/pods/p/binding",
        "-f",
        &binding,
    ])
    .ok();
    // The node, the binding's annotations and PodScheduled=True.
    assert_eq!(
        c.kubectl(&[
            "get",
            "pod",
            "p",
            "-o",
            r#"jsonpath={.spec.nodeName} {.metadata.annotations.bound-by} {.status.conditions[?(@.type=="PodScheduled")].status}"#
        ])
        .ok(),
        "node-1 test True"
    );
    let again = c
        .kubectl(&[
            "create",
            "--raw",
            "/api/v1/namespaces/default/pods/p/binding",
            "-f",
            &binding,
        ])
        .err();
    assert!(again.contains("already assigned to node"), "{again}");
    // A bound pod waits for its kubelet: deletion only marks it.
    c.kubectl(&["delete", "pod", "p", "--wait=false"]).ok();
    let deleting = c
        .kubectl(&[
            "get",
            "pod",
            "p",
            "-o",
            "jsonpath={.metadata.deletionGracePeriodSeconds}",
        ])
        .ok();
    assert_eq!(deleting, "30");
    assert!(
        c.kubectl(&["get", "pod", "p", "--no-headers"])
            .ok()
            .contains("Terminating")
    );
    c.kubectl(&["delete", "pod", "p", "--grace-period=0", "--force"])
        .ok();
    assert!(c.kubectl(&["get", "pod", "p"]).err().contains("not found"));
    // A pod with scheduling gates cannot be bound.
    let gated = c.manifest(
        "gated.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: g}\nspec:\n  schedulingGates: [{name: wait}]\n  containers: [{name: c, image: busybox}]\n",
    );
    c.kubectl(&["apply", "-f", &gated]).ok();
    let gated_binding = c.manifest(
        "gated-binding.json",
        r#"{"apiVersion":"v1","kind":"Binding","metadata":{"name":"g"},"target":{"apiVersion":"v1","kind":"Node","name":"node-1"}}"#,
    );
    let refused = c
        .kubectl(&[
            "create",
            "--raw",
            "/api/v1/namespaces/default/pods/g/binding",
            "-f",
            &gated_binding,
        ])
        .err();
    assert!(
        refused.contains("has non-empty .spec.schedulingGates"),
        "{refused}"
    );
}
on_both_backends!(pods_bind_once_and_delete_gracefully);

async fn generators_send_protobuf(c: Cluster) {
    // kubectl's generator subcommands send protobuf bodies.
    assert_eq!(
        c.kubectl(&["create", "namespace", "dev"]).ok().trim(),
        "namespace/dev created"
    );
    assert_eq!(
        c.kubectl(&[
            "create",
            "deployment",
            "web",
            "--image=nginx",
            "--replicas=2",
            "-n",
            "dev"
        ])
        .ok()
        .trim(),
        "deployment.apps/web created"
    );
    assert_eq!(
        c.kubectl_at(
            "1.32",
            &[
                "create",
                "configmap",
                "c",
                "--from-literal=a=b",
                "-n",
                "dev"
            ]
        )
        .ok()
        .trim(),
        "configmap/c created"
    );
    assert_eq!(
        c.kubectl(&[
            "create",
            "secret",
            "generic",
            "s",
            "--from-literal=k=v",
            "-n",
            "dev"
        ])
        .ok()
        .trim(),
        "secret/s created"
    );
    assert_eq!(
        c.kubectl(&[
            "create",
            "job",
            "j",
            "--image=busybox",
            "-n",
            "dev",
            "--",
            "echo",
            "hi"
        ])
        .ok()
        .trim(),
        "job.batch/j created"
    );
    assert_eq!(
        c.kubectl(&[
            "create",
            "service",
            "clusterip",
            "svc",
            "--tcp=80:8080",
            "-n",
            "dev"
        ])
        .ok()
        .trim(),
        "service/svc created"
    );
    assert_eq!(
        c.kubectl(&[
            "get",
            "deploy",
            "web",
            "-n",
            "dev",
            "-o",
            "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}"
        ])
        .ok(),
        "2 nginx"
    );
    assert_eq!(
        c.kubectl(&["get", "cm", "c", "-n", "dev", "-o", "jsonpath={.data.a}"])
            .ok(),
        "b"
    );
    assert_eq!(
        c.kubectl(&[
            "get",
            "secret",
            "s",
            "-n",
            "dev",
            "-o",
            "jsonpath={.data.k}"
        ])
        .ok(),
        "dg=="
    );
    let selector = c
        .kubectl(&[
            "get",
            "job",
            "j",
            "-n",
            "dev",
            "-o",
            "jsonpath={.spec.selector.matchLabels}",
        ])
        .ok();
    assert!(
        selector.contains("batch.kubernetes.io/controller-uid"),
        "{selector}"
    );
    // Terminating namespaces refuse new content.
    c.kubectl(&["delete", "namespace", "dev", "--wait=false"])
        .ok();
    assert!(
        c.kubectl(&["get", "ns", "dev", "--no-headers"])
            .ok()
            .contains("Terminating")
    );
    let refused = c
        .kubectl(&["create", "configmap", "late", "-n", "dev"])
        .err();
    assert!(
        refused.contains("because it is being terminated"),
        "{refused}"
    );
    let missing = c
        .kubectl(&["create", "configmap", "x", "-n", "nosuch"])
        .err();
    assert!(
        missing.contains("namespaces \"nosuch\" not found"),
        "{missing}"
    );
}
on_both_backends!(generators_send_protobuf);

async fn invalid_objects_are_rejected_with_causes(c: Cluster) {
    let bad = DEPLOYMENT.replace(
        "      labels: {app: web}\n    spec:",
        "      labels: {app: other}\n    spec:",
    );
    let path = c.manifest("bad.yaml", &bad);
    let err = c.kubectl(&["apply", "-f", &path]).err();
    assert!(
        err.contains(
            "The Deployment \"web\" is invalid: spec.template.metadata.labels: Invalid value:"
        ),
        "{err}"
    );
    assert!(
        err.contains("`selector` does not match template `labels`"),
        "{err}"
    );
    let bad_name = CONFIGMAP.replace("name: settings", "name: Not_Valid");
    let err = c
        .kubectl(&["create", "-f", &c.manifest("badname.yaml", &bad_name)])
        .err();
    assert!(
        err.contains(
            "The ConfigMap \"Not_Valid\" is invalid: metadata.name: Invalid value: \"Not_Valid\""
        ),
        "{err}"
    );
}
on_both_backends!(invalid_objects_are_rejected_with_causes);

async fn errors_health_and_metrics(c: Cluster) {
    // Unauthenticated requests get 401, health and version stay public.
    let anonymous: String = std::fs::read_to_string(&c.kubeconfig)
        .expect("kubeconfig")
        .lines()
        .filter(|l| !l.contains("client-key-data"))
        // A token this server does not accept instead of the certificate
        // (with no credentials at all kubectl would prompt for a password).
        .map(|l| {
            if l.contains("client-certificate-data") {
                "    token: not-a-valid-token\n".to_owned()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let anonymous = c.manifest("anonymous.kubeconfig", &anonymous);
    let denied = c
        .kubectl(&["--kubeconfig", &anonymous, "get", "pods"])
        .err();
    assert!(
        denied.contains("You must be logged in to the server"),
        "{denied}"
    );
    assert_eq!(
        c.kubectl(&["--kubeconfig", &anonymous, "get", "--raw", "/healthz"])
            .ok(),
        "ok"
    );

    let ready = c.kubectl(&["get", "--raw", "/readyz?verbose"]).ok();
    assert!(
        ready.contains("[+]etcd ok") && ready.contains("readyz check passed"),
        "{ready}"
    );
    let not_allowed = c.kubectl(&["delete", "--raw", "/api/v1/namespaces"]).err();
    assert!(
        not_allowed.contains("Error from server (MethodNotAllowed): the server does not allow this method on the requested resource"),
        "{not_allowed}"
    );
    let garbage = c.manifest(
        "mismatch.json",
        r#"{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"m"}}"#,
    );
    let bad = c
        .kubectl(&[
            "create",
            "--raw",
            "/api/v1/namespaces/default/configmaps",
            "-f",
            &garbage,
        ])
        .err();
    assert!(
        bad.contains("Error from server (BadRequest)")
            && bad.contains("does not match the expected API version (v1)"),
        "{bad}"
    );
    let big = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"big\"}},\"data\":{{\"a\":\"{}\"}}}}",
        "x".repeat(4 * 1024 * 1024)
    );
    let big = c.manifest("big.json", &big);
    let too_large = c
        .kubectl(&[
            "create",
            "--raw",
            "/api/v1/namespaces/default/configmaps",
            "-f",
            &big,
        ])
        .err();
    assert!(
        too_large.contains("RequestEntityTooLarge") || too_large.contains("too large"),
        "{too_large}"
    );
    assert!(
        c.kubectl(&["get", "cm", "big"]).err().contains("not found"),
        "nothing partial was written"
    );

    let metrics = c.kubectl(&["get", "--raw", "/metrics"]).ok();
    assert!(
        metrics.contains("apiserver_request_total{code=\"200\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("apiserver_storage_objects{resource=\"namespaces\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("apiserver_request_duration_seconds_bucket"),
        "{metrics}"
    );
}
on_both_backends!(errors_health_and_metrics);

async fn unknown_fields_follow_field_validation(c: Cluster) {
    let with_typo = CONFIGMAP.replace("\ndata:\n", "\ndataa: {x: y}\ndata:\n");
    let path = c.manifest("typo.yaml", &with_typo);
    let strict = c.kubectl(&["create", "-f", &path]).err();
    assert!(
        strict.contains("ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"dataa\""),
        "{strict}"
    );
    let warned = c.kubectl(&["create", "-f", &path, "--validate=warn"]);
    assert_eq!(warned.code, 0, "{}", warned.stderr);
    assert!(
        warned.stderr.contains("Warning: unknown field \"dataa\""),
        "{}",
        warned.stderr
    );
    // The unknown field was dropped, the rest stored.
    let stored = c.kubectl(&["get", "cm", "settings", "-o", "json"]).ok();
    assert!(
        !stored.contains("dataa") && stored.contains("\"a\": \"1\""),
        "{stored}"
    );
    // Patches are checked too.
    let patched = c.kubectl(&[
        "patch",
        "cm",
        "settings",
        "--type=merge",
        "-p",
        r#"{"bogus":1}"#,
    ]);
    assert!(
        patched.stderr.contains("unknown field \"bogus\""),
        "{patched:?}"
    );
}
on_both_backends!(unknown_fields_follow_field_validation);

/// A `kind: List` file: kubectl validates its items client side against
/// `/openapi/v2` (v3 has no List), then creates or applies each item; what
/// `get -o yaml` prints (a List) applies back unchanged.
async fn lists_are_validated_then_created(c: Cluster) {
    let list = c.manifest(
        "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n\
         - {apiVersion: v1, kind: ConfigMap, metadata: {name: one}, data: {a: \"1\"}}\n\
         - apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: web}\n  spec:\n\
         \x20   selector: {matchLabels: {app: web}}\n\
         \x20   template:\n      metadata: {labels: {app: web}}\n\
         \x20     spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 80}]}]}\n",
    );
    assert_eq!(
        c.kubectl(&["create", "-f", &list]).ok().trim(),
        "configmap/one created\ndeployment.apps/web created"
    );
    let bad = c.manifest(
        "bad-list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: two}, bogus: 1}\n",
    );
    for version in ["1.32", "1.33"] {
        let refused = c.kubectl_at(version, &["create", "-f", &bad]).err();
        assert!(
            refused.contains(
                "ValidationError(ConfigMap): unknown field \"bogus\" in io.k8s.api.core.v1.ConfigMap"
            ),
            "{refused}"
        );
    }
    let printed = c.manifest(
        "printed.yaml",
        &c.kubectl(&["get", "deploy,cm", "-o", "yaml"]).ok(),
    );
    let applied = c.kubectl(&["apply", "-f", &printed]).ok();
    assert!(
        applied.contains("deployment.apps/web configured"),
        "{applied}"
    );
}
on_both_backends!(lists_are_validated_then_created);

async fn versions_sharing_storage_convert(c: Cluster) {
    let event = c.manifest(
        "event.yaml",
        r#"apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: e1}
eventTime: "2026-01-01T00:00:00.000000Z"
reportingController: bosun.dev/test
reportingInstance: test-1
action: Testing
reason: Tested
note: hello from events.k8s.io
type: Normal
regarding: {kind: Pod, name: p, namespace: default}
"#,
    );
    c.kubectl(&["create", "-f", &event]).ok();
    assert_eq!(
        c.kubectl(&[
            "get",
            "events.v1.",
            "e1",
            "-o",
            "jsonpath={.message} {.involvedObject.name} {.reportingComponent}"
        ])
        .ok(),
        "hello from events.k8s.io p bosun.dev/test"
    );
    assert_eq!(
        c.kubectl(&[
            "get",
            "events.v1.events.k8s.io",
            "e1",
            "-o",
            "jsonpath={.note}"
        ])
        .ok(),
        "hello from events.k8s.io"
    );
    let deploy = c.manifest("deploy.yaml", DEPLOYMENT);
    c.kubectl(&["apply", "-f", &deploy]).ok();
    c.kubectl(&[
        "autoscale",
        "deploy",
        "web",
        "--min=1",
        "--max=3",
        "--cpu-percent=50",
    ])
    .ok();
    assert_eq!(
        c.kubectl(&[
            "get",
            "horizontalpodautoscalers.v1.autoscaling",
            "web",
            "-o",
            "jsonpath={.spec.targetCPUUtilizationPercentage} {.spec.maxReplicas}"
        ])
        .ok(),
        "50 3"
    );
    assert_eq!(
        c.kubectl(&[
            "get",
            "horizontalpodautoscalers.v2.autoscaling",
            "web",
            "-o",
            "jsonpath={.spec.metrics[0].resource.target.averageUtilization}"
        ])
        .ok(),
        "50"
    );
}
on_both_backends!(versions_sharing_storage_convert);

async fn conflicts_sorting_and_collections(c: Cluster) {
    let cm = c.manifest("cm.yaml", CONFIGMAP);
    c.kubectl(&["create", "-f", &cm]).ok();
    // A replace carrying a stale resourceVersion is a conflict.
    let json = c.kubectl(&["get", "cm", "settings", "-o", "json"]).ok();
    c.kubectl(&["label", "cm", "settings", "bump=1"]).ok();
    let stale = c.manifest("stale.json", &json);
    let conflict = c.kubectl(&["replace", "-f", &stale]).err();
    assert!(
        conflict.contains("Error from server (Conflict)")
            && conflict.contains("the object has been modified; please apply your changes to the latest version and try again"),
        "{conflict}"
    );
    for name in ["c-b", "c-a", "c-c"] {
        c.kubectl(&["create", "configmap", name, "--from-literal=k=v"])
            .ok();
    }
    let sorted = c
        .kubectl(&[
            "get",
            "cm",
            "-l",
            "!tier",
            "--sort-by=.metadata.name",
            "-o",
            "name",
        ])
        .ok();
    let names: Vec<&str> = sorted
        .lines()
        .filter(|l| l.starts_with("configmap/c-"))
        .collect();
    assert_eq!(names, ["configmap/c-a", "configmap/c-b", "configmap/c-c"]);
    // deletecollection removes what the selector picks.
    c.kubectl(&[
        "delete",
        "--raw",
        "/api/v1/namespaces/default/configmaps?labelSelector=tier%3Dbackend",
    ])
    .ok();
    assert!(
        c.kubectl(&["get", "cm", "settings"])
            .err()
            .contains("not found")
    );
    assert_eq!(
        c.kubectl(&["get", "cm", "c-a", "-o", "name"]).ok().trim(),
        "configmap/c-a"
    );
}
on_both_backends!(conflicts_sorting_and_collections);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_and_allocations_survive_a_restart() {
    let mut c = Cluster::start(Backend::Embedded).await;
    let svc = c.manifest("svc.yaml", &NODEPORT_SERVICE.replace("NAME", "a"));
    c.kubectl(&["apply", "-f", &svc]).ok();
    let before = c
        .kubectl(&[
            "get",
            "svc",
            "a",
            "-o",
            "jsonpath={.spec.clusterIP} {.metadata.resourceVersion}",
        ])
        .ok();
    c.restart().await;
    let after = c
        .kubectl(&[
            "get",
            "svc",
            "a",
            "-o",
            "jsonpath={.spec.clusterIP} {.metadata.resourceVersion}",
        ])
        .ok();
    assert_eq!(before, after);
    // The node port is still held across the restart.
    let second = c.manifest("svc-b.yaml", &NODEPORT_SERVICE.replace("NAME", "b"));
    assert!(
        c.kubectl(&["apply", "-f", &second])
            .err()
            .contains("provided port is already allocated")
    );
    // New writes get later resourceVersions than anything before the restart.
    c.kubectl(&["create", "configmap", "later"]).ok();
    let rv: i64 = c
        .kubectl(&[
            "get",
            "cm",
            "later",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .ok()
        .parse()
        .expect("rv");
    let old_rv: i64 = before
        .split(' ')
        .nth(1)
        .and_then(|r| r.parse().ok())
        .expect("old rv");
    assert!(rv > old_rv);
}

async fn example_manifests_apply(c: Cluster) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../manifests");
    let out = c.kubectl(&["apply", "-f", dir]).ok();
    for expected in [
        "namespace/demo created",
        "deployment.apps/web created",
        "service/web created",
        "statefulset.apps/db created",
        "daemonset.apps/node-agent created",
        "job.batch/report created",
        "cronjob.batch/cleanup created",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    let again = c.kubectl(&["apply", "-f", dir]).ok();
    assert!(again.contains("deployment.apps/web unchanged"), "{again}");
}
on_both_backends!(example_manifests_apply);

/// Reads one page of `path` with `kubectl get --raw`: item names and the
/// continue token.
fn page(c: &Cluster, path: &str) -> (Vec<String>, String) {
    let body = c.kubectl(&["get", "--raw", path]).ok();
    let list: serde_json::Value = serde_json::from_str(&body).expect("a list");
    let names = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            i["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let token = list["metadata"]["continue"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (names, token)
}

async fn paged_lists_are_consistent(c: Cluster) {
    c.kubectl(&["create", "namespace", "paged"]).ok();
    for i in 0..5 {
        c.kubectl(&["create", "configmap", &format!("cm-{i}"), "-n", "paged"])
            .ok();
    }
    let base = "/api/v1/namespaces/paged/configmaps";
    // Nothing changes between pages: every page, then the end.
    let mut seen = Vec::new();
    let (names, mut token) = page(&c, &format!("{base}?limit=2"));
    seen.extend(names);
    while !token.is_empty() {
        let (names, next) = page(&c, &format!("{base}?limit=2&continue={token}"));
        seen.extend(names);
        token = next;
    }
    let mut all: Vec<String> = (0..5).map(|i| format!("cm-{i}")).collect();
    all.insert(0, "kube-root-ca.crt".into());
    all.retain(|n| seen.contains(n) || !n.starts_with("kube-"));
    assert_eq!(seen, all, "pages: {seen:?}");
    // A change between pages: the rest of the list is still as it was
    // when the first page was read (the new object is not in it, the
    // deleted one still is).
    let (first, token) = page(&c, &format!("{base}?limit=2&labelSelector="));
    assert_eq!(first.len(), 2, "{first:?}");
    c.kubectl(&["create", "configmap", "cm-9", "-n", "paged"])
        .ok();
    c.kubectl(&["delete", "configmap", "cm-4", "-n", "paged"])
        .ok();
    let (rest, next) = page(&c, &format!("{base}?limit=100&continue={token}"));
    assert!(next.is_empty());
    assert!(rest.contains(&"cm-4".to_owned()), "{rest:?}");
    assert!(!rest.contains(&"cm-9".to_owned()), "{rest:?}");
    // kubectl's own chunked get sees the current state.
    let names = c
        .kubectl(&["get", "cm", "-n", "paged", "--chunk-size=2", "-o", "name"])
        .ok();
    assert!(names.contains("configmap/cm-9"), "{names}");
    assert!(!names.contains("configmap/cm-4"), "{names}");
    // A malformed token is a 400, as before.
    let bad = c
        .kubectl(&["get", "--raw", &format!("{base}?limit=2&continue=bogus")])
        .err();
    assert!(
        bad.contains("BadRequest") || bad.contains("continue"),
        "{bad}"
    );
}
on_both_backends!(paged_lists_are_consistent);

/// networking.k8s.io/v1: `kubectl create ingress` (protobuf), Ingress and
/// NetworkPolicy columns and defaults, validation causes, and `apply
/// --prune`, whose default allowlist includes Ingress (without the group,
/// every pruning apply failed).
async fn networking_kinds_and_pruning_apply(c: Cluster) {
    c.kubectl(&[
        "create",
        "ingress",
        "web",
        "--class=nginx",
        "--rule=foo.com/bar*=svc1:8080",
    ])
    .ok();
    let row = c.kubectl(&["get", "ing", "web", "--no-headers"]).ok();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..3], ["web", "nginx", "foo.com"], "{row}");
    let path_type = c
        .kubectl(&[
            "get",
            "ingress",
            "web",
            "-o",
            "jsonpath={.spec.rules[0].http.paths[0].pathType}",
        ])
        .ok();
    assert_eq!(path_type, "Prefix");
    let policy = c.manifest(
        "netpol.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, labels: {tier: probe}}\n\
         spec:\n  podSelector: {matchLabels: {app: db}}\n  egress: [{ports: [{port: 5432}]}]\n",
    );
    c.kubectl(&["apply", "-f", &policy]).ok();
    let defaults = c
        .kubectl(&[
            "get",
            "netpol",
            "db",
            "-o",
            "jsonpath={.spec.policyTypes} {.spec.egress[0].ports[0].protocol}",
        ])
        .ok();
    assert_eq!(defaults, r#"["Ingress","Egress"] TCP"#);
    let bad = c.manifest(
        "bad-ingress.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: bad}\n\
         spec:\n  rules: [{host: foo.com, http: {paths: [{path: /, backend: {service: {name: s, port: {number: 80}}}}]}}]\n",
    );
    let refused = c.kubectl(&["apply", "-f", &bad]).err();
    assert!(
        refused.contains(
            "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"
        ),
        "{refused}"
    );
    // Prune: the ConfigMap applied with the label goes when it leaves the file.
    let both = c.manifest(
        "both.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep, labels: {tier: probe}}\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata: {name: drop, labels: {tier: probe}}\n",
    );
    c.kubectl(&["apply", "-f", &both]).ok();
    let one = c.manifest(
        "one.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep, labels: {tier: probe}}\n",
    );
    let pruned = c
        .kubectl(&["apply", "--prune", "-l", "tier=probe", "-f", &one])
        .ok();
    assert!(pruned.contains("configmap/drop pruned"), "{pruned}");
    // NetworkPolicies are not in kubectl's default prune allowlist.
    assert!(!pruned.contains("networkpolicy"), "{pruned}");
    let left = c
        .kubectl(&["get", "cm", "-l", "tier=probe", "-o", "name"])
        .ok();
    assert_eq!(left.trim(), "configmap/keep");
}
on_both_backends!(networking_kinds_and_pruning_apply);

/// `kubectl auth whoami` and `kubectl auth can-i` (with `--list`): answered
/// from the caller's certificate and Bosun's allow-all authorizer.
async fn auth_whoami_and_can_i(c: Cluster) {
    let whoami = c.kubectl(&["auth", "whoami"]).ok();
    let rows: Vec<Vec<&str>> = whoami
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows.first().map(|r| r.as_slice()),
        Some(&["ATTRIBUTE", "VALUE"][..]),
        "{whoami}"
    );
    assert!(
        whoami.contains("[system:masters system:authenticated]"),
        "{whoami}"
    );
    assert_eq!(
        c.kubectl(&["auth", "can-i", "create", "pods"]).ok().trim(),
        "yes"
    );
    assert_eq!(
        c.kubectl(&["auth", "can-i", "get", "/healthz"]).ok().trim(),
        "yes"
    );
    // The deprecated componentstatuses, printed as upstream prints them.
    let statuses = c.kubectl(&["get", "componentstatuses"]);
    assert!(
        statuses
            .stderr
            .contains("Warning: v1 ComponentStatus is deprecated in v1.19+"),
        "{}",
        statuses.stderr
    );
    let statuses = statuses.ok();
    assert_eq!(
        statuses
            .lines()
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["NAME", "STATUS", "MESSAGE", "ERROR"])
    );
    assert!(statuses.contains("etcd-0   Healthy   ok"), "{statuses}");
    let list = c.kubectl(&["auth", "can-i", "--list"]).ok();
    assert!(list.lines().any(|l| l.starts_with("*.*")), "{list}");
    assert_eq!(
        c.kubectl(&["auth", "can-i", "delete", "nodes", "--as=jane"])
            .ok()
            .trim(),
        "yes"
    );
    // Impersonation: kubectl --as / --as-group.
    let jane = c
        .kubectl(&["auth", "whoami", "--as=jane", "--as-group=dev"])
        .ok();
    assert!(
        jane.contains("jane") && jane.contains("[dev system:authenticated]"),
        "{jane}"
    );
    let bot = c
        .kubectl(&["auth", "whoami", "--as=system:serviceaccount:ci:bot"])
        .ok();
    assert!(
        bot.contains("[system:serviceaccounts system:serviceaccounts:ci system:authenticated]"),
        "{bot}"
    );
}
on_both_backends!(auth_whoami_and_can_i);

/// `kubectl create token`: a TokenRequest answered with a signed token
/// that then authenticates as the service account, until the account goes.
async fn service_account_tokens_authenticate(c: Cluster) {
    c.kubectl(&["create", "serviceaccount", "bot"]).ok();
    let token = c
        .kubectl(&["create", "token", "bot", "--duration=15m"])
        .ok();
    let token = token.trim();
    assert_eq!(token.split('.').count(), 3, "{token}");
    let short = c
        .kubectl(&["create", "token", "bot", "--duration=1m"])
        .err();
    assert!(
        short.contains("may not specify a duration less than 10 minutes"),
        "{short}"
    );
    let missing = c.kubectl(&["create", "token", "nobody"]).err();
    assert!(
        missing.contains("serviceaccounts \"nobody\" not found"),
        "{missing}"
    );
    // A kubeconfig with the token and no client certificate.
    let server = c
        .kubectl(&[
            "config",
            "view",
            "--raw",
            "--minify",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ])
        .ok();
    let ca = c
        .kubectl(&[
            "config",
            "view",
            "--raw",
            "--minify",
            "-o",
            "jsonpath={.clusters[0].cluster.certificate-authority-data}",
        ])
        .ok();
    let config = c.manifest(
        "token-kubeconfig",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"{server}\", certificate-authority-data: {ca}}}}}]\n\
             users: [{{name: bot, user: {{token: \"{token}\"}}}}]\n\
             contexts: [{{name: bot, context: {{cluster: c, user: bot, namespace: default}}}}]\ncurrent-context: bot\n"
        ),
    );
    let whoami = c.kubectl(&["--kubeconfig", &config, "auth", "whoami"]).ok();
    assert!(
        whoami.contains("system:serviceaccount:default:bot"),
        "{whoami}"
    );
    assert!(
        whoami.contains(
            "[system:serviceaccounts system:serviceaccounts:default system:authenticated]"
        ),
        "{whoami}"
    );
    c.kubectl(&["--kubeconfig", &config, "get", "serviceaccounts"])
        .ok();
    // A TokenReview tells who the token is.
    let review = c.manifest(
        "review.yaml",
        &format!("apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec: {{token: \"{token}\"}}\n"),
    );
    let reviewed = c
        .kubectl(&[
            "create",
            "-f",
            &review,
            "-o",
            "jsonpath={.status.authenticated} {.status.user.username}",
        ])
        .ok();
    assert_eq!(reviewed, "true system:serviceaccount:default:bot");
    c.kubectl(&["delete", "serviceaccount", "bot"]).ok();
    let refused = c.kubectl(&["--kubeconfig", &config, "get", "pods"]).err();
    assert!(refused.contains("Unauthorized"), "{refused}");
}
on_both_backends!(service_account_tokens_authenticate);
