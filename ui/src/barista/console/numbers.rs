//! The numbers tab: today's figures, live — the queue now, what was served, the wait, and a bar
//! per drink an owner reads at a glance.

use leptos::prelude::*;

use super::Pending;
use crate::backend::Calls;
use crate::barista::desk::Desk;
use crate::icons::DrinkIcon;
use crate::util::{download_text, duration_words, local_date_today};

#[component]
pub fn NumbersTab(desk: Desk) -> impl IntoView {
    let stats = move || desk.feed.view.with(|v| v.stats().cloned());
    let wait = move || {
        stats()
            .and_then(|s| s.avg_wait_s)
            .map_or_else(|| "–".to_owned(), wait_words)
    };
    let tile = |label: &'static str, value: Signal<String>| {
        view! {
            <div class="console-stat">
                <dt>{label}</dt>
                <dd class="num">{move || value.get()}</dd>
            </div>
        }
    };
    let count = move |f: fn(&espresso_core::protocol::Stats) -> u32| {
        Signal::derive(move || stats().map_or_else(|| "–".to_owned(), |s| f(&s).to_string()))
    };
    // One bar per drink on the menu (drinks taken off keep their bar while they have a count).
    let bars = Memo::new(move |_| {
        let menu = desk.shop().map(|s| s.menu).unwrap_or_default();
        let by_item = stats().map(|s| s.by_item).unwrap_or_default();
        let mut rows: Vec<(String, String, u32, Option<u64>)> = menu
            .iter()
            .map(|item| {
                let stat = by_item.iter().find(|s| s.item_id == item.id);
                (
                    item.name.clone(),
                    item.icon.clone(),
                    stat.map_or(0, |s| s.served),
                    stat.and_then(|s| s.avg_wait_s),
                )
            })
            .collect();
        for stat in &by_item {
            if stat.served > 0 && !menu.iter().any(|i| i.id == stat.item_id) {
                rows.push((
                    stat.item_id.clone(),
                    "cup".into(),
                    stat.served,
                    stat.avg_wait_s,
                ));
            }
        }
        rows
    });
    let most = move || bars.with(|b| b.iter().map(|r| r.2).max().unwrap_or(0).max(1));
    view! {
        <div class="stack">
            <dl class="console-stats" aria-label="Today so far">
                {tile("Waiting", count(|s| s.queue_length))}
                {tile("Being made", count(|s| s.in_progress))}
                {tile("Ready to collect", count(|s| s.ready))}
                {tile("Served today", count(|s| s.served_today))}
                {tile("Not collected", count(|s| s.not_collected_today))}
                {tile("Average wait", Signal::derive(wait))}
            </dl>
            <section class="panel console-card" aria-labelledby="by-drink-title">
                <h3 id="by-drink-title">"Served today, by drink"</h3>
                <ul class="console-bars">
                    <For each=move || bars.get() key=|row| row.clone() children=move |(name, icon, served, wait)| {
                        let width = move || format!("width: {}%", u64::from(served) * 100 / u64::from(most()));
                        let label = format!("{name}: {served} served");
                        view! {
                            <li class="console-bar-row" aria-label=label>
                                <DrinkIcon icon=icon/>
                                <span class="console-bar-name">{name.clone()}</span>
                                <span class="console-bar-track" aria-hidden="true">
                                    <span class="console-bar" style=width></span>
                                </span>
                                <span class="console-bar-count num">{served}</span>
                                <span class="hint console-bar-wait">
                                    {wait.map(|w| format!("waits {}", wait_words(w))).unwrap_or_default()}
                                </span>
                            </li>
                        }
                    }/>
                </ul>
                <p class="hint">"Counts reset at the start of each business day. The wait is the mean from queue to ready over the last 10 drinks."</p>
            </section>
            <Export desk=desk/>
        </div>
    }
}

/// The orders of a range of days as a spreadsheet (CSV): one row per order with its times.
#[component]
fn Export(desk: Desk) -> impl IntoView {
    let today = local_date_today();
    let from = RwSignal::new(today.clone());
    let to = RwSignal::new(today);
    let pending = Pending::new();
    let download = move || {
        let (from, to) = (from.get_untracked(), to.get_untracked());
        if from.is_empty() || to.is_empty() || from > to {
            pending.fail("Choose the first day, then the last (or the same day twice).".into());
            return;
        }
        let backend = desk.backend.get();
        let shop = desk.shop_id();
        let name = if from == to {
            format!("espresso-{shop}-orders-{from}.csv")
        } else {
            format!("espresso-{shop}-orders-{from}-to-{to}.csv")
        };
        pending.run(
            async move { backend.orders_csv(shop, Some(from), Some(to)).await },
            move |csv| {
                let rows = csv.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
                Some(match download_text(&name, "text/csv", &csv) {
                    Ok(()) => match rows {
                        1 => format!("Downloaded {name}: 1 order."),
                        n => format!("Downloaded {name}: {n} orders."),
                    },
                    Err(why) => format!("The orders came but {why}."),
                })
            },
        );
    };
    view! {
        <section class="panel console-card" aria-labelledby="export-title">
            <h3 id="export-title">"Orders as a spreadsheet"</h3>
            <p class="hint">"One row per order with its times (ordered, made, ready, handed over), drink, options and how it ended. Days follow the shop's time zone."</p>
            <form class="console-export" on:submit=move |ev| { ev.prevent_default(); download(); }>
                <label class="field">
                    <span class="field-label">"From"</span>
                    <input type="date" prop:value=move || from.get()
                        on:input=move |ev| from.set(event_target_value(&ev))/>
                </label>
                <label class="field">
                    <span class="field-label">"To"</span>
                    <input type="date" prop:value=move || to.get()
                        on:input=move |ev| to.set(event_target_value(&ev))/>
                </label>
                <button type="submit" class="button-primary" disabled=move || pending.busy.get()>
                    "Download orders (CSV)"
                </button>
            </form>
            {pending.line()}
        </section>
    }
}

/// "45 s", "3 min".
fn wait_words(seconds: u64) -> String {
    if seconds < 60 {
        format!("{seconds} s")
    } else {
        duration_words(seconds)
    }
}
