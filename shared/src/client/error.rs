//! Why a call did not give the expected answer, as a type an app can match on.

use serde::{Deserialize, Serialize};

use crate::protocol::{ErrorCode, Problem};

/// Why a call to the server did not give the expected answer.
///
/// A refusal by the server is [`ClientError::Api`] with the server's [`Problem`]; match on its
/// stable code: `err.code() == Some(&ErrorCode::ShopClosed)`. Everything else is about getting
/// an answer at all.
///
/// Serialisable (`{"kind": "api", "detail": {…problem…}}`) so a shell can hand it to a UI across
/// a process boundary (the Tauri commands) and the UI matches on it as if it had called itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum ClientError {
    /// The server refused (any 4xx/5xx with a problem body): `code` says why, `title` in words.
    /// Boxed: a problem is large and errors travel through every `Result` of the client.
    #[error("{0}")]
    Api(Box<Problem>),
    /// The server could not be reached (refused, DNS, TLS, dropped connection), even after the
    /// retries.
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server did not answer in time, even after the retries.
    #[error("cannot reach the server: it did not answer in time")]
    Timeout,
    /// The server's body was not what the protocol says.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
    /// The base URL or a path could not be turned into a URL.
    #[error("invalid server URL: {0}")]
    BadUrl(String),
    /// There is no session (never signed in, signed out, or the session ended and could not be
    /// refreshed): sign in again.
    #[error("not signed in")]
    SignedOut,
    /// The server (or a proxy in front of it) answered with a status and no problem body.
    #[error("the server answered {status}")]
    Status { status: u16 },
}

impl ClientError {
    /// The server's stable error code, if the server refused.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.problem().map(|problem| &problem.code)
    }

    /// The server's whole refusal (title, detail, `attempts_left`, `state`, …), if it refused.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Api(problem) => Some(problem),
            _ => None,
        }
    }

    /// No answer came (network or timeout): trying again later may work.
    pub fn is_transient(&self) -> bool {
        matches!(self, ClientError::Network(_) | ClientError::Timeout)
    }

    /// From a reqwest failure, with the chain of causes (reqwest's own message alone says
    /// only "error sending request").
    pub(crate) fn from_transport(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            return ClientError::Timeout;
        }
        if error.is_builder() {
            return ClientError::BadUrl(error.to_string());
        }
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        ClientError::Network(message)
    }
}

impl From<Problem> for ClientError {
    fn from(problem: Problem) -> Self {
        ClientError::Api(Box::new(problem))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_error_exposes_its_code_for_matching() {
        let error = ClientError::from(Problem::new(ErrorCode::ShopClosed));
        assert_eq!(error.code(), Some(&ErrorCode::ShopClosed));
        assert!(error.to_string().contains("The shop is closed right now"));
        assert!(!error.is_transient());
        assert_eq!(ClientError::Timeout.code(), None);
        assert!(ClientError::Timeout.is_transient());
        assert!(ClientError::Timeout.to_string().contains("cannot reach"));
    }

    #[test]
    fn an_error_survives_a_trip_through_json_with_its_code_and_extensions() {
        let refused =
            ClientError::from(Problem::new(ErrorCode::DailyLimitReached).with_retry_after_s(3_600));
        for error in [
            refused,
            ClientError::Network("refused".into()),
            ClientError::Timeout,
            ClientError::SignedOut,
            ClientError::Status { status: 502 },
        ] {
            let json = serde_json::to_string(&error).unwrap();
            let back: ClientError = serde_json::from_str(&json).unwrap();
            assert_eq!(back, error, "{json}");
        }
        let json =
            serde_json::to_value(ClientError::from(Problem::new(ErrorCode::QueueFull))).unwrap();
        assert_eq!(json["kind"], "api");
        assert_eq!(json["detail"]["code"], "queue_full");
    }
}
