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
