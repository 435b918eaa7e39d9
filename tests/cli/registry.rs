//! init, new (flags), validate, list, show, and the exit codes.

use serde_json::Value;

use crate::harness::{Repo, VALID, stderr, stdout};

fn new_vendor(repo: &Repo, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec![
        "new",
        "--yes",
        "--type",
        "vendor-access",
        "--title",
        "Acme support VPN",
        "--justification",
        "Vendor must patch the SAN; no IAM account yet",
        "--risk-owner",
        "Dana Ops <dana@example.com>",
        "--asset",
        "san-01",
        "--compensating-control",
        "Session recorded",
        "--as-of",
        "2026-11-27",
    ];
    args.extend_from_slice(extra);
    repo.exc(&args)
}

#[test]
fn init_creates_the_registry_once() {
    let repo = Repo::new();
    let out = repo.exc(&["init"]).success();
    assert!(stdout(&out).contains("created exc.yaml"));
    for f in ["exc.yaml", "exceptions/.gitkeep", "schema/exception.schema.json", "schema/policy.schema.json"] {
        assert!(repo.path().join(f).exists(), "{f} missing");
    }
    repo.write("exc.yaml", "roles: { security: [sec@example.com] }\n");
    let again = repo.exc(&["init"]).success();
    assert!(stdout(&again).contains("nothing changed"), "{}", stdout(&again));
    assert_eq!(repo.read("exc.yaml"), "roles: { security: [sec@example.com] }\n", "init overwrote exc.yaml");
}

#[test]
fn new_with_flags_writes_a_valid_record() {
    let repo = Repo::init();
    let out = new_vendor(&repo, &["--expires", "14d", "--format", "json"]).success();
    let created: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("EXC-") && id.len() == 8, "{id}");
    assert_eq!(created["status"], "requested");
    assert_eq!(created["risk"], "medium");
    assert_eq!(created["expires"], "2026-12-11");
    assert_eq!(created["approvals_needed"][0]["role"], "security");

    let text = repo.read(&format!("exceptions/{id}.yaml"));
    assert!(text.starts_with("# yaml-language-server: $schema=../schema/exception.schema.json\n"));
    assert!(text.contains("requester: Ann Lee <ann@example.com>"), "{text}");
    assert!(text.contains("created: \"2026-11-27T00:00:00Z\""), "{text}");
    assert!(text.contains("  - NIST-800-53:AC-2"), "type's default controls: {text}");
    repo.exc(&["validate"]).success();

    let list = repo.exc(&["list", "--as-of", "2026-11-27"]).success();
    assert!(stdout(&list).contains(id));
    assert!(stdout(&list).contains("Acme support VPN"));
}

#[test]
fn new_text_output_names_the_next_step_and_approvers() {
    let repo = Repo::init();
    repo.write("exc.yaml", "roles: { security: [sec@example.com], ciso: [] }\n");
    let out = new_vendor(&repo, &[]).success();
    let text = stdout(&out);
    assert!(text.contains("Needs approval (medium risk)"), "{text}");
    assert!(text.contains("security: sec@example.com"), "{text}");
    assert!(text.contains("open a pull request"), "{text}");
}

#[test]
fn new_defaults_expiry_to_the_type_cap_and_refuses_beyond_it() {
    let repo = Repo::init();
    let out = new_vendor(&repo, &["--format", "json"]).success();
    let created: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(created["expires"], "2026-12-27", "vendor-access caps at 30 days");

    let over = new_vendor(&repo, &["--expires", "2027-06-01"]).code(2);
    assert!(stderr(&over).contains("allows at most 30 days"), "{}", stderr(&over));
    assert_eq!(repo.records().len(), 1, "a refused request wrote a file");
}

#[test]
fn new_without_a_terminal_never_hangs_and_names_missing_flags() {
    let repo = Repo::init();
    let out = repo.exc(&["new", "--type", "vendor-access"]).code(2);
    let err = stderr(&out);
    assert!(err.contains("--title") && err.contains("--asset") && err.contains("--risk-owner"), "{err}");

    let no_yes = repo
        .exc(&[
            "new",
            "--type",
            "other",
            "--title",
            "t",
            "--justification",
            "j",
            "--risk-owner",
            "D <d@example.com>",
            "--asset",
            "a",
        ])
        .code(2);
    assert!(stderr(&no_yes).contains("--yes"), "{}", stderr(&no_yes));

    let needs_findings = repo
        .exc(&[
            "new",
            "--yes",
            "--type",
            "vulnerability-deferral",
            "--title",
            "t",
            "--justification",
            "j",
            "--risk-owner",
            "D <d@example.com>",
            "--asset",
            "a",
        ])
        .code(2);
    assert!(stderr(&needs_findings).contains("--finding"), "{}", stderr(&needs_findings));
    assert!(repo.records().is_empty());
}

#[test]
fn new_rejects_bad_values_with_the_validate_messages() {
    let repo = Repo::init();
    let filed = |owner: &str, finding: &str| {
        repo.exc(&[
            "new",
            "--yes",
            "--type",
            "other",
            "--title",
            "t",
            "--justification",
            "j",
            "--risk-owner",
            owner,
            "--asset",
            "a",
            "--compensating-control",
            "c",
            "--finding",
            finding,
        ])
    };
    let bad_owner = filed("dana", "CVE-2026-12345").code(2);
    assert!(stderr(&bad_owner).contains("is not a person in the form 'Name <"), "{}", stderr(&bad_owner));
    // An email without a top-level domain, and advisory ids in no database's form.
    let no_tld = filed("Leo Marsh <leo.marsh@example>", "CVE-2026-12345").code(2);
    assert!(stderr(&no_tld).contains("error[schema]: `risk_owner`"), "{}", stderr(&no_tld));
    for bad in ["CVE-2026-1", "cve-2026-12345", "GHSA-aaaa-bbbb-cccc", "RUSTSEC-2026-1"] {
        let out = filed("Leo Marsh <leo.marsh@example.com>", bad).code(2);
        // Refused where it is typed, as the form refuses it.
        assert!(
            stderr(&out).contains(&format!("for '--finding <ID [KEY=VALUE…]>': `{bad}` is not a")),
            "{}",
            stderr(&out)
        );
    }
    assert!(repo.records().is_empty(), "{:?}", repo.records());
    let bad_type = repo
        .exc(&[
            "new",
            "--yes",
            "--type",
            "vendor-acess",
            "--title",
            "t",
            "--justification",
            "j",
            "--risk-owner",
            "D <d@example.com>",
            "--asset",
            "a",
        ])
        .code(2);
    assert!(stderr(&bad_type).contains("unknown type `vendor-acess`"), "{}", stderr(&bad_type));
    assert!(repo.records().is_empty());
}

#[test]
fn new_takes_identity_from_git_or_refuses() {
    let repo = Repo::init();
    repo.git(&["config", "--unset", "user.email"]);
    let out = new_vendor(&repo, &[]).code(2);
    assert!(stderr(&out).contains("git config user.email"), "{}", stderr(&out));
    new_vendor(&repo, &["--requester", "Bo Chen <bo@example.com>"]).success();
}

#[test]
fn low_risk_is_approved_on_submit_by_policy() {
    let repo = Repo::init();
    repo.write("exc.yaml", "types:\n  test-tooling: { title: Test tooling, default_risk: low, max_days: 60 }\n");
    let out = repo
        .exc(&[
            "new",
            "--yes",
            "--type",
            "test-tooling",
            "--title",
            "Debug port on staging",
            "--justification",
            "j",
            "--risk-owner",
            "D <d@example.com>",
            "--asset",
            "stg-01",
            "--format",
            "json",
        ])
        .success();
    let created: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(created["status"], "approved");
    let id = created["id"].as_str().unwrap();
    let text = repo.read(&format!("exceptions/{id}.yaml"));
    assert!(text.contains("by: policy") && text.contains("digest: sha256:"), "{text}");
    repo.exc(&["validate"]).success();
}

#[test]
fn ids_given_twice_are_refused() {
    let repo = Repo::init();
    new_vendor(&repo, &["--id", "EXC-0042"]).success();
    let again = new_vendor(&repo, &["--id", "EXC-0042"]).code(2);
    assert!(stderr(&again).contains("already taken"), "{}", stderr(&again));
    let bad = new_vendor(&repo, &["--id", "../../etc"]).code(2);
    assert!(stderr(&bad).contains("id"), "{}", stderr(&bad));
}

#[test]
fn validate_exit_codes() {
    let repo = Repo::init();
    let ok = repo.exc(&["validate"]).success();
    assert!(stdout(&ok).contains("0 record(s) checked: all valid"));
    repo.write("exceptions/EXC-0001.yaml", VALID);
    repo.exc(&["validate"]).code(0);
    repo.write("exceptions/EXC-0002.yaml", VALID.replace("EXC-0001", "EXC-0002").replace("title: ", "titel: "));
    let bad = repo.exc(&["validate"]).code(1);
    assert!(stdout(&bad).contains("2 error(s) in 1 file(s), 1 valid"), "{}", stdout(&bad));
    repo.write("exc.yaml", "risk: { medium: { approvers: [secruity] } }\n");
    let broken = repo.exc(&["validate"]).code(2);
    assert!(stderr(&broken).contains("exc.yaml:1:"), "{}", stderr(&broken));
    assert!(stderr(&broken).contains("unknown role `secruity`"), "{}", stderr(&broken));
}

#[test]
fn validate_named_files_only_but_checks_ids_against_all() {
    let repo = Repo::init();
    repo.write("exceptions/EXC-0001.yaml", VALID);
    repo.write("exceptions/EXC-0002.yaml", VALID.replace("title: MFA", "titel: MFA").replace("EXC-0001", "EXC-0002"));
    let one = repo.exc(&["validate", "exceptions/EXC-0001.yaml"]).success();
    assert!(stdout(&one).contains("1 record(s) checked: all valid"), "{}", stdout(&one));
    repo.write("exceptions/EXC-0003.yml", VALID);
    let dup = repo.exc(&["validate", "exceptions/EXC-0003.yml"]).code(1);
    assert!(stdout(&dup).contains("also used by exceptions/EXC-0001.yaml"), "{}", stdout(&dup));
    repo.exc(&["validate", "exceptions/nope.yaml"]).code(2);
}

#[test]
fn validate_json_is_machine_readable() {
    let repo = Repo::init();
    repo.write("exceptions/EXC-0001.yaml", VALID.replace("expires: \"2027-01-15\"", "expires: \"2026-02-30\""));
    let out = repo.exc(&["validate", "--format", "json"]).code(1);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["errors"], 1);
    assert_eq!(v["findings"][0]["code"], "invalid-date");
    assert_eq!(v["findings"][0]["path"], "exceptions/EXC-0001.yaml");
    assert_eq!(v["findings"][0]["line"], 9);
}

fn three_records(repo: &Repo) {
    repo.write("exceptions/EXC-0001.yaml", VALID);
    repo.write(
        "exceptions/EXC-0002.yaml",
        VALID
            .replace("EXC-0001", "EXC-0002")
            .replace("type: mfa-bypass", "type: firewall-rule")
            .replace("Dana Ops <dana@example.com>", "Eve Net <eve@example.com>")
            .replace("expires: \"2027-01-15\"", "expires: \"2026-12-10\""),
    );
    repo.write(
        "exceptions/EXC-0003.yaml",
        VALID.replace("EXC-0001", "EXC-0003").replace("title: MFA bypass", "title: =HYPERLINK(\"x\") MFA").replace(
            "status: requested",
            "status: rejected\nclosed: { at: \"2026-11-02T00:00:00Z\", by: Sam Sec <sam@example.com>, reason: No }",
        ),
    );
}

#[test]
fn list_filters() {
    let repo = Repo::init();
    three_records(&repo);
    let ids = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["list", "--format", "json", "--as-of", "2026-11-27"];
        a.extend_from_slice(args);
        let out = repo.exc(&a).success();
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        v.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(&[]), ["EXC-0002", "EXC-0001", "EXC-0003"], "sorted by expiry");
    assert_eq!(ids(&["--status", "rejected"]), ["EXC-0003"]);
    assert_eq!(ids(&["--status", "requested,rejected", "--type", "mfa-bypass"]), ["EXC-0001", "EXC-0003"]);
    assert_eq!(ids(&["--owner", "eve@example.com"]), ["EXC-0002"]);
    assert_eq!(ids(&["--owner", "dana"]), ["EXC-0001", "EXC-0003"]);
    assert!(ids(&["--expiring-within", "30d"]).is_empty(), "only approved records expire");
    repo.exc(&["list", "--status", "bogus"]).code(2);
}

#[test]
fn list_expiring_within_counts_from_as_of() {
    let repo = Repo::init();
    repo.write("exc.yaml", "roles: { security: [sam@example.com] }\ntrust: { signatures: off }\n");
    repo.write("exceptions/EXC-0001.yaml", VALID.replace("type: mfa-bypass", "type: other"));
    repo.exc(&["approve", "EXC-0001", "--by", "Sam <sam@example.com>", "--as-of", "2026-11-02"]).success();
    let count = |as_of: &str, span: &str| {
        let out = repo.exc(&["list", "--format", "json", "--as-of", as_of, "--expiring-within", span]).success();
        serde_json::from_str::<Value>(&stdout(&out)).unwrap().as_array().unwrap().len()
    };
    assert_eq!(count("2026-12-16", "30d"), 1, "expires 2027-01-15, exactly 30 days later");
    assert_eq!(count("2026-12-15", "30d"), 0);
    assert_eq!(count("2027-01-16", "30d"), 0, "already past expiry");
}

#[test]
fn list_csv_neutralises_formulas() {
    let repo = Repo::init();
    three_records(&repo);
    let out = repo.exc(&["list", "--format", "csv"]).success();
    let text = stdout(&out);
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3);
    let title = rows.iter().find(|r| &r[0] == "EXC-0003").unwrap()[4].to_string();
    assert!(title.starts_with("'="), "{title}");
}

#[test]
fn show_formats_and_unknown_ids() {
    let repo = Repo::init();
    three_records(&repo);
    let text = repo.exc(&["show", "exc-0001", "--as-of", "2026-11-27"]).success();
    let t = stdout(&text);
    assert!(t.contains("EXC-0001  MFA bypass for the legacy CRM"), "{t}");
    assert!(t.contains("49 days left"), "{t}");
    assert!(t.contains("awaiting approval      security, risk_owner"), "{t}");
    let json: Value =
        serde_json::from_str(&stdout(&repo.exc(&["show", "EXC-0001", "--format", "json"]).success())).unwrap();
    assert_eq!(json["risk_owner"], "Dana Ops <dana@example.com>");
    assert_eq!(json["effective_risk"], "high");
    let yaml = stdout(&repo.exc(&["show", "EXC-0001", "--format", "yaml"]).success());
    assert!(
        yaml.starts_with("# yaml-language-server: $schema=../schema/exception.schema.json\nid: EXC-0001\n"),
        "{yaml}"
    );
    let missing = repo.exc(&["show", "EXC-9999"]).code(2);
    assert!(stderr(&missing).contains("no exception `EXC-9999`"));
    repo.exc(&["show", "../exc"]).code(2);
    repo.exc(&["show", "EXC-0001", "--format", "csv"]).code(2);
}

#[test]
fn registry_is_found_by_dir_env_or_parents() {
    let repo = Repo::init();
    repo.write("exceptions/EXC-0001.yaml", VALID);
    std::fs::create_dir_all(repo.path().join("deep/er")).unwrap();
    let mut c = repo.cmd();
    c.current_dir(repo.path().join("deep/er")).args(["list", "--format", "json"]);
    let out = assert_cmd::assert::OutputAssertExt::assert(&mut c).success();
    assert!(stdout(&out).contains("EXC-0001"));

    let elsewhere = tempfile::TempDir::new().unwrap();
    let mut c = repo.cmd();
    c.current_dir(elsewhere.path()).args(["list"]);
    let none = assert_cmd::assert::OutputAssertExt::assert(&mut c).code(2);
    assert!(stderr(&none).contains("exc init"), "{}", stderr(&none));

    let mut c = repo.cmd();
    c.current_dir(elsewhere.path()).env("EXC_DIR", repo.path()).args(["list", "--format", "json"]);
    assert!(stdout(&assert_cmd::assert::OutputAssertExt::assert(&mut c).success()).contains("EXC-0001"));

    let mut c = repo.cmd();
    c.current_dir(elsewhere.path()).args(["--dir", repo.path().to_str().unwrap(), "validate"]);
    assert_cmd::assert::OutputAssertExt::assert(&mut c).success();
}

#[test]
fn no_color_means_no_escapes() {
    let repo = Repo::init();
    repo.write("exceptions/EXC-0001.yaml", VALID.replace("title: ", "titel: "));
    let out = repo.exc(&["validate"]).code(1);
    assert!(!stdout(&out).contains('\x1b'));
    let forced = repo.exc(&["validate", "--color", "always"]).code(1);
    assert!(stdout(&forced).contains('\x1b'));
}

#[test]
fn terminal_output_escapes_control_characters() {
    let repo = Repo::init();
    let evil = VALID
        .replace("title: MFA bypass for the legacy CRM", "title: \"evil\\e[2Jtitle\"")
        .replace("justification: Legacy", "justification: \"\\rLegacy\\e]0;pwned\\a\"\nnotes: x");
    repo.write("exceptions/EXC-0001.yaml", evil);
    repo.exc(&["validate"]).success();
    let out = stdout(&repo.exc(&["list"]).success());
    assert!(!out.contains('\x1b'), "{out:?}");
    assert!(out.contains("evil\\u{1b}[2Jtitle"), "{out}");
    let show = stdout(&repo.exc(&["show", "EXC-0001"]).success());
    assert!(!show.contains('\x1b') && !show.contains('\r') && !show.contains('\x07'), "{show:?}");
    assert!(show.contains("\\rLegacy\\u{1b}]0;pwned\\u{7}"), "{show}");
}

#[test]
fn help_has_examples_and_completions_work() {
    let repo = Repo::new();
    let help = stdout(&repo.exc(&["--help"]).success());
    assert!(help.contains("Examples:") && help.contains("Exit codes:"), "{help}");
    for cmd in ["init", "new", "validate", "list", "show"] {
        let h = stdout(&repo.exc(&[cmd, "--help"]).success());
        assert!(h.contains("Examples:"), "{cmd} --help has no examples");
    }
    let bash = stdout(&repo.exc(&["completions", "bash"]).success());
    assert!(bash.contains("_exc()"), "{bash}");
    let schema: Value = serde_json::from_str(&stdout(&repo.exc(&["schema"]).success())).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    repo.exc(&["bogus"]).code(2);
}
