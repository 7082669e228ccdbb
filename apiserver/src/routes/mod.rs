//! The HTTP surface: which paths exist and who may call them.

pub mod discovery;
pub mod flow_control;
pub mod openapi;
pub mod pod_log;
pub mod resources;
pub mod reviews;
pub mod system;

use crate::metrics::{Metrics, RequestInfo};
use crate::registry::Registry;
use crate::status::ApiError;
use crate::tls::Identity;
use axum::Router;
use axum::extract::Request;
use axum::extract::State;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// State shared by every handler.
#[derive(Debug)]
pub struct App {
    /// The registry.
    pub registry: Registry,
    /// Set once bootstrap finished; `/readyz` reports it.
    pub ready: AtomicBool,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Issues and verifies service account tokens.
    pub tokens: crate::tokens::Issuer,
    limits: flow_control::Limits,
}

impl App {
    /// The shared state of a server over `registry`.
    pub fn new(registry: Registry, metrics: Metrics, tokens: crate::tokens::Issuer) -> Self {
        Self {
            registry,
            ready: AtomicBool::new(false),
            metrics,
            tokens,
            limits: flow_control::Limits::default(),
        }
    }
}

/// Cheap handle to [`App`].
#[derive(Debug, Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// The caller's identity, attached to each request by the connection layer
/// (`None`: no valid client certificate).
#[derive(Debug, Clone, Default)]
pub struct Caller(pub Option<Identity>);

/// Paths anyone may read, as upstream's `system:public-info-viewer`.
fn is_public(path: &str) -> bool {
    ["/livez", "/readyz", "/healthz", "/version"]
        .iter()
        .any(|p| {
            path == *p
                || path
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
}

/// Health probes, which upstream's `probes` FlowSchema exempts from the
/// limits (`/version`, public too, is not among them).
fn is_probe(path: &str) -> bool {
    is_public(path) && path != "/version" && !path.starts_with("/version/")
}

async fn authenticate(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let mut caller = request
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.0.clone());
    if caller.is_none()
        && let Some(token) = bearer_token(request.headers())
    {
        match service_account(&app, &token).await {
            Some(identity) => caller = Some(identity),
            None if is_public(request.uri().path()) => {}
            None => return ApiError::unauthorized().into_response(),
        }
    }
    match caller {
        Some(caller) => match impersonated(request.headers(), caller) {
            Ok(identity) => {
                request.extensions_mut().insert(Caller(Some(identity)));
                next.run(request).await
            }
            Err(e) => e.into_response(),
        },
        None if is_public(request.uri().path()) => next.run(request).await,
        None => ApiError::unauthorized().into_response(),
    }
}

/// The token of an `Authorization: Bearer` header.
fn bearer_token(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

/// The service account a bearer token authenticates, if it verifies and
/// the account still exists with the uid the token names.
pub(crate) async fn service_account(app: &App, token: &str) -> Option<Identity> {
    let audiences = [crate::tokens::ISSUER.to_owned()];
    service_account_for(app, token, &audiences)
        .await
        .map(|(identity, _)| identity)
}

/// As [`service_account`], for a token meant for any of `audiences`; with
/// the audiences the token and `audiences` share.
pub(crate) async fn service_account_for(
    app: &App,
    token: &str,
    audiences: &[String],
) -> Option<(Identity, Vec<String>)> {
    let (claims, shared) =
        app.tokens
            .verify_for(token, crate::registry::meta::now_seconds(), audiences)?;
    let accounts = bosun_types::resources::find_by_plural("", "v1", "serviceaccounts")?;
    let account = app
        .registry
        .lookup(accounts, Some(&claims.namespace), &claims.name)
        .await
        .ok()?;
    let current = crate::registry::meta::meta_str(&account, "uid") == claims.uid
        && !crate::registry::meta::is_deleting(&account);
    current.then(|| (claims.identity(), shared))
}

/// The identity a request acts as: the caller's, or the one it asks to
/// impersonate (`Impersonate-User`, `Impersonate-Group`, as `kubectl --as`
/// and `--as-group` send). Every authenticated user may impersonate, as
/// every one may do anything until RBAC is enforced. A service account
/// user gets its groups, as upstream's impersonation filter adds them.
fn impersonated(headers: &axum::http::HeaderMap, caller: Identity) -> Result<Identity, ApiError> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    };
    // An empty user header asks for nobody, as upstream reads it.
    let user = values("impersonate-user")
        .into_iter()
        .next()
        .filter(|u| !u.is_empty());
    let mut groups = values("impersonate-group");
    let Some(user) = user else {
        if groups.is_empty() {
            return Ok(caller);
        }
        return Err(ApiError::internal(format!(
            "requested {groups:?} without impersonating a user"
        )));
    };
    if let Some(namespace) = user
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'))
        .map(|(ns, _)| ns.to_owned())
    {
        for group in [
            "system:serviceaccounts".to_owned(),
            format!("system:serviceaccounts:{namespace}"),
        ] {
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
    }
    // As upstream: the impersonated user is authenticated, unless it is
    // the anonymous user.
    let implied = if user == "system:anonymous" {
        "system:unauthenticated"
    } else {
        "system:authenticated"
    };
    if !groups
        .iter()
        .any(|g| g == "system:authenticated" || g == "system:unauthenticated")
    {
        groups.push(implied.to_owned());
    }
    Ok(Identity { user, groups })
}

/// Counts and times every request and tracks long-running ones (watches)
/// until their body ends.
async fn track(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let info = RequestInfo::classify(
        request.method(),
        request.uri().path(),
        request.uri().query().unwrap_or(""),
    );
    let started = Instant::now();
    let kind = if info.is_long_running() {
        flow_control::Kind::LongRunning
    } else if info.is_mutating() {
        flow_control::Kind::Mutating
    } else {
        flow_control::Kind::ReadOnly
    };
    request.extensions_mut().insert(kind);
    let response = next.run(request).await;
    app.metrics.observe(
        &info,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    if info.is_long_running() && response.status().is_success() {
        // Counted until the watch's body stream ends.
        let guard = app.metrics.long_running(&info);
        let (parts, body) = response.into_parts();
        let stream = body.into_data_stream().map(move |chunk| {
            let _keep = &guard;
            chunk
        });
        return Response::from_parts(parts, axum::body::Body::from_stream(stream));
    }
    response
}

/// The in-flight limits ([`flow_control`]), applied once the caller is
/// known: a request waits for a seat, and gets a 429 with `Retry-After`
/// only when it waited too long or the queue is full.
async fn limit(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let kind = request
        .extensions()
        .get::<flow_control::Kind>()
        .copied()
        .unwrap_or(flow_control::Kind::ReadOnly);
    let exempt = flow_control::is_exempt(
        request
            .extensions()
            .get::<Caller>()
            .and_then(|c| c.0.as_ref()),
    ) || is_probe(request.uri().path());
    let _seat = match app.limits.admit(kind, exempt).await {
        flow_control::Admission::Run(seat) => seat,
        flow_control::Admission::Reject => {
            return ApiError::too_many_requests().into_response();
        }
    };
    let _inflight =
        (kind != flow_control::Kind::LongRunning).then(|| app.metrics.inflight(kind.label()));
    next.run(request).await
}

/// `GET /metrics`.
async fn metrics(State(app): State<AppState>) -> Response {
    if let Some(cache) = app.registry.cache() {
        for (resource, count) in cache.object_counts() {
            app.metrics.set_storage_objects(&resource, count);
        }
    }
    let mut response = app.metrics.render().into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The router of every endpoint.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/version", get(system::version))
        .route("/livez", get(system::livez))
        .route("/readyz", get(system::readyz))
        .route("/healthz", get(system::healthz))
        .route("/livez/{*check}", get(system::livez_check))
        .route("/readyz/{*check}", get(system::readyz_check))
        .route("/healthz/{*check}", get(system::healthz_check))
        .route("/api", get(discovery::api))
        .route("/apis", get(discovery::apis))
        .route("/api/{version}", get(discovery::core_resources))
        .route("/apis/{group}", get(discovery::api_group))
        .route("/apis/{group}/{version}", get(discovery::group_resources))
        .route("/openapi/v2", get(openapi::v2))
        .route("/openapi/v3", get(openapi::index))
        .route("/openapi/v3/{*path}", get(openapi::document))
        .route("/metrics", get(metrics))
        .fallback(resources::handle)
        .layer(middleware::from_fn_with_state(state.clone(), limit))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn admin() -> Identity {
        Identity {
            user: "kubernetes-admin".into(),
            groups: vec!["system:masters".into()],
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_static(value));
        }
        h
    }

    #[test]
    fn impersonation_adds_the_groups_upstream_adds() {
        let jane = impersonated(&headers(&[("impersonate-user", "jane")]), admin()).expect("ok");
        assert_eq!(jane.user, "jane");
        assert_eq!(jane.groups, vec!["system:authenticated".to_owned()]);
        let anonymous = impersonated(
            &headers(&[("impersonate-user", "system:anonymous")]),
            admin(),
        )
        .expect("ok");
        assert_eq!(anonymous.groups, vec!["system:unauthenticated".to_owned()]);
        let bot = impersonated(
            &headers(&[("impersonate-user", "system:serviceaccount:ns:bot")]),
            admin(),
        )
        .expect("ok");
        assert_eq!(
            bot.groups,
            vec![
                "system:serviceaccounts".to_owned(),
                "system:serviceaccounts:ns".to_owned(),
                "system:authenticated".to_owned()
            ]
        );
    }

    #[test]
    fn an_empty_user_header_impersonates_nobody() {
        let same = impersonated(&headers(&[("impersonate-user", "")]), admin()).expect("ok");
        assert_eq!(same, admin());
        let e = impersonated(
            &headers(&[("impersonate-user", ""), ("impersonate-group", "devs")]),
            admin(),
        )
        .expect_err("groups without a user");
        assert!(
            e.message.contains("without impersonating a user"),
            "{}",
            e.message
        );
    }
}
