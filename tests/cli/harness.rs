//! A registry in a temporary git repository, and the real `exc` binary run in it.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::assert::Assert;
use tempfile::TempDir;

/// A temporary git work tree that may hold a registry.
pub struct Repo {
    pub dir: TempDir,
    pub home: TempDir,
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
        let repo = Repo { dir: TempDir::new().unwrap(), home: TempDir::new().unwrap() };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "Ann Lee"]);
        repo.git(&["config", "user.email", "ann@example.com"]);
        repo
    }

    /// A repository with `exc init` run in it.
    pub fn init() -> Repo {
        let repo = Repo::new();
        repo.exc(&["init"]).success();
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
        assert_cmd::assert::OutputAssertExt::assert(&mut c)
    }

    pub fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
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
