//! A registry in a temporary git repository, and the real `exc` binary run in it.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::assert::Assert;
use tempfile::TempDir;

/// A temporary git work tree that may hold a registry.
pub struct Repo {
    pub dir: TempDir,
    pub home: TempDir,
    /// The latest `--as-of` any command was given: the story's "now".
    pub clock: std::cell::RefCell<Option<String>>,
}

/// A valid record, for tests to copy and break.
pub const VALID: &str = "\
# yaml-language-server: $schema=../schema/exception.schema.json
id: EXC-0001
title: MFA bypass for the legacy CRM
type: mfa-bypass
status: requested
requester: Ann Lee <ann@example.com>
risk_owner: Dana Ops <dana@example.com>
created: \"2026-11-01T09:00:00Z\"
expires: \"2027-01-15\"
justification: Legacy CRM cannot do SAML; sales logins blocked
assets:
  - crm-01
compensating_controls:
  - Office IP allow-list
";

impl Repo {
    /// An empty git repository with an identity set (Ann Lee).
    pub fn new() -> Repo {
        let repo = Repo { dir: TempDir::new().unwrap(), home: TempDir::new().unwrap(), clock: Default::default() };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "Ann Lee"]);
        repo.git(&["config", "user.email", "ann@example.com"]);
        repo
    }

    /// A repository with `exc init` run in it, and the evidence files the
    /// tests attach (attachments must name files that exist).
    pub fn init() -> Repo {
        let repo = Repo::new();
        repo.exc(&["init"]).success();
        for f in ["evidence/x.pdf", "evidence/vendor-letter.pdf", "evidence/letter.pdf"] {
            repo.write(f, "%PDF-1.4 evidence\n");
        }
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The `exc` binary with a clean environment, run in the repository.
    pub fn cmd(&self) -> Command {
        self.wrapped(assert_cmd::cargo_bin!("exc"))
    }

    /// `program` (exc, or a wrapper that runs it) with exc's clean environment,
    /// run in the repository.
    pub fn wrapped(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.current_dir(self.path())
            .env_remove("EXC_DIR")
            .env_remove("GIT_AUTHOR_NAME")
            .env_remove("GIT_AUTHOR_EMAIL")
            .env_remove("GIT_COMMITTER_NAME")
            .env_remove("GIT_COMMITTER_EMAIL")
            .env_remove("EXC_TEST_CLOCK")
            .env("NO_COLOR", "1")
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.home.path().join("gitconfig"));
        c
    }

    /// Runs `exc ARGS` to completion. `--by 'Name <email>'` in the arguments
    /// runs it as that person (git's author identity, as `GIT_AUTHOR_NAME` and
    /// `GIT_AUTHOR_EMAIL` would for git itself).
    pub fn exc(&self, args: &[&str]) -> Assert {
        let mut c = self.cmd();
        c.args(args);
        if let Some(by) = args.iter().position(|a| *a == "--by").and_then(|i| args.get(i + 1)) {
            as_person(&mut c, by);
        }
        self.pin_clock(&mut c, args);
        assert_cmd::assert::OutputAssertExt::assert(&mut c)
    }

    /// Runs git in the repository; commits are dated at the story's clock.
    pub fn git(&self, args: &[&str]) {
        let mut c = Command::new("git");
        c.args(args).current_dir(self.path()).env("HOME", self.home.path()).env("GIT_CONFIG_NOSYSTEM", "1");
        if let Some(day) = self.clock.borrow().as_ref() {
            let date = format!("{day}T00:00:00Z");
            c.env("GIT_AUTHOR_DATE", &date).env("GIT_COMMITTER_DATE", &date);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap()
    }

    /// The record files in `exceptions/`.
    pub fn records(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path().join("exceptions"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        v.sort();
        v
    }
}

impl Repo {
    /// Decisions take their time from the clock, never from `--as-of`. A test
    /// tells its story with dates, so the test-only clock follows it: a
    /// changing command given `--as-of DATE` runs at that date (00:00 UTC),
    /// and every other command at the latest date the story has reached.
    pub fn pin_clock(&self, c: &mut Command, args: &[&str]) {
        const CHANGING: &[&str] = &["new", "approve", "reject", "recertify", "retire", "revoke", "expire"];
        let day = args.iter().position(|a| *a == "--as-of").and_then(|i| args.get(i + 1)).map(|d| d.to_string());
        let mut clock = self.clock.borrow_mut();
        if let Some(d) = &day
            && clock.as_ref().is_none_or(|c| d > c)
        {
            *clock = Some(d.clone());
        }
        match (args.first().is_some_and(|a| CHANGING.contains(a)), day) {
            (true, Some(d)) => c.env("EXC_TEST_CLOCK", d),
            _ => match clock.as_ref() {
                Some(d) => c.env("EXC_TEST_CLOCK", d),
                None => c,
            },
        };
    }
}

/// Makes `c` act as `person` ('Name <email>'), as git's author.
pub fn as_person(c: &mut Command, person: &str) {
    let (name, email) =
        person.rsplit_once('<').map(|(n, e)| (n.trim(), e.trim_end_matches('>'))).unwrap_or((person, person));
    c.env("GIT_AUTHOR_NAME", name)
        .env("GIT_AUTHOR_EMAIL", email)
        .env("GIT_COMMITTER_NAME", name)
        .env("GIT_COMMITTER_EMAIL", email);
}

/// The stdout of a finished command, as text.
pub fn stdout(a: &Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

/// The stderr of a finished command, as text.
pub fn stderr(a: &Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}
