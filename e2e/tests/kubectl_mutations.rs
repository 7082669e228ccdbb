//! kubectl's mutations against bosun-apiserver, on the embedded store and on
//! etcd: client-side apply round trips (strategic merge patches with
//! `$setElementOrder` and the last-applied annotation), `diff`, server-side
//! apply with field ownership and conflicts, the switch from client-side to
//! server-side apply, `edit`, `set`, `patch` in every flavour and on
//! subresources, `label`/`annotate`, and the managedFields they leave.
//!
//! Only the Deployment object itself is asserted on: a controller-manager
//! may be running and adding ReplicaSets and status.

use bosun_e2e::{Backend, Cluster, Run};
use serde_json::Value;
use std::process::{Command, Stdio};

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: fe}
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
        ports: [{containerPort: 80}, {containerPort: 443}]
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
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

/// The Deployment with its managedFields, as JSON.
fn live(c: &Cluster, name: &str) -> Value {
    let text = c
        .kubectl(&["get", "deploy", name, "-o", "json", "--show-managed-fields"])
        .ok();
    serde_json::from_str(&text).expect("deployment json")
}

fn container(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

/// `(manager, operation, subresource)` of every managedFields entry.
fn managers(deployment: &Value) -> Vec<(String, String, String)> {
    deployment["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or("").to_owned();
            (text("manager"), text("operation"), text("subresource"))
        })
        .collect()
}

fn has_manager(deployment: &Value, manager: &str, operation: &str, subresource: &str) -> bool {
    managers(deployment).contains(&(manager.into(), operation.into(), subresource.into()))
}

/// The fieldsV1 of `manager`'s entry (`null` if none).
fn fields_of(deployment: &Value, manager: &str) -> Value {
    deployment["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["manager"] == manager)
        .map(|e| e["fieldsV1"].clone())
        .unwrap_or(Value::Null)
}

fn resource_version(deployment: &Value) -> String {
    deployment["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// Runs the `kubectl` on PATH with extra environment variables.
fn kubectl_env(c: &Cluster, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut command = Command::new("kubectl");
    command
        .env("KUBECONFIG", &c.kubeconfig)
        .env("HOME", c.path("home"))
        .env_remove("KUBECTL_EXTERNAL_DIFF")
        .stdin(Stdio::null())
        .args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run kubectl");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn client_side_apply_round_trips(c: Cluster) {
    let path = c.manifest("deploy.yaml", DEPLOYMENT);
    assert_eq!(
        c.kubectl(&["apply", "-f", &path]).ok().trim(),
        "deployment.apps/web created"
    );
    assert_eq!(
        c.kubectl(&["apply", "-f", &path]).ok().trim(),
        "deployment.apps/web unchanged"
    );
    let created = live(&c, "web");
    assert_eq!(
        managers(&created)[0],
        (
            "kubectl-client-side-apply".into(),
            "Update".into(),
            String::new()
        )
    );
    // As on a real cluster: the creator owns what it sent plus defaults;
    // atomic selectors are one field; structs present in Go's zero value
    // carry no `.` member.
    let owned = fields_of(&created, "kubectl-client-side-apply");
    assert_eq!(owned["f:spec"]["f:selector"], serde_json::json!({}));
    assert!(owned["f:spec"].get(".").is_none(), "{owned}");
    assert!(
        owned["f:spec"]["f:template"]["f:spec"]["f:containers"][r#"k:{"name":"c"}"#]
            ["f:imagePullPolicy"]
            .is_object(),
        "{owned}"
    );

    // A new image and replica count, env var B, port 443 and label tier
    // removed: kubectl sends a strategic merge patch with $setElementOrder
    // lists, deletions and the new last-applied annotation.
    let changed = DEPLOYMENT
        .replace("nginx:1.25", "nginx:1.26")
        .replace("replicas: 2", "replicas: 3")
        .replace(r#", {name: B, value: "2"}"#, "")
        .replace(", {containerPort: 443}", "")
        .replace(", tier: fe", "");
    let changed_path = c.manifest("deploy-changed.yaml", &changed);

    // `kubectl diff` (a server-side dry run) shows the change and writes
    // nothing.
    let diff = c.kubectl(&["diff", "-f", &changed_path]);
    assert_eq!(diff.code, 1, "{}", diff.stderr);
    assert!(
        diff.stdout.contains("-        image: nginx:1.25")
            && diff.stdout.contains("+        image: nginx:1.26"),
        "{}",
        diff.stdout
    );
    assert_eq!(container(&live(&c, "web"))["image"], "nginx:1.25");

    assert_eq!(
        c.kubectl(&["apply", "-f", &changed_path]).ok().trim(),
        "deployment.apps/web configured"
    );
    let updated = live(&c, "web");
    assert_eq!(updated["spec"]["replicas"], 3);
    assert_eq!(container(&updated)["image"], "nginx:1.26");
    assert_eq!(
        container(&updated)["env"],
        serde_json::json!([{"name": "A", "value": "1"}])
    );
    assert_eq!(
        container(&updated)["ports"],
        serde_json::json!([{"containerPort": 80, "protocol": "TCP"}])
    );
    assert_eq!(
        updated["metadata"]["labels"],
        serde_json::json!({"app": "web"})
    );
    assert!(
        updated["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .is_some_and(|a| a.contains("nginx:1.26")),
        "{updated}"
    );
    assert_eq!(updated["metadata"]["generation"], 2);
    let diff = c.kubectl(&["diff", "-f", &changed_path]);
    assert_eq!(
        (diff.code, diff.stdout.as_str()),
        (0, ""),
        "{}",
        diff.stderr
    );
    assert_eq!(
        c.kubectl(&["apply", "-f", &changed_path]).ok().trim(),
        "deployment.apps/web unchanged"
    );
    assert_eq!(
        resource_version(&live(&c, "web")),
        resource_version(&updated)
    );

    // Strict field validation: a typo fails, on create and on patch.
    let typo = changed.replace("replicas: 3", "replcas: 3");
    let typo_new = c.manifest(
        "typo-new.yaml",
        &typo.replace("name: web\n", "name: web2\n"),
    );
    let err = c.kubectl(&["apply", "-f", &typo_new]).err();
    assert!(
        err.lines().next().unwrap_or("").starts_with(
            r#"Error from server (BadRequest): error when creating ""#
        ) && err.contains(
            r#"Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replcas""#
        ),
        "{err}"
    );
    let typo_path = c.manifest("typo.yaml", &typo);
    let err = c.kubectl(&["apply", "-f", &typo_path]).err();
    assert!(
        err.contains(r#"strict decoding error: unknown field "spec.replcas""#),
        "{err}"
    );
    assert_eq!(live(&c, "web")["spec"]["replicas"], 3);
}
on_both_backends!(client_side_apply_round_trips);

async fn server_side_apply_and_conflicts(c: Cluster) {
    let path = c.manifest("deploy.yaml", DEPLOYMENT);
    assert_eq!(
        c.kubectl(&["apply", "--server-side", "-f", &path])
            .ok()
            .trim(),
        "deployment.apps/web serverside-applied"
    );
    let created = live(&c, "web");
    assert_eq!(
        managers(&created),
        [("kubectl".into(), "Apply".into(), String::new())]
    );
    // Only what was applied is owned, defaults are not.
    let owned = fields_of(&created, "kubectl");
    assert!(owned["f:spec"]["f:replicas"].is_object(), "{owned}");
    assert!(
        owned["f:spec"].get("f:revisionHistoryLimit").is_none(),
        "{owned}"
    );
    assert_eq!(created["spec"]["revisionHistoryLimit"], 10);
    // Re-applying the same manifest writes nothing.
    c.kubectl(&["apply", "--server-side", "-f", &path]).ok();
    assert_eq!(
        resource_version(&live(&c, "web")),
        resource_version(&created)
    );

    // `kubectl scale` takes spec.replicas through the scale subresource;
    // applying the manifest's replicas again conflicts.
    c.kubectl(&["scale", "deploy", "web", "--replicas=5"]).ok();
    let scaled = live(&c, "web");
    assert!(
        has_manager(&scaled, "kubectl", "Update", "scale"),
        "{:?}",
        managers(&scaled)
    );
    let conflict = c.kubectl(&["apply", "--server-side", "-f", &path]).err();
    assert!(
        conflict.starts_with(
            r#"error: Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas"#
        ),
        "{conflict}"
    );
    assert_eq!(live(&c, "web")["spec"]["replicas"], 5);
    assert_eq!(
        c.kubectl(&["apply", "--server-side", "--force-conflicts", "-f", &path])
            .ok()
            .trim(),
        "deployment.apps/web serverside-applied"
    );
    let forced = live(&c, "web");
    assert_eq!(forced["spec"]["replicas"], 2);
    assert!(!has_manager(&forced, "kubectl", "Update", "scale"));

    // Dropping env var B from the manifest removes it: the applier owned it
    // alone.
    let fewer = c.manifest(
        "fewer.yaml",
        &DEPLOYMENT.replace(r#", {name: B, value: "2"}"#, ""),
    );
    c.kubectl(&["apply", "--server-side", "-f", &fewer]).ok();
    assert_eq!(
        container(&live(&c, "web"))["env"],
        serde_json::json!([{"name": "A", "value": "1"}])
    );

    // A field set by client-side apply belongs to kubectl-client-side-apply:
    // another manager changing it conflicts.
    let other = DEPLOYMENT.replace("name: web\n", "name: other\n");
    let other_path = c.manifest("other.yaml", &other);
    c.kubectl(&["apply", "-f", &other_path]).ok();
    let other_changed = c.manifest(
        "other-changed.yaml",
        &other.replace("nginx:1.25", "nginx:1.26"),
    );
    let conflict = c
        .kubectl(&[
            "apply",
            "--server-side",
            "--field-manager=ci",
            "-f",
            &other_changed,
        ])
        .err();
    assert!(
        conflict.contains(
            r#"conflict with "kubectl-client-side-apply" using apps/v1: .spec.template.spec.containers[name="c"].image"#
        ),
        "{conflict}"
    );

    // Switching from client-side to server-side apply with kubectl's own
    // manager: kubectl migrates the ownership, no conflict.
    assert_eq!(
        c.kubectl(&["apply", "--server-side", "-f", &other_changed])
            .ok()
            .trim(),
        "deployment.apps/other serverside-applied"
    );
    let migrated = live(&c, "other");
    assert_eq!(container(&migrated)["image"], "nginx:1.26");
    assert!(
        has_manager(&migrated, "kubectl", "Apply", ""),
        "{:?}",
        managers(&migrated)
    );
    assert!(
        !has_manager(&migrated, "kubectl-client-side-apply", "Update", ""),
        "{:?}",
        managers(&migrated)
    );
    assert!(
        migrated["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .is_some_and(|a| a.contains("nginx:1.26")),
        "{migrated}"
    );
}
on_both_backends!(server_side_apply_and_conflicts);

async fn edit_set_patch_label(c: Cluster) {
    let path = c.manifest("deploy.yaml", DEPLOYMENT);
    c.kubectl(&["apply", "-f", &path]).ok();

    // `kubectl edit` with a non-interactive editor.
    let editor = c.manifest(
        "editor.sh",
        "#!/bin/sh\nsed -i 's/image: nginx:1.25/image: nginx:1.30/' \"$1\"\n",
    );
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod editor");
    let edited = kubectl_env(
        &c,
        &[("KUBE_EDITOR", &editor), ("EDITOR", &editor)],
        &["edit", "deploy", "web"],
    );
    assert_eq!(edited.ok().trim(), "deployment.apps/web edited");
    let after_edit = live(&c, "web");
    assert_eq!(container(&after_edit)["image"], "nginx:1.30");
    assert!(has_manager(&after_edit, "kubectl-edit", "Update", ""));

    // `kubectl set`.
    assert_eq!(
        c.kubectl(&["set", "image", "deploy/web", "c=nginx:1.31"])
            .ok()
            .trim(),
        "deployment.apps/web image updated"
    );
    c.kubectl(&["set", "env", "deploy/web", "C=3"]).ok();
    c.kubectl(&["set", "env", "deploy/web", "A-"]).ok();
    c.kubectl(&[
        "set",
        "resources",
        "deploy/web",
        "--limits=cpu=200m,memory=128Mi",
    ])
    .ok();
    let after_set = live(&c, "web");
    assert_eq!(container(&after_set)["image"], "nginx:1.31");
    assert_eq!(
        container(&after_set)["env"],
        serde_json::json!([{"name": "B", "value": "2"}, {"name": "C", "value": "3"}])
    );
    assert_eq!(
        container(&after_set)["resources"]["limits"],
        serde_json::json!({"cpu": "200m", "memory": "128Mi"})
    );
    assert!(has_manager(&after_set, "kubectl-set", "Update", ""));

    // `kubectl patch`: strategic merge by default (containers merge by
    // name, ports by containerPort), merge and JSON patches.
    assert_eq!(
        c.kubectl(&[
            "patch",
            "deploy",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"c","ports":[{"containerPort":8080}]}]}}}}"#,
        ])
        .ok()
        .trim(),
        "deployment.apps/web patched"
    );
    let ports: Vec<i64> = container(&live(&c, "web"))["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["containerPort"].as_i64())
        .collect();
    assert_eq!(ports, [8080, 80, 443]);
    c.kubectl(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"minReadySeconds":5}}"#,
    ])
    .ok();
    c.kubectl(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/spec/paused","value":true}]"#,
    ])
    .ok();
    let patched = live(&c, "web");
    assert_eq!(
        (
            patched["spec"]["minReadySeconds"].clone(),
            patched["spec"]["paused"].clone()
        ),
        (serde_json::json!(5), serde_json::json!(true))
    );
    assert!(has_manager(&patched, "kubectl-patch", "Update", ""));
    assert_eq!(
        c.kubectl(&[
            "patch",
            "deploy",
            "web",
            "-p",
            r#"{"spec":{"minReadySeconds":5}}"#
        ])
        .ok()
        .trim(),
        "deployment.apps/web patched (no change)"
    );

    // Subresources: status (merge and strategic), scale (strategic).
    c.kubectl(&[
        "patch",
        "deploy",
        "web",
        "--subresource",
        "status",
        "--type",
        "merge",
        "-p",
        r#"{"status":{"observedGeneration":1}}"#,
    ])
    .ok();
    let generation = live(&c, "web")["metadata"]["generation"].clone();
    assert_eq!(
        c.kubectl(&[
            "patch",
            "deploy",
            "web",
            "--subresource",
            "scale",
            "-p",
            r#"{"spec":{"replicas":4}}"#,
        ])
        .ok()
        .trim(),
        "scale.autoscaling/web patched"
    );
    assert_eq!(
        c.kubectl(&[
            "patch",
            "deploy",
            "web",
            "--subresource",
            "scale",
            "-p",
            r#"{"spec":{"replicas":4}}"#,
        ])
        .ok()
        .trim(),
        "scale.autoscaling/web patched (no change)"
    );
    let scaled = live(&c, "web");
    assert_eq!(scaled["spec"]["replicas"], 4);
    assert_eq!(
        scaled["metadata"]["generation"],
        generation.as_i64().unwrap_or(0) + 1
    );
    assert!(has_manager(&scaled, "kubectl-patch", "Update", "scale"));
    assert!(has_manager(&scaled, "kubectl-patch", "Update", "status"));

    // `kubectl label` / `annotate`, with --overwrite and removal.
    c.kubectl(&["label", "deploy", "web", "env=prod"]).ok();
    let refused = c.kubectl(&["label", "deploy", "web", "env=dev"]).err();
    assert!(refused.contains("--overwrite is false"), "{refused}");
    c.kubectl(&["label", "deploy", "web", "env=dev", "--overwrite"])
        .ok();
    c.kubectl(&["label", "deploy", "web", "tier-"]).ok();
    c.kubectl(&["annotate", "deploy", "web", "note=hi"]).ok();
    c.kubectl(&["annotate", "deploy", "web", "note=bye", "--overwrite"])
        .ok();
    let labelled = live(&c, "web");
    assert_eq!(
        labelled["metadata"]["labels"],
        serde_json::json!({"app": "web", "env": "dev"})
    );
    assert_eq!(labelled["metadata"]["annotations"]["note"], "bye");
    assert!(has_manager(&labelled, "kubectl-label", "Update", ""));
    assert!(has_manager(&labelled, "kubectl-annotate", "Update", ""));
    c.kubectl(&["annotate", "deploy", "web", "note-"]).ok();
    assert!(
        live(&c, "web")["metadata"]["annotations"]
            .get("note")
            .is_none()
    );

    // Every managedFields entry reads like a real cluster's.
    for entry in labelled["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
    {
        assert_eq!(entry["fieldsType"], "FieldsV1", "{entry}");
        assert_eq!(entry["apiVersion"], "apps/v1", "{entry}");
        assert!(entry["fieldsV1"].is_object(), "{entry}");
        if entry["subresource"] != "scale" {
            assert!(entry["time"].is_string(), "{entry}");
        }
    }
    let yaml = c
        .kubectl(&[
            "get",
            "deploy",
            "web",
            "-o",
            "yaml",
            "--show-managed-fields",
        ])
        .ok();
    assert!(
        yaml.contains("  managedFields:\n  - apiVersion: apps/v1\n    fieldsType: FieldsV1\n"),
        "{yaml}"
    );
    assert!(
        !c.kubectl(&["get", "deploy", "web", "-o", "yaml"])
            .ok()
            .contains("managedFields")
    );
}
on_both_backends!(edit_set_patch_label);
