//! The typed HTTP client every app uses to talk to an Espresso server.
//!
//! One API on both builds: `native` (desktop shell, robot, tests) and `web` (the browser, wasm32).
//! It translates HTTP into typed results and errors; it never decides business rules.

use crate::protocol::Health;
use url::Url;

/// Why a call to the server did not give the expected answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL or a path could not be turned into a URL.
    #[error("invalid server URL: {0}")]
    BadUrl(String),
    /// The server could not be reached (refused, DNS, TLS, dropped connection).
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server answered with an unexpected status.
    #[error("the server answered {status}")]
    Status { status: u16 },
    /// The server's body was not what the protocol says.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

/// A client bound to one Espresso server.
#[derive(Debug, Clone)]
pub struct Client {
    base: Url,
    http: reqwest::Client,
}

impl Client {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let mut base = Url::parse(base_url).map_err(|e| ClientError::BadUrl(e.to_string()))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Self {
            base,
            http: reqwest::Client::new(),
        })
    }

    /// The server this client talks to.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Result<Url, ClientError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ClientError::BadUrl(e.to_string()))
    }

    /// `GET /healthz`: is the server up, and which version is it.
    pub async fn health(&self) -> Result<Health, ClientError> {
        let response = self
            .http
            .get(self.url("healthz")?)
            .send()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(ClientError::Status { status });
        }
        response
            .json::<Health>()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_under_the_base_url_even_behind_a_prefix() {
        let client = Client::new("http://cafe.example:8080/espresso").unwrap();
        assert_eq!(
            client.url("/healthz").unwrap().as_str(),
            "http://cafe.example:8080/espresso/healthz"
        );
    }

    #[test]
    fn a_malformed_server_url_is_refused() {
        assert!(matches!(
            Client::new("not a url"),
            Err(ClientError::BadUrl(_))
        ));
    }
}
