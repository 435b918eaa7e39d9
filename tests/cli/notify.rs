//! `exc notify` against real servers on 127.0.0.1: an HTTP server
//! (`sink.rs`) that plays a webhook endpoint, Slack, Teams and Jira Cloud,
//! and a real SMTP server (aiosmtpd, `tests/servers/smtp_server.py`) with
//! STARTTLS, implicit TLS and AUTH and a certificate the test makes.
//!
//! Every payload is checked against its published contract: CloudEvents
//! 1.0's JSON Schema and an HMAC computed here, the Adaptive Cards 1.5
//! schema, Block Kit's documented limits and escaping, and Jira Cloud's
//! OpenAPI document (with the Atlassian Document Format schema for bodies).
//! And the delivery log: run twice, skip a night, run twice at once, lose
//! the runner, fail a channel: each event reaches each recipient once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use sha2::Digest;

use crate::harness::{Repo, stderr};
use crate::sink::{Request, Sink};

const SAM: &str = "Sam Okafor <sam@example.com>";
const DANA: &str = "Dana Ops <dana@example.com>";
const SECRET: &str = "webhook-secret-3f9a";

const POLICY: &str = "\
roles:
  security: [sam@example.com]
  ciso: [carol@example.com]
  engineering: [eng@example.com]
trust: { signatures: off }
";

fn schemas() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemas"))
}

fn schema(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(schemas().join(file)).unwrap()).unwrap()
}

/// A team's registry: people in roles, signatures off, and `notify` as given.
fn team(notify: &str) -> Repo {
    let repo = Repo::init();
    repo.write("exc.yaml", format!("{POLICY}{notify}"));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "registry"]);
    repo
}

fn webhook(url: &str) -> String {
    format!(
        "notify:\n  links: {{ record: \"https://forge.example/sec/blob/main/{{path}}\" }}\n  channels:\n    hook: {{ type: webhook, url: \"{url}/hook\", secret_env: EXC_WEBHOOK_SECRET }}\n  retry: {{ attempts: 2, backoff_seconds: 0, timeout_seconds: 5 }}\n"
    )
}

/// Files a request by Ann on `day` (risk owner Dana), expiring on `expires`.
fn file(repo: &Repo, id: &str, title: &str, day: &str, expires: &str) {
    repo.exc(&[
        "--as-of",
        day,
        "new",
        "--yes",
        "--id",
        id,
        "--type",
        "other",
        "--title",
        title,
        "--justification",
        "Vendor fix pending",
        "--risk-owner",
        DANA,
        "--asset",
        "crm-01",
        "--expires",
        expires,
    ])
    .success();
}

fn approve(repo: &Repo, id: &str, day: &str) {
    repo.exc(&["--as-of", day, "approve", id, "--by", SAM]).success();
}

/// Runs `exc notify` on `day` (the clock pinned there): exit code, JSON, stderr.
fn notify_in(dir: &Path, repo: &Repo, day: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut c = repo.cmd();
    c.current_dir(dir)
        .args(["--as-of", day, "notify", "--format", "json"])
        .args(extra)
        .env("EXC_TEST_CLOCK", day)
        .env("EXC_WEBHOOK_SECRET", SECRET);
    let out = c.output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn notify(repo: &Repo, day: &str, extra: &[&str]) -> (i32, Value, String) {
    notify_in(repo.path(), repo, day, extra)
}

/// The keys of the deliveries a run reports with `status`.
fn keys(report: &Value, status: &str) -> Vec<String> {
    report["deliveries"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter(|d| d["status"] == status)
        .map(|d| d["key"].as_str().unwrap().to_string())
        .collect()
}

/// The event ids (stable keys) a webhook sink received, in order.
fn received(sink: &Sink) -> Vec<String> {
    sink.requests().iter().map(|r| r.json()["id"].as_str().unwrap().to_string()).collect()
}

/// HMAC-SHA256 as RFC 2104 defines it, written out here so the check does
/// not lean on the crate exc signs with.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> String {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha2::Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = sha2::Sha256::new().chain_update(pad(0x36)).chain_update(msg).finalize();
    let outer = sha2::Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

fn cloudevents() -> jsonschema::Validator {
    jsonschema::draft7::options().should_validate_formats(true).build(&schema("cloudevents-1.0.json")).unwrap()
}

/// Checks one webhook request as a receiver would: the signature, then the event.
fn check_event(req: &Request, validator: &jsonschema::Validator) -> Value {
    let sig = req.header("X-Exc-Signature-256").expect("signed");
    assert_eq!(sig, format!("sha256={}", hmac_sha256(SECRET.as_bytes(), &req.body)), "the HMAC of the exact body");
    assert_eq!(req.header("Content-Type"), Some("application/cloudevents+json; charset=utf-8"));
    let ev = req.json();
    let errors: Vec<String> = validator.iter_errors(&ev).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "not a CloudEvent: {errors:?}\n{ev:#}");
    assert_eq!(ev["specversion"], "1.0");
    chrono::DateTime::parse_from_rfc3339(ev["time"].as_str().unwrap()).expect("time is RFC 3339");
    assert_eq!(ev["data"]["key"], ev["id"]);
    ev
}

#[test]
fn webhook_events_are_signed_cloudevents_each_sent_once() {
    let sink = Sink::ok();
    let repo = team(&webhook(&sink.url));
    file(&repo, "EXC-0001", "Legacy CRM <b>bold</b>", "2026-12-01", "2027-02-15");
    approve(&repo, "EXC-0001", "2026-12-02");
    let (code, report, err) = notify(&repo, "2026-12-03", &["--since", "2026-12-01"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        keys(&report, "delivered"),
        ["EXC-0001/filed/2026-12-01T00:00:00Z", "EXC-0001/decided/approved/2026-12-02T00:00:00Z"]
    );
    let validator = cloudevents();
    let events: Vec<Value> = sink.requests().iter().map(|r| check_event(r, &validator)).collect();
    assert_eq!(events[0]["type"], "exc.exception.filed");
    assert_eq!(events[1]["data"]["outcome"], "approved");
    assert_eq!(events[1]["data"]["record"]["link"], "https://forge.example/sec/blob/main/exceptions/EXC-0001.yaml");
    assert_eq!(events[1]["data"]["record"]["risk"], "medium");
    assert_eq!(events[1]["data"]["record"]["requester"], "Ann Lee <ann@example.com>");
    // The same day again: nothing is sent, and the log does not grow.
    let log = git_out(repo.path(), &["rev-parse", "refs/exc/notify"]);
    let (code, report, _) = notify(&repo, "2026-12-03", &[]);
    assert_eq!((code, keys(&report, "delivered").len()), (0, 0));
    assert_eq!(sink.requests().len(), 2);
    assert_eq!(git_out(repo.path(), &["rev-parse", "refs/exc/notify"]), log, "an idle run writes nothing");
}

fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A 60-day record: 75 % of its lifetime falls on day 45, the expiry
/// reminder starts on day 46. The night of day 45 is missed; day 46 sends both.
#[test]
fn a_missed_night_still_sends_the_75_percent_reminder_once() {
    let sink = Sink::ok();
    let repo = team(&webhook(&sink.url));
    file(&repo, "EXC-0001", "Vendor VPN", "2026-12-01", "2027-01-30");
    approve(&repo, "EXC-0001", "2026-12-01");
    notify(&repo, "2026-12-02", &["--since", "2026-12-01"]);
    for day in ["2027-01-10", "2027-01-14"] {
        let (code, report, err) = notify(&repo, day, &[]);
        assert_eq!((code, keys(&report, "delivered").len()), (0, 0), "{day}: {err}");
    }
    // 2027-01-15 (day 45) is skipped.
    let (code, report, err) = notify(&repo, "2027-01-16", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(keys(&report, "delivered"), ["EXC-0001/lifetime/2027-01-15", "EXC-0001/expiry-near/2027-01-30"]);
    let (_, report, _) = notify(&repo, "2027-01-17", &[]);
    assert!(keys(&report, "delivered").is_empty());
    let got = received(&sink);
    assert_eq!(got.iter().filter(|k| k.contains("/lifetime/")).count(), 1, "{got:?}");
}

#[test]
fn nothing_is_marked_delivered_unless_the_endpoint_accepted_it() {
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = failing.clone();
    let sink = Sink::start(Box::new(move |_| {
        if flag.load(std::sync::atomic::Ordering::SeqCst) { (503, "busy".into()) } else { (202, "".into()) }
    }));
    let repo = team(&webhook(&sink.url));
    file(&repo, "EXC-0001", "Vendor VPN", "2026-12-01", "2027-01-30");
    let (code, report, _) = notify(&repo, "2026-12-02", &["--since", "2026-12-01"]);
    assert_eq!(code, 1, "a failed delivery is exit 1");
    assert_eq!(keys(&report, "failed"), ["EXC-0001/filed/2026-12-01T00:00:00Z"]);
    assert!(report["deliveries"][0]["detail"].as_str().unwrap().contains("HTTP 503 (after 2 tries)"), "{report:#}");
    assert_eq!(sink.requests().len(), 2, "tried twice (retry.attempts)");
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    let (code, report, _) = notify(&repo, "2026-12-02", &[]);
    assert_eq!((code, keys(&report, "delivered")), (0, vec!["EXC-0001/filed/2026-12-01T00:00:00Z".to_string()]));
    assert_eq!(report["deliveries"][0]["detail"], "HTTP 202");
    let (_, report, _) = notify(&repo, "2026-12-03", &[]);
    assert!(keys(&report, "delivered").is_empty());
    // The log says so, line by line.
    let log = git_out(repo.path(), &["log", "--format=%s", "refs/exc/notify"]);
    assert!(log.contains("hook accepted 0 of 1") && log.contains("hook accepted 1 of 1"), "{log}");
}

/// A bare repository as the forge, and clones of it as CI runners.
fn forge(repo: &Repo) -> tempfile::TempDir {
    let origin = tempfile::TempDir::new().unwrap();
    git_out(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    git_out(repo.path(), &["remote", "add", "origin", origin.path().to_str().unwrap()]);
    git_out(repo.path(), &["push", "-q", "origin", "main"]);
    origin
}

fn commit_all(repo: &Repo) {
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "records"]);
}

fn runner(origin: &Path) -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().unwrap();
    git_out(dir.path(), &["clone", "-q", origin.to_str().unwrap(), "."]);
    git_out(dir.path(), &["config", "user.name", "exc bot"]);
    git_out(dir.path(), &["config", "user.email", "bot@example.com"]);
    dir
}

#[test]
fn the_log_outlives_the_runner_and_two_runs_at_once_deliver_once() {
    let sink = Sink::ok();
    // No `log:` at all: the log is shared through origin by default.
    let repo = team(&webhook(&sink.url));
    for (i, day) in ["2026-12-01", "2026-12-02", "2026-12-03"].iter().enumerate() {
        file(&repo, &format!("EXC-000{}", i + 1), "Vendor VPN", day, "2027-02-20");
    }
    approve(&repo, "EXC-0001", "2026-12-03");
    commit_all(&repo);
    let origin = forge(&repo);
    // Night one on a runner that is then lost.
    {
        let ci = runner(origin.path());
        let (code, report, err) = notify_in(ci.path(), &repo, "2026-12-04", &["--since", "2026-12-01"]);
        assert_eq!((code, keys(&report, "delivered").len()), (0, 4), "{err}");
    }
    // A fresh runner the same night finds the log on the forge: nothing again.
    let ci = runner(origin.path());
    let (code, report, err) = notify_in(ci.path(), &repo, "2026-12-04", &[]);
    assert_eq!((code, keys(&report, "delivered").len()), (0, 0), "{err}");
    // Two runners at once, on the next decisions: each event goes out once.
    approve(&repo, "EXC-0002", "2026-12-05");
    approve(&repo, "EXC-0003", "2026-12-05");
    commit_all(&repo);
    git_out(repo.path(), &["push", "-q", "origin", "main"]);
    let (a, b) = (runner(origin.path()), runner(origin.path()));
    let spawn = |dir: &Path| {
        let mut c = repo.cmd();
        c.current_dir(dir)
            .args(["--as-of", "2026-12-06", "notify", "--format", "json"])
            .env("EXC_TEST_CLOCK", "2026-12-06")
            .env("EXC_WEBHOOK_SECRET", SECRET)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    let (pa, pb) = (spawn(a.path()), spawn(b.path()));
    let (oa, ob) = (pa.wait_with_output().unwrap(), pb.wait_with_output().unwrap());
    for o in [&oa, &ob] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let got = received(&sink);
    let unique: BTreeSet<&String> = got.iter().collect();
    assert_eq!(got.len(), unique.len(), "each event once: {got:?}");
    assert_eq!(got.len(), 6, "{got:?}");
    // Two processes at once in one clone, too.
    file(&repo, "EXC-0004", "Vendor VPN", "2026-12-07", "2027-02-20");
    approve(&repo, "EXC-0004", "2026-12-07");
    let spawn_here = || {
        let mut c = repo.cmd();
        c.args(["--as-of", "2026-12-08", "notify"])
            .env("EXC_TEST_CLOCK", "2026-12-08")
            .env("EXC_WEBHOOK_SECRET", SECRET);
        c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap()
    };
    let (p1, p2) = (spawn_here(), spawn_here());
    for p in [p1, p2] {
        let out = p.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let got = received(&sink);
    assert_eq!(got.len(), got.iter().collect::<BTreeSet<_>>().len(), "each event once: {got:?}");
    assert_eq!(got.len(), 8, "{got:?}");
}

/// Adaptive Cards 1.5 as the official schema has it; a title's Markdown,
/// mention or link stays text (it is only ever in a TextRun).
#[test]
fn teams_cards_match_the_adaptive_card_schema_and_titles_stay_text() {
    let sink = Sink::ok();
    let config = "notify:\n  links: { record: \"https://forge.example/sec/blob/main/{path}\" }\n  channels:\n    teams: { type: teams, url_env: EXC_TEAMS_WEBHOOK }\n  retry: { attempts: 1, backoff_seconds: 0 }\n";
    let repo = team(config);
    let hostile = "[click](https://evil.example) **now** <at>here</at> @channel";
    file(&repo, "EXC-0001", hostile, "2026-12-01", "2027-02-15");
    for i in 2..=40 {
        file(
            &repo,
            &format!("EXC-{i:04}"),
            &format!("Padding request number {i} with a long enough title"),
            "2026-12-01",
            "2027-02-15",
        );
    }
    let mut c = repo.cmd();
    c.args(["--as-of", "2026-12-02", "notify", "--since", "2026-12-01"])
        .env("EXC_TEST_CLOCK", "2026-12-02")
        .env("EXC_TEAMS_WEBHOOK", format!("{}/workflows/abc?sig=SECRETSIG", sink.url));
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("SECRETSIG"), "the webhook URL is a secret");
    let ac = jsonschema::draft6::options().build(&schema("adaptive-card-1.5.json")).unwrap();
    let reqs = sink.requests();
    assert!(reqs.len() >= 2, "40 notices take more than one card: {}", reqs.len());
    let mut titles = 0;
    for r in &reqs {
        assert!(r.body.len() < 28_000, "Teams takes cards up to about 28 KB: {}", r.body.len());
        let msg = r.json();
        assert_eq!(msg["type"], "message");
        let card = &msg["attachments"][0]["content"];
        assert_eq!(msg["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
        let errors: Vec<String> = ac.iter_errors(card).map(|e| format!("{}: {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(card["version"], "1.5");
        // Wherever the hostile title appears, it is a TextRun's text.
        for (path, text) in strings(card, "") {
            if text.contains("evil.example") {
                titles += 1;
                assert!(path.contains("/inlines/") && path.ends_with("/text"), "{path}: {text}");
            }
        }
        for action in card["body"].as_array().unwrap().iter().filter(|b| b["type"] == "ActionSet") {
            for a in action["actions"].as_array().unwrap() {
                assert!(a["url"].as_str().unwrap().starts_with("https://forge.example/sec/blob/main/exceptions/EXC-"));
            }
        }
    }
    assert_eq!(titles, 1);
}

/// Every string in a JSON value, with its path.
fn strings(v: &Value, at: &str) -> Vec<(String, String)> {
    match v {
        Value::String(s) => vec![(at.to_string(), s.clone())],
        Value::Array(a) => a.iter().enumerate().flat_map(|(i, x)| strings(x, &format!("{at}/{i}"))).collect(),
        Value::Object(m) => m.iter().flat_map(|(k, x)| strings(x, &format!("{at}/{k}"))).collect(),
        _ => vec![],
    }
}

/// Block Kit's documented limits and escaping: record fields only in
/// plain_text (never parsed for mentions or links), the mrkdwn fallback escaped.
#[test]
fn slack_messages_keep_block_kit_limits_and_cannot_ping_or_link() {
    let sink = Sink::ok();
    let config = "notify:\n  links: { record: \"https://forge.example/sec/blob/main/{path}\" }\n  channels:\n    chat: { type: slack, url_env: EXC_SLACK_WEBHOOK }\n  retry: { attempts: 1, backoff_seconds: 0 }\n";
    let repo = team(config);
    let hostile = "<!channel> @here <https://evil.example|click> <@U024BE7LH> :skull: & *bold*";
    file(&repo, "EXC-0001", hostile, "2026-12-01", "2027-02-15");
    let long = "x".repeat(250);
    for i in 2..=30 {
        file(&repo, &format!("EXC-{i:04}"), &format!("{long} {i}"), "2026-12-01", "2027-02-15");
    }
    let mut c = repo.cmd();
    c.args(["--as-of", "2026-12-02", "notify", "--since", "2026-12-01"])
        .env("EXC_TEST_CLOCK", "2026-12-02")
        .env("EXC_SLACK_WEBHOOK", format!("{}/services/T000/B000/XXXXSECRET", sink.url));
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reqs = sink.requests();
    assert_eq!(reqs.len(), 2, "30 notices: two messages of at most 24");
    for r in &reqs {
        let m = r.json();
        let blocks = m["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50, "at most 50 blocks");
        let fallback = m["text"].as_str().unwrap();
        assert!(!fallback.contains('<') && !fallback.contains("@here"), "{fallback}");
        for b in blocks {
            match b["type"].as_str().unwrap() {
                "header" => {
                    assert_eq!(b["text"]["type"], "plain_text");
                    assert!(b["text"]["text"].as_str().unwrap().chars().count() <= 150);
                }
                "section" => {
                    assert_eq!(b["text"]["type"], "plain_text", "record fields are never mrkdwn");
                    assert_eq!(b["text"]["emoji"], false);
                    assert!(b["text"]["text"].as_str().unwrap().chars().count() <= 3000);
                    let fields = b["fields"].as_array().unwrap();
                    assert!(fields.len() <= 10);
                    for f in fields {
                        assert_eq!(f["type"], "plain_text");
                        assert!(f["text"].as_str().unwrap().chars().count() <= 2000);
                    }
                    if let Some(button) = b.get("accessory") {
                        assert!(button["text"]["text"].as_str().unwrap().chars().count() <= 75);
                        assert!(button["url"].as_str().unwrap().starts_with("https://forge.example/"));
                    }
                }
                "divider" => {}
                other => panic!("unexpected block {other}"),
            }
        }
        for (path, text) in strings(&m, "") {
            if text.contains("evil.example") {
                assert!(path.starts_with("/blocks/") && path.ends_with("/text/text"), "{path}");
            }
        }
    }
    // The webhook URL is a secret: never printed.
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("XXXXSECRET"), "{all}");
    assert!(!git_out(repo.path(), &["log", "-p", "refs/exc/notify"]).contains("XXXXSECRET"));
}

#[test]
fn a_missing_secret_fails_that_channel_only_and_names_the_variable() {
    let sink = Sink::ok();
    let config = format!(
        "notify:\n  channels:\n    hook: {{ type: webhook, url: \"{}/hook\", secret_env: EXC_WEBHOOK_SECRET }}\n    chat: {{ type: slack, url_env: EXC_SLACK_WEBHOOK }}\n  retry: {{ attempts: 1, backoff_seconds: 0 }}\n",
        sink.url
    );
    let repo = team(&config);
    file(&repo, "EXC-0001", "Vendor VPN", "2026-12-01", "2027-02-15");
    let (code, report, _) = notify(&repo, "2026-12-02", &["--since", "2026-12-01"]);
    assert_eq!(code, 1);
    assert_eq!(keys(&report, "delivered").len(), 1, "the webhook still went out");
    let failed: Vec<&Value> =
        report["deliveries"].as_array().unwrap().iter().filter(|d| d["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["detail"], "channel `chat`: the environment variable EXC_SLACK_WEBHOOK is not set");
}

#[test]
fn dry_run_shows_who_would_get_what_and_sends_nothing() {
    let sink = Sink::ok();
    let config = format!(
        "{}  events:\n    filed: {{ to: [approvers, requester] }}\n",
        webhook(&sink.url).replace(
            "  channels:\n",
            "  channels:\n    mail: { type: smtp, host: smtp.example.com, from: \"exc <exc@example.com>\" }\n"
        )
    );
    let repo = team(&config);
    file(&repo, "EXC-0001", "Vendor VPN", "2026-12-01", "2027-02-15");
    let out = repo.exc(&["--as-of", "2026-12-02", "notify", "--dry-run", "--since", "2026-12-01"]).success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("sam@example.com") && text.contains("ann@example.com") && text.contains("would-send"),
        "{text}"
    );
    assert!(text.contains("dry run: nothing sent, nothing recorded"), "{text}");
    assert!(sink.requests().is_empty());
    assert!(
        Command::new("git")
            .args(["rev-parse", "-q", "--verify", "refs/exc/notify"])
            .current_dir(repo.path())
            .output()
            .unwrap()
            .stdout
            .is_empty()
    );
    // Sending needs today's date; --as-of alone is a preview.
    let out =
        repo.cmd().args(["--as-of", "2027-01-01", "notify"]).env("EXC_TEST_CLOCK", "2026-12-02").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add --dry-run"));
}

#[test]
fn the_notify_section_is_checked_and_secrets_cannot_live_in_it() {
    let repo =
        team("notify:\n  channels:\n    chat: { type: slack, url: \"https://hooks.slack.com/services/T/B/secret\" }\n");
    let out = repo.exc(&["validate", "exc.yaml"]);
    let err = format!("{}{}", String::from_utf8_lossy(&out.get_output().stdout), stderr(&out));
    assert!(err.contains("unknown field `url`"), "{err}");
    let repo = team(
        "notify:\n  channels:\n    hook: { type: webhook, url: \"https://x.example\", secret_env: S }\n  events:\n    filed: { via: [pager] }\n",
    );
    let out = repo.exc(&["validate", "exc.yaml"]);
    let err = format!("{}{}", String::from_utf8_lossy(&out.get_output().stdout), stderr(&out));
    assert!(err.contains("unknown channel `pager`"), "{err}");
}

/// Jira Cloud, played by the sink: it keeps issues, answers as Jira's
/// OpenAPI document says, and every request exc sends is checked against
/// that document (with ADF bodies against the ADF schema).
struct Jira {
    issues: BTreeMap<String, Vec<String>>,
    next: u32,
    transitioned: Vec<String>,
}

fn fake_jira(state: std::sync::Arc<std::sync::Mutex<Jira>>) -> Sink {
    Sink::start(Box::new(move |r: &Request| {
        let mut j = state.lock().unwrap();
        let path = r.path.as_str();
        if r.method == "POST" && path == "/rest/api/3/search/jql" {
            let jql = r.json()["jql"].as_str().unwrap().to_string();
            let hits: Vec<Value> = j
                .issues
                .iter()
                .filter(|(_, labels)| labels.iter().any(|l| jql.contains(&format!("labels = \"{l}\""))))
                .map(|(k, _)| json!({ "id": "1", "key": k }))
                .collect();
            return (200, json!({ "issues": hits, "isLast": true }).to_string());
        }
        if r.method == "POST" && path == "/rest/api/3/issue" {
            j.next += 1;
            let key = format!("SEC-{}", j.next);
            let labels = r.json()["fields"]["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string())
                .collect();
            j.issues.insert(key.clone(), labels);
            return (201, json!({ "id": format!("{}", 10000 + j.next), "key": key, "self": "https://x.example/rest/api/3/issue/1" }).to_string());
        }
        if let Some(rest) = path.strip_prefix("/rest/api/3/issue/") {
            let (key, what) = rest.split_once('/').unwrap();
            if !j.issues.contains_key(key) {
                return (404, json!({ "errorMessages": ["Issue does not exist"] }).to_string());
            }
            return match (r.method.as_str(), what) {
                ("POST", "comment") => (201, json!({ "id": "100", "body": r.json()["body"] }).to_string()),
                ("GET", "transitions") => (
                    200,
                    json!({ "transitions": [
                        { "id": "21", "name": "In Progress", "to": { "name": "In Progress", "statusCategory": { "key": "indeterminate" } } },
                        { "id": "31", "name": "Done", "to": { "name": "Done", "statusCategory": { "key": "done" } } }
                    ] })
                    .to_string(),
                ),
                ("POST", "transitions") => {
                    j.transitioned.push(key.to_string());
                    (204, String::new())
                }
                _ => (400, "{}".into()),
            };
        }
        (404, "{}".into())
    }))
}

/// The validator of one operation's request body, from the OpenAPI document.
fn openapi(component: &str) -> jsonschema::Validator {
    let doc = schema("jira-cloud-platform-v3.subset.json");
    let s = json!({ "$ref": format!("#/components/schemas/{component}"), "components": doc["components"] });
    jsonschema::draft4::options().build(&s).unwrap()
}

fn check(v: &jsonschema::Validator, value: &Value, what: &str) {
    let errors: Vec<String> = v.iter_errors(value).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what}: {errors:?}\n{value:#}");
}

#[test]
fn jira_requests_match_jira_clouds_documented_shapes() {
    let state =
        std::sync::Arc::new(std::sync::Mutex::new(Jira { issues: BTreeMap::new(), next: 0, transitioned: vec![] }));
    let sink = fake_jira(state.clone());
    let config = format!(
        "notify:\n  links: {{ record: \"https://forge.example/sec/blob/main/{{path}}\" }}\n  channels:\n    jira: {{ type: jira, url: \"{}\", project: SEC, user_env: EXC_JIRA_USER, token_env: EXC_JIRA_TOKEN }}\n  retry: {{ attempts: 1, backoff_seconds: 0 }}\n",
        sink.url
    );
    let repo = team(&config);
    file(&repo, "EXC-0001", "CRM \"quoted\" [link](https://evil.example) <b>x</b>", "2026-12-01", "2027-02-15");
    let run = |day: &str, extra: &[&str]| {
        let mut c = repo.cmd();
        c.args(["--as-of", day, "notify", "--format", "json"]).args(extra);
        c.env("EXC_TEST_CLOCK", day).env("EXC_JIRA_USER", "bot@example.com").env("EXC_JIRA_TOKEN", "tok3n");
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let report = run("2026-12-02", &["--since", "2026-12-01"]);
    assert_eq!(report["deliveries"][0]["issue"], "SEC-1");
    assert_eq!(report["deliveries"][0]["detail"], "created SEC-1");
    approve(&repo, "EXC-0001", "2026-12-03");
    run("2026-12-04", &[]);
    repo.exc(&["--as-of", "2026-12-05", "revoke", "EXC-0001", "--reason", "vendor gone", "--by", SAM]).success();
    let report = run("2026-12-06", &[]);
    assert_eq!(report["deliveries"][0]["detail"], "commented on SEC-1; moved through `Done`");
    assert_eq!(state.lock().unwrap().transitioned, ["SEC-1"]);

    // Every request against the documented shapes.
    let (create, comment, transition, search) = (
        openapi("IssueUpdateDetails"),
        openapi("Comment"),
        openapi("IssueUpdateDetails"),
        openapi("SearchAndReconcileRequestBean"),
    );
    let adf = jsonschema::draft4::options().build(&schema("adf-full.json")).unwrap();
    let (created, found) = (openapi("CreatedIssue"), openapi("Transitions"));
    check(
        &created,
        &json!({ "id": "10001", "key": "SEC-1", "self": "https://x.example/rest/api/3/issue/1" }),
        "our CreatedIssue",
    );
    check(
        &found,
        &json!({ "transitions": [{ "id": "31", "name": "Done", "to": { "name": "Done", "statusCategory": { "key": "done" } } }] }),
        "our Transitions",
    );
    let mut seen = BTreeSet::new();
    for r in sink.requests() {
        assert_eq!(
            r.header("Authorization"),
            Some("Basic Ym90QGV4YW1wbGUuY29tOnRvazNu"),
            "basic auth: email and API token"
        );
        let op = match (r.method.as_str(), r.path.as_str()) {
            ("POST", "/rest/api/3/search/jql") => {
                let body = r.json();
                check(&search, &body, "search");
                assert_eq!(body["jql"], "project = \"SEC\" AND labels = \"exc-EXC-0001\"");
                "search"
            }
            ("POST", "/rest/api/3/issue") => {
                let body = r.json();
                check(&create, &body, "create issue");
                let f = &body["fields"];
                assert_eq!(f["project"], json!({ "key": "SEC" }));
                assert_eq!(f["issuetype"], json!({ "name": "Task" }));
                let summary = f["summary"].as_str().unwrap();
                assert!(
                    !summary.contains('\n') && !summary.contains('\r') && summary.chars().count() <= 255,
                    "{summary:?}"
                );
                assert!(f["labels"].as_array().unwrap().iter().all(|l| !l.as_str().unwrap().contains(' ')));
                check(&adf, &f["description"], "description (ADF)");
                "create"
            }
            ("POST", p) if p.ends_with("/comment") => {
                let body = r.json();
                check(&comment, &body, "comment");
                assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), ["body"], "no read-only fields");
                check(&adf, &body["body"], "comment body (ADF)");
                "comment"
            }
            ("GET", p) if p.ends_with("/transitions") => "list transitions",
            ("POST", p) if p.ends_with("/transitions") => {
                let body = r.json();
                check(&transition, &body, "transition");
                assert_eq!(body, json!({ "transition": { "id": "31" } }));
                "transition"
            }
            other => panic!("exc sent a request Jira has no use for: {other:?}"),
        };
        seen.insert(op);
        // Record text is ADF text, never a link but the record's own.
        for (path, text) in strings(&r.json_or_null(), "") {
            if path.ends_with("/href") {
                assert!(text.starts_with("https://forge.example/sec/blob/main/"), "{text}");
            }
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");

    // A run whose log entry was lost finds the issue by its label: no second issue.
    let fresh = team(&config);
    std::fs::copy(repo.path().join("exceptions/EXC-0001.yaml"), fresh.path().join("exceptions/EXC-0001.yaml")).unwrap();
    let mut c = fresh.cmd();
    c.args(["--as-of", "2026-12-06", "notify", "--format", "json", "--since", "2026-12-01"]);
    c.env("EXC_TEST_CLOCK", "2026-12-06").env("EXC_JIRA_USER", "bot@example.com").env("EXC_JIRA_TOKEN", "tok3n");
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["deliveries"][0]["detail"], "found SEC-1");
    assert_eq!(state.lock().unwrap().issues.len(), 1, "one issue per request");
}

trait OrNull {
    fn json_or_null(&self) -> Value;
}

impl OrNull for Request {
    fn json_or_null(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A real SMTP server (aiosmtpd) on 127.0.0.1, with a CA and a server
/// certificate made here; `None` (the test skips) without the consumers.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    out: std::path::PathBuf,
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start(mode: &str, refuse: &[&str], drop: &[&str]) -> Option<SmtpServer> {
        let python = crate::consumers::consumer("python")?;
        let has = Command::new(&python).args(["-c", "import aiosmtpd"]).output().unwrap().status.success();
        if !has {
            assert!(
                std::env::var("EXC_REQUIRE_CONSUMERS").as_deref() != Ok("1"),
                "aiosmtpd is not installed: run .ci/run"
            );
            eprintln!("skipping: aiosmtpd is not installed (.ci/run installs it)");
            return None;
        }
        let dir = tempfile::TempDir::new().unwrap();
        let d = dir.path();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(d).output().expect("openssl");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        openssl(
            &[
                &["req", "-x509"],
                &ec[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=exc test CA",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            ]
            .concat(),
        );
        openssl(
            &[&["req"], &ec[..], &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]].concat(),
        );
        std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/smtp_server.py");
        let out = d.join("messages.jsonl");
        let mut c = Command::new(python);
        c.arg(script).args([
            "--mode",
            mode,
            "--cert",
            "server.pem",
            "--key",
            "server.key",
            "--user",
            "exc-bot",
            "--password",
            "p4ss-w0rd",
        ]);
        c.arg("--out").arg(&out).current_dir(d);
        for r in refuse {
            c.args(["--refuse-once", r]);
        }
        for r in drop {
            c.args(["--drop-once", r]);
        }
        let mut child = c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.as_mut().unwrap()), &mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("the SMTP server did not start: {line:?}"))
            .parse()
            .unwrap();
        Some(SmtpServer { child, port, out, ca: d.join("ca.pem"), _dir: dir })
    }

    fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn config(&self, tls: &str) -> String {
        format!(
            "notify:\n  links: {{ record: \"https://forge.example/sec/blob/main/{{path}}\" }}\n  channels:\n    mail: {{ type: smtp, host: 127.0.0.1, port: {}, tls: {tls}, from: \"Security Exceptions <exc@example.com>\", username_env: EXC_SMTP_USER, password_env: EXC_SMTP_PASSWORD }}\n  retry: {{ attempts: 1, backoff_seconds: 0, timeout_seconds: 10 }}\n",
            self.port
        )
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn mail_run(repo: &Repo, day: &str, ca: Option<&Path>, extra: &[&str]) -> (i32, Value) {
    let mut c = repo.cmd();
    c.args(["--as-of", day, "notify", "--format", "json"]).args(extra);
    c.env("EXC_TEST_CLOCK", day).env("EXC_SMTP_USER", "exc-bot").env("EXC_SMTP_PASSWORD", "p4ss-w0rd");
    if let Some(ca) = ca {
        c.env("EXC_CA_FILE", ca);
    }
    let out = c.output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("p4ss-w0rd"), "the password is never printed: {all}");
    (out.status.code().unwrap_or(-1), serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

fn header<'a>(m: &'a Value, name: &str) -> Vec<&'a str> {
    m["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap())
        .collect()
}

/// One digest per person over STARTTLS with AUTH; a recipient the server
/// refuses and a connection dropped mid-run fail alone, and go out on the
/// next run; nothing goes out to a server whose certificate is not trusted.
#[test]
fn mail_digests_over_starttls_with_auth_once_per_person() {
    let Some(server) = SmtpServer::start("starttls", &["rita@example.com"], &["dirk@example.com"]) else { return };
    let repo = team(&server.config("starttls"));
    let title = "Légacy CRM — 日本語 Bcc: evil@example.com <b>bold</b>";
    file(&repo, "EXC-0001", title, "2026-12-01", "2027-02-15");
    for (id, owner) in
        [("EXC-0002", "Rita Refused <rita@example.com>"), ("EXC-0003", "Dirk Dropped <dirk@example.com>")]
    {
        repo.exc(&[
            "--as-of",
            "2026-12-01",
            "new",
            "--yes",
            "--id",
            id,
            "--type",
            "other",
            "--title",
            "Vendor VPN",
            "--justification",
            "j",
            "--risk-owner",
            owner,
            "--asset",
            "a",
            "--expires",
            "2027-02-15",
        ])
        .success();
    }
    // A certificate nobody trusts: nothing is sent, nothing is marked delivered.
    let (code, report) = mail_run(&repo, "2026-12-02", None, &["--since", "2026-12-01"]);
    assert_eq!(code, 1);
    assert!(keys(&report, "delivered").is_empty(), "{report:#}");
    assert!(report["deliveries"][0]["detail"].as_str().unwrap().to_lowercase().contains("certificate"), "{report:#}");
    assert!(server.messages().is_empty());
    // With the test CA trusted: everyone but Rita (refused) and Dirk (dropped).
    let (code, report) = mail_run(&repo, "2026-12-02", Some(&server.ca), &[]);
    assert_eq!(code, 1, "{report:#}");
    let failed: BTreeSet<&str> = report["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "failed")
        .map(|d| d["to"].as_str().unwrap())
        .collect();
    assert_eq!(failed, BTreeSet::from(["rita@example.com", "dirk@example.com"]), "{report:#}");
    let messages = server.messages();
    let to: Vec<Vec<Value>> = messages.iter().map(|m| m["rcpt_tos"].as_array().unwrap().clone()).collect();
    assert_eq!(
        to,
        [vec![json!("sam@example.com")], vec![json!("dana@example.com")]],
        "one digest per person, one recipient each"
    );
    for m in &messages {
        assert_eq!((m["tls"].as_bool(), m["authenticated"].as_bool()), (Some(true), Some(true)));
        assert_eq!(m["mail_from"], "exc@example.com");
        assert_eq!(header(m, "From"), ["Security Exceptions <exc@example.com>"]);
        assert!(header(m, "Bcc").is_empty() && header(m, "Cc").is_empty());
        assert_eq!(header(m, "Auto-Submitted"), ["auto-generated"]);
        assert!(m["text"].as_str().unwrap().contains("https://forge.example/sec/blob/main/exceptions/EXC-0001.yaml"));
    }
    let sam = &messages[0];
    assert_eq!(header(sam, "To"), ["sam@example.com"]);
    assert_eq!(sam["subject"], "[exc] 3 security exception notices (2026-12-02)");
    let text = sam["text"].as_str().unwrap();
    assert_eq!(text.matches("new request").count(), 3, "{text}");
    let dana = &messages[1];
    assert_eq!(header(dana, "To"), ["Dana Ops <dana@example.com>"]);
    assert_eq!(dana["subject"], format!("[exc] EXC-0001 new request: {title}"), "UTF-8 subject, decoded");
    let raw = dana["raw_headers"].as_str().unwrap();
    assert!(raw.is_ascii() && raw.contains("=?utf-8?"), "the subject is RFC 2047-encoded: {raw}");
    assert!(!raw.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc:")), "{raw}");
    let html = dana["html"].as_str().unwrap();
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt;") && !html.contains("<b>bold"), "{html}");
    // The next run delivers the two that failed, and only them.
    let (code, report) = mail_run(&repo, "2026-12-02", Some(&server.ca), &[]);
    assert_eq!(code, 0, "{report:#}");
    let to: BTreeSet<&str> =
        report["deliveries"].as_array().unwrap().iter().map(|d| d["to"].as_str().unwrap()).collect();
    assert_eq!(to, BTreeSet::from(["rita@example.com", "dirk@example.com"]));
    assert_eq!(server.messages().len(), 4);
    let (code, report) = mail_run(&repo, "2026-12-03", Some(&server.ca), &[]);
    assert_eq!((code, keys(&report, "delivered").len()), (0, 0));
    assert_eq!(server.messages().len(), 4, "nothing twice");
}

#[test]
fn mail_over_implicit_tls() {
    let Some(server) = SmtpServer::start("tls", &[], &[]) else { return };
    let repo = team(&server.config("tls"));
    file(&repo, "EXC-0001", "Vendor VPN", "2026-12-01", "2027-02-15");
    let (code, report) = mail_run(&repo, "2026-12-02", Some(&server.ca), &["--since", "2026-12-01"]);
    assert_eq!(code, 0, "{report:#}");
    let m = server.messages();
    assert_eq!(m.len(), 2, "Sam (approver) and Dana (risk owner)");
    assert!(m.iter().all(|m| m["tls"] == true && m["authenticated"] == true));
    assert!(report["deliveries"][0]["detail"].as_str().unwrap().starts_with("250"), "{report:#}");
}

/// The story of a quarter (2027-01-04 to 2027-04-03), one nightly run a day
/// (`exc expire --apply`, then `exc notify`), two nights missed. The table
/// of what went out, and when, is docs/notify.md's.
fn quarter_story(repo: &Repo, day: &str) {
    let new = |id: &str, kind: &str, title: &str, expires: &str, extra: &[&str]| {
        let mut args = vec!["--as-of", day, "new", "--yes", "--id", id, "--type", kind, "--title", title];
        args.extend([
            "--justification",
            "Business need",
            "--risk-owner",
            DANA,
            "--asset",
            "crm-01",
            "--expires",
            expires,
        ]);
        args.extend(extra);
        repo.exc(&args).success();
    };
    let extend = |id: &str, until: &str| {
        repo.exc(&[
            "--as-of",
            day,
            "recertify",
            id,
            "--controls-effective",
            "yes",
            "--justification-valid",
            "yes",
            "--better-option",
            "no",
            "--expires",
            until,
            "--by",
            SAM,
        ])
        .success();
    };
    match day {
        "2026-10-01" => new("EXC-0006", "firewall-rule", "Payroll firewall rule", "2027-03-30", &[]),
        "2026-10-02" => approve(repo, "EXC-0006", day),
        "2027-01-04" => {
            new("EXC-0001", "other", "Vendor VPN for Acme", "2027-03-05", &[]);
            new("EXC-0002", "other", "Broad firewall opening", "2027-03-01", &[]);
            new("EXC-0004", "other", "Legacy SFTP", "2027-01-20", &[]);
            approve(repo, "EXC-0004", day);
        }
        "2027-01-05" => approve(repo, "EXC-0001", day),
        "2027-01-11" => new("EXC-0003", "other", "Kiosk MFA bypass", "2027-02-10", &[]),
        "2027-01-12" => {
            approve(repo, "EXC-0003", day);
            repo.exc(&["--as-of", day, "reject", "EXC-0002", "--reason", "too broad", "--by", SAM]).success();
        }
        "2027-01-15" => extend("EXC-0004", "2027-02-01"),
        "2027-01-28" => extend("EXC-0004", "2027-02-15"),
        "2027-02-10" => extend("EXC-0004", "2027-03-15"),
        "2027-02-15" => new("EXC-0005", "other", "Temporary admin rights", "2027-04-15", &[]),
        "2027-02-16" => approve(repo, "EXC-0005", day),
        "2027-02-20" => {
            repo.exc(&["--as-of", day, "retire", "EXC-0005", "--reason", "fixed", "--by", DANA]).success();
        }
        _ => {}
    }
}

#[test]
fn a_quarter_sends_exactly_the_expected_messages() {
    let sink = Sink::ok();
    let repo = team(&webhook(&sink.url));
    quarter_story(&repo, "2026-10-01");
    quarter_story(&repo, "2026-10-02");
    let start = chrono::NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
    let missed = ["2027-01-08", "2027-02-18"];
    let mut table: Vec<(String, String)> = Vec::new();
    for n in 0..90 {
        let day = (start + chrono::Days::new(n)).to_string();
        quarter_story(&repo, &day);
        if missed.contains(&day.as_str()) {
            continue;
        }
        repo.exc(&["--as-of", &day, "expire", "--apply"]).success();
        let (code, report, err) = notify(&repo, &day, &[]);
        assert_eq!(code, 0, "{day}: {err}");
        for k in keys(&report, "delivered") {
            table.push((day.clone(), k));
        }
    }
    let got = received(&sink);
    assert_eq!(got.len(), table.len());
    assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), got.len(), "nothing twice");
    let expected: Vec<(&str, &str)> = vec![
        ("2027-01-04", "EXC-0001/filed/2027-01-04T00:00:00Z"),
        ("2027-01-04", "EXC-0002/filed/2027-01-04T00:00:00Z"),
        ("2027-01-04", "EXC-0004/filed/2027-01-04T00:00:00Z"),
        ("2027-01-04", "EXC-0004/decided/approved/2027-01-04T00:00:00Z"),
        ("2027-01-04", "EXC-0006/review-overdue/2026-12-31"),
        ("2027-01-05", "EXC-0001/decided/approved/2027-01-05T00:00:00Z"),
        ("2027-01-06", "EXC-0004/expiry-near/2027-01-20"),
        ("2027-01-09", "EXC-0002/sla-at-risk/2027-01-09T00:00:00Z"),
        ("2027-01-10", "EXC-0002/sla-breached/2027-01-09T00:00:00Z"),
        ("2027-01-11", "EXC-0003/filed/2027-01-11T00:00:00Z"),
        ("2027-01-12", "EXC-0002/decided/rejected/2027-01-12T00:00:00Z"),
        ("2027-01-12", "EXC-0003/decided/approved/2027-01-12T00:00:00Z"),
        ("2027-01-15", "EXC-0004/decided/extended/2027-01-15T00:00:00Z"),
        ("2027-01-15", "EXC-0006/closed/expired/2027-01-15T00:00:00Z"),
        ("2027-01-18", "EXC-0004/expiry-near/2027-02-01"),
        ("2027-01-27", "EXC-0003/expiry-near/2027-02-10"),
        ("2027-01-28", "EXC-0004/decided/extended/2027-01-28T00:00:00Z"),
        ("2027-02-01", "EXC-0004/expiry-near/2027-02-15"),
        ("2027-02-10", "EXC-0004/decided/extended/2027-02-10T00:00:00Z"),
        ("2027-02-10", "EXC-0004/chronic/extended-3"),
        ("2027-02-11", "EXC-0003/closed/expired/2027-02-11T00:00:00Z"),
        ("2027-02-15", "EXC-0005/filed/2027-02-15T00:00:00Z"),
        ("2027-02-16", "EXC-0005/decided/approved/2027-02-16T00:00:00Z"),
        ("2027-02-19", "EXC-0001/lifetime/2027-02-18"),
        ("2027-02-19", "EXC-0001/expiry-near/2027-03-05"),
        ("2027-02-20", "EXC-0005/closed/retired/2027-02-20T00:00:00Z"),
        ("2027-03-01", "EXC-0004/expiry-near/2027-03-15"),
        ("2027-03-06", "EXC-0001/closed/expired/2027-03-06T00:00:00Z"),
        ("2027-03-16", "EXC-0004/closed/expired/2027-03-16T00:00:00Z"),
    ];
    let table: Vec<(&str, &str)> = table.iter().map(|(d, k)| (d.as_str(), k.as_str())).collect();
    assert_eq!(table, expected);
}

/// A run that died after claiming and before recording: its claims hold
/// the deliveries back for six hours (it may still be sending), then the
/// next run sends them. The dead run is written into the log by hand.
#[test]
fn a_run_that_died_after_claiming_is_taken_over_after_six_hours() {
    let sink = Sink::ok();
    let repo = team(&webhook(&sink.url));
    file(&repo, "EXC-0001", "Vendor VPN", "2026-12-01", "2027-02-15");
    let key = "EXC-0001/filed/2026-12-01T00:00:00Z";
    let run = json!({ "run": "20261202T000000Z-dead", "started": "2026-12-02T00:00:00Z", "as_of": "2026-12-02",
                      "exc": "0.1.0", "since": "2026-12-01", "channels": ["hook"] });
    let claim = json!({ "run": "20261202T000000Z-dead", "state": "claimed", "key": key, "channel": "hook", "to": "*",
                        "at": "2026-12-02T00:00:00Z" });
    let blob = |name: &str, text: String| {
        let path = repo.path().join(name);
        std::fs::write(&path, text).unwrap();
        let oid = git_out(repo.path(), &["hash-object", "-w", name]);
        std::fs::remove_file(path).unwrap();
        format!("100644 blob {oid}\t{name}")
    };
    let tree = [
        blob("20261202T000000Z-dead.run.json", run.to_string()),
        blob("20261202T000000Z-dead.claims.jsonl", format!("{claim}\n")),
    ]
    .join("\n");
    let mut mktree = Command::new("git");
    mktree
        .arg("mktree")
        .current_dir(repo.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = mktree.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), format!("{tree}\n").as_bytes()).unwrap();
    let tree = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_string();
    let commit = git_out(repo.path(), &["commit-tree", &tree, "-m", "a run that died"]);
    git_out(repo.path(), &["update-ref", "refs/exc/notify", &commit]);
    let at = |t: &str| {
        let mut c = repo.cmd();
        c.args(["notify", "--format", "json"]).env("EXC_TEST_CLOCK", t).env("EXC_WEBHOOK_SECRET", SECRET);
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert!(keys(&at("2026-12-02T05:59:59Z"), "delivered").is_empty(), "held by the claim");
    assert_eq!(keys(&at("2026-12-02T06:00:00Z"), "delivered"), [key]);
    assert!(keys(&at("2026-12-02T07:00:00Z"), "delivered").is_empty());
    assert_eq!(received(&sink), [key]);
}
