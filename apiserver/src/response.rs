//! Writing responses: JSON objects, Tables when asked for, watch streams.

use crate::registry::WatchStream;
use crate::status::ApiError;
use crate::table;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bosun_types::resources::ResourceInfo;
use futures::StreamExt;
use serde_json::{Value, json};

/// How the client wants objects rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// Plain JSON objects.
    Object,
    /// `meta.k8s.io/v1` Tables, with rows' `object` as asked by `includeObject`.
    Table(IncludeObject),
}

/// `includeObject` of Table requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object in rows.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

/// Whether any media range of an Accept header has all these parameters.
pub fn accepts(headers: &HeaderMap, params: &[&str]) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.split(',').any(|range| {
        let parts: Vec<String> = range
            .split(';')
            .map(|p| p.trim().replace(' ', ""))
            .collect();
        params.iter().all(|want| parts.iter().any(|p| p == want))
    })
}

/// The rendering an Accept header and `includeObject` ask for.
pub fn render_for(headers: &HeaderMap, include_object: Option<&str>) -> Render {
    let table = accepts(headers, &["as=Table", "g=meta.k8s.io", "v=v1"])
        || accepts(headers, &["as=Table", "g=meta.k8s.io", "v=v1beta1"]);
    if !table {
        return Render::Object;
    }
    Render::Table(match include_object {
        Some("None") => IncludeObject::None,
        Some("Object") => IncludeObject::Object,
        _ => IncludeObject::Metadata,
    })
}

/// A JSON response with a status code.
pub fn json_response(code: StatusCode, body: &Value) -> Response {
    let mut response = (code, serde_json::to_vec(body).unwrap_or_default()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Adds `Warning` headers (`299 - "text"`).
pub fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for warning in warnings {
        // RFC 7234 warn-text: a quoted string with `\` and `"` escaped.
        let escaped = warning.replace('\\', "\\\\").replace('"', "\\\"");
        let text = format!("299 - \"{escaped}\"");
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}

fn row(resource: &ResourceInfo, object: &Value, include: IncludeObject, now: i64) -> Value {
    let cells = table::cells(resource.group, resource.plural, object, now);
    let mut row = json!({"cells": cells});
    match include {
        IncludeObject::None => {}
        IncludeObject::Object => row["object"] = object.clone(),
        IncludeObject::Metadata => {
            row["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
            })
        }
    }
    row
}

/// A Table of `objects`, with list metadata.
pub fn table(
    resource: &ResourceInfo,
    objects: &[Value],
    metadata: Value,
    include: IncludeObject,
) -> Value {
    let now = crate::registry::meta::now_seconds();
    let columns: Vec<Value> = table::columns(resource.group, resource.plural)
        .iter()
        .map(|c| {
            json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| row(resource, o, include, now))
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "columnDefinitions": columns, "rows": rows})
}

/// Renders one object.
pub fn object(
    resource: &ResourceInfo,
    code: StatusCode,
    object: &Value,
    render: Render,
) -> Response {
    match render {
        Render::Object => json_response(code, object),
        Render::Table(include) => {
            let rv = object
                .pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or_else(|| json!(""));
            json_response(
                code,
                &table(
                    resource,
                    std::slice::from_ref(object),
                    json!({"resourceVersion": rv}),
                    include,
                ),
            )
        }
    }
}

/// Renders a list.
pub fn list(
    resource: &ResourceInfo,
    list: crate::registry::ObjectList,
    render: Render,
) -> Response {
    match render {
        Render::Object => {
            let mut response = (StatusCode::OK, list.to_json()).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Render::Table(include) => {
            let items = list.values(resource);
            json_response(
                StatusCode::OK,
                &table(resource, &items, list.metadata(), include),
            )
        }
    }
}

/// Watch events sent together at most, when more are ready at once.
const WATCH_COALESCE: usize = 64;

/// Streams watch events as newline-delimited JSON.
pub fn watch(resource: &'static ResourceInfo, events: WatchStream, render: Render) -> Response {
    let lines = events.map(move |event| match render {
        Render::Table(include) if event.kind != "ERROR" && event.kind != "BOOKMARK" => {
            let object: Value = serde_json::from_slice(&event.object).unwrap_or(Value::Null);
            let rv = object
                .pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or_else(|| json!(""));
            let table = table(
                resource,
                std::slice::from_ref(&object),
                json!({"resourceVersion": rv}),
                include,
            );
            let mut line = serde_json::to_vec(&json!({"type": event.kind, "object": table}))
                .unwrap_or_default();
            line.push(b'\n');
            bytes::Bytes::from(line)
        }
        _ => event.to_line(),
    });
    // Events already waiting go out together: one HTTP/2 frame and one TLS
    // record for a burst instead of one per event.
    let chunks = lines.ready_chunks(WATCH_COALESCE).map(|mut lines| {
        let joined = if lines.len() == 1 {
            lines.pop().unwrap_or_default()
        } else {
            let mut joined = Vec::with_capacity(lines.iter().map(bytes::Bytes::len).sum());
            for line in &lines {
                joined.extend_from_slice(line);
            }
            bytes::Bytes::from(joined)
        };
        Ok::<_, std::convert::Infallible>(joined)
    });
    let mut response = Response::new(Body::from_stream(chunks));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    response
}

/// Renders an error.
pub fn error(err: ApiError) -> Response {
    err.into_response()
}
