//! Scenario tests: server-side apply and managedFields behaviour on real
//! Pod, Deployment, StatefulSet, Service and ConfigMap documents, against
//! the server's own OpenAPI v3 schemas (the live catalog).
#![allow(clippy::unwrap_used)]

use super::{
    ApplyError, FieldManager, FieldSet, ManagedFieldsEntry, OpenApiSchemas, Operation, apply,
    read_managed_fields, record_update, upgrade_managed_fields, write_managed_fields,
};
use serde_json::{Value, json};

const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";
const POD: &str = "io.k8s.api.core.v1.Pod";
const SERVICE: &str = "io.k8s.api.core.v1.Service";
const CONFIGMAP: &str = "io.k8s.api.core.v1.ConfigMap";
const T0: &str = "2024-05-01T10:00:00Z";
const T1: &str = "2024-05-01T10:05:00Z";
const T2: &str = "2024-05-01T10:10:00Z";
const T3: &str = "2024-05-01T10:15:00Z";

fn schemas() -> &'static OpenApiSchemas {
    super::schemas()
}

fn yaml(s: &str) -> Value {
    serde_saphyr::from_str(s).unwrap()
}

fn deployments() -> FieldManager<'static, OpenApiSchemas> {
    FieldManager::new(schemas(), Some(DEPLOYMENT), "apps/v1")
}

fn entry<'a>(
    entries: &'a [ManagedFieldsEntry],
    manager: &str,
    op: Operation,
) -> Option<&'a ManagedFieldsEntry> {
    entries
        .iter()
        .find(|e| e.manager == manager && e.operation == op)
}

fn fields(entries: &[ManagedFieldsEntry], manager: &str, op: Operation) -> String {
    entry(entries, manager, op)
        .map(|e| e.fields.to_fields_v1_string())
        .unwrap_or_default()
}

fn managers(entries: &[ManagedFieldsEntry]) -> Vec<(String, Operation)> {
    entries
        .iter()
        .map(|e| (e.manager.clone(), e.operation))
        .collect()
}

/// Pretends to be the registry: a stored object gets a uid and server fields.
fn stored(mut obj: Value) -> Value {
    let meta = obj["metadata"].as_object_mut().unwrap();
    meta.insert("uid".into(), json!("7b0c3f7e-0000-4000-8000-000000000001"));
    meta.insert("resourceVersion".into(), json!("100"));
    meta.insert("creationTimestamp".into(), json!(T0));
    meta.insert("generation".into(), json!(1));
    obj
}

const NGINX: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
  namespace: default
  labels:
    app: nginx
    tier: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        args: ["--a", "--b"]
        ports:
        - containerPort: 80
        - containerPort: 443
        env:
        - name: A
          value: "1"
        - name: B
          value: "2"
"#;

fn created_nginx() -> Value {
    let out = deployments()
        .apply(None, &yaml(NGINX), "kubectl", false, T0)
        .unwrap();
    stored(out.object)
}

#[test]
fn create_by_apply_records_the_appliers_fields() {
    let out = deployments()
        .apply(None, &yaml(NGINX), "kubectl", false, T0)
        .unwrap();
    assert!(out.changed);
    assert_eq!(out.managed_fields.len(), 1);
    let e = &out.managed_fields[0];
    assert_eq!(
        (e.manager.as_str(), e.operation, e.api_version.as_str()),
        ("kubectl", Operation::Apply, "apps/v1")
    );
    assert_eq!(e.time.as_deref(), Some(T0));
    assert_eq!(e.subresource, "");
    assert_eq!(
        e.fields.to_fields_v1_string(),
        concat!(
            // The selector is atomic (`+structType=atomic` on LabelSelector).
            r#"{"f:metadata":{"f:labels":{"f:app":{},"f:tier":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"#,
            r#""f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"#,
            r#""f:args":{},"f:env":{"k:{\"name\":\"A\"}":{".":{},"f:name":{},"f:value":{}},"k:{\"name\":\"B\"}":{".":{},"f:name":{},"f:value":{}}},"#,
            r#""f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}},"#,
            r#""k:{\"containerPort\":443,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}"#
        )
    );
    // The object is the applied configuration, with managedFields.
    assert_eq!(
        out.object["spec"]["template"]["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80}, {"containerPort": 443}])
    );
    assert_eq!(
        read_managed_fields(&out.object).unwrap(),
        out.managed_fields
    );
    assert_eq!(
        out.object["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:replicas"],
        json!({})
    );
}

#[test]
fn free_function_matches_field_manager() {
    let a = apply(
        None,
        &yaml(NGINX),
        "kubectl",
        false,
        schemas(),
        Some(DEPLOYMENT),
        "apps/v1",
        T0,
    )
    .unwrap();
    let b = deployments()
        .apply(None, &yaml(NGINX), "kubectl", false, T0)
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn reapplying_the_same_config_is_a_no_op() {
    let live = created_nginx();
    let out = deployments()
        .apply(Some(&live), &yaml(NGINX), "kubectl", false, T1)
        .unwrap();
    assert!(!out.changed);
    assert_eq!(out.object, live);
    // Upstream leaves the time alone when nothing changed.
    assert_eq!(out.managed_fields, read_managed_fields(&live).unwrap());
    assert_eq!(out.managed_fields[0].time.as_deref(), Some(T0));
}

#[test]
fn dropping_items_from_the_config_removes_them() {
    let live = created_nginx();
    let mut cfg = yaml(NGINX);
    cfg["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("tier");
    let c = &mut cfg["spec"]["template"]["spec"]["containers"][0];
    c["env"] = json!([{"name": "A", "value": "1"}]);
    c["ports"] = json!([{"containerPort": 80}]);
    c.as_object_mut().unwrap().remove("args");
    let out = deployments()
        .apply(Some(&live), &cfg, "kubectl", false, T1)
        .unwrap();
    assert!(out.changed);
    let c = &out.object["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["env"], json!([{"name": "A", "value": "1"}]));
    assert_eq!(c["ports"], json!([{"containerPort": 80}]));
    assert!(c.get("args").is_none());
    assert_eq!(out.object["metadata"]["labels"], json!({"app": "nginx"}));
    // Server-set metadata survives.
    assert_eq!(out.object["metadata"]["uid"], live["metadata"]["uid"]);
    let f = fields(&out.managed_fields, "kubectl", Operation::Apply);
    assert!(
        !f.contains("tier")
            && !f.contains(r#"\"B\""#)
            && !f.contains("443")
            && !f.contains("f:args"),
        "{f}"
    );
    assert_eq!(out.managed_fields[0].time.as_deref(), Some(T1));

    // Dropping the last env var removes the whole list field.
    let c = &mut cfg["spec"]["template"]["spec"]["containers"][0];
    c.as_object_mut().unwrap().remove("env");
    let out2 = deployments()
        .apply(Some(&stored(out.object)), &cfg, "kubectl", false, T2)
        .unwrap();
    assert!(
        out2.object["spec"]["template"]["spec"]["containers"][0]
            .get("env")
            .is_none()
    );
}

#[test]
fn two_appliers_share_a_field_with_the_same_value() {
    let live = created_nginx();
    let other = yaml(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nginx, namespace: default}\nspec:\n  replicas: 3\n",
    );
    let out = deployments()
        .apply(Some(&live), &other, "handover-to-hpa", false, T1)
        .unwrap();
    assert!(!out.changed);
    assert_eq!(
        fields(&out.managed_fields, "handover-to-hpa", Operation::Apply),
        r#"{"f:spec":{"f:replicas":{}}}"#
    );
    assert!(fields(&out.managed_fields, "kubectl", Operation::Apply).contains("f:replicas"));
    // The new applier made no change, so (as upstream) it gets no time stamp.
    assert_eq!(
        entry(&out.managed_fields, "handover-to-hpa", Operation::Apply)
            .unwrap()
            .time,
        None
    );

    // The first applier stops applying replicas: the value stays, owned by
    // the other applier only.
    let live = stored(out.object);
    let mut cfg = yaml(NGINX);
    cfg["spec"].as_object_mut().unwrap().remove("replicas");
    let out = deployments()
        .apply(Some(&live), &cfg, "kubectl", false, T2)
        .unwrap();
    assert_eq!(out.object["spec"]["replicas"], json!(3));
    assert!(!fields(&out.managed_fields, "kubectl", Operation::Apply).contains("f:replicas"));

    // A different value from a sharer conflicts.
    let mut bump = other.clone();
    bump["spec"]["replicas"] = json!(4);
    let mut live2 = created_nginx();
    let shared = deployments()
        .apply(Some(&live2), &other, "handover-to-hpa", false, T1)
        .unwrap();
    live2 = stored(shared.object);
    let err = deployments()
        .apply(Some(&live2), &bump, "handover-to-hpa", false, T2)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas"#
    );

    // Once nobody applies replicas any more it is removed.
    let live = stored(out.object);
    let mut other_without = other.clone();
    other_without["spec"] = json!({"paused": false});
    let out = deployments()
        .apply(Some(&live), &other_without, "handover-to-hpa", false, T3)
        .unwrap();
    assert!(out.object["spec"].get("replicas").is_none());
}

fn scaled_by_kubectl(live: &Value, replicas: i64, now: &str) -> Value {
    let mut new = live.clone();
    new["spec"]["replicas"] = json!(replicas);
    let entries = deployments()
        .record_update(Some(live), &new, "kubectl", now)
        .unwrap();
    write_managed_fields(&mut new, &entries);
    new
}

#[test]
fn conflict_with_an_update_manager_on_replicas() {
    let live = scaled_by_kubectl(&created_nginx(), 5, T1);
    let entries = read_managed_fields(&live).unwrap();
    assert_eq!(
        fields(&entries, "kubectl", Operation::Update),
        r#"{"f:spec":{"f:replicas":{}}}"#
    );
    assert_eq!(
        entry(&entries, "kubectl", Operation::Update)
            .unwrap()
            .time
            .as_deref(),
        Some(T1)
    );
    assert!(!fields(&entries, "kubectl", Operation::Apply).contains("f:replicas"));

    let err = deployments()
        .apply(Some(&live), &yaml(NGINX), "ci", false, T2)
        .unwrap_err();
    assert_eq!(err.http_status(), 409);
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas"#
    );
    let ApplyError::Conflicts(conflicts) = err else {
        panic!()
    };
    let c = &conflicts.0[0];
    assert_eq!(
        c.cause_message(),
        r#"conflict with "kubectl" using apps/v1"#
    );
    assert_eq!(c.field(), ".spec.replicas");
    assert_eq!(
        (c.manager.as_str(), c.operation),
        ("kubectl", Operation::Update)
    );
}

#[test]
fn several_conflicts_are_grouped_by_manager() {
    let live = created_nginx();
    let mut new = live.clone();
    new["spec"]["replicas"] = json!(5);
    new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.26");
    let entries = deployments()
        .record_update(Some(&live), &new, "kubectl", T1)
        .unwrap();
    write_managed_fields(&mut new, &entries);
    let mut new2 = new.clone();
    new2["metadata"]["labels"]["tier"] = json!("backend");
    let entries = deployments()
        .record_update(Some(&new), &new2, "editor", T2)
        .unwrap();
    write_managed_fields(&mut new2, &entries);

    let err = deployments()
        .apply(Some(&new2), &yaml(NGINX), "ci", false, T3)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        concat!(
            "Apply failed with 3 conflicts: conflicts with \"editor\" using apps/v1:\n",
            "- .metadata.labels.tier\n",
            "conflicts with \"kubectl\" using apps/v1:\n",
            "- .spec.replicas\n",
            "- .spec.template.spec.containers[name=\"nginx\"].image"
        )
    );
}

#[test]
fn force_takes_ownership() {
    let live = scaled_by_kubectl(&created_nginx(), 5, T1);
    let out = deployments()
        .apply(Some(&live), &yaml(NGINX), "ci", true, T2)
        .unwrap();
    assert_eq!(out.object["spec"]["replicas"], json!(3));
    assert!(fields(&out.managed_fields, "ci", Operation::Apply).contains("f:replicas"));
    // kubectl's Update entry owned only replicas: it is gone.
    assert!(entry(&out.managed_fields, "kubectl", Operation::Update).is_none());
    assert_eq!(
        managers(&out.managed_fields),
        vec![
            ("kubectl".to_string(), Operation::Apply),
            ("ci".to_string(), Operation::Apply)
        ]
    );
}

#[test]
fn record_update_on_create_owns_everything_but_server_fields() {
    let obj = stored(yaml(NGINX));
    let mut obj = obj;
    obj["status"] = json!({"replicas": 0});
    let entries = deployments()
        .record_update(None, &obj, "kubectl-create", T0)
        .unwrap();
    assert_eq!(
        managers(&entries),
        vec![("kubectl-create".to_string(), Operation::Update)]
    );
    let e = &entries[0];
    assert_eq!(e.api_version, "apps/v1");
    assert_eq!(e.time.as_deref(), Some(T0));
    let f = &e.fields;
    let p = |s: &[&str]| super::Path::fields(s);
    assert!(f.has(p(&["spec", "replicas"]).elements()));
    assert!(
        f.has(p(&["metadata", "labels"]).elements()),
        "added maps are owned as a whole too"
    );
    assert!(f.has(p(&["metadata", "labels", "app"]).elements()));
    for server in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "generation",
    ] {
        assert!(!f.has(p(&["metadata", server]).elements()), "{server}");
    }
    assert!(!f.has(p(&["metadata"]).elements()) && !f.has(p(&["apiVersion"]).elements()));
    assert!(!f.to_fields_v1_string().contains("f:status"));
    assert!(
        f.to_fields_v1_string()
            .contains(r#""k:{\"name\":\"nginx\"}":{".":{},"f:args":{}"#)
    );
}

#[test]
fn record_update_moves_changed_fields_to_the_writer() {
    let live = created_nginx();
    let mut new = live.clone();
    new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.26");
    new["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "A", "value": "1"}]);
    new["metadata"]["annotations"] = json!({"note": "x"});
    let entries = deployments()
        .record_update(Some(&live), &new, "editor", T1)
        .unwrap();
    let editor = fields(&entries, "editor", Operation::Update);
    assert_eq!(
        editor,
        r#"{"f:metadata":{"f:annotations":{".":{},"f:note":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{"f:image":{}}}}}}}"#
    );
    let kubectl = fields(&entries, "kubectl", Operation::Apply);
    assert!(!kubectl.contains("f:image"), "{kubectl}");
    assert!(
        !kubectl.contains(r#"\"B\""#),
        "removed fields leave their owners: {kubectl}"
    );
    // Sorted: Apply entries first.
    assert_eq!(
        managers(&entries),
        vec![
            ("kubectl".to_string(), Operation::Apply),
            ("editor".to_string(), Operation::Update)
        ]
    );

    // Nothing changed: managedFields stay as they are.
    let mut same = new.clone();
    write_managed_fields(&mut same, &entries);
    let again = deployments()
        .record_update(Some(&same), &same, "editor", T2)
        .unwrap();
    assert_eq!(again, entries);

    // A second change by the same manager merges into its entry.
    let mut more = same.clone();
    more["spec"]["paused"] = json!(true);
    let entries2 = deployments()
        .record_update(Some(&same), &more, "editor", T2)
        .unwrap();
    let e = entry(&entries2, "editor", Operation::Update).unwrap();
    assert!(
        e.fields.to_fields_v1_string().contains("f:paused")
            && e.fields.to_fields_v1_string().contains("f:image")
    );
    assert_eq!(e.time.as_deref(), Some(T2));
}

#[test]
fn status_writes_are_tracked_per_subresource() {
    let mut live = created_nginx();
    // Stored typed objects always carry a (possibly empty) status.
    live["status"] = json!({});
    let mut new = live.clone();
    new["status"] = json!({"replicas": 3, "readyReplicas": 3});
    // Through the main resource, status is reset by the strategy: not owned.
    let main = deployments()
        .record_update(Some(&live), &new, "controller", T1)
        .unwrap();
    assert!(entry(&main, "controller", Operation::Update).is_none());
    // Through /status it is, and spec changes there are ignored.
    new["spec"]["replicas"] = json!(9);
    let status_fm = deployments().with_subresource(Some("status"));
    let entries = status_fm
        .record_update(Some(&live), &new, "controller", T1)
        .unwrap();
    let e = entry(&entries, "controller", Operation::Update).unwrap();
    assert_eq!(e.subresource, "status");
    assert_eq!(
        e.fields.to_fields_v1_string(),
        r#"{"f:status":{"f:readyReplicas":{},"f:replicas":{}}}"#
    );
    assert!(fields(&entries, "kubectl", Operation::Apply).contains("f:replicas"));

    // The free function does the same.
    let free = record_update(
        Some(&live),
        &new,
        None,
        "controller",
        "apps/v1",
        T1,
        Some("status"),
        schemas(),
        Some(DEPLOYMENT),
    )
    .unwrap();
    assert_eq!(free, entries);

    // Applying status through the main resource does not own it.
    let mut cfg = yaml(NGINX);
    cfg["status"] = json!({"replicas": 1});
    let out = deployments()
        .apply(Some(&live), &cfg, "kubectl", false, T2)
        .unwrap();
    assert!(!fields(&out.managed_fields, "kubectl", Operation::Apply).contains("f:status"));
}

#[test]
fn apply_through_the_status_subresource() {
    let live = created_nginx();
    let cfg = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx", "namespace": "default"},
        "status": {"conditions": [{"type": "Available", "status": "True"}]}});
    let out = deployments()
        .with_subresource(Some("status"))
        .apply(Some(&live), &cfg, "ctrl", false, T1)
        .unwrap();
    let e = entry(&out.managed_fields, "ctrl", Operation::Apply).unwrap();
    assert_eq!(e.subresource, "status");
    assert_eq!(
        e.fields.to_fields_v1_string(),
        r#"{"f:status":{"f:conditions":{"k:{\"type\":\"Available\"}":{".":{},"f:status":{},"f:type":{}}}}}"#
    );
}

const POD_DOC: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  labels: {app: web}
  finalizers: [example.com/a]
spec:
  containers:
  - name: app
    image: busybox
    command: [sh, -c, "sleep 3600"]
    ports:
    - {containerPort: 8080, name: http}
    - {containerPort: 53, protocol: UDP}
    env:
    - {name: X, value: "1"}
"#;

#[test]
fn pod_lists_merge_by_their_kind() {
    let pods = FieldManager::new(schemas(), Some(POD), "v1");
    let live = stored(
        pods.apply(None, &yaml(POD_DOC), "tool", false, T0)
            .unwrap()
            .object,
    );
    let f = fields(
        &read_managed_fields(&live).unwrap(),
        "tool",
        Operation::Apply,
    );
    assert!(
        f.contains(r#""f:finalizers":{"v:\"example.com/a\"":{}}"#),
        "{f}"
    );
    assert!(
        f.contains(r#""f:command":{}"#),
        "atomic lists are owned whole: {f}"
    );
    assert!(
        f.contains(r#"k:{\"containerPort\":53,\"protocol\":\"UDP\"}"#),
        "{f}"
    );
    assert!(
        f.contains(r#"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}"#),
        "{f}"
    );

    // Another applier adds a finalizer (set) and an env var (map list); the
    // first applier's items stay, new ones go after them.
    let other = yaml(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, finalizers: [example.com/b]}
spec:
  containers:
  - name: app
    env: [{name: EXTRA, value: "2"}]
"#,
    );
    let out = pods
        .apply(Some(&live), &other, "sidecar-injector", false, T1)
        .unwrap();
    assert_eq!(
        out.object["metadata"]["finalizers"],
        json!(["example.com/a", "example.com/b"])
    );
    assert_eq!(
        out.object["spec"]["containers"][0]["env"],
        json!([{"name": "X", "value": "1"}, {"name": "EXTRA", "value": "2"}])
    );
    assert_eq!(
        out.object["spec"]["containers"][0]["image"],
        json!("busybox")
    );

    // An atomic list is replaced wholesale, and conflicts as one field.
    let mut cmd = other.clone();
    cmd["spec"]["containers"][0]["command"] = json!(["true"]);
    let err = pods
        .apply(
            Some(&stored(out.object.clone())),
            &cmd,
            "sidecar-injector",
            false,
            T2,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "tool": .spec.containers[name="app"].command"#
    );
    let forced = pods
        .apply(
            Some(&stored(out.object)),
            &cmd,
            "sidecar-injector",
            true,
            T2,
        )
        .unwrap();
    assert_eq!(
        forced.object["spec"]["containers"][0]["command"],
        json!(["true"])
    );

    // Removing a container port from the first applier's config removes it.
    let mut cfg = yaml(POD_DOC);
    cfg["spec"]["containers"][0]["ports"] = json!([{"containerPort": 8080, "name": "http"}]);
    let out = pods.apply(Some(&live), &cfg, "tool", false, T2).unwrap();
    assert_eq!(
        out.object["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 8080, "name": "http"}])
    );
}

#[test]
fn service_ports_are_keyed_by_port_and_protocol() {
    let svcs = FieldManager::new(schemas(), Some(SERVICE), "v1");
    let doc = yaml(
        r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: https, port: 443, targetPort: https}
"#,
    );
    let out = svcs.apply(None, &doc, "helm", false, T0).unwrap();
    assert_eq!(
        fields(&out.managed_fields, "helm", Operation::Apply),
        concat!(
            r#"{"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{},"f:targetPort":{}},"#,
            // `spec.selector` is an atomic map (`+mapType=atomic`).
            r#""k:{\"port\":443,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{},"f:targetPort":{}}},"f:selector":{}}}"#
        )
    );
    // The live object got defaulted protocols; the config without them
    // still matches those items.
    let mut live = stored(out.object);
    live["spec"]["ports"][0]["protocol"] = json!("TCP");
    live["spec"]["ports"][1]["protocol"] = json!("TCP");
    live["spec"]["clusterIP"] = json!("10.0.0.10");
    let mut cfg = doc.clone();
    cfg["spec"]["ports"] = json!([{"name": "http", "port": 80, "targetPort": 9090}]);
    let out = svcs.apply(Some(&live), &cfg, "helm", false, T1).unwrap();
    assert_eq!(
        out.object["spec"]["ports"],
        json!([{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 9090}])
    );
    assert_eq!(out.object["spec"]["clusterIP"], json!("10.0.0.10"));
}

#[test]
fn docs_configmap_example_and_conflict() {
    let cms = FieldManager::new(schemas(), Some(CONFIGMAP), "v1");
    let doc = yaml(
        r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: test-cm
  namespace: default
  labels:
    test-label: test
data:
  key: some value
"#,
    );
    let out = cms.apply(None, &doc, "kubectl", false, T0).unwrap();
    assert_eq!(
        out.managed_fields[0].to_json_string(),
        r#"{"manager":"kubectl","operation":"Apply","apiVersion":"v1","time":"2024-05-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:key":{}},"f:metadata":{"f:labels":{"f:test-label":{}}}}}"#
    );
    // A controller changes the value with an update: it now owns the key.
    let live = stored(out.object);
    let mut new = live.clone();
    new["data"]["key"] = json!("new value");
    let entries = cms
        .record_update(Some(&live), &new, "kube-controller-manager", T1)
        .unwrap();
    write_managed_fields(&mut new, &entries);
    assert_eq!(
        fields(&entries, "kube-controller-manager", Operation::Update),
        r#"{"f:data":{"f:key":{}}}"#
    );
    assert_eq!(
        fields(&entries, "kubectl", Operation::Apply),
        r#"{"f:metadata":{"f:labels":{"f:test-label":{}}}}"#
    );
    let err = cms
        .apply(Some(&new), &doc, "kubectl", false, T2)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "kube-controller-manager" using v1: .data.key"#
    );
}

#[test]
fn docs_transferring_replicas_to_an_autoscaler() {
    // The user applies replicas; a hand-over applier co-owns the same
    // value; the user drops replicas; the autoscaler then updates it freely.
    let live = created_nginx();
    let handover = yaml(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nginx, namespace: default}\nspec: {replicas: 3}\n",
    );
    let live = stored(
        deployments()
            .apply(Some(&live), &handover, "handover-to-hpa", false, T1)
            .unwrap()
            .object,
    );
    let mut cfg = yaml(NGINX);
    cfg["spec"].as_object_mut().unwrap().remove("replicas");
    let out = deployments()
        .apply(Some(&live), &cfg, "kubectl", false, T2)
        .unwrap();
    assert_eq!(out.object["spec"]["replicas"], json!(3));
    let live = stored(out.object);
    let scaled = {
        let mut new = live.clone();
        new["spec"]["replicas"] = json!(7);
        let entries = deployments()
            .record_update(Some(&live), &new, "horizontal-pod-autoscaler", T3)
            .unwrap();
        write_managed_fields(&mut new, &entries);
        new
    };
    let entries = read_managed_fields(&scaled).unwrap();
    assert!(
        entry(&entries, "handover-to-hpa", Operation::Apply).is_none(),
        "lost its only field"
    );
    assert_eq!(
        fields(&entries, "horizontal-pod-autoscaler", Operation::Update),
        r#"{"f:spec":{"f:replicas":{}}}"#
    );
    // The user's config no longer mentions replicas: no conflict.
    let out = deployments()
        .apply(Some(&scaled), &cfg, "kubectl", false, T3)
        .unwrap();
    assert_eq!(out.object["spec"]["replicas"], json!(7));
}

#[test]
fn kubectl_takes_over_from_client_side_apply() {
    // An object created with client-side apply: the last-applied annotation
    // and an Update entry for kubectl-client-side-apply.
    let mut cfg = yaml(NGINX);
    let annotation = serde_json::to_string(&cfg).unwrap();
    cfg["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": annotation});
    let obj = stored(cfg.clone());
    let entries = deployments()
        .record_update(None, &obj, "kubectl-client-side-apply", T0)
        .unwrap();
    let mut live = obj;
    write_managed_fields(&mut live, &entries);

    // kubectl now applies server-side with a new replica count.
    let mut ssa = yaml(NGINX);
    ssa["spec"]["replicas"] = json!(4);
    // Another manager would conflict…
    let err = deployments()
        .apply(Some(&live), &ssa, "someone", false, T1)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(r#"conflict with "kubectl-client-side-apply" using apps/v1"#),
        "{err}"
    );
    // …kubectl may take over what it applied client-side.
    let out = deployments()
        .apply(Some(&live), &ssa, "kubectl", false, T1)
        .unwrap();
    assert_eq!(out.object["spec"]["replicas"], json!(4));
    assert!(fields(&out.managed_fields, "kubectl", Operation::Apply).contains("f:replicas"));
    assert!(
        !fields(
            &out.managed_fields,
            "kubectl-client-side-apply",
            Operation::Update
        )
        .contains("f:replicas")
    );
    // And the annotation follows the server-side config.
    let ann =
        out.object["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap();
    let ann: Value = serde_json::from_str(ann).unwrap();
    assert_eq!(ann["spec"]["replicas"], json!(4));

    // A field changed by someone else since is not taken over silently.
    let mut edited = live.clone();
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:edited");
    let entries = deployments()
        .record_update(Some(&live), &edited, "editor", T1)
        .unwrap();
    write_managed_fields(&mut edited, &entries);
    let err = deployments()
        .apply(Some(&edited), &ssa, "kubectl", false, T2)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "editor" using apps/v1: .spec.template.spec.containers[name="nginx"].image"#
    );

    // kubectl's own migration helper rewrites the entries client-side.
    let upgraded = upgrade_managed_fields(
        &read_managed_fields(&live).unwrap(),
        "kubectl-client-side-apply",
        "kubectl",
    )
    .unwrap();
    assert_eq!(
        managers(&upgraded),
        vec![("kubectl".to_string(), Operation::Apply)]
    );
    assert!(
        upgraded[0]
            .fields
            .to_fields_v1_string()
            .contains("f:replicas")
    );
}

#[test]
fn untracked_objects_get_a_before_first_apply_manager() {
    let mut live = created_nginx();
    super::remove_managed_fields(&mut live);
    // Updates of an object without managedFields are not tracked.
    let mut new = live.clone();
    new["spec"]["paused"] = json!(true);
    assert_eq!(
        deployments()
            .record_update(Some(&live), &new, "editor", T1)
            .unwrap(),
        Vec::new()
    );
    // A first apply conflicts with what was there before.
    let mut cfg = yaml(NGINX);
    cfg["spec"]["replicas"] = json!(2);
    let err = deployments()
        .apply(Some(&live), &cfg, "ci", false, T1)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas"#
    );
    let out = deployments()
        .apply(Some(&live), &yaml(NGINX), "ci", false, T1)
        .unwrap();
    assert_eq!(
        managers(&out.managed_fields),
        vec![
            ("ci".to_string(), Operation::Apply),
            ("before-first-apply".to_string(), Operation::Update)
        ]
    );
}

#[test]
fn managed_fields_sent_with_an_update_replace_or_reset_tracking() {
    let live = created_nginx();
    let mut new = live.clone();
    new["metadata"]["managedFields"] = json!([]);
    assert_eq!(
        deployments()
            .record_update(Some(&live), &new, "editor", T1)
            .unwrap(),
        Vec::new()
    );
    new["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Update", "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:paused": {}}}}]);
    let entries = deployments()
        .record_update(Some(&live), &new, "editor", T1)
        .unwrap();
    assert_eq!(
        managers(&entries),
        vec![("x".to_string(), Operation::Update)]
    );
}

#[test]
fn update_managers_are_capped() {
    let mut live = created_nginx();
    live["metadata"]["annotations"] = json!({});
    for i in 0..12 {
        let mut new = live.clone();
        new["metadata"]["annotations"][format!("a{i}")] = json!("x");
        let now = format!("2024-05-01T11:{i:02}:00Z");
        let entries = deployments()
            .record_update(Some(&live), &new, &format!("writer-{i}"), &now)
            .unwrap();
        write_managed_fields(&mut new, &entries);
        live = new;
    }
    let entries = read_managed_fields(&live).unwrap();
    let updaters = entries
        .iter()
        .filter(|e| e.operation == Operation::Update)
        .count();
    assert_eq!(updaters, 10);
    assert!(entries.iter().any(|e| e.manager == "ancient-changes"));
}

#[test]
fn bad_input_gives_upstream_like_errors() {
    let fm = deployments();
    let err = fm.apply(None, &json!([1]), "m", false, T0).unwrap_err();
    assert_eq!(err.http_status(), 400);
    let mut cfg = yaml(NGINX);
    cfg.as_object_mut().unwrap().remove("kind");
    assert_eq!(
        fm.apply(None, &cfg, "m", false, T0)
            .unwrap_err()
            .to_string(),
        "invalid object type: apps/v1, Kind="
    );
    let mut cfg = yaml(NGINX);
    cfg["apiVersion"] = json!("v1");
    assert_eq!(
        fm.apply(None, &cfg, "m", false, T0)
            .unwrap_err()
            .to_string(),
        "invalid object type: /v1, Kind=Deployment"
    );
    let mut cfg = yaml(NGINX);
    cfg["metadata"]["managedFields"] = json!([]);
    assert_eq!(
        fm.apply(None, &cfg, "m", false, T0).unwrap_err(),
        ApplyError::ManagedFieldsInPatch
    );

    let mut cfg = yaml(NGINX);
    cfg["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    assert_eq!(
        fm.apply(None, &cfg, "m", false, T0)
            .unwrap_err()
            .to_string(),
        r#"failed to create typed patch object (default/nginx; apps/v1, Kind=Deployment): .spec.template.spec.containers: element 0: associative list with keys has an element that omits key field "name" (and doesn't have default value)"#
    );
    let mut cfg = yaml(NGINX);
    let c = cfg["spec"]["template"]["spec"]["containers"][0].clone();
    cfg["spec"]["template"]["spec"]["containers"] = json!([c.clone(), c]);
    assert_eq!(
        fm.apply(None, &cfg, "m", false, T0)
            .unwrap_err()
            .to_string(),
        r#"failed to create typed patch object (default/nginx; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name="nginx"]"#
    );
    let mut cfg = yaml(NGINX);
    cfg["spec"]["replicaz"] = json!(1);
    assert_eq!(
        fm.apply(None, &cfg, "m", false, T0)
            .unwrap_err()
            .to_string(),
        r#"failed to create typed patch object (default/nginx; apps/v1, Kind=Deployment): .spec.replicaz: field not declared in schema"#
    );
    let mut cfg = yaml(NGINX);
    cfg["spec"]["replicas"] = json!("three");
    let err = fm
        .apply(None, &cfg, "m", false, T0)
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with(".spec.replicas: expected numeric (int or float), got string"),
        "{err}"
    );
    let mut live = created_nginx();
    live["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Bogus"}]);
    assert_eq!(
        fm.apply(Some(&live), &yaml(NGINX), "m", false, T0)
            .unwrap_err()
            .to_string(),
        "failed to decode managed fields: operation must be `Apply` or `Update`"
    );
}

#[test]
fn fields_v1_round_trip() {
    let text = r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{}}}}}}}"#;
    let set = FieldSet::from_fields_v1_str(text).unwrap();
    assert_eq!(set.to_fields_v1_string(), text);
}

#[test]
fn unknown_schema_deduces_types() {
    let fm = FieldManager::new(schemas(), None, "example.com/v1")
        .with_kind("Widget")
        .with_reset_fields(FieldSet::new());
    let cfg = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"list": [1, 2], "map": {"a": 1}}, "status": {"phase": "x"}});
    let out = fm.apply(None, &cfg, "op", false, T0).unwrap();
    assert_eq!(
        fields(&out.managed_fields, "op", Operation::Apply),
        r#"{"f:spec":{".":{},"f:list":{},"f:map":{".":{},"f:a":{}}},"f:status":{".":{},"f:phase":{}}}"#
    );
}

#[test]
fn reapplying_onto_a_defaulted_live_object_is_a_no_op() {
    let mut live = created_nginx();
    // What defaulting and typed round trips add to a stored Deployment.
    let spec = &mut live["spec"];
    spec["revisionHistoryLimit"] = json!(10);
    spec["progressDeadlineSeconds"] = json!(600);
    spec["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
    spec["template"]["metadata"]["creationTimestamp"] = Value::Null;
    let c = &mut spec["template"]["spec"]["containers"][0];
    c["imagePullPolicy"] = json!("IfNotPresent");
    c["terminationMessagePath"] = json!("/dev/termination-log");
    c["ports"][0]["protocol"] = json!("TCP");
    c["ports"][1]["protocol"] = json!("TCP");
    c["resources"] = json!({});
    live["status"] = json!({});
    let out = deployments()
        .apply(Some(&live), &yaml(NGINX), "kubectl", false, T1)
        .unwrap();
    assert!(!out.changed);
    assert_eq!(out.object, live);
    assert_eq!(out.managed_fields, read_managed_fields(&live).unwrap());

    // Changing one value changes only that and bumps the time.
    let mut cfg = yaml(NGINX);
    cfg["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    let out = deployments()
        .apply(Some(&live), &cfg, "kubectl", false, T1)
        .unwrap();
    assert!(out.changed);
    let c = &out.object["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        (c["image"].clone(), c["imagePullPolicy"].clone()),
        (json!("nginx:1.27"), json!("IfNotPresent"))
    );
    assert_eq!(
        out.object["spec"]["template"]["metadata"]["creationTimestamp"],
        Value::Null
    );
    assert_eq!(out.managed_fields[0].time.as_deref(), Some(T1));
}

#[test]
fn applying_null_unsets_a_field() {
    let live = created_nginx();
    let mut cfg = yaml(NGINX);
    cfg["spec"]["replicas"] = Value::Null;
    let out = deployments()
        .apply(Some(&live), &cfg, "kubectl", false, T1)
        .unwrap();
    assert!(out.object["spec"].get("replicas").is_none());
    assert!(fields(&out.managed_fields, "kubectl", Operation::Apply).contains("f:replicas"));
}

#[test]
fn statefulset_volume_claim_templates_are_atomic() {
    let sts = FieldManager::new(schemas(), Some("io.k8s.api.apps.v1.StatefulSet"), "apps/v1");
    let doc = yaml(
        r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: default}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres, volumeMounts: [{name: data, mountPath: /var/lib/postgresql}]}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"#,
    );
    let out = sts.apply(None, &doc, "tool", false, T0).unwrap();
    let f = fields(&out.managed_fields, "tool", Operation::Apply);
    assert!(f.contains(r#""f:volumeClaimTemplates":{}"#), "{f}");
    assert!(f.contains(r#""f:volumeMounts":{"k:{\"mountPath\":\"/var/lib/postgresql\"}":{".":{},"f:mountPath":{},"f:name":{}}}"#), "{f}");
}

#[test]
fn associative_lists_follow_the_applied_order() {
    let live = created_nginx();
    let mut cfg = yaml(NGINX);
    cfg["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]);
    let out = deployments()
        .apply(Some(&live), &cfg, "kubectl", false, T1)
        .unwrap();
    assert_eq!(
        out.object["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "B", "value": "2"}, {"name": "A", "value": "1"}])
    );
    // A live-only item keeps its place between applied ones.
    let mut with_x = live.clone();
    with_x["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "A", "value": "1"}, {"name": "X", "value": "x"}, {"name": "B", "value": "2"}]);
    let entries = deployments()
        .record_update(Some(&live), &with_x, "injector", T1)
        .unwrap();
    write_managed_fields(&mut with_x, &entries);
    let mut cfg = yaml(NGINX);
    cfg["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]);
    let out = deployments()
        .apply(Some(&with_x), &cfg, "kubectl", false, T2)
        .unwrap();
    let names: Vec<&str> = out.object["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["A", "X", "B", "C"]);
}
