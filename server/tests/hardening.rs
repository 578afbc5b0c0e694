//! Hardening (docs/SECURITY.md): what an anonymous or hostile caller can no longer do to a
//! running server. Each test pins one finding of the attack round: it failed before its fix.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{TestServer, request_code};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Read until the server closes the connection (or `limit` passes); what it sent, and whether
/// it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return (received, false),
            Ok(Ok(0) | Err(_)) => return (received, true),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

fn addr(server: &TestServer) -> std::net::SocketAddr {
    server.server().local_addr()
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_dropped_within_the_timeout() {
    let server = TestServer::start_with(|config| config.header_timeout_s = 1).await;
    let mut slow = TcpStream::connect(addr(&server)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(addr(&server)).await.unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(closed, "a slow-headers connection stays open");
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(closed, "a silent connection stays open");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let server = TestServer::start_with(|config| config.header_timeout_s = 1).await;
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{answer:?}"
    );
    assert!(closed, "the connection stayed open, idle, past the timeout");
}

#[tokio::test]
async fn connections_over_the_per_address_cap_are_closed_at_once_and_places_come_back() {
    let server = TestServer::start_with(|config| config.max_connections_per_address = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr(&server)).await.unwrap());
    }
    // The server counts a connection when it accepts it: give it the moment to.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.server().open_connections() < 3 {
        assert!(
            Instant::now() < deadline,
            "the three connections were not counted"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut fourth = TcpStream::connect(addr(&server)).await.unwrap();
    fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut fourth, Duration::from_secs(5)).await;
    assert!(
        closed && answer.is_empty(),
        "the fourth was served: {answer:?}"
    );
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _) = server.get("/shops/main", None).await;
        if status == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a closed connection did not give its place back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_live_socket_keeps_its_place_under_the_cap_after_the_upgrade() {
    let server = TestServer::start_with(|config| config.max_connections_per_address = 2).await;
    let url = format!("ws://{}/api/v1/live", addr(&server));
    let (_live, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let _other = TcpStream::connect(addr(&server)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.server().open_connections() < 2 {
        assert!(
            Instant::now() < deadline,
            "the two connections were not counted"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let third = tokio_tungstenite::connect_async(&url).await;
    assert!(
        third.is_err(),
        "a third socket from one address was accepted"
    );
}

#[tokio::test]
async fn a_body_that_trickles_in_is_answered_408_within_the_request_timeout() {
    let server = TestServer::start_with(|config| config.request_timeout_s = 1).await;
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/auth/otp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn stopping_finishes_within_the_grace_while_a_slow_client_holds_a_request() {
    let server = TestServer::start_with(|config| {
        config.shutdown_grace_s = 1;
        config.request_timeout_s = 120;
    })
    .await;
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/auth/otp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut server = server;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("the server did not stop while a slow client was connected");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_pages_a_strict_csp() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/api/v1/shops/main", "/order"] {
        let response = server
            .http
            .get(format!("{}{path}", server.server().url()))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{path}: no {name}"))
                .to_owned()
        };
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("'unsafe-eval'"), "{path}: {csp}");
        assert!(
            !csp.contains("script-src 'self' 'unsafe-inline'"),
            "{path}: {csp}"
        );
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_its_wal_the_secret_and_the_mails_are_readable_by_the_server_user_only() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mail = root.path().join("mail");
    let (database, mails) = (data.join("espresso.db"), mail.clone());
    let server = TestServer::start_with(|config| {
        config.database = format!("sqlite://{}", database.display());
        config.mailer = format!("dir:{}", mails.display());
    })
    .await;
    let _ = request_code_in(&server, &mail, "ann@example.com").await;
    assert_eq!(mode(&data), 0o700, "the database folder");
    for file in [
        "espresso.db",
        "espresso.db-wal",
        "espresso.db-shm",
        "espresso.db.secret",
    ] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&mail), 0o700, "the mail folder");
    for entry in std::fs::read_dir(&mail).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

/// Ask for a code with the mail going to `mail`; the code.
async fn request_code_in(server: &TestServer, mail: &Path, email: &str) -> String {
    let (status, body) = server
        .post("/auth/otp", None, json!({ "email": email }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let deadline = Instant::now() + common::PATIENCE;
    loop {
        let found = std::fs::read_dir(mail).ok().and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .find_map(|e| {
                    espresso_protocol::maildir::code_in(&std::fs::read_to_string(e.path()).ok()?)
                })
        });
        if let Some(code) = found {
            return code;
        }
        assert!(Instant::now() < deadline, "no mail");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn no_token_and_no_code_hash_anyone_can_reverse_is_in_the_database_files() {
    let mut server = TestServer::start().await;
    let (challenge, code) = request_code(&server, "ann@example.com").await;
    let (status, body) = common::verify(&server, &challenge.challenge_id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first: espresso_protocol::Session = serde_json::from_value(body).unwrap();
    // A refresh and a keyed command too: their answers once went to the idempotency table.
    let refreshed = server
        .request(reqwest::Method::POST, "/auth/refresh", None)
        .header("Idempotency-Key", "refresh-1")
        .json(&json!({ "refresh_token": first.refresh_token }))
        .send()
        .await
        .unwrap();
    let (status, body) = common::read(refreshed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second: espresso_protocol::Session = serde_json::from_value(body).unwrap();
    let bare_code_hash =
        espresso_server::auth::hash_secret(&format!("{}:{code}", challenge.challenge_id));
    server.stop().await;
    let at_rest = server.at_rest().await;
    for (what, secret) in [
        ("first access token", first.access_token.as_str()),
        ("first refresh token", first.refresh_token.as_str()),
        ("second access token", second.access_token.as_str()),
        ("second refresh token", second.refresh_token.as_str()),
        ("unkeyed code hash", bare_code_hash.as_str()),
    ] {
        assert!(
            !at_rest.contains(secret),
            "the {what} is in the database files"
        );
    }
}

/// A client that connects from `ip` (any 127.x address is this machine).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn asking_for_someone_elses_codes_from_another_address_does_not_delay_their_sign_in() {
    let server = TestServer::start().await;
    let victim = "barista@example.com";
    let url = server.api("/auth/otp");
    let attacker = client_from("127.0.0.2");
    // The attacker uses up what one address may ask for this email in an hour...
    let mut refused = false;
    for _ in 0..6 {
        let response = attacker
            .post(&url)
            .json(&json!({ "email": victim }))
            .send()
            .await
            .unwrap();
        refused |= response.status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(refused, "the attacker's own address is limited");
    // ...and the victim, on their own address, asks at once and gets a code.
    let response = client_from("127.0.0.3")
        .post(&url)
        .json(&json!({ "email": victim }))
        .send()
        .await
        .unwrap();
    let (status, body) = common::read(response).await;
    assert_eq!(status, StatusCode::ACCEPTED, "the victim waits: {body}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_counts_and_from_anyone_else_it_does_not() {
    let proxied = TestServer::start_with(|config| {
        config.trusted_proxy = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let direct = TestServer::start().await;
    let ask = |server: &TestServer, forwarded: &'static str| {
        let request = server
            .http
            .post(server.api("/auth/otp"))
            .header("X-Forwarded-For", forwarded)
            .json(&json!({ "email": "ann@example.com" }));
        async move { request.send().await.unwrap().status() }
    };
    // One email from one address: the second ask within 30 s is "wait". Through the trusted
    // proxy, two clients are two addresses; straight from a client, its header is ignored.
    assert_eq!(ask(&proxied, "198.51.100.1").await, StatusCode::ACCEPTED);
    assert_eq!(ask(&proxied, "198.51.100.2").await, StatusCode::ACCEPTED);
    assert_eq!(ask(&direct, "198.51.100.1").await, StatusCode::ACCEPTED);
    assert_eq!(
        ask(&direct, "198.51.100.2").await,
        StatusCode::TOO_MANY_REQUESTS,
        "a client's own X-Forwarded-For was believed"
    );
}

#[tokio::test]
async fn tls_end_to_end_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let server = TestServer::start_with(|config| {
        config.tls_cert = Some(cert.clone());
        config.tls_key = Some(key.clone());
    })
    .await;
    let port = addr(&server).port();
    let root = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap();
    let https = reqwest::Client::builder()
        .add_root_certificate(root)
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    let base = format!("https://localhost:{port}");
    let response = https
        .get(format!("{base}/api/v1/shops/main"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers().contains_key("strict-transport-security"),
        "HSTS over TLS"
    );
    // Sign-in codes go over it too.
    let response = https
        .post(format!("{base}/api/v1/auth/otp"))
        .json(&json!({ "email": "ann@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    // Plain HTTP on the TLS port gets nothing.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    // The live stream over wss.
    let connector =
        tokio_tungstenite::Connector::NativeTls(native_tls_connector(&certified.cert.pem()));
    let request = format!("wss://localhost:{port}/api/v1/live");
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut live, _) =
        tokio_tungstenite::client_async_tls_with_config(request, stream, None, Some(connector))
            .await
            .unwrap();
    use futures::{SinkExt, StreamExt};
    live.send(tokio_tungstenite::tungstenite::Message::text(
        json!({ "type": "hello", "token": null, "shop": "main", "since": null }).to_string(),
    ))
    .await
    .unwrap();
    let welcome = tokio::time::timeout(common::PATIENCE, live.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        welcome.to_text().unwrap().contains("welcome"),
        "{welcome:?}"
    );
}

fn native_tls_connector(root_pem: &str) -> native_tls::TlsConnector {
    native_tls::TlsConnector::builder()
        .add_root_certificate(native_tls::Certificate::from_pem(root_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn keyed_requests_that_change_nothing_leave_nothing_on_disk() {
    let server = TestServer::start().await;
    let session = common::sign_in(&server, "ann@example.com").await;
    let long = "x".repeat(4_000);
    for i in 0..200 {
        // Anonymous, to a route that does not exist, with a long path.
        let response = server
            .http
            .post(server.api(&format!("/shops/main/{long}{i}")))
            .header("Idempotency-Key", format!("k{i}"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error());
        // Anonymous, to a real route.
        let response = server
            .http
            .patch(server.api("/me"))
            .header("Idempotency-Key", format!("a{i}"))
            .json(&json!({ "display_name": "Ann" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Signed in, but refused: a refusal is judged again on a retry, not remembered.
    for i in 0..20 {
        let response = server
            .http
            .patch(server.api("/me"))
            .bearer_auth(&session.access_token)
            .header("Idempotency-Key", format!("bad{i}"))
            .json(&json!({ "display_name": "x".repeat(200) }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(server.count_rows("idempotency_keys").await, 0);
    // A signed-in caller's successful keyed change is remembered, under a fixed-size scope.
    let response = server
        .http
        .patch(server.api("/me"))
        .bearer_auth(&session.access_token)
        .header("Idempotency-Key", "ok")
        .json(&json!({ "display_name": "Ann" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.count_rows("idempotency_keys").await, 1);
}

#[tokio::test]
async fn metrics_need_an_admin_token_unless_asked_from_this_machine() {
    // The proxy on this machine says the request came from outside.
    let server = TestServer::start_with(|config| {
        config.trusted_proxy = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let metrics = |token: Option<String>, forwarded: Option<&'static str>| {
        let mut request = server
            .http
            .get(format!("{}/metrics", server.server().url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(forwarded) = forwarded {
            request = request.header("X-Forwarded-For", forwarded);
        }
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(
        metrics(None, None).await,
        StatusCode::OK,
        "a scraper on this machine"
    );
    assert_eq!(
        metrics(None, Some("198.51.100.7")).await,
        StatusCode::UNAUTHORIZED
    );
    let customer = common::sign_in(&server, "ann@example.com").await;
    assert_eq!(
        metrics(Some(customer.access_token), Some("198.51.100.7")).await,
        StatusCode::FORBIDDEN
    );
    let admin = common::sign_in_as(
        &server,
        "owner@example.com",
        &[espresso_protocol::Role::Admin],
    )
    .await;
    assert_eq!(
        metrics(Some(admin.access_token), Some("198.51.100.7")).await,
        StatusCode::OK
    );
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_the_real_server_within_its_grace_while_a_slow_client_is_connected() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let mut server = common::Binary::serve(|command| {
        command
            .args(["--shutdown-grace-s", "1", "--request-timeout-s", "120"])
            .arg("--database")
            .arg(format!(
                "sqlite://{}",
                dir.path().join("espresso.db").display()
            ));
    });
    let address = server.url.strip_prefix("http://").unwrap().to_owned();
    // A client that sends half a body and then nothing.
    let mut slow = TcpStream::connect(&address).await.unwrap();
    slow.write_all(
        b"POST /api/v1/auth/otp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        if Instant::now() > deadline {
            panic!("the server was still running 10 s after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    drop(slow);
}

#[tokio::test]
async fn unreadable_path_parameters_and_bodies_of_the_wrong_shape_are_problems() {
    let server = TestServer::start().await;
    let admin = common::sign_in_as(
        &server,
        "owner@example.com",
        &[espresso_protocol::Role::Admin],
    )
    .await;
    // A shop id that is not UTF-8: a problem, not axum's plain text.
    let response = server
        .http
        .get(format!(
            "{}/api/v1/shops/%FF%FE/orders",
            server.server().url()
        ))
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .unwrap();
    let (status, body) = common::read(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "bad_request");
    // An array where the contract says object: serde would read it as the fields in order
    // (name, open, limits) and open the shop.
    let (status, body) = server
        .send(
            reqwest::Method::PATCH,
            "/shops/main",
            Some(&admin.access_token),
            Some(json!([null, true, null])),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "validation_failed");
    // Nor nested: a shop's limits given as an array.
    let (status, body) = server
        .send(
            reqwest::Method::PATCH,
            "/shops/main",
            Some(&admin.access_token),
            Some(json!({ "limits": [1] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "validation_failed");
    // And an object where the contract says array.
    let (status, body) = server
        .send(
            reqwest::Method::PUT,
            "/shops/main/menu",
            Some(&admin.access_token),
            Some(json!({ "items": [] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Nothing changed: the shop is still closed, the menu as it was.
    let (_, shop) = server.get("/shops/main", None).await;
    assert_eq!(shop["open"], false);
    assert_ne!(shop["limits"]["drinks_per_code"], 1, "{shop}");
    assert!(!shop["menu"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_method_a_route_does_not_take_is_a_problem_that_says_which_it_does() {
    let server = TestServer::start().await;
    let response = server.http.delete(server.api("/me")).send().await.unwrap();
    let allow = response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (status, body) = common::read(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(body["code"], "method_not_allowed");
    assert!(
        allow.contains("GET") && allow.contains("PATCH"),
        "Allow: {allow:?}"
    );
}
