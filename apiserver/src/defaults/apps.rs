//! `apps/v1` defaults (`pkg/apis/apps/v1/defaults.go`), plus the pod-template
//! and volume-claim-template defaults the generated defaulters walk into.

use super::pod::{default_pvc, default_template_at};
use super::{
    child, child_or_insert, default_str, default_value, for_each_obj, str_is_empty, str_of,
};
use serde_json::{Map, Value, json};

/// Dispatches on the apps kind.
pub(super) fn apply(kind: &str, obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    match kind {
        "Deployment" => deployment(spec),
        "ReplicaSet" => default_value(spec, "replicas", json!(1)),
        "DaemonSet" => daemon_set(spec),
        "StatefulSet" => stateful_set(spec),
        _ => return,
    }
    default_template_at(spec, "template");
}

/// `SetDefaults_Deployment`.
fn deployment(spec: &mut Map<String, Value>) {
    default_value(spec, "replicas", json!(1));
    if let Some(strategy) = child_or_insert(spec, "strategy") {
        default_str(strategy, "type", "RollingUpdate");
        if str_of(strategy, "type") == Some("RollingUpdate")
            && let Some(rolling) = child_or_insert(strategy, "rollingUpdate")
        {
            default_value(rolling, "maxUnavailable", json!("25%"));
            default_value(rolling, "maxSurge", json!("25%"));
        }
    }
    default_value(spec, "revisionHistoryLimit", json!(10));
    default_value(spec, "progressDeadlineSeconds", json!(600));
}

/// `SetDefaults_DaemonSet`.
fn daemon_set(spec: &mut Map<String, Value>) {
    if let Some(strategy) = child_or_insert(spec, "updateStrategy") {
        default_str(strategy, "type", "RollingUpdate");
        if str_of(strategy, "type") == Some("RollingUpdate")
            && let Some(rolling) = child_or_insert(strategy, "rollingUpdate")
        {
            default_value(rolling, "maxUnavailable", json!(1));
            default_value(rolling, "maxSurge", json!(0));
        }
    }
    default_value(spec, "revisionHistoryLimit", json!(10));
}

/// `SetDefaults_StatefulSet` (StatefulSetAutoDeletePVC is GA in 1.33;
/// `maxUnavailable` is alpha and not defaulted) plus volumeClaimTemplates,
/// which get the full PersistentVolumeClaim defaults including
/// `status.phase: Pending`.
fn stateful_set(spec: &mut Map<String, Value>) {
    default_str(spec, "podManagementPolicy", "OrderedReady");
    if let Some(strategy) = child_or_insert(spec, "updateStrategy") {
        // Only an unset type also creates the rollingUpdate block; an explicit
        // RollingUpdate without it stays without it.
        if str_is_empty(strategy, "type") {
            strategy.insert("type".to_owned(), json!("RollingUpdate"));
            default_value(strategy, "rollingUpdate", json!({}));
        }
        if str_of(strategy, "type") == Some("RollingUpdate")
            && let Some(rolling) = child(strategy, "rollingUpdate")
        {
            default_value(rolling, "partition", json!(0));
        }
    }
    if let Some(policy) = child_or_insert(spec, "persistentVolumeClaimRetentionPolicy") {
        default_str(policy, "whenDeleted", "Retain");
        default_str(policy, "whenScaled", "Retain");
    }
    default_value(spec, "replicas", json!(1));
    default_value(spec, "revisionHistoryLimit", json!(10));
    for_each_obj(spec, "volumeClaimTemplates", default_pvc);
}

#[cfg(test)]
mod tests {
    use super::super::apply_defaults;
    use serde_json::{Value, json};

    fn defaulted(kind: &str, mut obj: Value) -> Value {
        apply_defaults("apps", "v1", kind, &mut obj);
        obj
    }

    /// `kubectl create deployment web --image=nginx`, as sent by kubectl 1.33.
    fn kubectl_create_deployment_web() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}]}
                },
                "strategy": {}
            },
            "status": {}
        })
    }

    #[test]
    fn minimal_deployment_gets_exactly_upstreams_defaulted_spec() {
        let d = defaulted("Deployment", kubectl_create_deployment_web());
        // `kubectl get deploy web -o yaml` on a 1.33 cluster, minus server-set
        // metadata/status and the template's `creationTimestamp: null`.
        let expected = json!({
            "progressDeadlineSeconds": 600,
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                "type": "RollingUpdate"
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "image": "nginx",
                        "imagePullPolicy": "Always",
                        "name": "nginx",
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File"
                    }],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30
                }
            }
        });
        assert_eq!(d["spec"], expected);
        assert_eq!(
            d["metadata"],
            json!({"name": "web", "labels": {"app": "web"}})
        );
    }

    #[test]
    fn deployment_without_spec_fields_gets_replicas_and_keeps_recreate_strategy_bare() {
        let d = defaulted(
            "Deployment",
            json!({"spec": {"strategy": {"type": "Recreate"}, "replicas": 0}}),
        );
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(d["spec"]["replicas"], 0);
        let d = defaulted(
            "Deployment",
            json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 2}}}}),
        );
        assert_eq!(
            d["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": "25%"}})
        );
    }

    #[test]
    fn replica_set_defaults_replicas_and_template() {
        let rs = defaulted(
            "ReplicaSet",
            json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "a:1"}]}}}}),
        );
        assert_eq!(rs["spec"]["replicas"], 1);
        assert_eq!(
            rs["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
    }

    #[test]
    fn daemon_set_defaults_rolling_update_one_unavailable_zero_surge() {
        let ds = defaulted("DaemonSet", json!({"spec": {"template": {"spec": {}}}}));
        assert_eq!(
            ds["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
        let ds = defaulted(
            "DaemonSet",
            json!({"spec": {"updateStrategy": {"type": "OnDelete"}}}),
        );
        assert_eq!(ds["spec"]["updateStrategy"], json!({"type": "OnDelete"}));
    }

    #[test]
    fn stateful_set_defaults_policy_strategy_retention_and_claim_templates() {
        let sts = defaulted(
            "StatefulSet",
            json!({"spec": {"serviceName": "s", "template": {"spec": {}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}}),
        );
        assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            sts["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(
            sts["spec"]["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        assert_eq!(sts["spec"]["replicas"], 1);
        assert_eq!(sts["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(
            sts["spec"]["volumeClaimTemplates"][0],
            json!({"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}, "status": {"phase": "Pending"}})
        );
        let sts = defaulted(
            "StatefulSet",
            json!({"spec": {"updateStrategy": {"type": "RollingUpdate"}}}),
        );
        assert_eq!(
            sts["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate"})
        );
    }
}
