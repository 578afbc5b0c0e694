//! Durability: the real `espresso-server` binary is killed with SIGKILL right after it
//! acknowledged orders; started again on the same database, every acknowledged order is there,
//! and deadlines still fire.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod common;

use common::Binary;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_espresso-server")
}

fn database(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("espresso.db").display())
}

fn grant(dir: &Path, email: &str, role: &str) {
    let status = Command::new(binary())
        .args(["users", "grant", email, role, "--database", &database(dir)])
        .stdout(Stdio::null())
        .status()
        .expect("users grant runs");
    assert!(status.success(), "users grant {email} {role}");
}

/// Start the binary on `dir`'s database and mail folder.
fn serve(dir: &Path) -> Binary {
    serve_with(dir, &[])
}

/// [`serve`] with more arguments.
fn serve_with(dir: &Path, more: &[&str]) -> Binary {
    Binary::serve(|command| {
        command
            .args(["--database", &database(dir)])
            .arg("--mailer")
            .arg(format!("dir:{}", dir.join("mail").display()))
            .args(more);
    })
}

/// The SQLite log's checkpoints the server has finished, from its `/metrics`.
async fn checkpoints(http: &reqwest::Client, server: &Binary) -> u64 {
    common::metrics(http, &server.url)
        .await
        .lines()
        .find_map(|line| line.strip_prefix("espresso_store_checkpoints_total "))
        .expect("the checkpoints counter")
        .parse()
        .unwrap()
}

fn mails(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("mail"))
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

async fn sign_in(http: &reqwest::Client, server: &Binary, dir: &Path, email: &str) -> String {
    let before = mails(dir);
    let challenge: Value = http
        .post(format!("{}/api/v1/auth/otp", server.url))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        let new: Vec<PathBuf> = mails(dir)
            .into_iter()
            .filter(|m| !before.contains(m))
            .collect();
        if let Some(code) = new
            .iter()
            .find_map(|m| espresso_protocol::maildir::code_in(&std::fs::read_to_string(m).ok()?))
        {
            break code;
        }
        assert!(Instant::now() < deadline, "no mail for {email}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let session: Value = http
        .post(format!("{}/api/v1/auth/otp/verify", server.url))
        .json(&json!({ "challenge_id": challenge["challenge_id"], "code": code }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    session["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

async fn call(
    http: &reqwest::Client,
    server: &Binary,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut request = http
        .request(method, format!("{}/api/v1{path}", server.url))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn orders_acknowledged_before_a_kill_9_are_all_there_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    // The database exists once `users grant` ran (it migrates it).
    grant(dir.path(), "barista@cafe.test", "barista");
    let server = serve(dir.path());
    let barista = sign_in(&http, &server, dir.path(), "barista@cafe.test").await;
    call(
        &http,
        &server,
        &barista,
        reqwest::Method::PATCH,
        "/shops/main",
        Some(json!({ "open": true })),
    )
    .await;
    let code: Value = call(
        &http,
        &server,
        &barista,
        reqwest::Method::GET,
        "/shops/main/code",
        None,
    )
    .await;

    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let customer = sign_in(&http, &server, dir.path(), &format!("guest{i}@example.com")).await;
        let body =
            json!({ "code": code["code"], "drink": { "item_id": "espresso", "options": {} } });
        let order = call(
            &http,
            &server,
            &customer,
            reqwest::Method::POST,
            "/shops/main/orders",
            Some(body),
        )
        .await;
        acknowledged.push(order["id"].as_str().unwrap().to_owned());
    }
    let claimed = call(
        &http,
        &server,
        &barista,
        reqwest::Method::POST,
        &format!("/shops/main/orders/{}/claim", acknowledged[0]),
        None,
    )
    .await;
    assert_eq!(claimed["state"], "in_progress");

    // SIGKILL: no graceful shutdown, no chance to flush anything more.
    drop(server);

    let server = serve(dir.path());
    // The session survived too: the same access token still works.
    let list: Value = call(
        &http,
        &server,
        &barista,
        reqwest::Method::GET,
        "/shops/main/orders?state=queued,in_progress",
        None,
    )
    .await;
    let ids: Vec<&str> = list["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    for id in &acknowledged {
        assert!(ids.contains(&id.as_str()), "order {id} lost in the crash");
    }
    let first = list["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == acknowledged[0].as_str())
        .unwrap();
    assert_eq!(
        first["state"], "in_progress",
        "the claim was acknowledged, so it stays"
    );
    let numbers: Vec<u64> = list["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["number"].as_u64())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5]);
}

/// How far along its lifecycle an order's state is (a command in flight at the kill may or may
/// not have committed; an acknowledged one must have).
fn progress(state: &str) -> u8 {
    match state {
        "awaiting_drink" => 0,
        "queued" => 1,
        "in_progress" => 2,
        "ready" => 3,
        "collected" => 4,
        other => panic!("unexpected state {other}"),
    }
}

/// Given a server under load whose log is copied back into the database every 100 pages (so
/// checkpoints run, beside the writer, all through the load), when it is killed with SIGKILL,
/// then every command it acknowledged is there after a restart, and a deadline that fell due
/// while it was down fires once.
#[tokio::test]
async fn a_kill_9_under_load_loses_no_acknowledged_command_and_a_deadline_due_meanwhile_fires_once()
{
    const CHECKPOINTING: &[&str] = &["--checkpoint-pages", "100"];
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    grant(dir.path(), "owner@cafe.test", "admin");
    let server = serve_with(dir.path(), CHECKPOINTING);
    let owner = sign_in(&http, &server, dir.path(), "owner@cafe.test").await;
    let limits = json!({ "open": true, "limits": {
        "drinks_per_code": 1000, "max_queue": 1000, "max_orders_per_day": 0, "customer_timeout_s": 1
    }});
    call(
        &http,
        &server,
        &owner,
        reqwest::Method::PATCH,
        "/shops/main",
        Some(limits),
    )
    .await;
    let code: Value = call(
        &http,
        &server,
        &owner,
        reqwest::Method::GET,
        "/shops/main/code",
        None,
    )
    .await;
    let code = code["code"].as_str().unwrap().to_owned();

    // One customer starts an order and never chooses: its 1 s deadline falls due while the
    // server is down.
    let idle = sign_in(&http, &server, dir.path(), "idle@example.com").await;
    let waiting = call(
        &http,
        &server,
        &idle,
        reqwest::Method::POST,
        "/shops/main/orders",
        Some(json!({ "code": code })),
    )
    .await;
    let waiting = waiting["id"].as_str().unwrap().to_owned();

    let mut customers = Vec::new();
    for i in 0..12 {
        customers.push(sign_in(&http, &server, dir.path(), &format!("load{i}@example.com")).await);
    }
    // Each customer's lifecycle, worked by the owner as barista, as fast as the server answers;
    // every acknowledged answer is recorded (order id → the furthest acknowledged state).
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        String,
        u8,
    >::new()));
    let url = server.url.clone();
    let workers: Vec<_> = customers
        .into_iter()
        .map(|customer| {
            let http = http.clone();
            let owner = owner.clone();
            let code = code.clone();
            let url = url.clone();
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                let post = |token: &str, path: String, body: Option<Value>| {
                    let mut request = http.post(format!("{url}/api/v1{path}")).bearer_auth(token);
                    if let Some(body) = body {
                        request = request.json(&body);
                    }
                    request.send()
                };
                loop {
                    let body =
                        json!({ "code": code, "drink": { "item_id": "espresso", "options": {} } });
                    let Ok(response) =
                        post(&customer, "/shops/main/orders".into(), Some(body)).await
                    else {
                        return;
                    };
                    let Ok(order) = response.json::<Value>().await else {
                        return;
                    };
                    let Some(id) = order["id"].as_str().map(str::to_owned) else {
                        return;
                    };
                    acknowledged
                        .lock()
                        .unwrap()
                        .insert(id.clone(), progress(order["state"].as_str().unwrap()));
                    for step in ["claim", "complete", "collect"] {
                        let Ok(response) =
                            post(&owner, format!("/shops/main/orders/{id}/{step}"), None).await
                        else {
                            return;
                        };
                        let Ok(order) = response.json::<Value>().await else {
                            return;
                        };
                        let Some(state) = order["state"].as_str() else {
                            return;
                        };
                        acknowledged
                            .lock()
                            .unwrap()
                            .insert(id.clone(), progress(state));
                    }
                }
            })
        })
        .collect();
    // Let the load run through a few checkpoints, then SIGKILL in the middle of it (and maybe
    // of a checkpoint).
    let until = Instant::now() + Duration::from_secs(20);
    while (acknowledged.lock().unwrap().len() < 60 || checkpoints(&http, &server).await < 3)
        && Instant::now() < until
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let copied = checkpoints(&http, &server).await;
    assert!(copied >= 3, "{copied} checkpoints under the load");
    drop(server);
    for worker in workers {
        let _ = worker.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 20,
        "the load ran: {} orders",
        acknowledged.len()
    );
    // Past the idle order's deadline before the server is back.
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let server = serve_with(dir.path(), CHECKPOINTING);
    for (id, reached) in &acknowledged {
        let detail = call(
            &http,
            &server,
            &owner,
            reqwest::Method::GET,
            &format!("/shops/main/orders/{id}"),
            None,
        )
        .await;
        let state = detail["state"].as_str().unwrap();
        assert!(
            progress(state) >= *reached,
            "order {id}: acknowledged {reached}, found {state}"
        );
    }
    // The deadline that fell due during the crash fires once, at start.
    let deadline = Instant::now() + Duration::from_secs(10);
    let timed_out = |detail: &Value| {
        detail["journey"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|step| step["type"] == "order.timed_out")
            .count()
    };
    loop {
        let detail = call(
            &http,
            &server,
            &idle,
            reqwest::Method::GET,
            &format!("/shops/main/orders/{waiting}"),
            None,
        )
        .await;
        if detail["state"] == "timed_out" {
            assert_eq!(timed_out(&detail), 1);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the idle order never timed out: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And once only, also across another restart.
    drop(server);
    let server = serve(dir.path());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let detail = call(
        &http,
        &server,
        &idle,
        reqwest::Method::GET,
        &format!("/shops/main/orders/{waiting}"),
        None,
    )
    .await;
    assert_eq!(timed_out(&detail), 1, "{detail}");
}

#[tokio::test]
async fn a_second_server_on_the_same_database_is_refused_and_the_first_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve(dir.path());
    // Given one server on the database, when a second one starts on it,
    let mut second = Command::new(binary())
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database",
            &database(dir.path()),
        ])
        .args(["--web-dir", "/nonexistent"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the second server starts");
    // then it stops at once and says why,
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("a second server is serving the same database");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!status.success());
    let mut said = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut said).unwrap();
    assert!(said.contains("already serving"), "{said}");
    // and the first still answers.
    let health = reqwest::get(format!("{}/healthz", first.url))
        .await
        .unwrap();
    assert!(health.status().is_success());
    // Once the first is gone (kill -9 releases the lock), the database can be served again.
    drop(first);
    let again = serve(dir.path());
    let health = reqwest::get(format!("{}/healthz", again.url))
        .await
        .unwrap();
    assert!(health.status().is_success());
}

/// A drink made and never handed over: its collection deadline (`ready_expiry_s`) falls due
/// while the server is killed; it fires once when the server is back (not again after another
/// restart), the order leaves the bar and its customer may order again.
#[tokio::test]
async fn a_ready_order_whose_collection_deadline_falls_due_during_a_kill_9_times_out_once() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    grant(dir.path(), "owner@cafe.test", "admin");
    let server = serve(dir.path());
    let owner = sign_in(&http, &server, dir.path(), "owner@cafe.test").await;
    let patch = json!({ "open": true, "limits": { "ready_expiry_s": 1 } });
    let patch = Some(patch);
    call(
        &http,
        &server,
        &owner,
        reqwest::Method::PATCH,
        "/shops/main",
        patch,
    )
    .await;
    let code = call(
        &http,
        &server,
        &owner,
        reqwest::Method::GET,
        "/shops/main/code",
        None,
    )
    .await;
    let code = code["code"].as_str().unwrap().to_owned();
    let ann = sign_in(&http, &server, dir.path(), "ann@example.com").await;
    let espresso = json!({ "code": code, "drink": { "item_id": "espresso", "options": {} } });
    let order = call(
        &http,
        &server,
        &ann,
        reqwest::Method::POST,
        "/shops/main/orders",
        Some(espresso.clone()),
    )
    .await;
    let path = format!("/shops/main/orders/{}", order["id"].as_str().unwrap());
    for step in ["claim", "complete"] {
        let path = format!("{path}/{step}");
        call(&http, &server, &owner, reqwest::Method::POST, &path, None).await;
    }
    drop(server);
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let server = serve(dir.path());
    let fired = |detail: &Value| {
        detail["journey"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|step| step["type"] == "order.timed_out")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let detail = call(&http, &server, &ann, reqwest::Method::GET, &path, None).await;
        if detail["state"] == "timed_out" {
            assert_eq!(detail["timeout_stage"], "collection", "{detail}");
            assert_eq!(fired(&detail), 1, "{detail}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the ready order never timed out: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(server);
    let server = serve(dir.path());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let detail = call(&http, &server, &ann, reqwest::Method::GET, &path, None).await;
    assert_eq!(fired(&detail), 1, "once only: {detail}");
    // The bar's Ready column is empty, and Ann's one order a day is free again.
    let ready = call(
        &http,
        &server,
        &owner,
        reqwest::Method::GET,
        "/shops/main/orders?state=ready",
        None,
    )
    .await;
    assert_eq!(ready["orders"], json!([]));
    let code = call(
        &http,
        &server,
        &owner,
        reqwest::Method::GET,
        "/shops/main/code",
        None,
    )
    .await;
    let again = json!({ "code": code["code"], "drink": { "item_id": "espresso", "options": {} } });
    let order = call(
        &http,
        &server,
        &ann,
        reqwest::Method::POST,
        "/shops/main/orders",
        Some(again),
    )
    .await;
    assert_eq!(order["state"], "queued");
}
