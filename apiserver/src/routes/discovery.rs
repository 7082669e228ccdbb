//! Discovery: the aggregated form (`/api`, `/apis` with the
//! `APIGroupDiscoveryList` media type) and the legacy form.

use crate::response::{accepts, json_response};
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bosun_types::resources::{self, GroupInfo, ResourceInfo};
use serde_json::{Value, json};

/// The aggregated discovery media type this server answers with.
pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const AGGREGATED_V2BETA1: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/// Which aggregated version the client accepts, if any.
fn aggregated_version(headers: &HeaderMap) -> Option<&'static str> {
    if accepts(
        headers,
        &["g=apidiscovery.k8s.io", "v=v2", "as=APIGroupDiscoveryList"],
    ) {
        Some(AGGREGATED_V2)
    } else if accepts(
        headers,
        &[
            "g=apidiscovery.k8s.io",
            "v=v2beta1",
            "as=APIGroupDiscoveryList",
        ],
    ) {
        Some(AGGREGATED_V2BETA1)
    } else {
        None
    }
}

fn aggregated_response(media: &'static str, items: Vec<Value>) -> Response {
    let api_version = if media == AGGREGATED_V2 {
        "apidiscovery.k8s.io/v2"
    } else {
        "apidiscovery.k8s.io/v2beta1"
    };
    let body = json!({"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items});
    let mut response = (
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

fn resource_discovery(r: &ResourceInfo) -> Value {
    let mut entry = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": r.scope.as_str(),
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        entry["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        entry["categories"] = json!(r.categories);
    }
    if !r.subresources.is_empty() {
        entry["subresources"] = Value::Array(
            r.subresources
                .iter()
                .map(|s| {
                    json!({
                        "subresource": s.name,
                        "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
                        "verbs": s.verbs,
                    })
                })
                .collect(),
        );
    }
    entry
}

fn group_discovery(group: &GroupInfo) -> Value {
    let versions: Vec<Value> = group
        .versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = resources::resources_in(group.name, v.version)
                .map(resource_discovery)
                .collect();
            json!({"version": v.version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": group.name, "creationTimestamp": null}, "versions": versions})
}

/// `GET /api`.
pub async fn api(headers: HeaderMap) -> Response {
    let core = resources::groups().iter().filter(|g| g.is_core());
    match aggregated_version(&headers) {
        Some(media) => aggregated_response(media, core.map(group_discovery).collect()),
        None => json_response(
            StatusCode::OK,
            &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": ""}
            ]}),
        ),
    }
}

fn legacy_group(group: &GroupInfo) -> Value {
    let versions: Vec<Value> = group
        .versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{}/{}", group.name, v.version), "version": v.version}))
        .collect();
    let preferred = group.preferred_version();
    json!({
        "name": group.name,
        "versions": versions,
        "preferredVersion": {"groupVersion": format!("{}/{}", group.name, preferred), "version": preferred},
    })
}

/// `GET /apis`.
pub async fn apis(headers: HeaderMap) -> Response {
    let named = resources::groups().iter().filter(|g| !g.is_core());
    match aggregated_version(&headers) {
        Some(media) => aggregated_response(media, named.map(group_discovery).collect()),
        None => json_response(
            StatusCode::OK,
            &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": named.map(legacy_group).collect::<Vec<_>>()}),
        ),
    }
}

/// `GET /apis/<group>`.
pub async fn api_group(Path(group): Path<String>) -> Response {
    match resources::find_group(&group).filter(|g| !g.is_core()) {
        Some(g) => {
            let mut body = legacy_group(g);
            body["kind"] = json!("APIGroup");
            body["apiVersion"] = json!("v1");
            json_response(StatusCode::OK, &body)
        }
        None => crate::status::ApiError::path_not_found().into_response(),
    }
}

fn resource_list(group: &str, version: &str) -> Option<Value> {
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    let found = resources::find_group(group).is_some_and(|g| g.has_version(version));
    if !found {
        return None;
    }
    let mut list = Vec::new();
    for r in resources::resources_in(group, version) {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.is_namespaced(),
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        if let Some(storage) = r.storage {
            entry["storageVersionHash"] = json!(storage.version_hash);
        }
        list.push(entry);
        for s in r.subresources {
            let mut sub = json!({
                "name": format!("{}/{}", r.plural, s.name),
                "singularName": "",
                "namespaced": r.is_namespaced(),
                "kind": s.kind,
                "verbs": s.verbs,
            });
            if let Some((g, v)) = s.discovery_group_version(r) {
                sub["group"] = json!(g);
                sub["version"] = json!(v);
            }
            list.push(sub);
        }
    }
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list}),
    )
}

/// `GET /api/v1`.
pub async fn core_resources(Path(version): Path<String>) -> Response {
    match resource_list("", &version) {
        Some(body) => json_response(StatusCode::OK, &body),
        None => crate::status::ApiError::path_not_found().into_response(),
    }
}

/// `GET /apis/<group>/<version>`.
pub async fn group_resources(Path((group, version)): Path<(String, String)>) -> Response {
    match resource_list(&group, &version) {
        Some(body) => json_response(StatusCode::OK, &body),
        None => crate::status::ApiError::path_not_found().into_response(),
    }
}
