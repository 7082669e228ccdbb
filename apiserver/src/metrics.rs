//! Prometheus metrics with upstream's names, and the request classification
//! they (and the in-flight limits) use.

use axum::http::Method;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The API request an HTTP request is, as upstream's metrics label it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// GET, LIST, WATCH, POST, PUT, PATCH, DELETE, DELETECOLLECTION, or the
    /// HTTP method for non-resource paths.
    pub verb: &'static str,
    /// The API group (`""` for core or non-resource paths).
    pub group: String,
    /// The version.
    pub version: String,
    /// The resource plural (`""` for non-resource paths).
    pub resource: String,
    /// The subresource.
    pub subresource: String,
    /// `namespace`, `cluster`, `resource` (a named object), or `""`.
    pub scope: &'static str,
}

impl RequestInfo {
    /// Classifies a request by method, path and query.
    pub fn classify(method: &Method, path: &str, query: &str) -> Self {
        let watch = query
            .split('&')
            .any(|p| p == "watch=true" || p == "watch=1");
        match crate::routes::resources::parse_path(path) {
            Some(target) => {
                let named = target.name.is_some();
                let verb = match (method.as_str(), named, watch) {
                    ("GET", _, true) => "WATCH",
                    ("GET", true, _) => "GET",
                    ("GET", false, _) => "LIST",
                    ("POST", ..) => "POST",
                    ("PUT", ..) => "PUT",
                    ("PATCH", ..) => "PATCH",
                    ("DELETE", true, _) => "DELETE",
                    ("DELETE", false, _) => "DELETECOLLECTION",
                    _ => "UNKNOWN",
                };
                let scope = if named {
                    "resource"
                } else if target.namespace.is_some() {
                    "namespace"
                } else {
                    "cluster"
                };
                Self {
                    verb,
                    group: target.resource.group.to_owned(),
                    version: target.resource.version.to_owned(),
                    resource: target.resource.plural.to_owned(),
                    subresource: target.subresource.unwrap_or_default(),
                    scope,
                }
            }
            None => Self {
                verb: match method.as_str() {
                    "GET" => "GET",
                    "POST" => "POST",
                    "PUT" => "PUT",
                    "PATCH" => "PATCH",
                    "DELETE" => "DELETE",
                    _ => "UNKNOWN",
                },
                group: String::new(),
                version: String::new(),
                resource: String::new(),
                subresource: String::new(),
                scope: "",
            },
        }
    }

    /// Long-running requests (watches) are exempt from in-flight limits and
    /// latency histograms, as upstream.
    pub fn is_long_running(&self) -> bool {
        // As upstream's long-running check: watches, and the streaming
        // subresources (`kubectl logs -f` holds its request open).
        self.verb == "WATCH"
            || matches!(
                self.subresource.as_str(),
                "log" | "exec" | "attach" | "portforward" | "proxy"
            )
    }

    /// Whether the request writes.
    pub fn is_mutating(&self) -> bool {
        matches!(
            self.verb,
            "POST" | "PUT" | "PATCH" | "DELETE" | "DELETECOLLECTION"
        )
    }
}

/// The server's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    long_running: IntGaugeVec,
    inflight: IntGaugeVec,
    storage_objects: IntGaugeVec,
}

const REQUEST_LABELS: &[&str] = &[
    "verb",
    "group",
    "version",
    "resource",
    "subresource",
    "scope",
    "component",
];

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let mut labels = REQUEST_LABELS.to_vec();
        labels.push("code");
        let requests = IntCounterVec::new(
            Opts::new(
                "apiserver_request_total",
                "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
            ),
            &labels,
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new("apiserver_request_duration_seconds", "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.")
                .buckets(vec![0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0]),
            REQUEST_LABELS,
        )?;
        let long_running = IntGaugeVec::new(
            Opts::new(
                "apiserver_longrunning_requests",
                "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.",
            ),
            REQUEST_LABELS,
        )?;
        let inflight = IntGaugeVec::new(
            Opts::new(
                "apiserver_current_inflight_requests",
                "Maximal number of currently used inflight request limit of this apiserver per request kind in last second.",
            ),
            &["request_kind"],
        )?;
        let storage_objects = IntGaugeVec::new(
            Opts::new(
                "apiserver_storage_objects",
                "Number of stored objects at the time of last check split by kind.",
            ),
            &["resource"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        registry.register(Box::new(long_running.clone()))?;
        registry.register(Box::new(inflight.clone()))?;
        registry.register(Box::new(storage_objects.clone()))?;
        Ok(Self {
            registry,
            requests,
            durations,
            long_running,
            inflight,
            storage_objects,
        })
    }

    fn values(info: &RequestInfo) -> [&str; 7] {
        [
            info.verb,
            &info.group,
            &info.version,
            &info.resource,
            &info.subresource,
            info.scope,
            "apiserver",
        ]
    }

    /// Records a finished request.
    pub fn observe(&self, info: &RequestInfo, code: u16, seconds: f64) {
        let base = Self::values(info);
        let code = code.to_string();
        let mut with_code: Vec<&str> = base.to_vec();
        with_code.push(&code);
        self.requests.with_label_values(&with_code).inc();
        if !info.is_long_running() {
            self.durations.with_label_values(&base).observe(seconds);
        }
    }

    /// Counts a long-running request for as long as the guard lives.
    pub fn long_running(&self, info: &RequestInfo) -> GaugeGuard {
        let gauge = self.long_running.with_label_values(&Self::values(info));
        gauge.inc();
        GaugeGuard(gauge)
    }

    /// Counts an in-flight request of `kind` (readOnly / mutating).
    pub fn inflight(&self, kind: &str) -> GaugeGuard {
        let gauge = self.inflight.with_label_values(&[kind]);
        gauge.inc();
        GaugeGuard(gauge)
    }

    /// Sets the stored-object count of a resource (`pods`, `deployments.apps`).
    pub fn set_storage_objects(&self, resource: &str, count: usize) {
        self.storage_objects
            .with_label_values(&[resource])
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// The text exposition format.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

/// Decrements a gauge when dropped.
#[derive(Debug)]
pub struct GaugeGuard(prometheus::IntGauge);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classified_like_upstream() {
        let list =
            RequestInfo::classify(&Method::GET, "/api/v1/namespaces/default/pods", "limit=500");
        assert_eq!(
            (list.verb, list.resource.as_str(), list.scope),
            ("LIST", "pods", "namespace")
        );
        let watch = RequestInfo::classify(&Method::GET, "/apis/apps/v1/deployments", "watch=true");
        assert_eq!(
            (watch.verb, watch.group.as_str(), watch.scope),
            ("WATCH", "apps", "cluster")
        );
        assert!(watch.is_long_running());
        let scale = RequestInfo::classify(
            &Method::PATCH,
            "/apis/apps/v1/namespaces/a/deployments/w/scale",
            "",
        );
        assert_eq!(
            (scale.verb, scale.subresource.as_str(), scale.scope),
            ("PATCH", "scale", "resource")
        );
        assert!(scale.is_mutating());
        let other = RequestInfo::classify(&Method::GET, "/healthz", "");
        assert_eq!((other.verb, other.resource.as_str()), ("GET", ""));
    }

    #[test]
    fn metrics_render_with_upstream_names() {
        let metrics = Metrics::new().expect("metrics");
        let info = RequestInfo::classify(&Method::GET, "/api/v1/pods", "");
        metrics.observe(&info, 200, 0.01);
        metrics.set_storage_objects("pods", 3);
        let text = String::from_utf8(metrics.render()).expect("utf8");
        assert!(
            text.contains("apiserver_request_total{code=\"200\""),
            "{text}"
        );
        assert!(
            text.contains("apiserver_request_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains("apiserver_storage_objects{resource=\"pods\"} 3"),
            "{text}"
        );
    }
}
