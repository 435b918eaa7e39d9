//! A team with real SSH keys (ssh-keygen) and a registry whose policy
//! requires signatures, in a real git repository: the stage for the attacks
//! in `forgery.rs` and `trust.rs` and for the honest paths beside them.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::harness::{Repo, as_person};

/// The people of these tests, with their keys.
pub struct Team {
    pub repo: Repo,
    pub keys: PathBuf,
}

pub const PEOPLE: &[(&str, &str, &str)] = &[
    ("ann", "Ann Lee", "ann@example.com"),
    ("sam", "Sam Okafor", "sam.okafor@example.com"),
    ("priya", "Priya Patel", "priya@example.com"),
    ("carol", "Carol Chen", "carol@example.com"),
    ("dana", "Dana Ops", "dana@example.com"),
    // A contributor with a key and no role.
    ("mallory", "Mallory Moss", "mallory@example.com"),
    // The nightly job's git identity: it holds no role and no key.
    ("bot", "exc bot", "exc-bot@example.com"),
];

pub fn who(short: &str) -> String {
    let (_, name, email) = PEOPLE.iter().find(|p| p.0 == short).unwrap();
    format!("{name} <{email}>")
}

pub const POLICY: &str = "\
roles:
  security: [sam.okafor@example.com, priya@example.com]
  ciso: [carol@example.com]
trust:
  registry: forgery-tests
  signatures: required
  allowed_signers: keys/allowed_signers
";

/// The registry's identity in `POLICY`.
pub const REGISTRY: Option<&str> = Some("forgery-tests");

impl Team {
    /// A registry whose policy requires signatures, with everyone's key listed,
    /// committed on `main` by the CISO.
    pub fn new() -> Team {
        let repo = Repo::init();
        let keys = repo.home.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        let mut signers = String::new();
        for (short, _, email) in PEOPLE.iter().filter(|p| p.0 != "bot") {
            let key = keys.join(short);
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", short, "-f"])
                .arg(&key)
                .output()
                .unwrap();
            assert!(out.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
            signers.push_str(&format!("{email} {}", std::fs::read_to_string(key.with_extension("pub")).unwrap()));
        }
        repo.write("keys/allowed_signers", signers);
        repo.write("exc.yaml", POLICY);
        let team = Team { repo, keys };
        team.commit("carol", "2026-01-01", "policy");
        team
    }

    pub fn key(&self, short: &str) -> String {
        self.keys.join(short).to_string_lossy().into_owned()
    }

    /// Runs exc as `short` on `day`, signing with their key when the command decides.
    pub fn exc(&self, short: &str, day: &str, args: &[&str]) -> assert_cmd::assert::Assert {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.extend(["--as-of".into(), day.into()]);
        if ["approve", "reject", "recertify", "retire", "revoke", "new", "policy", "sign"].contains(&args[0])
            && !args.contains(&"--key")
        {
            a.extend(["--key".into(), self.key(short)]);
        }
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let mut c = self.repo.cmd();
        c.args(&a);
        as_person(&mut c, &who(short));
        self.repo.pin_clock(&mut c, &a);
        assert_cmd::assert::OutputAssertExt::assert(&mut c)
    }

    /// Commits everything as `short` on `day`.
    pub fn commit(&self, short: &str, day: &str, message: &str) {
        self.git_as(short, day, &["add", "-A"]);
        self.git_as(short, day, &["commit", "-qm", message]);
    }

    pub fn git_as(&self, short: &str, day: &str, args: &[&str]) {
        let (_, name, email) = PEOPLE.iter().find(|p| p.0 == short).unwrap();
        let date = format!("{day}T12:00:00Z");
        let out = Command::new("git")
            .args(args)
            .current_dir(self.repo.path())
            .env("HOME", self.repo.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email)
            .env("GIT_COMMITTER_NAME", name)
            .env("GIT_COMMITTER_EMAIL", email)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Files a request as Ann and commits it. Returns its path.
    pub fn request(&self, id: &str, kind: &str, day: &str, extra: &[&str]) -> String {
        self.request_as("ann", id, kind, day, extra)
    }

    /// Files a request as `short` and commits it. Returns its path.
    pub fn request_as(&self, short: &str, id: &str, kind: &str, day: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "new",
            "--yes",
            "--id",
            id,
            "--type",
            kind,
            "--title",
            "Defer the OpenSSL patch",
            "--justification",
            "Vendor certification pending",
            "--asset",
            "pay-01",
            "--compensating-control",
            "WAF rule",
        ];
        if !extra.contains(&"--risk-owner") {
            args.extend(["--risk-owner", "Dana Ops <dana@example.com>"]);
        }
        args.extend_from_slice(extra);
        self.exc(short, day, &args).success();
        self.commit(short, day, &format!("request {id}"));
        format!("exceptions/{id}.yaml")
    }

    pub fn read(&self, path: &str) -> String {
        self.repo.read(path)
    }

    /// `exc check` on `day`: its JSON and the codes of its findings.
    pub fn check(&self, day: &str, extra: &[&str]) -> (i32, Vec<String>) {
        let mut args = vec!["check", "--as-of", day, "--format", "json"];
        args.extend_from_slice(extra);
        let out = self.repo.cmd().args(&args).output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let codes = v["findings"]
            .as_array()
            .map(|a| a.iter().map(|f| f["code"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        (out.status.code().unwrap(), codes)
    }

    /// `exc audit`: exit code and finding codes.
    pub fn audit(&self) -> (i32, Vec<String>, String) {
        self.audit_with(&[])
    }

    /// `exc audit` with more arguments (`--trust-root …`).
    pub fn audit_with(&self, extra: &[&str]) -> (i32, Vec<String>, String) {
        let mut args = vec!["audit", "--format", "json"];
        args.extend_from_slice(extra);
        let out = self.repo.cmd().args(&args).output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let codes = v["findings"]
            .as_array()
            .map(|a| a.iter().map(|f| f["code"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        (out.status.code().unwrap(), codes, String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The CVEs the Trivy ignore file would suppress on `day`.
    pub fn suppressed(&self, day: &str) -> String {
        let out = self
            .repo
            .cmd()
            .args(["export", "--format", "trivyignore", "--skip-invalid", "--as-of", day])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A new key for `short` (named `file` in the keys folder); returns its public line.
    pub fn new_key(&self, file: &str) -> String {
        let key = self.keys.join(file);
        let out = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read_to_string(key.with_extension("pub")).unwrap()
    }

    /// The trust roots `exc keys --format trust-root` prints: (owner keys, policy digest).
    pub fn trust_roots(&self) -> (String, String) {
        let out = self.repo.cmd().args(["keys", "--format", "trust-root"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        (lines.next().unwrap().to_string(), lines.next().unwrap().to_string())
    }

    /// On a branch: edits exc.yaml (and the keys file) with `edit`, has the CISO
    /// approve it with `extra` arguments, and merges it into main, on `day`.
    pub fn approved_policy_change(&self, branch: &str, day: &str, edit: impl FnOnce(&Team)) {
        self.git_as("carol", day, &["switch", "-q", "-c", branch]);
        edit(self);
        self.exc("carol", day, &["policy", "approve", "--base", "main", "--commit"]).success();
        self.git_as("carol", day, &["switch", "-q", "main"]);
        self.git_as("carol", day, &["merge", "-q", "--no-ff", "-m", &format!("merge {branch}"), branch]);
    }

    /// An SSH signature by `short`'s key over `bytes`, as exc stores it.
    pub fn sign(&self, short: &str, bytes: &[u8]) -> String {
        use std::io::Write;
        let mut child = Command::new("ssh-keygen")
            .args(["-q", "-Y", "sign", "-n", "exc", "-f"])
            .arg(self.key(short))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        exc::model::signature::from_armored(&String::from_utf8_lossy(&out.stdout)).unwrap()
    }
}

pub fn typed(text: &str) -> exc::model::record::Exception {
    serde_json::from_value(exc::yaml::parse_value(text).unwrap()).unwrap()
}

pub fn has(codes: &[String], code: &str) -> bool {
    codes.iter().any(|c| c == code)
}
