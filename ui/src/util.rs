//! Small browser helpers the three apps share: the clock, the page's query, saved preferences,
//! a chime, and the words for durations. Nothing here knows about orders.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// The wall clock now (the browser's; `chrono`'s clock is not available on wasm32).
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
}

/// A signal with the time now, updated every `every_ms` while the owner lives.
pub fn use_clock(every_ms: u64) -> ReadSignal<DateTime<Utc>> {
    let (clock, set_clock) = signal(now());
    if let Ok(handle) = set_interval_with_handle(
        move || {
            set_clock.try_set(now());
        },
        std::time::Duration::from_millis(every_ms),
    ) {
        on_cleanup(move || handle.clear());
    }
    clock
}

/// A query parameter of this page's URL (`?shop=main&code=…`), if present and not blank.
pub fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(name).filter(|value| !value.trim().is_empty())
}

/// Open this page again for `shop` (a reload: the app starts over on it).
pub fn reload_for_shop(shop: &str) {
    if let Some(window) = web_sys::window() {
        let query = format!("?shop={}", js_sys::encode_uri_component(shop));
        let _ = window.location().set_search(&query);
    }
}

/// Open this page again for `shop`, keeping the query parameters named in `keep` (the
/// console's `view` and `tab`).
pub fn reload_for_shop_keeping(shop: &str, keep: &[&str]) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let mut query = format!("?shop={}", js_sys::encode_uri_component(shop));
    for name in keep {
        if let Some(value) = query_param(name) {
            query.push_str(&format!("&{name}={}", js_sys::encode_uri_component(&value)));
        }
    }
    let _ = window.location().set_search(&query);
}

/// Replace one query parameter (or remove it with `None`) without reloading the page or adding
/// a history entry. Used to drop a redeemed booth code from the address, so a reload does not
/// try to redeem it again.
pub fn set_query_param(name: &str, value: Option<&str>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let (Ok(path), Ok(search)) = (location.pathname(), location.search()) else {
        return;
    };
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return;
    };
    match value {
        Some(value) => params.set(name, value),
        None => params.delete(name),
    }
    let query = String::from(params.to_string());
    let url = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// A preference saved in this browser (`localStorage`), e.g. "sound on".
pub fn load_pref(key: &str) -> Option<String> {
    storage()?
        .get_item(&format!("espresso.pref.{key}"))
        .ok()
        .flatten()
}

pub fn save_pref(key: &str, value: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(&format!("espresso.pref.{key}"), value);
    }
}

pub fn forget_pref(key: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&format!("espresso.pref.{key}"));
    }
}

/// A saved on/off preference, `default` when never set.
pub fn load_flag(key: &str, default: bool) -> bool {
    match load_pref(key).as_deref() {
        Some("on") => true,
        Some("off") => false,
        _ => default,
    }
}

pub fn save_flag(key: &str, on: bool) {
    save_pref(key, if on { "on" } else { "off" });
}

/// `m:ss` for a number of seconds (`h:mm:ss` from an hour).
pub fn clock_text(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A duration in plain words, rounded: "less than a minute", "4 min", "2 h 10 min".
pub fn duration_words(seconds: u64) -> String {
    match seconds {
        0..60 => crate::i18n::t("less than a minute", "menos de um minuto").to_owned(),
        60..3600 => format!("{} min", seconds.div_ceil(60)),
        _ => {
            let minutes = seconds.div_ceil(60);
            match minutes % 60 {
                0 => format!("{} h", minutes / 60),
                rest => format!("{} h {rest} min", minutes / 60),
            }
        }
    }
}

/// Seconds from `now` until `at` (0 if past).
pub fn seconds_until(at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    (at - now).num_seconds().max(0).unsigned_abs()
}

/// Seconds from `at` to `now` (0 if `at` is in the future).
pub fn seconds_since(at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    (now - at).num_seconds().max(0).unsigned_abs()
}

/// A short two-tone chime (Web Audio; no sound file to ship). Silent where audio is blocked
/// (browsers allow it after the first tap on the page).
pub fn chime(high: bool) {
    let Ok(context) = web_sys::AudioContext::new() else {
        return;
    };
    let start = context.current_time();
    let notes: &[f32] = if high {
        &[880.0, 1320.0]
    } else {
        &[660.0, 880.0]
    };
    for (i, frequency) in notes.iter().enumerate() {
        let (Ok(oscillator), Ok(gain)) = (context.create_oscillator(), context.create_gain())
        else {
            return;
        };
        oscillator.set_type(web_sys::OscillatorType::Sine);
        oscillator.frequency().set_value(*frequency);
        let at = start + i as f64 * 0.18;
        let _ = gain.gain().set_value_at_time(0.0, at);
        let _ = gain.gain().linear_ramp_to_value_at_time(0.25, at + 0.02);
        let _ = gain.gain().linear_ramp_to_value_at_time(0.0, at + 0.35);
        let _ = oscillator.connect_with_audio_node(&gain);
        let _ = gain.connect_with_audio_node(&context.destination());
        let _ = oscillator.start_with_when(at);
        let _ = oscillator.stop_with_when(at + 0.4);
    }
}

/// Buzz the phone where the platform allows (`navigator.vibrate`; Safari and WebKitGTK, so the
/// installed apps' windows, have none: calling it there would throw).
pub fn vibrate(pattern_ms: &[u32]) {
    if let Some(window) = web_sys::window() {
        let navigator = window.navigator();
        if !js_sys::Reflect::has(&navigator, &"vibrate".into()).unwrap_or(false) {
            return;
        }
        let pattern = js_sys::Array::new();
        for ms in pattern_ms {
            pattern.push(&wasm_bindgen::JsValue::from(*ms));
        }
        let _ = navigator.vibrate_with_pattern(&pattern);
    }
}

/// Whether the person is looking at this page: it is shown and has the keyboard focus.
pub fn page_in_front() -> bool {
    web_sys::window()
        .and_then(|window| window.document())
        .is_some_and(|document| !document.hidden() && document.has_focus().unwrap_or(true))
}

/// Ask the screen to stay on (Screen Wake Lock API, where the browser has it). Returns whether
/// it was asked; the lock is dropped by the browser when the page is hidden, so call again when
/// it is shown.
pub fn keep_screen_on() -> bool {
    use wasm_bindgen::JsCast;
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    let Ok(wake_lock) = js_sys::Reflect::get(&navigator, &"wakeLock".into()) else {
        return false;
    };
    if wake_lock.is_undefined() {
        return false;
    }
    let Ok(request) = js_sys::Reflect::get(&wake_lock, &"request".into()) else {
        return false;
    };
    let Ok(request) = request.dyn_into::<js_sys::Function>() else {
        return false;
    };
    match request.call1(&wake_lock, &"screen".into()) {
        Ok(promise) => {
            if let Ok(promise) = promise.dyn_into::<js_sys::Promise>() {
                // A refusal (page hidden, power saving) is not an error worth showing.
                let ignore =
                    wasm_bindgen::closure::Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(
                        |_: wasm_bindgen::JsValue| {},
                    );
                let _ = promise.catch(&ignore);
                ignore.forget();
            }
            true
        }
        Err(_) => false,
    }
}

/// The browser's time zone (an IANA name such as `Europe/Lisbon`), if it says.
pub fn browser_time_zone() -> Option<String> {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    js_sys::Reflect::get(&format.resolved_options(), &"timeZone".into())
        .ok()?
        .as_string()
}

/// Today's date in the time zone `zone` (an IANA name), `YYYY-MM-DD`; where the browser is if
/// it does not know the zone.
pub fn date_today_in(zone: &str) -> String {
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"timeZone".into(), &zone.into());
    // Canadian English writes dates as YYYY-MM-DD.
    let locales = js_sys::Array::of1(&"en-CA".into());
    let format = js_sys::Intl::DateTimeFormat::new(&locales, &options);
    let text = format
        .format()
        .call1(&wasm_bindgen::JsValue::UNDEFINED, &js_sys::Date::new_0())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    let is_date = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if is_date { text } else { local_date_today() }
}

/// Today's date where the browser is, `YYYY-MM-DD`.
pub fn local_date_today() -> String {
    let date = js_sys::Date::new_0();
    format!(
        "{:04}-{:02}-{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date()
    )
}

/// Offer `text` to the person as a file named `name` (the browser's download), of `mime` type.
pub fn download_text(name: &str, mime: &str, text: &str) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let fail = |(en, pt): (&str, &str)| match crate::i18n::lang() {
        crate::i18n::Lang::En => format!("could not {en}"),
        crate::i18n::Lang::Pt => format!("não foi possível {pt}"),
    };
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|_| fail(("make the file", "criar o arquivo")))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|_| fail(("make a link", "criar um link")))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| fail(("find the page", "encontrar a página")))?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| fail(("make a link", "criar um link")))?
        .dyn_into()
        .map_err(|_| fail(("make a link", "criar um link")))?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(clock_text(0), "0:00");
        assert_eq!(clock_text(299), "4:59");
        assert_eq!(clock_text(3_725), "1:02:05");
        assert_eq!(duration_words(30), "less than a minute");
        assert_eq!(duration_words(61), "2 min");
        assert_eq!(duration_words(3_600), "1 h");
        assert_eq!(duration_words(7_800), "2 h 10 min");
    }
}
