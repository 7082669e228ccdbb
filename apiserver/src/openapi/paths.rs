//! The `paths` of a group-version document: one collection path and one item
//! path per resource, plus subresource paths, with one operation per verb.
//!
//! What kubectl relies on (see the module docs of [`super`]): every `patch`
//! operation carries `x-kubernetes-group-version-kind` (a single object) and a
//! `fieldValidation` query parameter, and lists the patch media types in
//! `requestBody.content`, including `application/strategic-merge-patch+json`
//! for built-in kinds.

use serde_json::{Map, Value, json};

use super::ResourceDesc;
use super::catalog::{API_RESOURCE_LIST, DELETE_OPTIONS, PATCH, STATUS, schema_ref};

/// Patch media types accepted for every kind.
const PATCH_TYPES_COMMON: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
];
/// The strategic-merge-patch media type, for built-in kinds only.
const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";

/// What a subresource does, inferred from its name (the verbs upstream serves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubresourceStyle {
    /// `status`, `scale`, `resize`, `ephemeralcontainers`, `approval` and unknown
    /// names: get, update (`put`) and patch.
    ReadWrite,
    /// `finalize`: update (`put`) only.
    UpdateOnly,
    /// `binding`, `eviction`, `token`: create (`post`) only.
    CreateOnly,
    /// `log`: get only, returning text.
    Log,
    /// `exec`, `attach`, `portforward`: connect by GET or POST.
    Connect,
    /// `proxy`: connect by any method, also with a trailing `{path}`.
    Proxy,
}

impl SubresourceStyle {
    /// The style of the subresource called `name`.
    pub(crate) fn of(name: &str) -> SubresourceStyle {
        match name {
            "finalize" => SubresourceStyle::UpdateOnly,
            "binding" | "eviction" | "token" => SubresourceStyle::CreateOnly,
            "log" => SubresourceStyle::Log,
            "exec" | "attach" | "portforward" => SubresourceStyle::Connect,
            "proxy" => SubresourceStyle::Proxy,
            _ => SubresourceStyle::ReadWrite,
        }
    }
}

/// Resolved schema names for one resource.
pub(crate) struct ResourceSchemas<'a> {
    /// The kind's schema name.
    pub kind: &'a str,
    /// The list's schema name, if any.
    pub list: Option<&'a str>,
    /// Whether the kind is built in (strategic merge patch is offered).
    pub builtin: bool,
    /// Schema name of each subresource's kind, in `subresources` order (`None`
    /// when the kind has no schema, e.g. `PodExecOptions`).
    pub subresources: Vec<Option<&'a str>>,
}

/// Builds the operation-id and tag spellings of one group-version.
pub(crate) struct GroupVersionNames {
    /// `/api/v1` or `/apis/<group>/<version>`.
    pub base: String,
    /// `CoreV1`, `AppsV1`, `RbacAuthorizationV1`, ...
    pub op_infix: String,
    /// `core_v1`, `apps_v1`, `rbacAuthorization_v1`, ...
    pub tag: String,
}

impl GroupVersionNames {
    /// The names for `group`/`version` (`""` = core).
    pub(crate) fn new(group: &str, version: &str) -> GroupVersionNames {
        let base = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let words: Vec<&str> = if group.is_empty() {
            vec!["core"]
        } else {
            group
                .strip_suffix(".k8s.io")
                .unwrap_or(group)
                .split(['.', '-'])
                .filter(|w| !w.is_empty())
                .collect()
        };
        let camel: String = words.iter().map(|w| capitalize(w)).collect();
        let lower_camel = {
            let mut s = words.first().map(|w| w.to_string()).unwrap_or_default();
            s.extend(words.iter().skip(1).map(|w| capitalize(w)));
            s
        };
        GroupVersionNames {
            base,
            op_infix: format!("{camel}{}", capitalize(version)),
            tag: format!("{lower_camel}_{version}"),
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn param(name: &str, location: &str, ty: &str, description: &str) -> Value {
    let mut p = json!({
        "name": name,
        "in": location,
        "description": description,
        "schema": { "type": ty },
    });
    if location == "path" {
        p["required"] = Value::Bool(true);
    }
    p
}

fn name_param(what: &str) -> Value {
    param("name", "path", "string", &format!("name of the {what}"))
}
fn namespace_param() -> Value {
    param(
        "namespace",
        "path",
        "string",
        "object name and auth scope, such as for teams and projects",
    )
}
fn pretty_param() -> Value {
    param(
        "pretty",
        "query",
        "string",
        "If 'true', then the output is pretty printed.",
    )
}
fn dry_run_param() -> Value {
    param(
        "dryRun",
        "query",
        "string",
        "When present, indicates that modifications should not be persisted. The only valid value is \"All\": process the request fully but do not store the result.",
    )
}
fn field_manager_param() -> Value {
    param(
        "fieldManager",
        "query",
        "string",
        "A name for the actor or entity making these changes, recorded in managedFields. At most 128 printable characters. Required for apply patches.",
    )
}
fn field_validation_param() -> Value {
    param(
        "fieldValidation",
        "query",
        "string",
        "How the server treats unknown and duplicate fields in the request body: \"Ignore\" drops them silently, \"Warn\" (the default) drops them and returns a Warning header for each, \"Strict\" fails the request with BadRequest.",
    )
}
fn force_param() -> Value {
    param(
        "force",
        "query",
        "boolean",
        "Force an apply request through: take ownership of fields other managers own. Must be unset for patches that are not apply patches.",
    )
}

fn write_params() -> Vec<Value> {
    vec![
        dry_run_param(),
        field_manager_param(),
        field_validation_param(),
    ]
}

fn list_params() -> Vec<Value> {
    vec![
        param(
            "allowWatchBookmarks",
            "query",
            "boolean",
            "Ask for BOOKMARK watch events. Ignored unless this is a watch.",
        ),
        param(
            "continue",
            "query",
            "string",
            "The continue token of a previous paged list response, to fetch the next page.",
        ),
        param(
            "fieldSelector",
            "query",
            "string",
            "A selector to restrict the returned objects by their fields. Defaults to everything.",
        ),
        param(
            "labelSelector",
            "query",
            "string",
            "A selector to restrict the returned objects by their labels. Defaults to everything.",
        ),
        param(
            "limit",
            "query",
            "integer",
            "The maximum number of objects to return; more may be fetched with the continue token of the response.",
        ),
        param(
            "resourceVersion",
            "query",
            "string",
            "A constraint on which resource versions the request may be served from.",
        ),
        param(
            "resourceVersionMatch",
            "query",
            "string",
            "How resourceVersion applies to a list: \"Exact\" or \"NotOlderThan\".",
        ),
        param(
            "sendInitialEvents",
            "query",
            "boolean",
            "With watch=true, start the watch with synthetic events for the current objects, then a BOOKMARK.",
        ),
        param(
            "timeoutSeconds",
            "query",
            "integer",
            "Timeout for the list or watch call.",
        ),
        param(
            "watch",
            "query",
            "boolean",
            "Watch for changes to the described resources instead of listing them.",
        ),
    ]
}

fn delete_params() -> Vec<Value> {
    vec![
        dry_run_param(),
        param(
            "gracePeriodSeconds",
            "query",
            "integer",
            "The duration in seconds before the object should be deleted; zero means delete immediately.",
        ),
        param(
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            "query",
            "boolean",
            "Delete an object that cannot be read from storage (corrupt). Dangerous.",
        ),
        param(
            "orphanDependents",
            "query",
            "boolean",
            "Deprecated: use propagationPolicy. Whether dependents are orphaned.",
        ),
        param(
            "propagationPolicy",
            "query",
            "string",
            "Whether and how garbage collection is performed: \"Orphan\", \"Background\" or \"Foreground\".",
        ),
    ]
}

fn json_content(schema: Option<&str>, watch: bool) -> Value {
    let body = match schema {
        Some(name) => json!({ "schema": schema_ref(name) }),
        None => json!({}),
    };
    let mut content = Map::new();
    content.insert("application/json".into(), body.clone());
    if watch {
        content.insert("application/json;stream=watch".into(), body);
    }
    Value::Object(content)
}

fn responses(codes: &[&str], schema: Option<&str>, watch: bool) -> Value {
    let mut out = Map::new();
    for code in codes {
        let description = match *code {
            "200" => "OK",
            "201" => "Created",
            "202" => "Accepted",
            _ => "",
        };
        out.insert(
            (*code).into(),
            json!({ "description": description, "content": json_content(schema, watch) }),
        );
    }
    out.insert("401".into(), json!({ "description": "Unauthorized" }));
    Value::Object(out)
}

fn text_responses() -> Value {
    json!({
        "200": { "description": "OK", "content": { "*/*": { "schema": { "type": "string" } } } },
        "401": { "description": "Unauthorized" },
    })
}

fn body(schema: Option<&str>, required: bool) -> Value {
    let media = match schema {
        Some(name) => json!({ "schema": schema_ref(name) }),
        None => json!({}),
    };
    json!({ "content": { "*/*": media }, "required": required })
}

fn patch_body(builtin: bool) -> Value {
    let mut content = Map::new();
    for media in PATCH_TYPES_COMMON {
        content.insert((*media).into(), json!({ "schema": schema_ref(PATCH) }));
    }
    if builtin {
        content.insert(
            STRATEGIC_MERGE_PATCH.into(),
            json!({ "schema": schema_ref(PATCH) }),
        );
    }
    json!({ "content": content, "required": true })
}

/// The pieces every operation has.
struct Op<'a> {
    names: &'a GroupVersionNames,
    gvk: (&'a str, &'a str, &'a str),
}

impl Op<'_> {
    fn make(
        &self,
        operation_id: String,
        description: String,
        action: &str,
        parameters: Vec<Value>,
        request_body: Option<Value>,
        responses: Value,
    ) -> Value {
        let (group, version, kind) = self.gvk;
        let mut op = json!({
            "operationId": operation_id,
            "description": description,
            "tags": [self.names.tag],
            "responses": responses,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": { "group": group, "version": version, "kind": kind },
        });
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
        }
        if let Some(b) = request_body {
            op["requestBody"] = b;
        }
        op
    }
}

/// Adds the `GET <base>/` path (the group-version's resource list).
pub(crate) fn add_root(paths: &mut Map<String, Value>, names: &GroupVersionNames) {
    paths.insert(
        format!("{}/", names.base),
        json!({
            "get": {
                "operationId": format!("get{}APIResources", names.op_infix),
                "description": "get available resources",
                "tags": [names.tag],
                "responses": responses(&["200"], Some(API_RESOURCE_LIST), false),
            }
        }),
    );
}

/// Adds the paths of one resource (and its subresources).
pub(crate) fn add_resource(
    paths: &mut Map<String, Value>,
    names: &GroupVersionNames,
    r: &ResourceDesc,
    schemas: &ResourceSchemas<'_>,
) {
    let has = |verb: &str| r.verbs.contains(&verb);
    let watch = has("watch");
    let ns = if r.namespaced { "Namespaced" } else { "" };
    let kind = r.kind;
    let op = Op {
        names,
        gvk: (r.group, r.version, kind),
    };
    let infix = &names.op_infix;
    let collection = if r.namespaced {
        format!("{}/namespaces/{{namespace}}/{}", names.base, r.plural)
    } else {
        format!("{}/{}", names.base, r.plural)
    };
    let item = format!("{collection}/{{name}}");
    let scope_params = |with_name: Option<&str>| {
        let mut ps = Vec::new();
        if let Some(what) = with_name {
            ps.push(name_param(what));
        }
        if r.namespaced {
            ps.push(namespace_param());
        }
        ps.push(pretty_param());
        Value::Array(ps)
    };

    // Collection: list, create, deletecollection.
    let mut coll = Map::new();
    if has("list") {
        coll.insert(
            "get".into(),
            op.make(
                format!("list{infix}{ns}{kind}"),
                format!("list or watch objects of kind {kind}"),
                "list",
                list_params(),
                None,
                responses(&["200"], schemas.list, watch),
            ),
        );
    }
    if has("create") {
        coll.insert(
            "post".into(),
            op.make(
                format!("create{infix}{ns}{kind}"),
                format!("create a {kind}"),
                "post",
                write_params(),
                Some(body(Some(schemas.kind), true)),
                responses(&["200", "201", "202"], Some(schemas.kind), false),
            ),
        );
    }
    if has("deletecollection") {
        let mut params = delete_params();
        params.extend(list_params());
        coll.insert(
            "delete".into(),
            op.make(
                format!("delete{infix}Collection{ns}{kind}"),
                format!("delete collection of {kind}"),
                "deletecollection",
                params,
                Some(body(Some(DELETE_OPTIONS), false)),
                responses(&["200"], Some(STATUS), false),
            ),
        );
    }
    if !coll.is_empty() {
        coll.insert("parameters".into(), scope_params(None));
        paths.insert(collection.clone(), Value::Object(coll));
    }

    // All namespaces: list.
    if r.namespaced && has("list") {
        let mut all = Map::new();
        all.insert(
            "get".into(),
            op.make(
                format!("list{infix}{kind}ForAllNamespaces"),
                format!("list or watch objects of kind {kind}"),
                "list",
                list_params(),
                None,
                responses(&["200"], schemas.list, watch),
            ),
        );
        all.insert("parameters".into(), json!([pretty_param()]));
        paths.insert(format!("{}/{}", names.base, r.plural), Value::Object(all));
    }

    // Item: read, replace, patch, delete.
    let mut one = Map::new();
    if has("get") {
        one.insert(
            "get".into(),
            op.make(
                format!("read{infix}{ns}{kind}"),
                format!("read the specified {kind}"),
                "get",
                Vec::new(),
                None,
                responses(&["200"], Some(schemas.kind), false),
            ),
        );
    }
    if has("update") {
        one.insert(
            "put".into(),
            op.make(
                format!("replace{infix}{ns}{kind}"),
                format!("replace the specified {kind}"),
                "put",
                write_params(),
                Some(body(Some(schemas.kind), true)),
                responses(&["200", "201"], Some(schemas.kind), false),
            ),
        );
    }
    if has("patch") {
        let mut params = write_params();
        params.push(force_param());
        one.insert(
            "patch".into(),
            op.make(
                format!("patch{infix}{ns}{kind}"),
                format!("partially update the specified {kind}"),
                "patch",
                params,
                Some(patch_body(schemas.builtin)),
                responses(&["200", "201"], Some(schemas.kind), false),
            ),
        );
    }
    if has("delete") {
        one.insert(
            "delete".into(),
            op.make(
                format!("delete{infix}{ns}{kind}"),
                format!("delete a {kind}"),
                "delete",
                delete_params(),
                Some(body(Some(DELETE_OPTIONS), false)),
                responses(&["200", "202"], Some(STATUS), false),
            ),
        );
    }
    if !one.is_empty() {
        one.insert("parameters".into(), scope_params(Some(kind)));
        paths.insert(item.clone(), Value::Object(one));
    }

    // Subresources.
    for (i, &(sub, group, version, sub_kind)) in r.subresources.iter().enumerate() {
        let sub_schema = schemas.subresources.get(i).copied().flatten();
        let sop = Op {
            names,
            gvk: (group, version, sub_kind),
        };
        let sub_cap = capitalize(sub);
        let what = format!("{kind}{sub_cap}");
        let path = format!("{item}/{sub}");
        let mut ops = Map::new();
        match SubresourceStyle::of(sub) {
            SubresourceStyle::ReadWrite | SubresourceStyle::UpdateOnly => {
                if SubresourceStyle::of(sub) == SubresourceStyle::ReadWrite {
                    ops.insert(
                        "get".into(),
                        sop.make(
                            format!("read{infix}{ns}{what}"),
                            format!("read {sub} of the specified {kind}"),
                            "get",
                            Vec::new(),
                            None,
                            responses(&["200"], sub_schema, false),
                        ),
                    );
                    let mut params = write_params();
                    params.push(force_param());
                    ops.insert(
                        "patch".into(),
                        sop.make(
                            format!("patch{infix}{ns}{what}"),
                            format!("partially update {sub} of the specified {kind}"),
                            "patch",
                            params,
                            Some(patch_body(schemas.builtin && sub_schema.is_some())),
                            responses(&["200", "201"], sub_schema, false),
                        ),
                    );
                }
                ops.insert(
                    "put".into(),
                    sop.make(
                        format!("replace{infix}{ns}{what}"),
                        format!("replace {sub} of the specified {kind}"),
                        "put",
                        write_params(),
                        Some(body(sub_schema, true)),
                        responses(&["200", "201"], sub_schema, false),
                    ),
                );
            }
            SubresourceStyle::CreateOnly => {
                ops.insert(
                    "post".into(),
                    sop.make(
                        format!("create{infix}{ns}{what}"),
                        format!("create {sub} of a {kind}"),
                        "post",
                        write_params(),
                        Some(body(sub_schema, true)),
                        responses(&["200", "201", "202"], sub_schema, false),
                    ),
                );
            }
            SubresourceStyle::Log => {
                ops.insert(
                    "get".into(),
                    sop.make(
                        format!("read{infix}{ns}{what}"),
                        format!("read {sub} of the specified {kind}"),
                        "get",
                        vec![
                            param("container", "query", "string", "The container to stream logs of; defaults to the only container if there is one."),
                            param("follow", "query", "boolean", "Follow the log stream."),
                            param("limitBytes", "query", "integer", "Stop after this many bytes."),
                            param("previous", "query", "boolean", "Return the logs of the previous, terminated container."),
                            param("sinceSeconds", "query", "integer", "Only logs newer than this many seconds."),
                            param("tailLines", "query", "integer", "Only this many lines from the end of the log."),
                            param("timestamps", "query", "boolean", "Prefix each line with an RFC3339 timestamp."),
                        ],
                        None,
                        text_responses(),
                    ),
                );
            }
            SubresourceStyle::Connect | SubresourceStyle::Proxy => {
                let methods: &[&str] = if SubresourceStyle::of(sub) == SubresourceStyle::Proxy {
                    &["delete", "get", "head", "options", "patch", "post", "put"]
                } else {
                    &["get", "post"]
                };
                let params = connect_params(sub);
                for with_path in [false, true] {
                    if with_path && SubresourceStyle::of(sub) != SubresourceStyle::Proxy {
                        continue;
                    }
                    let mut ops = Map::new();
                    for m in methods {
                        let suffix = if with_path { "WithPath" } else { "" };
                        ops.insert(
                            (*m).into(),
                            sop.make(
                                format!("connect{infix}{}{ns}{what}{suffix}", capitalize(m)),
                                format!("connect {} requests to {sub} of {kind}", m.to_uppercase()),
                                "connect",
                                Vec::new(),
                                None,
                                text_responses(),
                            ),
                        );
                    }
                    let mut ps = vec![name_param(&what)];
                    if r.namespaced {
                        ps.push(namespace_param());
                    }
                    if with_path {
                        ps.push(param("path", "path", "string", "path to the resource"));
                    }
                    ps.extend(params.iter().cloned());
                    ops.insert("parameters".into(), Value::Array(ps));
                    let p = if with_path {
                        format!("{path}/{{path}}")
                    } else {
                        path.clone()
                    };
                    paths.insert(p, Value::Object(ops));
                }
                continue;
            }
        }
        let mut ps = vec![name_param(&what)];
        if r.namespaced {
            ps.push(namespace_param());
        }
        ps.push(pretty_param());
        ops.insert("parameters".into(), Value::Array(ps));
        paths.insert(path, Value::Object(ops));
    }
}

fn connect_params(sub: &str) -> Vec<Value> {
    match sub {
        "exec" | "attach" => {
            let mut ps = vec![
                param(
                    "container",
                    "query",
                    "string",
                    "The container to connect to.",
                ),
                param(
                    "stderr",
                    "query",
                    "boolean",
                    "Redirect the standard error stream.",
                ),
                param(
                    "stdin",
                    "query",
                    "boolean",
                    "Redirect the standard input stream.",
                ),
                param(
                    "stdout",
                    "query",
                    "boolean",
                    "Redirect the standard output stream.",
                ),
                param("tty", "query", "boolean", "Allocate a terminal."),
            ];
            if sub == "exec" {
                ps.insert(
                    0,
                    param(
                        "command",
                        "query",
                        "string",
                        "The command to execute; repeat for each argument.",
                    ),
                );
            }
            ps
        }
        "portforward" => vec![param("ports", "query", "integer", "The ports to forward.")],
        "proxy" => vec![param(
            "path",
            "query",
            "string",
            "Path is the URL path to use for the current proxy request.",
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_upstream_spelling() {
        let n = GroupVersionNames::new("", "v1");
        assert_eq!(
            (n.base.as_str(), n.op_infix.as_str(), n.tag.as_str()),
            ("/api/v1", "CoreV1", "core_v1")
        );
        let n = GroupVersionNames::new("rbac.authorization.k8s.io", "v1");
        assert_eq!(n.op_infix, "RbacAuthorizationV1");
        assert_eq!(n.tag, "rbacAuthorization_v1");
        let n = GroupVersionNames::new("apps", "v1beta2");
        assert_eq!(n.op_infix, "AppsV1beta2");
        assert_eq!(n.base, "/apis/apps/v1beta2");
        let n = GroupVersionNames::new("widgets.example.com", "v1");
        assert_eq!(n.op_infix, "WidgetsExampleComV1");
    }

    #[test]
    fn subresource_styles() {
        assert_eq!(SubresourceStyle::of("status"), SubresourceStyle::ReadWrite);
        assert_eq!(SubresourceStyle::of("scale"), SubresourceStyle::ReadWrite);
        assert_eq!(
            SubresourceStyle::of("eviction"),
            SubresourceStyle::CreateOnly
        );
        assert_eq!(SubresourceStyle::of("exec"), SubresourceStyle::Connect);
        assert_eq!(SubresourceStyle::of("proxy"), SubresourceStyle::Proxy);
        assert_eq!(
            SubresourceStyle::of("finalize"),
            SubresourceStyle::UpdateOnly
        );
        assert_eq!(SubresourceStyle::of("log"), SubresourceStyle::Log);
    }
}
