//! `espresso://order?shop=…&code=…`: the booth's QR code as a link to the installed customer
//! app. The shell checks it and opens the app's own `/order?shop=…&code=…` page (the same page
//! the QR code's web address opens in a browser), so the UI needs to know nothing about it.
//! Anything else is ignored with a log line.

use url::Url;

use crate::settings::is_shop_name;

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
        if !is_shop_name(&shop) {
            return Err("the shop is not a shop name".into());
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
        format!("order?shop={}&code={}", self.shop, self.code)
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
    eprintln!("espresso-app: ignoring the link {shown:?}: {why}");
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
