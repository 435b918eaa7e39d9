//! The HTML dashboard: one self-contained file, no scripts, no network. The
//! active exceptions per risk tier, KPI cards with targets, a monthly volume
//! chart, the approval-time distribution and the status breakdown as inline
//! SVG, breakdown tables, and the records that need action. Every string from
//! records is escaped, and a Content Security Policy forbids scripts and
//! remote loads as a second wall. It fits a phone's width as well as a
//! desktop's: the grids fall to one column, the needs-action table scrolls
//! inside its panel, charts scale down and long words wrap. With the
//! quarterly trend (`report --trend quarterly --format html`), each main KPI
//! at each quarter end is a line chart beside its target, and a table.
//!
//! A fleet's dashboard adds a table of the registries, each with its own
//! KPIs, names records `registry:id`, and opens with a banner when a
//! registry could not be read.

use std::fmt::Write;

use super::escape::html;
use super::report::{Quarter, TREND_KPIS};
use crate::model::fleet::{partial_notice, qualified};
use crate::model::kpi::{Count, Report, Share};

const STYLE: &str = "
:root{--ink:#1d2433;--muted:#5b6478;--line:#e3e7ef;--bg:#f6f7fb;--card:#fff;--ok:#1a7f4b;--bad:#c0362c;--na:#8a93a6;--accent:#2f5fd0}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);background:var(--bg);overflow-wrap:anywhere}
header{background:#17213a;color:#fff;padding:22px 32px}header h1{margin:0;font-size:22px;font-weight:600}header p{margin:4px 0 0;color:#c4cbe0}
main{padding:24px 32px;max-width:1280px;margin:auto}
h2{font-size:15px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:28px 0 12px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(220px,100%),1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;border-top:4px solid var(--na)}
.card.pass{border-top-color:var(--ok)}.card.fail{border-top-color:var(--bad)}
.card .name{color:var(--muted);font-size:12.5px}.card .value{font-size:26px;font-weight:650;margin:4px 0}
.card .target{font-size:12.5px;color:var(--muted)}.badge{display:inline-block;font-size:11px;font-weight:700;padding:1px 7px;border-radius:9px;margin-left:6px;color:#fff;background:var(--na)}
.pass .badge{background:var(--ok)}.fail .badge{background:var(--bad)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(280px,100%),1fr));gap:14px}
.card,.panel,.tier{min-width:0}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px;overflow-x:auto}
.panel h3{margin:0 0 10px;font-size:14px}svg{display:block;width:100%;max-width:100%;height:auto}
table{width:100%;border-collapse:collapse;font-size:13px}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums;overflow-wrap:normal}
table.actions{min-width:560px}table.actions td:first-child{white-space:nowrap;overflow-wrap:normal}
.tiers{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(150px,100%),1fr));gap:14px}
.tier{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--tier);border-radius:10px;padding:12px 16px}
.tier .name{color:var(--muted);font-size:12.5px;font-weight:600;text-transform:uppercase;letter-spacing:.05em}
.tier .value{font-size:34px;font-weight:700;color:var(--tier);margin:2px 0}.tier.none .value{color:var(--na)}
.tier .share{font-size:12.5px;color:var(--muted)}
.tier.critical{--tier:#8e1b2e}.tier.high{--tier:#c0362c}.tier.medium{--tier:#b86e00}.tier.low{--tier:#4a6fa5}
@media (max-width:600px){header,main,footer{padding-left:14px;padding-right:14px}.card .value{font-size:22px}}
.trends{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(360px,100%),1fr));gap:14px;margin-bottom:14px}
.trend td,.trend th{white-space:nowrap}.trend .fail{color:var(--bad);font-weight:600}.panel .target{color:var(--muted);font-size:12.5px;margin:-6px 0 8px}
table.registries{min-width:720px}table.registries th,table.registries td:first-child{overflow-wrap:normal}
.partial{background:#fdecea;border:1px solid var(--bad);color:var(--bad);border-radius:10px;padding:12px 16px;font-weight:600;margin-top:18px}
.why{color:var(--bad);font-weight:600}footer{color:var(--muted);font-size:12px;padding:20px 32px 40px;text-align:center}
";

/// Renders the report as a standalone HTML page.
pub fn render(r: &Report) -> String {
    page(r, None)
}

/// Renders the report as a standalone HTML page, with the main KPIs at each
/// quarter end as charts (`quarters`, oldest first) after the key indicators.
pub fn render_with_trend(r: &Report, quarters: &[Quarter]) -> String {
    page(r, Some(quarters))
}

fn page(r: &Report, quarters: Option<&[Quarter]>) -> String {
    let mut o = String::with_capacity(32 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Security exceptions: KPIs as of {as_of}</title><style>{STYLE}</style></head><body>\
<header><h1>Security exceptions</h1><p>{scope}KPIs as of {as_of}{since} · {records} records · {active} active</p></header><main>",
        scope = if r.registries.is_empty() && r.unreadable.is_empty() {
            String::new()
        } else {
            format!("{} registries · ", r.registries.len() + r.unreadable.len())
        },
        as_of = r.as_of,
        since = r.since.map(|s| format!(" (flow KPIs since {s})")).unwrap_or_default(),
        records = r.records,
        active = r.active,
    );

    if let Some(p) = partial_notice(&r.unreadable, r.registries.len() + r.unreadable.len()) {
        let _ = write!(o, "<div class=\"partial\">{}</div>", html(&p));
    }

    tiers(&mut o, r);

    o.push_str("<h2>Key indicators</h2><div class=\"cards\">");
    for k in &r.kpis {
        let (class, badge) = match k.pass {
            Some(true) => ("pass", "on target"),
            Some(false) => ("fail", "off target"),
            None => ("", if k.target.is_some() { "no data" } else { "info" }),
        };
        let _ = write!(
            o,
            "<div class=\"card {class}\"><div class=\"name\">{}</div><div class=\"value\">{}</div><div class=\"target\">{}<span class=\"badge\">{badge}</span></div></div>",
            html(k.name),
            html(&k.display),
            html(k.target.as_deref().map(|t| format!("target {t}")).as_deref().unwrap_or("no target")),
        );
    }
    o.push_str("</div>");

    if let Some(quarters) = quarters {
        trend(&mut o, quarters);
    }

    registries(&mut o, r);

    o.push_str("<h2>Trends and distribution</h2><div class=\"grid\">");
    let months: Vec<(String, f64)> = r.volume.iter().map(|m| (m.month[2..].to_string(), m.created as f64)).collect();
    panel(&mut o, "Exceptions created per month", &bars(&months, "#2f5fd0"));
    let buckets = [
        (0.0, 8.0, "<8h"),
        (8.0, 24.0, "8–24h"),
        (24.0, 48.0, "24–48h"),
        (48.0, 72.0, "48–72h"),
        (72.0, 120.0, "3–5d"),
        (120.0, f64::INFINITY, ">5d"),
    ];
    let dist: Vec<(String, f64)> = buckets
        .iter()
        .map(|(lo, hi, label)| {
            (label.to_string(), r.approval_hours.iter().filter(|h| **h >= *lo && **h < *hi).count() as f64)
        })
        .collect();
    panel(&mut o, &format!("Approval time ({} decisions)", r.approval_hours.len()), &bars(&dist, "#7a5cd6"));
    panel(&mut o, "Status (all records)", &hbars(&r.by_status));
    o.push_str("</div>");

    o.push_str("<h2>Needs action</h2><div class=\"panel\">");
    if r.needs_action.is_empty() {
        o.push_str("<p>Nothing needs action.</p>");
    } else {
        o.push_str("<table class=\"actions\"><thead><tr><th>ID</th><th>Title</th><th>Risk owner</th><th>Why</th></tr></thead><tbody>");
        for a in &r.needs_action {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"why\">{}</td></tr>",
                html(&qualified(a.registry.as_deref(), &a.id)),
                html(&a.title),
                html(&a.owner),
                html(&a.why)
            );
        }
        o.push_str("</tbody></table>");
    }
    o.push_str("</div>");

    o.push_str("<h2>Where the active exceptions are</h2><div class=\"grid\">");
    table(&mut o, "By type (active)", &r.by_type);
    table(&mut o, "By control (active)", &r.by_control);
    table(&mut o, "By risk owner (active)", &r.by_risk_owner);
    table(&mut o, "Top assets (active)", &r.top_assets);
    shares(&mut o, "Assets excepted by business unit", &r.assets_by_business_unit);
    shares(&mut o, "Assets excepted by criticality", &r.assets_by_criticality);
    o.push_str("</div></main>");
    let _ = writeln!(
        o,
        "<footer>Generated by exc {} from the records in git. Definitions: exc’s docs/definitions.md and docs/reports.md.</footer></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    o
}

/// The active records per risk tier, most severe first: the exposure at a glance.
fn tiers(o: &mut String, r: &Report) {
    o.push_str("<h2>Active exceptions by risk tier</h2><div class=\"tiers\">");
    for c in r.by_tier.iter().rev() {
        let share = match r.active {
            0 => "none active".to_string(),
            n => format!("{:.0} % of active", c.count as f64 * 100.0 / n as f64),
        };
        let _ = write!(
            o,
            "<div class=\"tier {tier}{none}\"><div class=\"name\">{tier}</div><div class=\"value\">{}</div><div class=\"share\">{share}</div></div>",
            c.count,
            tier = html(&c.name),
            none = if c.count == 0 { " none" } else { "" },
        );
    }
    o.push_str("</div>");
}

/// The main KPIs at each quarter end: one line chart per KPI, its points
/// coloured by whether the target was met, then the same as a table.
fn trend(o: &mut String, quarters: &[Quarter]) {
    let (first, last) = match (quarters.first(), quarters.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return,
    };
    let _ = write!(
        o,
        "<h2>Quarter by quarter</h2><p>The main indicators at each quarter end, {} to {}, replayed from the git history.</p><div class=\"trends\">",
        html(&first.quarter),
        html(&last.quarter)
    );
    let label = |q: &Quarter| q.quarter.get(2..).unwrap_or(&q.quarter).to_string();
    let active: Vec<Point> = quarters
        .iter()
        .map(|q| Point { label: label(q), value: Some(q.active as f64), shown: q.active.to_string(), pass: None })
        .collect();
    let _ = write!(
        o,
        "<div class=\"panel\"><h3>Active exceptions</h3><p class=\"target\">no target</p>{}</div>",
        line(&active)
    );
    for key in TREND_KPIS {
        let Some(k) = last.kpis.iter().find(|k| k.key == *key) else { continue };
        let points: Vec<Point> = quarters
            .iter()
            .map(|q| {
                let k = q.kpis.iter().find(|k| k.key == *key);
                Point {
                    label: label(q),
                    value: k.and_then(|k| k.value),
                    shown: k.map(|k| k.display.clone()).unwrap_or_default(),
                    pass: k.and_then(|k| k.pass),
                }
            })
            .collect();
        let target = k.target.as_deref().map(|t| format!("target {t}")).unwrap_or_else(|| "no target".into());
        let _ = write!(
            o,
            "<div class=\"panel\"><h3>{}</h3><p class=\"target\">{}</p>{}</div>",
            html(k.name),
            html(&target),
            line(&points)
        );
    }
    o.push_str("</div><div class=\"panel\"><table class=\"trend\"><thead><tr><th>KPI</th>");
    for q in quarters {
        let _ = write!(o, "<th>{}</th>", html(&q.quarter));
    }
    o.push_str("</tr></thead><tbody><tr><td>Active exceptions</td>");
    for q in quarters {
        let _ = write!(o, "<td class=\"n\">{}</td>", q.active);
    }
    o.push_str("</tr>");
    for key in TREND_KPIS {
        let Some(k) = last.kpis.iter().find(|k| k.key == *key) else { continue };
        let _ = write!(o, "<tr><td>{}</td>", html(k.name));
        for q in quarters {
            match q.kpis.iter().find(|k| k.key == *key) {
                Some(k) if k.pass == Some(false) => {
                    let _ = write!(o, "<td class=\"n fail\">{} ✗</td>", html(&k.display));
                }
                Some(k) => {
                    let _ = write!(o, "<td class=\"n\">{}</td>", html(&k.display));
                }
                None => o.push_str("<td></td>"),
            }
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div>");
}

/// One quarter's value of a KPI, for a line chart.
struct Point {
    label: String,
    value: Option<f64>,
    shown: String,
    pass: Option<bool>,
}

/// A line chart: the values joined left to right (a quarter with no value
/// breaks the line), each point green when on target, red when off, grey
/// without one, with its value above and its quarter below.
fn line(points: &[Point]) -> String {
    let (w, h, pad, top) = (360.0, 140.0, 24.0, 22.0);
    let max = points.iter().filter_map(|p| p.value).fold(0.0, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let slot = (w - 16.0) / points.len().max(1) as f64;
    let at = |i: usize, v: f64| (8.0 + slot * (i as f64 + 0.5), h - (v / max) * (h - top));
    let mut s = format!("<svg viewBox=\"0 0 {w} {}\" role=\"img\">", h + pad);
    let _ = write!(s, "<line x1=\"8\" y1=\"{h}\" x2=\"{}\" y2=\"{h}\" stroke=\"#c9cfdc\"/>", w - 8.0);
    let mut run: Vec<String> = Vec::new();
    let mut runs: Vec<Vec<String>> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        match p.value {
            Some(v) => {
                let (x, y) = at(i, v);
                run.push(format!("{x:.1},{y:.1}"));
            }
            None => runs.push(std::mem::take(&mut run)),
        }
    }
    runs.push(run);
    for r in runs.iter().filter(|r| r.len() > 1) {
        let _ = write!(s, "<polyline points=\"{}\" fill=\"none\" stroke=\"#2f5fd0\" stroke-width=\"2\"/>", r.join(" "));
    }
    for (i, p) in points.iter().enumerate() {
        let x = at(i, 0.0).0;
        if let Some(v) = p.value {
            let y = at(i, v).1;
            let color = match p.pass {
                Some(true) => "#1a7f4b",
                Some(false) => "#c0362c",
                None => "#2f5fd0",
            };
            let _ = write!(
                s,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4.5\" fill=\"{color}\"><title>{}: {}</title></circle>\
<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1d2433\">{}</text>",
                html(&p.label),
                html(&p.shown),
                y - 8.0,
                html(&p.shown)
            );
        }
        let _ = write!(
            s,
            "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10.5\" text-anchor=\"middle\" fill=\"#5b6478\">{}</text>",
            h + 16.0,
            html(&p.label)
        );
    }
    s.push_str("</svg>");
    s
}

/// A fleet's registries, each with its own counts and KPIs (failing ones
/// marked), and those that could not be read.
fn registries(o: &mut String, r: &Report) {
    if r.by_registry.is_empty() && r.unreadable.is_empty() {
        return;
    }
    let keys = super::report::REGISTRY_KPIS;
    o.push_str("<h2>By registry</h2><div class=\"panel\"><table class=\"registries\"><thead><tr><th>Registry</th><th>Records</th><th>Active</th>");
    for key in keys {
        let name = r.kpis.iter().find(|k| k.key == *key).map(|k| k.name).unwrap_or(key);
        let _ = write!(o, "<th>{}</th>", html(name));
    }
    o.push_str("</tr></thead><tbody>");
    for p in &r.by_registry {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            html(p.registry.as_deref().unwrap_or("")),
            p.records,
            p.active
        );
        for key in keys {
            match p.kpis.iter().find(|k| k.key == *key) {
                Some(k) if k.pass == Some(false) => {
                    let _ = write!(o, "<td class=\"n why\">{} ✗</td>", html(&k.display));
                }
                Some(k) => {
                    let _ = write!(o, "<td class=\"n\">{}</td>", html(&k.display));
                }
                None => o.push_str("<td></td>"),
            }
        }
        o.push_str("</tr>");
    }
    for u in &r.unreadable {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"why\" colspan=\"{}\">could not be read: {}</td></tr>",
            html(&u.registry),
            keys.len() + 2,
            html(&u.error)
        );
    }
    o.push_str("</tbody></table></div>");
}

/// Inventory assets under an active exception per group, as a table.
fn shares(o: &mut String, title: &str, rows: &[Share]) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(o, "<div class=\"panel\"><h3>{}</h3><table><tbody>", html(title));
    for s in rows {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{:.1} %</td></tr>",
            html(&s.name),
            s.excepted,
            s.total,
            s.pct
        );
    }
    o.push_str("</tbody></table></div>");
}

fn panel(o: &mut String, title: &str, body: &str) {
    let _ = write!(o, "<div class=\"panel\"><h3>{}</h3>{body}</div>", html(title));
}

fn table(o: &mut String, title: &str, rows: &[Count]) {
    let _ = write!(o, "<div class=\"panel\"><h3>{}</h3>", html(title));
    if rows.is_empty() {
        o.push_str("<p>None.</p></div>");
        return;
    }
    o.push_str("<table><tbody>");
    for c in rows.iter().take(12) {
        let _ = write!(o, "<tr><td>{}</td><td class=\"n\">{}</td></tr>", html(&c.name), c.count);
    }
    o.push_str("</tbody></table></div>");
}

/// A vertical bar chart with a label and value on each bar.
fn bars(data: &[(String, f64)], color: &str) -> String {
    let (w, h, pad) = (480.0, 200.0, 28.0);
    let max = data.iter().map(|d| d.1).fold(0.0, f64::max).max(1.0);
    let slot = (w - 2.0 * 8.0) / data.len().max(1) as f64;
    let mut s = format!("<svg viewBox=\"0 0 {w} {}\" role=\"img\">", h + pad);
    let _ = write!(s, "<line x1=\"8\" y1=\"{h}\" x2=\"{}\" y2=\"{h}\" stroke=\"#c9cfdc\"/>", w - 8.0);
    for (i, (label, v)) in data.iter().enumerate() {
        let bh = (v / max) * (h - 24.0);
        let x = 8.0 + i as f64 * slot + slot * 0.15;
        let bw = slot * 0.7;
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" rx=\"3\" fill=\"{color}\"><title>{}: {v}</title></rect>",
            h - bh,
            html(label)
        );
        if *v > 0.0 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1d2433\">{v}</text>",
                x + bw / 2.0,
                h - bh - 4.0
            );
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10.5\" text-anchor=\"middle\" fill=\"#5b6478\">{}</text>",
            x + bw / 2.0,
            h + 16.0,
            html(label)
        );
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars, one per category, coloured by status.
fn hbars(data: &[Count]) -> String {
    let (w, row) = (480.0, 26.0);
    let max = data.iter().map(|c| c.count).max().unwrap_or(1).max(1) as f64;
    let mut s = format!("<svg viewBox=\"0 0 {w} {}\" role=\"img\">", row * data.len().max(1) as f64 + 4.0);
    for (i, c) in data.iter().enumerate() {
        let y = i as f64 * row + 4.0;
        let bw = (c.count as f64 / max) * (w - 170.0);
        let color = match c.name.as_str() {
            "approved" => "#1a7f4b",
            "requested" => "#d08a1f",
            "rejected" | "revoked" => "#c0362c",
            "expired" => "#8a5a2b",
            _ => "#6b7389",
        };
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{:.1}\" font-size=\"12\" fill=\"#1d2433\">{}</text><rect x=\"100\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#1d2433\">{}</text>",
            y + row * 0.6,
            html(&c.name),
            row * 0.7,
            106.0 + bw,
            y + row * 0.6,
            c.count
        );
    }
    s.push_str("</svg>");
    s
}
