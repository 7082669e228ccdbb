//! What the server ensures exists at start: the system namespaces, the
//! system PriorityClasses, the default StorageClass `standard` and the
//! `kubernetes` Service (with its Endpoints) in `default`.

use crate::admission::priority::SYSTEM_CLASSES;
use crate::registry::Registry;
use crate::registry::options::WriteOptions;
use crate::status::ApiError;
use bosun_types::resources::find_by_plural;
use serde_json::json;
use std::net::SocketAddr;

/// The namespaces every cluster has.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

fn resource(plural: &str) -> Result<&'static bosun_types::resources::ResourceInfo, ApiError> {
    find_by_plural("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("no {plural} in the resource table")))
}

/// The default StorageClass, as kind ships it: `standard`, served by the
/// `rancher.io/local-path` provisioner (which the controller-manager's
/// `persistentvolume-binder` simulates), binding once the first consumer
/// is scheduled, deleting volumes with their claims.
pub const DEFAULT_STORAGE_CLASS: &str = "standard";

/// Creates the default StorageClass when no class of that name exists;
/// one that exists (changed by a user or not) is left alone.
async fn ensure_default_storage_class(
    registry: &Registry,
    options: &WriteOptions,
) -> Result<(), ApiError> {
    let classes = find_by_plural("storage.k8s.io", "v1", "storageclasses")
        .ok_or_else(|| ApiError::internal("no storageclasses in the resource table"))?;
    let class = json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": DEFAULT_STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "rancher.io/local-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    });
    match registry.create(classes, None, class, options).await {
        Ok(_) => tracing::info!(
            class = DEFAULT_STORAGE_CLASS,
            "created default StorageClass"
        ),
        Err(e) if e.code == 409 => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Creates the system PriorityClasses (`system-node-critical`,
/// `system-cluster-critical`) that do not exist; existing ones are left
/// alone, as upstream's bootstrap does. They pass validation and admission
/// like any class: their names and values are the ones reserved for them.
async fn ensure_system_priority_classes(
    registry: &Registry,
    options: &WriteOptions,
) -> Result<(), ApiError> {
    let classes = find_by_plural("scheduling.k8s.io", "v1", "priorityclasses")
        .ok_or_else(|| ApiError::internal("no priorityclasses in the resource table"))?;
    for class in &SYSTEM_CLASSES {
        match registry
            .create(classes, None, class.object(), options)
            .await
        {
            Ok(_) => tracing::info!(class = class.name, "created system PriorityClass"),
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates whatever is missing; existing objects are left as they are.
pub async fn ensure(
    registry: &Registry,
    service_ip: &str,
    address: SocketAddr,
) -> Result<(), ApiError> {
    let options = WriteOptions::default();
    let namespaces = resource("namespaces")?;
    for ns in SYSTEM_NAMESPACES {
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        match registry.create(namespaces, None, object, &options).await {
            Ok(_) => tracing::info!(namespace = ns, "created system namespace"),
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    ensure_system_priority_classes(registry, &options).await?;
    ensure_default_storage_class(registry, &options).await?;
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": service_ip,
            "clusterIPs": [service_ip],
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": address.port()}],
            "sessionAffinity": "None",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        },
    });
    match registry
        .create(resource("services")?, Some("default"), service, &options)
        .await
    {
        Ok(_) | Err(ApiError { code: 409, .. }) => {}
        Err(e) => return Err(e),
    }
    let endpoints = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{
            "addresses": [{"ip": address.ip().to_string()}],
            "ports": [{"name": "https", "port": address.port(), "protocol": "TCP"}],
        }],
    });
    let endpoints_resource = resource("endpoints")?;
    // The server's own endpoint may be a loopback address, which user-written
    // Endpoints may not use; like upstream's endpoint reconciler, it is
    // written on the server's authority.
    let options = WriteOptions {
        skip_validation: true,
        ..WriteOptions::default()
    };
    match registry
        .create(
            endpoints_resource,
            Some("default"),
            endpoints.clone(),
            &options,
        )
        .await
    {
        Ok(_) => {}
        // The port changes between runs on `--secure-port 0`: keep it current.
        Err(ApiError { code: 409, .. }) => {
            registry
                .update(
                    endpoints_resource,
                    Some("default"),
                    "kubernetes",
                    endpoints,
                    crate::registry::write::Target::Main,
                    &options,
                )
                .await?;
        }
        Err(e) => return Err(e),
    }
    Ok(())
}
