//! One test per kind of bad record: each gets `path:line:col: message`, exit 1, no panic.

use crate::harness::{Repo, VALID, stdout};

/// Writes `content` as the only record and returns validate's output (exit 1 expected).
fn validate_bad(content: impl AsRef<[u8]>) -> String {
    let repo = Repo::init();
    repo.write("exceptions/EXC-0001.yaml", content);
    let out = repo.exc(&["validate"]).code(1);
    let text = stdout(&out);
    assert!(!text.contains("panicked"), "{text}");
    text
}

fn assert_line(text: &str, prefix: &str, needle: &str) {
    assert!(
        text.lines().any(|l| l.starts_with(prefix) && l.contains(needle)),
        "expected a line starting {prefix:?} containing {needle:?} in:\n{text}"
    );
}

#[test]
fn malformed_yaml() {
    let out = validate_bad("id: EXC-0001\ntitle: [unclosed\nstatus: requested\n");
    assert_line(&out, "exceptions/EXC-0001.yaml:", "yaml-syntax");
}

#[test]
fn tab_indentation() {
    let out = validate_bad(VALID.replace("  - crm-01", "\t- crm-01"));
    assert_line(&out, "exceptions/EXC-0001.yaml:12:1:", "tab used for indentation");
}

#[test]
fn wrong_types() {
    let out = validate_bad(
        VALID.replace("  - crm-01", "  - crm-01\nurgency: 5").replace("assets:\n  - crm-01", "assets: crm-01"),
    );
    assert_line(&out, "exceptions/EXC-0001.yaml:11:1:", "`assets`: expected a list, found a string");
    assert_line(&out, "exceptions/EXC-0001.yaml:", "`urgency`: 5 is not one of");
}

#[test]
fn unknown_field_suggests_the_nearest_name() {
    let out = validate_bad(VALID.replace("justification:", "justifcation:"));
    assert_line(&out, "exceptions/EXC-0001.yaml:10:1:", "unknown field `justifcation`; did you mean `justification`?");
}

#[test]
fn impossible_date() {
    let out = validate_bad(VALID.replace("2027-01-15", "2026-02-30"));
    assert_line(&out, "exceptions/EXC-0001.yaml:9:1:", "`2026-02-30` is not a real date");
}

#[test]
fn expiry_before_creation() {
    let out = validate_bad(VALID.replace("2027-01-15", "2026-10-01"));
    assert_line(&out, "exceptions/EXC-0001.yaml:9:1:", "expires 2026-10-01 is not after created 2026-11-01");
}

#[test]
fn expiry_past_the_cap() {
    let out = validate_bad(VALID.replace("2027-01-15", "2027-06-01"));
    assert_line(&out, "exceptions/EXC-0001.yaml:9:1:", "type `mfa-bypass` allows at most 90 days (until 2027-01-30)");
}

#[test]
fn duplicate_id_names_both_files() {
    let repo = Repo::init();
    repo.write("exceptions/EXC-0001.yaml", VALID);
    repo.write("exceptions/EXC-0001.yml", VALID);
    let out = stdout(&repo.exc(&["validate"]).code(1));
    assert_line(&out, "exceptions/EXC-0001.yaml:2:1:", "also used by exceptions/EXC-0001.yml");
    assert_line(&out, "exceptions/EXC-0001.yml:2:1:", "also used by exceptions/EXC-0001.yaml");
}

#[test]
fn id_differs_from_file_name() {
    let repo = Repo::init();
    repo.write("exceptions/EXC-0002.yaml", VALID);
    let out = stdout(&repo.exc(&["validate"]).code(1));
    assert_line(&out, "exceptions/EXC-0002.yaml:2:1:", "id `EXC-0001` differs from the file name `EXC-0002`");
}

#[test]
fn empty_file() {
    let out = validate_bad("");
    assert_line(&out, "exceptions/EXC-0001.yaml:1:1:", "the file is empty");
}

#[test]
fn non_utf8_file() {
    let mut bytes = VALID.as_bytes().to_vec();
    let at = VALID.find("Legacy").unwrap();
    bytes[at] = 0xff;
    let out = validate_bad(bytes);
    assert_line(&out, "exceptions/EXC-0001.yaml:10:16:", "not valid UTF-8");
}

#[test]
fn bom_and_crlf_are_valid() {
    let repo = Repo::init();
    repo.write("exceptions/EXC-0001.yaml", format!("\u{feff}{}", VALID));
    repo.write("exceptions/EXC-0002.yaml", VALID.replace("EXC-0001", "EXC-0002").replace('\n', "\r\n"));
    let out = stdout(&repo.exc(&["validate"]).success());
    assert!(out.contains("2 record(s) checked: all valid"), "{out}");
}

#[test]
fn duplicate_keys() {
    let out = validate_bad(VALID.replace("status: requested", "status: requested\nstatus: approved"));
    assert_line(&out, "exceptions/EXC-0001.yaml:6:", "yaml-syntax");
}

#[test]
fn path_traversal_attachment_and_a_directory_named_like_a_record() {
    let repo = Repo::init();
    repo.write(
        "exceptions/EXC-0001.yaml",
        VALID.replace("compensating_controls:", "attachments:\n  - ../../etc/shadow\ncompensating_controls:"),
    );
    std::fs::create_dir_all(repo.path().join("exceptions/EXC-0002.yaml")).unwrap();
    let out = stdout(&repo.exc(&["validate"]).code(1));
    assert_line(&out, "exceptions/EXC-0001.yaml:14:5:", "is not evidence");
    assert_line(&out, "exceptions/EXC-0002.yaml:1:1:", "is a directory");
}

#[test]
fn alias_bomb_and_deep_nesting_end_quickly() {
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    let out = validate_bad(bomb);
    assert_line(&out, "exceptions/EXC-0001.yaml:", "yaml-syntax");
    let deep = format!("{}x{}", "[".repeat(10_000), "]".repeat(10_000));
    let out = validate_bad(deep);
    assert_line(&out, "exceptions/EXC-0001.yaml:", "yaml-syntax");
}

#[test]
fn oversized_record_is_refused_before_parsing() {
    let big = format!("{VALID}notes: \"{}\"\n", "x".repeat(300 * 1024));
    let out = validate_bad(big);
    assert_line(&out, "exceptions/EXC-0001.yaml:1:1:", "capped at 256 KiB");
}

#[test]
fn tags_and_multiple_documents() {
    let out = validate_bad(VALID.replace("title: MFA", "title: !!python/object:os.system MFA"));
    assert_line(&out, "exceptions/EXC-0001.yaml:", "yaml-syntax");
    let out = validate_bad(format!("{VALID}---\n{VALID}"));
    assert_line(&out, "exceptions/EXC-0001.yaml:", "yaml-syntax");
}

#[test]
fn a_list_is_not_a_record() {
    let out = validate_bad("- a\n- b\n");
    assert_line(&out, "exceptions/EXC-0001.yaml:1:1:", "a record is a mapping");
}

/// YAML as check-jsonschema and the YAML language server read it: a leading
/// zero is a number (`title: 0123` is not a string), tags are refused where
/// they are, a lone CR and UTF-16 are named, and a block scalar at the end
/// of a file without a final line break gets none.
#[test]
fn yaml_as_the_validators_read_it() {
    let out = validate_bad(VALID.replace("title: MFA bypass for the legacy CRM", "title: 0123"));
    assert_line(&out, "exceptions/EXC-0001.yaml:3:1:", "`title`: expected a string, found a number");
    let out = validate_bad(VALID.replace("  - crm-01", "  - !!binary Y3JtLTAx"));
    assert_line(&out, "exceptions/EXC-0001.yaml:12:5:", "YAML tags (such as !!binary or !!str) are not accepted");
    let out = validate_bad(VALID.replace('\n', "\r"));
    assert_line(&out, "exceptions/EXC-0001.yaml:1:", "a carriage return alone ends a line here");
    let utf16: Vec<u8> = [0xff, 0xfe].into_iter().chain(VALID.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let out = validate_bad(utf16);
    assert_line(&out, "exceptions/EXC-0001.yaml:1:1:", "is UTF-16");
    // `title: |` ending the file, with no line break: the title has none either.
    let repo = Repo::init();
    let text = VALID.replace("title: MFA bypass for the legacy CRM\n", "");
    repo.write("exceptions/EXC-0001.yaml", format!("{text}title: |\n  MFA bypass for the legacy CRM"));
    repo.exc(&["validate"]).success();
}

/// A registry in a subfolder of its repository: GitHub annotations, SARIF
/// and JUnit name files from the repository root, where CI looks for them.
#[test]
fn annotations_name_files_from_the_repository_root() {
    let repo = Repo::new();
    let reg = repo.path().join("security/registry");
    std::fs::create_dir_all(&reg).unwrap();
    repo.cmd().args(["--dir", "security/registry", "init"]).output().unwrap();
    repo.write("security/registry/exceptions/EXC-0001.yaml", VALID.replace("justification:", "justifcation:"));
    let run = |format: &str| {
        let out = repo.cmd().args(["--dir", "security/registry", "check", "--format", format]).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let github = run("github");
    assert!(
        github.contains(
            "::error file=security/registry/exceptions/EXC-0001.yaml,line=10,col=1,title=exc unknown-field::"
        ),
        "{github}"
    );
    assert!(run("sarif").contains("\"uri\": \"security/registry/exceptions/EXC-0001.yaml\""));
    assert!(
        run("junit").contains("name=\"exceptions/EXC-0001.yaml\" file=\"security/registry/exceptions/EXC-0001.yaml\"")
    );
}
