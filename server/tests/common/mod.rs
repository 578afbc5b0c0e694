//! Harness for the server's integration tests: the real server on `127.0.0.1:0` with its own
//! database and mail folder (`dir:` mailer) in a temporary directory, a plain HTTP client, and
//! sign-in helpers that go through the one-time-code flow and read the code from the mail.
//!
//! Each test binary uses a different part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use espresso_protocol::{OtpChallenge, PROBLEM_CONTENT_TYPE, Problem, Role, Session, maildir};
use espresso_server::Server;
use espresso_server::config::ServeConfig;
use espresso_server::store::Store;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// How long a helper waits for something the server does in the background (a mail).
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running server and everything a test needs to talk to it.
pub struct TestServer {
    server: Option<Server>,
    dir: tempfile::TempDir,
    /// The database URL: SQLite in `dir`, or a fresh PostgreSQL database when
    /// `ESPRESSO_TEST_DATABASE=postgres` (see [`on_postgres`]).
    database: String,
    pub http: reqwest::Client,
}

/// Do these tests run on PostgreSQL (`ESPRESSO_TEST_DATABASE=postgres`, a throwaway cluster the
/// tests start) rather than SQLite?
pub fn on_postgres() -> bool {
    std::env::var("ESPRESSO_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

/// A new, empty database for one test server: a SQLite file in `dir`, or a PostgreSQL database.
pub async fn fresh_database(dir: &std::path::Path) -> String {
    if on_postgres() {
        espresso_server::store::pg::scratch::fresh_database()
            .await
            .expect("a scratch PostgreSQL database")
    } else {
        format!("sqlite://{}", dir.join("espresso.db").display())
    }
}

impl TestServer {
    /// A fresh server: empty database, `dir:` mailer, no web build.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server on `database` (another server may run on it: PostgreSQL), its own mail folder.
    pub async fn start_on(database: String) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut test = Self {
            server: None,
            dir,
            database,
            http: reqwest::Client::new(),
        };
        test.server = Some(
            Server::start(test.config())
                .await
                .expect("the server starts"),
        );
        test
    }

    /// A fresh server whose configuration `configure` may change first.
    pub async fn start_with(configure: impl FnOnce(&mut ServeConfig)) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database = fresh_database(dir.path()).await;
        let mut test = Self {
            server: None,
            dir,
            database,
            http: reqwest::Client::new(),
        };
        let mut config = test.config();
        configure(&mut config);
        test.server = Some(Server::start(config).await.expect("the server starts"));
        test
    }

    /// The configuration `start` uses: everything inside this server's temporary directory.
    pub fn config(&self) -> ServeConfig {
        ServeConfig {
            mailer: format!("dir:{}", self.mail_dir().display()),
            ..ServeConfig::for_tests(self.database.clone(), self.dir.path().join("web"))
        }
    }

    /// Stop and start again on the same database and mail folder (a new port).
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    /// Stop the server (gracefully); the database and mail stay for [`Self::start_again`].
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("the server stops");
        }
    }

    /// Start a stopped server again on the same database and mail folder (a new port).
    pub async fn start_again(&mut self) {
        let config = self.config();
        self.server = Some(Server::start(config).await.expect("the server restarts"));
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("the server is running")
    }

    /// The server's own store, for arranging what the API cannot (e.g. the first admin).
    pub fn store(&self) -> &Store {
        self.server().store()
    }

    /// The database URL the server runs on.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The SQLite file (its WAL is beside it, `-wal`); SQLite runs only.
    pub fn database_path(&self) -> PathBuf {
        self.dir.path().join("espresso.db")
    }

    /// Everything the database holds at rest, as text: the SQLite file and its WAL, or every
    /// row of every table on PostgreSQL (what someone who reads the database would see).
    pub async fn at_rest(&self) -> String {
        if let Some(path) = self.database.strip_prefix("sqlite://") {
            let mut bytes = Vec::new();
            for file in [path.to_owned(), format!("{path}-wal")] {
                bytes.extend(std::fs::read(&file).unwrap_or_default());
            }
            assert!(!bytes.is_empty(), "the database files are empty");
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        let mut conn = self.pg().await;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        )
        .fetch_all(&mut conn)
        .await
        .expect("the tables");
        let mut text = String::new();
        for table in tables {
            let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT t::text FROM {table} t"
            )))
            .fetch_all(&mut conn)
            .await
            .expect("a table's rows");
            text.push_str(&rows.join("\n"));
        }
        text
    }

    /// How many rows `table` has.
    pub async fn count_rows(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        if let Some(path) = self.database.strip_prefix("sqlite://") {
            let db = rusqlite::Connection::open(path).expect("the SQLite file");
            return db.query_row(&sql, [], |row| row.get(0)).expect("a count");
        }
        let mut conn = self.pg().await;
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .expect("a count")
    }

    async fn pg(&self) -> sqlx::PgConnection {
        <sqlx::PgConnection as sqlx::Connection>::connect(&self.database)
            .await
            .expect("the test's PostgreSQL database")
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// `http://127.0.0.1:PORT/api/v1{path}`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.server().url())
    }

    /// A request to the API, with the bearer token if given.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.http.request(method, self.api(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Send `body` as JSON and return the status and the JSON answer (`Null` when empty).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, path, token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("the server answers")).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, token, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(Method::GET, path, token, None).await
    }

    /// `POST /auth/logout` with `access_token`: signed out (204).
    pub async fn sign_out(&self, access_token: &str) {
        let (status, body) = self
            .send(Method::POST, "/auth/logout", Some(access_token), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }

    /// Give `email` these roles straight in the database (creating the user).
    pub async fn grant(&self, email: &str, roles: &[Role]) {
        let now = Utc::now();
        self.store()
            .ensure_user(email, now)
            .await
            .expect("user created");
        for role in roles {
            self.store()
                .grant(email, *role, now)
                .await
                .expect("role granted");
        }
    }

    /// The messages sent to `email` so far, oldest first (names sort by their timestamp).
    pub fn mails_to(&self, email: &str) -> Vec<PathBuf> {
        maildir::mails_to(&self.mail_dir(), email)
    }
}

/// The server at `base`'s `/metrics` (asked from this machine: no token needed).
pub async fn metrics(http: &reqwest::Client, base: &str) -> String {
    http.get(format!("{base}/metrics"))
        .send()
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("/metrics is text")
}

/// Status and JSON body of an answer; a problem must say so in its content type.
pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response.bytes().await.expect("a body");
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(content_type, PROBLEM_CONTENT_TYPE, "{status}: {bytes:?}");
    }
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {bytes:?}"))
    };
    (status, body)
}

/// The problem in an error answer (its `code`, `status`, extensions).
pub fn problem(body: &Value) -> Problem {
    serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("not a problem ({e}): {body}"))
}

/// Ask for a code for `email`: the 202 answer and the code mailed for it.
pub async fn request_code(server: &TestServer, email: &str) -> (OtpChallenge, String) {
    let before: HashSet<PathBuf> = server.mails_to(email).into_iter().collect();
    let (status, body) = server
        .post("/auth/otp", None, json!({ "email": email }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let challenge: OtpChallenge = serde_json::from_value(body).expect("an OTP challenge");
    let code = wait_for_new_code(server, email, &before).await;
    (challenge, code)
}

/// Wait (up to [`PATIENCE`]) for a message to `email` that is not in `before`; its code.
pub async fn wait_for_new_code(
    server: &TestServer,
    email: &str,
    before: &HashSet<PathBuf>,
) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(path) = server
            .mails_to(email)
            .into_iter()
            .rev()
            .find(|path| !before.contains(path))
        {
            let message = std::fs::read_to_string(&path).expect("a readable message");
            return maildir::code_in(&message).unwrap_or_else(|| panic!("no code in {message}"));
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no mail to {email} within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Verify a code; the status and the JSON answer.
pub async fn verify(server: &TestServer, challenge_id: &str, code: &str) -> (StatusCode, Value) {
    server
        .post(
            "/auth/otp/verify",
            None,
            json!({ "challenge_id": challenge_id, "code": code }),
        )
        .await
}

/// Sign in as `email` the way a customer does: ask for a code, read the mail, verify.
pub async fn sign_in(server: &TestServer, email: &str) -> Session {
    let (challenge, code) = request_code(server, email).await;
    let (status, body) = verify(server, &challenge.challenge_id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).expect("a session")
}

/// Sign in as `email` holding `roles` (granted in the database first).
pub async fn sign_in_as(server: &TestServer, email: &str, roles: &[Role]) -> Session {
    server.grant(email, roles).await;
    sign_in(server, email).await
}

/// The real `espresso-server` binary serving on a free loopback port; killed when dropped.
pub struct Binary {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`, from its first stdout line (API.md).
    pub url: String,
}

impl Binary {
    /// `espresso-server serve --addr 127.0.0.1:0 --web-dir /nonexistent` and whatever
    /// `configure` adds (flags, environment).
    pub fn serve(configure: impl FnOnce(&mut std::process::Command)) -> Self {
        use std::io::BufRead as _;
        use std::process::{Command, Stdio};
        let mut command = Command::new(env!("CARGO_BIN_EXE_espresso-server"));
        command
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--web-dir",
                "/nonexistent",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        configure(&mut command);
        let mut child = command.spawn().expect("the server starts");
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("a first line");
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("not a listening line: {first:?}"))
            .to_owned();
        Self { child, url }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
