//! The numbers tab: today's figures, live — the queue now, what was served, the wait, and a bar
//! per drink an owner reads at a glance.

use leptos::prelude::*;

use espresso_core::protocol::StatsReport;

use super::Pending;
use super::charts::{HourBars, WaitLines};
use crate::backend::Calls;
use crate::barista::desk::Desk;
use crate::i18n::{count, day_text, t, tf};
use crate::icons::DrinkIcon;
use crate::util::{date_today_in, download_text, duration_words};

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
    let figure = move |f: fn(&espresso_core::protocol::Stats) -> u32| {
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
            <dl class="console-stats" aria-label=t("Today so far", "Hoje até agora")>
                {tile(t("Waiting", "Esperando"), figure(|s| s.queue_length))}
                {tile(t("Being made", "Em preparo"), figure(|s| s.in_progress))}
                {tile(t("Ready to collect", "Prontos para retirar"), figure(|s| s.ready))}
                {tile(t("Served today", "Servidos hoje"), figure(|s| s.served_today))}
                {tile(t("Not collected", "Não retirados"), figure(|s| s.not_collected_today))}
                {tile(t("Average wait", "Espera média"), Signal::derive(wait))}
            </dl>
            <section class="panel console-card" aria-labelledby="by-drink-title">
                <h3 id="by-drink-title">{t("Served today, by drink", "Servidos hoje, por bebida")}</h3>
                <ul class="console-bars">
                    <For each=move || bars.get() key=|row| row.clone() children=move |(name, icon, served, wait)| {
                        let width = move || format!("width: {}%", u64::from(served) * 100 / u64::from(most()));
                        let served_words = count(u64::from(served), ("served", "served"), ("servido", "servidos"));
                        let label = format!("{name}: {served_words}");
                        view! {
                            <li class="console-bar-row" aria-label=label>
                                <DrinkIcon icon=icon/>
                                <span class="console-bar-name">{name.clone()}</span>
                                <span class="console-bar-track" aria-hidden="true">
                                    <span class="console-bar" style=width></span>
                                </span>
                                <span class="console-bar-count num">{served}</span>
                                <span class="hint console-bar-wait">
                                    {wait.map(|w| { let w = wait_words(w); tf!("waits {w}", "espera {w}") }).unwrap_or_default()}
                                </span>
                            </li>
                        }
                    }/>
                </ul>
                <p class="hint">{t("Counts reset at the start of each business day. The wait is the mean from queue to ready over the last 10 drinks.",
                    "As contagens recomeçam no início de cada dia de funcionamento. A espera é a média, da fila até pronto, das últimas 10 bebidas.")}</p>
            </section>
            <Reports desk=desk/>
        </div>
    }
}

/// A range of days: its numbers drawn (totals, orders by hour, the waits day by day, drinks,
/// why orders were cancelled), and as spreadsheets (the orders, the daily summary).
#[component]
fn Reports(desk: Desk) -> impl IntoView {
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    // Today at the shop (an event abroad has its own date), until someone picks days.
    let zone = Memo::new(move |_| desk.shop().map(|s| s.time_zone));
    Effect::new(move |_| {
        if let Some(zone) = zone.get() {
            let today = date_today_in(&zone);
            if from.get_untracked().is_empty() {
                from.set(today.clone());
            }
            if to.get_untracked().is_empty() {
                to.set(today);
            }
        }
    });
    let report = RwSignal::new(None::<StatsReport>);
    let pending = Pending::new();
    let range = move || {
        let (from, to) = (from.get_untracked(), to.get_untracked());
        if from.is_empty() || to.is_empty() || from > to {
            pending.fail(
                t(
                    "Choose the first day, then the last (or the same day twice).",
                    "Escolha o primeiro dia, depois o último (ou o mesmo dia duas vezes).",
                )
                .into(),
            );
            None
        } else {
            Some((from, to))
        }
    };
    let show = move || {
        let Some((from, to)) = range() else {
            return;
        };
        let backend = desk.backend.get();
        let shop = desk.shop_id();
        pending.run(
            async move { backend.stats_report(shop, Some(from), Some(to)).await },
            move |answer| {
                report.set(Some(answer));
                None
            },
        );
    };
    let download = move |daily: bool| {
        let Some((from, to)) = range() else {
            return;
        };
        let backend = desk.backend.get();
        let shop = desk.shop_id();
        let what = if daily { "daily-summary" } else { "orders" };
        let name = if from == to {
            format!("espresso-{shop}-{what}-{from}.csv")
        } else {
            format!("espresso-{shop}-{what}-{from}-to-{to}.csv")
        };
        pending.run(
            async move {
                if daily {
                    backend.days_csv(shop, Some(from), Some(to)).await
                } else {
                    backend.orders_csv(shop, Some(from), Some(to)).await
                }
            },
            move |csv| {
                let rows = csv.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
                let rows = rows as u64;
                let unit = if daily {
                    count(rows, ("day", "days"), ("dia", "dias"))
                } else {
                    count(rows, ("order", "orders"), ("pedido", "pedidos"))
                };
                Some(match download_text(&name, "text/csv", &csv) {
                    Ok(()) => tf!(
                        "Downloaded {name}: {unit}.",
                        "Arquivo baixado, {name}: {unit}."
                    ),
                    Err(why) => tf!("The file came but {why}.", "O arquivo chegou, mas {why}."),
                })
            },
        );
    };
    view! {
        <section class="panel console-card" aria-labelledby="reports-title">
            <h3 id="reports-title">{t("Reports", "Relatórios")}</h3>
            <p class="hint">{t("Any range of days, in the shop's time zone: the numbers drawn here, or as spreadsheets (one row per order with its times, or one per day).",
                "Qualquer período, no fuso horário da loja: os números desenhados aqui, ou em planilhas (uma linha por pedido com seus horários, ou uma por dia).")}</p>
            <form class="console-export" on:submit=move |ev| { ev.prevent_default(); show(); }>
                <label class="field">
                    <span class="field-label">{t("From", "De")}</span>
                    <input type="date" prop:value=move || from.get()
                        on:input=move |ev| from.set(event_target_value(&ev))/>
                </label>
                <label class="field">
                    <span class="field-label">{t("To", "Até")}</span>
                    <input type="date" prop:value=move || to.get()
                        on:input=move |ev| to.set(event_target_value(&ev))/>
                </label>
                <button type="submit" class="button-primary" disabled=move || pending.busy.get()>
                    {t("Show the numbers", "Mostrar os números")}
                </button>
                <button type="button" class="button-secondary" disabled=move || pending.busy.get()
                    on:click=move |_| download(false)>
                    {t("Download orders (CSV)", "Baixar os pedidos (CSV)")}
                </button>
                <button type="button" class="button-secondary" disabled=move || pending.busy.get()
                    on:click=move |_| download(true)>
                    {t("Download daily summary (CSV)", "Baixar o resumo diário (CSV)")}
                </button>
            </form>
            {pending.line()}
            {move || report.get().map(|report| view! { <ReportView report=report/> })}
        </section>
    }
}

/// One report: the totals, the charts, the days, the drinks, the reasons.
#[component]
fn ReportView(report: StatsReport) -> impl IntoView {
    let total = report.total.clone();
    let cancelled = total.cancelled_by_customer + total.cancelled_by_staff;
    let timed_out = total.timed_out_choosing + total.timed_out_making;
    let waits = |p50: Option<u64>, p90: Option<u64>| match (p50, p90) {
        (Some(p50), Some(p90)) => {
            let (half, most) = (wait_words(p50), wait_words(p90));
            tf!("{half} (9 in 10: {most})", "{half} (9 em 10: {most})")
        }
        (Some(p50), None) => wait_words(p50),
        _ => "–".to_owned(),
    };
    let range = if report.from == report.to {
        day_text(&report.from, true)
    } else {
        let (from, to) = (day_text(&report.from, true), day_text(&report.to, true));
        tf!("{from} to {to}", "{from} a {to}")
    };
    let several_days = report.days.len() > 1;
    let day_names: Vec<String> = report
        .days
        .iter()
        .map(|d| day_text(&d.date, false))
        .collect();
    let p50: Vec<Option<u64>> = report.days.iter().map(|d| d.stats.wait_p50_s).collect();
    let p90: Vec<Option<u64>> = report.days.iter().map(|d| d.stats.wait_p90_s).collect();
    let most = total
        .by_item
        .iter()
        .map(|i| i.orders)
        .max()
        .unwrap_or(0)
        .max(1);
    view! {
        <div class="console-report" aria-label=tf!("Report for {range}", "Relatório de {range}")>
            <h4>{format!("{range} · {}", report.time_zone)}</h4>
            <dl class="console-stats">
                <div class="console-stat"><dt>{t("Orders", "Pedidos")}</dt><dd class="num">{total.orders}</dd></div>
                <div class="console-stat"><dt>{t("Served", "Servidos")}</dt><dd class="num">{total.served}</dd></div>
                <div class="console-stat"><dt>{t("Cancelled", "Cancelados")}</dt><dd class="num">{cancelled}</dd></div>
                <div class="console-stat"><dt>{t("Timed out", "Expirados")}</dt><dd class="num">{timed_out}</dd></div>
                <div class="console-stat"><dt>{t("Not collected", "Não retirados")}</dt><dd class="num">{total.not_collected}</dd></div>
            </dl>
            <p class="console-waits">
                <strong>{t("Wait for a drink: ", "Espera por uma bebida: ")}</strong>{waits(total.wait_p50_s, total.wait_p90_s)}
                <br/>
                <strong>{t("From ready to handed over: ", "De pronto a entregue: ")}</strong>{waits(total.pickup_p50_s, total.pickup_p90_s)}
            </p>
            <div class="console-charts">
                <HourBars by_hour=total.by_hour.clone()/>
                {several_days.then(|| view! { <WaitLines days=day_names p50=p50 p90=p90/> })}
            </div>
            {several_days.then(|| view! {
                <table class="console-table console-days">
                    <caption>{t("Day by day", "Dia a dia")}</caption>
                    <thead>
                        <tr>
                            <th scope="col">{t("Day", "Dia")}</th><th scope="col">{t("Orders", "Pedidos")}</th><th scope="col">{t("Served", "Servidos")}</th>
                            <th scope="col">{t("Cancelled", "Cancelados")}</th><th scope="col">{t("Timed out", "Expirados")}</th>
                            <th scope="col">{t("Not collected", "Não retirados")}</th><th scope="col">{t("Wait (half / 9 in 10)", "Espera (metade / 9 em 10)")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {report.days.iter().map(|day| {
                            let s = &day.stats;
                            view! {
                                <tr>
                                    <th scope="row">{day_text(&day.date, true)}</th>
                                    <td class="num">{s.orders}</td>
                                    <td class="num">{s.served}</td>
                                    <td class="num">{s.cancelled_by_customer + s.cancelled_by_staff}</td>
                                    <td class="num">{s.timed_out_choosing + s.timed_out_making}</td>
                                    <td class="num">{s.not_collected}</td>
                                    <td class="num">{match (s.wait_p50_s, s.wait_p90_s) {
                                        (Some(a), Some(b)) => format!("{} / {}", wait_words(a), wait_words(b)),
                                        _ => "–".to_owned(),
                                    }}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <h5>{t("By drink", "Por bebida")}</h5>
            <ul class="console-bars">
                {total.by_item.iter().map(|item| {
                    let width = format!("width: {}%", u64::from(item.orders) * 100 / u64::from(most));
                    view! {
                        <li class="console-bar-row" aria-label=format!("{}: {}, {}", item.name,
                            count(u64::from(item.orders), ("ordered", "ordered"), ("pedido", "pedidos")),
                            count(u64::from(item.served), ("served", "served"), ("servido", "servidos")))>
                            <span></span>
                            <span class="console-bar-name">{item.name.clone()}</span>
                            <span class="console-bar-track" aria-hidden="true"><span class="console-bar" style=width></span></span>
                            <span class="console-bar-count num">{item.orders}</span>
                            <span class="hint console-bar-wait">{count(u64::from(item.served), ("served", "served"), ("servido", "servidos"))}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {(!total.cancel_reasons.is_empty()).then(|| view! {
                <h5>{t("Why the bar cancelled", "Por que o bar cancelou")}</h5>
                <ul class="console-reasons">
                    {total.cancel_reasons.iter().map(|r| view! {
                        <li>{format!("{} — {}", r.reason, r.count)}</li>
                    }).collect_view()}
                </ul>
            })}
        </div>
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
