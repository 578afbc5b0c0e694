//! Sign-in with a one-time code, shared by the three apps: email → 6-digit code → signed in.
//!
//! The code field takes the six digits typed, pasted or filled in by the phone (it is one field
//! with `autocomplete="one-time-code"`, drawn as six boxes) and signs in by itself at the sixth
//! digit. Every refusal is said in plain words: a wrong code with the tries left, an expired or
//! locked code (ask for a new one), too many requests (with when to try again).

use std::rc::Rc;

use chrono::{DateTime, Utc};
use espresso_core::protocol::{
    App, ErrorCode, LinkTo, OTP_LINK_PARAM, OtpChallenge, User, is_shop_id, parse_otp_link,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::a11y::{ScreenTitle, focus_when_shown};
use crate::backend::{BackendError, BackendRef, Calls};
use crate::ctx::Ctx;
use crate::i18n::{LangSwitch, error_words, lang, t, tf};
use crate::util::{
    clock_text, forget_pref, load_pref, now, query_param, reload_for_shop, save_pref,
    seconds_until, set_query_param, use_clock,
};

/// The words for a sign-in refusal.
pub fn sign_in_error(error: &BackendError) -> String {
    let Some(problem) = error.problem() else {
        return match error {
            BackendError::Network(_) | BackendError::Timeout => t(
                "We cannot reach the coffee bar right now. Check your connection and try again.",
                "Não conseguimos falar com o bar agora. Verifique sua conexão e tente de novo.",
            )
            .into(),
            other => error_words(other),
        };
    };
    match problem.code {
        ErrorCode::CodeIncorrect => match problem.attempts_left {
            Some(1) => t(
                "That code is not right. You have 1 try left.",
                "Esse código não está certo. Você tem mais 1 tentativa.",
            )
            .into(),
            Some(0) => t(
                "That code is not right. Please ask for a new one.",
                "Esse código não está certo. Peça um novo.",
            )
            .into(),
            Some(n) => tf!(
                "That code is not right. You have {n} tries left.",
                "Esse código não está certo. Você tem mais {n} tentativas."
            ),
            None => t("That code is not right.", "Esse código não está certo.").into(),
        },
        ErrorCode::CodeExpired => t(
            "That code has expired. Send a new one below.",
            "Esse código expirou. Peça um novo abaixo.",
        )
        .into(),
        ErrorCode::CodeLocked => t(
            "Too many wrong codes. Send a new one below.",
            "Muitos códigos errados. Peça um novo abaixo.",
        )
        .into(),
        ErrorCode::RateLimited => match problem.retry_after_s {
            Some(s) => {
                let wait = clock_text(s);
                tf!(
                    "Too many tries. Please try again in {wait}.",
                    "Tentativas demais. Tente de novo em {wait}."
                )
            }
            None => t(
                "Too many tries. Please wait a moment and try again.",
                "Tentativas demais. Espere um pouco e tente de novo.",
            )
            .into(),
        },
        ErrorCode::ValidationFailed | ErrorCode::BadRequest => t(
            "Please check the email address.",
            "Confira o endereço de e-mail.",
        )
        .into(),
        _ => error_words(error),
    }
}

/// The words for a sign-in link that did not sign in.
fn link_error_words(error: &BackendError) -> String {
    match error.code() {
        Some(ErrorCode::CodeExpired | ErrorCode::CodeInvalid) => t(
            "This sign-in link has expired or was used already. Sign in with your email below: \
                 we'll send you a code.",
            "Este link de acesso expirou ou já foi usado. Entre com seu e-mail abaixo: \
                 enviaremos um código.",
        )
        .into(),
        _ => {
            let why = sign_in_error(error);
            tf!(
                "The sign-in link did not work: {why}",
                "O link de acesso não funcionou: {why}"
            )
        }
    }
}

/// Keep the digits of what was typed or pasted, at most six ("123 456" → "123456").
pub fn digits_of(input: &str) -> String {
    input.chars().filter(char::is_ascii_digit).take(6).collect()
}

/// A code asked for and not used yet. It is kept in this browser (per app, as sessions are), so
/// that a phone that reloads the page while its person reads the mail still waits for the code,
/// and so that the mail's link signs in here, and only here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sent {
    email: String,
    challenge: OtpChallenge,
    resend_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl Sent {
    fn new(email: String, challenge: OtpChallenge, at: DateTime<Utc>) -> Self {
        let after = |seconds: u64| at + chrono::TimeDelta::seconds(seconds as i64);
        Self {
            email,
            resend_at: after(challenge.resend_after_s),
            expires_at: after(challenge.expires_in_s),
            challenge,
        }
    }

    fn key(app: App) -> String {
        format!("signin.pending.{}", app.session_key())
    }

    /// The code this app's page asked for, if it is still good at `at`.
    fn kept(app: App, at: DateTime<Utc>) -> Option<Self> {
        load_pref(&Self::key(app))
            .and_then(|text| serde_json::from_str::<Self>(&text).ok())
            .filter(|sent| sent.expires_at > at)
    }

    fn keep(&self, app: App) {
        if let Ok(text) = serde_json::to_string(self) {
            save_pref(&Self::key(app), &text);
        }
    }

    fn forget(app: App) {
        forget_pref(&Self::key(app));
    }
}

/// What the mail's link (`?otp=<challenge>.<code>`) does on this page, given the code this page
/// asked for: sign in with the code when the link is for it, else say why not.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FromLink {
    SignIn(String),
    OtherDevice,
    Broken,
}

fn from_link(link: &str, kept: Option<&Sent>) -> FromLink {
    match parse_otp_link(link) {
        None => FromLink::Broken,
        Some((challenge, code)) => match kept {
            Some(sent) if sent.challenge.challenge_id == challenge => {
                FromLink::SignIn(code.to_owned())
            }
            _ => FromLink::OtherDevice,
        },
    }
}

/// Email, then code. Calls `on_signed_in` with the user once the code is accepted.
#[component]
pub fn SignIn(
    backend: BackendRef,
    /// The heading, e.g. "Sign in to order".
    #[prop(into)]
    title: String,
    /// One line under it.
    #[prop(into)]
    lede: String,
    on_signed_in: Callback<User>,
    /// The mail's link this page was opened with (`?otp=`), if any.
    link: Option<String>,
) -> impl IntoView {
    // Which app and shop asked: the mail links back to this page (the start page has none).
    let page = use_context::<Ctx>().map(|ctx| (ctx.app, ctx.shop));
    let app = page.as_ref().map_or(App::Customer, |(app, _)| *app);
    let link_to = page
        .filter(|(app, _)| *app != App::Home)
        .map(|(app, shop)| LinkTo { app, shop });
    let kept = Sent::kept(app, now());
    let link = link.map(|link| from_link(&link, kept.as_ref()));
    // What the person typed (or pressed) on the page's first screen before the app came.
    let handover = crate::first_screen::handover().filter(|_| kept.is_none());
    let email = RwSignal::new(
        kept.as_ref()
            .map(|sent| sent.email.clone())
            .or_else(|| handover.as_ref().map(|handover| handover.email.clone()))
            .unwrap_or_default(),
    );
    // She was typing in the page's field: the app's takes the keyboard focus, so she goes on.
    let resume_typing = StoredValue::new(
        handover
            .as_ref()
            .is_some_and(|handover| handover.typing && !handover.send),
    );
    let code = RwSignal::new(String::new());
    let sent = RwSignal::new(kept);
    let error = RwSignal::new(match link {
        Some(FromLink::OtherDevice) => Some(
            t(
                "That link signs in only on the phone or computer where the code was asked for. \
                 Here, type your email and we'll send a new code.",
                "Esse link só entra no celular ou computador onde o código foi pedido. \
                 Aqui, digite seu e-mail e enviaremos um novo código.",
            )
            .to_owned(),
        ),
        Some(FromLink::Broken) => Some(
            t(
                "That sign-in link is incomplete. Type the code from the email instead.",
                "Esse link de acesso está incompleto. Digite o código do e-mail.",
            )
            .into(),
        ),
        _ => None,
    });
    let busy = RwSignal::new(false);
    let clock = use_clock(1_000);
    // "Use another email" brings the focus back to the email field.
    let back_to_email = StoredValue::new(false);

    let send = {
        move || {
            let address = email.get_untracked().trim().to_owned();
            if !address.contains('@') || address.len() < 3 {
                error.set(Some(
                    t(
                        "Please enter your email address.",
                        "Digite seu endereço de e-mail.",
                    )
                    .into(),
                ));
                return;
            }
            let backend = backend.get();
            busy.set(true);
            error.set(None);
            let link_to = link_to.clone();
            leptos::task::spawn_local(async move {
                match backend
                    .request_code(address.clone(), link_to, Some(lang().tag().to_owned()))
                    .await
                {
                    Ok(challenge) => {
                        let asked = Sent::new(address, challenge, now());
                        asked.keep(app);
                        code.try_set(String::new());
                        sent.try_set(Some(asked));
                    }
                    Err(e) => {
                        error.try_set(Some(sign_in_error(&e)));
                    }
                }
                busy.try_set(false);
            });
        }
    };
    let send = StoredValue::new_local(send);
    // "Send me a code" pressed on the page's first screen: sent now (its button said "Sending…").
    if handover.as_ref().is_some_and(|handover| handover.send) {
        send.with_value(|send| send());
    }

    let verify = {
        move || {
            let Some(current) = sent.get_untracked() else {
                return;
            };
            let digits = code.get_untracked();
            if digits.len() != 6 || busy.get_untracked() {
                return;
            }
            let backend = backend.get();
            busy.set(true);
            error.set(None);
            leptos::task::spawn_local(async move {
                match backend
                    .verify_code(current.challenge.challenge_id.clone(), digits.clone())
                    .await
                {
                    Ok(user) => {
                        Sent::forget(app);
                        on_signed_in.run(user);
                    }
                    Err(e) => {
                        error.try_set(Some(sign_in_error(&e)));
                        code.try_set(String::new());
                    }
                }
                busy.try_set(false);
            });
        }
    };
    let verify = StoredValue::new_local(verify);
    // The mail's link, opened where the code was asked for: sign in with its code.
    if let Some(FromLink::SignIn(digits)) = link {
        code.set(digits);
        verify.with_value(|verify| verify());
    }

    view! {
        <section class="sign-in panel" aria-labelledby="sign-in-title">
            <ScreenTitle id="sign-in-title">{title}</ScreenTitle>
            {move || match sent.get() {
                None => {
                    let email_field = NodeRef::<leptos::html::Input>::new();
                    if back_to_email.get_value() || resume_typing.get_value() {
                        resume_typing.set_value(false);
                        focus_when_shown(email_field);
                    }
                    view! {
                    <p class="lede">{lede.clone()}</p>
                    <form class="stack" on:submit=move |ev| {
                        ev.prevent_default();
                        send.with_value(|send| send());
                    }>
                        <label class="field">
                            <span class="field-label">{t("Email", "E-mail")}</span>
                            <input
                                type="email"
                                name="email"
                                autocomplete="email"
                                inputmode="email"
                                required
                                placeholder=t("you@example.com", "voce@exemplo.com")
                                data-testid="email"
                                node_ref=email_field
                                prop:value=move || email.get()
                                on:input=move |ev| email.set(event_target_value(&ev))
                            />
                        </label>
                        <button class="button-primary" type="submit" data-testid="send-code"
                            disabled=move || busy.get()>
                            {move || if busy.get() { t("Sending…", "Enviando…") } else { t("Send me a code", "Enviar código") }}
                        </button>
                    </form>
                }.into_any()
                }
                Some(current) => {
                    let to = current.email.clone();
                    let resend_at = current.resend_at;
                    // The code sent: the focus goes to where it is typed.
                    let code_field = NodeRef::<leptos::html::Input>::new();
                    focus_when_shown(code_field);
                    view! {
                        <p class="lede">
                            {t("We sent a 6-digit code to ", "Enviamos um código de 6 dígitos para ")}
                            <strong>{to}</strong> "."
                        </p>
                        <form class="stack" on:submit=move |ev| {
                            ev.prevent_default();
                            verify.with_value(|verify| verify());
                        }>
                            <label class="field">
                                <span class="field-label">{t("Code from the email", "Código do e-mail")}</span>
                                <input
                                    class="otp"
                                    type="text"
                                    name="code"
                                    inputmode="numeric"
                                    autocomplete="one-time-code"
                                    pattern="[0-9]*"
                                    maxlength="7"
                                    aria-describedby="otp-help"
                                    data-testid="otp"
                                    node_ref=code_field
                                    prop:value=move || code.get()
                                    on:input=move |ev| {
                                        let digits = digits_of(&event_target_value(&ev));
                                        code.set(digits.clone());
                                        if digits.len() == 6 {
                                            verify.with_value(|verify| verify());
                                        }
                                    }
                                />
                            </label>
                            <p id="otp-help" class="hint">{t("Six digits. It works for 10 minutes.", "Seis dígitos. Vale por 10 minutos.")}</p>
                            <button class="button-primary" type="submit" data-testid="verify"
                                disabled=move || busy.get() || code.get().len() != 6>
                                {move || if busy.get() { t("Checking…", "Verificando…") } else { t("Sign in", "Entrar") }}
                            </button>
                        </form>
                        <div class="row-between">
                            {move || {
                                let wait = seconds_until(resend_at, clock.get());
                                if wait > 0 {
                                    view! {
                                        <span class="hint num" data-testid="resend-countdown">
                                            {let wait = clock_text(wait); tf!("Send a new code in {wait}", "Enviar um novo código em {wait}")}
                                        </span>
                                    }.into_any()
                                } else {
                                    view! {
                                        <button class="button-link" type="button" data-testid="resend"
                                            disabled=move || busy.get()
                                            on:click=move |_| send.with_value(|send| send())>
                                            {t("Send a new code", "Enviar um novo código")}
                                        </button>
                                    }.into_any()
                                }
                            }}
                            <button class="button-link" type="button" data-testid="change-email"
                                on:click=move |_| {
                                    back_to_email.set_value(true);
                                    Sent::forget(app);
                                    sent.set(None);
                                    error.set(None);
                                }>
                                {t("Use another email", "Usar outro e-mail")}
                            </button>
                        </div>
                    }.into_any()
                }
            }}
            <p class="error" role="alert" data-testid="sign-in-error">
                {move || error.get().unwrap_or_default()}
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use espresso_core::protocol::Problem;

    #[test]
    fn the_mails_link_signs_in_only_where_its_code_was_asked_for() {
        let asked = Sent::new(
            "ann@example.com".into(),
            OtpChallenge {
                challenge_id: "otp_1".into(),
                expires_in_s: 600,
                resend_after_s: 30,
            },
            chrono::DateTime::UNIX_EPOCH,
        );
        assert_eq!(asked.expires_at.timestamp(), 600);
        assert_eq!(
            from_link("otp_1.042917", Some(&asked)),
            FromLink::SignIn("042917".into())
        );
        assert_eq!(
            from_link("otp_2.042917", Some(&asked)),
            FromLink::OtherDevice
        );
        assert_eq!(from_link("otp_1.042917", None), FromLink::OtherDevice);
        assert_eq!(from_link("otp_1.0429", Some(&asked)), FromLink::Broken);
    }

    #[test]
    fn pasted_codes_keep_their_digits_only() {
        assert_eq!(digits_of(" 123 456 "), "123456");
        assert_eq!(digits_of("12-34-56-78"), "123456");
        assert_eq!(digits_of("abc"), "");
    }

    #[test]
    fn refusals_read_in_plain_words() {
        let wrong =
            BackendError::from(Problem::new(ErrorCode::CodeIncorrect).with_attempts_left(2));
        assert_eq!(
            sign_in_error(&wrong),
            "That code is not right. You have 2 tries left."
        );
        let limited =
            BackendError::from(Problem::new(ErrorCode::RateLimited).with_retry_after_s(90));
        assert!(sign_in_error(&limited).contains("1:30"));
        assert!(sign_in_error(&BackendError::Timeout).contains("cannot reach"));
    }

    #[test]
    fn the_setup_says_which_shop_is_unknown_and_when_the_server_is_away() {
        let unknown = BackendError::from(Problem::new(ErrorCode::NotFound));
        let words = setup_error(&unknown, "pop-up");
        assert!(words.contains("no shop called “pop-up”"), "{words}");
        let away = setup_error(&BackendError::Timeout, "main");
        assert!(away.starts_with("That server did not answer"), "{away}");
    }
}

/// Who is signed in to this app, shared by its screens (`use_context::<SessionState>()`).
#[derive(Clone, Copy)]
pub struct SessionState {
    pub user: RwSignal<Option<User>>,
}

impl SessionState {
    /// Forget the user here (after a sign-out, or when the server ended the session).
    pub fn signed_out(&self) {
        self.user.try_set(None);
    }
}

/// Sign out through the backend, then show the sign-in screen whatever the server said (a
/// sign-out that could not reach the server still forgets the session here).
pub fn sign_out(backend: BackendRef, session: SessionState) {
    let backend = backend.get();
    leptos::task::spawn_local(async move {
        let _ = backend.sign_out().await;
        session.signed_out();
    });
}

/// Shows `signed_in(user)` once someone allowed to act as `role` is signed in, and the sign-in
/// form until then. A user without the role is told so (staff apps), with a way to switch.
#[component]
pub fn Gate(
    backend: BackendRef,
    role: espresso_core::protocol::Role,
    #[prop(into)] title: String,
    #[prop(into)] lede: String,
    signed_in: Rc<dyn Fn(User) -> AnyView>,
) -> impl IntoView {
    let signed_in = StoredValue::new_local(signed_in);
    let session = SessionState {
        user: RwSignal::new(None),
    };
    provide_context(session);
    let checked = RwSignal::new(false);
    let link_error = RwSignal::new(None::<String>);
    {
        let backend = backend.get();
        // A sign-in link (an invitation) signs in once; it leaves the address either way.
        let link = query_param("signin");
        leptos::task::spawn_local(async move {
            let mut user = backend.user().await.ok().flatten();
            if let Some(token) = link {
                set_query_param("signin", None);
                match backend.sign_in_with_link(token).await {
                    Ok(linked) => user = Some(linked),
                    Err(error) => {
                        link_error.try_set(Some(link_error_words(&error)));
                    }
                }
            }
            session.user.try_set(user);
            checked.try_set(true);
        });
    }
    // A code mail's link (`?otp=`) is for the sign-in form; it leaves the address at once.
    // Used once: a sign-in form shown again later (after signing out) has no link.
    let code_link = StoredValue::new(query_param(OTP_LINK_PARAM));
    if code_link.with_value(Option::is_some) {
        set_query_param(OTP_LINK_PARAM, None);
    }
    let on_signed_in = Callback::new(move |user: User| session.user.set(Some(user)));
    move || {
        if !checked.get() {
            return view! { <p class="loading" aria-busy="true">{t("Loading…", "Carregando…")}</p> }.into_any();
        }
        match session.user.get() {
            Some(user) if espresso_core::protocol::Role::any_can_act_as(&user.roles, role) => {
                signed_in.with_value(|signed_in| signed_in(user))
            }
            Some(user) => {
                view! {
                    <section class="panel not-allowed" data-testid="not-allowed">
                        <ScreenTitle>{t("This account cannot use this screen", "Esta conta não pode usar esta tela")}</ScreenTitle>
                        <p class="lede">
                            <strong>{user.email.clone()}</strong>
                            {t(" is signed in, but it is not set up for this screen. Ask the shop's owner to add it in the owner's console (Staff), or sign in with another account.",
                               " está conectada, mas não foi configurada para esta tela. Peça ao dono da loja para adicioná-la no painel do dono (Equipe), ou entre com outra conta.")}
                        </p>
                        <button class="button-primary" on:click=move |_| sign_out(backend, session)>
                            {t("Sign in with another account", "Entrar com outra conta")}
                        </button>
                    </section>
                }
                .into_any()
            }
            None => view! {
                {move || link_error.get().map(|text| view! {
                    <p class="error link-error" role="alert">{text}</p>
                })}
                <SignIn backend=backend title=title.clone() lede=lede.clone()
                    on_signed_in=on_signed_in
                    link=code_link.try_update_value(Option::take).flatten()/>
                <p class="lang-row"><LangSwitch/></p>
                <ServerSetting backend=backend/>
            }
            .into_any(),
        }
    }
}

/// In the installed apps: which server this app talks to and which shop it serves, and
/// changing them (first-run setup). A browser shows nothing: its server is the page's own and
/// its shop the page's `?shop=`.
#[component]
pub fn ServerSetting(backend: BackendRef) -> impl IntoView {
    let in_app = backend.get().via() == "app";
    let current = RwSignal::new(None::<String>);
    let shop = query_param("shop").unwrap_or_else(|| "main".to_owned());
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(String::new());
    let draft_shop = RwSignal::new(shop.clone());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    if in_app {
        let backend = backend.get();
        leptos::task::spawn_local(async move {
            if let Ok(url) = backend.server_url().await {
                current.try_set(Some(url));
            }
        });
    }
    let save = move || {
        let url = draft.get_untracked().trim().to_owned();
        let wanted = draft_shop.get_untracked().trim().to_owned();
        if !is_shop_id(&wanted) {
            error.set(Some(shop_name_hint().to_owned()));
            return;
        }
        let backend = backend.get();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match backend.set_server(url.clone(), wanted.clone()).await {
                // Start over on the new server (its own saved session) and shop.
                Ok(()) => reload_for_shop(&wanted),
                Err(e) => {
                    error.try_set(Some(setup_error(&e, &wanted)));
                }
            }
            busy.try_set(false);
        });
    };
    let save = StoredValue::new_local(save);
    move || {
        if !in_app {
            return None;
        }
        Some(if editing.get() {
            view! {
                <form class="panel server-setting" data-testid="server-setting"
                    on:submit=move |ev| { ev.prevent_default(); save.with_value(|save| save()); }>
                    <label class="field">
                        <span class="field-label">{t("Server address", "Endereço do servidor")}</span>
                        <input type="url" inputmode="url" placeholder="http://192.168.1.20:8080"
                            data-testid="server-url"
                            prop:value=move || draft.get()
                            on:input=move |ev| draft.set(event_target_value(&ev))/>
                    </label>
                    <p class="hint">{t("The address the café's Espresso server prints when it starts.", "O endereço que o servidor Espresso do café mostra ao iniciar.")}</p>
                    <label class="field">
                        <span class="field-label">{t("Shop", "Loja")}</span>
                        <input type="text" autocomplete="off" spellcheck="false" placeholder="main"
                            data-testid="server-shop"
                            prop:value=move || draft_shop.get()
                            on:input=move |ev| draft_shop.set(event_target_value(&ev))/>
                    </label>
                    <p class="hint">{t("Usually main. It is the name after ?shop= in the booth's address.", "Normalmente main. É o nome depois de ?shop= no endereço do balcão.")}</p>
                    <p class="error" role="alert" data-testid="server-error">
                        {move || error.get().unwrap_or_default()}
                    </p>
                    <div class="row">
                        <button class="button-primary" type="submit" data-testid="server-save"
                            disabled=move || busy.get()>
                            {move || if busy.get() { t("Checking…", "Verificando…") } else { t("Connect", "Conectar") }}
                        </button>
                        <button class="button-link" type="button"
                            on:click=move |_| editing.set(false)>{t("Keep the current one", "Manter o atual")}</button>
                    </div>
                </form>
            }
            .into_any()
        } else {
            let shop = shop.clone();
            view! {
                <p class="hint server-line" data-testid="server-line">
                    {t("Server: ", "Servidor: ")} <strong>{move || current.get().unwrap_or_default()}</strong>
                    {t(" · Shop: ", " · Loja: ")} <strong data-testid="server-line-shop">{shop}</strong> " "
                    <button class="button-link" data-testid="server-change"
                        on:click=move |_| {
                            draft.set(current.get_untracked().unwrap_or_default());
                            error.set(None);
                            editing.set(true);
                        }>
                        {t("Change", "Alterar")}
                    </button>
                </p>
            }
            .into_any()
        })
    }
}

/// What a shop name may be, in words.
pub fn shop_name_hint() -> &'static str {
    t(
        "A shop's name is letters, digits, - or _ (usually main), as after ?shop= in the booth's address.",
        "O nome de uma loja tem letras, dígitos, - ou _ (normalmente main), como depois de ?shop= no endereço do balcão.",
    )
}

/// Why the first-run setup did not take the server and shop, in words.
pub fn setup_error(error: &BackendError, shop: &str) -> String {
    if error.code() == Some(&ErrorCode::NotFound) {
        tf!(
            "That server has no shop called “{shop}”. Check the name with the café (usually main).",
            "Esse servidor não tem uma loja chamada “{shop}”. Confira o nome com o café (normalmente main)."
        )
    } else {
        tf!(
            "That server did not answer: {error}",
            "Esse servidor não respondeu: {error}"
        )
    }
}
