//! `exc report` and `exc export`: KPI values worked out by hand, every format
//! parsed back, the dashboard opened in headless Chromium (at a desktop's and
//! a phone's width), and suppressions.

use serde_json::Value;

use crate::harness::{Repo, stdout};

const POLICY: &str = "roles:\n  security: [sam@example.com]\nassets: { total: 100 }\ntrust: { signatures: off }\n";
const SAM: &str = "Sam Okafor <sam@example.com>";

fn new(repo: &Repo, id: &str, kind: &str, created: &str, expires: &str, extra: &[&str]) {
    let mut args = vec![
        "new",
        "--yes",
        "--id",
        id,
        "--as-of",
        created,
        "--type",
        kind,
        "--justification",
        "Needed",
        "--risk-owner",
        "Dana Ops <dana@example.com>",
        "--expires",
        expires,
    ];
    if !extra.contains(&"--title") {
        args.extend_from_slice(&["--title", "A title"]);
    }
    args.extend_from_slice(extra);
    repo.exc(&args).success();
}

/// Five records with known answers as of 2026-06-30 (see each line).
fn fixture() -> Repo {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    // A: approved after 48 h, active, one control, assets a1 a2.
    new(
        &repo,
        "EXC-000A",
        "other",
        "2026-06-01",
        "2026-08-01",
        &["--asset", "a1", "--asset", "a2", "--compensating-control", "c"],
    );
    repo.exc(&["approve", "EXC-000A", "--by", SAM, "--as-of", "2026-06-03"]).success();
    // B: approved after 24 h, lapsed on 2026-06-20 but still approved: overdue.
    new(
        &repo,
        "EXC-000B",
        "other",
        "2026-06-10",
        "2026-06-20",
        &["--asset", "a2", "--asset", "a3", "--compensating-control", "c"],
    );
    repo.exc(&["approve", "EXC-000B", "--by", SAM, "--as-of", "2026-06-11"]).success();
    // C: pending since 2026-06-20: 240 h, past the 120 h SLA.
    new(
        &repo,
        "EXC-000C",
        "other",
        "2026-06-20",
        "2026-07-20",
        &["--asset", "a9", "--title", "<script>alert(1)</script>"],
    );
    // D: approved after 24 h, active, no compensating control, asset a4.
    new(&repo, "EXC-000D", "firewall-rule", "2026-05-01", "2026-10-01", &["--asset", "a4"]);
    repo.exc(&["approve", "EXC-000D", "--by", SAM, "--as-of", "2026-05-02"]).success();
    // E: rejected after 168 h: an SLA breach.
    new(&repo, "EXC-000E", "other", "2026-06-05", "2026-07-05", &["--asset", "a5"]);
    repo.exc(&["reject", "EXC-000E", "--by", SAM, "--reason", "No", "--as-of", "2026-06-12"]).success();
    repo
}

fn kpis(repo: &Repo, extra: &[&str]) -> (Value, std::collections::HashMap<String, Value>) {
    let mut args = vec!["report", "--format", "json"];
    args.extend_from_slice(extra);
    let v: Value = serde_json::from_str(&stdout(&repo.exc(&args).success())).unwrap();
    let map =
        v["kpis"].as_array().unwrap().iter().map(|k| (k["key"].as_str().unwrap().to_string(), k.clone())).collect();
    (v, map)
}

#[test]
fn every_kpi_has_its_hand_computed_value() {
    let repo = fixture();
    let (r, k) = kpis(&repo, &["--as-of", "2026-06-30"]);
    assert_eq!(r["records"], 5);
    assert_eq!(r["active"], 2, "A and D");
    assert_eq!(k["volume"]["value"], 5.0);
    assert_eq!(k["approval_hours_avg"]["value"], 32.0, "(48 + 24 + 24) / 3");
    assert_eq!(k["approval_hours_avg"]["pass"], true);
    assert_eq!(k["approval_hours_median"]["value"], 24.0);
    assert_eq!(k["approval_hours_p90"]["value"], 48.0);
    assert_eq!(k["sla_breaches"]["value"], 2.0, "C pending 240 h, E decided after 168 h");
    assert_eq!(k["sla_breaches"]["pass"], false);
    let overdue = k["overdue_pct"]["value"].as_f64().unwrap();
    assert!((overdue - 100.0 / 3.0).abs() < 1e-9, "B of A, B, D: {overdue}");
    assert_eq!(k["compensating_controls_pct"]["value"], 50.0, "A yes, D no");
    assert_eq!(k["assets_excepted_pct"]["value"], 3.0, "a1 a2 a4 of 100");
    assert_eq!(k["assets_excepted_pct"]["pass"], true);
    assert_eq!(k["open_ended"]["value"], 0.0);
    assert_eq!(k["chronic"]["value"], 0.0);
    let months: Vec<(String, u64)> = r["volume"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["month"].as_str().unwrap().into(), m["created"].as_u64().unwrap()))
        .collect();
    assert_eq!(months.len(), 12);
    assert_eq!(months[10], ("2026-05".into(), 1));
    assert_eq!(months[11], ("2026-06".into(), 4));
    let action: Vec<&str> = r["needs_action"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(action, ["EXC-000B", "EXC-000C"]);
    assert_eq!(r["by_status"][0]["name"], "approved");
    assert_eq!(r["by_status"][0]["count"], 3);
    let by_type = serde_json::json!([{ "name": "firewall-rule", "count": 1 }, { "name": "other", "count": 1 }]);
    assert_eq!(r["by_type"], by_type, "active records only: A and D, like the breakdowns beside it");
    let tiers: Vec<(&str, u64)> = r["by_tier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        tiers,
        [("low", 0), ("medium", 2), ("high", 0), ("critical", 0)],
        "A and D, both medium; every tier shown"
    );
}

#[test]
fn boundary_days_and_since() {
    let repo = fixture();
    let (_, k) = kpis(&repo, &["--as-of", "2026-06-20"]);
    assert_eq!(k["overdue_pct"]["value"], 0.0, "B expires on 2026-06-20 and is valid that day");
    let (_, k) = kpis(&repo, &["--as-of", "2026-06-21"]);
    assert!(k["overdue_pct"]["value"].as_f64().unwrap() > 33.0);
    let (r, k) = kpis(&repo, &["--as-of", "2026-06-30", "--since", "2026-06-05"]);
    assert_eq!(k["volume"]["value"], 3.0, "B, C, E");
    assert_eq!(k["approval_hours_avg"]["value"], 24.0, "B only");
    assert_eq!(k["sla_breaches"]["value"], 2.0);
    assert_eq!(r["since"], "2026-06-05");
}

#[test]
fn empty_registry_reports_without_dividing_by_zero() {
    let repo = Repo::init();
    let (r, k) = kpis(&repo, &["--as-of", "2026-06-30"]);
    assert_eq!(r["records"], 0);
    let nothing_to_measure = [
        "overdue_pct",
        "compensating_controls_pct",
        "assets_excepted_pct",
        "approval_hours_avg",
        "open_ended",
        "chronic",
    ];
    for key in nothing_to_measure {
        assert!(k[key]["value"].is_null(), "{key}: {}", k[key]);
        assert!(k[key]["pass"].is_null(), "{key}");
    }
    let text = stdout(&repo.exc(&["report", "--as-of", "2026-06-30"]).success());
    assert!(text.contains("0 records, 0 active") && !text.contains("NaN"), "{text}");
}

#[test]
fn report_formats_parse_back() {
    let repo = fixture();
    let csv_text = stdout(&repo.exc(&["report", "--as-of", "2026-06-30", "--format", "csv"]).success());
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 13, "one KPI per row");
    let avg = rows.iter().find(|r| &r[1] == "approval_hours_avg").unwrap();
    assert_eq!((&avg[3], &avg[5], &avg[6]), ("32.00", "≤ 48 h", "pass"));
    let md = stdout(&repo.exc(&["report", "--as-of", "2026-06-30", "--format", "markdown"]).success());
    assert!(md.contains("| Average approval time | 32.0 h | ≤ 48 h | ✅ pass |"), "{md}");
    assert!(md.contains("| SLA breaches | 2 | ≤ 0 | ❌ fail |"), "{md}");
    assert!(md.contains("**By risk tier (active):** `low` (0), `medium` (2), `high` (0), `critical` (0)"), "{md}");
    let text = stdout(&repo.exc(&["report", "--as-of", "2026-06-30"]).success());
    assert!(text.contains("Average approval time") && text.contains("FAIL"), "{text}");
    assert!(text.contains("By risk tier (active): low 0 · medium 2 · high 0 · critical 0"), "{text}");
}

#[test]
fn the_dashboard_renders_in_chromium_and_shows_scripts_as_text() {
    let repo = fixture();
    // F: high risk (MFA bypass), active, needs action, with words too long for a phone's line.
    let (title, asset) =
        (LONG_TITLE, "payments-settlement-gateway-primary-eu-west-1-prod-cluster-node-0001.internal.example.com");
    new(
        &repo,
        "EXC-000F",
        "mfa-bypass",
        "2026-06-25",
        "2026-07-10",
        &["--title", title, "--asset", asset, "--attachment", "https://wiki.example.com/f"],
    );
    repo.exc(&["approve", "EXC-000F", "--by", SAM, "--as-of", "2026-06-26"]).success();
    repo.exc(&["approve", "EXC-000F", "--by", "Dana Ops <dana@example.com>", "--as-of", "2026-06-26"]).success();
    let out = repo.path().join("kpis.html");
    repo.exc(&["report", "--as-of", "2026-06-30", "--format", "html", "--out", out.to_str().unwrap()]).success();
    let html = std::fs::read_to_string(&out).unwrap();
    let tier = |name: &str, n: usize| format!("<div class=\"name\">{name}</div><div class=\"value\">{n}</div>");
    assert!(html.contains("Active exceptions by risk tier"), "the tier panel");
    for (name, n) in [("critical", 0), ("high", 1), ("medium", 2), ("low", 0)] {
        assert!(html.contains(&tier(name, n)), "{name}: {n}");
    }
    assert!(html.find(&tier("critical", 0)) < html.find("Key indicators"), "the tiers come first, most severe first");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the title is escaped");
    assert!(!html.contains("<script"), "no script element at all");
    assert!(!html.contains("http://") && !html.contains("src=\"http"), "no network references");
    assert!(html.contains("<svg") && html.contains("Average approval time"));

    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|c| which(c)) else {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium for the dashboard test");
        eprintln!("skipping the browser half: no chromium on this machine");
        return;
    };
    let profile = tempfile::TempDir::new().unwrap();
    let shot = repo.path().join("kpis.png");
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let url = format!("file://{}", out.display());
    let dom = std::process::Command::new(chromium)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", &url])
        .output()
        .unwrap();
    assert!(dom.status.success());
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(dom_text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "shown as text in the rendered DOM");
    assert!(!dom_text.contains("<script"), "no script element in the rendered DOM");
    let log = String::from_utf8_lossy(&dom.stderr);
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE") || l.contains("Refused to")).collect();
    assert!(console.is_empty(), "console errors: {console:?}");
    let status = std::process::Command::new(chromium)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--window-size=1280,900", &format!("--screenshot={}", shot.display()), &url])
        .output()
        .unwrap();
    assert!(status.status.success());
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "screenshot of {} bytes", png.len());

    // Nothing scrolls sideways, on a desktop or a phone.
    let frames = repo.path().join("widths.html");
    std::fs::write(&frames, measuring_frames(&html, WIDTHS)).unwrap();
    let dom = std::process::Command::new(chromium)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--window-size=1700,1800", "--virtual-time-budget=2000", "--dump-dom"])
        .arg(format!("file://{}", frames.display()))
        .output()
        .unwrap();
    assert!(dom.status.success());
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    let measured = dom_text.split("data-widths=\"").nth(1).and_then(|m| m.split('"').next()).unwrap_or_default();
    let widths: Vec<(u32, u32, u32)> = measured
        .split(' ')
        .filter_map(|m| {
            let n: Vec<u32> = m.split(':').filter_map(|n| n.parse().ok()).collect();
            (n.len() == 3).then(|| (n[0], n[1], n[2]))
        })
        .collect();
    assert_eq!(widths.len(), WIDTHS.len(), "measured: {measured:?}");
    for (window, scroll, client) in widths {
        eprintln!("at {window} px: scrollWidth {scroll}, clientWidth {client}");
        assert!(client <= window && scroll <= client, "at {window} px the page is {scroll} px wide (view {client} px)");
    }
}

/// The windows the dashboard must fit: a desktop's and a phone's (an iPhone's 390 CSS px).
pub const WIDTHS: &[(u32, u32)] = &[(1280, 900), (390, 844)];

/// A page that lays the dashboard out in a frame of each size and writes, once
/// loaded, `width:scrollWidth:clientWidth` of each frame's root into
/// `data-widths`. Frames, because headless Chromium widens any window narrower
/// than 500 px; and a copy without the Content Security Policy, which (rightly)
/// forbids the measuring script in the page itself.
pub fn measuring_frames(page: &str, sizes: &[(u32, u32)]) -> String {
    let csp_start = page.find("<meta http-equiv=\"Content-Security-Policy\"").unwrap();
    let csp_end = csp_start + page[csp_start..].find('>').unwrap() + 1;
    let copy = format!("{}{}", &page[..csp_start], &page[csp_end..]);
    let srcdoc = copy.replace('&', "&amp;").replace('"', "&quot;");
    let mut o = String::from("<!DOCTYPE html><html><body style=\"margin:0\">");
    for (w, h) in sizes {
        o.push_str(&format!(
            "<iframe id=\"w{w}\" style=\"border:0;display:block;width:{w}px;height:{h}px\" srcdoc=\"{srcdoc}\"></iframe>"
        ));
    }
    let ids: Vec<String> = sizes.iter().map(|(w, _)| w.to_string()).collect();
    o.push_str(&format!(
        "<script>onload=function(){{document.body.setAttribute('data-widths',[{}].map(function(w){{\
         var r=document.getElementById('w'+w).contentDocument.documentElement;\
         return w+':'+r.scrollWidth+':'+r.clientWidth}}).join(' '))}}</script></body></html>",
        ids.join(",")
    ));
    o
}

/// A title with no break opportunity, longer than a phone's line.
const LONG_TITLE: &str =
    "Partner-settlement-gateway-inbound-allow-rule-for-10.20.30.0/24-on-port-8443-until-the-migration-completes";

pub fn which(cmd: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
}

#[test]
fn export_register_formats_parse_back_and_csv_is_safe() {
    let repo = fixture();
    let path = "exceptions/EXC-000A.yaml";
    let text = repo.read(path);
    repo.write(path, text.replace("title: A title", "title: \"=HYPERLINK(\\\"http://x\\\")\""));
    let csv_text = stdout(&repo.exc(&["export", "--format", "csv", "--as-of", "2026-06-30"]).success());
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 5);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let a = rows.iter().find(|r| &r[col("id")] == "EXC-000A").unwrap();
    assert!(a[col("title")].starts_with("'="), "formula neutralised: {}", &a[col("title")]);
    assert!(a[col("approvals")].contains("security: approved by Sam Okafor"), "{}", &a[col("approvals")]);
    assert_eq!(&a[col("active")], "false", "the title changed after approval: the approval no longer stands");

    // The structured formats keep lists as lists and every field, and match the published schema.
    let json: Value = serde_json::from_str(&stdout(&repo.exc(&["export", "--format", "json"]).success())).unwrap();
    let schema: Value = serde_json::from_str(&stdout(&repo.exc(&["schema", "export"]).success())).unwrap();
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&json).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(json["version"], 1);
    let items = json["records"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    // Read back, each record equals its file.
    for item in items {
        let file = exc::yaml::parse(&repo.read(item["path"].as_str().unwrap())).unwrap().value;
        assert_eq!(item["record"], file, "{}", item["path"]);
    }
    let a = items.iter().find(|i| i["record"]["id"] == "EXC-000A").unwrap();
    assert!(a["record"]["assets"].is_array() && a["record"]["approvals"][0]["role"] == "security", "{a}");
    assert_eq!((a["state"]["status"].as_str(), a["state"]["verified"].as_bool()), (Some("requested"), Some(false)));
    let jsonl = stdout(&repo.exc(&["export", "--format", "jsonl"]).success());
    let lines: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    assert_eq!((lines[0]["version"].as_u64(), lines[0]["record"]["id"].as_str()), (Some(1), Some("EXC-000A")));
    let yaml = stdout(&repo.exc(&["export", "--format", "yaml"]).success());
    assert_eq!(exc::yaml::parse(&yaml).unwrap().value, json, "YAML says what JSON says");
    // Into a directory: the register and one row per decision.
    let dir = tempfile::TempDir::new().unwrap();
    repo.exc(&["export", "--format", "csv", "--out", dir.path().to_str().unwrap()]).success();
    let decisions = std::fs::read_to_string(dir.path().join("approvals.csv")).unwrap();
    assert!(decisions.starts_with("id,decision,role,by,at,risk,expires,signature,path\n"), "{decisions}");
    assert!(decisions.contains("EXC-000A,approve,security,Sam Okafor <sam@example.com>"), "{decisions}");
    assert!(std::fs::read_to_string(dir.path().join("register.csv")).unwrap().contains("migration_plan,notes,path"));
}

#[test]
fn export_with_history_adds_the_trail() {
    let repo = fixture();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "all"]);
    let v: Value =
        serde_json::from_str(&stdout(&repo.exc(&["export", "--format", "json", "--with-history"]).success())).unwrap();
    let a = v["records"].as_array().unwrap().iter().find(|r| r["record"]["id"] == "EXC-000A").unwrap();
    assert_eq!(a["history"][0]["action"], "add");
    assert_eq!(a["history"][0]["author"], "Ann Lee <ann@example.com>");
}

fn deferral_fixture() -> Repo {
    let repo = Repo::init();
    repo.write("exc.yaml", POLICY);
    let vuln = |id: &str, expires: &str, cve: &str| {
        new(&repo, id, "vulnerability-deferral", "2026-06-01", expires, &["--asset", "web-01", "--finding", cve]);
    };
    vuln("EXC-00V1", "2026-08-01", "CVE-2026-0001");
    repo.exc(&["approve", "EXC-00V1", "--by", SAM, "--as-of", "2026-06-02"]).success();
    vuln("EXC-00V2", "2026-06-15", "CVE-2026-0002");
    repo.exc(&["approve", "EXC-00V2", "--by", SAM, "--as-of", "2026-06-02"]).success();
    vuln("EXC-00V3", "2026-08-01", "CVE-2026-0003");
    repo.exc(&["reject", "EXC-00V3", "--by", SAM, "--reason", "Patch it", "--as-of", "2026-06-02"]).success();
    vuln("EXC-00V4", "2026-08-01", "CVE-2026-0004");
    repo.exc(&["approve", "EXC-00V4", "--by", SAM, "--as-of", "2026-06-02"]).success();
    repo.exc(&["retire", "EXC-00V4", "--by", SAM, "--reason", "Patched", "--as-of", "2026-06-10"]).success();
    vuln("EXC-00V5", "2026-08-01", "CVE-2026-0005");
    repo
}

#[test]
fn suppressions_come_only_from_active_deferrals() {
    let repo = deferral_fixture();
    let trivy = stdout(&repo.exc(&["export", "--format", "trivyignore", "--as-of", "2026-06-30"]).success());
    let doc = exc::yaml::parse(&trivy).unwrap().value;
    let ids: Vec<&str> = doc["vulnerabilities"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["CVE-2026-0001"], "expired, rejected, retired and pending records never suppress");
    // Active through 2026-08-01: it lapses at the first instant after.
    assert_eq!(doc["vulnerabilities"][0]["expired_at"], "2026-08-02T00:00:00Z");
    assert!(doc["vulnerabilities"][0]["statement"].as_str().unwrap().starts_with("EXC-00V1"));

    let vex: Value =
        serde_json::from_str(&stdout(&repo.exc(&["export", "--format", "openvex", "--as-of", "2026-06-30"]).success()))
            .unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/openvex-0.2.0.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let v = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&vex).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let st = vex["statements"].as_array().unwrap();
    assert_eq!(st.len(), 1);
    assert_eq!(st[0]["vulnerability"]["name"], "CVE-2026-0001");
    assert_eq!(st[0]["status"], "affected");
    assert!(st[0]["action_statement"].as_str().unwrap().contains("EXC-00V1 until 2026-08-01"));

    let later = stdout(&repo.exc(&["export", "--format", "trivyignore", "--as-of", "2026-08-02"]).success());
    assert!(exc::yaml::parse(&later).unwrap().value["vulnerabilities"].as_array().unwrap().is_empty(), "{later}");
    // Nothing to state: a document with no statements, exit 0 (a scanner reads it as nothing to filter).
    let empty: Value =
        serde_json::from_str(&stdout(&repo.exc(&["export", "--format", "openvex", "--as-of", "2026-08-02"]).success()))
            .unwrap();
    assert_eq!(empty["statements"], serde_json::json!([]));
}

#[test]
fn trend_replays_history_by_quarter_and_degrades_without_it() {
    let repo = fixture();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "all", "--date", "2026-06-30T12:00:00Z"]);
    let out = repo
        .cmd()
        .env("GIT_COMMITTER_DATE", "2026-06-30T12:00:00Z")
        .args(["report", "--trend", "quarterly", "--as-of", "2026-09-30", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let quarters: Vec<&str> = v.as_array().unwrap().iter().map(|q| q["quarter"].as_str().unwrap()).collect();
    assert!(quarters.ends_with(&["2026-Q3"]), "{quarters:?}");
    let plain = Repo {
        dir: tempfile::TempDir::new().unwrap(),
        home: tempfile::TempDir::new().unwrap(),
        clock: Default::default(),
    };
    plain.exc(&["init"]).success();
    let out = plain.cmd().args(["report", "--trend", "quarterly"]).output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not in a git repository"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
