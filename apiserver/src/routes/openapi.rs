//! `/openapi/v3`: the index and per group-version documents, built once per
//! process from the resource table and served as upstream's handler does
//! (ETags, immutable caching under a matching `hash`, redirect otherwise);
//! and `/openapi/v2`, the one Swagger 2.0 document, in JSON or protobuf.

use crate::openapi::{OpenApi, OpenApiV2, ResourceDesc};
use crate::status::ApiError;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bosun_types::resources;
use std::sync::OnceLock;

static DOCUMENTS: OnceLock<OpenApi> = OnceLock::new();
static DOCUMENT_V2: OnceLock<OpenApiV2> = OnceLock::new();

/// The media type the v2 document's protobuf form is served as. kubectl
/// asks for the older `...spec.v2@v1.0+protobuf`, which Go cannot parse as
/// a response type; upstream answers both with this one.
const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// The documents, built on first use (the server warms them at start-up).
pub fn documents() -> &'static OpenApi {
    DOCUMENTS.get_or_init(|| {
        let descs: Vec<ResourceDesc> = resources::resources()
            .iter()
            .map(|r| ResourceDesc {
                group: r.group,
                version: r.version,
                kind: r.kind,
                plural: r.plural,
                namespaced: r.is_namespaced(),
                verbs: r.verbs,
                // Built once per process, so the slice may live forever.
                subresources: Box::leak(
                    r.subresources
                        .iter()
                        .map(|s| (s.name, s.group, s.version, s.kind))
                        .collect::<Vec<_>>()
                        .into_boxed_slice(),
                ),
            })
            .collect();
        OpenApi::new(&descs)
    })
}

/// The v2 document, built on first use from the v3 documents.
pub fn document_v2() -> &'static OpenApiV2 {
    DOCUMENT_V2.get_or_init(|| OpenApiV2::new(documents()))
}

/// `GET /openapi/v2`: protobuf when the client accepts it (kubectl asks
/// for nothing else), JSON otherwise.
pub async fn v2(headers: HeaderMap) -> Response {
    // Built off the async threads the first time.
    let doc = match DOCUMENT_V2.get() {
        Some(doc) => doc,
        None => tokio::task::spawn_blocking(document_v2)
            .await
            .unwrap_or_else(|_| document_v2()),
    };
    let wants_protobuf = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/com.github.proto-openapi.spec.v2"));
    if wants_protobuf {
        bytes_as(
            doc.protobuf(),
            V2_PROTOBUF,
            &format!("{}-pb", doc.hash()),
            &headers,
        )
    } else {
        json_bytes(doc.json(), doc.hash(), &headers)
    }
}

fn json_bytes(bytes: &[u8], etag: &str, headers: &HeaderMap) -> Response {
    bytes_as(bytes, "application/json", etag, headers)
}

/// `bytes` with `content_type`, or 304 when the client has `etag`.
fn bytes_as(bytes: &[u8], content_type: &'static str, etag: &str, headers: &HeaderMap) -> Response {
    let quoted = format!("\"{etag}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(quoted.as_str())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = (StatusCode::OK, bytes.to_vec()).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&quoted) {
        h.insert(header::ETAG, v);
    }
    response
}

/// `GET /openapi/v3`.
pub async fn index(headers: HeaderMap) -> Response {
    let docs = documents();
    json_bytes(docs.index_bytes(), docs.index_hash(), &headers)
}

/// `GET /openapi/v3/<group-version path>`.
pub async fn document(
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let docs = documents();
    let (Some(bytes), Some(hash)) = (docs.document(&path), docs.hash(&path)) else {
        return ApiError::path_not_found().into_response();
    };
    let asked = query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .find_map(|p| p.strip_prefix("hash="));
    match asked {
        Some(h) if h != hash => {
            let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("/openapi/v3/{path}?hash={hash}")) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            response
        }
        Some(_) => {
            let mut response = json_bytes(bytes, hash, &headers);
            let h = response.headers_mut();
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, immutable"),
            );
            h.insert(header::VARY, HeaderValue::from_static("Accept"));
            response
        }
        None => json_bytes(bytes, hash, &headers),
    }
}
