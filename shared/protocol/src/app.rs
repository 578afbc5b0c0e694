//! The apps: the one web build serves all of them and picks one from the page's path; the
//! installed shell is built as one of them (its flavour). Their paths are spelled here only.

use serde::{Deserialize, Serialize};

/// Which app a page (or an installed shell) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum App {
    /// The start page linking the three apps.
    Home,
    /// The customer's phone: scan, choose, follow the order.
    Customer,
    /// The barista's queue.
    Barista,
    /// The booth screen: the board and the QR code.
    Display,
}

impl App {
    /// Every app, the start page first.
    pub const ALL: [App; 4] = [App::Home, App::Customer, App::Barista, App::Display];

    /// Its page's path on the server (API.md, Operations: `/order`, `/barista`, `/display`, `/`).
    pub const fn path(self) -> &'static str {
        match self {
            App::Home => "/",
            App::Customer => "/order",
            App::Barista => "/barista",
            App::Display => "/display",
        }
    }

    /// The app a page's path opens (its last segment, a trailing `/` aside); any other path is
    /// the start page.
    pub fn from_path(path: &str) -> Self {
        let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        App::ALL
            .into_iter()
            .find(|app| *app != App::Home && app.path().trim_start_matches('/') == last)
            .unwrap_or(App::Home)
    }

    /// Its name: `home`, `customer`, `barista`, `display` (the shell's flavour names it so).
    pub const fn name(self) -> &'static str {
        match self {
            App::Home => "home",
            App::Customer => "customer",
            App::Barista => "barista",
            App::Display => "display",
        }
    }

    /// The app of a name as [`App::name`] writes it (any case, blanks around it; blank is the
    /// start page).
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        if name.is_empty() {
            return Some(App::Home);
        }
        App::ALL
            .into_iter()
            .find(|app| app.name().eq_ignore_ascii_case(name))
    }

    /// The page that opens this app on `shop`, relative to the apps' origin: `order?shop=main`
    /// (the start page: `index.html`). `shop` is a shop id ([`crate::is_shop_id`]): nothing in
    /// it needs escaping.
    pub fn page(self, shop: &str) -> String {
        match self {
            App::Home => "index.html".to_owned(),
            app => format!("{}?shop={shop}", app.path().trim_start_matches('/')),
        }
    }

    /// Whose session this app keeps: each app its own, so one browser can be a customer on
    /// `/order` and a barista on `/barista` at once; the start page shares the customer's.
    pub const fn session_key(self) -> &'static str {
        match self {
            App::Home | App::Customer => "customer",
            App::Barista => "barista",
            App::Display => "display",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_page_path_opens_its_app_and_anything_else_the_start_page() {
        for app in App::ALL {
            assert_eq!(App::from_path(app.path()), app, "{app:?}");
        }
        assert_eq!(App::from_path("/order"), App::Customer);
        assert_eq!(App::from_path("/barista/"), App::Barista);
        assert_eq!(App::from_path("/display"), App::Display);
        assert_eq!(App::from_path("/"), App::Home);
        assert_eq!(App::from_path("/index.html"), App::Home);
        assert_eq!(App::from_path(""), App::Home);
    }

    #[test]
    fn names_and_pages() {
        assert_eq!(App::from_name("Barista"), Some(App::Barista));
        assert_eq!(App::from_name(" display "), Some(App::Display));
        assert_eq!(App::from_name(""), Some(App::Home));
        assert_eq!(App::from_name("kiosk"), None);
        for app in App::ALL {
            assert_eq!(App::from_name(app.name()), Some(app));
        }
        assert_eq!(App::Display.page("main"), "display?shop=main");
        assert_eq!(App::Customer.page("pop-up"), "order?shop=pop-up");
        assert_eq!(App::Home.page("main"), "index.html");
        assert_eq!(App::Home.session_key(), App::Customer.session_key());
    }
}
