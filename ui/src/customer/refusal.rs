//! Why an order could not start, one screen per reason, in plain words.

use espresso_core::protocol::ErrorCode;
use leptos::prelude::*;

use crate::a11y::ScreenTitle;
use crate::backend::BackendError;
use crate::icons::{ClosedSign, Icon, Symbol};
use crate::util::{clock_text, duration_words, now, seconds_until, use_clock};

/// What a refusal screen says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalText {
    /// A stable name for tests and styles (`refusal-{kind}`).
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    /// Trying the same code again may work (closed, full, offline).
    pub retry: bool,
}

pub fn refusal_text(error: &BackendError) -> RefusalText {
    let text = |kind, title: &str, body: String, retry| RefusalText {
        kind,
        title: title.to_owned(),
        body,
        retry,
    };
    if error.is_transient() {
        return text(
            "offline",
            "We can't reach the bar",
            "Check your phone's connection, then try again.".into(),
            true,
        );
    }
    match error.code() {
        Some(ErrorCode::ShopClosed) => text(
            "closed",
            "We're closed right now",
            "The bar isn't taking orders at the moment. This page moves on by itself when it opens."
                .into(),
            true,
        ),
        Some(ErrorCode::QueueFull) => text(
            "queue-full",
            "The queue is full",
            "The baristas have a lot on. Please try again in a few minutes.".into(),
            true,
        ),
        Some(ErrorCode::DailyLimitReached) => {
            let when = error
                .problem()
                .and_then(|p| p.retry_after_s)
                .map(|s| format!("You can order again in {}.", duration_words(s)))
                .unwrap_or_else(|| "You can order again tomorrow.".into());
            text(
                "daily-limit",
                "You've had all your drinks for today",
                format!("Thanks for coming by! {when}"),
                false,
            )
        }
        Some(ErrorCode::CodeExpired) => text(
            "code-expired",
            "That code has changed",
            "The code changes every few minutes: scan the code on the big screen again.".into(),
            false,
        ),
        Some(ErrorCode::CodeExhausted) => text(
            "code-used-up",
            "That code is used up",
            "Lots of people just ordered with it. Scan the new code on the big screen.".into(),
            false,
        ),
        Some(ErrorCode::PassExpired) => text(
            "pass-expired",
            "Your scan has timed out",
            "Scan the code on the big screen again to order.".into(),
            false,
        ),
        Some(ErrorCode::CodeInvalid) => text(
            "code-invalid",
            "That code didn't work",
            "Scan the code on the big screen by the bar.".into(),
            false,
        ),
        _ => text(
            "other",
            "Something went wrong",
            error
                .problem()
                .map(|p| p.title.clone())
                .unwrap_or_else(|| error.to_string()),
            true,
        ),
    }
}

#[component]
pub fn Refusal(
    error: BackendError,
    can_retry: bool,
    on_retry: Callback<()>,
    on_dismiss: Callback<()>,
) -> impl IntoView {
    let text = refusal_text(&error);
    let symbol = match text.kind {
        "queue-full" | "daily-limit" => Symbol::Clock,
        _ => Symbol::Cross,
    };
    let retry = text.retry && can_retry;
    // A used-up code: when the big screen shows the next one, counting down.
    let next_code_at = (text.kind == "code-used-up")
        .then(|| error.problem().and_then(|p| p.retry_after_s))
        .flatten()
        .map(|s| now() + chrono::TimeDelta::seconds(i64::try_from(s).unwrap_or(0)));
    let clock = use_clock(1_000);
    let next_code = move || {
        next_code_at.map(|at| match seconds_until(at, clock.get()) {
            0 => "The new code is on the big screen now: scan it.".to_owned(),
            left => format!(
                "A new code comes up on the big screen in {}.",
                clock_text(left)
            ),
        })
    };
    view! {
        <section class=format!("panel center refusal refusal-{}", text.kind)
            data-testid=format!("refusal-{}", text.kind) role="alert">
            {if text.kind == "closed" {
                view! { <ClosedSign/> }.into_any()
            } else {
                view! { <div class="refusal-art"><Icon symbol=symbol/></div> }.into_any()
            }}
            <ScreenTitle>{text.title}</ScreenTitle>
            <p class="lede">{text.body}</p>
            {next_code_at.is_some().then(|| view! {
                <p class="refusal-next num" aria-live="polite">{next_code}</p>
            })}
            {if retry {
                view! {
                    <button class="button-primary wide" data-testid="try-again"
                        on:click=move |_| on_retry.run(())>"Try again"</button>
                }.into_any()
            } else {
                view! {
                    <button class="button-primary wide" data-testid="refusal-ok"
                        on:click=move |_| on_dismiss.run(())>"OK"</button>
                }.into_any()
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use espresso_core::protocol::Problem;

    #[test]
    fn each_refusal_has_its_own_screen_in_plain_words() {
        let kinds: Vec<_> = [
            ErrorCode::ShopClosed,
            ErrorCode::QueueFull,
            ErrorCode::DailyLimitReached,
            ErrorCode::CodeExpired,
            ErrorCode::CodeExhausted,
            ErrorCode::CodeInvalid,
            ErrorCode::PassExpired,
        ]
        .into_iter()
        .map(|code| refusal_text(&BackendError::from(Problem::new(code))))
        .collect();
        for text in &kinds {
            assert!(!text.body.contains('_'), "no codes shown: {text:?}");
        }
        let mut names: Vec<_> = kinds.iter().map(|t| t.kind).collect();
        names.dedup();
        assert_eq!(names.len(), 7);
    }

    #[test]
    fn the_daily_limit_says_when_it_resets() {
        let error = BackendError::from(
            Problem::new(ErrorCode::DailyLimitReached).with_retry_after_s(3 * 3600 + 600),
        );
        assert!(
            refusal_text(&error).body.contains("3 h 10 min"),
            "{:?}",
            refusal_text(&error)
        );
    }
}
