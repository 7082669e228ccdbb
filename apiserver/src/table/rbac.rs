//! Printers for `rbac.authorization.k8s.io`. Roles and cluster roles have no
//! printer upstream and get the default table.

use super::docs as d;
use super::util::{Ctx, arr, name, string};
use super::{AGE, Column, NAME, Printer, col};
use serde_json::Value;

/// The printer for an RBAC resource.
pub(crate) fn printer(group: &str, resource: &str) -> Option<&'static Printer> {
    match (group, resource) {
        ("rbac.authorization.k8s.io", "rolebindings") => Some(&ROLE_BINDINGS),
        ("rbac.authorization.k8s.io", "clusterrolebindings") => Some(&CLUSTER_ROLE_BINDINGS),
        _ => None,
    }
}

static ROLE_BINDINGS: Printer = Printer {
    columns: &[
        NAME,
        col("Role", "string", d::RB_ROLEREF, 0),
        AGE,
        col("Users", "string", "Users in the roleBinding", 1),
        col("Groups", "string", "Groups in the roleBinding", 1),
        col(
            "ServiceAccounts",
            "string",
            "ServiceAccounts in the roleBinding",
            1,
        ),
    ],
    cells: binding_cells,
};

const CLUSTER_ROLE_BINDING_COLUMNS: &[Column] = &[
    NAME,
    col("Role", "string", d::CRB_ROLEREF, 0),
    AGE,
    col("Users", "string", "Users in the clusterRoleBinding", 1),
    col("Groups", "string", "Groups in the clusterRoleBinding", 1),
    col(
        "ServiceAccounts",
        "string",
        "ServiceAccounts in the clusterRoleBinding",
        1,
    ),
];

static CLUSTER_ROLE_BINDINGS: Printer = Printer {
    columns: CLUSTER_ROLE_BINDING_COLUMNS,
    cells: binding_cells,
};

fn binding_cells(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut service_accounts = Vec::new();
    for s in arr(o, &["subjects"]) {
        let subject_name = string(s, &["name"]);
        match string(s, &["kind"]) {
            "ServiceAccount" => {
                service_accounts.push(format!("{}/{}", string(s, &["namespace"]), subject_name))
            }
            "User" => users.push(subject_name.to_string()),
            "Group" => groups.push(subject_name.to_string()),
            _ => {}
        }
    }
    vec![
        Value::from(name(o)),
        Value::from(format!(
            "{}/{}",
            string(o, &["roleRef", "kind"]),
            string(o, &["roleRef", "name"])
        )),
        Value::from(ctx.age(o)),
        Value::from(users.join(", ")),
        Value::from(groups.join(", ")),
        Value::from(service_accounts.join(", ")),
    ]
}

#[cfg(test)]
mod tests {
    use crate::table::{cells, columns};
    use serde_json::json;

    #[test]
    fn bindings_print_role_ref_and_subjects_by_kind() {
        let rb = json!({"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"}, {"kind": "Group", "name": "devs"},
                         {"kind": "ServiceAccount", "namespace": "ci", "name": "runner"}, {"kind": "Other", "name": "x"}]});
        for resource in ["rolebindings", "clusterrolebindings"] {
            assert_eq!(
                cells("rbac.authorization.k8s.io", resource, &rb, 0),
                vec![
                    json!("b"),
                    json!("ClusterRole/view"),
                    json!("<unknown>"),
                    json!("alice, bob"),
                    json!("devs"),
                    json!("ci/runner")
                ]
            );
        }
        let cols = columns("rbac.authorization.k8s.io", "clusterrolebindings");
        assert_eq!(
            (cols[3].name, cols[3].priority, cols[3].description),
            ("Users", 1, "Users in the clusterRoleBinding")
        );
    }
}
