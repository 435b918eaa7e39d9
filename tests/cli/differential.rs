//! exc and check-jsonschema (what pre-commit runs) read the same records the
//! same way: several hundred mutations of one valid record (YAML scalars,
//! dates and formats, structure, unicode, line ends) are checked by both
//! against the same schema, and their verdicts must agree, except on the
//! short list of deliberate differences below (each also in docs/design.md).

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::harness::Repo;

const BASE: &str = "\
id: EXC-0001
title: Defer the OpenSSL patch
type: other
status: requested
requester: Ann Lee <ann@example.com>
risk_owner: Dana Ops <dana@example.com>
created: \"2026-11-01T09:00:00Z\"
expires: \"2027-01-15\"
justification: Vendor certification pending
assets:
  - web-01
compensating_controls:
  - WAF rule
tickets:
  - SEC-1
findings:
  - CVE-2026-0001
notes: Reviewed weekly
";

/// Where exc is stricter than YAML or the schema on purpose, or a validator
/// reads YAML other than YAML 1.2 says: (mutation name prefix, why).
const DELIBERATE: &[(&str, &str)] = &[
    (
        "tag-",
        "exc refuses YAML tags (`!!str 0123`): a reviewer should never have to decode a value; ruamel.yaml applies them",
    ),
    ("line-ends-cr-only", "exc refuses a lone CR as a line break: git and diffs do not show it as one"),
    ("encoding-utf16", "exc reads UTF-8 only, and says the file is UTF-16; check-jsonschema decodes it"),
    (
        "date-created-leap-second",
        "RFC 3339 allows a leap second (23:59:60); check-jsonschema's date-time check refuses it",
    ),
];

/// The mutations: (name, file text).
fn mutations() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let set = |field: &str, value: &str| -> String {
        BASE.lines()
            .map(|l| if l.starts_with(&format!("{field}:")) { format!("{field}: {value}") } else { l.to_string() })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    let item = |list: &str, value: &str| -> String {
        let mut lines: Vec<String> = Vec::new();
        let mut in_list = false;
        for l in BASE.lines() {
            if in_list && l.starts_with("  - ") {
                lines.push(format!("  - {value}"));
                in_list = false;
                continue;
            }
            in_list = l == format!("{list}:");
            lines.push(l.to_string());
        }
        lines.join("\n") + "\n"
    };
    let scalars = [
        "0123",
        "007",
        "08",
        "0b101",
        "0o17",
        "0x1F",
        "1_000",
        "+12",
        "-0",
        "1.5",
        "1e3",
        ".inf",
        "-.inf",
        ".nan",
        "1.",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "True",
        "TRUE",
        "tRue",
        "false",
        "null",
        "Null",
        "NULL",
        "~",
        "",
        "2026-01-01",
        "12:30",
        "1:2:3",
        "0.5e",
        "'0123'",
        "\"0123\"",
        "'yes'",
        "\"null\"",
        "\"a: b\"",
        "'it''s'",
        "plain text",
        "caf\u{e9} \u{4e2d}\u{6587} \u{1f600}",
        "\"tab\\there\"",
        "\"line\\nbreak\"",
        "' leading space'",
        "'trailing space '",
        "x # a comment",
        "\"\"",
        "''",
        "[a, b]",
        "{a: b}",
        "- a",
        "&anchor value",
        "'#not a comment'",
        "@at",
        "`tick",
        "%percent",
        "\"\\u00e9\"",
        "\"\\x41\"",
        "a\u{3000}b",
        "\"\\u202e\"",
    ];
    for (i, s) in scalars.iter().enumerate() {
        out.push((format!("scalar-title-{i:02}"), set("title", s)));
        out.push((format!("scalar-asset-{i:02}"), item("assets", s)));
        out.push((format!("scalar-ticket-{i:02}"), item("tickets", s)));
        out.push((format!("scalar-notes-{i:02}"), set("notes", s)));
    }
    let long = "x".repeat(501);
    out.push(("length-title-501".into(), set("title", &long)));
    out.push(("length-title-500".into(), set("title", &"x".repeat(500))));
    let created = [
        "2026-11-01T09:00:00Z",
        "2026-11-01t09:00:00z",
        "2026-11-01 09:00:00Z",
        "2026-11-01T09:00:00+01:00",
        "2026-11-01T09:00:00.123Z",
        "2026-11-01T09:00:00",
        "2026-11-01",
        "2026-02-30T09:00:00Z",
        "2026-1-1T09:00:00Z",
        "20261101T090000Z",
        "2026-11-01T25:00:00Z",
        "2026-11-01T09:60:00Z",
        "2026-11-01T09:00:00-00:00",
        "'2026-11-01T09:00:00Z'",
        "2026-11-01T09:00:00.000000001Z",
        "1985-04-12T23:20:50.52Z",
        "2026-11-01T09:00Z",
        "2016-12-31T23:59:60Z",
    ];
    for (i, c) in created.iter().enumerate() {
        let leap = c.ends_with(":60Z");
        let name = if leap { "date-created-leap-second".to_string() } else { format!("date-created-{i:02}") };
        let mut text = set("created", c);
        if leap {
            // Long past: the expiry moves before now too, so only the format differs.
            text = text.replace("expires: \"2027-01-15\"", "expires: \"2017-01-15\"");
        }
        out.push((name, text));
    }
    let expires = [
        "2027-01-15",
        "'2027-01-15'",
        "2027-1-15",
        "2027-02-29",
        "2028-02-29",
        "2027-01-15T00:00:00Z",
        "27-01-15",
        "2027-13-01",
        "2027-01-32",
        "2027-00-10",
        "\"2027-01-15 \"",
        "+2027-01-15",
    ];
    for (i, e) in expires.iter().enumerate() {
        out.push((format!("date-expires-{i:02}"), set("expires", e)));
    }
    let replace = |from: &str, to: &str| BASE.replacen(from, to, 1);
    let structure = [
        ("unknown-field", replace("notes:", "note:")),
        ("missing-title", replace("title: Defer the OpenSSL patch\n", "")),
        ("missing-assets", replace("assets:\n  - web-01\n", "")),
        ("assets-string", replace("assets:\n  - web-01\n", "assets: web-01\n")),
        ("assets-empty", replace("assets:\n  - web-01\n", "assets: []\n")),
        ("assets-flow", replace("assets:\n  - web-01\n", "assets: [web-01, db-01]\n")),
        ("assets-flow-multiline", replace("assets:\n  - web-01\n", "assets: [\n  web-01,\n  db-01\n]\n")),
        ("assets-null-item", replace("  - web-01\n", "  -\n")),
        ("assets-nested", replace("  - web-01\n", "  - [a]\n")),
        ("status-enum", replace("status: requested", "status: pending")),
        ("status-quoted", replace("status: requested", "status: 'requested'")),
        ("type-pattern", replace("type: other", "type: Other Type")),
        ("urgency-urgent", replace("notes:", "urgency: urgent\nnotes:")),
        ("urgency-bad", replace("notes:", "urgency: asap\nnotes:")),
        (
            "block-literal",
            replace("justification: Vendor certification pending", "justification: |\n  Vendor\n  pending"),
        ),
        (
            "block-folded",
            replace("justification: Vendor certification pending", "justification: >\n  Vendor\n  pending"),
        ),
        ("block-strip", replace("justification: Vendor certification pending", "justification: |-\n  Vendor")),
        ("block-keep", replace("justification: Vendor certification pending", "justification: >+\n  Vendor\n\n")),
        ("block-title", replace("title: Defer the OpenSSL patch", "title: >-\n  Defer the\n  OpenSSL patch")),
        ("block-title-clip", replace("title: Defer the OpenSSL patch", "title: >\n  Defer the OpenSSL patch")),
        ("block-at-eof", BASE.replace("notes: Reviewed weekly\n", "notes: |\n  Reviewed weekly")),
        (
            "block-title-at-eof",
            BASE.replace("title: Defer the OpenSSL patch\n", "")
                .replace("notes: Reviewed weekly\n", "notes: x\ntitle: |\n  Defer"),
        ),
        ("comments", replace("title:", "# a comment\ntitle:").replace("assets:", "assets: # inline")),
        ("blank-lines", replace("title:", "\n\n\ntitle:")),
        (
            "anchor-alias",
            replace("tickets:\n  - SEC-1\n", "tickets: &t\n  - SEC-1\n")
                .replace("findings:\n  - CVE-2026-0001\n", "findings: *t\n"),
        ),
        ("merge-key", replace("notes: Reviewed weekly\n", "base: &b {x: 1}\nnotes: Reviewed weekly\n")),
        ("merge-key-used", format!("{BASE}extra:\n  <<: {{a: b}}\n")),
        ("duplicate-key", format!("{BASE}title: again\n")),
        ("tag-binary", replace("  - web-01", "  - !!binary d2ViLTAx")),
        ("tag-str", replace("title: Defer the OpenSSL patch", "title: !!str 0123")),
        ("tag-local", replace("title: Defer the OpenSSL patch", "title: !x text")),
        ("document-marker", format!("---\n{BASE}")),
        ("document-end", format!("{BASE}...\n")),
        ("two-documents", format!("{BASE}---\n{BASE}")),
        ("tab-indent", replace("  - web-01", "\t- web-01")),
        ("tab-after-colon", replace("title: Defer", "title:\tDefer")),
        (
            "flow-mapping-record",
            "{id: EXC-0001, title: t, type: other, status: requested, requester: 'Ann Lee <ann@example.com>', risk_owner: 'Dana Ops <dana@example.com>', created: '2026-11-01T09:00:00Z', expires: '2027-01-15', justification: j, assets: [a]}\n".to_string(),
        ),
        ("top-level-list", "- a\n".into()),
        ("top-level-scalar", "just text\n".into()),
        ("empty-file", "".into()),
        ("only-comment", "# nothing\n".into()),
        (
            "finding-scoped",
            replace("  - CVE-2026-0001", "  - id: CVE-2026-0001\n    purl: pkg:npm/lodash@4.17.20\n    path: app/**"),
        ),
        (
            "finding-scoped-flow",
            replace("  - CVE-2026-0001", "  - {id: CVE-2026-0001, package: lodash, version: 4.17.20}"),
        ),
        ("finding-scoped-unknown", replace("  - CVE-2026-0001", "  - {id: CVE-2026-0001, flavour: x}")),
        ("finding-scoped-no-id", replace("  - CVE-2026-0001", "  - {purl: pkg:npm/x@1}")),
        ("finding-bad-purl", replace("  - CVE-2026-0001", "  - {id: CVE-2026-0001, purl: npm/x@1}")),
        ("finding-bad-id", replace("  - CVE-2026-0001", "  - 'CVE 2026'")),
        ("requester-number", replace("requester: Ann Lee <ann@example.com>", "requester: 12")),
        ("notes-null", replace("notes: Reviewed weekly", "notes:")),
        ("notes-multiline-quoted", replace("notes: Reviewed weekly", "notes: \"line one\n  line two\"")),
        ("approvals-empty", format!("{BASE}approvals: []\n")),
        ("approval-partial", format!("{BASE}approvals:\n  - by: Sam <sam@example.com>\n    role: security\n")),
        ("line-ends-crlf", BASE.replace('\n', "\r\n")),
        ("line-ends-cr-only", BASE.replace('\n', "\r")),
        ("bom", format!("\u{feff}{BASE}")),
        ("nbsp-in-title", replace("Defer the", "Defer\u{a0}the")),
        ("control-in-title", replace("Defer the", "Defer\u{7}the")),
        ("del-in-title", replace("Defer the", "Defer\u{7f}the")),
        ("nel-in-title", replace("Defer the", "Defer\u{85}the")),
        ("long-key", format!("{BASE}{}: x\n", "k".repeat(1100))),
        ("deep-nesting", format!("{BASE}deep: {}{}\n", "[".repeat(40), "]".repeat(40))),
    ];
    for (name, text) in structure {
        out.push((name.to_string(), text));
    }
    out
}

/// Files that a tool calls invalid, by file name.
fn exc_verdicts(repo: &Repo, files: &[String]) -> BTreeMap<String, bool> {
    let out = repo.cmd().arg("validate").arg("--format").arg("json").args(files).output().unwrap();
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let mut invalid: BTreeMap<String, bool> = files.iter().map(|f| (f.clone(), false)).collect();
    for f in v["findings"].as_array().unwrap() {
        let code = f["code"].as_str().unwrap();
        if ["schema", "unknown-field", "yaml-syntax", "unreadable", "invalid-date"].contains(&code) {
            let path = f["path"].as_str().unwrap();
            let name = path.rsplit('/').next().unwrap().to_string();
            invalid.insert(name, true);
        }
    }
    invalid
}

fn cjs_verdicts(cjs: &std::path::Path, repo: &Repo, files: &[String]) -> BTreeMap<String, bool> {
    let out = Command::new(cjs)
        .args(["--schemafile", "schema/exception.schema.json", "--output-format", "json"])
        .args(files)
        .current_dir(repo.path())
        .output()
        .unwrap();
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let mut invalid: BTreeMap<String, bool> = files.iter().map(|f| (f.clone(), false)).collect();
    for e in v["errors"].as_array().into_iter().flatten().chain(v["parse_errors"].as_array().into_iter().flatten()) {
        let name = e["filename"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
        invalid.insert(name, true);
    }
    invalid
}

#[test]
fn exc_and_check_jsonschema_agree_on_hundreds_of_mutated_records() {
    let Some(cjs) = crate::consumers::consumer("check-jsonschema") else { return };
    let repo = Repo::init();
    repo.write("exc.yaml", "trust: { signatures: off }\n");
    let mutations = mutations();
    assert!(mutations.len() >= 300, "{} mutations", mutations.len());
    let mut files = Vec::new();
    let mut names = BTreeMap::new();
    for (i, (name, text)) in mutations.iter().enumerate() {
        let file = format!("m{i:03}.yaml");
        repo.write(&file, text);
        names.insert(file.clone(), name.clone());
        files.push(file);
    }
    // A UTF-16 file, with its byte-order mark.
    let utf16: Vec<u8> = [0xff, 0xfe].into_iter().chain(BASE.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    repo.write("m999.yaml", utf16);
    names.insert("m999.yaml".into(), "encoding-utf16".into());
    files.push("m999.yaml".into());
    let exc = exc_verdicts(&repo, &files);
    let cjs = cjs_verdicts(&cjs, &repo, &files);
    let mut disagree = Vec::new();
    let mut deliberate = 0;
    for file in &files {
        let name = &names[file];
        if exc[file] == cjs[file] {
            continue;
        }
        if DELIBERATE.iter().any(|(prefix, _)| name.starts_with(prefix)) {
            deliberate += 1;
            eprintln!("differs on purpose: {name}");
            continue;
        }
        disagree.push(format!(
            "{name} ({file}): exc says {}, check-jsonschema says {}",
            if exc[file] { "invalid" } else { "valid" },
            if cjs[file] { "invalid" } else { "valid" }
        ));
    }
    assert!(disagree.is_empty(), "{} disagreement(s):\n{}", disagree.len(), disagree.join("\n"));
    eprintln!("{} mutations agree; {deliberate} differ on purpose", files.len() - deliberate);
}
