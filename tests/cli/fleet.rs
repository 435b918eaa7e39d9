//! One registry for many repositories, and one view over several registries:
//! a central registry, two application repositories and a second registry,
//! each a real git repository in its own temp dir. Each application is
//! reconciled against the central registry by path and by `file://` URL (a
//! suppression governed in one is shadow in the other), files its
//! suppressions into it (on a branch, and as a patch for `git am`), and
//! writes its own suppression files from it; the fleet report equals the
//! single-registry report for one registry and the sum of the parts for two
//! (medians over the union); an unreadable registry makes the run partial;
//! the inventory names unknown assets and counts by business unit.

use std::path::Path;

use serde_json::Value;

use crate::harness::{Repo, stderr, stdout};

const POLICY: &str = "roles:\n  security: [sam@example.com]\ntrust: { signatures: off }\n";
const SAM: &str = "Sam Okafor <sam@example.com>";
const DANA: &str = "Dana Ops <dana@example.com>";
const AS_OF: &str = "2026-11-10";

/// A registry repository with `policy`, committed.
fn registry(policy: &str) -> Repo {
    let repo = Repo::init();
    repo.write("exc.yaml", policy);
    commit(&repo, "the policy");
    repo
}

fn commit(repo: &Repo, message: &str) {
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", message]);
}

/// Files `id` in `reg` on `created` (with `extra` flags), and approves it on
/// `approved` unless none.
fn file(reg: &Repo, id: &str, kind: &str, created: &str, approved: Option<&str>, extra: &[&str]) {
    let mut args = vec![
        "new",
        "--yes",
        "--id",
        id,
        "--as-of",
        created,
        "--type",
        kind,
        "--title",
        "An exception",
        "--justification",
        "Needed",
        "--risk-owner",
        DANA,
        "--expires",
        "2027-01-15",
        "--compensating-control",
        "WAF rule",
    ];
    args.extend_from_slice(extra);
    reg.exc(&args).success();
    if let Some(day) = approved {
        reg.exc(&["approve", id, "--by", SAM, "--as-of", day]).success();
    }
}

/// An application repository named `name` by its `origin` remote, holding `files`.
fn application(name: &str, files: &[(&str, &str)]) -> Repo {
    let repo = Repo::new();
    for (path, text) in files {
        repo.write(path, text);
    }
    repo.git(&["remote", "add", "origin", &format!("git@git.example.com:shop/{name}.git")]);
    commit(&repo, "the application");
    repo
}

/// A finding as (code, path, line, message).
type Found = (String, String, u64, String);

/// `exc reconcile ARGS --format json` in `app`: the exit code, each finding,
/// and the whole JSON.
fn reconcile(app: &Repo, args: &[&str]) -> (i32, Vec<Found>, Value) {
    let out = app.cmd().args(["reconcile", "--format", "json", "--as-of", AS_OF]).args(args).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{args:?}: {}", String::from_utf8_lossy(&out.stderr)));
    let found = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (out.status.code().unwrap(), found, v)
}

fn path(repo: &Repo) -> String {
    repo.path().display().to_string()
}

fn url(repo: &Repo) -> String {
    format!("file://{}", repo.path().display())
}

/// The central registry excepts B307 in payments-api only, and a pending
/// request cites nothing that counts.
fn central() -> Repo {
    let central = registry(POLICY);
    file(
        &central,
        "EXC-0PAY",
        "other",
        "2026-11-01",
        Some("2026-11-02"),
        &["--asset", "payments-api", "--finding", "B307 repository=payments-api path=app/main.py"],
    );
    file(&central, "EXC-0REQ", "other", "2026-11-01", None, &["--asset", "web-shop", "--finding", "B602"]);
    commit(&central, "two exceptions");
    central
}

const EVAL: &str = "import os\nresult = eval(expr)  # nosec B307 EXC-0PAY\n";

#[test]
fn a_suppression_governed_in_one_application_is_shadow_in_the_other() {
    let central = central();
    let payments = application("payments-api", &[("app/main.py", EVAL)]);
    let web = application(
        "web-shop",
        &[("app/main.py", EVAL), ("app/run.py", "run(cmd, shell=True)  # nosec B602 EXC-0REQ\n")],
    );
    for registry in [path(&central), url(&central)] {
        // payments-api (named by its origin remote) is governed.
        let (code, found, v) = reconcile(&payments, &["--registry", &registry]);
        assert_eq!((code, found.clone()), (0, vec![]), "{registry}: {found:?}");
        assert_eq!((v["repository"].as_str(), v["central"].as_bool()), (Some("payments-api"), Some(true)));
        assert_eq!(v["suppressions"].as_array().unwrap().len(), 1);
        // The same comment in web-shop is not: the exception covers B307 in payments-api only.
        let (code, found, _) = reconcile(&web, &["--registry", &registry]);
        assert_eq!(code, 1, "{registry}");
        let shadow: Vec<_> = found.iter().filter(|f| f.0 == "shadow-suppression").collect();
        assert_eq!(shadow.len(), 1, "{found:?}");
        assert_eq!((shadow[0].1.as_str(), shadow[0].2), ("app/main.py", 2));
        assert!(shadow[0].3.contains("covers B307 only in payments-api, not in web-shop"), "{}", shadow[0].3);
        // Only approved records count: the pending request governs nothing.
        let pending: Vec<_> = found.iter().filter(|f| f.0 == "expired-suppression").collect();
        assert_eq!((pending.len(), pending[0].1.as_str()), (1, "app/run.py"), "{found:?}");
        assert!(pending[0].3.contains("EXC-0REQ is requested"), "{}", pending[0].3);
    }
    // By URL, at a ref; --repository names the repository; the run says what it read.
    let (code, found, v) =
        reconcile(&web, &["--registry", &url(&central), "--ref", "main", "--repository", "payments-api"]);
    assert_eq!(code, 1, "{found:?}");
    assert!(found.iter().all(|f| f.1 != "app/main.py"), "named payments-api, web-shop's copy is governed: {found:?}");
    assert!(v["summary"].as_str().unwrap().contains(&format!("against the registry {}@main", url(&central))));
    // --dir naming a registry in another repository governs the repository the command runs in.
    let (code, found, _) = reconcile(&web, &["--dir", &path(&central)]);
    assert_eq!(code, 1);
    assert!(found.iter().any(|f| f.0 == "shadow-suppression" && f.1 == "app/main.py"), "{found:?}");
    // A change merged into the registry counts on the next run, by URL too (fetched again).
    file(
        &central,
        "EXC-0WEB",
        "other",
        "2026-11-03",
        Some("2026-11-04"),
        &["--asset", "web-shop", "--finding", "B307 repository=web-*"],
    );
    commit(&central, "web-shop's own exception");
    web.write("app/main.py", EVAL.replace("EXC-0PAY", "EXC-0WEB"));
    let (_, found, _) = reconcile(&web, &["--registry", &url(&central)]);
    assert!(found.iter().all(|f| f.1 != "app/main.py"), "{found:?}");
}

#[test]
fn a_shadow_suppression_names_the_request_that_would_govern_it() {
    let central = central();
    let web = application("web-shop", &[("app/util.py", "h = hashlib.md5(data)  # nosec B324\n")]);
    let (code, found, _) = reconcile(&web, &["--registry", &path(&central)]);
    assert_eq!(code, 1);
    let message = &found[0].3;
    let new = format!(
        "File one there: `exc --dir {} new --yes --type other --title 'bandit suppression of B324 in web-shop:app/util.py' --justification",
        path(&central)
    );
    assert!(
        message.contains(&new)
            && message.contains("--finding 'B324 path=app/util.py repository=web-shop' --asset web-shop"),
        "{message}"
    );
    // Run as written (with a risk owner), it files the request in the registry.
    let command = message.split('`').nth(1).unwrap().replace("'NAME <EMAIL>'", "'Dana Ops <dana@example.com>'");
    let out = std::process::Command::new("sh")
        .args(["-c", &command.replacen("exc ", &format!("{} ", assert_cmd::cargo_bin!("exc").display()), 1)])
        .current_dir(web.path())
        .env("HOME", web.home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("EXC_TEST_CLOCK", AS_OF)
        .output()
        .unwrap();
    assert!(out.status.success(), "{command}: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(central.records().len(), 3);
    // By URL, the command is for a clone of the registry.
    let (_, found, _) = reconcile(&web, &["--registry", &url(&central)]);
    assert!(found[0].3.contains("File one in a clone of it: `exc new --yes"), "{}", found[0].3);
    // GitHub annotations carry the file, the line and the command.
    let out = web.cmd().args(["reconcile", "--registry", &path(&central), "--format", "github"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("::error file=app/util.py,line=1,"), "{text}");
    assert!(text.contains(" new --yes --type other"), "{text}");
}

#[test]
fn an_applications_suppressions_are_filed_into_the_central_registry() {
    let central = central();
    let web = application(
        "web-shop",
        &[(".trivyignore", "CVE-2026-1000\n"), ("app/run.py", "run(cmd, shell=True)  # nosec B602\n")],
    );
    // On a branch of the registry's clone: one commit with both requests.
    let out = web
        .exc(&[
            "import",
            "--registry",
            &path(&central),
            "--branch",
            "import/web-shop",
            "--rewrite",
            "--risk-owner",
            DANA,
            "--format",
            "json",
            "--as-of",
            "2026-11-05",
        ])
        .success();
    let filed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ids: Vec<&str> = filed.as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    let branch = std::process::Command::new("git")
        .args(["log", "-1", "--format=%D%n%an%n%B", "--name-only"])
        .current_dir(central.path())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&branch.stdout);
    assert!(log.starts_with("HEAD -> import/web-shop"), "{log}");
    assert!(log.contains("exc: import 2 request(s) from web-shop") && log.contains("Exc-Action: request"), "{log}");
    for id in &ids {
        assert!(log.contains(&format!("exceptions/{id}.yaml")), "{log}");
        let record = central.read(&format!("exceptions/{id}.yaml"));
        assert!(record.contains("repository: web-shop"), "{record}");
        assert!(record.contains("Imported by exc import from web-shop:"), "{record}");
    }
    assert!(web.read(".trivyignore").contains("# EXC-"), "cited in place");
    // Importing again files nothing; once approved, web-shop is governed.
    let again = web.exc(&["import", "--registry", &path(&central), "--dry-run", "--format", "json"]).success();
    assert_eq!(serde_json::from_str::<Value>(&stdout(&again)).unwrap(), serde_json::json!([]));
    for id in &ids {
        central.exc(&["approve", id, "--by", SAM, "--as-of", "2026-11-06"]).success();
    }
    commit(&central, "approved");
    let (code, found, _) = reconcile(&web, &["--registry", &path(&central)]);
    assert_eq!((code, found.clone()), (0, vec![]), "{found:?}");

    // As a patch, from a registry fetched by URL: git am applies it as one commit.
    let payments = application("payments-api", &[("scripts/deploy.py", "os.system(cmd)  # nosec B605\n")]);
    let patch = payments.path().join("requests.patch");
    let out = payments
        .exc(&[
            "import",
            "--registry",
            &url(&central),
            "--patch",
            &patch.display().to_string(),
            "--risk-owner",
            DANA,
            "--as-of",
            "2026-11-07",
        ])
        .success();
    assert!(stdout(&out).contains("git am"), "{}", stdout(&out));
    central.git(&["switch", "-q", "main"]);
    let before = central.records().len();
    central.git(&["am", "-q", &patch.display().to_string()]);
    assert_eq!(central.records().len(), before + 1);
    let log = std::process::Command::new("git")
        .args(["log", "-1", "--format=%an|%s"])
        .current_dir(central.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&log.stdout).trim(), "Ann Lee|exc: import 1 request(s) from payments-api");
    central.exc(&["check", "--as-of", "2026-11-08"]).success();
    // Writing into the cached copy of a fetched registry is refused.
    let out = payments.exc(&["import", "--registry", &url(&central), "--risk-owner", DANA]).code(2);
    assert!(stderr(&out).contains("fetched into a cache"), "{}", stderr(&out));
}

#[test]
fn each_application_writes_its_own_suppression_files() {
    let central = registry(&format!("{POLICY}exports: [trivyignore]\n"));
    file(
        &central,
        "EXC-0VXN",
        "vulnerability-deferral",
        "2026-11-01",
        Some("2026-11-02"),
        &[
            "--asset",
            "shop",
            "--finding",
            "CVE-2026-1111 repository=payments-api",
            "--finding",
            "CVE-2026-2222 repository=web-shop",
            "--finding",
            "CVE-2026-3333 package=openssl",
        ],
    );
    commit(&central, "a deferral across repositories");
    let export = |args: &[&str]| {
        let mut all = vec!["export", "--format", "trivyignore", "--as-of", AS_OF];
        all.extend_from_slice(args);
        stdout(&central.exc(&all).success())
    };
    let web = export(&["--repository", "web-shop"]);
    assert!(web.contains("CVE-2026-2222") && !web.contains("CVE-2026-1111"), "{web}");
    let everything = export(&[]);
    assert!(everything.contains("CVE-2026-1111") && everything.contains("CVE-2026-2222"), "{everything}");
    // In the application repository, against the central registry: its own files, at its root.
    let app = application("payments-api", &[("README", "shop\n")]);
    app.exc(&["export", "--all", "--registry", &url(&central), "--as-of", AS_OF]).success();
    let written = app.read(".trivyignore.yaml");
    assert!(written.contains("CVE-2026-1111") && !written.contains("CVE-2026-2222"), "{written}");
}

/// A registry whose records have known approval times.
fn timed(ids: &[(&str, &str, &str)]) -> Repo {
    let reg = registry(&format!("{POLICY}assets: {{ total: 50 }}\n"));
    for (id, created, approved) in ids {
        file(&reg, id, "other", created, Some(approved), &["--asset", &format!("host-{}", &id[4..])]);
    }
    file(&reg, "EXC-PEND", "other", "2026-11-01", None, &["--asset", "host-pend"]);
    commit(&reg, "records");
    reg
}

fn report(repo: &Repo, args: &[&str]) -> (i32, Value) {
    let out = repo.cmd().args(["report", "--format", "json", "--as-of", AS_OF]).args(args).output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

fn kpi(r: &Value, key: &str) -> Option<f64> {
    r["kpis"].as_array().unwrap().iter().find(|k| k["key"] == key).and_then(|k| k["value"].as_f64())
}

#[test]
fn the_fleet_report_is_the_single_report_for_one_registry_and_adds_up_for_two() {
    // a: approvals after 24 h and 48 h; b: after 72 h, 96 h and 120 h.
    let a = timed(&[("EXC-00A1", "2026-11-01", "2026-11-02"), ("EXC-00A2", "2026-11-01", "2026-11-03")]);
    let b = timed(&[
        ("EXC-00B1", "2026-10-20", "2026-10-23"),
        ("EXC-00B2", "2026-10-20", "2026-10-24"),
        ("EXC-00B3", "2026-10-20", "2026-10-25"),
    ]);
    let fleet = Repo::new();
    fleet.write("one.yaml", format!("registries:\n  - {{ name: a, path: {} }}\n", path(&a)));
    fleet.write(
        "two.yaml",
        format!("registries:\n  - {{ name: a, path: {} }}\n  - {{ name: b, git: \"{}\" }}\n", path(&a), url(&b)),
    );

    // One registry: the fleet report is the registry's own.
    let (_, single) = report(&a, &[]);
    let (code, one) = report(&fleet, &["--fleet", "one.yaml"]);
    assert_eq!(code, 0);
    let mut part = one["by_registry"][0].clone();
    assert_eq!(part["registry"], "a");
    part.as_object_mut().unwrap().remove("registry");
    for a in part["needs_action"].as_array_mut().unwrap() {
        a.as_object_mut().unwrap().remove("registry");
    }
    assert_eq!(part, single, "a fleet of one: that registry's report");
    let mut union = one.clone();
    for key in ["registries", "by_registry"] {
        union.as_object_mut().unwrap().remove(key);
    }
    for a in union["needs_action"].as_array_mut().unwrap() {
        assert_eq!(a["registry"], "a");
        a.as_object_mut().unwrap().remove("registry");
    }
    assert_eq!(union, single, "and the union of one is the same");

    // Two: counts add up; medians and p90 come from every value, not from the parts' medians.
    let (code, two) = report(&fleet, &["--fleet", "two.yaml"]);
    assert_eq!(code, 0);
    let (_, rb) = report(&b, &[]);
    assert_eq!(two["registries"], serde_json::json!(["a", "b"]));
    for key in ["records", "active"] {
        assert_eq!(two[key].as_u64().unwrap(), single[key].as_u64().unwrap() + rb[key].as_u64().unwrap(), "{key}");
    }
    for key in ["volume", "sla_breaches", "open_ended", "chronic", "ungoverned_suppressions"] {
        assert_eq!(kpi(&two, key).unwrap(), kpi(&single, key).unwrap() + kpi(&rb, key).unwrap(), "{key}");
    }
    let months =
        |r: &Value| r["volume"].as_array().unwrap().iter().map(|m| m["created"].as_u64().unwrap()).collect::<Vec<_>>();
    let summed: Vec<u64> = months(&single).iter().zip(months(&rb)).map(|(x, y)| x + y).collect();
    assert_eq!(months(&two), summed);
    let mut hours: Vec<f64> = [&single, &rb]
        .iter()
        .flat_map(|r| r["approval_hours"].as_array().unwrap().iter().map(|h| h.as_f64().unwrap()))
        .collect();
    hours.sort_by(f64::total_cmp);
    assert_eq!(hours, [24.0, 48.0, 72.0, 96.0, 120.0]);
    assert_eq!(two["approval_hours"].as_array().unwrap().len(), 5);
    assert_eq!(kpi(&two, "approval_hours_median"), Some(72.0), "the median of all five");
    assert_ne!(kpi(&two, "approval_hours_median"), Some((36.0 + 96.0) / 2.0), "not the mean of the medians");
    assert_eq!(kpi(&two, "approval_hours_p90"), Some(120.0));
    assert_eq!(kpi(&two, "approval_hours_avg"), Some(72.0));
    // Assets: 2 + 3 distinct under active exceptions, of 50 + 50.
    assert_eq!(kpi(&two, "assets_excepted_pct"), Some(5.0));
    // Pending requests are named with their registry.
    let pending: Vec<String> = two["needs_action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{}:{}", a["registry"].as_str().unwrap(), a["id"].as_str().unwrap()))
        .collect();
    assert_eq!(pending, ["a:EXC-PEND", "b:EXC-PEND"]);
    let text = stdout(&fleet.exc(&["report", "--fleet", "two.yaml", "--as-of", AS_OF]).success());
    assert!(text.contains("across 2 registries (a, b)") && text.contains("b:EXC-PEND"), "{text}");
    assert!(text.contains("By registry:"), "{text}");
    // The dashboard and CSV carry the breakdown too.
    let html = stdout(&fleet.exc(&["report", "--fleet", "two.yaml", "--format", "html", "--as-of", AS_OF]).success());
    assert!(html.contains("<h2>By registry</h2>") && html.contains("a:EXC-PEND"), "the dashboard");
    let csv = stdout(&fleet.exc(&["report", "--fleet", "two.yaml", "--format", "csv", "--as-of", AS_OF]).success());
    assert!(csv.starts_with("registry,as_of,key,") && csv.contains("\nall,") && csv.contains("\nb,"), "{csv}");
}

#[test]
fn an_unreadable_registry_makes_the_run_partial_and_is_named() {
    let a = timed(&[("EXC-00A1", "2026-11-01", "2026-11-02")]);
    let fleet = Repo::new();
    let not_a_registry = tempfile::TempDir::new().unwrap();
    fleet.write(
        "fleet.yaml",
        format!(
            "registries:\n  - {{ name: a, path: {} }}\n  - {{ name: empty, path: {} }}\n  - {{ name: gone, git: \"file:///nonexistent/registry.git\" }}\n",
            path(&a),
            not_a_registry.path().display()
        ),
    );
    let (code, r) = report(&fleet, &["--fleet", "fleet.yaml"]);
    assert_eq!(code, 2, "partial");
    assert_eq!(r["partial"], true);
    let names: Vec<&str> =
        r["unreadable"].as_array().unwrap().iter().map(|u| u["registry"].as_str().unwrap()).collect();
    assert_eq!(names, ["empty", "gone"]);
    assert!(r["unreadable"][1]["error"].as_str().unwrap().contains("cannot fetch"), "{}", r["unreadable"][1]);
    let (_, alone) = report(&a, &[]);
    assert_eq!(r["records"], alone["records"], "what was read is reported as it is");
    let out = fleet.exc(&["report", "--fleet", "fleet.yaml", "--as-of", AS_OF]).code(2);
    let text = stdout(&out);
    assert!(text.starts_with("PARTIAL: 2 of 3 registries could not be read"), "{text}");
    assert!(text.contains("empty (") && text.contains("gone ("), "{text}");
    assert!(
        stderr(&out).contains("registry gone (file:///nonexistent/registry.git) could not be read"),
        "{}",
        stderr(&out)
    );
    let html = stdout(&fleet.exc(&["report", "--fleet", "fleet.yaml", "--format", "html", "--as-of", AS_OF]).code(2));
    assert!(
        html.contains("<div class=\"partial\">PARTIAL: 2 of 3 registries could not be read"),
        "the dashboard says so"
    );
    assert!(html.contains("could not be read: "), "and its table names each");
    for command in ["list", "remind"] {
        let out = fleet
            .cmd()
            .args([command, "--fleet", "fleet.yaml", "--format", "json", "--as-of", AS_OF])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (v["partial"].as_bool(), v["unreadable"].as_array().map(Vec::len)),
            (Some(true), Some(2)),
            "{command}"
        );
    }
}

#[test]
fn ids_repeat_across_registries_so_records_are_named_with_theirs() {
    let a = registry(POLICY);
    let b = registry("roles:\n  security: [priya@example.com]\ntrust: { signatures: off }\n");
    for reg in [&a, &b] {
        reg.write("exceptions/EXC-0001.yaml", crate::harness::VALID);
        commit(reg, "the same id");
    }
    let fleet = Repo::new();
    fleet.write("fleet.yaml", format!("registries: [{}, {}]\n", path(&a), url(&b)));
    let an = a.path().file_name().unwrap().to_string_lossy().into_owned();
    let bn = b.path().file_name().unwrap().to_string_lossy().into_owned();
    let text = stdout(&fleet.exc(&["list", "--fleet", "fleet.yaml", "--as-of", AS_OF]).success());
    assert!(text.contains(&format!("{an}:EXC-0001")) && text.contains(&format!("{bn}:EXC-0001")), "{text}");
    let v: Value = serde_json::from_str(&stdout(
        &fleet.exc(&["list", "--fleet", "fleet.yaml", "--format", "json", "--as-of", AS_OF]).success(),
    ))
    .unwrap();
    let regs: Vec<&str> = v["records"].as_array().unwrap().iter().map(|r| r["registry"].as_str().unwrap()).collect();
    assert_eq!(regs.len(), 2);
    assert!(regs.contains(&an.as_str()) && regs.contains(&bn.as_str()));
    let csv = stdout(&fleet.exc(&["list", "--fleet", "fleet.yaml", "--format", "csv", "--as-of", AS_OF]).success());
    assert!(csv.starts_with("registry,id,") && csv.contains(&format!(",{bn}:EXC-0001,")), "{csv}");
    // Reminders: the risk owner gets one group across registries; each role stays with its registry.
    let v: Value = serde_json::from_str(&stdout(
        &fleet.exc(&["remind", "--fleet", "fleet.yaml", "--format", "json", "--as-of", "2026-11-20"]).success(),
    ))
    .unwrap();
    let groups = v["groups"].as_array().unwrap();
    let roles: Vec<(&str, &str)> = groups
        .iter()
        .filter(|g| g["as"] == "role")
        .map(|g| (g["registry"].as_str().unwrap(), g["emails"][0].as_str().unwrap()))
        .collect();
    assert_eq!(roles.len(), 2, "{groups:?}");
    assert!(roles.contains(&(an.as_str(), "sam@example.com")) && roles.contains(&(bn.as_str(), "priya@example.com")));
    let text = stdout(&fleet.exc(&["remind", "--fleet", "fleet.yaml", "--as-of", "2026-11-20"]).success());
    assert!(text.contains(&format!("role security in {bn} (priya@example.com)")), "{text}");
    assert!(text.contains(&format!("{an}:EXC-0001")), "{text}");
}

const CMDB: &str = "sys_id,name,owner,business_unit,criticality,location\n\
1,crm-01,Lee,Sales,high,eu\n2,crm-02,Lee,Sales,low,eu\n3,pay-db-01,Kim,Payments,critical,us\n\
4,pay-gw-01,Kim,Payments,critical,us\n5,wiki-01,Ops,IT,low,eu\n";

#[test]
fn the_inventory_names_unknown_assets_and_counts_by_business_unit() {
    let reg = registry(&format!("{POLICY}assets: {{ inventory: cmdb.csv }}\n"));
    reg.write("cmdb.csv", CMDB);
    file(&reg, "EXC-0CRM", "other", "2026-11-01", Some("2026-11-02"), &["--asset", "crm-01"]);
    file(
        &reg,
        "EXC-0PAY",
        "other",
        "2026-11-01",
        Some("2026-11-02"),
        &["--asset", "PAY-DB-01", "--asset", "pay-gw-01"],
    );
    let out = reg
        .exc(&[
            "new",
            "--yes",
            "--id",
            "EXC-TYP0",
            "--as-of",
            "2026-11-01",
            "--type",
            "other",
            "--title",
            "t",
            "--justification",
            "j",
            "--risk-owner",
            DANA,
            "--expires",
            "2027-01-15",
            "--asset",
            "crm-1",
        ])
        .success();
    assert!(
        stderr(&out).contains("asset `crm-1` is not in the inventory (cmdb.csv); did you mean `crm-01`, `crm-02`?"),
        "{}",
        stderr(&out)
    );
    commit(&reg, "records");
    let out = reg.exc(&["check", "--format", "json", "--as-of", AS_OF]).success();
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let unknown: Vec<&Value> =
        v["findings"].as_array().unwrap().iter().filter(|f| f["code"] == "unknown-asset").collect();
    assert_eq!(unknown.len(), 1, "a warning: the gate passes");
    assert_eq!(
        (unknown[0]["path"].as_str(), unknown[0]["line"].as_u64()),
        (Some("exceptions/EXC-TYP0.yaml"), Some(12))
    );
    // The policy can make it an error.
    reg.write("exc.yaml", format!("{POLICY}assets: {{ inventory: cmdb.csv }}\nseverity: {{ unknown-asset: error }}\n"));
    reg.exc(&["check", "--as-of", AS_OF]).code(1);
    reg.write("exc.yaml", format!("{POLICY}assets: {{ inventory: cmdb.csv }}\n"));

    let (_, r) = report(&reg, &[]);
    assert_eq!(kpi(&r, "assets_excepted_pct"), Some(60.0), "3 of 5 inventory assets (names in any case)");
    let units: Vec<(String, u64, u64)> = r["assets_by_business_unit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().into(), s["excepted"].as_u64().unwrap(), s["total"].as_u64().unwrap()))
        .collect();
    assert_eq!(units, [("Payments".into(), 2, 2), ("Sales".into(), 1, 2), ("IT".into(), 0, 1)]);
    let critical = &r["assets_by_criticality"].as_array().unwrap()[0];
    assert_eq!((critical["name"].as_str(), critical["pct"].as_f64()), (Some("critical"), Some(100.0)));
    let text = stdout(&reg.exc(&["report", "--as-of", AS_OF]).success());
    assert!(text.contains("Assets excepted by business unit: Payments 2/2 (100.0 %) · Sales 1/2 (50.0 %)"), "{text}");

    // JSON and the old one-name-per-line file read the same names.
    reg.write("cmdb.json", r#"[{"name": "crm-01", "business_unit": "Sales"}, {"name": "pay-db-01"}, {"name": "pay-gw-01"}, {"name": "x"}]"#);
    reg.write("assets.txt", "# one per line\ncrm-01\npay-db-01\npay-gw-01\nx\n");
    for inventory in ["cmdb.json", "assets.txt"] {
        reg.write("exc.yaml", format!("{POLICY}assets: {{ inventory: {inventory} }}\n"));
        let (_, r) = report(&reg, &[]);
        assert_eq!(kpi(&r, "assets_excepted_pct"), Some(75.0), "{inventory}");
    }
    // Without an inventory, the typed total works as before.
    reg.write("exc.yaml", format!("{POLICY}assets: {{ total: 30 }}\n"));
    let (_, r) = report(&reg, &[]);
    assert_eq!(kpi(&r, "assets_excepted_pct"), Some(10.0), "PAY-DB-01, pay-gw-01, crm-01 of 30");
    assert!(r.get("assets_by_business_unit").is_none());
    reg.exc(&["check", "--as-of", AS_OF]).success();
}

#[test]
fn a_fleet_counts_its_assets_against_the_union_of_inventories() {
    let a = registry(&format!("{POLICY}assets: {{ inventory: cmdb.csv }}\n"));
    a.write("cmdb.csv", CMDB);
    file(&a, "EXC-0CRM", "other", "2026-11-01", Some("2026-11-02"), &["--asset", "crm-01"]);
    commit(&a, "a");
    let b = registry(&format!("{POLICY}assets: {{ inventory: hosts.json }}\n"));
    b.write("hosts.json", r#"[{"name": "pos-01", "business_unit": "Retail"}, {"name": "pos-02", "business_unit": "Retail"}, {"name": "crm-01", "business_unit": "Sales"}]"#);
    file(&b, "EXC-0P0S", "other", "2026-11-01", Some("2026-11-02"), &["--asset", "pos-01", "--asset", "crm-01"]);
    commit(&b, "b");
    let fleet = Repo::new();
    fleet.write(
        "fleet.yaml",
        format!("registries:\n  - {{ name: a, path: {} }}\n  - {{ name: b, path: {} }}\n", path(&a), path(&b)),
    );
    let (_, r) = report(&fleet, &["--fleet", "fleet.yaml"]);
    // 7 distinct assets; crm-01 and pos-01 excepted.
    assert_eq!(kpi(&r, "assets_excepted_pct").map(|v| (v * 10.0).round() / 10.0), Some(28.6));
    let retail = r["assets_by_business_unit"].as_array().unwrap().iter().find(|s| s["name"] == "Retail").unwrap();
    assert_eq!((retail["excepted"].as_u64(), retail["total"].as_u64()), (Some(1), Some(2)));
    // The fleet file's own inventory replaces the union.
    fleet.write("org.csv", "name,business_unit\ncrm-01,Sales\npos-01,Retail\nx-1,IT\nx-2,IT\n");
    fleet.write(
        "fleet.yaml",
        format!(
            "registries:\n  - {{ name: a, path: {} }}\n  - {{ name: b, path: {} }}\nassets: {{ inventory: org.csv }}\n",
            path(&a),
            path(&b)
        ),
    );
    let (_, r) = report(&fleet, &["--fleet", "fleet.yaml"]);
    assert_eq!(kpi(&r, "assets_excepted_pct"), Some(50.0));
}

/// Reading a registry in place or fetched, the cached copy lives under the cache folder.
#[test]
fn a_fetched_registry_is_cached_per_url_and_ref() {
    let central = central();
    let app = application("payments-api", &[("app/main.py", EVAL)]);
    let cache = tempfile::TempDir::new().unwrap();
    let run = |rev: &str| {
        let out = app
            .cmd()
            .args(["reconcile", "--registry", &url(&central), "--ref", rev, "--as-of", AS_OF])
            .env("EXC_CACHE_DIR", cache.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    };
    run("main");
    run("main");
    central.git(&["tag", "v1"]);
    run("v1");
    let copies: Vec<String> = std::fs::read_dir(cache.path().join("registries"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    assert_eq!(copies.len(), 2, "{copies:?}");
    let copy = cache.path().join("registries").join(&copies[0]);
    assert!(Path::new(&copy).join("exc.yaml").is_file());
    let shallow = std::process::Command::new("git")
        .args(["rev-parse", "--is-shallow-repository"])
        .current_dir(&copy)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&shallow.stdout).trim(), "true");
}

/// Only what the registry's own keys signed counts: a record whose file says
/// approved, with an approval nobody signed, governs nothing anywhere.
#[test]
fn an_unsigned_approval_in_the_central_registry_governs_nothing() {
    let central = registry("roles:\n  security: [sam@example.com]\n");
    let forged = crate::harness::VALID.replace("status: requested", "status: approved").replace(
        "compensating_controls:\n  - Office IP allow-list\n",
        &format!(
            "compensating_controls:\n  - Office IP allow-list\nfindings:\n  - B307\napprovals:\n  - by: {SAM}\n    role: security\n    at: \"2026-11-02T09:00:00Z\"\n    decision: approved\n    risk: high\n    digest: sha256:{}\n    expires: \"2027-01-15\"\n",
            "0".repeat(64)
        ),
    );
    central.write("exceptions/EXC-0001.yaml", forged);
    commit(&central, "an approval nobody signed");
    let app = application("crm", &[("app/main.py", "x = eval(y)  # nosec B307 EXC-0001\n")]);
    let (code, found, _) = reconcile(&app, &["--registry", &url(&central)]);
    assert_eq!(code, 1);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "expired-suppression");
    assert!(found[0].3.contains("EXC-0001 is requested"), "{}", found[0].3);
}
