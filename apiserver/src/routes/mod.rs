//! The HTTP surface: which paths exist and who may call them.

pub mod discovery;
pub mod openapi;
pub mod resources;
pub mod system;

use crate::registry::Registry;
use crate::status::ApiError;
use crate::tls::Identity;
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// State shared by every handler.
#[derive(Debug)]
pub struct App {
    /// The registry.
    pub registry: Registry,
    /// Set once bootstrap finished; `/readyz` reports it.
    pub ready: AtomicBool,
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

async fn authenticate(request: Request, next: Next) -> Response {
    let authenticated = request
        .extensions()
        .get::<Caller>()
        .is_some_and(|c| c.0.is_some());
    if authenticated || is_public(request.uri().path()) {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
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
        .route("/openapi/v3", get(openapi::index))
        .route("/openapi/v3/{*path}", get(openapi::document))
        .fallback(resources::handle)
        .layer(middleware::from_fn(authenticate))
        .with_state(state)
}
