//! Decoding of `application/vnd.kubernetes.protobuf` request bodies.
//!
//! client-go's typed clients (and so kubectl's `create <generator>` commands)
//! send built-in objects as the 4 bytes `k8s\0` followed by a protobuf
//! `runtime.Unknown { typeMeta { apiVersion, kind }, raw, contentEncoding,
//! contentType }` whose `raw` is the protobuf-encoded object. [`decode`] turns
//! such a body into the JSON the same client would have sent as
//! `application/json`: camelCase fields, `kind` and `apiVersion` set, Go's
//! `omitempty` honoured, quantities as strings, timestamps as RFC 3339,
//! `IntOrString` as a number or a string, `[]byte` fields as base64.
//!
//! The decoder is driven by a table generated from the upstream `generated.proto`
//! files and Go structs (see `schema.rs`), so every type of the covered API
//! groups is decoded without per-type code. Unknown field numbers are skipped,
//! as Go's generated code does. Bodies are untrusted: every read is
//! bounds-checked, nesting depth and output size are capped, and nothing panics.

mod decode;
mod schema;

use std::fmt;

use serde_json::{Map, Value};

use decode::{Ctx, Decoded, Reader};

/// The media type.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The prefix of every Kubernetes protobuf body.
const MAGIC: &[u8] = b"k8s\0";

/// Why a body could not be decoded (`Display` gives a message suitable for a
/// 400 `BadRequest`, or 415 `UnsupportedMediaType` for [`DecodeError::UnsupportedKind`]
/// and [`DecodeError::UnsupportedEncoding`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The body does not start with `k8s\0`.
    BadMagic,
    /// The protobuf data is invalid: truncated, a bad length or wire type, an
    /// invalid `IntOrString`, a raw field that is not JSON, ...
    Malformed(String),
    /// The envelope names a kind this decoder has no schema for.
    UnsupportedKind {
        /// The `apiVersion` from the envelope.
        api_version: String,
        /// The `kind` from the envelope.
        kind: String,
    },
    /// The envelope's `contentEncoding` or `contentType` is not plain protobuf.
    UnsupportedEncoding(String),
    /// The body nests too deeply or expands into too large an object.
    LimitExceeded(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => write!(
                f,
                "protobuf body does not start with the expected \"k8s\\x00\" prefix"
            ),
            Self::Malformed(msg) => write!(f, "unable to decode protobuf body: {msg}"),
            Self::UnsupportedKind { api_version, kind } => write!(
                f,
                "no kind {kind:?} is registered for version {api_version:?} in the protobuf decoder"
            ),
            Self::UnsupportedEncoding(what) => {
                write!(f, "unsupported protobuf envelope: {what}")
            }
            Self::LimitExceeded(what) => write!(f, "unable to decode protobuf body: {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes a protobuf request body into the object's JSON (with apiVersion and kind).
///
/// # Errors
/// [`DecodeError::BadMagic`] without the `k8s\0` prefix, [`DecodeError::UnsupportedKind`]
/// for kinds outside the table, [`DecodeError::UnsupportedEncoding`] for a compressed or
/// non-protobuf payload, [`DecodeError::Malformed`] / [`DecodeError::LimitExceeded`] for
/// invalid or oversized data.
pub fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    decode_with_defaults(body, "", "")
}

/// Like [`decode`], but an envelope without `apiVersion` or `kind` takes the
/// given ones (kube-apiserver defaults them from the request URL the same way).
///
/// # Errors
/// As [`decode`].
pub fn decode_with_defaults(
    body: &[u8],
    default_api_version: &str,
    default_kind: &str,
) -> Result<Value, DecodeError> {
    let mut ctx = Ctx::for_body(body.len());
    decode_envelope(body, default_api_version, default_kind, 0, &mut ctx)
}

/// Go's zero value of a built-in kind as its JSON encoding shows it
/// (non-pointer structs as `{}`, nil slices and times as `null`, `omitempty`
/// fields absent): what upstream's field manager compares a created object
/// against. `None` for kinds outside the table.
#[must_use]
pub fn zero_value(api_version: &str, kind: &str) -> Option<Value> {
    fn put_bytes(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
        out.push((field << 3) | 2);
        let mut len = bytes.len();
        while len >= 0x80 {
            out.push((len as u8 & 0x7f) | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
        out.extend_from_slice(bytes);
    }
    find_kind(api_version, kind)?;
    let mut type_meta = Vec::new();
    put_bytes(&mut type_meta, 1, api_version.as_bytes());
    put_bytes(&mut type_meta, 2, kind.as_bytes());
    let mut body = MAGIC.to_vec();
    put_bytes(&mut body, 1, &type_meta);
    put_bytes(&mut body, 2, b"");
    decode(&body).ok()
}

/// Whether [`decode`] has a schema for `kind` in `api_version`.
#[must_use]
pub fn supports(api_version: &str, kind: &str) -> bool {
    find_kind(api_version, kind).is_some()
}

fn find_kind(api_version: &str, kind: &str) -> Option<&'static decode::Message> {
    // Every group version registers the meta/v1 option types, DeleteOptions included.
    if kind == "DeleteOptions" && schema::KINDS.iter().any(|(v, _, _)| *v == api_version) {
        return Some(schema::DELETE_OPTIONS);
    }
    schema::KINDS
        .iter()
        .find(|(v, k, _)| *v == api_version && *k == kind)
        .map(|(_, _, m)| *m)
}

/// The decoded `runtime.Unknown` envelope.
#[derive(Default)]
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
    content_type: String,
}

fn parse_envelope(data: &[u8]) -> Result<Envelope<'_>, DecodeError> {
    let mut env = Envelope::default();
    let mut r = Reader::new(data);
    while !r.is_empty() {
        let (number, wire_type) = r.key()?;
        if !(1..=4).contains(&number) {
            r.skip(wire_type)?;
            continue;
        }
        if wire_type != 2 {
            return Err(DecodeError::Malformed(format!(
                "wrong protobuf wire type {wire_type} for field {number} of runtime.Unknown"
            )));
        }
        let bytes = r.bytes()?;
        match number {
            1 => {
                let mut tm = Reader::new(bytes);
                while !tm.is_empty() {
                    let (n, wt) = tm.key()?;
                    match (n, wt) {
                        (1, 2) => {
                            env.api_version = String::from_utf8_lossy(tm.bytes()?).into_owned()
                        }
                        (2, 2) => env.kind = String::from_utf8_lossy(tm.bytes()?).into_owned(),
                        (1 | 2, _) => {
                            return Err(DecodeError::Malformed(format!(
                                "wrong protobuf wire type {wt} in runtime.TypeMeta"
                            )));
                        }
                        _ => tm.skip(wt)?,
                    }
                }
            }
            2 => env.raw = bytes,
            3 => env.content_encoding = String::from_utf8_lossy(bytes).into_owned(),
            _ => env.content_type = String::from_utf8_lossy(bytes).into_owned(),
        }
    }
    Ok(env)
}

fn decode_envelope(
    body: &[u8],
    default_api_version: &str,
    default_kind: &str,
    depth: usize,
    ctx: &mut Ctx,
) -> Result<Value, DecodeError> {
    let data = body.strip_prefix(MAGIC).ok_or(DecodeError::BadMagic)?;
    let mut env = parse_envelope(data)?;
    if !env.content_encoding.is_empty() {
        return Err(DecodeError::UnsupportedEncoding(format!(
            "contentEncoding {:?}",
            env.content_encoding
        )));
    }
    if !env.content_type.is_empty() && env.content_type != MEDIA_TYPE {
        return Err(DecodeError::UnsupportedEncoding(format!(
            "contentType {:?}",
            env.content_type
        )));
    }
    if env.api_version.is_empty() {
        default_api_version.clone_into(&mut env.api_version);
    }
    if env.kind.is_empty() {
        default_kind.clone_into(&mut env.kind);
    }
    let Some(msg) = find_kind(&env.api_version, &env.kind) else {
        return Err(DecodeError::UnsupportedKind {
            api_version: env.api_version,
            kind: env.kind,
        });
    };
    let mut decoded = Decoded::default();
    decode::decode_message(msg, env.raw, &mut decoded, depth)?;
    let rendered = decode::render_message(msg, Some(&decoded), ctx, nested, depth)?;
    // Go writes TypeMeta (kind, then apiVersion) first.
    let mut out = Map::new();
    out.insert("kind".to_owned(), Value::String(env.kind));
    out.insert("apiVersion".to_owned(), Value::String(env.api_version));
    if let Value::Object(fields) = rendered {
        out.extend(fields);
    }
    Ok(Value::Object(out))
}

/// Decodes an object embedded (with its own `k8s\0` envelope) in a raw field.
fn nested(body: &[u8], depth: usize, ctx: &mut Ctx) -> Result<Value, DecodeError> {
    decode_envelope(body, "", "", depth, ctx)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;
    use serde_json::json;

    // --- a tiny protobuf encoder for hand-built bodies ---

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn key(number: u64, wire_type: u64) -> Vec<u8> {
        let mut out = Vec::new();
        varint((number << 3) | wire_type, &mut out);
        out
    }

    fn int(number: u64, v: u64) -> Vec<u8> {
        let mut out = key(number, 0);
        varint(v, &mut out);
        out
    }

    fn bytes(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = key(number, 2);
        varint(payload.len() as u64, &mut out);
        out.extend_from_slice(payload);
        out
    }

    fn msg(number: u64, parts: &[Vec<u8>]) -> Vec<u8> {
        bytes(number, &parts.concat())
    }

    fn entry(number: u64, k: &str, v: Vec<u8>) -> Vec<u8> {
        msg(number, &[bytes(1, k.as_bytes()), v])
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = msg(
            1,
            &[bytes(1, api_version.as_bytes()), bytes(2, kind.as_bytes())],
        );
        [
            MAGIC.to_vec(),
            type_meta,
            bytes(2, raw),
            bytes(3, b""),
            bytes(4, b""),
        ]
        .concat()
    }

    fn name_meta(name: &str) -> Vec<u8> {
        msg(1, &[bytes(1, name.as_bytes())])
    }

    // --- bodies captured from real kubectl 1.32 (1.33 sends identical bytes) ---

    macro_rules! fixtures {
        ($($name:literal),* $(,)?) => {
            &[$((
                $name,
                include_bytes!(concat!("../../tests/fixtures/protobuf/", $name, ".pb")).as_slice(),
                include_str!(concat!("../../tests/fixtures/protobuf/", $name, ".json")),
            )),*]
        };
    }

    /// `(name, body kubectl POSTed, what kubectl --dry-run=client -o json printed)`.
    const FIXTURES: &[(&str, &[u8], &str)] = fixtures![
        "namespace",
        "deployment",
        "deployment-zero-replicas",
        "configmap",
        "configmap-binary",
        "secret",
        "secret-docker-registry",
        "job",
        "cronjob",
        "job-from-cronjob",
        "service-clusterip",
        "service-nodeport",
        "service-externalname",
        "quota",
        "role",
        "rolebinding",
        "clusterrole",
        "clusterrole-aggregated",
        "clusterrolebinding",
        "serviceaccount",
        "pdb",
        "pdb-percent",
        "priorityclass",
        "priorityclass-zero",
        "ingress",
    ];

    #[test]
    fn kubectl_create_bodies_decode_to_the_json_kubectl_prints_for_dry_run() {
        for (name, body, expected) in FIXTURES {
            let expected: Value = serde_json::from_str(expected).unwrap();
            let decoded = decode(body).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(decoded, expected, "{name}");
        }
    }

    #[test]
    fn kubectl_token_and_can_i_bodies_decode_with_go_null_and_zero_fields() {
        // `kubectl create token sa --duration=1h --audience=api`
        let body = include_bytes!("../../tests/fixtures/protobuf/token-request.pb");
        assert_eq!(
            decode(body).unwrap(),
            json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                   "metadata": {"creationTimestamp": null},
                   "spec": {"audiences": ["api"], "expirationSeconds": 3600, "boundObjectRef": null},
                   "status": {"token": "", "expirationTimestamp": null}})
        );
        // `kubectl auth can-i list pods --subresource=log`
        let body = include_bytes!("../../tests/fixtures/protobuf/self-subject-access-review.pb");
        assert_eq!(
            decode(body).unwrap(),
            json!({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                   "metadata": {"creationTimestamp": null},
                   "spec": {"resourceAttributes": {"namespace": "default", "verb": "list",
                                                   "resource": "pods", "subresource": "log"}},
                   "status": {"allowed": false}})
        );
    }

    #[test]
    fn decoded_fixture_bodies_stay_far_below_the_output_budget() {
        for (name, body, _) in FIXTURES {
            let nodes = count(&decode(body).unwrap());
            assert!(
                nodes <= body.len() / 2,
                "{name}: {nodes} nodes for {} bytes",
                body.len()
            );
        }
    }

    fn count(v: &Value) -> usize {
        match v {
            Value::Array(a) => 1 + a.iter().map(count).sum::<usize>(),
            Value::Object(o) => 1 + o.values().map(count).sum::<usize>(),
            _ => 1,
        }
    }

    #[test]
    fn every_kind_bosun_serves_has_a_schema() {
        let kinds = [
            ("v1", "Namespace"),
            ("v1", "ConfigMap"),
            ("v1", "Secret"),
            ("v1", "Service"),
            ("v1", "ServiceAccount"),
            ("v1", "ResourceQuota"),
            ("v1", "Pod"),
            ("v1", "Node"),
            ("v1", "Endpoints"),
            ("v1", "Event"),
            ("v1", "LimitRange"),
            ("v1", "PersistentVolume"),
            ("v1", "PersistentVolumeClaim"),
            ("v1", "ReplicationController"),
            ("v1", "PodTemplate"),
            ("v1", "Binding"),
            ("v1", "ComponentStatus"),
            ("apps/v1", "Deployment"),
            ("apps/v1", "ReplicaSet"),
            ("apps/v1", "DaemonSet"),
            ("apps/v1", "StatefulSet"),
            ("apps/v1", "ControllerRevision"),
            ("batch/v1", "Job"),
            ("batch/v1", "CronJob"),
            ("policy/v1", "PodDisruptionBudget"),
            ("policy/v1", "Eviction"),
            ("scheduling.k8s.io/v1", "PriorityClass"),
            ("rbac.authorization.k8s.io/v1", "Role"),
            ("rbac.authorization.k8s.io/v1", "RoleBinding"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole"),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
            ("coordination.k8s.io/v1", "Lease"),
            ("autoscaling/v1", "HorizontalPodAutoscaler"),
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ("autoscaling/v1", "Scale"),
            ("discovery.k8s.io/v1", "EndpointSlice"),
            ("events.k8s.io/v1", "Event"),
            ("storage.k8s.io/v1", "StorageClass"),
            ("networking.k8s.io/v1", "Ingress"),
            ("authentication.k8s.io/v1", "TokenRequest"),
            ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
            ("meta.k8s.io/v1", "DeleteOptions"),
            ("v1", "DeleteOptions"),
            ("apps/v1", "DeleteOptions"),
        ];
        for (api_version, kind) in kinds {
            assert!(supports(api_version, kind), "{api_version} {kind}");
        }
        assert!(!supports("v1", "PodSpec"));
        assert!(!supports("v1", "PodList"));
        assert!(!supports("apps/v1", "Pod"));
        assert!(!supports("example.com/v1", "DeleteOptions"));
    }

    // --- the envelope ---

    #[test]
    fn body_without_the_k8s_prefix_is_bad_magic() {
        assert_eq!(decode(b""), Err(DecodeError::BadMagic));
        assert_eq!(decode(b"k8s"), Err(DecodeError::BadMagic));
        assert_eq!(
            decode(b"{\"kind\":\"Namespace\"}"),
            Err(DecodeError::BadMagic)
        );
        assert_eq!(decode(&FIXTURES[0].1[1..]), Err(DecodeError::BadMagic));
    }

    #[test]
    fn unknown_kind_is_reported_with_its_api_version_and_kind() {
        let err = decode(&envelope("example.com/v1", "Widget", b"")).unwrap_err();
        assert_eq!(
            err,
            DecodeError::UnsupportedKind {
                api_version: "example.com/v1".into(),
                kind: "Widget".into()
            }
        );
        assert!(err.to_string().contains("Widget"));
        let err = decode(MAGIC).unwrap_err();
        assert_eq!(
            err,
            DecodeError::UnsupportedKind {
                api_version: String::new(),
                kind: String::new()
            }
        );
    }

    #[test]
    fn missing_type_meta_takes_the_defaults() {
        let body = [MAGIC.to_vec(), msg(2, &[name_meta("dev")])].concat();
        let decoded = decode_with_defaults(&body, "v1", "Namespace").unwrap();
        assert_eq!(
            decoded,
            json!({"kind": "Namespace", "apiVersion": "v1",
                   "metadata": {"name": "dev", "creationTimestamp": null},
                   "spec": {}, "status": {}})
        );
    }

    #[test]
    fn compressed_or_foreign_content_is_an_unsupported_encoding() {
        let mut body = envelope("v1", "Namespace", b"");
        body.extend(bytes(3, b"gzip"));
        assert!(matches!(
            decode(&body),
            Err(DecodeError::UnsupportedEncoding(_))
        ));
        let mut body = envelope("v1", "Namespace", b"");
        body.extend(bytes(4, b"application/json"));
        assert!(matches!(
            decode(&body),
            Err(DecodeError::UnsupportedEncoding(_))
        ));
        let mut body = envelope("v1", "Namespace", b"");
        body.extend(bytes(4, MEDIA_TYPE.as_bytes()));
        assert!(decode(&body).is_ok());
    }

    #[test]
    fn delete_options_decode_under_any_api_version() {
        let raw = [
            int(1, 30),
            msg(2, &[bytes(1, b"uid-1")]),
            int(3, 0),
            bytes(4, b"Foreground"),
            bytes(5, b"All"),
        ]
        .concat();
        for api_version in ["v1", "meta.k8s.io/v1", "apps/v1"] {
            let decoded = decode(&envelope(api_version, "DeleteOptions", &raw)).unwrap();
            assert_eq!(
                decoded,
                json!({"kind": "DeleteOptions", "apiVersion": api_version,
                       "gracePeriodSeconds": 30, "preconditions": {"uid": "uid-1"},
                       "orphanDependents": false, "propagationPolicy": "Foreground",
                       "dryRun": ["All"]})
            );
        }
    }

    // --- Go JSON semantics ---

    #[test]
    fn absent_fields_render_as_go_zero_values() {
        // An empty Deployment: non-pointer structs are emitted, nil slices
        // without omitempty are null, omitempty scalars are dropped.
        let decoded = decode(&envelope("apps/v1", "Deployment", b"")).unwrap();
        assert_eq!(
            decoded,
            json!({"kind": "Deployment", "apiVersion": "apps/v1",
                   "metadata": {"creationTimestamp": null},
                   "spec": {"selector": null,
                            "template": {"metadata": {"creationTimestamp": null},
                                         "spec": {"containers": null}},
                            "strategy": {}},
                   "status": {}})
        );
    }

    #[test]
    fn zero_values_of_kinds() {
        let zero = zero_value("apps/v1", "Deployment").expect("deployment");
        assert_eq!(zero["spec"]["strategy"], json!({}));
        assert_eq!(zero["spec"]["template"]["spec"]["containers"], Value::Null);
        assert_eq!(
            zero_value("v1", "ConfigMap").expect("cm")["metadata"],
            json!({"creationTimestamp": null})
        );
        assert_eq!(zero_value("example.com/v1", "Widget"), None);
    }

    #[test]
    fn pointer_and_non_omitempty_scalars_keep_their_zero_values() {
        let spec = msg(2, &[int(1, 0), bytes(4, b""), int(7, 0)]);
        let decoded = decode(&envelope("apps/v1", "Deployment", &spec)).unwrap();
        let spec = &decoded["spec"];
        assert_eq!(spec["replicas"], json!(0));
        assert_eq!(spec["paused"], Value::Null);
        assert!(spec.get("paused").is_none());
        assert!(spec.get("minReadySeconds").is_none());
        let pc = decode(&envelope(
            "scheduling.k8s.io/v1",
            "PriorityClass",
            &int(2, 0),
        ))
        .unwrap();
        assert_eq!(pc["value"], json!(0));
    }

    #[test]
    fn embedded_structs_are_flattened_into_their_parent() {
        let volume = msg(
            1,
            &[
                bytes(1, b"cfg"),
                msg(2, &[msg(19, &[msg(1, &[bytes(1, b"settings")])])]),
            ],
        );
        let pod = [name_meta("p"), msg(2, &[volume])].concat();
        let decoded = decode(&envelope("v1", "Pod", &pod)).unwrap();
        assert_eq!(
            decoded["spec"]["volumes"],
            json!([{"name": "cfg", "configMap": {"name": "settings"}}])
        );
    }

    #[test]
    fn timestamps_render_as_rfc3339_in_utc() {
        let meta = msg(
            1,
            &[bytes(1, b"p"), msg(8, &[int(1, 1_700_000_000), int(2, 5)])],
        );
        let decoded = decode(&envelope("v1", "Namespace", &meta)).unwrap();
        assert_eq!(
            decoded["metadata"]["creationTimestamp"],
            json!("2023-11-14T22:13:20Z")
        );
        assert!(decoded["metadata"].get("deletionTimestamp").is_none());
    }

    #[test]
    fn micro_timestamps_keep_microseconds() {
        let spec = msg(2, &[msg(4, &[int(1, 1_700_000_000), int(2, 123_456_789)])]);
        let decoded = decode(&envelope("coordination.k8s.io/v1", "Lease", &spec)).unwrap();
        assert_eq!(
            decoded["spec"]["renewTime"],
            json!("2023-11-14T22:13:20.123456Z")
        );
    }

    #[test]
    fn zero_and_out_of_range_timestamps() {
        // Go's zero time (year 1) is null.
        let zero = msg(1, &[msg(8, &[int(1, (-62_135_596_800_i64) as u64)])]);
        let decoded = decode(&envelope("v1", "Namespace", &zero)).unwrap();
        assert_eq!(decoded["metadata"]["creationTimestamp"], Value::Null);
        let epoch = msg(1, &[msg(8, &[int(1, 0), int(2, 0)])]);
        let decoded = decode(&envelope("v1", "Namespace", &epoch)).unwrap();
        assert_eq!(
            decoded["metadata"]["creationTimestamp"],
            json!("1970-01-01T00:00:00Z")
        );
        let far = msg(1, &[msg(8, &[int(1, u64::MAX >> 1)])]);
        assert!(matches!(
            decode(&envelope("v1", "Namespace", &far)),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn int_or_string_renders_as_number_or_string() {
        let port = |target: Vec<Vec<u8>>| {
            let svc = msg(2, &[msg(1, &[int(3, 80), msg(4, &target)])]);
            decode(&envelope("v1", "Service", &svc))
                .map(|v| v["spec"]["ports"][0]["targetPort"].clone())
        };
        assert_eq!(port(vec![int(1, 0), int(2, 8080)]), Ok(json!(8080)));
        assert_eq!(port(vec![int(1, 1), bytes(3, b"http")]), Ok(json!("http")));
        assert_eq!(port(vec![]), Ok(json!(0)));
        assert!(matches!(
            port(vec![int(1, 7)]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn quantities_are_strings_and_bytes_are_base64() {
        let quota = msg(
            2,
            &[
                entry(1, "cpu", msg(2, &[bytes(1, b"500m")])),
                entry(1, "pods", vec![]),
            ],
        );
        let decoded = decode(&envelope("v1", "ResourceQuota", &quota)).unwrap();
        assert_eq!(decoded["spec"]["hard"], json!({"cpu": "500m", "pods": "0"}));
        let secret = [
            entry(2, "k", bytes(2, &[0xff, 0x00, b'v'])),
            entry(2, "empty", vec![]),
        ]
        .concat();
        let decoded = decode(&envelope("v1", "Secret", &secret)).unwrap();
        assert_eq!(decoded["data"], json!({"k": "/wB2", "empty": ""}));
    }

    #[test]
    fn raw_extensions_hold_json_or_a_nested_protobuf_object() {
        let rev = [
            name_meta("r"),
            msg(2, &[bytes(1, br#"{"spec":{"x":[1,2]}}"#)]),
            int(3, 4),
        ]
        .concat();
        let decoded = decode(&envelope("apps/v1", "ControllerRevision", &rev)).unwrap();
        assert_eq!(decoded["data"], json!({"spec": {"x": [1, 2]}}));
        assert_eq!(decoded["revision"], json!(4));
        let inner = envelope(
            "v1",
            "ConfigMap",
            &[name_meta("c"), entry(2, "a", bytes(2, b"b"))].concat(),
        );
        let rev = [name_meta("r"), msg(2, &[bytes(1, &inner)])].concat();
        let decoded = decode(&envelope("apps/v1", "ControllerRevision", &rev)).unwrap();
        assert_eq!(
            decoded["data"],
            json!({"kind": "ConfigMap", "apiVersion": "v1",
                   "metadata": {"name": "c", "creationTimestamp": null}, "data": {"a": "b"}})
        );
        let rev = msg(2, &[bytes(1, b"not json")]);
        assert!(matches!(
            decode(&envelope("apps/v1", "ControllerRevision", &rev)),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn repeated_numbers_decode_packed_and_unpacked() {
        let ctx = |sc: Vec<u8>| {
            let pod = msg(2, &[bytes(14, &sc)]);
            decode(&envelope("v1", "Pod", &pod)).unwrap()["spec"]["securityContext"]["supplementalGroups"].clone()
        };
        assert_eq!(ctx([int(4, 1), int(4, 2)].concat()), json!([1, 2]));
        assert_eq!(ctx(bytes(4, &[1, 2, 0x80, 0x01])), json!([1, 2, 128]));
    }

    #[test]
    fn repeated_singular_messages_merge_and_scalars_take_the_last_value() {
        let raw = [
            msg(1, &[bytes(1, b"first"), entry(11, "a", bytes(2, b"1"))]),
            msg(1, &[bytes(1, b"second"), entry(11, "b", bytes(2, b"2"))]),
        ]
        .concat();
        let decoded = decode(&envelope("v1", "Namespace", &raw)).unwrap();
        assert_eq!(decoded["metadata"]["name"], json!("second"));
        assert_eq!(decoded["metadata"]["labels"], json!({"a": "1", "b": "2"}));
    }

    #[test]
    fn unknown_fields_are_skipped_like_go_does() {
        let raw = [
            name_meta("dev"),
            int(99, 7),
            bytes(100, b"junk"),
            key(101, 5),
            vec![1, 2, 3, 4],
            key(102, 1),
            vec![0; 8],
            key(103, 3),
            int(1, 1),
            key(103, 4),
        ]
        .concat();
        let decoded = decode(&envelope("v1", "Namespace", &raw)).unwrap();
        assert_eq!(decoded["metadata"]["name"], json!("dev"));
    }

    #[test]
    fn invalid_utf8_in_strings_becomes_replacement_characters() {
        let decoded = decode(&envelope(
            "v1",
            "Namespace",
            &msg(1, &[bytes(1, b"a\xffb")]),
        ))
        .unwrap();
        assert_eq!(decoded["metadata"]["name"], json!("a\u{fffd}b"));
    }

    // --- hostile input ---

    #[test]
    fn wrong_wire_types_and_bad_tags_are_malformed() {
        let bad = [
            int(1, 5),                        // metadata as a varint
            msg(1, &[int(1, 1)]),             // name as a varint
            key(0, 0),                        // field number 0
            key(5, 4),                        // stray end-group
            key(5, 6),                        // wire type 6
            msg(1, &[msg(11, &[int(1, 1)])]), // map key as a varint
        ];
        for raw in bad {
            let result = decode(&envelope("v1", "Namespace", &raw));
            assert!(
                matches!(result, Err(DecodeError::Malformed(_))),
                "{raw:?}: {result:?}"
            );
        }
    }

    #[test]
    fn huge_length_prefixes_are_rejected_without_allocating() {
        let mut body = MAGIC.to_vec();
        body.extend(key(2, 2));
        body.extend([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        body.extend(b"tiny");
        assert!(matches!(decode(&body), Err(DecodeError::Malformed(_))));
        let mut raw = key(1, 2);
        raw.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(matches!(
            decode(&envelope("v1", "Namespace", &raw)),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn every_truncation_of_a_real_body_is_handled_without_panicking() {
        for (name, body, _) in FIXTURES {
            for len in 0..body.len() {
                let _ = decode(&body[..len]);
            }
            // Cutting inside the object is always an error.
            assert!(decode(&body[..body.len() - 1]).is_err(), "{name}");
        }
    }

    #[test]
    fn random_corruption_of_real_bodies_never_panics() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let (_, body, _) = FIXTURES[(next() % FIXTURES.len() as u64) as usize];
            let mut body = body.to_vec();
            for _ in 0..=(next() % 4) {
                let at = (next() % body.len() as u64) as usize;
                match next() % 3 {
                    0 => body[at] = next() as u8,
                    1 => body.insert(at, next() as u8),
                    _ => {
                        body.remove(at);
                    }
                }
            }
            let _ = decode(&body);
        }
    }

    #[test]
    fn objects_nested_through_raw_extensions_hit_the_depth_limit() {
        let mut body = envelope("v1", "ConfigMap", b"");
        for _ in 0..200 {
            body = envelope("apps/v1", "ControllerRevision", &msg(2, &[bytes(1, &body)]));
        }
        assert!(matches!(decode(&body), Err(DecodeError::LimitExceeded(_))));
    }

    #[test]
    fn many_tiny_messages_cannot_expand_into_a_huge_object() {
        // 100k empty containers: 2 bytes each on the wire, 3 JSON values each.
        let containers = key(2, 2)
            .into_iter()
            .chain([0])
            .cycle()
            .take(200_000)
            .collect::<Vec<u8>>();
        let body = envelope("v1", "Pod", &bytes(2, &containers));
        assert!(matches!(decode(&body), Err(DecodeError::LimitExceeded(_))));
        // A modest number decodes fine.
        let few = key(2, 2)
            .into_iter()
            .chain([0])
            .cycle()
            .take(200)
            .collect::<Vec<u8>>();
        let decoded = decode(&envelope("v1", "Pod", &bytes(2, &few))).unwrap();
        assert_eq!(
            decoded["spec"]["containers"].as_array().map(Vec::len),
            Some(100)
        );
        assert_eq!(
            decoded["spec"]["containers"][0],
            json!({"name": "", "resources": {}})
        );
    }

    #[test]
    fn errors_display_as_api_friendly_messages() {
        assert!(DecodeError::BadMagic.to_string().contains("k8s"));
        assert!(
            DecodeError::Malformed("x".into())
                .to_string()
                .contains("unable to decode")
        );
        let e = DecodeError::UnsupportedKind {
            api_version: "v9".into(),
            kind: "Foo".into(),
        };
        assert_eq!(
            e.to_string(),
            "no kind \"Foo\" is registered for version \"v9\" in the protobuf decoder"
        );
    }
}
