//! Sign-in, sessions, `/me` and roles over HTTP against the real server on 127.0.0.1:0, with
//! codes read from the `dir:` mailer's messages. Rules that need a clock (expiry, the hourly
//! limits) are unit-tested in `auth::otp` and `auth::rate_limit` with a fake one.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;

use common::{TestServer, problem, request_code, sign_in, sign_in_as, verify, wait_for_new_code};
use espresso_protocol::{ErrorCode, Me, OtpChallenge, Role, TokenType, User, parse_otp_link};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().expect("6 digits");
    format!("{:06}", (n + 1) % 1_000_000)
}

fn assert_problem(status: StatusCode, body: &Value, expected: StatusCode, code: ErrorCode) {
    assert_eq!(status, expected, "{body}");
    let problem = problem(body);
    assert_eq!(problem.code, code, "{body}");
    assert_eq!(problem.status, expected.as_u16(), "{body}");
}

#[tokio::test]
async fn signing_in_with_the_mailed_code_creates_a_customer() {
    let server = TestServer::start().await;
    let session = sign_in(&server, "Ann@Example.com").await;
    assert_eq!(session.token_type, TokenType::Bearer);
    assert_eq!(session.expires_in_s, 900);
    assert_eq!(session.user.email, "ann@example.com");
    assert_eq!(session.user.roles, vec![Role::Customer]);
    assert!(!session.access_token.is_empty() && !session.refresh_token.is_empty());

    let (status, body) = server.get("/me", Some(&session.access_token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let me: Me = serde_json::from_value(body).unwrap();
    assert_eq!(me.id, session.user.id);
    assert_eq!(me.display_name, None);
}

#[tokio::test]
async fn a_code_asked_from_a_page_mails_a_link_back_to_that_page_which_signs_in() {
    let server = TestServer::start().await;
    let email = "ann@example.com";
    let before: HashSet<PathBuf> = server.mails_to(email).into_iter().collect();
    let (status, body) = server
        .post(
            "/auth/otp",
            None,
            json!({ "email": email, "link_to": { "app": "customer", "shop": "main" } }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let challenge: OtpChallenge = serde_json::from_value(body).unwrap();
    let code = wait_for_new_code(&server, email, &before).await;
    let newest = server.mails_to(email).into_iter().next_back().unwrap();
    let message = std::fs::read_to_string(newest).unwrap();
    let link = message
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("http"))
        .unwrap_or_else(|| panic!("no link in {message}"));
    assert_eq!(
        link,
        format!(
            "http://127.0.0.1:0/order?shop=main&otp={}.{code}",
            challenge.challenge_id
        ),
        "the customer's page, with the challenge and its code"
    );
    // What the page reads from the link is what it verifies with.
    let (_, param) = link.split_once("&otp=").unwrap();
    let (challenge_id, link_code) = parse_otp_link(param).expect("a well-formed link");
    let (status, body) = verify(&server, challenge_id, link_code).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Asked without a page, the mail has the code alone.
    let (_, code) = request_code(&server, "bob@example.com").await;
    let plain = server
        .mails_to("bob@example.com")
        .into_iter()
        .next_back()
        .unwrap();
    let plain = std::fs::read_to_string(plain).unwrap();
    assert!(plain.contains(&code) && !plain.contains("otp="), "{plain}");
}

#[tokio::test]
async fn a_link_to_no_app_page_is_refused_and_counts_for_nothing() {
    let server = TestServer::start().await;
    for link_to in [
        json!({ "app": "home", "shop": "main" }),
        json!({ "app": "customer", "shop": "Main Street" }),
        json!({ "app": "kitchen", "shop": "main" }),
        json!({ "app": "customer" }),
    ] {
        let (status, body) = server
            .post(
                "/auth/otp",
                None,
                json!({ "email": "ann@example.com", "link_to": link_to }),
            )
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
        );
    }
    assert!(server.mails_to("ann@example.com").is_empty());
    // None of them took the address's turn: a code may be asked for at once (a second one
    // within 30 s would be refused).
    request_code(&server, "ann@example.com").await;
}

#[tokio::test]
async fn a_second_sign_in_is_the_same_user() {
    let server = TestServer::start().await;
    let first = sign_in(&server, "ann@example.com").await;
    let later = sign_in(&server, "bob@example.com").await;
    assert_ne!(first.user.id, later.user.id);
    let store = server.store();
    let ann = store
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ann.id, first.user.id);
}

#[tokio::test]
async fn the_answer_is_the_same_for_unknown_and_known_emails() {
    let server = TestServer::start().await;
    server.grant("known@example.com", &[Role::Barista]).await;
    let (known_status, known) = server
        .post("/auth/otp", None, json!({"email": "known@example.com"}))
        .await;
    let (unknown_status, unknown) = server
        .post("/auth/otp", None, json!({"email": "stranger@example.com"}))
        .await;
    assert_eq!(known_status, StatusCode::ACCEPTED);
    assert_eq!(unknown_status, StatusCode::ACCEPTED);
    let shape = |body: &Value| {
        let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(shape(&known), shape(&unknown));
    let known: OtpChallenge = serde_json::from_value(known).unwrap();
    let unknown: OtpChallenge = serde_json::from_value(unknown).unwrap();
    assert_eq!((known.expires_in_s, known.resend_after_s), (600, 30));
    assert_eq!(
        (unknown.expires_in_s, unknown.resend_after_s),
        (known.expires_in_s, known.resend_after_s)
    );
    assert_eq!(known.challenge_id.len(), unknown.challenge_id.len());
    // Asking created nobody; only a right code does.
    let store = server.store();
    assert!(
        store
            .user_by_email("stranger@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_malformed_email_is_refused_with_validation_failed() {
    let server = TestServer::start().await;
    for email in [
        "ann",
        "ann@example",
        "a b@example.com",
        &format!("{}@example.com", "a".repeat(250)),
    ] {
        let (status, body) = server
            .post("/auth/otp", None, json!({ "email": email }))
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
        );
    }
}

#[tokio::test]
async fn a_wrong_code_says_how_many_tries_are_left() {
    let server = TestServer::start().await;
    let (challenge, code) = request_code(&server, "ann@example.com").await;
    for left in [4, 3] {
        let (status, body) = verify(&server, &challenge.challenge_id, &wrong(&code)).await;
        assert_problem(
            status,
            &body,
            StatusCode::UNAUTHORIZED,
            ErrorCode::CodeIncorrect,
        );
        assert_eq!(problem(&body).attempts_left, Some(left), "{body}");
    }
    // Still good after two mistakes.
    let (status, body) = verify(&server, &challenge.challenge_id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn five_wrong_tries_lock_the_challenge_even_for_the_right_code() {
    let server = TestServer::start().await;
    let (challenge, code) = request_code(&server, "ann@example.com").await;
    for _ in 0..4 {
        let (status, body) = verify(&server, &challenge.challenge_id, &wrong(&code)).await;
        assert_problem(
            status,
            &body,
            StatusCode::UNAUTHORIZED,
            ErrorCode::CodeIncorrect,
        );
    }
    let (status, body) = verify(&server, &challenge.challenge_id, &wrong(&code)).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeLocked,
    );
    let (status, body) = verify(&server, &challenge.challenge_id, &code).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeLocked,
    );
    assert!(
        server
            .store()
            .user_by_email("ann@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_used_code_cannot_sign_in_twice() {
    let server = TestServer::start().await;
    let (challenge, code) = request_code(&server, "ann@example.com").await;
    let (status, body) = verify(&server, &challenge.challenge_id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = verify(&server, &challenge.challenge_id, &code).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeExpired,
    );
}

#[tokio::test]
async fn a_code_is_only_good_for_its_own_challenge() {
    let server = TestServer::start().await;
    let (_, ann_code) = request_code(&server, "ann@example.com").await;
    let (bob_challenge, bob_code) = request_code(&server, "bob@example.com").await;
    if ann_code != bob_code {
        let (status, body) = verify(&server, &bob_challenge.challenge_id, &ann_code).await;
        assert_problem(
            status,
            &body,
            StatusCode::UNAUTHORIZED,
            ErrorCode::CodeIncorrect,
        );
    }
    let (status, body) = verify(&server, "otp_made_up", &bob_code).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::CodeExpired,
    );
}

#[tokio::test]
async fn asking_again_within_30_seconds_is_rate_limited_with_retry_after() {
    let server = TestServer::start().await;
    let (status, _) = server
        .post("/auth/otp", None, json!({"email": "ann@example.com"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let response = server
        .request(Method::POST, "/auth/otp", None)
        .json(&json!({"email": "ANN@example.com"}))
        .send()
        .await
        .unwrap();
    let retry_after: u64 = response
        .headers()
        .get(header::RETRY_AFTER)
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let (status, body) = common::read(response).await;
    assert_problem(
        status,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RateLimited,
    );
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(problem(&body).retry_after_s, Some(retry_after));
    // Another address is not held up by Ann's limit.
    let (status, _) = server
        .post("/auth/otp", None, json!({"email": "bob@example.com"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_refresh_rotates_and_replaying_the_old_token_ends_the_session() {
    let server = TestServer::start().await;
    let first = sign_in(&server, "ann@example.com").await;
    let (status, body) = server
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": first.refresh_token}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second: espresso_protocol::Session = serde_json::from_value(body).unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.user, first.user);
    let (status, _) = server.get("/me", Some(&second.access_token)).await;
    assert_eq!(status, StatusCode::OK);

    // The spent token again: someone copied it. The whole family dies.
    let (status, body) = server
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": first.refresh_token}),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::TokenReused,
    );
    let (status, body) = server.get("/me", Some(&second.access_token)).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
    let (status, body) = server
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": second.refresh_token}),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
}

#[tokio::test]
async fn an_unknown_refresh_token_is_unauthenticated() {
    let server = TestServer::start().await;
    let (status, body) = server
        .post("/auth/refresh", None, json!({"refresh_token": "rt_forged"}))
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
}

#[tokio::test]
async fn signing_out_ends_the_access_and_the_refresh_token() {
    let server = TestServer::start().await;
    let session = sign_in(&server, "ann@example.com").await;
    server.sign_out(&session.access_token).await;
    let (status, body) = server.get("/me", Some(&session.access_token)).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
    let (status, body) = server
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": session.refresh_token}),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
}

#[tokio::test]
async fn signing_out_ends_only_that_session() {
    let server = TestServer::start().await;
    let phone = sign_in(&server, "ann@example.com").await;
    server.grant("bob@example.com", &[]).await;
    let laptop = sign_in(&server, "bob@example.com").await;
    server.sign_out(&phone.access_token).await;
    let (status, _) = server.get("/me", Some(&laptop.access_token)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn signing_out_needs_a_token() {
    let server = TestServer::start().await;
    let (status, body) = server.send(Method::POST, "/auth/logout", None, None).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
}

#[tokio::test]
async fn me_round_trips_the_display_name() {
    let server = TestServer::start().await;
    let session = sign_in(&server, "ann@example.com").await;
    let token = Some(session.access_token.as_str());
    let patch = |body: Value| server.send(Method::PATCH, "/me", token, Some(body));

    let (status, body) = patch(json!({"display_name": "  Ann  "})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["display_name"], "Ann");
    let (_, body) = server.get("/me", token).await;
    let me: Me = serde_json::from_value(body).unwrap();
    assert_eq!(me.display_name.as_deref(), Some("Ann"));
    assert_eq!(me.email, "ann@example.com");

    // A PATCH without the field leaves it; 32 characters fit; blank clears.
    let (_, body) = patch(json!({})).await;
    assert_eq!(body["display_name"], "Ann");
    let (status, body) = patch(json!({"display_name": "é".repeat(32)})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = patch(json!({"display_name": "   "})).await;
    assert_eq!(body["display_name"], Value::Null);
    let (_, body) = server.get("/me", token).await;
    assert_eq!(body["display_name"], Value::Null);
}

#[tokio::test]
async fn a_display_name_of_33_characters_is_refused() {
    let server = TestServer::start().await;
    let session = sign_in(&server, "ann@example.com").await;
    let token = Some(session.access_token.as_str());
    let (status, body) = server
        .send(
            Method::PATCH,
            "/me",
            token,
            Some(json!({"display_name": "a".repeat(33)})),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );
    let (status, body) = server
        .send(
            Method::PATCH,
            "/me",
            token,
            Some(json!({"display_name": 7})),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );
    let (_, body) = server.get("/me", token).await;
    assert_eq!(body["display_name"], Value::Null);
}

#[tokio::test]
async fn me_needs_a_valid_token() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/me", None).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
    let (status, body) = server.get("/me", Some("at_forged")).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
}

#[tokio::test]
async fn an_admin_sets_roles_and_creates_unknown_users() {
    let server = TestServer::start().await;
    let admin = sign_in_as(&server, "boss@example.com", &[Role::Admin]).await;
    assert!(admin.user.roles.contains(&Role::Admin));
    let (status, body) = server
        .send(
            Method::PUT,
            "/users/New.Barista@example.com/roles",
            Some(&admin.access_token),
            Some(json!({"roles": ["barista", "display"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user: User = serde_json::from_value(body).unwrap();
    assert_eq!(user.email, "new.barista@example.com");
    assert_eq!(
        user.roles,
        vec![Role::Customer, Role::Barista, Role::Display]
    );

    // The new barista signs in with those roles.
    let barista = sign_in(&server, "new.barista@example.com").await;
    assert_eq!(barista.user.id, user.id);
    assert!(barista.user.can_act_as(Role::Barista));

    // The list replaces: an empty one leaves a plain customer.
    let (status, body) = server
        .send(
            Method::PUT,
            "/users/new.barista@example.com/roles",
            Some(&admin.access_token),
            Some(json!({"roles": []})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["roles"], json!(["customer"]));
}

#[tokio::test]
async fn setting_roles_needs_an_admin() {
    let server = TestServer::start().await;
    let body = json!({"roles": ["barista"]});
    let path = "/users/ann@example.com/roles";
    let (status, answer) = server
        .send(Method::PUT, path, None, Some(body.clone()))
        .await;
    assert_problem(
        status,
        &answer,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
    let customer = sign_in(&server, "ann@example.com").await;
    let (status, answer) = server
        .send(
            Method::PUT,
            path,
            Some(&customer.access_token),
            Some(body.clone()),
        )
        .await;
    assert_problem(status, &answer, StatusCode::FORBIDDEN, ErrorCode::Forbidden);
    let barista = sign_in_as(&server, "bob@example.com", &[Role::Barista]).await;
    let (status, answer) = server
        .send(Method::PUT, path, Some(&barista.access_token), Some(body))
        .await;
    assert_problem(status, &answer, StatusCode::FORBIDDEN, ErrorCode::Forbidden);
    let (_, me) = server.get("/me", Some(&customer.access_token)).await;
    assert_eq!(me["roles"], json!(["customer"]));
}

#[tokio::test]
async fn roles_for_a_malformed_email_or_role_are_refused() {
    let server = TestServer::start().await;
    let admin = sign_in_as(&server, "boss@example.com", &[Role::Admin]).await;
    let token = Some(admin.access_token.as_str());
    let (status, body) = server
        .send(
            Method::PUT,
            "/users/not-an-email/roles",
            token,
            Some(json!({"roles": []})),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );
    let (status, body) = server
        .send(
            Method::PUT,
            "/users/ann@example.com/roles",
            token,
            Some(json!({"roles": ["owner"]})),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );
}

#[tokio::test]
async fn bad_bodies_are_problems_not_crashes() {
    let server = TestServer::start().await;
    let raw = |content_type: &'static str, body: Vec<u8>| {
        server
            .request(Method::POST, "/auth/otp", None)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };

    let (status, body) = common::read(
        raw("application/json", b"{\"email\": ".to_vec())
            .await
            .unwrap(),
    )
    .await;
    assert_problem(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        ErrorCode::BadRequest,
    );

    let unknown_field = br#"{"email": "ann@example.com", "admin": true}"#.to_vec();
    let (status, body) = common::read(raw("application/json", unknown_field).await.unwrap()).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );

    let wrong_type = br#"{"email": 42}"#.to_vec();
    let (status, body) = common::read(raw("application/json", wrong_type).await.unwrap()).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );

    let text = b"email=ann@example.com".to_vec();
    let (status, body) = common::read(raw("text/plain", text).await.unwrap()).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::UnsupportedMediaType,
    );

    let huge = serde_json::to_vec(&json!({"email": "a".repeat(70 * 1024)})).unwrap();
    let (status, body) = common::read(raw("application/json", huge).await.unwrap()).await;
    assert_problem(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
    );

    // None of it counted as a request for a code: Ann may still ask.
    let (status, _) = server
        .post("/auth/otp", None, json!({"email": "ann@example.com"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn the_code_mail_is_in_the_language_the_app_asked_for_and_any_other_is_english() {
    let server = TestServer::start().await;
    let mail_after = |email: &'static str, lang: serde_json::Value| {
        let server = &server;
        async move {
            let before: HashSet<PathBuf> = server.mails_to(email).into_iter().collect();
            let (status, body) = server
                .post("/auth/otp", None, json!({ "email": email, "lang": lang }))
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{lang}: {body}");
            let code = wait_for_new_code(server, email, &before).await;
            let newest = server.mails_to(email).into_iter().next_back().unwrap();
            (code, std::fs::read_to_string(newest).unwrap())
        }
    };
    let (code, portuguese) = mail_after("ana@example.com", json!("pt-BR")).await;
    assert!(
        portuguese.contains(&format!("Subject: Seu código Espresso: {code}\r\n")),
        "{portuguese}"
    );
    assert!(portuguese.contains("vale por 10 minutos"), "{portuguese}");
    // A language the apps do not speak, a long one or null: English, never an error.
    for (email, lang) in [
        ("bob@example.com", json!("tlh")),
        ("cy@example.com", json!("x".repeat(500))),
        ("di@example.com", json!(null)),
    ] {
        let (code, english) = mail_after(email, lang).await;
        assert!(
            english.contains(&format!("Subject: Your Espresso code: {code}\r\n")),
            "{english}"
        );
    }
}
