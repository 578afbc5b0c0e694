//! `GET /api/v1/live`: upgrade to a WebSocket and hand it to the live hub ([`crate::live`]).
//! Nothing else happens here; a request that is not a WebSocket upgrade gets a problem.

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use espresso_protocol::{ErrorCode, Problem};

use super::AppState;
use super::doc::problems;
use crate::error::ApiError;

problems! {
    NotAnUpgrade: 400 "`bad_request`: not a WebSocket upgrade";
    CannotUpgrade: 426 "`bad_request` (status 426): the connection cannot be upgraded";
}

/// A client sends one small `hello`; anything bigger is not one.
const MAX_CLIENT_MESSAGE_BYTES: usize = 16 * 1024;

/// How much of a burst of frames a live socket stages before writing.
const LIVE_WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// What a live socket buffers of what its client sends (a hello is far smaller).
const LIVE_READ_BUFFER_BYTES: usize = 4 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new().route("/live", get(live))
}

/// The live stream (WebSocket)
///
/// Upgrade to a WebSocket; every message is a JSON text frame.
///
/// 1. The client sends one `ClientFrame` first: `{"type": "hello", "token": <access token or
///    null>, "shop": "main", "since": <seq or null>}`.
/// 2. The server answers with `ServerFrame`s: `{"type": "welcome", "head", "scope"}`, then, if
///    `since` was given, every event after it in order, then live events
///    `{"type": "event", "seq", "event": Event}`. If `since` is older than the retained history
///    it sends `{"type": "reset"}`: reload through REST and continue from `head`.
/// 3. The scope follows the token: staff see all of their shop, a customer their own orders plus
///    `shop.updated`, no token `shop.updated` and `stats.updated` only.
/// 4. The server pings every 20 s (also as `{"type": "ping"}`) and closes a connection silent
///    for 60 s; a client that cannot keep up is closed with code 4008 and resumes with `since`.
///
/// See the `ClientFrame`, `ServerFrame` and `Event` schemas.
#[utoipa::path(
    get,
    path = "/api/v1/live",
    tag = "live",
    params(
        ("Upgrade" = String, Header, description = "`websocket`"),
        ("Connection" = String, Header, description = "`Upgrade`"),
        ("Sec-WebSocket-Version" = String, Header, description = "`13`"),
        ("Sec-WebSocket-Key" = String, Header, description = "The WebSocket handshake key"),
    ),
    responses(
        (
            status = 101,
            description = "Switching to the WebSocket: the client sends a `ClientFrame` (hello), \
                the server sends `ServerFrame`s"
        ),
        NotAnUpgrade,
        CannotUpgrade,
    ),
)]
async fn live(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => {
            let hub = state.live_hub().clone();
            upgrade
                // Clients send a hello and pongs, never more than a few hundred bytes: a small
                // read buffer instead of tungstenite's 128 KiB, which each of thousands of idle
                // display sockets would otherwise hold (docs/BENCHMARKS.md, memory).
                .read_buffer_size(LIVE_READ_BUFFER_BYTES)
                // A burst of events is fed then flushed as one write; 16 KiB staged at most (not
                // tungstenite's 128 KiB), and only while a burst is going out.
                .write_buffer_size(LIVE_WRITE_BUFFER_BYTES)
                .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
                .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
                .on_upgrade(move |socket| async move { hub.serve(socket).await })
        }
        Err(rejection) => ApiError::from(
            Problem::new(ErrorCode::BadRequest)
                .with_status(rejection.status().as_u16())
                .with_detail(format!(
                    "the live stream is a WebSocket: {}",
                    rejection.body_text()
                )),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt;

    use super::super::{AppState, router};

    #[tokio::test]
    async fn a_plain_get_is_answered_with_a_problem() {
        let store = crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        let app = router(AppState::new(
            store,
            PathBuf::from("/nonexistent"),
            crate::mailer::Mailer::Log,
        ));
        let response = app
            .oneshot(Request::get("/api/v1/live").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{}", response.status());
        assert_ne!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            espresso_protocol::PROBLEM_CONTENT_TYPE
        );
    }
}
