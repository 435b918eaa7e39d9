//! Signing decisions with the person's own SSH key, through `ssh-keygen -Y
//! sign` (OpenSSH): a key file, or a key held by `ssh-agent` (hardware keys
//! included). The one place that runs ssh-keygen. Verifying needs none of
//! this: `crate::model::signature` does it in-process.
//!
//! The key is `--key FILE`, else git's `user.signingkey` when `gpg.format` is
//! `ssh` (a private key file, a public key file whose private half the agent
//! holds, or a literal `key::ssh-ed25519 AAAA…`), the same key git signs
//! commits with.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::model::signature::{self, NAMESPACE};

/// A key to sign with.
#[derive(Debug, Clone)]
pub struct Signer {
    /// A key file for `ssh-keygen -f` (private, or public with the agent).
    file: PathBuf,
    /// A temp file holding a literal public key, removed when dropped.
    _literal: Option<std::sync::Arc<tempfile::TempPath>>,
}

impl Signer {
    /// The signer for `--key FILE`, else git's configured SSH signing key.
    pub fn find(root: &Path, key: Option<&Path>) -> Result<Signer> {
        if let Some(file) = key {
            if !file.exists() {
                return Err(Error::Sign(format!("--key {}: no such file", file.display())));
            }
            return Ok(Signer { file: file.to_path_buf(), _literal: None });
        }
        let format = crate::git::config(root, "gpg.format");
        let configured = crate::git::config(root, "user.signingkey");
        match (format.as_deref(), configured) {
            (Some("ssh"), Some(k)) => Signer::from_config(&k),
            (_, Some(_)) => Err(Error::Sign(
                "git's user.signingkey is set, but gpg.format is not `ssh`; exc signs with SSH keys: `git config gpg.format ssh`, or pass --key".into(),
            )),
            (_, None) => Err(Error::Sign(
                "this policy requires signed decisions, and no SSH key is configured: `git config gpg.format ssh` and `git config user.signingkey ~/.ssh/id_ed25519.pub` (the same key git signs commits with), or pass --key FILE".into(),
            )),
        }
    }

    fn from_config(value: &str) -> Result<Signer> {
        let literal = value.strip_prefix("key::").or_else(|| value.starts_with("ssh-").then_some(value));
        if let Some(public) = literal {
            let mut tmp = tempfile::Builder::new()
                .prefix("exc-signing-key-")
                .suffix(".pub")
                .tempfile()
                .map_err(|e| Error::Sign(format!("cannot write the public key for ssh-keygen: {e}")))?;
            writeln!(tmp, "{}", public.trim()).map_err(|e| Error::Sign(e.to_string()))?;
            let path = tmp.into_temp_path();
            return Ok(Signer { file: path.to_path_buf(), _literal: Some(std::sync::Arc::new(path)) });
        }
        let file = match value.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(rest),
            None => PathBuf::from(value),
        };
        Ok(Signer { file, _literal: None })
    }

    /// What to do about ssh-keygen's refusal, in words a signer can act on.
    fn explain(&self, why: &str) -> String {
        use std::io::IsTerminal;
        let file = self.file.display();
        let agent = std::env::var_os("SSH_AUTH_SOCK").is_some_and(|s| !s.is_empty());
        if why.contains("No private key found") || why.contains("agent") {
            let held = if self._literal.is_some() {
                "git's user.signingkey names a key::… literal"
            } else {
                "the key is a public key"
            };
            return if agent {
                format!(
                    "{held}, so its private half must be in ssh-agent, and the agent does not hold it: run `ssh-add` with the private key (ssh-keygen said: {why})"
                )
            } else {
                format!(
                    "{held}, so its private half must be in ssh-agent, and no agent is running (SSH_AUTH_SOCK is not set): start one (`eval \"$(ssh-agent)\"`) and `ssh-add` the private key (ssh-keygen said: {why})"
                )
            };
        }
        if why.contains("passphrase") {
            return if std::io::stderr().is_terminal() {
                format!("the passphrase for {file} was not accepted (ssh-keygen said: {why})")
            } else {
                format!(
                    "{file} is protected by a passphrase and there is no terminal to ask for it: load it into ssh-agent first (`ssh-add {file}`), then sign with its .pub (--key or git's user.signingkey)"
                )
            };
        }
        format!("ssh-keygen could not sign with {file}: {why}")
    }

    /// Signs `message` in the `exc` namespace; returns the stored form (base64).
    pub fn sign(&self, message: &[u8]) -> Result<String> {
        let mut child = Command::new("ssh-keygen")
            .args(["-q", "-Y", "sign", "-n", NAMESPACE, "-f"])
            .arg(&self.file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Sign(format!("cannot run ssh-keygen (OpenSSH 8.2 or newer is needed): {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(message).map_err(|e| Error::Sign(format!("cannot write to ssh-keygen: {e}")))?;
        }
        let out = child.wait_with_output().map_err(|e| Error::Sign(format!("ssh-keygen: {e}")))?;
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(Error::Sign(self.explain(&why)));
        }
        signature::from_armored(&String::from_utf8_lossy(&out.stdout))
            .map_err(|why| Error::Sign(format!("ssh-keygen wrote something else than a signature: {why}")))
    }
}
