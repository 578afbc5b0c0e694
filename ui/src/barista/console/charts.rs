//! The console's charts, drawn in the app as SVG: bars (orders by hour) and lines (the waits
//! day by day). The geometry is pure (tested natively); each chart also says in words what it
//! shows, for a screen reader and for a glance.

use leptos::prelude::*;

use crate::i18n::{t, tf};

/// The heights of `values` as bars in a chart `height` tall (the largest fills it; all zero:
/// all flat).
pub fn bar_heights(values: &[u32], height: f64) -> Vec<f64> {
    let most = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|v| {
            if most == 0 {
                0.0
            } else {
                f64::from(*v) * height / f64::from(most)
            }
        })
        .collect()
}

/// The busiest hour and its count, if any order came.
pub fn busiest_hour(by_hour: &[u32]) -> Option<(usize, u32)> {
    by_hour
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, n)| *n > 0)
        .max_by_key(|(hour, n)| (*n, std::cmp::Reverse(*hour)))
}

/// The points of a line through `values` (one per day, `None`: no sample that day, the line
/// skips it) in a `width`×`height` box, the top being `top` (seconds): `"x,y x,y …"`.
pub fn line_points(values: &[Option<u64>], width: f64, height: f64, top: u64) -> String {
    let step = if values.len() > 1 {
        width / (values.len() - 1) as f64
    } else {
        0.0
    };
    let top = top.max(1) as f64;
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.map(|v| {
                let x = i as f64 * step;
                let y = height - (v as f64).min(top) * height / top;
                format!("{x:.1},{y:.1}")
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// "14:00".
pub fn hour_text(hour: usize) -> String {
    format!("{hour:02}:00")
}

/// Orders by hour of the day as 24 bars, with the busiest hour said in words.
#[component]
pub fn HourBars(by_hour: Vec<u32>) -> impl IntoView {
    const W: f64 = 480.0;
    const H: f64 = 140.0;
    let heights = bar_heights(&by_hour, H);
    let slot = W / 24.0;
    let summary = match busiest_hour(&by_hour) {
        Some((hour, n)) => {
            let (from, to) = (hour_text(hour), hour_text((hour + 1) % 24));
            tf!(
                "Orders by hour: busiest {from} to {to} with {n}.",
                "Pedidos por hora: o pico foi das {from} às {to}, com {n}."
            )
        }
        None => t(
            "Orders by hour: none in this range.",
            "Pedidos por hora: nenhum neste período.",
        )
        .to_owned(),
    };
    view! {
        <figure class="console-chart">
            <svg viewBox=format!("0 0 {W} {}", H + 22.0) role="img" aria-label=summary.clone()>
                <line x1="0" y1=H x2=W y2=H class="chart-axis"/>
                {heights.iter().enumerate().map(|(hour, h)| {
                    let x = hour as f64 * slot + 2.0;
                    view! {
                        <rect class="chart-bar" x=format!("{x:.1}") y=format!("{:.1}", H - h)
                            width=format!("{:.1}", slot - 4.0) height=format!("{h:.1}") rx="3">
                            <title>{format!("{}: {}", hour_text(hour), by_hour[hour])}</title>
                        </rect>
                    }
                }).collect_view()}
                {[0usize, 6, 12, 18].into_iter().map(|hour| view! {
                    <text class="chart-label" x=format!("{:.1}", hour as f64 * slot + 2.0) y=H + 18.0>
                        {hour_text(hour)}
                    </text>
                }).collect_view()}
            </svg>
            <figcaption>{summary}</figcaption>
        </figure>
    }
}

/// The waits day by day: the median (solid) and the 90th percentile (dashed).
#[component]
pub fn WaitLines(days: Vec<String>, p50: Vec<Option<u64>>, p90: Vec<Option<u64>>) -> impl IntoView {
    const W: f64 = 480.0;
    const H: f64 = 140.0;
    let top = p90
        .iter()
        .chain(p50.iter())
        .flatten()
        .copied()
        .max()
        .unwrap_or(60)
        .max(60);
    let top_minutes = top.div_ceil(60);
    let top = top_minutes * 60;
    let (first, last) = (
        days.first().cloned().unwrap_or_default(),
        days.last().cloned().unwrap_or_default(),
    );
    let summary = tf!(
        "Waits from queue to ready, {first} to {last}: the line is half the drinks, the dashes nine in ten.",
        "Esperas da fila até pronto, de {first} a {last}: a linha é metade das bebidas, o tracejado nove em dez."
    );
    view! {
        <figure class="console-chart">
            <svg viewBox=format!("-34 -8 {} {}", W + 42.0, H + 30.0) role="img" aria-label=summary.clone()>
                <line x1="0" y1=H x2=W y2=H class="chart-axis"/>
                <line x1="0" y1="0" x2=W y2="0" class="chart-grid"/>
                <text class="chart-label" x="-34" y="4">{format!("{top_minutes} min")}</text>
                <text class="chart-label" x="-34" y=H>"0"</text>
                <polyline class="chart-line p90" points=line_points(&p90, W, H, top)/>
                <polyline class="chart-line" points=line_points(&p50, W, H, top)/>
                <text class="chart-label" x="0" y=H + 20.0>{days.first().cloned().unwrap_or_default()}</text>
                <text class="chart-label end" x=W y=H + 20.0>{days.last().cloned().unwrap_or_default()}</text>
            </svg>
            <figcaption>{summary}</figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_and_an_empty_range_is_flat() {
        assert_eq!(bar_heights(&[0, 5, 10], 100.0), [0.0, 50.0, 100.0]);
        assert_eq!(bar_heights(&[0, 0], 100.0), [0.0, 0.0]);
        let mut by_hour = vec![0; 24];
        by_hour[9] = 4;
        by_hour[14] = 7;
        by_hour[15] = 7;
        assert_eq!(
            busiest_hour(&by_hour),
            Some((14, 7)),
            "the earlier of a tie"
        );
        assert_eq!(busiest_hour(&[0; 24]), None);
        assert_eq!(hour_text(9), "09:00");
    }

    #[test]
    fn a_line_skips_days_without_a_sample() {
        let points = line_points(&[Some(0), None, Some(120)], 200.0, 100.0, 120);
        assert_eq!(points, "0.0,100.0 200.0,0.0");
        assert_eq!(line_points(&[Some(60)], 200.0, 100.0, 120), "0.0,50.0");
    }
}
