//! `GET pods/NAME/log` (`kubectl logs`). Pods run on simulated nodes
//! without containers, so a running container has written nothing: its log
//! is empty, and with `follow=true` the stream stays open (as a quiet
//! container's would) until the client goes. What upstream checks before
//! reaching a kubelet is checked the same way: the pod must exist, the
//! container must be named when the pod has several and must be one of
//! them, and a container still waiting to start has no log yet.

use crate::registry::meta;
use crate::status::ApiError;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Names of the containers in `list` (`spec.containers` and the like).
fn names<'a>(pod: &'a Value, list: &str) -> Vec<&'a str> {
    pod.pointer(&format!("/spec/{list}"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect()
}

/// The container a log request is for, as upstream picks it: the one
/// named, or the only one.
pub fn container<'a>(pod: &'a Value, asked: Option<&'a str>) -> Result<&'a str, ApiError> {
    let name = meta::name(pod);
    let containers = names(pod, "containers");
    let init = names(pod, "initContainers");
    let ephemeral = names(pod, "ephemeralContainers");
    let Some(asked) = asked.filter(|a| !a.is_empty()) else {
        // As upstream: the only container, whatever init or ephemeral
        // containers the pod has.
        match containers.as_slice() {
            [only] => return Ok(only),
            [] => {
                return Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {name}"
                )));
            }
            _ => {}
        }
        let mut message = format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            containers.join(" ")
        );
        if !init.is_empty() {
            message.push_str(&format!(
                " or one of the init containers: [{}]",
                init.join(" ")
            ));
        }
        if !ephemeral.is_empty() {
            message.push_str(&format!(
                " or one of the ephemeral containers: [{}]",
                ephemeral.join(" ")
            ));
        }
        return Err(ApiError::bad_request(message));
    };
    if containers.contains(&asked) || init.contains(&asked) || ephemeral.contains(&asked) {
        Ok(asked)
    } else {
        Err(ApiError::bad_request(format!(
            "container {asked} is not valid for pod {name}"
        )))
    }
}

/// Why a bound pod's container has no log yet, if it is waiting to start.
fn waiting(pod: &Value, container: &str) -> Option<String> {
    let statuses = [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ];
    let status = statuses
        .iter()
        .filter_map(|list| {
            pod.pointer(&format!("/status/{list}"))
                .and_then(Value::as_array)
        })
        .flatten()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(container));
    let reason = match status {
        // No status yet: the kubelet has not started it.
        None => "ContainerCreating".to_owned(),
        Some(s) => s.pointer("/state/waiting").map(|w| {
            w.get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        })?,
    };
    Some(format!(
        "container \"{container}\" in pod \"{}\" is waiting to start: {reason}",
        meta::name(pod)
    ))
}

/// The response to a log request for `pod`.
pub fn respond(pod: &Value, asked: Option<&str>, follow: bool) -> Result<Response, ApiError> {
    let container = container(pod, asked)?;
    let bound = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if bound && let Some(why) = waiting(pod, container) {
        return Err(ApiError::bad_request(why));
    }
    let body = match follow && bound {
        // A quiet container: nothing comes, until the client hangs up.
        true => Body::from_stream(futures::stream::pending::<
            Result<bytes::Bytes, std::io::Error>,
        >()),
        false => Body::empty(),
    };
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(containers: &[&str], init: &[&str]) -> Value {
        let list = |names: &[&str]| names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>();
        json!({"metadata": {"name": "web"}, "spec": {"nodeName": "n1",
            "containers": list(containers), "initContainers": list(init)}})
    }

    #[test]
    fn the_container_is_the_only_one_or_must_be_named_validly() {
        assert_eq!(container(&pod(&["a"], &[]), None).ok(), Some("a"));
        let e = container(&pod(&["a", "b"], &["i"]), None).expect_err("ambiguous");
        assert_eq!(
            e.message,
            "a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [i]"
        );
        assert_eq!(container(&pod(&["a"], &["i"]), None).ok(), Some("a"));
        let e = container(&pod(&[], &["i"]), None).expect_err("no containers");
        assert_eq!(e.message, "a container name must be specified for pod web");
        let e = container(&pod(&["a"], &[]), Some("z")).expect_err("unknown");
        assert_eq!(e.message, "container z is not valid for pod web");
        assert_eq!(
            container(&pod(&["a", "b"], &["i"]), Some("i")).ok(),
            Some("i")
        );
    }

    #[test]
    fn waiting_containers_have_no_log_yet_and_running_ones_an_empty_one() {
        let mut p = pod(&["a"], &[]);
        let e = respond(&p, None, false).expect_err("waiting");
        assert_eq!(
            e.message,
            "container \"a\" in pod \"web\" is waiting to start: ContainerCreating"
        );
        p["status"] = json!({"containerStatuses": [{"name": "a", "state": {"running": {}}}]});
        assert_eq!(
            respond(&p, None, false).map(|r| r.status()).ok(),
            Some(StatusCode::OK)
        );
    }
}
