//! `/metrics`: Prometheus text exposition, written by hand (no registry crate needed for a few
//! series). Request latency is a histogram kept in atomics; the rest is read at scrape time.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use espresso_protocol::ErrorCode;

use crate::error::ApiError;
use crate::http::AppState;
use crate::http::extract::{ClientIp, MaybeCaller};

/// Connections closed at accept because a connection cap was reached (server/src/serve.rs).
static CONNECTIONS_REFUSED: AtomicU64 = AtomicU64::new(0);

/// Count a connection refused over a cap.
pub fn connection_refused() {
    CONNECTIONS_REFUSED.fetch_add(1, Ordering::Relaxed);
}

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
pub struct Metrics {
    /// Per status class (1xx..5xx → 0..4): cumulative bucket counts, then +Inf.
    buckets: [[AtomicU64; BUCKETS.len() + 1]; 5],
    sum_micros: [AtomicU64; 5],
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn observe(&self, status: u16, seconds: f64) {
        let class = usize::from((status / 100).clamp(1, 5) - 1);
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.buckets[class][i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.buckets[class][BUCKETS.len()].fetch_add(1, Ordering::Relaxed);
        // Truncation is fine: microseconds of one request fit in u64.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.sum_micros[class].fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    fn write_latency(&self, out: &mut String) {
        out.push_str(
            "# HELP espresso_http_request_duration_seconds Time to answer an HTTP request.\n",
        );
        out.push_str("# TYPE espresso_http_request_duration_seconds histogram\n");
        for (class, buckets) in self.buckets.iter().enumerate() {
            let label = format!("{}xx", class + 1);
            for (i, bound) in BUCKETS.iter().enumerate() {
                let n = buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "espresso_http_request_duration_seconds_bucket\
                     {{status=\"{label}\",le=\"{bound}\"}} {n}"
                );
            }
            let count = buckets[BUCKETS.len()].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "espresso_http_request_duration_seconds_bucket\
                 {{status=\"{label}\",le=\"+Inf\"}} {count}"
            );
            #[allow(clippy::cast_precision_loss)]
            let sum = self.sum_micros[class].load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "espresso_http_request_duration_seconds_sum{{status=\"{label}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "espresso_http_request_duration_seconds_count{{status=\"{label}\"}} {count}"
            );
        }
    }
}

/// Metrics
///
/// Prometheus text exposition: request latency by status class, orders by shop and state,
/// the event head of each shop, open live connections and failed sign-in mails. From this
/// machine (a scraper beside the server) without a token; from anywhere else only with an
/// admin's bearer token (the figures tell how busy every shop is).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security((), ("bearer" = [])),
    responses(
        (
            status = 200,
            description = "Prometheus text format 0.0.4",
            body = String,
            content_type = "text/plain; version=0.0.4"
        ),
        crate::http::doc::Unauthenticated,
        crate::http::doc::NotAnAdmin,
    ),
)]
pub async fn render(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    MaybeCaller(caller): MaybeCaller,
) -> Response {
    let local = client.is_some_and(|ip| ip.to_canonical().is_loopback());
    if !local {
        let allowed = match caller {
            Some(caller) => caller.require(crate::policy::Action::Administer),
            None => Err(ApiError::detail(
                ErrorCode::Unauthenticated,
                "metrics need an admin's token (or a request from this machine)",
            )),
        };
        if let Err(refused) = allowed {
            return refused.into_response();
        }
    }
    let mut out = String::with_capacity(4096);
    state.metrics().write_latency(&mut out);
    out.push_str(
        "# HELP espresso_orders Orders by shop and state.\n# TYPE espresso_orders gauge\n",
    );
    match state.store().order_counts().await {
        Ok(counts) => {
            for count in counts {
                let _ = writeln!(
                    out,
                    "espresso_orders{{shop=\"{}\",state=\"{}\"}} {}",
                    count.shop, count.state, count.count
                );
            }
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot count orders"),
    }
    out.push_str(
        "# HELP espresso_event_head The newest event seq of each shop.\n\
         # TYPE espresso_event_head gauge\n",
    );
    if let Ok(ids) = state.store().shop_ids().await {
        for id in ids {
            if let Ok(head) = state.store().head(&id).await {
                let _ = writeln!(out, "espresso_event_head{{shop=\"{id}\"}} {head}");
            }
        }
    }
    out.push_str(
        "# HELP espresso_live_connections Open live-stream connections.\n\
         # TYPE espresso_live_connections gauge\n",
    );
    let _ = writeln!(
        out,
        "espresso_live_connections {}",
        state.live_hub().connections()
    );
    out.push_str(
        "# HELP espresso_connections_refused_total Connections closed at once because a \
         connection cap (in all or per address) was reached.\n\
         # TYPE espresso_connections_refused_total counter\n",
    );
    let _ = writeln!(
        out,
        "espresso_connections_refused_total {}",
        CONNECTIONS_REFUSED.load(Ordering::Relaxed)
    );
    out.push_str(
        "# HELP espresso_push_total Web Push messages by outcome: sent (accepted by the push \
         service), gone (subscription removed on 404/410), retried (an attempt that failed for a \
         reason that may pass), failed (given up).\n\
         # TYPE espresso_push_total counter\n",
    );
    let pushes = &crate::push::PUSHES;
    for (outcome, count) in [
        ("sent", &pushes.sent),
        ("gone", &pushes.gone),
        ("retried", &pushes.retried),
        ("failed", &pushes.failed),
    ] {
        let _ = writeln!(
            out,
            "espresso_push_total{{outcome=\"{outcome}\"}} {}",
            count.load(Ordering::Relaxed)
        );
    }
    out.push_str(
        "# HELP espresso_mail_failures_total Sign-in mails that could not be sent.\n\
         # TYPE espresso_mail_failures_total counter\n",
    );
    let _ = writeln!(
        out,
        "espresso_mail_failures_total {}",
        crate::mailer::failures()
    );
    out.push_str(
        "# HELP espresso_store_syncs_total Commits of the database writer (group commit: each is \
         one sync of the write-ahead log and makes a batch of commands durable).\n\
         # TYPE espresso_store_syncs_total counter\n",
    );
    let _ = writeln!(out, "espresso_store_syncs_total {}", state.store().syncs());
    if let Some(checkpoints) = state.store().checkpoints() {
        out.push_str(
            "# HELP espresso_store_checkpoints_total Times the SQLite write-ahead log was copied \
             back into the database and started over (every --checkpoint-pages pages).\n\
             # TYPE espresso_store_checkpoints_total counter\n",
        );
        let _ = writeln!(out, "espresso_store_checkpoints_total {checkpoints}");
    }
    let deadlines = &crate::tasks::DEADLINES;
    out.push_str(
        "# HELP espresso_deadlines_total Deadlines by outcome: fired, dropped (can never fire), \
         retried (a passing failure).\n",
    );
    out.push_str("# TYPE espresso_deadlines_total counter\n");
    for (outcome, count) in [
        ("fired", &deadlines.fired),
        ("dropped", &deadlines.dropped),
        ("retried", &deadlines.retried),
    ] {
        let _ = writeln!(
            out,
            "espresso_deadlines_total{{outcome=\"{outcome}\"}} {}",
            count.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
