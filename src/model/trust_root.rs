//! A root of trust pinned outside the repository, as TUF clients pin their
//! root: the fingerprints of the policy owners' keys (`SHA256:…`), or the
//! digest of a trusted policy (`sha256:…`). CI passes it with `--trust-root`,
//! the environment variable `EXC_TRUST_ROOT`, or the action's `trust-root`
//! input; a policy someone replaced without its owners (a direct push, say)
//! then fails on every clone that pinned it. Pure.

use std::collections::BTreeSet;

use super::policy::Policy;
use super::policy_change::policy_statement;
use super::signature;

/// What a clone trusts before it reads the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustRoot {
    /// The owners' key fingerprints, as `ssh-keygen -l` prints them.
    Keys(BTreeSet<String>),
    /// The digest of a trusted policy (`exc keys --format trust-root` prints it).
    Policy(String),
}

impl std::str::FromStr for TrustRoot {
    type Err = String;

    /// `sha256:<64 hex>` (a policy digest), or one or more `SHA256:<base64>`
    /// key fingerprints separated by commas or spaces.
    fn from_str(s: &str) -> Result<TrustRoot, String> {
        let s = s.trim();
        if let Some(hex) = s.strip_prefix("sha256:") {
            if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Ok(TrustRoot::Policy(s.to_string()));
            }
            return Err(format!("`{s}`: a policy digest is sha256: and 64 lower-case hex digits"));
        }
        let prints: BTreeSet<String> =
            s.split([',', ' ', '\n', '\t']).map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect();
        if prints.is_empty() {
            return Err("give the owners' key fingerprints (SHA256:…) or a policy digest (sha256:…)".into());
        }
        for p in &prints {
            let ok = p.strip_prefix("SHA256:").is_some_and(|b| {
                b.len() == 43 && b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
            });
            if !ok {
                return Err(format!(
                    "`{p}` is not a key fingerprint as `ssh-keygen -l` prints it (SHA256: and 43 characters)"
                ));
            }
        }
        Ok(TrustRoot::Keys(prints))
    }
}

impl std::fmt::Display for TrustRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrustRoot::Policy(d) => write!(f, "{d}"),
            TrustRoot::Keys(k) => write!(f, "{}", k.iter().cloned().collect::<Vec<_>>().join(",")),
        }
    }
}

impl TrustRoot {
    /// Whether `p` is rooted here from the file alone: it is the pinned
    /// policy; or every key its owner roles' holders have is pinned (it is
    /// the root generation); or a pinned key signed an approval of it (the
    /// pinned owners approved it, as the previous policy's owners).
    pub fn roots(&self, p: &Policy) -> bool {
        match self {
            TrustRoot::Policy(d) => p.digest() == *d,
            TrustRoot::Keys(prints) => {
                owner_keys(p).is_some_and(|keys| keys.is_subset(prints)) || approved_by(p, prints)
            }
        }
    }

    /// Whether this root names a policy by digest (it then needs the
    /// history to follow the chain from that policy to the one in force).
    pub fn is_policy(&self) -> bool {
        matches!(self, TrustRoot::Policy(_))
    }
}

/// The fingerprints of every key of every holder of `p`'s owner roles;
/// none when no holder has a key.
pub fn owner_keys(p: &Policy) -> Option<BTreeSet<String>> {
    let keys: BTreeSet<String> = p
        .trust
        .owners
        .iter()
        .filter_map(|role| p.roles.get(role))
        .flatten()
        .flat_map(|who| p.trust.keyring.keys_of(who).iter().map(|k| k.fingerprint()))
        .collect();
    (!keys.is_empty()).then_some(keys)
}

/// Whether an approval of `p` carries a valid signature by a pinned key.
fn approved_by(p: &Policy, prints: &BTreeSet<String>) -> bool {
    let digest = p.digest();
    p.approvals.iter().filter(|a| a.policy == digest && a.version == p.version).any(|a| {
        a.signature.as_deref().is_some_and(|sig| {
            signature::verify_with_embedded_key(&policy_statement(a, p.trust.registry.as_deref()), sig)
                .is_some_and(|print| prints.contains(&print))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_read_as_written() {
        let print = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
        assert_eq!(print.parse(), Ok(TrustRoot::Keys([print.to_string()].into())));
        let two: TrustRoot = format!("{print}, {print}").parse().unwrap();
        assert!(matches!(two, TrustRoot::Keys(k) if k.len() == 1));
        let digest = format!("sha256:{}", "0a".repeat(32));
        assert_eq!(digest.parse(), Ok(TrustRoot::Policy(digest.clone())));
        assert!("sha256:xyz".parse::<TrustRoot>().is_err());
        assert!("SHA256:short".parse::<TrustRoot>().is_err());
        assert!("".parse::<TrustRoot>().is_err());
    }

    #[test]
    fn a_policy_whose_owners_hold_no_pinned_key_is_not_rooted() {
        let p = Policy::default();
        let root: TrustRoot = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s".parse().unwrap();
        assert!(!root.roots(&p));
        assert!(TrustRoot::Policy(p.digest()).roots(&p));
    }
}
