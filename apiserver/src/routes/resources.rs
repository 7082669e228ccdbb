//! The resource endpoints: `/api/v1/...` and `/apis/<group>/<version>/...`,
//! parsed against the resource table and dispatched to the registry.

use super::AppState;
use crate::apply::{self, OptionsKind};
use crate::patch::PatchKind;
use crate::registry::options::WriteOptions;
use crate::registry::subresources::ScaleChange;
use crate::registry::write::Target;
use crate::request::{self, Query};
use crate::response::{self, Render};
use crate::status::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use bosun_types::resources::{self, ResourceInfo};
use serde_json::{Value, json};
use std::time::Duration;

/// What a resource path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    /// The resource.
    pub resource: &'static ResourceInfo,
    /// The namespace, for namespaced paths.
    pub namespace: Option<String>,
    /// The object name, for item paths.
    pub name: Option<String>,
    /// The subresource, e.g. `status`.
    pub subresource: Option<String>,
}

/// Parses `/api/v1/...` or `/apis/<g>/<v>/...` into a resource target.
pub fn parse_path(path: &str) -> Option<ResourcePath> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    if rest.is_empty() {
        return None;
    }
    let namespaces = resources::find_by_plural(group, version, "namespaces");
    // `namespaces/<ns>/<resource>...`, except the namespace's own subresources.
    let names_namespace_subresource = |tail: &[&str]| {
        tail.len() == 1 && namespaces.is_some_and(|n| n.subresource(tail[0]).is_some())
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, tail @ ..] if !tail.is_empty() && !names_namespace_subresource(tail) => {
            (Some((*ns).to_owned()), tail)
        }
        other => (None, other),
    };
    let (plural, name, subresource) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some((*name).to_owned()), None),
        [plural, name, sub] => (*plural, Some((*name).to_owned()), Some((*sub).to_owned())),
        _ => return None,
    };
    let resource = resources::find_by_plural(group, version, plural)?;
    if namespace.is_some() && !resource.is_namespaced() {
        return None;
    }
    if let Some(sub) = &subresource {
        resource.subresource(sub)?;
    }
    Some(ResourcePath {
        resource,
        namespace,
        name,
        subresource,
    })
}

/// The default watch timeout: upstream picks a random time between
/// `--min-request-timeout` (30 min) and twice that.
fn default_watch_timeout() -> Duration {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * 1800 / 255;
    Duration::from_secs(1800 + jitter)
}

/// The handler for every resource path.
pub async fn handle(State(app): State<AppState>, request: Request) -> Response {
    match dispatch(app, request).await {
        Ok(response) => response,
        Err(err) => response::error(err),
    }
}

fn verb_check(resource: &ResourceInfo, verb: &str) -> Result<(), ApiError> {
    if resource.has_verb(verb) {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed())
    }
}

async fn dispatch(app: AppState, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let target = parse_path(parts.uri.path()).ok_or_else(ApiError::path_not_found)?;
    let query = Query::from_uri(&parts.uri)?;
    let headers = parts.headers;
    let render = response::render_for(&headers, query.get("includeObject"));
    let ResourcePath {
        resource,
        namespace,
        name,
        subresource,
    } = target;
    let ns = namespace.as_deref();
    let registry = &app.registry;
    match (parts.method, name, subresource.as_deref()) {
        (Method::GET, Some(name), Some("scale")) => {
            let scale = registry.get_scale(resource, ns, &name).await?;
            Ok(response::json_response(StatusCode::OK, &scale))
        }
        (Method::PUT, Some(name), Some("scale")) => {
            let scale = request::decode_subresource(
                &headers,
                &request::read_body(body).await?,
                resource,
                "scale",
            )?;
            let change = ScaleChange::Replace(scale);
            let options = write_options(&query, &headers, OptionsKind::Update)?;
            let scale = registry
                .update_scale(resource, ns, &name, change, &options)
                .await?;
            Ok(response::json_response(StatusCode::OK, &scale))
        }
        (Method::PATCH, Some(name), Some("scale")) => {
            let kind = PatchKind::from_content_type(header_str(&headers, "content-type"))?;
            let options = write_options(&query, &headers, patch_options(kind, &query))?;
            let body = request::read_body(body).await?;
            let change = ScaleChange::Patch(crate::patch::Patch { kind, body: &body });
            let scale = registry
                .update_scale(resource, ns, &name, change, &options)
                .await?;
            Ok(response::json_response(StatusCode::OK, &scale))
        }
        (Method::POST, Some(name), Some("binding")) => {
            let binding = request::decode_subresource(
                &headers,
                &request::read_body(body).await?,
                resource,
                "binding",
            )?;
            registry
                .bind(ns.unwrap_or_default(), &name, &binding)
                .await?;
            Ok(created_status())
        }
        (Method::POST, None, None)
            if resource.group.is_empty() && resource.plural == "bindings" =>
        {
            let binding =
                request::decode_object(&headers, &request::read_body(body).await?, resource)?
                    .object;
            let pod = crate::registry::meta::name(&binding).to_owned();
            registry
                .bind(ns.unwrap_or_default(), &pod, &binding)
                .await?;
            Ok(created_status())
        }
        (Method::GET, Some(name), Some("log")) if resource.plural == "pods" => {
            let pod = registry.get(resource, ns, &name).await?;
            super::pod_log::respond(&pod, query.get("container"), query.flag("follow"))
        }
        (Method::POST, Some(name), Some("token")) => {
            let asked = request::decode_subresource(
                &headers,
                &request::read_body(body).await?,
                resource,
                "token",
            )?;
            let issued = issue_token(&app, resource, ns.unwrap_or_default(), &name, asked).await?;
            Ok(response::json_response(StatusCode::CREATED, &issued))
        }
        (Method::POST, Some(name), Some("eviction")) => {
            let eviction = request::decode_subresource(
                &headers,
                &request::read_body(body).await?,
                resource,
                "eviction",
            )?;
            let dry_run = query.write_options()?.dry_run;
            registry
                .evict(ns.unwrap_or_default(), &name, &eviction, dry_run)
                .await?;
            Ok(created_status())
        }
        (Method::GET, None, None)
            if resource.group.is_empty() && resource.plural == "componentstatuses" =>
        {
            let list = component_statuses(registry).await;
            let body = match render {
                response::Render::Object => list,
                response::Render::Table(include) => {
                    let items = list["items"].as_array().cloned().unwrap_or_default();
                    response::table(resource, &items, json!({}), include)
                }
            };
            let deprecated = ["v1 ComponentStatus is deprecated in v1.19+".to_owned()];
            Ok(response::with_warnings(
                response::json_response(StatusCode::OK, &body),
                &deprecated,
            ))
        }
        (Method::POST, None, None) if super::reviews::is_review(resource) => {
            let review =
                request::decode_object(&headers, &request::read_body(body).await?, resource)?
                    .object;
            let caller = parts
                .extensions
                .get::<super::Caller>()
                .and_then(|c| c.0.clone())
                .ok_or_else(ApiError::unauthorized)?;
            let token_user = match review.pointer("/spec/token").and_then(Value::as_str) {
                Some(token) if resource.plural == "tokenreviews" => {
                    let audiences = super::reviews::review_audiences(&review);
                    super::service_account_for(&app, token, &audiences).await
                }
                _ => None,
            };
            let answered =
                super::reviews::answer(resource, ns, review, &caller, token_user.as_ref())?;
            Ok(response::json_response(StatusCode::CREATED, &answered))
        }
        (_, _, _) if resource.storage.is_none() => Err(ApiError::method_not_allowed()),
        (Method::GET, None, None) => {
            if query.flag("watch") {
                verb_check(resource, "watch")?;
                let params = query.watch_params(default_watch_timeout())?;
                check_field_selector(resource, &params.list)?;
                let events = registry.watch(resource, namespace.clone(), params).await?;
                return Ok(response::watch(resource, events, render));
            }
            verb_check(resource, "list")?;
            let params = query.list_params()?;
            check_field_selector(resource, &params)?;
            let list = registry.list(resource, ns, &params).await?;
            Ok(response::list(resource, list, render))
        }
        (Method::GET, Some(name), None) => {
            verb_check(resource, "get")?;
            let object = registry.get(resource, ns, &name).await?;
            Ok(response::object(resource, StatusCode::OK, &object, render))
        }
        (Method::GET, Some(name), Some("status")) => {
            let object = registry.get(resource, ns, &name).await?;
            Ok(response::object(resource, StatusCode::OK, &object, render))
        }
        (Method::POST, None, None) => {
            verb_check(resource, "create")?;
            let options = write_options(&query, &headers, OptionsKind::Create)?;
            let decoded =
                request::decode_object(&headers, &request::read_body(body).await?, resource)?;
            let warnings = request::field_validation(
                resource,
                options.field_validation,
                decoded.field_errors,
            )?;
            let mut outcome = registry
                .create(resource, ns, decoded.object, &options)
                .await?;
            outcome.warnings.extend(warnings);
            let code = if outcome.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(response::with_warnings(
                response::object(resource, code, &outcome.object, Render::Object),
                &outcome.warnings,
            ))
        }
        (Method::PUT, Some(name), sub) => {
            if sub.is_none() {
                verb_check(resource, "update")?;
            }
            let target = Target::for_subresource(sub)?;
            let options = write_options(&query, &headers, OptionsKind::Update)?;
            let decoded =
                request::decode_object(&headers, &request::read_body(body).await?, resource)?;
            let warnings = request::field_validation(
                resource,
                options.field_validation,
                decoded.field_errors,
            )?;
            let mut outcome = registry
                .update(resource, ns, &name, decoded.object, target, &options)
                .await?;
            outcome.warnings.extend(warnings);
            let code = if outcome.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(response::with_warnings(
                response::object(resource, code, &outcome.object, Render::Object),
                &outcome.warnings,
            ))
        }
        (Method::PATCH, Some(name), sub) => {
            if sub.is_none() {
                verb_check(resource, "patch")?;
            }
            let target = Target::for_subresource(sub)?;
            let kind = PatchKind::for_resource(header_str(&headers, "content-type"), resource)?;
            let options = write_options(&query, &headers, patch_options(kind, &query))?;
            let body = request::read_body(body).await?;
            let outcome = registry
                .patch(
                    resource,
                    ns,
                    &name,
                    crate::patch::Patch { kind, body: &body },
                    target,
                    &options,
                )
                .await?;
            // Server-side apply answers 201 when it created the object.
            let code = if outcome.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(response::with_warnings(
                response::object(resource, code, &outcome.object, Render::Object),
                &outcome.warnings,
            ))
        }
        (Method::DELETE, Some(name), None) => {
            verb_check(resource, "delete")?;
            let options = query
                .delete_options()?
                .merge_body(&request::decode_optional(&request::read_body(body).await?)?)?;
            let (object, _gone) = registry.delete(resource, ns, &name, &options).await?;
            Ok(response::object(
                resource,
                StatusCode::OK,
                &object,
                Render::Object,
            ))
        }
        (Method::DELETE, None, None) => {
            verb_check(resource, "deletecollection")?;
            let options = query
                .delete_options()?
                .merge_body(&request::decode_optional(&request::read_body(body).await?)?)?;
            let params = query.list_params()?;
            check_field_selector(resource, &params)?;
            let list = registry
                .delete_collection(resource, ns, &params, &options)
                .await?;
            Ok(response::json_response(StatusCode::OK, &list))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// The options of a write, checked as upstream checks `CreateOptions`,
/// `UpdateOptions` and `PatchOptions`; without a `fieldManager`, writes
/// other than apply are recorded under upstream's default, the first word
/// of the User-Agent.
fn write_options(
    query: &Query,
    headers: &HeaderMap,
    kind: OptionsKind,
) -> Result<WriteOptions, ApiError> {
    let mut options = query.write_options()?;
    options.field_manager = options.field_manager.filter(|m| !m.is_empty());
    apply::validate_options(kind, options.field_manager.as_deref())?;
    if options.field_manager.is_none() {
        options.field_manager = Some(apply::manager_from_user_agent(header_str(
            headers,
            "user-agent",
        )));
    }
    Ok(options)
}

/// The options kind of a patch of type `kind`.
fn patch_options(kind: PatchKind, query: &Query) -> OptionsKind {
    OptionsKind::Patch {
        apply: kind == PatchKind::Apply,
        force_given: query.get("force").is_some(),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Rejects field selectors naming fields the resource does not support.
fn check_field_selector(
    resource: &ResourceInfo,
    params: &crate::registry::options::ListParams,
) -> Result<(), ApiError> {
    let mut supported = vec!["metadata.name"];
    if resource.is_namespaced() {
        supported.push("metadata.namespace");
    }
    supported.extend_from_slice(crate::registry::strategy::selectable_fields(resource));
    params
        .fields
        .check_supported_fields(&supported)
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// The deprecated `componentstatuses` list: storage health only.
async fn component_statuses(registry: &crate::registry::Registry) -> Value {
    let healthy = registry.current_revision().await.is_ok();
    json!({
        "kind": "ComponentStatusList",
        "apiVersion": "v1",
        "metadata": {},
        "items": [{
            "metadata": {"name": "etcd-0"},
            "conditions": [{"type": "Healthy", "status": if healthy { "True" } else { "False" }, "message": if healthy { "ok" } else { "storage unavailable" }}],
        }],
    })
}

/// `POST serviceaccounts/NAME/token`: a TokenRequest answered with a
/// token for the service account, which must exist.
async fn issue_token(
    app: &AppState,
    accounts: &ResourceInfo,
    namespace: &str,
    name: &str,
    mut asked: Value,
) -> Result<Value, ApiError> {
    let (seconds, audiences) = crate::tokens::requested(&asked, name)?;
    let account = app.registry.get(accounts, Some(namespace), name).await?;
    let claims = crate::tokens::Claims {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        uid: crate::registry::meta::meta_str(&account, "uid").to_owned(),
    };
    let now = crate::registry::meta::now_seconds();
    let token = app.tokens.issue(&claims, &audiences, now, seconds)?;
    let Some(object) = asked.as_object_mut() else {
        return Err(ApiError::bad_request(
            "a TokenRequest must be a JSON object",
        ));
    };
    object.insert("kind".into(), json!("TokenRequest"));
    object.insert("apiVersion".into(), json!("authentication.k8s.io/v1"));
    object.insert(
        "metadata".into(),
        json!({"name": name, "namespace": namespace, "creationTimestamp": null}),
    );
    let spec = object.entry("spec").or_insert_with(|| json!({}));
    if let Some(spec) = spec.as_object_mut() {
        spec.insert("audiences".into(), json!(audiences));
        spec.insert("expirationSeconds".into(), json!(seconds));
        spec.entry("boundObjectRef").or_insert(Value::Null);
    }
    object.insert(
        "status".into(),
        json!({
            "token": token,
            "expirationTimestamp": crate::registry::meta::format_timestamp(now + seconds),
        }),
    );
    Ok(asked)
}

/// The 201 `Status` of success that binding and eviction answer with.
fn created_status() -> Response {
    response::json_response(StatusCode::CREATED, &success_status(201))
}

/// A `Status` of success, as binding and eviction answer.
pub fn success_status(code: u16) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_to_resources_namespaces_names_and_subresources() {
        let t = parse_path("/api/v1/namespaces/default/pods").expect("pods");
        assert_eq!(
            (t.resource.plural, t.namespace.as_deref(), t.name),
            ("pods", Some("default"), None)
        );
        let t = parse_path("/apis/apps/v1/namespaces/ns/deployments/web/scale").expect("scale");
        assert_eq!(
            (t.name.as_deref(), t.subresource.as_deref()),
            (Some("web"), Some("scale"))
        );
        let t = parse_path("/api/v1/namespaces/dev").expect("namespace");
        assert_eq!(
            (t.resource.plural, t.name.as_deref()),
            ("namespaces", Some("dev"))
        );
        let t = parse_path("/api/v1/namespaces/dev/status").expect("namespace status");
        assert_eq!(
            (t.resource.plural, t.subresource.as_deref()),
            ("namespaces", Some("status"))
        );
        let t = parse_path("/api/v1/pods").expect("all pods");
        assert_eq!(t.namespace, None);
        assert_eq!(
            parse_path("/api/v1/namespaces/x/nodes"),
            None,
            "cluster-scoped under a namespace"
        );
        assert_eq!(parse_path("/api/v1/namespaces/x/pods/p/bogus"), None);
        assert_eq!(parse_path("/apis/nope/v1/things"), None);
        assert_eq!(parse_path("/api/v1"), None);
    }
}
