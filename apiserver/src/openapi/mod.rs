//! OpenAPI v3 documents: the `/openapi/v3` index and one document per
//! group-version, built from the caller's resource table and the Rust API
//! types of `k8s-openapi`.
//!
//! # What kubectl 1.32 reads
//! * `GET /openapi/v3`: the index, `{"paths": {"api/v1": {"serverRelativeURL":
//!   "/openapi/v3/api/v1?hash=<HASH>"}, "apis/apps/v1": {..}, ..}}`. Fetched on
//!   every `apply`/`create -f`/`replace -f`/`edit`/`explain`.
//! * `GET <serverRelativeURL>`: the group-version document of the object.
//!   - Field validation: if some `patch` operation has
//!     `x-kubernetes-group-version-kind` (one object) equal to the object's GVK
//!     and a `fieldValidation` query parameter, kubectl skips client-side
//!     validation and sends `fieldValidation=Strict`; the server must then
//!     reject unknown and duplicate fields itself. Every `patch` operation here
//!     has that parameter.
//!   - Client-side apply: if that `patch` operation lists
//!     `application/strategic-merge-patch+json` in `requestBody.content`
//!     (built-in kinds only), kubectl computes the strategic merge patch from
//!     `components.schemas`, starting at the schema whose
//!     `x-kubernetes-group-version-kind` (a list) holds the GVK and reading
//!     `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` on list
//!     properties. Kinds without a built-in type (custom resources) omit that
//!     media type, so kubectl sends a JSON merge patch, as it does for CRDs.
//!   - `kubectl explain`: finds the GVK on an operation of the resource's
//!     collection or item path, then the schema carrying that GVK, and follows
//!     `properties`, `items`, `allOf` and `$ref`.
//!
//! # How the documents are made
//! Schemas come from the `schemars::JsonSchema` implementations of the
//! `k8s-openapi` types (feature `v1_33`, which enables them with its
//! `schemars` feature), converted to OpenAPI 3.0 form and given the Kubernetes
//! extensions (submodule `catalog`; the list of built-in kinds is in `kinds`).
//! Patch strategies and list types are not in those schemas; they come from a
//! table of facts read off the Go struct tags (submodule `list_facts`). Paths
//! and operations come from the caller's [`ResourceDesc`] table (submodule
//! `paths`). The schemas are generated once per process and shared.
//! Resources whose kind has no built-in type get an open object schema
//! (`x-kubernetes-preserve-unknown-fields`) so that `explain` and field
//! validation still work.
//!
//! # Serving
//! Build one [`OpenApi`] at start-up (it builds every document once; a
//! `std::sync::OnceLock<OpenApi>` in the server state works well) and answer,
//! as upstream's `kube-openapi` handler does:
//! * `GET /openapi/v3` with [`OpenApi::index_bytes`], `Content-Type:
//!   application/json`, `ETag: "<OpenApi::index_hash>"`. kubectl fetches it on
//!   every invocation, so answering `If-None-Match` with 304 saves a little.
//! * `GET /openapi/v3/<gv path>` with [`OpenApi::document`] (`None` → 404),
//!   `Content-Type: application/json`, `ETag: "<OpenApi::hash>"`. When the
//!   `hash` query parameter is present and equals [`OpenApi::hash`], also send
//!   `Cache-Control: public, immutable`, `Vary: Accept` and an `Expires` one
//!   year ahead; when it differs, redirect (301) to the current
//!   `serverRelativeURL` (`/openapi/v3/<gv path>?hash=<hash>`).
//! * Both are JSON only: a request whose `Accept` excludes `application/json`
//!   (e.g. protobuf only) gets 406 upstream.
//!
//! * `GET /openapi/v2` with [`OpenApiV2`]: kubectl still reads it to validate
//!   the items of a `kind: List` file client side (see [`v2`]).

mod catalog;
mod kinds;
mod list_facts;
mod paths;
mod v2;
mod v2_proto;

pub use self::v2::OpenApiV2;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use self::catalog::{
    API_RESOURCE_LIST, Catalog, DELETE_OPTIONS, PATCH, STATUS, WATCH_EVENT, collect_refs,
    custom_kind_schema, custom_list_schema, set_gvk_list,
};
use self::paths::{GroupVersionNames, ResourceSchemas, add_resource, add_root};

/// The `info.version` of every document.
pub const SPEC_VERSION: &str = "v1.33.0";

/// One served resource, as the documents need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceDesc {
    /// API group, `""` for core.
    pub group: &'static str,
    /// Version within the group.
    pub version: &'static str,
    /// Kind of the objects, e.g. `Pod`.
    pub kind: &'static str,
    /// Plural resource name used in URLs, e.g. `pods`.
    pub plural: &'static str,
    /// Whether the objects live in a namespace.
    pub namespaced: bool,
    /// Discovery verbs: `get`, `list`, `watch`, `create`, `update`, `patch`,
    /// `delete`, `deletecollection`.
    pub verbs: &'static [&'static str],
    /// Subresources as `(name, group, version, kind)` of the kind they accept
    /// and return. Their operations follow from the name, as upstream serves
    /// them: `status`, `scale`, `resize`, `ephemeralcontainers`, `approval` (and
    /// unknown names) → get, put, patch; `finalize` → put; `binding`,
    /// `eviction`, `token` → post; `log` → get (text); `exec`, `attach`,
    /// `portforward` → connect by GET/POST; `proxy` → connect by any method,
    /// also at `proxy/{path}`.
    pub subresources: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

/// The path of a group-version under `/openapi/v3/`: `api/v1` for core,
/// `apis/<group>/<version>` otherwise.
pub fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// All documents, built once and kept serialized.
#[derive(Debug, Clone)]
pub struct OpenApi {
    index: Value,
    index_bytes: Vec<u8>,
    index_hash: String,
    documents: BTreeMap<String, Document>,
}

#[derive(Debug, Clone)]
struct Document {
    bytes: Vec<u8>,
    hash: String,
}

impl OpenApi {
    /// Builds the index and every group-version document of `resources`.
    pub fn new(resources: &[ResourceDesc]) -> OpenApi {
        let cat = catalog();
        let gvs: BTreeSet<(&str, &str)> = resources.iter().map(|r| (r.group, r.version)).collect();
        let mut documents = BTreeMap::new();
        let mut index_paths = Map::new();
        for &(group, version) in &gvs {
            let Some(doc) = build_document(cat, resources, group, version, &gvs) else {
                continue;
            };
            let bytes = serde_json::to_vec(&doc).unwrap_or_default();
            let hash = content_hash(&bytes);
            let path = gv_path(group, version);
            index_paths.insert(
                path.clone(),
                json!({ "serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}") }),
            );
            documents.insert(path, Document { bytes, hash });
        }
        let index = json!({ "paths": index_paths });
        let index_bytes = serde_json::to_vec(&index).unwrap_or_default();
        let index_hash = content_hash(&index_bytes);
        OpenApi {
            index,
            index_bytes,
            index_hash,
            documents,
        }
    }

    /// The `/openapi/v3` index.
    pub fn index(&self) -> &Value {
        &self.index
    }

    /// The `/openapi/v3` index, serialized.
    pub fn index_bytes(&self) -> &[u8] {
        &self.index_bytes
    }

    /// The content hash of the index (for its `ETag`), like [`OpenApi::hash`].
    pub fn index_hash(&self) -> &str {
        &self.index_hash
    }

    /// The serialized document at `gv_path` (`api/v1`, `apis/apps/v1`; see
    /// [`gv_path`]), or `None` if no resource is in that group-version.
    pub fn document(&self, gv_path: &str) -> Option<&[u8]> {
        self.documents.get(gv_path).map(|d| d.bytes.as_slice())
    }

    /// The content hash of the document at `gv_path`: 32 uppercase hex digits,
    /// the value of `hash=` in its `serverRelativeURL`.
    pub fn hash(&self, gv_path: &str) -> Option<&str> {
        self.documents.get(gv_path).map(|d| d.hash.as_str())
    }

    /// The paths of all documents, sorted.
    pub fn gv_paths(&self) -> impl Iterator<Item = &str> {
        self.documents.keys().map(String::as_str)
    }
}

/// The `/openapi/v3` index of `resources` (builds every document; prefer
/// [`OpenApi`] to serve).
pub fn index(resources: &[ResourceDesc]) -> Value {
    OpenApi::new(resources).index
}

/// The document of one group-version (`group` `""` = core), or `None` if no
/// resource is in it (builds it; prefer [`OpenApi`] to serve).
pub fn group_version_document(
    resources: &[ResourceDesc],
    group: &str,
    version: &str,
) -> Option<Value> {
    let gvs: BTreeSet<(&str, &str)> = resources.iter().map(|r| (r.group, r.version)).collect();
    build_document(catalog(), resources, group, version, &gvs)
}

/// The built-in schemas, generated on first use.
fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::build)
}

/// Every built-in component schema (OpenAPI v3 form, with the patch and
/// list extensions), keyed by name: what strategic merge patch and
/// server-side apply read. Built on first use and shared.
pub fn component_schemas() -> &'static Map<String, Value> {
    &catalog().schemas
}

/// The component schema name of a built-in kind, e.g.
/// `io.k8s.api.apps.v1.Deployment`; `None` for kinds without a built-in
/// type.
pub fn kind_schema(group: &str, version: &str, kind: &str) -> Option<&'static str> {
    catalog()
        .kind(group, version, kind)
        .map(|k| k.kind.as_str())
}

/// A stable content hash: FNV-1a, 128 bits, as 32 uppercase hex digits.
fn content_hash(bytes: &[u8]) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let hash = bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME));
    format!("{hash:032X}")
}

/// The schema name of a kind without a built-in type: the group's labels
/// reversed, then version and kind (`com.example.v1.Widget`), as upstream names
/// custom resource schemas.
fn custom_schema_name(group: &str, version: &str, kind: &str) -> String {
    let mut labels: Vec<&str> = group.split('.').filter(|l| !l.is_empty()).collect();
    labels.reverse();
    if labels.is_empty() {
        labels.push("core");
    }
    format!("{}.{version}.{kind}", labels.join("."))
}

fn build_document(
    cat: &Catalog,
    resources: &[ResourceDesc],
    group: &str,
    version: &str,
    all_gvs: &BTreeSet<(&str, &str)>,
) -> Option<Value> {
    let in_gv: Vec<&ResourceDesc> = resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if in_gv.is_empty() {
        return None;
    }
    let names = GroupVersionNames::new(group, version);
    let mut paths = Map::new();
    add_root(&mut paths, &names);

    let mut custom: BTreeMap<String, Value> = BTreeMap::new();
    let mut roots: Vec<String> = [
        STATUS,
        DELETE_OPTIONS,
        WATCH_EVENT,
        PATCH,
        API_RESOURCE_LIST,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for r in in_gv {
        let (kind_name, list_name, builtin) = match cat.kind(r.group, r.version, r.kind) {
            Some(k) => (k.kind.clone(), k.list.clone(), true),
            None => {
                let name = custom_schema_name(r.group, r.version, r.kind);
                let list = format!("{name}List");
                custom.insert(name.clone(), custom_kind_schema(r.group, r.version, r.kind));
                custom.insert(
                    list.clone(),
                    custom_list_schema(&name, r.group, r.version, r.kind),
                );
                (name, Some(list), false)
            }
        };
        let subs: Vec<Option<String>> = r
            .subresources
            .iter()
            .map(|&(_, g, v, k)| match cat.kind(g, v, k) {
                Some(ks) => Some(ks.kind.clone()),
                None if (g, v, k) == (r.group, r.version, r.kind) => Some(kind_name.clone()),
                None => None,
            })
            .collect();
        roots.push(kind_name.clone());
        roots.extend(list_name.iter().cloned());
        roots.extend(subs.iter().flatten().cloned());
        let schemas = ResourceSchemas {
            kind: &kind_name,
            list: list_name.as_deref(),
            builtin,
            subresources: subs.iter().map(Option::as_deref).collect(),
        };
        add_resource(&mut paths, &names, r, &schemas);
    }
    for schema in custom.values() {
        collect_refs(schema, &mut roots);
    }

    let mut schemas = Map::new();
    for name in cat.closure(roots.iter().map(String::as_str)) {
        if let Some(schema) = cat.schemas.get(&name) {
            schemas.insert(name, schema.clone());
        }
    }
    for (name, schema) in custom {
        schemas.entry(name).or_insert(schema);
    }
    // DeleteOptions and WatchEvent belong to every group-version, as upstream lists them.
    let mut gvs: BTreeSet<(&str, &str)> = all_gvs.clone();
    gvs.insert(("", "v1"));
    for (name, kind) in [
        (DELETE_OPTIONS, "DeleteOptions"),
        (WATCH_EVENT, "WatchEvent"),
    ] {
        if let Some(schema) = schemas.get_mut(name) {
            let list: Vec<(&str, &str, &str)> = gvs.iter().map(|&(g, v)| (g, v, kind)).collect();
            set_gvk_list(schema, &list);
        }
    }

    Some(json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": SPEC_VERSION },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "name": "authorization",
                    "in": "header",
                    "description": "Bearer Token authentication",
                },
            },
        },
        "security": [{ "BearerToken": [] }],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD: &[&str] = &[
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];

    const TABLE: &[ResourceDesc] = &[
        ResourceDesc {
            group: "",
            version: "v1",
            kind: "Pod",
            plural: "pods",
            namespaced: true,
            verbs: STANDARD,
            subresources: &[
                ("attach", "", "v1", "PodAttachOptions"),
                ("binding", "", "v1", "Binding"),
                ("ephemeralcontainers", "", "v1", "Pod"),
                ("eviction", "policy", "v1", "Eviction"),
                ("exec", "", "v1", "PodExecOptions"),
                ("log", "", "v1", "Pod"),
                ("portforward", "", "v1", "PodPortForwardOptions"),
                ("proxy", "", "v1", "PodProxyOptions"),
                ("resize", "", "v1", "Pod"),
                ("status", "", "v1", "Pod"),
            ],
        },
        ResourceDesc {
            group: "",
            version: "v1",
            kind: "Namespace",
            plural: "namespaces",
            namespaced: false,
            verbs: &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ],
            subresources: &[
                ("finalize", "", "v1", "Namespace"),
                ("status", "", "v1", "Namespace"),
            ],
        },
        ResourceDesc {
            group: "",
            version: "v1",
            kind: "Service",
            plural: "services",
            namespaced: true,
            verbs: STANDARD,
            subresources: &[
                ("proxy", "", "v1", "ServiceProxyOptions"),
                ("status", "", "v1", "Service"),
            ],
        },
        ResourceDesc {
            group: "apps",
            version: "v1",
            kind: "Deployment",
            plural: "deployments",
            namespaced: true,
            verbs: STANDARD,
            subresources: &[
                ("scale", "autoscaling", "v1", "Scale"),
                ("status", "apps", "v1", "Deployment"),
            ],
        },
        ResourceDesc {
            group: "widgets.example.com",
            version: "v1",
            kind: "Widget",
            plural: "widgets",
            namespaced: true,
            verbs: STANDARD,
            subresources: &[("status", "widgets.example.com", "v1", "Widget")],
        },
    ];

    fn api() -> &'static OpenApi {
        static API: OnceLock<OpenApi> = OnceLock::new();
        API.get_or_init(|| OpenApi::new(TABLE))
    }

    fn doc(path: &str) -> Value {
        let bytes = api().document(path).unwrap_or_default();
        serde_json::from_slice(bytes).unwrap_or(Value::Null)
    }

    #[test]
    fn index_lists_every_group_version_with_its_hash() {
        let api = api();
        let paths = api.index()["paths"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let keys: Vec<&str> = paths.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["api/v1", "apis/apps/v1", "apis/widgets.example.com/v1"]
        );
        for (path, entry) in &paths {
            let hash = api.hash(path).unwrap_or_default();
            assert_eq!(hash.len(), 32);
            assert!(
                hash.chars()
                    .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
            );
            assert_eq!(
                entry["serverRelativeURL"],
                format!("/openapi/v3/{path}?hash={hash}")
            );
            assert_eq!(content_hash(api.document(path).unwrap_or_default()), hash);
        }
        assert_eq!(
            serde_json::from_slice::<Value>(api.index_bytes())
                .ok()
                .as_ref(),
            Some(api.index())
        );
        assert_eq!(api.index_hash(), content_hash(api.index_bytes()));
        assert_eq!(index(TABLE), *api.index());
        assert!(api.document("apis/batch/v1").is_none());
        assert!(group_version_document(TABLE, "batch", "v1").is_none());
        assert_eq!(
            group_version_document(TABLE, "apps", "v1"),
            Some(doc("apis/apps/v1"))
        );
    }

    #[test]
    fn builds_are_deterministic_and_hashes_follow_content() {
        let again = OpenApi::new(TABLE);
        assert_eq!(again.index(), api().index());
        let fewer = OpenApi::new(&TABLE[..2]);
        assert_ne!(fewer.hash("api/v1"), api().hash("api/v1"));
        assert_eq!(content_hash(b""), "6C62272E07BB014262B821756295C58D");
    }

    #[test]
    fn document_header() {
        let d = doc("api/v1");
        assert_eq!(d["openapi"], "3.0.0");
        assert_eq!(
            d["info"],
            json!({ "title": "Kubernetes", "version": "v1.33.0" })
        );
    }

    /// Every patch operation is what the kubectl field-validation check looks for.
    #[test]
    fn every_patch_operation_supports_field_validation() {
        for path in api().gv_paths() {
            let d = doc(path);
            let mut seen = 0;
            for (p, item) in d["paths"].as_object().cloned().unwrap_or_default() {
                let Some(patch) = item.get("patch") else {
                    continue;
                };
                if patch["x-kubernetes-action"] == "connect" {
                    continue;
                }
                seen += 1;
                let gvk = &patch["x-kubernetes-group-version-kind"];
                assert!(gvk.is_object() && gvk["kind"].is_string(), "{p}");
                let params = patch["parameters"].as_array().cloned().unwrap_or_default();
                for name in ["fieldValidation", "dryRun", "fieldManager", "force"] {
                    assert!(
                        params
                            .iter()
                            .any(|q| q["name"] == name && q["in"] == "query"),
                        "{p} lacks {name}"
                    );
                }
                let content = &patch["requestBody"]["content"];
                for media in [
                    "application/json-patch+json",
                    "application/merge-patch+json",
                    "application/apply-patch+yaml",
                ] {
                    assert!(content.get(media).is_some(), "{p} lacks {media}");
                }
            }
            assert!(seen > 0, "{path}");
        }
    }

    #[test]
    fn strategic_merge_patch_only_for_builtin_kinds() {
        let smp = "application/strategic-merge-patch+json";
        let core = doc("api/v1");
        let pod = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
        assert!(pod["requestBody"]["content"].get(smp).is_some());
        assert_eq!(
            pod["x-kubernetes-group-version-kind"],
            json!({ "group": "", "version": "v1", "kind": "Pod" })
        );
        assert_eq!(pod["operationId"], "patchCoreV1NamespacedPod");
        let apps = doc("apis/apps/v1");
        let scale = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
            ["patch"];
        assert!(scale["requestBody"]["content"].get(smp).is_some());
        assert_eq!(scale["x-kubernetes-group-version-kind"]["kind"], "Scale");
        let custom = doc("apis/widgets.example.com/v1");
        let widget = &custom["paths"]["/apis/widgets.example.com/v1/namespaces/{namespace}/widgets/{name}"]
            ["patch"];
        assert!(widget["requestBody"]["content"].get(smp).is_none());
        assert!(
            widget["requestBody"]["content"]
                .get("application/merge-patch+json")
                .is_some()
        );
    }

    #[test]
    fn paths_and_operations_per_verb() {
        let core = doc("api/v1");
        let p = &core["paths"];
        let coll = &p["/api/v1/namespaces/{namespace}/pods"];
        assert_eq!(coll["get"]["x-kubernetes-action"], "list");
        assert_eq!(coll["post"]["x-kubernetes-action"], "post");
        assert_eq!(coll["delete"]["x-kubernetes-action"], "deletecollection");
        assert_eq!(
            coll["delete"]["operationId"],
            "deleteCoreV1CollectionNamespacedPod"
        );
        let item = &p["/api/v1/namespaces/{namespace}/pods/{name}"];
        for (m, action) in [
            ("get", "get"),
            ("put", "put"),
            ("patch", "patch"),
            ("delete", "delete"),
        ] {
            assert_eq!(item[m]["x-kubernetes-action"], action);
        }
        assert_eq!(
            p["/api/v1/pods"]["get"]["operationId"],
            "listCoreV1PodForAllNamespaces"
        );
        assert!(p["/api/v1/namespaces/{namespace}/pods/{name}/status"]["put"].is_object());
        assert!(p["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"].is_object());
        assert_eq!(
            p["/api/v1/namespaces/{namespace}/pods/{name}/exec"]["post"]["operationId"],
            "connectCoreV1PostNamespacedPodExec"
        );
        assert!(p["/api/v1/namespaces/{namespace}/pods/{name}/proxy/{path}"]["get"].is_object());
        assert!(p["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"].is_object());
        // Cluster-scoped: no namespace segment; no deletecollection verb, no delete on the collection.
        assert!(p["/api/v1/namespaces"]["get"].is_object());
        assert!(p["/api/v1/namespaces"].get("delete").is_none());
        assert!(p["/api/v1/namespaces/{name}/finalize"]["put"].is_object());
        assert!(
            p["/api/v1/namespaces/{name}/finalize"]
                .get("patch")
                .is_none()
        );
        // Operation ids are unique in a document.
        for path in api().gv_paths() {
            let d = doc(path);
            let mut ids = BTreeSet::new();
            for item in d["paths"].as_object().cloned().unwrap_or_default().values() {
                for (m, op) in item.as_object().cloned().unwrap_or_default() {
                    if m != "parameters" {
                        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
                        assert!(ids.insert(id.clone()), "duplicate {id}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_ref_resolves_within_its_document() {
        for path in api().gv_paths() {
            let d = doc(path);
            let mut refs = Vec::new();
            collect_refs(&d, &mut refs);
            assert!(!refs.is_empty());
            for r in refs {
                assert!(d["components"]["schemas"].get(&r).is_some(), "{path}: {r}");
            }
        }
    }

    /// Walks schemas the way `kubectl explain` does.
    fn explain<'a>(d: &'a Value, kind: &str, fields: &[&str]) -> &'a Value {
        let schemas = &d["components"]["schemas"];
        let resolve = |s: &'a Value| -> &'a Value {
            let s = s.get("allOf").and_then(|a| a.get(0)).unwrap_or(s);
            match s.get("$ref").and_then(Value::as_str) {
                Some(r) => &schemas[r.trim_start_matches("#/components/schemas/")],
                None => s,
            }
        };
        let mut cur = schemas
            .as_object()
            .and_then(|m| {
                m.values().find(|s| {
                    s["x-kubernetes-group-version-kind"]
                        .as_array()
                        .is_some_and(|l| l.iter().any(|g| g["kind"] == kind))
                })
            })
            .unwrap_or(&Value::Null);
        for f in fields {
            let mut s = resolve(cur);
            if let Some(items) = s.get("items") {
                s = resolve(items);
            }
            cur = &s["properties"][*f];
        }
        cur
    }

    #[test]
    fn explain_walks_reach_the_documented_fields() {
        let core = doc("api/v1");
        let containers = explain(&core, "Pod", &["spec", "containers"]);
        assert_eq!(containers["type"], "array");
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert!(
            containers["description"]
                .as_str()
                .is_some_and(|s| s.contains("containers"))
        );
        let image = explain(&core, "Pod", &["spec", "containers", "image"]);
        assert_eq!(image["type"], "string");
        let apps = doc("apis/apps/v1");
        let strategy = explain(&apps, "Deployment", &["spec", "strategy"]);
        assert_eq!(strategy["x-kubernetes-patch-strategy"], "retainKeys");
        let surge = explain(
            &apps,
            "Deployment",
            &["spec", "strategy", "rollingUpdate", "maxSurge"],
        );
        assert_eq!(
            surge["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"
        );
        let scale = &apps["components"]["schemas"]["io.k8s.api.autoscaling.v1.Scale"];
        assert_eq!(
            scale["x-kubernetes-group-version-kind"],
            json!([{ "group": "autoscaling", "version": "v1", "kind": "Scale" }])
        );
    }

    #[test]
    fn meta_schemas_list_every_group_version() {
        let apps = doc("apis/apps/v1");
        let delete =
            &apps["components"]["schemas"][DELETE_OPTIONS]["x-kubernetes-group-version-kind"];
        let gvs: Vec<(String, String)> = delete
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|g| {
                (
                    g["group"].as_str().unwrap_or("?").to_owned(),
                    g["version"].as_str().unwrap_or("?").to_owned(),
                )
            })
            .collect();
        assert!(gvs.contains(&(String::new(), "v1".to_owned())));
        assert!(gvs.contains(&("apps".to_owned(), "v1".to_owned())));
        assert!(gvs.contains(&("widgets.example.com".to_owned(), "v1".to_owned())));
        assert_eq!(
            apps["components"]["schemas"][STATUS]["x-kubernetes-group-version-kind"],
            json!([{ "group": "", "version": "v1", "kind": "Status" }])
        );
    }

    #[test]
    fn custom_kinds_get_an_open_schema() {
        let d = doc("apis/widgets.example.com/v1");
        let w = &d["components"]["schemas"]["com.example.widgets.v1.Widget"];
        assert_eq!(w["x-kubernetes-preserve-unknown-fields"], true);
        assert_eq!(w["x-kubernetes-group-version-kind"][0]["kind"], "Widget");
        assert!(d["components"]["schemas"]["com.example.widgets.v1.WidgetList"].is_object());
        assert!(
            d["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
                .is_object()
        );
        let status = &d["paths"]["/apis/widgets.example.com/v1/namespaces/{namespace}/widgets/{name}/status"];
        assert_eq!(
            status["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/com.example.widgets.v1.Widget"
        );
    }

    #[test]
    fn documents_only_carry_what_they_use() {
        let apps = doc("apis/apps/v1");
        let schemas = apps["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(schemas.contains_key("io.k8s.api.core.v1.PodSpec"));
        assert!(!schemas.contains_key("io.k8s.api.core.v1.Service"));
        assert!(!schemas.contains_key("io.k8s.api.batch.v1.Job"));
    }
}
