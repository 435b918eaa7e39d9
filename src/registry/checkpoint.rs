//! The audit's checkpoint: what a full audit of the mainline up to a commit
//! carried (see [`super::audit::Carried`]), so the next audit reads only the
//! commits after it. CI keeps the file in its cache on the protected branch.
//!
//! A cache is not trusted: the file is authenticated with HMAC-SHA256 under a
//! key only the protected branch's jobs hold (`EXC_CHECKPOINT_KEY`), and bound
//! to what the audit's answer depends on (exc's version, the trust root, the
//! registry, where the history is read from). A checkpoint that fails any
//! of these, names a commit that is not on HEAD's first-parent line (a
//! force-push, another branch), or cannot be read is ignored with a note,
//! and the audit reads the whole history; it is then written afresh.
//!
//! The file is one line `exc-audit-checkpoint/1 <hex MAC>` and then the JSON
//! the MAC covers, byte for byte.

use std::path::Path;

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

use super::Registry;
use super::audit::{Audited, Carried};
use crate::error::{Error, Result};
use crate::model::trust_root::TrustRoot;

const FORMAT: &str = "exc-audit-checkpoint/1";

/// The shortest key accepted, in bytes: a guessable key is no key.
pub const MIN_KEY: usize = 16;

/// What the audit's answer depends on besides the history: a checkpoint
/// written under different ones is not used.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Binding {
    exc: String,
    trust_root: Option<String>,
    audit_from: Option<String>,
    allowed_signers: Option<String>,
    registry: Option<String>,
    prefix: String,
}

/// The file's contents, under the MAC.
#[derive(Serialize, Deserialize)]
struct Body {
    binding: Binding,
    /// The last commit audited: HEAD when it was written.
    commit: String,
    /// What the audit's start found and trusted (the same for every audit
    /// that goes on from it).
    root: String,
    from_audit_start: bool,
    state: Carried,
}

/// An audit that used or wrote a checkpoint, and what to tell the user about it.
pub struct Checkpointed {
    pub audited: Audited,
    pub notes: Vec<String>,
}

impl Registry {
    /// Audits as [`Registry::audit_from_root`] does, going on from the
    /// checkpoint at `path` when it is genuine and fits this history, and
    /// writing one for HEAD after. Without a key the file is neither read
    /// nor written.
    pub fn audit_checkpointed(
        &self,
        root: Option<&TrustRoot>,
        path: &Path,
        key: Option<&[u8]>,
    ) -> Result<Checkpointed> {
        let mut notes = Vec::new();
        let Some(key) = key else {
            notes.push(format!(
                "checkpoint: EXC_CHECKPOINT_KEY is not set, so {} is neither read nor written; the audit reads the whole history",
                path.display()
            ));
            return Ok(Checkpointed { audited: self.audit_from_root(root)?, notes });
        };
        let binding = self.binding(root);
        let resume = match read(path, key, &binding) {
            Ok(Some(body)) => match crate::git::Oid::from_str(&body.commit) {
                Ok(id) if crate::git::on_mainline(&self.root, id)? => Some((id, body)),
                _ => {
                    notes.push(format!(
                        "checkpoint: {} is for commit {}, which is not on this branch's first-parent line (a force-push, or another branch); the audit reads the whole history",
                        path.display(),
                        short(&body.commit)
                    ));
                    None
                }
            },
            Ok(None) => {
                notes.push(format!("checkpoint: none yet at {}; the audit reads the whole history", path.display()));
                None
            }
            Err(why) => {
                notes.push(format!(
                    "checkpoint: {} is ignored ({why}); the audit reads the whole history",
                    path.display()
                ));
                None
            }
        };
        let (audited, carried, tip) = match resume {
            Some((id, body)) => {
                let history = self.history_after(id)?;
                let (mut audited, carried) = self.audit_carrying(&history, Some(body.state))?;
                notes.push(format!(
                    "checkpoint: went on from commit {}: {} new commit(s) read",
                    short(&body.commit),
                    history.commits.len()
                ));
                audited.from_audit_start = body.from_audit_start;
                audited.root = body.root;
                match history.tip.filter(|tip| *tip != id) {
                    Some(tip) => (audited, carried, tip),
                    // HEAD is the commit it was written for: it stands as it is.
                    None => return Ok(Checkpointed { audited, notes }),
                }
            }
            None => {
                let super::audit::Start { history, findings, root: trusted } = self.audit_start(root)?;
                let clean = findings.is_empty();
                let (mut audited, carried) = self.audit_carrying(&history, None)?;
                audited.root = trusted;
                self.with_start(&mut audited, findings);
                match history.tip {
                    Some(tip) if clean => (audited, carried, tip),
                    Some(_) => {
                        // The start itself is in question (a root that does
                        // not match): nothing to carry on from.
                        notes.push("checkpoint: not written, as the audit's start has findings".into());
                        return Ok(Checkpointed { audited, notes });
                    }
                    None => return Ok(Checkpointed { audited, notes }),
                }
            }
        };
        let body = Body {
            binding,
            commit: tip.to_string(),
            root: audited.root.clone(),
            from_audit_start: audited.from_audit_start,
            state: carried,
        };
        match write(path, key, &body) {
            Ok(()) => {
                notes.push(format!("checkpoint: written for commit {} to {}", short(&body.commit), path.display()))
            }
            Err(e) => notes.push(format!("checkpoint: not written ({e}); the next audit reads the whole history")),
        }
        Ok(Checkpointed { audited, notes })
    }

    fn binding(&self, root: Option<&TrustRoot>) -> Binding {
        let trust = &self.policy.trust;
        Binding {
            exc: env!("CARGO_PKG_VERSION").into(),
            trust_root: root.map(|r| r.to_string()),
            audit_from: trust.audit_from.clone(),
            allowed_signers: trust.allowed_signers.clone(),
            registry: trust.registry.clone(),
            prefix: self.repository_prefix(),
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..10).unwrap_or(id)
}

/// The MAC of a checkpoint's JSON under `key` (its format line included).
fn mac(key: &[u8], json: &[u8]) -> hmac::Hmac<sha2::Sha256> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(FORMAT.as_bytes());
    mac.update(json);
    mac
}

/// The checkpoint at `path`, if there is one and it is genuine and bound to
/// `binding`; why not, otherwise.
fn read(path: &Path, key: &[u8], binding: &Binding) -> std::result::Result<Option<Body>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    let split = bytes.iter().position(|b| *b == b'\n').ok_or("not a checkpoint")?;
    let (head, json) = (String::from_utf8_lossy(&bytes[..split]), &bytes[split + 1..]);
    let tag = head
        .strip_prefix(FORMAT)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or("not an exc audit checkpoint of this format")?;
    // Compared in constant time by the MAC library.
    let given: Vec<u8> = (0..tag.len() / 2)
        .map(|i| tag.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<_>>()
        .ok_or("its MAC is not hex")?;
    mac(key, json).verify_slice(&given).map_err(|_| "its MAC does not match: written under another key, or altered")?;
    let body: Body = serde_json::from_slice(json).map_err(|e| format!("cannot read it: {e}"))?;
    if body.binding != *binding {
        return Err(format!(
            "written for another setting ({}): exc's version, the trust root, trust.audit_from, the keys file, the registry or its place in the repository changed",
            differences(&body.binding, binding).join(", ")
        ));
    }
    Ok(Some(body))
}

/// The fields two bindings disagree on, by name.
fn differences(a: &Binding, b: &Binding) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut differ = |name: &'static str, same: bool| {
        if !same {
            out.push(name);
        }
    };
    differ("exc version", a.exc == b.exc);
    differ("trust root", a.trust_root == b.trust_root);
    differ("trust.audit_from", a.audit_from == b.audit_from);
    differ("trust.allowed_signers", a.allowed_signers == b.allowed_signers);
    differ("trust.registry", a.registry == b.registry);
    differ("registry folder", a.prefix == b.prefix);
    out
}

fn write(path: &Path, key: &[u8], body: &Body) -> Result<()> {
    let json = serde_json::to_vec(body).map_err(|e| Error::Usage(format!("cannot write the checkpoint: {e}")))?;
    let tag: String = mac(key, &json).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let mut bytes = format!("{FORMAT} {tag}\n").into_bytes();
    bytes.extend_from_slice(&json);
    // A cache: written whole and renamed into place, never half of one, but
    // not synced to disk (a file lost in a crash costs one full audit; a torn
    // one fails its MAC).
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, &e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::write(path, &e))?;
    std::io::Write::write_all(&mut tmp, &bytes).map_err(|e| Error::write(path, &e))?;
    tmp.persist(path).map_err(|e| Error::write(path, &e.error))?;
    Ok(())
}
