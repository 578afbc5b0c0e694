//! The apps' languages: English and Portuguese (Brazilian Portuguese, "você").
//!
//! Each piece of text is written where it is shown, both languages side by side: `t("Order
//! now", "Pedir agora")`, or a `match lang()` for text with values in it. The compiler then
//! sees every string in both languages (none can be forgotten), and the web build carries no
//! catalogue format, parser or locale data: numbers, times and dates come from the browser's
//! own `Intl` (12 or 24 hours as the person's locale has it). See docs/OPERATIONS.md,
//! "Languages", for why this is not leptos_i18n or Fluent.
//!
//! The language is the one chosen on this device (kept in localStorage), else the first of
//! `navigator.languages` that the apps speak (pt-BR, pt-PT → pt), else English. `<html lang>`
//! follows it. A switch re-renders the page ([`crate::app::App`] watches [`watch_lang`]), so
//! text computed once (a component's props) follows too.

use leptos::prelude::*;

/// A language the apps speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Pt,
}

impl Lang {
    /// Its BCP 47 tag, as `<html lang>` and the server take it.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Pt => "pt",
        }
    }

    /// Its name in itself (on the switch).
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Pt => "Português",
        }
    }

    /// The language of a BCP 47 tag ("pt-BR" → Pt), if the apps speak it.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "pt" => Some(Lang::Pt),
            _ => None,
        }
    }

    /// The other one (what the switch offers).
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Pt,
            Lang::Pt => Lang::En,
        }
    }
}

/// The language for a person whose browser prefers `preferred` (in order): the first one
/// spoken here, else English.
pub fn pick<S: AsRef<str>>(preferred: &[S]) -> Lang {
    preferred
        .iter()
        .find_map(|tag| Lang::from_tag(tag.as_ref()))
        .unwrap_or(Lang::En)
}

/// Where the choice made on this device is kept (`espresso.pref.lang`).
const PREF: &str = "lang";

thread_local! {
    static LANG: ArcRwSignal<Lang> = ArcRwSignal::new(initial());
    static BOTH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Natively (the unit tests) there is no browser: English.
const IN_BROWSER: bool = cfg!(target_arch = "wasm32");

/// The languages a page's address asks for (`?lang=pt`, or `?lang=en+pt` for both, the first
/// one first), in order, without repeats.
pub fn asked(query: &str) -> Vec<Lang> {
    let mut langs = Vec::new();
    for lang in query.split([' ', '+', ',']).filter_map(Lang::from_tag) {
        if !langs.contains(&lang) {
            langs.push(lang);
        }
    }
    langs
}

fn initial() -> Lang {
    if !IN_BROWSER {
        return Lang::En;
    }
    // An address that names the language (a booth screen set up once) wins, and is not kept.
    let asked = crate::util::query_param("lang")
        .map(|query| asked(&query))
        .unwrap_or_default();
    BOTH.with(|both| both.set(asked.len() > 1));
    let chosen = crate::util::load_pref(PREF).and_then(|tag| Lang::from_tag(&tag));
    let lang = asked
        .first()
        .copied()
        .or(chosen)
        .unwrap_or_else(|| pick(&browser_languages()));
    set_html_lang(lang);
    lang
}

/// Whether the page shows its headings in both languages (`?lang=en+pt`: the booth screen of
/// an event abroad).
pub fn both() -> bool {
    lang();
    BOTH.with(std::cell::Cell::get)
}

/// In a page showing both languages, `en`/`pt` in the other language, under the first (marked
/// with its `lang`); nothing otherwise.
pub fn also(en: &'static str, pt: &'static str) -> impl IntoView {
    both().then(|| {
        let other = lang().other();
        let text = match other {
            Lang::En => en,
            Lang::Pt => pt,
        };
        // A space between the two, for the page's text (the line is drawn by the style).
        view! { " " <span class="also-lang" lang=other.tag()>{text}</span> }
    })
}

/// `navigator.languages` (or `navigator.language`), most preferred first.
fn browser_languages() -> Vec<String> {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return Vec::new();
    };
    let mut tags: Vec<String> = navigator
        .languages()
        .iter()
        .filter_map(|tag| tag.as_string())
        .collect();
    if tags.is_empty() {
        tags.extend(navigator.language());
    }
    tags
}

fn set_html_lang(lang: Lang) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.tag());
    }
}

/// The language now (untracked: text made with it does not subscribe to it).
pub fn lang() -> Lang {
    LANG.with(|lang| lang.get_untracked())
}

/// The language now, re-running the caller when it changes (the page's root does).
pub fn watch_lang() -> Lang {
    LANG.with(|lang| lang.get())
}

/// Switch to `lang`, remember it on this device, and set `<html lang>`.
pub fn set_lang(lang: Lang) {
    if IN_BROWSER {
        crate::util::save_pref(PREF, lang.tag());
        set_html_lang(lang);
    }
    LANG.with(|signal| signal.set(lang));
}

/// The text in the language now: `t("Order now", "Pedir agora")`.
pub fn t(en: &'static str, pt: &'static str) -> &'static str {
    match lang() {
        Lang::En => en,
        Lang::Pt => pt,
    }
}

/// The text in the language as it changes, for what stays on the page across a switch (the
/// shell's banners): `{tr("Reload", "Recarregar")}`.
pub fn tr(en: &'static str, pt: &'static str) -> impl Fn() -> &'static str + Copy + 'static {
    move || match watch_lang() {
        Lang::En => en,
        Lang::Pt => pt,
    }
}

/// A count with its noun, e.g. "1 drink", "2 drinks" / "1 bebida", "2 bebidas". `en` and `pt`
/// are each (one, other); 1 is the only "one" in both (CLDR's pt-PT rule; 0 takes the plural).
pub fn count(n: u64, en: (&str, &str), pt: (&str, &str)) -> String {
    let (one, other) = match lang() {
        Lang::En => en,
        Lang::Pt => pt,
    };
    format!("{} {}", number(n), if n == 1 { one } else { other })
}

/// The browser's locale for formatting in the language now: the person's own variant of it
/// when the browser prefers one (en-GB, pt-PT), else the bare language.
pub fn locale() -> String {
    let lang = lang();
    let own = IN_BROWSER
        .then(browser_languages)
        .unwrap_or_default()
        .into_iter()
        .find(|tag| Lang::from_tag(tag) == Some(lang));
    own.unwrap_or_else(|| lang.tag().to_owned())
}

/// A whole number as the locale writes it ("1,234" / "1.234").
pub fn number(n: u64) -> String {
    if IN_BROWSER && n >= 1000 {
        return js_sys::Number::from(n as f64)
            .to_locale_string(&locale())
            .as_string()
            .unwrap_or_else(|| n.to_string());
    }
    n.to_string()
}

/// The time of day of `at` in this device's time zone, as the locale writes it ("9:05 AM",
/// "09:05").
pub fn time_text(at: chrono::DateTime<chrono::Utc>) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        at.timestamp_millis() as f64
    ));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"hour".into(), &"numeric".into());
    let _ = js_sys::Reflect::set(&options, &"minute".into(), &"2-digit".into());
    date.to_locale_time_string_with_options(&locale(), &options)
        .as_string()
        .unwrap_or_else(|| format!("{:02}:{:02}", date.get_hours(), date.get_minutes()))
}

/// The date of `at` in this device's time zone, as the locale writes it.
pub fn date_text(at: chrono::DateTime<chrono::Utc>) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        at.timestamp_millis() as f64
    ));
    date.to_locale_date_string(&locale(), &js_sys::Object::new())
        .as_string()
        .unwrap_or_default()
}

/// A calendar day (`2026-11-30`, a shop's business day: no time zone moves it) as the locale
/// writes it: "Nov 30, 2026" / "30 de nov. de 2026", or without the year ("Nov 30" / "30 de
/// nov."). Anything that is not such a day is shown as it is.
pub fn day_text(day: &str, with_year: bool) -> String {
    let Ok(date) = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") else {
        return day.to_owned();
    };
    if !IN_BROWSER {
        return day.to_owned();
    }
    let noon = date
        .and_hms_opt(12, 0, 0)
        .map(|at| at.and_utc().timestamp_millis());
    let Some(millis) = noon else {
        return day.to_owned();
    };
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"timeZone".into(), &"UTC".into());
    let _ = js_sys::Reflect::set(&options, &"day".into(), &"numeric".into());
    let _ = js_sys::Reflect::set(&options, &"month".into(), &"short".into());
    if with_year {
        let _ = js_sys::Reflect::set(&options, &"year".into(), &"numeric".into());
    }
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64))
        .to_locale_date_string(&locale(), &options)
        .as_string()
        .unwrap_or_else(|| day.to_owned())
}

/// The switch to the other language: one button, named in that language ("Português" /
/// "English").
#[component]
pub fn LangSwitch() -> impl IntoView {
    move || {
        let other = watch_lang().other();
        view! {
            <button class="button-link lang-switch" type="button" lang=other.tag()
                data-testid="lang-switch"
                on:click=move |_| set_lang(other)>
                {other.name()}
            </button>
        }
    }
}

/// Text with values in it, in the language now: `tf!("{n} left", "faltam {n}")` (the values
/// are the names in scope, as in `format!`).
macro_rules! tf {
    ($en:literal, $pt:literal) => {
        match $crate::i18n::lang() {
            $crate::i18n::Lang::En => format!($en),
            $crate::i18n::Lang::Pt => format!($pt),
        }
    };
}
pub(crate) use tf;

/// What went wrong, in the language now: the server's problem by its stable code (the
/// server's own title is English), else the kind of failure.
pub fn error_words(error: &crate::backend::BackendError) -> String {
    use crate::backend::BackendError as E;
    use espresso_core::protocol::ErrorCode as C;
    if lang() == Lang::En {
        return match error.problem() {
            Some(problem) => problem.title.clone(),
            None => error.to_string(),
        };
    }
    let words = match error {
        E::Api(problem) => match &problem.code {
            C::RateLimited => "Tentativas demais. Espere um pouco e tente de novo",
            C::CodeIncorrect => "Esse código não está certo",
            C::CodeExpired => "Esse código expirou",
            C::CodeLocked => "Muitos códigos errados. Peça um novo",
            C::TokenReused => "Sua sessão terminou. Entre de novo",
            C::Unauthenticated => "Entre primeiro",
            C::Forbidden => "Você não tem permissão para fazer isso",
            C::NotFound => "Não encontramos isso",
            C::ShopClosed => "A loja está fechada agora",
            C::ShopExists => "Já existe uma loja com esse id",
            C::QueueFull => "A fila está cheia agora. Tente de novo em alguns minutos",
            C::DailyLimitReached => "Você já pediu todas as bebidas de hoje",
            C::OpenOrderExists => "Você já tem um pedido a caminho",
            C::CodeInvalid => "Esse código não é válido. Escaneie o que está na tela",
            C::CodeExhausted => "Esse código se esgotou. Escaneie o novo na tela",
            C::PassExpired => "Sua leitura expirou. Escaneie de novo o código na tela",
            C::ItemUnavailable => "Essa bebida não está disponível agora",
            C::DrinkInvalid => "Essa escolha não está no cardápio",
            C::InvalidTransition => "Isso não pode ser feito com este pedido agora",
            C::AlreadyClaimed => "Outro barista já está preparando este pedido",
            C::LastAdmin => "O último administrador não pode perder essa função",
            C::IdempotencyKeyReused => "Este pedido já foi enviado com outro conteúdo",
            C::BadRequest => "Não foi possível ler o pedido",
            C::MethodNotAllowed => "Isso não pode ser feito aqui",
            C::RequestTimeout => "O pedido demorou demais. Tente de novo",
            C::PayloadTooLarge => "O pedido é grande demais",
            C::UnsupportedMediaType => "O pedido deve ser JSON",
            C::ValidationFailed => "Alguns valores não são válidos",
            C::Internal => "Algo deu errado do nosso lado. Tente de novo",
            C::Unknown(_) => "Algo deu errado",
        },
        E::Network(_) | E::Timeout => "Não foi possível falar com o servidor",
        E::Decode(_) => "Resposta inesperada do servidor",
        E::BadUrl(_) => "Endereço de servidor inválido",
        E::SignedOut => "Você não está conectado",
        E::Status { .. } => "O servidor recusou o pedido",
    };
    words.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portuguese_of_brazil_and_portugal_is_portuguese() {
        assert_eq!(pick(&["pt-BR", "en-US"]), Lang::Pt);
        assert_eq!(pick(&["pt-PT"]), Lang::Pt);
        assert_eq!(pick(&["PT_br"]), Lang::Pt);
        assert_eq!(pick(&["fr-FR", "pt", "en"]), Lang::Pt);
        assert_eq!(pick(&["en-GB", "pt-BR"]), Lang::En);
    }

    #[test]
    fn an_address_may_ask_for_one_language_or_both() {
        assert_eq!(asked("pt"), vec![Lang::Pt]);
        assert_eq!(asked("en pt"), vec![Lang::En, Lang::Pt]);
        assert_eq!(asked("pt+en"), vec![Lang::Pt, Lang::En]);
        assert_eq!(asked("pt-BR,pt"), vec![Lang::Pt]);
        assert_eq!(asked("de"), Vec::<Lang>::new());
    }

    #[test]
    fn anything_else_is_english() {
        assert_eq!(pick(&["de-DE", "fr"]), Lang::En);
        assert_eq!(pick::<&str>(&[]), Lang::En);
        assert_eq!(pick(&[""]), Lang::En);
        assert_eq!(Lang::from_tag("ptx"), None);
    }

    #[test]
    fn counts_take_their_plural() {
        let drinks = |n| count(n, ("drink", "drinks"), ("bebida", "bebidas"));
        assert_eq!(drinks(1), "1 drink");
        assert_eq!(drinks(2), "2 drinks");
        assert_eq!(drinks(0), "0 drinks");
        set_lang(Lang::Pt);
        assert_eq!(drinks(1), "1 bebida");
        assert_eq!(drinks(3), "3 bebidas");
        assert_eq!(t("Order now", "Pedir agora"), "Pedir agora");
        set_lang(Lang::En);
        assert_eq!(t("Order now", "Pedir agora"), "Order now");
    }
}
