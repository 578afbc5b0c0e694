//! Why an order could not start, one screen per reason, in plain words.

use espresso_core::protocol::ErrorCode;
use leptos::prelude::*;

use crate::a11y::ScreenTitle;
use crate::backend::BackendError;
use crate::i18n::{error_words, t, tf};
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
            t("We can't reach the bar", "Não conseguimos falar com o bar"),
            t(
                "Check your phone's connection, then try again.",
                "Verifique a conexão do celular e tente de novo.",
            )
            .into(),
            true,
        );
    }
    match error.code() {
        Some(ErrorCode::ShopClosed) => text(
            "closed",
            t("We're closed right now", "Estamos fechados agora"),
            t(
                "The bar isn't taking orders at the moment. This page moves on by itself when it opens.",
                "O bar não está aceitando pedidos no momento. Esta página segue sozinha quando ele abrir.",
            )
            .into(),
            true,
        ),
        Some(ErrorCode::QueueFull) => text(
            "queue-full",
            t("The queue is full", "A fila está cheia"),
            t(
                "The baristas have a lot on. Please try again in a few minutes.",
                "Os baristas estão com muitos pedidos. Tente de novo em alguns minutos.",
            )
            .into(),
            true,
        ),
        Some(ErrorCode::DailyLimitReached) => {
            let when = error
                .problem()
                .and_then(|p| p.retry_after_s)
                .map(|s| {
                    let wait = duration_words(s);
                    tf!(
                        "You can order again in {wait}.",
                        "Você pode pedir de novo em {wait}."
                    )
                })
                .unwrap_or_else(|| {
                    t(
                        "You can order again tomorrow.",
                        "Você pode pedir de novo amanhã.",
                    )
                    .into()
                });
            text(
                "daily-limit",
                t(
                    "You've had all your drinks for today",
                    "Você já pediu todas as bebidas de hoje",
                ),
                tf!("Thanks for coming by! {when}", "Obrigado pela visita! {when}"),
                false,
            )
        }
        Some(ErrorCode::CodeExpired) => text(
            "code-expired",
            t("That code has changed", "Esse código mudou"),
            t(
                "The code changes every few minutes: scan the code on the big screen again.",
                "O código muda a cada poucos minutos: escaneie de novo o código na tela grande.",
            )
            .into(),
            false,
        ),
        Some(ErrorCode::CodeExhausted) => text(
            "code-used-up",
            t("That code is used up", "Esse código se esgotou"),
            t(
                "Lots of people just ordered with it. Scan the new code on the big screen.",
                "Muita gente acabou de pedir com ele. Escaneie o novo código na tela grande.",
            )
            .into(),
            false,
        ),
        Some(ErrorCode::PassExpired) => text(
            "pass-expired",
            t("Your scan has timed out", "Sua leitura expirou"),
            t(
                "Scan the code on the big screen again to order.",
                "Escaneie de novo o código na tela grande para pedir.",
            )
            .into(),
            false,
        ),
        Some(ErrorCode::CodeInvalid) => text(
            "code-invalid",
            t("That code didn't work", "Esse código não funcionou"),
            t(
                "Scan the code on the big screen by the bar.",
                "Escaneie o código na tela grande perto do balcão.",
            )
            .into(),
            false,
        ),
        _ => text(
            "other",
            t("Something went wrong", "Algo deu errado"),
            error_words(error),
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
            0 => t(
                "The new code is on the big screen now: scan it.",
                "O novo código já está na tela grande: escaneie-o.",
            )
            .to_owned(),
            left => {
                let left = clock_text(left);
                tf!(
                    "A new code comes up on the big screen in {left}.",
                    "Um novo código aparece na tela grande em {left}."
                )
            }
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
                        on:click=move |_| on_retry.run(())>{t("Try again", "Tentar de novo")}</button>
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
