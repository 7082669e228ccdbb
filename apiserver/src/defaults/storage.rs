//! `storage.k8s.io/v1` defaults (`pkg/apis/storage/v1/defaults.go`; the
//! CSIVolumeFSGroupPolicy and CSIInlineVolume gates are GA and
//! SELinuxMountReadWriteOncePod is beta and on in 1.33).

use super::pod::default_volume_sources;
use super::{array_is_empty, child, default_value};
use serde_json::{Map, Value, json};

/// Dispatches on the storage kind.
pub(super) fn apply(kind: &str, obj: &mut Map<String, Value>) {
    match kind {
        "StorageClass" => {
            default_value(obj, "reclaimPolicy", json!("Delete"));
            default_value(obj, "volumeBindingMode", json!("Immediate"));
        }
        "CSIDriver" => {
            if let Some(spec) = child(obj, "spec") {
                default_value(spec, "attachRequired", json!(true));
                default_value(spec, "podInfoOnMount", json!(false));
                default_value(spec, "storageCapacity", json!(false));
                default_value(spec, "fsGroupPolicy", json!("ReadWriteOnceWithFSType"));
                if array_is_empty(spec, "volumeLifecycleModes") {
                    spec.insert("volumeLifecycleModes".to_owned(), json!(["Persistent"]));
                }
                default_value(spec, "requiresRepublish", json!(false));
                default_value(spec, "seLinuxMount", json!(false));
            }
        }
        "VolumeAttachment" => {
            // The inline PersistentVolumeSpec only gets its sources' defaults.
            if let Some(inline) = child(obj, "spec")
                .and_then(|s| child(s, "source"))
                .and_then(|s| child(s, "inlineVolumeSpec"))
            {
                default_volume_sources(inline);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::apply_defaults;
    use serde_json::{Value, json};

    fn defaulted(kind: &str, mut obj: Value) -> Value {
        apply_defaults("storage.k8s.io", "v1", kind, &mut obj);
        obj
    }

    #[test]
    fn storage_class_defaults_delete_and_immediate() {
        let sc = defaulted("StorageClass", json!({"provisioner": "x"}));
        assert_eq!(sc["reclaimPolicy"], "Delete");
        assert_eq!(sc["volumeBindingMode"], "Immediate");
        let sc = defaulted(
            "StorageClass",
            json!({"reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"}),
        );
        assert_eq!(sc["reclaimPolicy"], "Retain");
        assert_eq!(sc["volumeBindingMode"], "WaitForFirstConsumer");
    }

    #[test]
    fn csi_driver_spec_is_fully_defaulted() {
        let d = defaulted("CSIDriver", json!({"spec": {"podInfoOnMount": true}}));
        assert_eq!(
            d["spec"],
            json!({"attachRequired": true, "podInfoOnMount": true, "storageCapacity": false, "fsGroupPolicy": "ReadWriteOnceWithFSType",
                   "volumeLifecycleModes": ["Persistent"], "requiresRepublish": false, "seLinuxMount": false})
        );
    }

    #[test]
    fn volume_attachment_inline_spec_gets_source_defaults() {
        let va = defaulted(
            "VolumeAttachment",
            json!({"spec": {"source": {"inlineVolumeSpec": {"rbd": {"image": "i"}}}}}),
        );
        assert_eq!(
            va["spec"]["source"]["inlineVolumeSpec"]["rbd"]["pool"],
            "rbd"
        );
        assert!(
            va["spec"]["source"]["inlineVolumeSpec"]
                .get("volumeMode")
                .is_none()
        );
    }
}
