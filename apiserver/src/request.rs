//! Reading requests: query parameters, bodies and their media types.

use crate::registry::options::{
    DeleteOptions, FieldValidation, ListParams, WatchParams, WriteOptions,
};
use crate::status::ApiError;
use axum::body::Body;
use axum::http::{HeaderMap, Uri, header};
use bosun_types::fields::FieldSelector;
use bosun_types::labels::Selector;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// Largest request body accepted, as upstream's 3 MiB.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Query parameters (the last value wins for repeated ones).
#[derive(Debug, Default, Clone)]
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parses a request's query string.
    pub fn from_uri(uri: &Uri) -> Result<Self, ApiError> {
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map_err(|e| ApiError::bad_request(format!("malformed query: {e}")))?;
        Ok(Self(pairs.0.into_iter().collect()))
    }

    /// One parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A boolean parameter (`true`/`1`).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1"))
    }

    fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "dryRun: Unsupported value: \"{other}\": supported values: \"All\""
            ))),
        }
    }

    /// Options of create, update and patch.
    pub fn write_options(&self) -> Result<WriteOptions, ApiError> {
        Ok(WriteOptions {
            dry_run: self.dry_run()?,
            field_manager: self.get("fieldManager").map(str::to_owned),
            field_validation: FieldValidation::parse(self.get("fieldValidation"))?,
            force: self.flag("force"),
            skip_validation: false,
        })
    }

    /// Options of list.
    pub fn list_params(&self) -> Result<ListParams, ApiError> {
        let labels = match self.get("labelSelector") {
            None | Some("") => Selector::everything(),
            Some(text) => {
                Selector::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?
            }
        };
        let fields = match self.get("fieldSelector") {
            None | Some("") => FieldSelector::everything(),
            Some(text) => {
                FieldSelector::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?
            }
        };
        let limit = match self.get("limit") {
            None | Some("") => None,
            Some(text) => Some(
                text.parse::<i64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid limit: {text:?}")))?
                    .max(0) as usize,
            ),
        };
        Ok(ListParams {
            labels,
            fields,
            limit,
            continue_token: self
                .get("continue")
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            resource_version: self.get("resourceVersion").map(str::to_owned),
            resource_version_match: self
                .get("resourceVersionMatch")
                .filter(|m| !m.is_empty())
                .map(str::to_owned),
        })
    }

    /// Options of watch; `default_timeout` applies without `timeoutSeconds`.
    pub fn watch_params(&self, default_timeout: Duration) -> Result<WatchParams, ApiError> {
        let timeout =
            match self.get("timeoutSeconds") {
                None | Some("") => default_timeout,
                Some(text) => Duration::from_secs(text.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid timeoutSeconds: {text:?}"))
                })?),
            };
        let send_initial_events = match self.get("sendInitialEvents") {
            None | Some("") => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "invalid sendInitialEvents: {other:?}"
                )));
            }
        };
        Ok(WatchParams {
            list: self.list_params()?,
            allow_bookmarks: self.flag("allowWatchBookmarks"),
            send_initial_events,
            timeout,
        })
    }

    /// Delete options from the query (a body may add to them).
    pub fn delete_options(&self) -> Result<DeleteOptions, ApiError> {
        let grace_period_seconds = match self.get("gracePeriodSeconds") {
            None | Some("") => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                ApiError::bad_request(format!("invalid gracePeriodSeconds: {text:?}"))
            })?),
        };
        Ok(DeleteOptions {
            grace_period_seconds,
            propagation_policy: self
                .get("propagationPolicy")
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
            precondition_uid: None,
            precondition_resource_version: None,
            dry_run: self.dry_run()?,
        })
    }
}

/// Reads a body up to [`MAX_BODY_BYTES`]; larger ones are 413.
pub async fn read_body(body: Body) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let text = e.to_string();
            if text.contains("length limit") {
                ApiError::too_large()
            } else {
                ApiError::bad_request(format!("reading body: {text}"))
            }
        })
}

/// The media type of the request body, lower-cased, without parameters.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Media types accepted for object bodies.
pub const OBJECT_MEDIA_TYPES: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
];

/// A decoded object body and the unknown or duplicate fields it had.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The object, unknown fields dropped.
    pub object: Value,
    /// Upstream's texts (`unknown field "spec.foo"`), for `fieldValidation`.
    pub field_errors: Vec<String>,
}

/// The prefix upstream puts on decode errors of a body for `resource`.
pub fn cannot_handle(resource: &bosun_types::resources::ResourceInfo, detail: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{kind} in version \"{version}\" cannot be handled as a {kind}: {detail}",
        kind = resource.kind,
        version = resource.version
    ))
}

/// Decodes an object body (JSON, YAML that is JSON, or protobuf) into a
/// value, finding unknown and duplicate fields as upstream's strict decoder.
pub fn decode_object(
    headers: &HeaderMap,
    body: &[u8],
    resource: &bosun_types::resources::ResourceInfo,
) -> Result<Decoded, ApiError> {
    decode_as(
        headers,
        body,
        resource,
        resource.group,
        resource.version,
        resource.kind,
    )
}

/// Decodes the body of a subresource write (Scale, Binding, Eviction) as its
/// own kind; field problems are dropped (upstream decodes these leniently).
pub fn decode_subresource(
    headers: &HeaderMap,
    body: &[u8],
    resource: &bosun_types::resources::ResourceInfo,
    subresource: &str,
) -> Result<Value, ApiError> {
    let sub = resource
        .subresource(subresource)
        .ok_or_else(ApiError::method_not_allowed)?;
    Ok(decode_as(headers, body, resource, sub.group, sub.version, sub.kind)?.object)
}

fn decode_as(
    headers: &HeaderMap,
    body: &[u8],
    resource: &bosun_types::resources::ResourceInfo,
    group: &str,
    version: &str,
    kind: &str,
) -> Result<Decoded, ApiError> {
    let media = content_type(headers);
    match media.as_str() {
        "" | "application/json" | "*/*" | "application/yaml" | "application/apply-patch+yaml" => {
            use crate::fieldcheck::{DecodeError, strict_decode};
            match strict_decode(group, version, kind, body) {
                Ok(decoded) if decoded.object.is_object() => Ok(Decoded {
                    object: decoded.object,
                    field_errors: decoded.errors,
                }),
                Ok(_) => Err(ApiError::bad_request(
                    "couldn't get version/kind; json parse error: the body must be a JSON object",
                )),
                Err(DecodeError::Invalid(message)) => Err(cannot_handle(resource, &message)),
                Err(DecodeError::InvalidJson) => {
                    let detail = serde_json::from_slice::<Value>(body)
                        .err()
                        .map_or_else(|| "invalid JSON".to_owned(), |e| e.to_string());
                    Err(ApiError::bad_request(format!(
                        "couldn't get version/kind; json parse error: {detail}"
                    )))
                }
            }
        }
        crate::protobuf::MEDIA_TYPE => {
            use crate::protobuf::DecodeError;
            let api_version = if group.is_empty() {
                version.to_owned()
            } else {
                format!("{group}/{version}")
            };
            let object = crate::protobuf::decode_with_defaults(body, &api_version, kind).map_err(
                |e| match e {
                    DecodeError::UnsupportedKind { .. } | DecodeError::UnsupportedEncoding(_) => {
                        ApiError::unsupported_media_type(
                            crate::protobuf::MEDIA_TYPE,
                            OBJECT_MEDIA_TYPES,
                        )
                    }
                    other => {
                        ApiError::bad_request(format!("error decoding protobuf body: {other}"))
                    }
                },
            )?;
            Ok(Decoded {
                object,
                field_errors: Vec::new(),
            })
        }
        other => Err(ApiError::unsupported_media_type(other, OBJECT_MEDIA_TYPES)),
    }
}

/// Applies `fieldValidation` to the field problems of a body: `Strict` fails
/// with upstream's 400, `Warn` returns them as warnings, `Ignore` drops them.
pub fn field_validation(
    resource: &bosun_types::resources::ResourceInfo,
    mode: crate::registry::options::FieldValidation,
    errors: Vec<String>,
) -> Result<Vec<String>, ApiError> {
    use crate::registry::options::FieldValidation;
    match mode {
        _ if errors.is_empty() => Ok(Vec::new()),
        FieldValidation::Strict => Err(cannot_handle(
            resource,
            &crate::fieldcheck::strict_decoding_message(&errors),
        )),
        FieldValidation::Warn => Ok(errors),
        FieldValidation::Ignore => Ok(Vec::new()),
    }
}

/// Decodes an optional `DeleteOptions` body.
pub fn decode_optional(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding body: {e}")))
}
