//! `espresso://order?shop=…&code=…`: the booth's QR code as a link to the installed customer
//! app. The shell checks it and opens the app's own `/order?shop=…&code=…` page (the same page
//! the QR code's web address opens in a browser), so the UI needs to know nothing about it.
//! Anything else is ignored with a log line.

use espresso_core::protocol::{App, is_shop_id};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;
use url::Url;

/// The link scheme of the customer app (its `.desktop` file declares
/// `x-scheme-handler/espresso`; see `flavours/customer.json`).
pub const SCHEME: &str = "espresso";

/// A checked order link: which shop, which booth code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLink {
    pub shop: String,
    pub code: String,
}

impl OrderLink {
    /// Read a link, or say why it is not one (for the log).
    pub fn parse(link: &str) -> Result<Self, String> {
        if link.len() > 512 {
            return Err("the link is too long".into());
        }
        let url = Url::parse(link.trim()).map_err(|e| format!("not a link: {e}"))?;
        if url.scheme() != SCHEME {
            return Err(format!("not an {SCHEME}: link"));
        }
        // `espresso://order?…` (host `order`), or `espresso:order?…` / `espresso:///order?…`.
        let target = match url.host_str().filter(|host| !host.is_empty()) {
            Some(host) if url.path().trim_matches('/').is_empty() => host.to_owned(),
            Some(_) => return Err("unknown link target".into()),
            None => url.path().trim_matches('/').to_owned(),
        };
        if !target.eq_ignore_ascii_case("order") {
            return Err(format!("unknown link target {target:?}"));
        }
        let (mut shop, mut code) = (None, None);
        for (key, value) in url.query_pairs() {
            let slot = match key.as_ref() {
                "shop" => &mut shop,
                "code" => &mut code,
                // Other parameters (e.g. from a link shortener) are not ours: dropped.
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(format!("{key} is given twice"));
            }
        }
        let shop = shop.ok_or("no shop in the link")?;
        let code = code.ok_or("no code in the link")?;
        if !is_shop_id(&shop) {
            return Err("the shop is not a shop id".into());
        }
        if !is_booth_code(&code) {
            return Err("the code is not a booth code".into());
        }
        Ok(OrderLink { shop, code })
    }

    /// The first order link among a process's arguments (a link opened from the desktop starts
    /// the app with it as its argument; other tools may add arguments of their own).
    pub fn find_in<S: AsRef<str>>(args: impl IntoIterator<Item = S>) -> Option<Self> {
        args.into_iter()
            .map(|arg| arg.as_ref().trim().to_owned())
            .filter(|arg| {
                arg.get(..SCHEME.len() + 1)
                    .is_some_and(|start| start.eq_ignore_ascii_case(&format!("{SCHEME}:")))
            })
            .find_map(|arg| match OrderLink::parse(&arg) {
                Ok(link) => Some(link),
                Err(why) => {
                    log_ignored(&arg, &why);
                    None
                }
            })
    }

    /// The app's page for this link (relative to the app's origin).
    pub fn page(&self) -> String {
        // Both are plain [A-Za-z0-9_-]: nothing to escape.
        format!("{}&code={}", App::Customer.page(&self.shop), self.code)
    }
}

/// A booth code as the server makes them (8 of `A-Z2-9`), with room to change: 1 to 32
/// letters, digits, `-` or `_`.
fn is_booth_code(code: &str) -> bool {
    (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Say that a link was not followed, without echoing a huge or odd argument in full.
pub fn log_ignored(link: &str, why: &str) {
    let shown: String = link.chars().take(120).collect();
    tracing::warn!(link = ?shown, "ignoring the link: {why}");
}

/// The customer app follows `espresso://` links: its bundle's config says so
/// (`flavours/customer.json`, which also puts the scheme in its `.desktop` file); a build run as
/// the customer flavour without that overlay gets the same setting here, so the deep-link plugin
/// reads the same links either way.
pub fn add_link_scheme(plugins: &mut tauri::utils::config::PluginConfig) {
    plugins
        .0
        .entry("deep-link".to_owned())
        .or_insert_with(|| serde_json::json!({ "desktop": { "schemes": [SCHEME] } }));
}

/// Open the order page of a link in the running app's window (a link opened while it runs).
pub fn follow<R: Runtime>(app: &AppHandle<R>, link: &OrderLink) {
    let Some(window) = app.get_webview_window("main") else {
        log_ignored(&link.page(), "the window is not open");
        return;
    };
    let target = window.url().and_then(|mut url| {
        // The app's own origin (tauri://localhost when embedded, the dev server otherwise).
        url.set_path(App::Customer.path());
        url.set_query(Some(&format!("shop={}&code={}", link.shop, link.code)));
        url.set_fragment(None);
        window.navigate(url)
    });
    if let Err(error) = target {
        log_ignored(&link.page(), &format!("cannot open it: {error}"));
    }
    let _ = window.unminimize();
    let _ = window.set_focus();
}

/// The order link this run was started with, if any: as the deep-link plugin saw it (the only
/// argument, or the system's "open URL" on macOS), else among the arguments (some launchers
/// add their own).
pub fn link_at_start(app: &tauri::App) -> Option<OrderLink> {
    let from_plugin: Vec<String> = app
        .deep_link()
        .get_current()
        .ok()
        .flatten()
        .unwrap_or_default()
        .iter()
        .map(|url| url.to_string())
        .collect();
    OrderLink::find_in(&from_plugin).or_else(|| {
        let args: Vec<String> = std::env::args().skip(1).collect();
        OrderLink::find_in(args.iter().filter(|arg| !from_plugin.contains(arg)))
    })
}

/// Follow the links opened while the app runs (the customer app).
pub fn follow_links_opened_later(app: &tauri::App) {
    let handle = app.handle().clone();
    app.deep_link().on_open_url(move |event| {
        let urls: Vec<String> = event.urls().iter().map(|u| u.to_string()).collect();
        if let Some(link) = OrderLink::find_in(&urls) {
            follow(&handle, &link);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(shop: &str, code: &str) -> OrderLink {
        OrderLink {
            shop: shop.into(),
            code: code.into(),
        }
    }

    #[test]
    fn an_order_link_opens_the_order_page_for_its_shop_and_code() {
        let parsed = OrderLink::parse("espresso://order?shop=main&code=ABCD2345").unwrap();
        assert_eq!(parsed, link("main", "ABCD2345"));
        assert_eq!(parsed.page(), "order?shop=main&code=ABCD2345");
        // Other spellings of the same target, and parameters that are not ours.
        for other in [
            "espresso://order/?code=ABCD2345&shop=main",
            "espresso:order?shop=main&code=ABCD2345",
            "espresso:///order?shop=main&code=ABCD2345&utm_source=qr",
            "ESPRESSO://ORDER?shop=main&code=ABCD2345",
        ] {
            assert_eq!(
                OrderLink::parse(other),
                Ok(link("main", "ABCD2345")),
                "{other}"
            );
        }
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        for bad in [
            "",
            "not a link",
            "https://cafe.example/order?shop=main&code=ABCD2345",
            "espresso://barista?shop=main&code=ABCD2345",
            "espresso://order/admin?shop=main&code=ABCD2345",
            "espresso://order?shop=main",
            "espresso://order?code=ABCD2345",
            "espresso://order?shop=main&shop=other&code=ABCD2345",
            "espresso://order?shop=../x&code=ABCD2345",
            "espresso://order?shop=main&code=%22%3E%3Cscript%3E",
            "espresso://order?shop=main&code=",
            &format!("espresso://order?shop=main&code={}", "A".repeat(33)),
            &format!("espresso://order?shop=main&code=A&pad={}", "x".repeat(600)),
        ] {
            assert!(OrderLink::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn only_the_customer_build_gets_the_link_scheme_and_a_bundle_keeps_its_own() {
        let mut plugins = tauri::utils::config::PluginConfig::default();
        add_link_scheme(&mut plugins);
        assert_eq!(
            plugins.0["deep-link"],
            serde_json::json!({ "desktop": { "schemes": ["espresso"] } })
        );
        // The customer bundle's overlay declares the same scheme (and so its .desktop file).
        let overlay: serde_json::Value =
            serde_json::from_str(include_str!("../flavours/customer.json")).unwrap();
        assert_eq!(
            overlay["plugins"]["deep-link"]["desktop"]["schemes"],
            serde_json::json!(["espresso"])
        );
        // Its `.desktop` file hands the link to the app (`%u`) and declares the scheme.
        assert_eq!(
            overlay["bundle"]["linux"]["deb"]["desktopTemplate"],
            "flavours/customer.desktop"
        );
        let desktop = include_str!("../flavours/customer.desktop");
        assert!(desktop.contains("Exec={{exec}} %u"), "{desktop}");
        assert!(desktop.contains("MimeType={{mime_type}}"), "{desktop}");
        let mut bundled = tauri::utils::config::PluginConfig::default();
        bundled
            .0
            .insert("deep-link".into(), serde_json::json!({ "desktop": {} }));
        add_link_scheme(&mut bundled);
        assert_eq!(bundled.0["deep-link"], serde_json::json!({ "desktop": {} }));
    }

    #[test]
    fn the_link_is_found_among_other_arguments() {
        let args = [
            "/usr/bin/espresso-customer",
            "--automation",
            "espresso://order?shop=main&code=XYZ23456",
        ];
        assert_eq!(OrderLink::find_in(args), Some(link("main", "XYZ23456")));
        assert_eq!(OrderLink::find_in(["/usr/bin/espresso-customer"]), None);
        // A bad link is skipped, a good one after it still counts.
        let args = [
            "app",
            "espresso://order?shop=main",
            "espresso://order?shop=b&code=C",
        ];
        assert_eq!(OrderLink::find_in(args), Some(link("b", "C")));
    }
}
