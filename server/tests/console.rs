//! The owner's console (issue 19) over HTTP against the real server on 127.0.0.1:0: the staff
//! list and the last-admin guard, option-level 86, the shop's time zone, the Ready expiry and
//! the orders CSV. Each refusal changes nothing.

mod common;

use common::{TestServer, problem, sign_in, sign_in_as};
use espresso_protocol::{ErrorCode, Role, StaffMember};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn assert_problem(status: StatusCode, body: &Value, expected: StatusCode, code: ErrorCode) {
    assert_eq!(status, expected, "{body}");
    let problem = problem(body);
    assert_eq!(problem.code, code, "{body}");
    assert_eq!(problem.status, expected.as_u16(), "{body}");
}

async fn put_roles(
    server: &TestServer,
    token: &str,
    email: &str,
    roles: Value,
) -> (StatusCode, Value) {
    server
        .send(
            Method::PUT,
            &format!("/users/{email}/roles"),
            Some(token),
            Some(json!({ "roles": roles })),
        )
        .await
}

async fn staff(server: &TestServer, token: &str) -> Vec<StaffMember> {
    let (status, body) = server.get("/staff", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).expect("a staff list")
}

// --- Staff ----------------------------------------------------------------------------------

#[tokio::test]
async fn the_staff_list_has_everyone_with_a_role_by_email_and_no_plain_customers() {
    let server = TestServer::start().await;
    let admin = sign_in_as(&server, "owner@example.com", &[Role::Admin]).await;
    let token = admin.access_token.as_str();
    // A customer who has signed in, and staff set up before their first sign-in.
    let customer = sign_in(&server, "ann@example.com").await;
    let (status, body) = put_roles(&server, token, "zoe@example.com", json!(["barista"])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = put_roles(
        &server,
        token,
        "booth@example.com",
        json!(["display", "barista"]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server
        .send(
            Method::PATCH,
            "/me",
            Some(token),
            Some(json!({"display_name": "Olga"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let list = staff(&server, token).await;
    let emails: Vec<&str> = list.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(
        emails,
        ["booth@example.com", "owner@example.com", "zoe@example.com"]
    );
    assert_eq!(
        list[0].roles,
        [Role::Customer, Role::Barista, Role::Display]
    );
    assert_eq!(list[0].display_name, None);
    assert_eq!(list[1].roles, [Role::Customer, Role::Admin]);
    assert_eq!(list[1].display_name.as_deref(), Some("Olga"));
    assert_eq!(list[1].id, admin.user.id);
    assert!(!emails.contains(&"ann@example.com"));

    // Taking every role away takes them off the list.
    let (status, body) = put_roles(&server, token, "zoe@example.com", json!([])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list = staff(&server, token).await;
    assert!(list.iter().all(|m| m.email != "zoe@example.com"));

    // The answer's shape, as the console reads it.
    let (_, body) = server.get("/staff", Some(token)).await;
    assert_eq!(
        body[0],
        json!({
            "id": list[0].id,
            "email": "booth@example.com",
            "display_name": null,
            "roles": ["customer", "barista", "display"]
        })
    );
    drop(customer);
}

#[tokio::test]
async fn the_staff_list_is_for_admins_only() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/staff", None).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
    for (email, roles) in [
        ("ann@example.com", vec![]),
        ("bob@example.com", vec![Role::Barista]),
        ("dee@example.com", vec![Role::Display]),
    ] {
        let session = sign_in_as(&server, email, &roles).await;
        let (status, body) = server.get("/staff", Some(&session.access_token)).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, ErrorCode::Forbidden);
    }
}

#[tokio::test]
async fn the_last_admin_cannot_lose_the_admin_role_and_nothing_changes() {
    let server = TestServer::start().await;
    let owner = sign_in_as(&server, "owner@example.com", &[Role::Admin]).await;
    let token = owner.access_token.as_str();

    // Alone, the owner cannot step down — not even to barista.
    for roles in [json!([]), json!(["barista", "display"])] {
        let (status, body) = put_roles(&server, token, "owner@example.com", roles).await;
        assert_problem(status, &body, StatusCode::CONFLICT, ErrorCode::LastAdmin);
        assert_eq!(
            problem(&body).detail.as_deref(),
            Some("The last admin cannot lose the admin role: make someone else an admin first")
        );
    }
    let (_, me) = server.get("/me", Some(token)).await;
    assert_eq!(me["roles"], json!(["customer", "admin"]));
    let list = staff(&server, token).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].roles, [Role::Customer, Role::Admin]);

    // Keeping admin while changing the rest is fine.
    let (status, body) = put_roles(
        &server,
        token,
        "owner@example.com",
        json!(["admin", "barista"]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // With a second admin, the first may step down; then the second is the last.
    let (status, body) = put_roles(&server, token, "partner@example.com", json!(["admin"])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = put_roles(&server, token, "owner@example.com", json!(["barista"])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["roles"], json!(["customer", "barista"]));
    let partner = sign_in(&server, "partner@example.com").await;
    let (status, body) = put_roles(
        &server,
        &partner.access_token,
        "partner@example.com",
        json!([]),
    )
    .await;
    assert_problem(status, &body, StatusCode::CONFLICT, ErrorCode::LastAdmin);
    let (_, me) = server.get("/me", Some(&partner.access_token)).await;
    assert_eq!(me["roles"], json!(["customer", "admin"]));
}
