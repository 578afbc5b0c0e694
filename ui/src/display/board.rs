//! The board: "Preparing" and "Ready" with big order numbers and first names, the most recent
//! first. In Preparing, an order being made says so on a caramel tile ("Being made"); one still in
//! the queue stays plain and quieter, as the customer's phone says "in the queue". The newest ready order leads the Ready column, pulsing once in green; ready orders
//! leave after the shop's `ready_display_s`; a column with more than fits ends in "+N more".

use chrono::{DateTime, Utc};
use espresso_core::protocol::{Order, OrderId, OrderState};
use espresso_core::view::QueueView;
use leptos::prelude::*;

use super::layout::{HERO_SLOTS, SLOTS, fit, more_text};
use crate::feed::Feed;
use crate::i18n::{also, t, tf};

/// One order as a tile shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tile {
    id: OrderId,
    number: String,
    name: Option<String>,
    making: bool,
}

impl Tile {
    fn of(order: &Order) -> Self {
        Self {
            id: order.id.clone(),
            number: order.number.map(|n| n.to_string()).unwrap_or_default(),
            name: order
                .customer
                .display_name
                .as_deref()
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned),
            making: order.state == OrderState::InProgress,
        }
    }

    /// Redrawn when what it shows changes.
    fn key(&self) -> (OrderId, bool) {
        (self.id.clone(), self.making)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Column {
    hero: Option<Tile>,
    tiles: Vec<Tile>,
    more: usize,
}

#[component]
pub fn Board(feed: Feed<QueueView>, clock: ReadSignal<DateTime<Utc>>) -> impl IntoView {
    let view = feed.view;
    let preparing = Memo::new(move |_| {
        view.with(|view| {
            let newest_first: Vec<Tile> =
                view.preparing().into_iter().rev().map(Tile::of).collect();
            let fitted = fit(newest_first, SLOTS);
            Column {
                hero: None,
                tiles: fitted.shown,
                more: fitted.more,
            }
        })
    });
    let ready = Memo::new(move |_| {
        let now = clock.get();
        view.with(|view| {
            let mut newest_first = view.ready_newest_first(now).into_iter().map(Tile::of);
            let hero = newest_first.next();
            let fitted = fit(newest_first.collect(), SLOTS - HERO_SLOTS);
            Column {
                hero,
                tiles: fitted.shown,
                more: fitted.more,
            }
        })
    });
    let loaded = feed.loaded;

    view! {
        <div class="board">
            <section class="board-column column-preparing" data-testid="preparing"
                aria-labelledby="preparing-title">
                <header class="column-header">
                    <h2 id="preparing-title">{t("Preparing", "Em preparo")}{also("Preparing", "Em preparo")}</h2>
                </header>
                <ol class="tiles">
                    <For each=move || preparing.get().tiles key=Tile::key let:tile>
                        <TileView tile=tile hero=false/>
                    </For>
                    <MoreTile more=Signal::derive(move || preparing.get().more) column="preparing"/>
                </ol>
                <Show when=move || loaded.get() && preparing.with(|c| c.tiles.is_empty())>
                    <p class="column-empty">{t("Orders being made show here.", "Os pedidos em preparo aparecem aqui.")}</p>
                </Show>
            </section>
            <section class="board-column column-ready" data-testid="ready"
                aria-labelledby="ready-title">
                <header class="column-header">
                    <h2 id="ready-title">{t("Ready", "Pronto")}{also("Ready", "Pronto")}</h2>
                    <p class="column-hint">{t("Collect at the bar", "Retire no balcão")}</p>
                </header>
                <ol class="tiles">
                    <For each=move || ready.get().hero key=|tile: &Tile| tile.id.clone() let:tile>
                        <TileView tile=tile hero=true/>
                    </For>
                    <For each=move || ready.get().tiles key=Tile::key let:tile>
                        <TileView tile=tile hero=false/>
                    </For>
                    <MoreTile more=Signal::derive(move || ready.get().more) column="ready"/>
                </ol>
                <Show when=move || loaded.get() && ready.with(|c| c.hero.is_none())>
                    <p class="column-empty">{t("When your number shows here, your drink is ready.", "Quando seu número aparecer aqui, sua bebida está pronta.")}</p>
                </Show>
            </section>
        </div>
    }
}

#[component]
fn TileView(tile: Tile, hero: bool) -> impl IntoView {
    let class = match (hero, tile.making) {
        (true, _) => "tile tile-hero",
        (false, true) => "tile tile-making",
        (false, false) => "tile",
    };
    let label = match &tile.name {
        Some(name) => {
            let number = &tile.number;
            tf!("Order {number} for {name}", "Pedido {number} para {name}")
        }
        None => {
            let number = &tile.number;
            tf!("Order {number}", "Pedido {number}")
        }
    };
    let making = tile.making && !hero;
    let label = if making {
        tf!("{label}, being made", "{label}, em preparo")
    } else {
        label
    };
    let number = tile.number.clone();
    view! {
        <li class=class data-testid="order" data-number=number data-id=tile.id.into_string()
            aria-label=label>
            <span class="tile-number num">{tile.number}</span>
            // Always there (empty without a name), so every number sits at the same height.
            <span class="tile-name">{tile.name}</span>
            {making.then(|| view! { <span class="tile-status">"Being made"</span> })}
        </li>
    }
}

#[component]
fn MoreTile(more: Signal<usize>, column: &'static str) -> impl IntoView {
    view! {
        <Show when=move || { more.get() > 0 }>
            <li class="tile tile-more" data-testid=format!("more-{column}")>
                <span class="num">{move || more_text(more.get())}</span>
            </li>
        </Show>
    }
}
