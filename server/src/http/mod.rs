//! The HTTP surface: the API of API.md, the live stream, operations routes and the web apps.
//! Handlers only translate between HTTP and the store/workflow; they hold no business rules.

mod auth;
pub(crate) mod doc;
mod export;
pub mod extract;
mod idempotency;
mod live;
mod openapi;
mod orders;
mod push;
mod report;
mod shops;
mod strict;
mod trace;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use espresso_protocol::{App, ErrorCode, Health};
use tower_http::services::ServeDir;

use crate::error::ApiError;
use crate::store::{SharedStore, Store};

/// Request bodies larger than this are refused with 413 (API.md).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How the HTTP layer is set up (from `serve`'s flags; [`Options::default`] for tests).
#[derive(Debug, Clone)]
pub struct Options {
    /// A request (its body included) that takes longer is answered 408 `request_timeout`.
    pub request_timeout: std::time::Duration,
    /// Proxies whose `X-Forwarded-For` names the client (sign-in limits per address).
    pub trusted_proxies: crate::config::TrustedProxies,
    /// Served over TLS: pages also say `Strict-Transport-Security`.
    pub tls: bool,
    /// The secret one-time codes are hashed with.
    pub sign_in_key: crate::auth::SignInKey,
    /// Sign-in, refresh and idempotency limits.
    pub rate_limits: crate::auth::RateLimits,
    /// How fast the booth demo runs.
    pub demo_pace: crate::demo::Pace,
    /// Web Push: the VAPID key and which endpoints may be pushed to.
    pub push: crate::push::PushConfig,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            request_timeout: std::time::Duration::from_secs(30),
            trusted_proxies: crate::config::TrustedProxies::default(),
            tls: false,
            sign_in_key: crate::auth::SignInKey::random(),
            // Read once when the server starts (`ESPRESSO_OTP_IP_LIMIT_PER_HOUR`).
            rate_limits: crate::auth::RateLimits::from_env(),
            demo_pace: crate::demo::Pace::demo(1),
            push: crate::push::PushConfig::for_tests(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedStore,
    web_dir: PathBuf,
    mailer: crate::mailer::Mailer,
    key_locks: idempotency::KeyLocks,
    live_hub: crate::live::Hub,
    metrics: Arc<crate::metrics::Metrics>,
    options: Options,
    demos: crate::demo::Demos,
}

impl AppState {
    pub fn new(
        store: impl Into<SharedStore>,
        web_dir: PathBuf,
        mailer: crate::mailer::Mailer,
    ) -> Self {
        Self::with_options(store, web_dir, mailer, Options::default())
    }

    pub fn with_options(
        store: impl Into<SharedStore>,
        web_dir: PathBuf,
        mailer: crate::mailer::Mailer,
        options: Options,
    ) -> Self {
        let store: SharedStore = store.into();
        Self {
            inner: Arc::new(Inner {
                live_hub: crate::live::Hub::new(store.clone()),
                demos: crate::demo::Demos::new(store.clone(), options.demo_pace),
                store,
                web_dir,
                mailer,
                key_locks: idempotency::KeyLocks::default(),
                metrics: crate::metrics::Metrics::new(),
                options,
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &*self.inner.store
    }

    /// The booth demo of each shop.
    pub fn demos(&self) -> &crate::demo::Demos {
        &self.inner.demos
    }

    /// Sign-in rate limits.
    pub fn rate_limits(&self) -> &crate::auth::RateLimits {
        &self.inner.options.rate_limits
    }

    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    fn key_locks(&self) -> &idempotency::KeyLocks {
        &self.inner.key_locks
    }

    pub fn mailer(&self) -> &crate::mailer::Mailer {
        &self.inner.mailer
    }

    /// The live hub: every `/api/v1/live` connection of this server.
    pub fn live_hub(&self) -> &crate::live::Hub {
        &self.inner.live_hub
    }
}

/// The whole router. Built once per server; tests drive it with `tower::ServiceExt::oneshot`.
pub fn router(state: AppState) -> Router {
    // The web build ships `.br` and `.gz` beside its wasm, JS and CSS (`cargo xtask build-ui`):
    // browsers get those bytes as they are, brotli where they take it (the smaller), else gzip.
    let assets = ServeDir::new(&state.inner.web_dir)
        .precompressed_br()
        .precompressed_gzip();
    let api = Router::new()
        .merge(auth::routes())
        .merge(shops::routes())
        .merge(orders::routes())
        .merge(export::routes())
        .merge(report::routes())
        .merge(push::routes())
        .merge(live::routes())
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(api_not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ));
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::render))
        .route("/api/openapi.json", get(openapi::serve))
        .route("/sw.js", get(service_worker))
        .nest("/api/v1", api);
    // The apps are one single-page build; the page picks the app from the path.
    App::ALL
        .into_iter()
        .fold(router, |router, app| {
            router.route(app.path(), get(app_page))
        })
        .method_not_allowed_fallback(method_not_allowed)
        .fallback_service(assets)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge))
        .with_state(state)
}

/// What every request goes through, as one layer (each layer is a future of its own on every
/// request): it is [`trace::trace`]d with its request id, timed for `/metrics`, cut off at
/// [`Options::request_timeout`], and its answer carries the [`security_headers`].
async fn edge(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    trace::trace(request, |request| async {
        let start = std::time::Instant::now();
        let mut response = request_timeout(&state, request, next).await;
        security_headers(&state, &mut response);
        state
            .metrics()
            .observe(response.status().as_u16(), start.elapsed().as_secs_f64());
        response
    })
    .await
}

/// A request that is not answered within [`Options::request_timeout`] — a body trickling in, a
/// client that stopped sending — gets 408 `request_timeout` and its connection is freed.
async fn request_timeout(
    state: &AppState,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let limit = state.options().request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = ApiError::detail(
                ErrorCode::RequestTimeout,
                format!("the request took longer than {} s", limit.as_secs()),
            )
            .into_response();
            // The rest of a half-sent body is not worth reading.
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            response
        }
    }
}

/// The pages' Content-Security-Policy: scripts and styles from this origin only (wasm allowed;
/// inline styles because the apps set `style` attributes), the live stream to this origin, no
/// plugins, no framing (clickjacking), no `<base>` games.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
     script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; \
     connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Headers every answer carries: no content sniffing, no framing, no referrer (a booth link
/// carries its code), and the pages' Content-Security-Policy; HSTS when served over TLS.
fn security_headers(state: &AppState, response: &mut Response) {
    use header::HeaderValue;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    if state.options().tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

/// A route that exists, asked with a method it does not have (axum adds `Allow`).
async fn method_not_allowed() -> ApiError {
    ApiError::detail(
        ErrorCode::MethodNotAllowed,
        "this route does not take that method (see Allow)",
    )
}

async fn api_not_found() -> ApiError {
    ApiError::detail(ErrorCode::NotFound, "no such API route")
}

/// Liveness
///
/// The server is up; which build and API version it is.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The server is up", body = Health)),
)]
async fn healthz() -> axum::Json<Health> {
    axum::Json(Health::ok(env!("CARGO_PKG_VERSION")))
}

/// Readiness
///
/// The server can reach its database. Plain text.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = String, content_type = "text/plain"),
        (
            status = 503,
            description = "The database is not reachable",
            body = String,
            content_type = "text/plain"
        ),
    ),
)]
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(error) => {
            tracing::warn!(%error, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database not reachable\n").into_response()
        }
    }
}

/// A page of the apps: the app's own page (`page-<app>.html`: its first screen, styles and an
/// inline script that picks the screen before the first paint, written by `cargo xtask
/// build-ui`), else the single-page build's `index.html`, linking the web app manifest of the
/// app its path opens, so each app installs as itself (its name, start page and orientation):
/// the customer's phone app from `/order`, the barista's tablet app from `/barista`, the booth
/// screen from `/display`. The page's inline scripts run by their hashes in its
/// Content-Security-Policy (no other inline script does).
async fn app_page(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    let app = App::from_path(uri.path());
    let dir = &state.inner.web_dir;
    let own = dir.join(format!("page-{}.html", app.name()));
    let index = dir.join("index.html");
    let html = match tokio::fs::read_to_string(&own).await {
        Ok(html) => Ok(html),
        Err(_) => tokio::fs::read_to_string(&index).await,
    };
    match html {
        Ok(html) => {
            let html = with_manifest_of(&html, app);
            let policy = policy_for(&html);
            let mut response = ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response();
            if let Ok(policy) = header::HeaderValue::from_str(&policy) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, policy);
            }
            response
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Html(format!(
                "<!doctype html><title>Espresso</title><h1>The web apps are not built</h1>\
                 <p>No <code>{}</code>. Start Espresso with <code>cargo xtask run</code>, \
                 which builds them.</p>",
                index.display()
            )),
        )
            .into_response(),
    }
}

/// The pages' Content-Security-Policy, with the hash of each inline script of `html` (a plain
/// `<script>`, no attributes) allowed in `script-src`.
fn policy_for(html: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let mut hashes = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script>") {
        let body = &rest[start + "<script>".len()..];
        let Some(end) = body.find("</script>") else {
            break;
        };
        let digest = sha2::Sha256::digest(&body.as_bytes()[..end]);
        hashes.push_str(&format!(
            " 'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        ));
        rest = &body[end..];
    }
    CONTENT_SECURITY_POLICY.replacen(
        "script-src 'self' 'wasm-unsafe-eval';",
        &format!("script-src 'self' 'wasm-unsafe-eval'{hashes};"),
        1,
    )
}

/// The apps' service worker (`ui/static/sw.js`, stamped with the build by `cargo xtask
/// build-ui`), from the root so its scope is every page. `no-cache`: a browser asks for it on
/// every visit and a new build installs at once; the worker then keeps the shell offline.
async fn service_worker(State(state): State<AppState>) -> Response {
    match tokio::fs::read(state.inner.web_dir.join("sw.js")).await {
        Ok(script) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            script,
        )
            .into_response(),
        Err(_) => {
            ApiError::detail(ErrorCode::NotFound, "the web apps are not built").into_response()
        }
    }
}

/// The build links `/manifest.webmanifest` (the customer's, also for the start page); an app's
/// own page links `/manifest-<app>.webmanifest` instead.
fn with_manifest_of(html: &str, app: App) -> String {
    const DEFAULT: &str = "href=\"/manifest.webmanifest\"";
    match app {
        App::Home => html.to_owned(),
        app => html.replacen(
            DEFAULT,
            &format!("href=\"/manifest-{}.webmanifest\"", app.name()),
            1,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::prelude::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn app(web_dir: PathBuf) -> Router {
        let store = crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        router(AppState::new(store, web_dir, crate::mailer::Mailer::Log))
    }

    #[tokio::test]
    async fn healthz_reports_this_build() {
        let response = app(PathBuf::from("/nonexistent"))
            .await
            .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let health: Health = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(health, Health::ok(env!("CARGO_PKG_VERSION")));
    }

    #[tokio::test]
    async fn the_service_worker_is_served_from_the_root_and_never_from_a_stale_http_cache() {
        let web = tempfile::tempdir().unwrap();
        std::fs::write(web.path().join("sw.js"), "const BUILD = 'abc';").unwrap();
        let response = app(web.path().to_path_buf())
            .await
            .oneshot(Request::get("/sw.js").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("worker-src 'self'"), "{csp}");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(&bytes[..], b"const BUILD = 'abc';");
    }

    #[tokio::test]
    async fn app_routes_explain_a_missing_web_build() {
        let response = app(PathBuf::from("/nonexistent"))
            .await
            .oneshot(Request::get("/display").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains("cargo xtask run"));
    }

    /// A router whose limits are `limits`, and a signed-in customer's access token.
    async fn limited(limits: crate::auth::RateLimits) -> (Router, String) {
        let store = crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        let now = chrono::Utc::now();
        let user = store.ensure_user("ann@example.com", now).await.unwrap();
        let session = crate::auth::open_session(&store, &user, now).await.unwrap();
        let options = Options {
            rate_limits: limits,
            ..Options::default()
        };
        let state = AppState::with_options(
            store,
            PathBuf::from("/nonexistent"),
            crate::mailer::Mailer::Log,
            options,
        );
        (router(state), session.access_token)
    }

    fn json_request(
        method: &str,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: &str,
    ) -> Request<Body> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.body(Body::from(body.to_owned())).unwrap()
    }

    #[tokio::test]
    async fn refreshes_from_one_address_are_limited() {
        let limits = crate::auth::RateLimits {
            refresh_per_ip: crate::auth::rate_limit::Rule::per_hour(2),
            ..crate::auth::RateLimits::default()
        };
        let (app, _) = limited(limits).await;
        let refresh = || {
            json_request(
                "POST",
                "/api/v1/auth/refresh",
                None,
                None,
                r#"{"refresh_token":"rt_guess"}"#,
            )
        };
        for _ in 0..2 {
            let response = app.clone().oneshot(refresh()).await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        let response = app.clone().oneshot(refresh()).await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }

    #[tokio::test]
    async fn scan_passes_from_one_address_are_limited_and_refused_ones_count_too() {
        let limits = crate::auth::RateLimits {
            pass_per_ip: crate::auth::rate_limit::Rule::per_hour(2),
            ..crate::auth::RateLimits::default()
        };
        let (app, _) = limited(limits).await;
        // Guessing codes costs as much as getting passes.
        let pass = || {
            json_request(
                "POST",
                "/api/v1/shops/main/passes",
                None,
                None,
                r#"{"code":"GUESSED1"}"#,
            )
        };
        for _ in 0..2 {
            let response = app.clone().oneshot(pass()).await.unwrap();
            assert_eq!(response.status(), StatusCode::CONFLICT, "main is closed");
        }
        let response = app.clone().oneshot(pass()).await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }

    #[tokio::test]
    async fn remembered_answers_per_caller_are_capped_and_a_retry_still_replays() {
        let limits = crate::auth::RateLimits {
            remembered_per_caller: crate::auth::rate_limit::Rule::per_hour(2),
            ..crate::auth::RateLimits::default()
        };
        let (app, token) = limited(limits).await;
        let patch = |key: &str| {
            json_request(
                "PATCH",
                "/api/v1/me",
                Some(&token),
                Some(key),
                r#"{"display_name":"Ann"}"#,
            )
        };
        for key in ["k1", "k2"] {
            let response = app.clone().oneshot(patch(key)).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{key}");
        }
        let response = app.clone().oneshot(patch("k3")).await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        // A retry of a remembered one is still answered from memory.
        let response = app.clone().oneshot(patch("k1")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["idempotent-replayed"], "true");
    }

    #[tokio::test]
    async fn each_app_page_links_its_own_manifest_which_installs_that_app() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("index.html"),
            "<link rel=\"manifest\" href=\"/manifest.webmanifest\">",
        )
        .unwrap();
        let statics = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/static");
        for (path, name, orientation, display) in [
            ("/order", "customer", "portrait", "standalone"),
            ("/barista", "barista", "landscape", "standalone"),
            ("/display", "display", "any", "fullscreen"),
        ] {
            let response = app(dir.path().to_owned())
                .await
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            let page = String::from_utf8_lossy(&bytes);
            let link = format!("/manifest-{name}.webmanifest");
            assert!(page.contains(&link), "{path}: {page}");
            let manifest: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(statics.join(&link[1..])).unwrap())
                    .unwrap();
            assert_eq!(manifest["start_url"], path, "{link}");
            assert_eq!(manifest["id"], path, "{link}: each installs as its own app");
            assert_eq!(manifest["orientation"], orientation, "{link}");
            assert_eq!(manifest["display"], display, "{link}");
        }
    }

    #[tokio::test]
    async fn an_apps_own_page_is_served_with_its_inline_script_allowed_by_hash_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<html>start page</html>").unwrap();
        std::fs::write(
            dir.path().join("page-customer.html"),
            "<html>customer<script>pick()</script></html>",
        )
        .unwrap();
        let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
        let router = app(dir.path().to_path_buf()).await;

        let page = router.clone().oneshot(get("/order")).await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let policy = page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        // sha256("pick()"), base64: that script and no other.
        assert!(
            policy.contains(
                "script-src 'self' 'wasm-unsafe-eval' 'sha256-65muYlgR6KuKifGma7GjdMvrlggPhQH7BlWxj2YosBk=';"
            ),
            "{policy}"
        );
        let bytes = axum::body::to_bytes(page.into_body(), 1 << 16)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains("customer"));

        // An app without a page of its own gets the start page, whose policy allows no inline script.
        let barista = router.clone().oneshot(get("/barista")).await.unwrap();
        let policy = barista.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(policy, CONTENT_SECURITY_POLICY);
        let bytes = axum::body::to_bytes(barista.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(&bytes[..], b"<html>start page</html>");
    }

    #[tokio::test]
    async fn every_app_route_serves_the_single_page() {
        let dir = std::env::temp_dir().join(format!("espresso-web-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<html>espresso</html>").unwrap();
        for path in ["/", "/order", "/barista", "/display"] {
            let response = app(dir.clone())
                .await
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
    }

    #[tokio::test]
    async fn the_web_build_goes_out_compressed_to_browsers_that_accept_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app_bg.wasm"), b"\0asm plain").unwrap();
        std::fs::write(dir.path().join("app_bg.wasm.gz"), b"gzipped bytes").unwrap();
        std::fs::write(dir.path().join("app_bg.wasm.br"), b"brotli bytes").unwrap();
        let get = |accept: Option<&str>| {
            let mut request = Request::get("/app_bg.wasm");
            if let Some(accept) = accept {
                request = request.header(header::ACCEPT_ENCODING, accept);
            }
            request.body(Body::empty()).unwrap()
        };
        let router = app(dir.path().to_path_buf()).await;

        // What Chromium and Safari ask for: brotli, the smaller.
        let brotli = router
            .clone()
            .oneshot(get(Some("gzip, deflate, br, zstd")))
            .await
            .unwrap();
        assert_eq!(brotli.status(), StatusCode::OK);
        assert_eq!(brotli.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(brotli.headers()[header::CONTENT_TYPE], "application/wasm");
        let body = axum::body::to_bytes(brotli.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(&body[..], b"brotli bytes");

        let gzipped = router.clone().oneshot(get(Some("gzip"))).await.unwrap();
        assert_eq!(gzipped.status(), StatusCode::OK);
        assert_eq!(gzipped.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(gzipped.headers()[header::CONTENT_TYPE], "application/wasm");
        let body = axum::body::to_bytes(gzipped.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(&body[..], b"gzipped bytes");

        let plain = router.oneshot(get(None)).await.unwrap();
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let body = axum::body::to_bytes(plain.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(&body[..], b"\0asm plain");
    }
}
