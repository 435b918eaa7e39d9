//! Signatures: who holds which SSH key, and verifying git's `sshsig`
//! signatures in-process (RustCrypto's `ssh-key`), without git or ssh-keygen.
//!
//! The policy is the root of trust: its `trust.keys` and the `allowed_signers`
//! file it names (git's format) list each person's public keys, optionally
//! with `valid-after` / `valid-before` dates, so a rotated key keeps verifying
//! what it signed while it was valid, and a removed key verifies nothing.
//! Signatures are stored as one line of base64 (the binary `SSHSIG` blob).

use std::collections::{BTreeMap, HashSet};
use std::sync::{LazyLock, Mutex};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use ssh_key::{HashAlg, PublicKey, SshSig};

use super::identity::{email_of, identity};

/// The namespace every exc signature is made in (`ssh-keygen -Y sign -n exc`).
pub const NAMESPACE: &str = "exc";

/// Signatures that verified in this process, by the SHA-256 of their
/// statement and signature (which names its key). A record's standing is
/// asked for more than once per run (the checks, the table, the export): the
/// curve arithmetic is done once. Who holds the key, and when, is checked
/// every time.
static VERIFIED: LazyLock<Mutex<HashSet<[u8; 32]>>> = LazyLock::new(Default::default);

fn memo_key(statement: &[u8], signature: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update((statement.len() as u64).to_le_bytes());
    h.update(statement);
    h.update(signature.as_bytes());
    h.finalize().into()
}

fn remember(keys: impl IntoIterator<Item = [u8; 32]>) {
    if let Ok(mut set) = VERIFIED.lock() {
        set.extend(keys);
    }
}

fn remembered(key: &[u8; 32]) -> bool {
    VERIFIED.lock().is_ok_and(|set| set.contains(key))
}

/// One trusted key, with the window in which it may sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    pub key: PublicKey,
    pub valid_after: Option<DateTime<Utc>>,
    pub valid_before: Option<DateTime<Utc>>,
    /// An Ed25519 key, decompressed once: most signatures are checked with it.
    ed25519: Option<ed25519_dalek::VerifyingKey>,
}

impl TrustedKey {
    fn new(key: PublicKey, valid_after: Option<DateTime<Utc>>, valid_before: Option<DateTime<Utc>>) -> TrustedKey {
        let ed25519 = key.key_data().ed25519().and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k.0).ok());
        TrustedKey { key, valid_after, valid_before, ed25519 }
    }

    /// Checks `sig` over `statement` with this key (namespace already checked).
    fn verifies(&self, statement: &[u8], sig: &SshSig) -> bool {
        use ed25519_dalek::Verifier;
        if let Some(vk) = &self.ed25519
            && sig.reserved().is_empty()
            && let Ok(bytes) = <[u8; 64]>::try_from(sig.signature_bytes())
            && let Ok(data) = SshSig::signed_data(sig.namespace(), sig.hash_alg(), statement)
        {
            return vk.verify(&data, &ed25519_dalek::Signature::from_bytes(&bytes)).is_ok();
        }
        self.key.verify(NAMESPACE, statement, sig).is_ok()
    }
    /// The key's SSH wire form, as a signature names it (see [`key_blob`]).
    pub fn blob(&self) -> Vec<u8> {
        let mut wire = Vec::new();
        let _ = ssh_encoding::Encode::encode(self.key.key_data(), &mut wire);
        wire
    }

    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint(HashAlg::Sha256).to_string()
    }

    pub fn valid_at(&self, at: DateTime<Utc>) -> bool {
        self.valid_after.is_none_or(|a| at >= a) && self.valid_before.is_none_or(|b| at < b)
    }
}

/// Who holds which keys: normalised identity → keys, with the principal as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keyring {
    people: BTreeMap<String, (String, Vec<TrustedKey>)>,
}

/// A line of a keys file or an inline key that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyProblem {
    /// 1-based line in the allowed_signers file, or 0 for an inline key.
    pub line: usize,
    pub message: String,
}

impl Keyring {
    /// Adds `key` (OpenSSH public key text, `ssh-ed25519 AAAA… comment`) for `person`.
    pub fn add(&mut self, person: &str, key: &str) -> Result<(), String> {
        let key = PublicKey::from_openssh(key.trim()).map_err(|e| format!("not an OpenSSH public key ({e})"))?;
        self.insert(person, TrustedKey::new(key, None, None))
    }

    /// Lists `key` for `person`. Refused: a principal that is not the one
    /// already listed under the same normalised identity (a look-alike such
    /// as `sarn.okafor@` for `sam.okafor@`), and a key already listed for
    /// someone else: either would let one person's key sign as another.
    fn insert(&mut self, person: &str, key: TrustedKey) -> Result<(), String> {
        let email = email_of(person).to_string();
        let id = identity(person);
        if let Some((listed, _)) = self.people.get(&id)
            && !listed.eq_ignore_ascii_case(&email)
        {
            return Err(format!(
                "`{email}` looks like `{listed}`, listed already (they read the same once letters that look alike are folded); list each person under one exact address"
            ));
        }
        if let Some((other, _)) = self
            .people
            .iter()
            .find(|(pid, (_, keys))| **pid != id && keys.iter().any(|k| k.key.key_data() == key.key.key_data()))
            .map(|(_, v)| v)
        {
            return Err(format!(
                "the key {} is listed for `{other}` already; a key belongs to one person",
                key.fingerprint()
            ));
        }
        let entry = self.people.entry(id).or_insert_with(|| (email, Vec::new()));
        // The same key listed twice for one person keeps the narrower window
        // of the two: a line that retires a key retires it, whatever else
        // lists it.
        match entry.1.iter_mut().find(|k| k.key.key_data() == key.key.key_data()) {
            Some(k) => {
                k.valid_after = k.valid_after.max(key.valid_after);
                k.valid_before = match (k.valid_before, key.valid_before) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => entry.1.push(key),
        }
        Ok(())
    }

    /// Reads git's `allowed_signers` format: `principals [options] keytype
    /// base64 [comment]`, one per line; `#` comments and blank lines skipped.
    /// Options understood: `namespaces="…"` (the key counts only if it lists
    /// `exc`), `valid-after="YYYYMMDD[HHMM[SS]]"`, `valid-before="…"`.
    pub fn add_allowed_signers(&mut self, text: &str) -> Vec<KeyProblem> {
        let mut problems = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_signer_line(line) {
                Ok(None) => {}
                Ok(Some((principals, key))) => {
                    for p in principals {
                        if let Err(message) = self.insert(&p, key.clone()) {
                            problems.push(KeyProblem { line: i + 1, message });
                        }
                    }
                }
                Err(message) => problems.push(KeyProblem { line: i + 1, message }),
            }
        }
        problems
    }

    /// The keys listed for `person` (by normalised identity).
    pub fn keys_of(&self, person: &str) -> &[TrustedKey] {
        self.people.get(&identity(person)).map(|(_, k)| k.as_slice()).unwrap_or(&[])
    }

    /// The principal listed under the same normalised identity as `person`,
    /// when it is written differently (a look-alike of someone listed).
    pub fn look_alike(&self, person: &str) -> Option<&str> {
        let email = email_of(person);
        self.people
            .get(&identity(person))
            .map(|(listed, _)| listed.as_str())
            .filter(|listed| !listed.eq_ignore_ascii_case(email))
    }

    /// Who the policy lists `key` for, if anyone.
    pub fn holder_of(&self, key: &PublicKey) -> Option<&str> {
        self.people
            .values()
            .find(|(_, keys)| keys.iter().any(|k| k.key.key_data() == key.key_data()))
            .map(|(email, _)| email.as_str())
    }

    /// Whether two people share a key (then they are one person, whatever their emails).
    pub fn share_a_key(&self, a: &str, b: &str) -> bool {
        let (ka, kb) = (self.keys_of(a), self.keys_of(b));
        ka.iter().any(|x| kb.iter().any(|y| x.key.key_data() == y.key.key_data()))
    }

    /// Every person and their keys, by email.
    pub fn people(&self) -> impl Iterator<Item = (&str, &[TrustedKey])> {
        self.people.values().map(|(email, keys)| (email.as_str(), keys.as_slice()))
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }
}

/// One `allowed_signers` line: its principals and key, or `None` when the
/// key is restricted to other namespaces.
fn parse_signer_line(line: &str) -> Result<Option<(Vec<String>, TrustedKey)>, String> {
    let (principals, rest) = line.split_once(char::is_whitespace).ok_or("expected principals and a key")?;
    let mut rest = rest.trim_start();
    let (mut valid_after, mut valid_before, mut namespaces) = (None, None, None);
    // Options come before the key type; a key type starts with ssh-, ecdsa- or sk-.
    while !rest.is_empty() && !looks_like_key_type(rest) {
        let (option, after) = take_option(rest)?;
        rest = after.trim_start().trim_start_matches(',').trim_start();
        let (name, value) =
            option.split_once('=').map(|(n, v)| (n, Some(v.trim_matches('"')))).unwrap_or((option, None));
        match (name.to_ascii_lowercase().as_str(), value) {
            ("valid-after", Some(v)) => valid_after = Some(parse_time(v)?),
            ("valid-before", Some(v)) => valid_before = Some(parse_time(v)?),
            ("namespaces", Some(v)) => namespaces = Some(v.to_string()),
            ("cert-authority", _) => return Err("certificate authorities are not supported; list the keys".into()),
            (other, _) => return Err(format!("unknown option `{other}`")),
        }
    }
    if let Some(ns) = namespaces
        && !ns.split(',').any(|n| n.trim() == NAMESPACE || n.trim() == "*")
    {
        return Ok(None);
    }
    let key = PublicKey::from_openssh(rest).map_err(|e| format!("not an OpenSSH public key ({e})"))?;
    let principals = principals.trim_matches('"').split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
    Ok(Some((principals.collect(), TrustedKey::new(key, valid_after, valid_before))))
}

fn looks_like_key_type(s: &str) -> bool {
    s.starts_with("ssh-") || s.starts_with("ecdsa-") || s.starts_with("sk-")
}

/// One option (`name` or `name="value with spaces"`) and what follows it.
fn take_option(s: &str) -> Result<(&str, &str), String> {
    let mut in_quotes = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' | ' ' | '\t' if !in_quotes => return Ok((&s[..i], &s[i..])),
            _ => {}
        }
    }
    if in_quotes { Err("unterminated quote in an option".into()) } else { Ok((s, "")) }
}

/// `YYYYMMDD[HHMM[SS]][Z]` as ssh-keygen reads it (taken as UTC).
fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let t = s.trim_end_matches(['Z', 'z']);
    let bad = || format!("`{s}` is not a time like 20270101 or 202701011200");
    match t.len() {
        8 => NaiveDate::parse_from_str(t, "%Y%m%d")
            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .map_err(|_| bad()),
        12 => NaiveDateTime::parse_from_str(t, "%Y%m%d%H%M").map_err(|_| bad()),
        14 => NaiveDateTime::parse_from_str(t, "%Y%m%d%H%M%S").map_err(|_| bad()),
        _ => Err(bad()),
    }
    .map(|d| d.and_utc())
}

/// What checking one signature found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Signed, by a key listed for the signer, valid at the decision's time.
    Valid,
    /// No signature.
    Missing,
    /// Signed by a key the policy does not list for the signer (its fingerprint).
    UnknownKey(String),
    /// Signed by a listed key past its `valid-before`: when the decision was
    /// made, or when it reached the history.
    Expired { key: String, on: DateTime<Utc> },
    /// The signature does not verify over this statement, or cannot be read.
    Invalid(String),
}

impl Verdict {
    /// What it means for a decision by `who`, in words.
    pub fn describe(&self, who: &str) -> String {
        match self {
            Verdict::Valid => "valid".into(),
            Verdict::Missing => "not signed".into(),
            Verdict::UnknownKey(print) => format!("signed with key {print}, which the policy does not list for {who}"),
            Verdict::Expired { key, on } => format!(
                "signed with key {key}, which expired on {} (its valid-before in the policy)",
                on.format("%Y-%m-%d %H:%M UTC")
            ),
            Verdict::Invalid(why) => format!("the signature does not verify: {why}"),
        }
    }

    /// The key was not (or no longer) one the policy lists for the signer:
    /// unknown, or past its window. The signature itself may be sound.
    pub fn is_key_problem(&self) -> bool {
        matches!(self, Verdict::UnknownKey(_) | Verdict::Expired { .. })
    }
}

/// Checks `signature` (base64 sshsig) over `statement`, made by `signer` at `at`.
pub fn verify(
    keyring: &Keyring,
    signer: &str,
    at: DateTime<Utc>,
    statement: &[u8],
    signature: Option<&str>,
) -> Verdict {
    verify_landed(keyring, signer, at, None, statement, signature)
}

/// [`verify`], and the key must still have been valid when the decision
/// reached the history (`landed`): a key judged only by the time its signer
/// wrote could sign anything, backdated, after it retired.
pub fn verify_landed(
    keyring: &Keyring,
    signer: &str,
    at: DateTime<Utc>,
    landed: Option<DateTime<Utc>>,
    statement: &[u8],
    signature: Option<&str>,
) -> Verdict {
    let (trusted, sig) = match prepare(keyring, &Job { signer, at, landed, statement, signature }) {
        Ok(x) => x,
        Err(v) => return v,
    };
    let memo = memo_key(statement, signature.unwrap_or_default());
    if remembered(&memo) {
        return Verdict::Valid;
    }
    if trusted.verifies(statement, &sig) {
        remember([memo]);
        Verdict::Valid
    } else {
        Verdict::Invalid("the signature does not match the decision as written".into())
    }
}

/// [`verify`] without the memo of signatures already verified in this
/// process: the curve arithmetic every time (what one check costs).
pub fn verify_uncached(
    keyring: &Keyring,
    signer: &str,
    at: DateTime<Utc>,
    statement: &[u8],
    signature: Option<&str>,
) -> Verdict {
    match prepare(keyring, &Job { signer, at, landed: None, statement, signature }) {
        Err(v) => v,
        Ok((trusted, sig)) if trusted.verifies(statement, &sig) => Verdict::Valid,
        Ok(_) => Verdict::Invalid("the signature does not match the decision as written".into()),
    }
}

/// One signature to check: `signature` over `statement`, by `signer` at `at`.
pub struct Job<'a> {
    pub signer: &'a str,
    pub at: DateTime<Utc>,
    /// When the decision reached the history, if that bounds it (see [`verify_landed`]).
    pub landed: Option<DateTime<Utc>>,
    pub statement: &'a [u8],
    pub signature: Option<&'a str>,
}

/// How many Ed25519 signatures are checked together: a batch costs about half
/// as much per signature as checking each alone.
const BATCH: usize = 64;

/// Checks many signatures, giving the same verdicts as [`verify`] one by one.
/// Ed25519 signatures are checked in batches (in parallel); a batch that fails
/// is checked signature by signature, so a bad one is still named.
pub fn verify_all(keyring: &Keyring, jobs: &[Job]) -> Vec<Verdict> {
    use rayon::prelude::*;
    enum Prepared {
        Done(Verdict),
        Ready(Box<Ready<usize>>),
    }
    // Nothing verified yet in this process (the usual case): no memo to ask.
    let memo = VERIFIED.lock().is_ok_and(|set| !set.is_empty());
    // Decoding, finding the key and hashing the message, on every core.
    let prepared: Vec<Prepared> = jobs
        .par_iter()
        .enumerate()
        .map(|(i, job)| {
            let (trusted, sig) = match prepare(keyring, job) {
                Err(v) => return Prepared::Done(v),
                Ok(x) => x,
            };
            if memo && remembered(&memo_key(job.statement, job.signature.unwrap_or_default())) {
                return Prepared::Done(Verdict::Valid);
            }
            let fast = trusted.ed25519.filter(|_| sig.reserved().is_empty()).and_then(|vk| {
                let bytes = <[u8; 64]>::try_from(sig.signature_bytes()).ok()?;
                let data = SshSig::signed_data(sig.namespace(), sig.hash_alg(), job.statement).ok()?;
                Some((vk, data, ed25519_dalek::Signature::from_bytes(&bytes)))
            });
            match fast {
                Some((vk, data, sig)) => Prepared::Ready(Box::new(Ready { tag: i, vk, data, sig })),
                None => Prepared::Done(if trusted.verifies(job.statement, &sig) {
                    Verdict::Valid
                } else {
                    Verdict::Invalid("the signature does not match the decision as written".into())
                }),
            }
        })
        .collect();
    let mut verdicts: Vec<Option<Verdict>> = Vec::with_capacity(jobs.len());
    let mut ready = Vec::new();
    for p in prepared {
        match p {
            Prepared::Done(v) => verdicts.push(Some(v)),
            Prepared::Ready(r) => {
                ready.push(*r);
                verdicts.push(None);
            }
        }
    }
    let results = check_batches(&ready);
    remember(results.iter().filter(|(_, ok)| *ok).map(|(job, _)| {
        let job = &jobs[*job];
        memo_key(job.statement, job.signature.unwrap_or_default())
    }));
    for (job, ok) in results {
        verdicts[job] = Some(if ok {
            Verdict::Valid
        } else {
            Verdict::Invalid("the signature does not match the decision as written".into())
        });
    }
    verdicts.into_iter().map(|v| v.unwrap_or(Verdict::Missing)).collect()
}

/// An Ed25519 signature ready to check, with what it is for.
struct Ready<T> {
    tag: T,
    vk: ed25519_dalek::VerifyingKey,
    data: Vec<u8>,
    sig: ed25519_dalek::Signature,
}

/// Checks signatures in batches on every core (one by one where a batch
/// fails, so each bad one is named): each tag with whether it verified.
fn check_batches<T: Copy + Send + Sync>(ready: &[Ready<T>]) -> Vec<(T, bool)> {
    use rayon::prelude::*;
    ready
        .par_chunks(BATCH)
        .flat_map_iter(|chunk| {
            let messages: Vec<&[u8]> = chunk.iter().map(|r| r.data.as_slice()).collect();
            let sigs: Vec<ed25519_dalek::Signature> = chunk.iter().map(|r| r.sig).collect();
            let keys: Vec<ed25519_dalek::VerifyingKey> = chunk.iter().map(|r| r.vk).collect();
            let all = ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_ok();
            chunk.iter().map(move |r| {
                use ed25519_dalek::Verifier;
                (r.tag, all || r.vk.verify(&r.data, &r.sig).is_ok())
            })
        })
        .collect()
}

/// Checks signatures against the keys they name themselves (whoever holds
/// them), Ed25519 in batches on every core, and remembers the ones that
/// verify: later checks against a keyring (which still asks who holds the
/// key, and when) then cost a lookup. For many signatures met one by one,
/// as the audit meets them.
pub fn warm(pairs: &[(Vec<u8>, &str)]) {
    use rayon::prelude::*;
    let ready: Vec<Ready<[u8; 32]>> = pairs
        .par_iter()
        .filter_map(|(statement, signature)| {
            let tag = memo_key(statement, signature);
            let sig = decode(signature).ok().filter(|s| s.namespace() == NAMESPACE && s.reserved().is_empty())?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&sig.public_key().ed25519()?.0).ok()?;
            let bytes = <[u8; 64]>::try_from(sig.signature_bytes()).ok()?;
            let data = SshSig::signed_data(sig.namespace(), sig.hash_alg(), statement).ok()?;
            Some(Ready { tag, vk, data, sig: ed25519_dalek::Signature::from_bytes(&bytes) })
        })
        .collect();
    let valid = check_batches(&ready).into_iter().filter(|(_, ok)| *ok).map(|(memo, _)| memo);
    remember(valid);
}

/// The signature read and its key found and in its window, or the verdict already.
fn prepare<'k>(keyring: &'k Keyring, job: &Job) -> Result<(&'k TrustedKey, SshSig), Verdict> {
    let signature = job.signature.ok_or(Verdict::Missing)?;
    let sig = decode(signature).map_err(Verdict::Invalid)?;
    if sig.namespace() != NAMESPACE {
        return Err(Verdict::Invalid(format!("signed in namespace `{}`, not `{NAMESPACE}`", sig.namespace())));
    }
    let Some(trusted) = keyring.keys_of(job.signer).iter().find(|k| k.key.key_data() == sig.public_key()) else {
        let print = PublicKey::from(sig.public_key().clone()).fingerprint(HashAlg::Sha256).to_string();
        return Err(Verdict::UnknownKey(print));
    };
    if let Some(on) = trusted.valid_before.filter(|b| job.at >= *b) {
        return Err(Verdict::Expired { key: trusted.fingerprint(), on });
    }
    if !trusted.valid_at(job.at) {
        return Err(Verdict::UnknownKey(format!("{} (not valid on {})", trusted.fingerprint(), job.at.date_naive())));
    }
    if let (Some(on), Some(landed)) = (trusted.valid_before, job.landed)
        && landed >= on + super::time::SKEW
    {
        return Err(Verdict::Expired { key: trusted.fingerprint(), on });
    }
    Ok((trusted, sig))
}

/// The fingerprint of the key that made `signature` over `statement`, if
/// it verifies with that key (whoever it belongs to): for checking a
/// signature against keys pinned outside the policy.
pub fn verify_with_embedded_key(statement: &[u8], signature: &str) -> Option<String> {
    let sig = decode(signature).ok()?;
    if sig.namespace() != NAMESPACE {
        return None;
    }
    let key = TrustedKey::new(PublicKey::from(sig.public_key().clone()), None, None);
    key.verifies(statement, &sig).then(|| key.fingerprint())
}

/// The public key blob a signature names (its SSH wire form), read from the
/// start of the base64 alone: enough to tell whether two signatures were
/// made with the same key, without decoding either whole.
pub fn key_blob(signature: &str) -> Option<Vec<u8>> {
    use base64ct::Encoding;
    // "SSHSIG", a u32 version, then the key as a u32 length and its bytes.
    let head = base64ct::Base64::decode_vec(signature.get(..20)?).ok()?;
    if head.get(..6)? != b"SSHSIG" {
        return None;
    }
    let len = u32::from_be_bytes(head.get(10..14)?.try_into().ok()?) as usize;
    if len > 4096 {
        return None;
    }
    let chars = (14 + len).div_ceil(3) * 4;
    let prefix = signature.get(..chars.min(signature.len()))?;
    let bytes = base64ct::Base64::decode_vec(prefix).ok()?;
    bytes.get(14..14 + len).map(<[u8]>::to_vec)
}

/// The key a signature was made with (to tell a signer which key they used).
pub fn signing_key(signature: &str) -> Result<PublicKey, String> {
    decode(signature).map(|s| PublicKey::from(s.public_key().clone()))
}

/// Reads a stored signature: base64 of the binary sshsig blob (one line as
/// exc writes it; whitespace inside is tolerated).
fn decode(b64: &str) -> Result<SshSig, String> {
    use base64ct::Encoding;
    use ssh_encoding::Decode;
    let bytes = if b64.contains(char::is_whitespace) {
        let clean: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
        base64ct::Base64::decode_vec(&clean)
    } else {
        base64ct::Base64::decode_vec(b64)
    }
    .map_err(|e| format!("not an SSH signature (base64: {e})"))?;
    let mut reader = bytes.as_slice();
    let sig = SshSig::decode(&mut reader).map_err(|e| format!("not an SSH signature ({e})"))?;
    if !reader.is_empty() {
        return Err("not an SSH signature (bytes after its end)".into());
    }
    Ok(sig)
}

/// The stored form of an armored signature (`ssh-keygen -Y sign` output):
/// its base64 on one line.
pub fn from_armored(armored: &str) -> Result<String, String> {
    let body: String = armored.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("-----")).collect();
    decode(&body)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGMJR9iCFU0PTzCNjUpCpiDbaFsGBytmEN177F4LIEVv sam";
    const OTHER: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRhwpEnNDnNn8Gn1t7H5DDk8WqAqDkRfKfXK9H0LK5E sarn";

    #[test]
    fn allowed_signers_lines_are_read_as_git_does() {
        let mut k = Keyring::default();
        let text = format!(
            "# people\nsam@example.com {KEY}\n\
             SAM@example.com valid-before=\"20260101\" {KEY}\n\
             git@example.com namespaces=\"git\" {KEY}\n\
             bad@example.com not-a-key\n\
             sarn@example.com {OTHER}\n\
             eve@example.com {KEY}\n"
        );
        let problems = k.add_allowed_signers(&text);
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![5, 6, 7], "{problems:?}");
        assert!(problems[1].message.contains("looks like `sam@example.com`"), "{}", problems[1].message);
        assert!(problems[2].message.contains("listed for `sam@example.com` already"), "{}", problems[2].message);
        let sam = k.keys_of("Sam <sam@example.com>");
        assert_eq!(sam.len(), 1, "one key listed twice is one key");
        assert!(sam[0].valid_before.is_some(), "with the narrower window of the two");
        assert!(k.keys_of("git@example.com").is_empty(), "keys for other namespaces do not count");
        let mut old = Keyring::default();
        old.add_allowed_signers(&format!("old@example.com valid-before=\"20260101\" {KEY}\n"));
        let old = &old.keys_of("old@example.com")[0];
        assert!(old.valid_at("2025-12-31T23:59:59Z".parse().unwrap()));
        assert!(!old.valid_at("2026-01-01T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn missing_and_garbled_signatures() {
        let k = Keyring::default();
        let at = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(verify(&k, "a@x.com", at, b"x", None), Verdict::Missing);
        assert!(matches!(verify(&k, "a@x.com", at, b"x", Some("AAAA")), Verdict::Invalid(_)));
    }

    /// A signature checked once is remembered, but only its arithmetic: who
    /// holds the key, and when, is checked again every time.
    #[test]
    fn remembered_signatures_are_still_checked_against_the_keyring() {
        let pair = ssh_key::private::Ed25519Keypair::from_seed(&[7; 32]);
        let key = ssh_key::PrivateKey::from(pair);
        let public = key.public_key().to_openssh().unwrap();
        let statement = b"exc decision: approve EXC-0001";
        let sig = SshSig::sign(&key, NAMESPACE, HashAlg::Sha512, statement).unwrap();
        let stored = from_armored(&sig.to_pem(ssh_key::LineEnding::LF).unwrap()).unwrap();
        let at = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut ring = Keyring::default();
        ring.add("sam@example.com", &public).unwrap();
        let job = Job { signer: "sam@example.com", at, landed: None, statement, signature: Some(&stored) };
        assert_eq!(verify_all(&ring, &[job]), vec![Verdict::Valid]);
        assert_eq!(verify(&ring, "sam@example.com", at, statement, Some(&stored)), Verdict::Valid);
        // Someone else, a keyring without the key, or a key no longer valid: not valid.
        assert!(matches!(verify(&ring, "eve@example.com", at, statement, Some(&stored)), Verdict::UnknownKey(_)));
        assert!(matches!(
            verify(&Keyring::default(), "sam@example.com", at, statement, Some(&stored)),
            Verdict::UnknownKey(_)
        ));
        let mut rotated = Keyring::default();
        rotated.add_allowed_signers(&format!("sam@example.com valid-before=\"20251201\" {public}\n"));
        assert!(matches!(verify(&rotated, "sam@example.com", at, statement, Some(&stored)), Verdict::Expired { .. }));
        // Made before the key retired, but landed after it: not valid either.
        let before = "2025-11-01T00:00:00Z".parse().unwrap();
        let landed = Some("2025-12-02T00:00:00Z".parse().unwrap());
        assert!(matches!(
            verify_landed(&rotated, "sam@example.com", before, landed, statement, Some(&stored)),
            Verdict::Expired { .. }
        ));
        // Two signatures by one key name the same key blob; another key's do not.
        let again = SshSig::sign(&key, NAMESPACE, HashAlg::Sha512, b"other words").unwrap();
        let again = from_armored(&again.to_pem(ssh_key::LineEnding::LF).unwrap()).unwrap();
        let other = ssh_key::PrivateKey::from(ssh_key::private::Ed25519Keypair::from_seed(&[8; 32]));
        let theirs = SshSig::sign(&other, NAMESPACE, HashAlg::Sha512, statement).unwrap();
        let theirs = from_armored(&theirs.to_pem(ssh_key::LineEnding::LF).unwrap()).unwrap();
        use ssh_encoding::Encode;
        let mut wire = Vec::new();
        key.public_key().key_data().encode(&mut wire).unwrap();
        assert_eq!(key_blob(&stored), Some(wire.clone()));
        assert_eq!(key_blob(&again), Some(wire));
        assert_ne!(key_blob(&theirs), key_blob(&stored));
        assert_eq!(key_blob("AAAA"), None);
        // The same signature over other words does not verify.
        let other = b"exc decision: approve EXC-0002";
        assert!(matches!(verify(&ring, "sam@example.com", at, other, Some(&stored)), Verdict::Invalid(_)));
        let job = Job { signer: "sam@example.com", at, landed: None, statement: other, signature: Some(&stored) };
        assert!(matches!(verify_all(&ring, &[job])[0], Verdict::Invalid(_)));
    }
}
