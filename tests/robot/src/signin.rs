//! Signing simulated people in as people do: ask for a code, read it from the mail, type it.
//! A `rate_limited` refusal is waited out (its `Retry-After`) when the wait is short.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use espresso_core::protocol::ErrorCode;
use espresso_core::{Client, ClientError};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::config::Stop;
use crate::mailbox;
use crate::stats::CallStats;
use crate::ui::Ui;

/// Longest `Retry-After` the robot waits out; a longer one ends the run with advice.
const LONGEST_RATE_LIMIT_WAIT: Duration = Duration::from_secs(120);
/// How long a code may take to arrive in the mail folder.
const MAIL_DEADLINE: Duration = Duration::from_secs(30);
/// The server's environment variable for the per-address hourly limit of sign-in codes.
pub const IP_LIMIT_ENV: &str = "ESPRESSO_OTP_IP_LIMIT_PER_HOUR";

/// What every sign-in needs; cheap to clone into tasks.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// Every simulated person gets [`Client::another_session`] of it: one HTTP client, one TLS
    /// set-up for the whole crowd.
    base: Client,
    pub mail_dir: PathBuf,
    pub stop: Stop,
    pub calls: Arc<Mutex<CallStats>>,
    pub ui: Ui,
    last_note: Arc<Mutex<Option<Instant>>>,
}

impl SignIn {
    pub fn new(
        base: &Client,
        mail_dir: PathBuf,
        stop: Stop,
        calls: Arc<Mutex<CallStats>>,
        ui: Ui,
    ) -> Self {
        Self {
            base: base.another_session(),
            mail_dir,
            stop,
            calls,
            ui,
            last_note: Arc::new(Mutex::new(None)),
        }
    }

    /// The same sign-in (mail folder, stop, call statistics) against another server.
    pub fn at(&self, server: &Client) -> Self {
        Self {
            base: server.another_session(),
            ..self.clone()
        }
    }

    fn record(&self, call: &'static str, took: Duration) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(call, took);
    }

    /// Say why the robot waits, at most every 10 s (32 sign-ins may hit the limit at once).
    fn note_rate_limit(&self, wait: Duration) {
        let mut last = self
            .last_note
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < Duration::from_secs(10)) {
            return;
        }
        *last = Some(Instant::now());
        self.ui.note(&format!(
            "the server is rate-limiting sign-in codes: waiting {} s (per email: one code every \
             30 s and 5 an hour; per client address: 600 an hour unless the server runs with \
             {IP_LIMIT_ENV} raised)",
            wait.as_secs()
        ));
    }

    /// A client signed in as `email` through the one-time-code flow.
    pub async fn sign_in(&self, email: &str) -> anyhow::Result<Client> {
        let client = self.base.another_session();
        let challenge = loop {
            if self.stop.is_stopped() {
                bail!("stopped while signing in");
            }
            let seen = mailbox::mails_to(&self.mail_dir, email).len();
            let asked = Instant::now();
            let answer = client.request_code(email).await;
            self.record("request_code", asked.elapsed());
            match answer {
                Ok(challenge) => break (challenge, seen),
                Err(error) if error.code() == Some(&ErrorCode::RateLimited) => {
                    let wait = Duration::from_secs(
                        error
                            .problem()
                            .and_then(|p| p.retry_after_s)
                            .unwrap_or(5)
                            .max(1),
                    );
                    if wait > LONGEST_RATE_LIMIT_WAIT {
                        bail!(
                            "the server refuses sign-in codes for {email} for another {} s \
                             (rate_limited: 5 codes an hour per email, 600 an hour per client \
                             address unless the server runs with {IP_LIMIT_ENV} raised)",
                            wait.as_secs()
                        );
                    }
                    self.note_rate_limit(wait);
                    let jitter = Duration::from_millis(rand::random_range(0..1000));
                    tokio::select! {
                        () = tokio::time::sleep(wait + jitter) => {}
                        () = self.stop.stopped() => bail!("stopped while signing in"),
                    }
                }
                Err(error) => {
                    return Err(anyhow!(error))
                        .with_context(|| format!("cannot ask for a code for {email}"));
                }
            }
        };
        let (challenge, seen) = challenge;
        let code = tokio::select! {
            code = mailbox::wait_for_code(&self.mail_dir, email, seen, MAIL_DEADLINE) => code?,
            () = self.stop.stopped() => bail!("stopped while signing in"),
        };
        let asked = Instant::now();
        let verified = client.verify_code(&challenge.challenge_id, &code).await;
        self.record("verify_code", asked.elapsed());
        verified
            .map_err(|error: ClientError| anyhow!(error))
            .with_context(|| format!("cannot sign in {email} with the mailed code"))?;
        Ok(client)
    }

    /// Sign in every one of `emails`, `concurrency` at a time; the clients in the same order.
    pub async fn sign_in_all(
        &self,
        emails: Vec<String>,
        concurrency: usize,
        what: &str,
    ) -> anyhow::Result<Vec<Client>> {
        let people = emails.into_iter().map(|e| (self.clone(), e)).collect();
        self.sign_in_each(people, concurrency, what).await
    }

    /// Sign in every one of `people`, each through their own sign-in (their server),
    /// `concurrency` at a time; the clients in the same order.
    pub async fn sign_in_each(
        &self,
        people: Vec<(SignIn, String)>,
        concurrency: usize,
        what: &str,
    ) -> anyhow::Result<Vec<Client>> {
        let total = people.len();
        let gate = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut jobs = JoinSet::new();
        for (index, (signer, email)) in people.into_iter().enumerate() {
            let gate = gate.clone();
            jobs.spawn(async move {
                let _turn = gate.acquire_owned().await;
                (index, signer.sign_in(&email).await)
            });
        }
        let mut clients: Vec<Option<Client>> = vec![None; total];
        let mut done = 0;
        while let Some(joined) = jobs.join_next().await {
            let (index, client) = joined.context("a sign-in task failed")?;
            // The first failure ends them all (dropping the set aborts the rest).
            let client = client?;
            if let Some(slot) = clients.get_mut(index) {
                *slot = Some(client);
            }
            done += 1;
            self.ui.status(format!("signing in {what}: {done}/{total}"));
        }
        clients
            .into_iter()
            .map(|client| client.context("a sign-in went missing"))
            .collect()
    }
}
