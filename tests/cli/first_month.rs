//! A new team's first month, round 2: what a team following exc's own words
//! ran into when filing, signing and reviewing, each as it was found.

use std::process::Command;

use crate::harness::{Repo, as_person, stderr, stdout};

const SAM: &str = "Sam Okafor <sam@example.com>";
const DANA: &str = "Dana Ops <dana@example.com>";

/// A registry with people in roles and signatures off.
fn team() -> Repo {
    let repo = Repo::init();
    repo.write(
        "exc.yaml",
        "roles:\n  security: [sam@example.com]\n  ciso: [carol@example.com]\ntrust: { signatures: off }\n",
    );
    repo
}

/// `exc new --yes` with the basics answered, and `extra`.
fn file<'a>(kind: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "new",
        "--yes",
        "--type",
        kind,
        "--title",
        "CRM MFA bypass",
        "--justification",
        "Legacy CRM cannot do SAML",
        "--risk-owner",
        DANA,
        "--asset",
        "crm-01",
        "--compensating-control",
        "Office IP allow-list",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn someone_else_as_requester_is_refused_naming_the_requester_flag() {
    let repo = team();
    let out = repo.exc(&file("other", &["--requester", "Bob Ray <bob@example.com>"])).code(2);
    let err = stderr(&out);
    assert!(err.contains("--requester Bob Ray <bob@example.com> is not you"), "{err}");
    assert!(err.contains("a request is recorded as filed by whoever files it") && !err.contains("--by"), "{err}");
    // Confirming oneself is fine.
    repo.exc(&file("other", &["--requester", "Ann Lee <ann@example.com>"])).success();
}

#[test]
fn an_unknown_type_suggests_the_closest() {
    let repo = team();
    let err = stderr(&repo.exc(&file("mfa-bypas", &[])).code(2));
    assert!(err.contains("unknown type `mfa-bypas`; did you mean `mfa-bypass`?"), "{err}");
    let err = stderr(&repo.exc(&file("vendor", &[])).code(2));
    assert!(err.contains("did you mean `vendor-access`?"), "{err}");
    let err = stderr(&repo.exc(&file("zzzzzzzz", &[])).code(2));
    assert!(err.contains("unknown type `zzzzzzzz`; the types are mfa-bypass"), "{err}");
}

#[test]
fn keys_lists_a_persons_two_keys_on_two_rows() {
    let repo = team();
    let dir = repo.home.path().join("keys");
    std::fs::create_dir_all(&dir).unwrap();
    let mut keys = Vec::new();
    for name in ["old", "new"] {
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(dir.join(name))
            .output()
            .unwrap();
        assert!(out.status.success());
        keys.push(std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap().trim().to_string());
    }
    repo.write(
        "exc.yaml",
        format!(
            "roles:\n  security: [sam@example.com]\ntrust:\n  keys:\n    sam@example.com: [\"{}\", \"{}\"]\n",
            keys[0], keys[1]
        ),
    );
    let out = stdout(&repo.exc(&["keys"]).success());
    assert!(!out.contains("\\n"), "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("SHA256:")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[0].contains("sam@example.com") && rows[0].contains("security"), "{out}");
    assert!(!rows[1].contains("sam@example.com"), "the second key sits under the first: {out}");
}

/// Up to and including 48 h a wait is given in hours; past it, in days.
#[test]
fn a_wait_of_exactly_48_hours_reads_48_h() {
    let repo = team();
    let mut new = repo.cmd();
    new.args(file("other", &["--id", "EXC-0001"])).env("EXC_TEST_CLOCK", "2027-03-01T00:00:00Z");
    assert!(new.output().unwrap().status.success());
    let remind = |clock: &str| {
        let mut c = repo.cmd();
        c.args(["remind", "--format", "json"]).env("EXC_TEST_CLOCK", clock);
        as_person(&mut c, SAM);
        let r: serde_json::Value = serde_json::from_slice(&c.output().unwrap().stdout).unwrap();
        r["groups"][0]["items"][0]["message"].as_str().unwrap().to_string()
    };
    assert_eq!(
        remind("2027-03-03T00:00:00Z"),
        "awaiting your approval as security for 48 h (3 days left of the 5-day SLA)"
    );
    assert_eq!(
        remind("2027-03-03T06:00:00Z"),
        "awaiting your approval as security for 2.3 days (2.8 days left of the 5-day SLA)"
    );
}
