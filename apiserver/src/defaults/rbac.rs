//! `rbac.authorization.k8s.io/v1` defaults (`pkg/apis/rbac/v1/defaults.go`).

use super::{child, default_str, for_each_obj, str_is_empty, str_of};
use serde_json::{Map, Value};

/// The RBAC API group, default for `roleRef.apiGroup` and User/Group subjects.
const GROUP: &str = "rbac.authorization.k8s.io";

/// RoleBinding / ClusterRoleBinding: `roleRef.apiGroup` and each subject's
/// `apiGroup` (`rbac.authorization.k8s.io` for User and Group, `""` for
/// ServiceAccount, untouched for other kinds).
pub(super) fn apply(kind: &str, obj: &mut Map<String, Value>) {
    if !matches!(kind, "RoleBinding" | "ClusterRoleBinding") {
        return;
    }
    if let Some(role_ref) = child(obj, "roleRef") {
        default_str(role_ref, "apiGroup", GROUP);
    }
    for_each_obj(obj, "subjects", |subject| {
        if !str_is_empty(subject, "apiGroup") {
            return;
        }
        match str_of(subject, "kind") {
            Some("User" | "Group") => {
                subject.insert("apiGroup".to_owned(), Value::from(GROUP));
            }
            // Upstream sets "", which is indistinguishable from unset on the wire.
            Some("ServiceAccount") => {}
            _ => {}
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::apply_defaults;
    use serde_json::json;

    #[test]
    fn binding_subjects_and_role_ref_get_api_groups_by_kind() {
        for kind in ["RoleBinding", "ClusterRoleBinding"] {
            let mut b = json!({
                "roleRef": {"kind": "ClusterRole", "name": "view"},
                "subjects": [
                    {"kind": "User", "name": "alice"},
                    {"kind": "Group", "name": "devs", "apiGroup": ""},
                    {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"},
                    {"kind": "Other", "name": "x"},
                    {"kind": "User", "name": "bob", "apiGroup": "example.com"}
                ]
            });
            apply_defaults("rbac.authorization.k8s.io", "v1", kind, &mut b);
            assert_eq!(b["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
            assert_eq!(b["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
            assert_eq!(b["subjects"][1]["apiGroup"], "rbac.authorization.k8s.io");
            assert!(b["subjects"][2].get("apiGroup").is_none());
            assert!(b["subjects"][3].get("apiGroup").is_none());
            assert_eq!(b["subjects"][4]["apiGroup"], "example.com");
        }
    }
}
