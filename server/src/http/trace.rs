//! Request spans: every request gets an `x-request-id` (the caller's, or a new UUID), is traced
//! in a `request` span that carries it (so every log line of its handler names it), and the
//! answer carries the same header back.
//!
//! The span names the method and the path only: query strings (booth codes) and headers (tokens)
//! are never logged. The request and response events are at `debug`
//! (`RUST_LOG=espresso_server::http::trace=debug` shows one line each); a 5xx is logged at `error`.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::response::Response;
use rand::Rng;
use tracing::Instrument;

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A caller's id is kept only if it is at most this long and plain (letters, digits, `-_.:`);
/// anything else is replaced by a new one, so no caller writes what it likes into the logs.
const MAX_CALLER_ID: usize = 64;

/// Run `handle` on `request` as one traced request: keep a fit caller id or make one, trace
/// the request in a span that carries it, copy it onto the answer. This is tower-http's four
/// layers (id, trace, propagate, and a check of the caller's id) in one function: each layer is a
/// future of its own on every request, and its UUIDs cost a `getrandom` system call each.
pub async fn trace<F, Fut>(request: Request<Body>, handle: F) -> Response
where
    F: FnOnce(Request<Body>) -> Fut,
    Fut: Future<Output = Response>,
{
    // The id lives in the span and the answer: no handler reads the request's header.
    let id = match request.headers().get(&REQUEST_ID) {
        Some(id) if fit(id) => id.clone(),
        _ => new_id(),
    };
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id.to_str().unwrap_or(""),
    );
    let start = std::time::Instant::now();
    let mut response = async {
        tracing::debug!("started processing request");
        handle(request).await
    }
    .instrument(span.clone())
    .await;
    let status = response.status();
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::error!(parent: &span, %status, latency_ms, "response failed");
    } else {
        tracing::debug!(parent: &span, %status, latency_ms, "finished processing request");
    }
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

fn fit(id: &HeaderValue) -> bool {
    let id = id.as_bytes();
    !id.is_empty()
        && id.len() <= MAX_CALLER_ID
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A random (version 4) UUID from the thread's generator: no system call per request.
fn new_id() -> HeaderValue {
    let uuid = uuid::Builder::from_random_bytes(rand::rng().random()).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    HeaderValue::from_str(uuid.hyphenated().encode_lower(&mut text))
        .unwrap_or_else(|_| HeaderValue::from_static("-"))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    /// A log writer the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// `router` with one layer around every request that [`trace`]s it, as the server's own
    /// outer layer (`edge` in `http/mod.rs`) does.
    fn traced(router: Router) -> Router {
        router.layer(axum::middleware::from_fn(
            |request: Request<Body>, next: axum::middleware::Next| {
                trace(request, |request| next.run(request))
            },
        ))
    }

    fn app() -> Router {
        traced(
            Router::new()
                .route(
                    "/hello",
                    get(|| async {
                        tracing::info!("inside the handler");
                        "hi"
                    }),
                )
                .route(
                    "/broken",
                    get(|| async { axum::http::StatusCode::INTERNAL_SERVER_ERROR }),
                ),
        )
    }

    /// Send `request` on this thread with a subscriber that captures every log line.
    fn send(request: Request<Body>) -> (axum::response::Response, String) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let response = tracing::subscriber::with_default(subscriber, || {
            runtime
                .block_on(app().oneshot(request))
                .expect("infallible")
        });
        let log = String::from_utf8(captured.0.lock().expect("log buffer").clone()).expect("utf-8");
        (response, log)
    }

    #[test]
    fn a_request_without_an_id_gets_a_new_one_in_its_span_and_its_answer() {
        let (response, log) = send(
            Request::get("/hello?code=secret")
                .body(Body::empty())
                .unwrap(),
        );
        let id = response.headers()[&REQUEST_ID].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        let handler_line = log
            .lines()
            .find(|line| line.contains("inside the handler"))
            .unwrap_or_else(|| panic!("no handler line in {log}"));
        assert!(
            handler_line.contains(&format!("request_id={id}")),
            "{handler_line}"
        );
        assert!(handler_line.contains("path=/hello"), "{handler_line}");
        assert!(!log.contains("secret"), "the query is not logged: {log}");
    }

    #[test]
    fn a_callers_id_is_kept_and_sent_back() {
        let request = Request::get("/hello")
            .header(&REQUEST_ID, "trace-me-42")
            .body(Body::empty())
            .unwrap();
        let (response, log) = send(request);
        assert_eq!(response.headers()[&REQUEST_ID], "trace-me-42");
        assert!(log.contains("request_id=trace-me-42"), "{log}");
    }

    #[test]
    fn a_long_or_odd_callers_id_is_replaced_by_a_new_one() {
        for odd in ["x".repeat(65), "two words".to_owned(), "a=b;c".to_owned()] {
            let request = Request::get("/hello")
                .header(&REQUEST_ID, odd.as_str())
                .body(Body::empty())
                .unwrap();
            let (response, log) = send(request);
            let id = response.headers()[&REQUEST_ID].to_str().unwrap().to_owned();
            assert_eq!(id.len(), 36, "{odd:?} was kept: {id}");
            assert!(!log.contains(&odd), "{odd:?} reached the log");
        }
    }

    #[test]
    fn a_server_error_is_logged_at_error_with_its_request_id() {
        let (response, log) = send(Request::get("/broken").body(Body::empty()).unwrap());
        let id = response.headers()[&REQUEST_ID].to_str().unwrap().to_owned();
        let line = log
            .lines()
            .find(|line| line.contains("ERROR"))
            .unwrap_or_else(|| panic!("no error line in {log}"));
        assert!(line.contains(&format!("request_id={id}")), "{line}");
        assert!(line.contains("500"), "{line}");
        let (_, log) = send(Request::get("/hello").body(Body::empty()).unwrap());
        assert!(!log.contains("ERROR"), "a 200 is not an error: {log}");
    }
}
