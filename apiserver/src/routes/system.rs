//! `/version` and the health endpoints.

use super::AppState;
use crate::response::json_response;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::atomic::Ordering;

pub use bosun_types::version::{KUBERNETES_GIT_VERSION, KUBERNETES_MAJOR, KUBERNETES_MINOR};

/// `GET /version`.
pub async fn version() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "major": KUBERNETES_MAJOR,
            "minor": KUBERNETES_MINOR,
            "gitVersion": KUBERNETES_GIT_VERSION,
            "gitCommit": "bosun",
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": concat!("rust (bosun ", env!("CARGO_PKG_VERSION"), ")"),
            "compiler": "rustc",
            "platform": format!("{}/{}", std::env::consts::OS, if std::env::consts::ARCH == "x86_64" { "amd64" } else if std::env::consts::ARCH == "aarch64" { "arm64" } else { std::env::consts::ARCH }),
        }),
    )
}

fn text(code: StatusCode, body: String) -> Response {
    let mut response = (code, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The checks of one health endpoint and whether each passes.
async fn checks(app: &AppState, endpoint: &str) -> Vec<(&'static str, bool)> {
    let mut checks = vec![("ping", true), ("log", true)];
    let storage_ok = app.registry.current_revision().await.is_ok();
    checks.push(("etcd", storage_ok));
    if endpoint == "readyz" {
        checks.push(("poststarthook/bootstrap", app.ready.load(Ordering::Acquire)));
    }
    checks
}

async fn report(
    app: &AppState,
    endpoint: &str,
    only: Option<&str>,
    query: Option<&str>,
) -> Response {
    let all = checks(app, endpoint).await;
    let verbose = query.is_some_and(|q| {
        q.split('&')
            .any(|p| p == "verbose" || p.starts_with("verbose="))
    });
    let excluded: Vec<String> = query
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.strip_prefix("exclude="))
        .map(str::to_owned)
        .collect();
    if let Some(name) = only {
        return match all
            .iter()
            .find(|(n, _)| *n == name || format!("poststarthook/{}", name) == *n)
        {
            Some((_, true)) => text(StatusCode::OK, "ok".into()),
            Some((n, false)) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("[-]{n} failed: reason withheld\n"),
            ),
            None => text(StatusCode::NOT_FOUND, "404 page not found\n".into()),
        };
    }
    let considered: Vec<&(&str, bool)> = all
        .iter()
        .filter(|(n, _)| !excluded.iter().any(|e| e == n))
        .collect();
    let healthy = considered.iter().all(|(_, ok)| *ok);
    if healthy && !verbose {
        return text(StatusCode::OK, "ok".into());
    }
    let mut body = String::new();
    for (name, ok) in &considered {
        if *ok {
            body.push_str(&format!("[+]{name} ok\n"));
        } else {
            body.push_str(&format!("[-]{name} failed: reason withheld\n"));
        }
    }
    if healthy {
        body.push_str(&format!("{endpoint} check passed\n"));
        text(StatusCode::OK, body)
    } else {
        body.push_str(&format!("{endpoint} check failed\n"));
        text(StatusCode::INTERNAL_SERVER_ERROR, body)
    }
}

/// `GET /livez`.
pub async fn livez(State(app): State<AppState>, RawQuery(q): RawQuery) -> Response {
    report(&app, "livez", None, q.as_deref()).await
}

/// `GET /readyz`.
pub async fn readyz(State(app): State<AppState>, RawQuery(q): RawQuery) -> Response {
    report(&app, "readyz", None, q.as_deref()).await
}

/// `GET /healthz`.
pub async fn healthz(State(app): State<AppState>, RawQuery(q): RawQuery) -> Response {
    report(&app, "healthz", None, q.as_deref()).await
}

/// `GET /livez/<check>`.
pub async fn livez_check(State(app): State<AppState>, Path(check): Path<String>) -> Response {
    report(&app, "livez", Some(&check), None).await
}

/// `GET /readyz/<check>`.
pub async fn readyz_check(State(app): State<AppState>, Path(check): Path<String>) -> Response {
    report(&app, "readyz", Some(&check), None).await
}

/// `GET /healthz/<check>`.
pub async fn healthz_check(State(app): State<AppState>, Path(check): Path<String>) -> Response {
    report(&app, "healthz", Some(&check), None).await
}
