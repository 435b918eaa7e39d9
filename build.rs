//! Names the build for `exc --version`: the commit it was built from, from git,
//! or from `EXC_BUILD_COMMIT` where there is no `.git` (the Docker image, a
//! source archive); otherwise "unknown commit".

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=EXC_BUILD_COMMIT");
    for f in [".git/HEAD", ".git/logs/HEAD"] {
        if Path::new(f).exists() {
            println!("cargo:rerun-if-changed={f}");
        }
    }
    let from_env = std::env::var("EXC_BUILD_COMMIT").ok().filter(|c| !c.trim().is_empty());
    let from_git = || {
        let out = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
        let id = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (out.status.success() && !id.is_empty()).then_some(id)
    };
    let commit = from_env.or_else(from_git).unwrap_or_else(|| "unknown commit".into());
    println!("cargo:rustc-env=EXC_COMMIT={commit}");
}
