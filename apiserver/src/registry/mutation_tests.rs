//! Registry-level tests of the mutations kubectl sends: strategic merge
//! patches, server-side apply, and the managedFields every write records,
//! on the embedded store.
#![allow(clippy::unwrap_used)]

use super::options::WriteOptions;
use super::services::ServiceRanges;
use super::write::Target;
use super::{Outcome, Registry};
use crate::patch::{Patch, PatchKind};
use crate::registry::subresources::ScaleChange;
use crate::status::ApiError;
use bosun_storage::EmbeddedStore;
use bosun_types::resources::{ResourceInfo, find_by_plural};
use serde_json::{Value, json};
use std::sync::Arc;

struct Fixture {
    registry: Registry,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let ranges = ServiceRanges::parse("10.96.0.0/12", "30000-32767").unwrap();
    let registry = Registry::new(store, ranges);
    let namespaces = find_by_plural("", "v1", "namespaces").unwrap();
    registry
        .create(
            namespaces,
            None,
            json!({"metadata": {"name": "default"}}),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    Fixture {
        registry,
        _dir: dir,
    }
}

fn deployments() -> &'static ResourceInfo {
    find_by_plural("apps", "v1", "deployments").unwrap()
}

fn by(manager: &str) -> WriteOptions {
    WriteOptions {
        field_manager: Some(manager.into()),
        ..WriteOptions::default()
    }
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "c", "image": "nginx:1.25",
                    "ports": [{"containerPort": 80}, {"containerPort": 443}],
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
                }]}
            }
        }
    })
}

impl Fixture {
    async fn create(&self, object: Value, manager: &str) -> Outcome {
        self.registry
            .create(deployments(), Some("default"), object, &by(manager))
            .await
            .unwrap()
    }

    async fn patch(
        &self,
        kind: PatchKind,
        body: &str,
        target: Target,
        options: &WriteOptions,
    ) -> Result<Outcome, ApiError> {
        self.registry
            .patch(
                deployments(),
                Some("default"),
                "web",
                Patch {
                    kind,
                    body: body.as_bytes(),
                },
                target,
                options,
            )
            .await
    }

    async fn apply(&self, body: &Value, manager: &str, force: bool) -> Result<Outcome, ApiError> {
        let options = WriteOptions {
            force,
            ..by(manager)
        };
        self.patch(PatchKind::Apply, &body.to_string(), Target::Main, &options)
            .await
    }

    async fn get(&self) -> Value {
        self.registry
            .get(deployments(), Some("default"), "web")
            .await
            .unwrap()
    }
}

fn managers(object: &Value) -> Vec<(String, String, String)> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or("").to_owned(),
                        e["operation"].as_str().unwrap_or("").to_owned(),
                        e["subresource"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn owns(object: &Value, manager: &str, path: &[&str]) -> bool {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["manager"] == manager)
        .any(|e| {
            let mut at = &e["fieldsV1"];
            path.iter().all(|p| {
                at = &at[*p];
                !at.is_null()
            })
        })
}

fn rv(object: &Value) -> String {
    object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn strategic_merge_patches_merge_lists_by_key_and_follow_directives() {
    let f = fixture().await;
    f.create(deployment(), "kubectl-create").await;
    // What kubectl apply sends after removing env B and port 443 and
    // changing the image: `$setElementOrder` lists plus deletions.
    let patch = r#"{"spec":{"template":{"spec":{
        "$setElementOrder/containers":[{"name":"c"}],
        "containers":[{"name":"c","image":"nginx:1.26",
            "$setElementOrder/env":[{"name":"A"}],
            "$setElementOrder/ports":[{"containerPort":80}],
            "env":[{"$patch":"delete","name":"B"}],
            "ports":[{"$patch":"delete","containerPort":443}]}]}}}}"#;
    let out = f
        .patch(
            PatchKind::Strategic,
            patch,
            Target::Main,
            &by("kubectl-client-side-apply"),
        )
        .await
        .unwrap();
    let container = &out.object["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "nginx:1.26");
    assert_eq!(container["env"], json!([{"name": "A", "value": "1"}]));
    assert_eq!(
        container["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}])
    );
    assert_eq!(out.object["metadata"]["generation"], 2);
    assert!(owns(
        &out.object,
        "kubectl-client-side-apply",
        &[
            "f:spec",
            "f:template",
            "f:spec",
            "f:containers",
            r#"k:{"name":"c"}"#,
            "f:image"
        ]
    ));
    assert!(!owns(
        &out.object,
        "kubectl-create",
        &[
            "f:spec",
            "f:template",
            "f:spec",
            "f:containers",
            r#"k:{"name":"c"}"#,
            "f:image"
        ]
    ));

    // The same patch again changes nothing and writes nothing.
    let again = f
        .patch(
            PatchKind::Strategic,
            patch,
            Target::Main,
            &by("kubectl-client-side-apply"),
        )
        .await
        .unwrap();
    assert_eq!(rv(&again.object), rv(&out.object));
    assert_eq!(again.object, f.get().await);

    // Malformed directives are 400, content the schema cannot merge 422;
    // nothing is written.
    let bad = f
        .patch(
            PatchKind::Strategic,
            r#"{"spec":{"template":{"spec":{"$setElementOrder/containers":"c"}}}}"#,
            Target::Main,
            &by("m"),
        )
        .await
        .unwrap_err();
    assert_eq!(bad.code, 400, "{}", bad.message);
    let missing_key = f
        .patch(
            PatchKind::Strategic,
            r#"{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}"#,
            Target::Main,
            &by("m"),
        )
        .await
        .unwrap_err();
    assert_eq!(missing_key.code, 422, "{}", missing_key.message);
    assert!(
        missing_key
            .message
            .contains("does not contain declared merge key: name"),
        "{}",
        missing_key.message
    );
    assert_eq!(rv(&f.get().await), rv(&out.object));
}

#[tokio::test]
async fn status_and_scale_subresources_take_strategic_merge_patches() {
    let f = fixture().await;
    f.create(deployment(), "kubectl-create").await;
    let status = f
        .patch(
            PatchKind::Strategic,
            r#"{"status":{"replicas":2,"conditions":[{"type":"Available","status":"True"}]}}"#,
            Target::Status,
            &by("kube-controller-manager"),
        )
        .await
        .unwrap();
    assert_eq!(status.object["status"]["replicas"], 2);
    assert_eq!(status.object["metadata"]["generation"], 1);
    assert!(managers(&status.object).contains(&(
        "kube-controller-manager".into(),
        "Update".into(),
        "status".into()
    )));
    // Conditions merge by type.
    let status = f
        .patch(
            PatchKind::Strategic,
            r#"{"status":{"conditions":[{"type":"Progressing","status":"True"}]}}"#,
            Target::Status,
            &by("kube-controller-manager"),
        )
        .await
        .unwrap();
    assert_eq!(
        status.object["status"]["conditions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let scale = f
        .registry
        .update_scale(
            deployments(),
            Some("default"),
            "web",
            ScaleChange::Patch(Patch {
                kind: PatchKind::Strategic,
                body: br#"{"spec":{"replicas":5}}"#,
            }),
            &by("kubectl"),
        )
        .await
        .unwrap();
    assert_eq!(scale["spec"]["replicas"], 5);
    let object = f.get().await;
    assert_eq!(object["spec"]["replicas"], 5);
    assert_eq!(object["metadata"]["generation"], 2);
    assert!(owns(&object, "kubectl", &["f:spec", "f:replicas"]));
    assert!(!owns(&object, "kubectl-create", &["f:spec", "f:replicas"]));
}

#[tokio::test]
async fn server_side_apply_creates_updates_and_reports_conflicts() {
    let f = fixture().await;
    let mut applied = deployment();
    applied["metadata"]["namespace"] = json!("default");
    let created = f.apply(&applied, "kubectl", false).await.unwrap();
    assert!(created.created);
    assert_eq!(
        managers(&created.object),
        [("kubectl".into(), "Apply".into(), String::new())]
    );
    assert!(created.object["metadata"]["uid"].is_string());
    // Defaults are filled in but not owned.
    assert_eq!(created.object["spec"]["revisionHistoryLimit"], 10);
    assert!(!owns(
        &created.object,
        "kubectl",
        &["f:spec", "f:revisionHistoryLimit"]
    ));

    // Re-applying the same configuration writes nothing.
    let again = f.apply(&applied, "kubectl", false).await.unwrap();
    assert!(!again.created);
    assert_eq!(rv(&again.object), rv(&created.object));

    // Someone else scales; applying the old replicas conflicts.
    f.registry
        .update_scale(
            deployments(),
            Some("default"),
            "web",
            ScaleChange::Patch(Patch {
                kind: PatchKind::Merge,
                body: br#"{"spec":{"replicas":5}}"#,
            }),
            &by("kubectl"),
        )
        .await
        .unwrap();
    let conflict = f.apply(&applied, "kubectl", false).await.unwrap_err();
    assert_eq!(conflict.code, 409);
    assert_eq!(conflict.reason, "Conflict");
    assert_eq!(
        conflict.message,
        "Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" using apps/v1: .spec.replicas"
    );
    assert_eq!(
        conflict.details.unwrap()["causes"],
        json!([{"reason": "FieldManagerConflict",
                "message": "conflict with \"kubectl\" with subresource \"scale\" using apps/v1",
                "field": ".spec.replicas"}])
    );
    // Forced, the applier takes the field back.
    let forced = f.apply(&applied, "kubectl", true).await.unwrap();
    assert_eq!(forced.object["spec"]["replicas"], 2);
    assert_eq!(
        managers(&forced.object),
        [("kubectl".into(), "Apply".into(), String::new())]
    );

    // Dropping a field the applier alone owned removes it.
    let mut fewer = applied.clone();
    fewer["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "A", "value": "1"}]);
    let pruned = f.apply(&fewer, "kubectl", false).await.unwrap();
    assert_eq!(
        pruned.object["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}])
    );

    // A dry run changes nothing.
    let mut image = fewer.clone();
    image["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    let options = WriteOptions {
        dry_run: true,
        ..by("kubectl")
    };
    let dry = f
        .patch(PatchKind::Apply, &image.to_string(), Target::Main, &options)
        .await
        .unwrap();
    assert_eq!(
        dry.object["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2"
    );
    assert_eq!(
        f.get().await["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );
}

#[tokio::test]
async fn server_side_apply_takes_yaml_and_rejects_unknown_fields() {
    let f = fixture().await;
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replcas: 3\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers: [{name: c, image: nginx}]\n";
    let err = f
        .patch(PatchKind::Apply, yaml, Target::Main, &by("kubectl"))
        .await
        .unwrap_err();
    assert_eq!(err.code, 500);
    assert!(
        err.message
            .contains(".spec.replcas: field not declared in schema"),
        "{}",
        err.message
    );
    let created = f
        .patch(
            PatchKind::Apply,
            &yaml.replace("replcas", "replicas"),
            Target::Main,
            &by("kubectl"),
        )
        .await
        .unwrap();
    assert_eq!(created.object["spec"]["replicas"], 3);
}

#[tokio::test]
async fn updates_record_managers_and_empty_managed_fields_reset_them() {
    let f = fixture().await;
    let created = f.create(deployment(), "kubectl-create").await;
    assert_eq!(
        managers(&created.object),
        [("kubectl-create".into(), "Update".into(), String::new())]
    );
    // A PUT of the object as read changes nothing and writes nothing.
    let same = f
        .registry
        .update(
            deployments(),
            Some("default"),
            "web",
            created.object.clone(),
            Target::Main,
            &by("kubectl-edit"),
        )
        .await
        .unwrap();
    assert_eq!(rv(&same.object), rv(&created.object));
    assert_eq!(managers(&same.object), managers(&created.object));

    let labelled = f
        .patch(
            PatchKind::Merge,
            r#"{"metadata":{"labels":{"tier":"fe"}}}"#,
            Target::Main,
            &by("kubectl-label"),
        )
        .await
        .unwrap();
    assert!(owns(
        &labelled.object,
        "kubectl-label",
        &["f:metadata", "f:labels", "f:tier"]
    ));
    // Labels are not spec: no new generation.
    assert_eq!(labelled.object["metadata"]["generation"], 1);

    let mut reset = labelled.object.clone();
    reset["metadata"]["managedFields"] = json!([]);
    let reset = f
        .registry
        .update(
            deployments(),
            Some("default"),
            "web",
            reset,
            Target::Main,
            &by("kubectl-replace"),
        )
        .await
        .unwrap();
    assert!(reset.object["metadata"].get("managedFields").is_none());
    assert!(f.get().await["metadata"].get("managedFields").is_none());

    // kubectl's documented reset, `[{}]` through a merge patch, too.
    let fresh = f
        .registry
        .create(
            deployments(),
            Some("default"),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "other"},
                "spec": deployment()["spec"].clone()}),
            &by("kubectl-create"),
        )
        .await
        .unwrap();
    assert!(!managers(&fresh.object).is_empty());
    let reset = f
        .registry
        .patch(
            deployments(),
            Some("default"),
            "other",
            Patch {
                kind: PatchKind::Merge,
                body: br#"{"metadata":{"managedFields":[{}]}}"#,
            },
            Target::Main,
            &by("kubectl-patch"),
        )
        .await
        .unwrap();
    assert!(
        reset.object["metadata"].get("managedFields").is_none(),
        "{}",
        reset.object
    );
}

#[tokio::test]
async fn server_side_apply_through_scale_takes_replicas_with_conflicts_as_upstream() {
    let f = fixture().await;
    let mut applied = deployment();
    applied["metadata"]["namespace"] = json!("default");
    f.apply(&applied, "kubectl", false).await.unwrap();
    let scale_apply = |replicas: i64, force: bool| {
        let body = json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": replicas}})
        .to_string();
        let registry = f.registry.clone();
        async move {
            let options = WriteOptions {
                force,
                ..by("autoscaler")
            };
            registry
                .update_scale(
                    deployments(),
                    Some("default"),
                    "web",
                    ScaleChange::Patch(Patch {
                        kind: PatchKind::Apply,
                        body: body.as_bytes(),
                    }),
                    &options,
                )
                .await
        }
    };
    // kubectl applied replicas 2: another value conflicts, naming it.
    let conflict = scale_apply(5, false).await.unwrap_err();
    assert_eq!(conflict.code, 409);
    assert!(
        conflict.message.contains("conflict with \"kubectl\"")
            && conflict.message.contains(".spec.replicas"),
        "{}",
        conflict.message
    );
    // Forced: the autoscaler owns replicas through scale, kubectl keeps the rest.
    let scale = scale_apply(5, true).await.unwrap();
    assert_eq!(scale["spec"]["replicas"], 5);
    let object = f.get().await;
    assert_eq!(object["spec"]["replicas"], 5);
    assert!(owns(&object, "autoscaler", &["f:spec", "f:replicas"]));
    assert!(!owns(&object, "kubectl", &["f:spec", "f:replicas"]));
    assert!(owns(&object, "kubectl", &["f:spec", "f:template"]));
    assert!(managers(&object).contains(&("autoscaler".into(), "Apply".into(), "scale".into())));
    // Applying the same value again changes nothing.
    assert_eq!(scale_apply(5, false).await.unwrap()["spec"]["replicas"], 5);
}
