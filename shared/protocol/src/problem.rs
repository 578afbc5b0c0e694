//! The error body of every refusal (RFC 9457 `application/problem+json`) and the stable
//! machine names (`code`) a program matches on.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::OrderState;

/// The media type of a [`Problem`] body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Prefix of a problem's `type` URI; the code follows it. A URN, not a URL, because there is no
/// page to dereference: the `code` is what programs match, the `title` what people read.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:espresso:problem:";

/// One table of every code: its wire name, its HTTP status and a title a customer understands.
/// Written once so the enum, its status and its title can never drift apart.
macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $status:literal, $title:literal; )*) => {
        /// The stable machine name of a refusal (API.md). Matching on it is how clients decide
        /// what to do; a code this build does not know reads as [`ErrorCode::Unknown`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
            /// A code from a newer server; its `status` and `title` come from the body.
            Unknown(String),
        }

        impl ErrorCode {
            /// Every code this build knows, in table order.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The wire name, e.g. `shop_closed`.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $name,)*
                    Self::Unknown(name) => name,
                }
            }

            /// The code for a wire name; never fails, see [`ErrorCode::Unknown`].
            pub fn from_name(name: &str) -> Self {
                match name {
                    $($name => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// The HTTP status this code is answered with. `code_expired` is 422 (a booth code);
            /// the OTP verify route answers it with 401, see [`Problem::with_status`].
            pub fn status(&self) -> u16 {
                match self {
                    $(Self::$variant => $status,)*
                    Self::Unknown(_) => 500,
                }
            }

            /// A default title in plain words, fit to show a customer as is.
            pub fn title(&self) -> &'static str {
                match self {
                    $(Self::$variant => $title,)*
                    Self::Unknown(_) => "Something went wrong",
                }
            }
        }
    };
}

error_codes! {
    // Auth
    /// Too many OTP requests or tries; `retry_after_s` and `Retry-After` say when to retry.
    RateLimited = "rate_limited", 429, "Too many tries. Please wait a moment and try again";
    /// Wrong one-time code; `attempts_left` says how many tries remain.
    CodeIncorrect = "code_incorrect", 401, "That code is not right";
    /// A one-time code or a booth code is past its time.
    CodeExpired = "code_expired", 422, "That code has expired";
    /// Five wrong one-time codes: the challenge is dead.
    CodeLocked = "code_locked", 401, "Too many wrong codes. Please ask for a new one";
    /// A refresh token was used twice; its whole family is revoked.
    TokenReused = "token_reused", 401, "Your session has ended. Please sign in again";
    Unauthenticated = "unauthenticated", 401, "Please sign in first";
    /// Signed in, but the role does not allow it.
    Forbidden = "forbidden", 403, "You are not allowed to do that";
    /// Also another customer's order: no existence leak.
    NotFound = "not_found", 404, "We could not find that";
    // Starting an order
    ShopClosed = "shop_closed", 409, "The shop is closed right now";
    /// `POST /shops` with an id another shop has.
    ShopExists = "shop_exists", 409, "There is already a shop with that id";
    QueueFull = "queue_full", 409, "The queue is full right now. Please try again in a few minutes";
    DailyLimitReached = "daily_limit_reached", 409, "You have had all your drinks for today";
    OpenOrderExists = "open_order_exists", 409, "You already have an order on the way";
    CodeInvalid = "code_invalid", 422, "That code is not valid. Please scan the one on the screen";
    CodeExhausted = "code_exhausted", 422, "That code is used up. Please scan the new one on the screen";
    /// A scan pass past its time, or one that has already started an order (OPERATIONS.md
    /// "Extensions to API.md").
    PassExpired = "pass_expired", 422, "Your scan has timed out. Please scan the code on the screen again";
    /// The drink exists but is off the menu for now ("86'd").
    ItemUnavailable = "item_unavailable", 422, "That drink is not available right now";
    /// Unknown drink or option, or a required choice missing.
    DrinkInvalid = "drink_invalid", 422, "That drink choice is not on the menu";
    // Order actions
    /// The action is not allowed from the order's current state (given in `state`).
    InvalidTransition = "invalid_transition", 409, "That cannot be done with this order now";
    AlreadyClaimed = "already_claimed", 409, "Another barista is already making this order";
    /// `PUT …/roles` that would leave the server without an admin: nothing changed.
    LastAdmin = "last_admin", 409, "The last admin cannot lose the admin role";
    IdempotencyKeyReused = "idempotency_key_reused", 422,
        "This request was already sent with different content";
    // Generic
    BadRequest = "bad_request", 400, "The request could not be read";
    /// A route that exists, with a method it does not take; `Allow` lists those it does.
    MethodNotAllowed = "method_not_allowed", 405, "That cannot be done here";
    /// The request (its body included) did not arrive within the server's request timeout.
    RequestTimeout = "request_timeout", 408, "The request took too long. Please try again";
    PayloadTooLarge = "payload_too_large", 413, "The request is too large";
    UnsupportedMediaType = "unsupported_media_type", 415, "The request must be JSON";
    /// Well-formed JSON with a wrong type, a missing or an unknown field, or a value out of range.
    ValidationFailed = "validation_failed", 422, "Some of the values are not valid";
    Internal = "internal", 500, "Something went wrong on our side. Please try again";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Self::from_name(&name))
    }
}

/// On the wire a code is a plain string: the schema lists the codes this build answers with.
/// A newer server may add codes, so a client must still read one it does not know.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .enum_values(Some(Self::ALL.iter().map(Self::as_str)))
            .description(Some(
                "The stable machine name of a refusal (API.md). A newer server may send a code \
                 not listed here: treat it by its `status` and show its `title`.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

/// An RFC 9457 problem: the body of every 4xx/5xx answer.
///
/// `type`, `title`, `status`, `detail` and `code` are always present (`detail` may be null);
/// the extension members appear only on the refusals that use them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// `urn:espresso:problem:{code}` (see [`PROBLEM_TYPE_PREFIX`]).
    #[serde(rename = "type", default = "about_blank")]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    /// What happened this time, in words (e.g. which option was not on the menu).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub detail: Option<String>,
    pub code: ErrorCode,
    /// `code_incorrect`: one-time-code tries left before `code_locked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// `invalid_transition`: the order's current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<OrderState>,
    /// `rate_limited`: seconds until a retry can succeed (also sent as `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

fn about_blank() -> String {
    "about:blank".to_owned()
}

impl Problem {
    /// The problem for `code`, with its default status and title and no detail.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            type_uri: format!("{PROBLEM_TYPE_PREFIX}{code}"),
            title: code.title().to_owned(),
            status: code.status(),
            detail: None,
            code,
            attempts_left: None,
            state: None,
            retry_after_s: None,
        }
    }

    /// `invalid_transition`, saying which state the order is in.
    pub fn invalid_transition(state: OrderState) -> Self {
        Self::new(ErrorCode::InvalidTransition).with_state(state)
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Answer with another status than the code's default (only `code_expired` on OTP verify: 401).
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn with_attempts_left(mut self, attempts_left: u32) -> Self {
        self.attempts_left = Some(attempts_left);
        self
    }

    pub fn with_state(mut self, state: OrderState) -> Self {
        self.state = Some(state);
        self
    }

    pub fn with_retry_after_s(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }
}

impl From<ErrorCode> for Problem {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.title, self.code, self.status)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_code_has_the_status_of_api_md() {
        let expected: &[(&str, u16)] = &[
            ("rate_limited", 429),
            ("code_incorrect", 401),
            ("code_expired", 422),
            ("code_locked", 401),
            ("token_reused", 401),
            ("unauthenticated", 401),
            ("forbidden", 403),
            ("not_found", 404),
            ("shop_closed", 409),
            ("queue_full", 409),
            ("daily_limit_reached", 409),
            ("open_order_exists", 409),
            ("code_invalid", 422),
            ("code_exhausted", 422),
            ("item_unavailable", 422),
            ("drink_invalid", 422),
            ("invalid_transition", 409),
            ("already_claimed", 409),
            ("idempotency_key_reused", 422),
            ("bad_request", 400),
            ("payload_too_large", 413),
            ("unsupported_media_type", 415),
            ("validation_failed", 422),
            ("internal", 500),
            // Beyond API.md (OPERATIONS.md "Extensions"): POST /shops with a taken id.
            ("shop_exists", 409),
            // A request not received within the server's request timeout (SECURITY.md).
            ("request_timeout", 408),
            ("method_not_allowed", 405),
            // Roles that would leave the server without an admin (OPERATIONS.md "Extensions").
            ("last_admin", 409),
            // A scan pass past its time or used (OPERATIONS.md "Extensions").
            ("pass_expired", 422),
        ];
        assert_eq!(
            ErrorCode::ALL.len(),
            expected.len(),
            "a code is missing from the test"
        );
        for (name, status) in expected {
            let code = ErrorCode::from_name(name);
            assert!(
                !matches!(code, ErrorCode::Unknown(_)),
                "{name} is not a known code"
            );
            assert_eq!(code.status(), *status, "{name}");
            assert_eq!(code.as_str(), *name);
        }
    }

    #[test]
    fn every_code_round_trips_and_has_a_sentence_for_people() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, json!(code.as_str()));
            assert_eq!(serde_json::from_value::<ErrorCode>(json).unwrap(), *code);
            let title = code.title();
            assert!(
                title.chars().next().unwrap().is_uppercase(),
                "{code}: {title}"
            );
            assert!(
                !title.contains('_'),
                "{code}: a title is not a machine name"
            );
        }
    }

    #[test]
    fn an_unknown_code_from_a_newer_server_still_reads() {
        let problem: Problem = serde_json::from_value(json!({
            "type": "urn:espresso:problem:moon_phase_wrong",
            "title": "Wait for the full moon",
            "status": 409,
            "detail": null,
            "code": "moon_phase_wrong",
            "brand_new_member": true
        }))
        .unwrap();
        assert_eq!(problem.code, ErrorCode::Unknown("moon_phase_wrong".into()));
        assert_eq!(problem.code.as_str(), "moon_phase_wrong");
        assert_eq!(problem.status, 409);
        assert_eq!(
            serde_json::to_value(&problem.code).unwrap(),
            json!("moon_phase_wrong")
        );
    }

    #[test]
    fn a_problem_has_the_five_rfc_9457_members_and_no_unused_extensions() {
        let json = serde_json::to_value(Problem::new(ErrorCode::ShopClosed)).unwrap();
        assert_eq!(
            json,
            json!({
                "type": "urn:espresso:problem:shop_closed",
                "title": "The shop is closed right now",
                "status": 409,
                "detail": null,
                "code": "shop_closed"
            })
        );
    }

    #[test]
    fn invalid_transition_carries_the_current_state() {
        let problem =
            Problem::invalid_transition(OrderState::InProgress).with_detail("already being made");
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["code"], "invalid_transition");
        assert_eq!(json["status"], 409);
        assert_eq!(json["state"], "in_progress");
        assert_eq!(json["detail"], "already being made");
        assert_eq!(serde_json::from_value::<Problem>(json).unwrap(), problem);
    }

    #[test]
    fn otp_refusals_carry_attempts_and_retry_time() {
        let wrong = Problem::new(ErrorCode::CodeIncorrect).with_attempts_left(3);
        assert_eq!(serde_json::to_value(&wrong).unwrap()["attempts_left"], 3);
        let slow_down = Problem::new(ErrorCode::RateLimited).with_retry_after_s(30);
        assert_eq!(
            serde_json::to_value(&slow_down).unwrap()["retry_after_s"],
            30
        );
        let expired = Problem::new(ErrorCode::CodeExpired).with_status(401);
        assert_eq!(expired.status, 401);
        assert_eq!(expired.code, ErrorCode::CodeExpired);
    }

    #[test]
    fn a_bare_problem_from_elsewhere_reads_with_defaults() {
        let problem: Problem =
            serde_json::from_str(r#"{"title":"Bad Gateway","status":502,"code":"internal"}"#)
                .unwrap();
        assert_eq!(problem.type_uri, "about:blank");
        assert_eq!(problem.detail, None);
        assert_eq!(problem.code, ErrorCode::Internal);
    }
}
