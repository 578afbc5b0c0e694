//! Sign-in mail over SMTP, end to end: the real `espresso-server` sends through an SMTP server
//! this test runs (STARTTLS with its own certificate authority), and the code in that mail signs
//! the customer in. The message has a text and an HTML part, the code in both. An invitation
//! goes out the same way, its sign-in link in both parts.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader as AsyncBufReader,
};
use tokio::net::TcpListener;

/// What the sink saw of one message.
#[derive(Debug, Clone, Default)]
struct Received {
    from: String,
    to: String,
    data: String,
}

/// A minimal SMTP server: EHLO, STARTTLS (required: before it, anything but EHLO and QUIT is
/// refused with 530, so every message it records came over TLS), MAIL, RCPT, DATA, QUIT.
async fn smtp_sink(
    listener: TcpListener,
    tls: tokio_rustls::TlsAcceptor,
    received: Arc<Mutex<Vec<Received>>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (tls, received) = (tls.clone(), Arc::clone(&received));
        tokio::spawn(async move {
            let mut plain = AsyncBufReader::new(stream);
            plain
                .get_mut()
                .write_all(b"220 sink ESMTP\r\n")
                .await
                .unwrap();
            // Before TLS: only EHLO and STARTTLS.
            loop {
                let line = read_line(&mut plain).await;
                let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                match verb.as_str() {
                    "EHLO" => plain
                        .get_mut()
                        .write_all(b"250-sink\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
                        .await
                        .unwrap(),
                    "STAR" => {
                        plain
                            .get_mut()
                            .write_all(b"220 go ahead\r\n")
                            .await
                            .unwrap();
                        break;
                    }
                    "QUIT" | "" => return,
                    _ => plain
                        .get_mut()
                        .write_all(b"530 must issue STARTTLS first\r\n")
                        .await
                        .unwrap(),
                }
            }
            let stream = tls.accept(plain.into_inner()).await.unwrap();
            let message = session(AsyncBufReader::new(stream)).await;
            if let Some(message) = message {
                received.lock().unwrap().push(message);
            }
        });
    }
}

async fn read_line<S: AsyncRead + Unpin>(stream: &mut AsyncBufReader<S>) -> String {
    let mut line = String::new();
    let _ = stream.read_line(&mut line).await;
    line.trim_end_matches(['\r', '\n']).to_owned()
}

/// The SMTP conversation after STARTTLS; the message, if one was sent.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: AsyncBufReader<S>,
) -> Option<Received> {
    let mut message = Received::default();
    loop {
        let line = read_line(&mut stream).await;
        let upper = line.to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            message.from = line[10..].trim().to_owned();
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            message.to = line[8..].trim().to_owned();
            b"250 ok\r\n"
        } else if upper == "DATA" {
            stream
                .get_mut()
                .write_all(b"354 end with .\r\n")
                .await
                .ok()?;
            loop {
                let line = read_line(&mut stream).await;
                if line == "." {
                    break;
                }
                message
                    .data
                    .push_str(line.strip_prefix('.').unwrap_or(&line));
                message.data.push('\n');
            }
            b"250 queued\r\n"
        } else if upper == "QUIT" || line.is_empty() {
            let _ = stream.get_mut().write_all(b"221 bye\r\n").await;
            return (!message.data.is_empty()).then_some(message);
        } else {
            b"250 ok\r\n"
        };
        stream.get_mut().write_all(answer).await.ok()?;
    }
}

/// The decoded text of a quoted-printable part (soft line breaks joined, `=XX` decoded).
fn unquote(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An SMTP sink on a free port with its own CA (written to `dir/ca.pem`): the port and what it
/// receives.
async fn start_sink(dir: &std::path::Path) -> (u16, Arc<Mutex<Vec<Received>>>) {
    // The sink's certificate, from a CA the server is told to trust (SSL_CERT_FILE, as OpenSSL
    // reads it) — as a café's mail relay with the company's own CA would be.
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    std::fs::write(dir.join("ca.pem"), certified.cert.pem()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![certified.cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into()),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(smtp_sink(
        listener,
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        Arc::clone(&received),
    ));
    (port, received)
}

/// The `n`th message (0-based) the sink received, waiting for it.
async fn nth_message(received: &Mutex<Vec<Received>>, n: usize) -> Received {
    let deadline = Instant::now() + common::PATIENCE;
    loop {
        if let Some(message) = received.lock().unwrap().get(n).cloned() {
            return message;
        }
        assert!(
            Instant::now() < deadline,
            "no mail {n} reached the SMTP server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The 6-digit code alone on a line of a message.
fn code_in(data: &str) -> String {
    data.lines()
        .map(str::trim)
        .find(|line| line.len() == 6 && line.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code alone on a line of the text part: {data}"))
        .to_owned()
}

#[tokio::test]
async fn a_sign_in_code_goes_out_over_smtp_with_starttls_and_signs_the_customer_in() {
    let dir = tempfile::tempdir().unwrap();
    let (port, received) = start_sink(dir.path()).await;
    let ca = dir.path().join("ca.pem");

    let server = common::Binary::serve(|command| {
        command
            .arg("--database")
            .arg(format!(
                "sqlite://{}",
                dir.path().join("espresso.db").display()
            ))
            .arg("--mailer")
            .arg(format!(
                "smtp://127.0.0.1:{port}?tls=required&from=coffee@cafe.example"
            ))
            .env("SSL_CERT_FILE", &ca)
            .env_remove("SSL_CERT_DIR");
    });
    let url = server.url.clone();

    let http = reqwest::Client::new();
    let challenge: Value = http
        .post(format!("{url}/api/v1/auth/otp"))
        .json(&json!({ "email": "ann@example.com" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let message = nth_message(&received, 0).await;
    assert_eq!(message.from, "<coffee@cafe.example>");
    assert_eq!(message.to, "<ann@example.com>");
    let data = unquote(&message.data);
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("text/plain"), "{data}");
    assert!(data.contains("text/html"), "{data}");
    let code = code_in(&data);
    assert!(
        data.contains(&format!(">{code}</p>")),
        "the HTML part shows the code in its own paragraph: {data}"
    );
    // The code in the mail signs the customer in.
    let response = http
        .post(format!("{url}/api/v1/auth/otp/verify"))
        .json(&json!({ "challenge_id": challenge["challenge_id"], "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
}

#[tokio::test]
async fn an_invitation_goes_out_over_smtp_with_its_link_in_text_and_html_and_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let (port, received) = start_sink(dir.path()).await;
    let ca = dir.path().join("ca.pem");
    let server = common::Binary::serve(|command| {
        command
            .arg("--database")
            .arg(format!(
                "sqlite://{}",
                dir.path().join("espresso.db").display()
            ))
            .arg("--mailer")
            .arg(format!(
                "smtp://127.0.0.1:{port}?tls=required&from=coffee@cafe.example"
            ))
            .arg("--admin")
            .arg("boss@cafe.example")
            .arg("--public-url")
            .arg("https://cafe.example")
            .env("SSL_CERT_FILE", &ca)
            .env_remove("SSL_CERT_DIR");
    });
    let url = server.url.clone();
    let http = reqwest::Client::new();
    // The admin signs in with a code from the sink.
    let challenge: Value = http
        .post(format!("{url}/api/v1/auth/otp"))
        .json(&json!({ "email": "boss@cafe.example" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = code_in(&unquote(&nth_message(&received, 0).await.data));
    let session: Value = http
        .post(format!("{url}/api/v1/auth/otp/verify"))
        .json(&json!({ "challenge_id": challenge["challenge_id"], "code": code }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = session["access_token"].as_str().unwrap().to_owned();

    let response = http
        .post(format!("{url}/api/v1/staff/invitations"))
        .bearer_auth(&admin)
        .json(&json!({"email": "bea@cafe.example", "roles": ["barista"], "shop": "main"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let message = nth_message(&received, 1).await;
    assert_eq!(message.to, "<bea@cafe.example>");
    let data = unquote(&message.data);
    assert!(
        data.contains("Subject: You're on the team at Espresso"),
        "{data}"
    );
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("text/html"), "{data}");
    let link = data
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("https://cafe.example/barista?shop=main&signin="))
        .unwrap_or_else(|| panic!("no link alone on a line of the text part: {data}"))
        .to_owned();
    assert!(
        data.contains(&format!("href=\"{}\"", link.replace('&', "&amp;"))),
        "the HTML part links it: {data}"
    );
    let (_, token) = link.split_once("&signin=").unwrap();
    let response = http
        .post(format!("{url}/api/v1/auth/link"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
}
