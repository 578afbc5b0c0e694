//! Line-art icons drawn for Espresso: one cup per drink, plus the few symbols the screens use.
//! All share one 48×48 viewBox and stroke width and draw in `currentColor`, so they follow the
//! theme (dark on the phone, cream on the display).

use leptos::prelude::*;

/// The path data of a drink's cup, by the menu item's `icon` name (unknown names get a plain
/// cup, so a new drink on the menu still has a picture).
fn drink_paths(icon: &str) -> &'static [&'static str] {
    match icon {
        // A small demitasse on a saucer, a thin line of crema.
        "espresso" => &[
            "M14 22h18v6a9 9 0 0 1-18 0z",
            "M32 24h2.5a3 3 0 0 1 0 6H31",
            "M9 39h28",
            "M17 25h12",
        ],
        // Two demitasses side by side.
        "double_espresso" | "doppio" => &[
            "M5 22h14v5a7 7 0 0 1-14 0z",
            "M19 23.5h1.5a2.5 2.5 0 0 1 0 5H18",
            "M25 22h14v5a7 7 0 0 1-14 0z",
            "M39 23.5h1.5a2.5 2.5 0 0 1 0 5H38",
            "M3 38h40",
        ],
        // A tall mug with steam.
        "americano" | "long_black" => &[
            "M12 16h20v18a6 6 0 0 1-6 6h-8a6 6 0 0 1-6-6z",
            "M32 20h3a4 4 0 0 1 0 8h-3",
            "M18 6c-2 2 2 4 0 6",
            "M26 6c-2 2 2 4 0 6",
        ],
        // A wide cup with a heart in the milk.
        "flat_white" => &[
            "M8 20h28l-2.5 12a8 8 0 0 1-8 6.5h-7a8 8 0 0 1-8-6.5z",
            "M36 23h2a4 4 0 0 1 0 8h-3.5",
            "M22 30c-4-3-6-4.5-6-6.5a2.5 2.5 0 0 1 6-1 2.5 2.5 0 0 1 6 1c0 2-2 3.5-6 6.5z",
            "M6 42h32",
        ],
        // A cup crowned with foam.
        "cappuccino" => &[
            "M9 22h26l-2.5 11a8 8 0 0 1-8 6h-5a8 8 0 0 1-8-6z",
            "M35 25h2a4 4 0 0 1 0 8h-3.5",
            "M10 22c0-5 4-8 8-7 1.5-3 6.5-3 8 0 4-1 8 2 8 7",
            "M7 43h30",
        ],
        // A tall glass with a layer of milk.
        "latte" => &[
            "M14 8h20l-3 32a3 3 0 0 1-3 2.5h-8a3 3 0 0 1-3-2.5z",
            "M15.3 22h17.4",
            "M16.2 30h15.6",
        ],
        // A plain cup for anything else.
        _ => &[
            "M10 18h24v14a8 8 0 0 1-8 8h-8a8 8 0 0 1-8-8z",
            "M34 22h2.5a4 4 0 0 1 0 8H34",
            "M18 8c-2 2 2 4 0 6",
            "M26 8c-2 2 2 4 0 6",
        ],
    }
}

/// The cup for a menu item's `icon`, sized by CSS (`.drink-icon`).
#[component]
pub fn DrinkIcon(#[prop(into)] icon: String) -> impl IntoView {
    let paths = drink_paths(&icon);
    view! {
        <svg class="drink-icon" viewBox="0 0 48 48" fill="none" stroke="currentColor"
            stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round"
            aria-hidden="true" focusable="false">
            {paths.iter().map(|d| view! { <path d=*d/> }).collect_view()}
        </svg>
    }
}

/// The symbols the screens share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symbol {
    Check,
    Clock,
    Closed,
    Cross,
    Bell,
    BellOff,
    Receipt,
    Back,
}

fn symbol_paths(symbol: Symbol) -> &'static [&'static str] {
    match symbol {
        Symbol::Check => &["M10 25l9 9 19-20"],
        Symbol::Clock => &["M24 6a18 18 0 1 0 0 36 18 18 0 1 0 0-36z", "M24 14v11l7 5"],
        // A hanging "closed" sign.
        Symbol::Closed => &["M16 14l8-8 8 8", "M6 14h36v20H6z", "M14 24h20"],
        Symbol::Cross => &["M13 13l22 22", "M35 13L13 35"],
        Symbol::Bell => &[
            "M14 33V22a10 10 0 0 1 20 0v11l3 4H11z",
            "M20 41a4 4 0 0 0 8 0",
        ],
        Symbol::BellOff => &[
            "M14 33V22a10 10 0 0 1 20 0v11l3 4H11z",
            "M20 41a4 4 0 0 0 8 0",
            "M8 8l32 32",
        ],
        Symbol::Receipt => &[
            "M12 6h24v36l-4-3-4 3-4-3-4 3-4-3-4 3z",
            "M18 16h12",
            "M18 23h12",
            "M18 30h7",
        ],
        Symbol::Back => &["M30 10L16 24l14 14"],
    }
}

/// A symbol, sized by CSS (`.symbol`).
#[component]
pub fn Icon(symbol: Symbol) -> impl IntoView {
    view! {
        <svg class="symbol" viewBox="0 0 48 48" fill="none" stroke="currentColor"
            stroke-width="3" stroke-linecap="round" stroke-linejoin="round"
            aria-hidden="true" focusable="false">
            {symbol_paths(symbol).iter().map(|d| view! { <path d=*d/> }).collect_view()}
        </svg>
    }
}

/// A hanging "Closed" sign: the customer's closed screens and the display's closed panel.
#[component]
pub fn ClosedSign() -> impl IntoView {
    view! {
        <svg class="closed-sign-art" viewBox="0 0 200 130" role="img" aria-label="Closed">
            <circle cx="100" cy="10" r="6" fill="currentColor"/>
            <path d="M100 12L40 52M100 12l60 40" fill="none" stroke="currentColor" stroke-width="4"
                stroke-linecap="round"/>
            <rect x="14" y="48" width="172" height="74" rx="14" fill="var(--foam)"
                stroke="currentColor" stroke-width="5"/>
            <text x="100" y="97" text-anchor="middle" font-size="34" font-weight="700" textLength="136" lengthAdjust="spacingAndGlyphs"
                fill="var(--late)" font-family="system-ui, sans-serif">"CLOSED"</text>
        </svg>
    }
}
