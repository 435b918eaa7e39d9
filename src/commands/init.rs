//! `exc init`: creates a registry: `exc.yaml` with the default policy (commented),
//! `exceptions/`, and the JSON Schemas in `schema/` for editors. Never overwrites.
//!
//! It names the registry (`trust.registry`, fixed from then on: every
//! signature names it) and, with `--owner` and `--key`, makes the policy's
//! owner and their key the root of trust: the first policy is trusted on
//! first use, and `exc init` says how to pin it in CI.

use std::fs;
use std::path::Path;

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::registry::{self, POLICY_FILE, RECORDS_DIR};
use crate::schema::{POLICY_SCHEMA, RECORD_SCHEMA};

/// The policy `init` writes: the built-in defaults, with comments.
pub const POLICY_TEMPLATE: &str = r#"# yaml-language-server: $schema=schema/policy.schema.json
# exc policy: who approves what, how long exceptions may last, and the KPI targets.
# Every value below is the built-in default; change what your process needs.

# Role -> the people (emails) who hold it. Approvers must hold the role they approve as,
# and nobody approves their own request.
roles:
  security: []          # tier-1 reviewers, e.g. [alice@example.com, bob@example.com]
  ciso: []              # C-level sign-off for critical risk

# Exception types: the form's select list. max_days caps `expires` (from creation, or from
# the latest recertification); require lists extra fields; controls are the usual baseline
# controls the type deviates from.
types:
  mfa-bypass:
    title: MFA bypass
    default_risk: high
    max_days: 90
    controls: ["NIST-800-53:IA-2(1)", "CIS:6.5"]
  firewall-rule:
    title: Firewall rule exception
    default_risk: medium
    max_days: 180
    controls: ["NIST-800-53:SC-7", "CIS:4.4"]
  vulnerability-deferral:
    title: Vulnerability patch deferral
    default_risk: medium
    max_days: 90
    require: [findings]
    controls: ["NIST-800-53:SI-2", "CIS:7.3"]
  endpoint-control-gap:
    title: Endpoint control gap
    default_risk: high
    max_days: 180
    require: [compensating_controls]
    controls: ["NIST-800-53:SI-3", "CIS:10.1"]
  vendor-access:
    title: Temporary vendor access
    default_risk: medium
    max_days: 30
    controls: ["NIST-800-53:AC-2", "CIS:5.3"]
  legacy-system:
    title: Legacy system support
    default_risk: high
    max_days: 180
    require: [migration_plan]
    controls: ["NIST-800-53:SA-22", "CIS:2.2"]
  other:
    title: Other
    default_risk: medium
    max_days: 90

# Risk tier -> who must approve. low is approved on submit (recorded as `by: policy`).
# risk_owner means the record's own risk owner.
risk:
  low: { approvers: [] }
  medium: { approvers: [security] }
  high: { approvers: [security, risk_owner], require: [attachments] }
  critical: { approvers: [security, risk_owner, ciso], require: [attachments] }

# Decision deadlines.
sla: { urgent_hours: 24, standard_hours: 120 }

# Recertification: a review every 90 days; reminders 14 days ahead and at 75 % of the
# lifetime; after a missed review plus the grace period, `exc expire --apply` closes it.
# A record extended more than twice is chronic.
review: { interval_days: 90, remind_before_days: 14, remind_at_lifetime: 0.75, grace_days: 14, chronic_after_extensions: 2 }

# KPI targets for `exc report`.
targets:
  assets_excepted_max_pct: 5        # % of the inventory under an active exception
  approval_hours_max: 48            # average hours from request to approval
  open_ended_max: 0                 # active exceptions lasting longer than their type allows
  overdue_max_pct: 0                # % of open exceptions past expiry or review
  compensating_controls_min_pct: 100  # % of active exceptions with a compensating control
  chronic_max: 0                    # active exceptions extended more than twice
  sla_breaches_max: 0               # requests decided (or pending) past their SLA

# The inventory behind "% of assets excepted": a count, or a CMDB export (a .csv
# with a header row name,owner,business_unit,criticality; a .json array of such
# objects; or any other file with one asset per line), against which records'
# assets are checked; and the scan targets each asset stands for, which scope the
# scanner suppressions exported for it, e.g.
#   targets: { pay-gateway: ["registry.example.com/payments/gateway*"] }
assets: {}              # e.g. { total: 1200 } or { inventory: cmdb.csv }

# Commit each change exc makes (as with --commit).
git: { commit: false }

# The scanner suppression files this repository keeps: `exc export --all`
# writes them (nightly) and `exc check` warns when one is stale. Formats:
# trivyignore, trivyignore-legacy, snyk, osv-scanner, grype, nsprc, openvex.
# exports: [trivyignore]

# `exc notify` (nightly, and on pushes to main) tells people of each event once:
# filings, decisions, SLAs at risk, expiries, 75 % of the lifetime, reviews,
# closures, chronic records. Secrets come only from the environment variables
# named here. See docs/notify.md.
# notify:
#   links: { record: "https://github.com/acme/sec/blob/main/{path}" }
#   escalation: [engineering]
#   channels:
#     mail: { type: smtp, host: smtp.example.com, from: "exc <exc@example.com>", username_env: EXC_SMTP_USER, password_env: EXC_SMTP_PASSWORD }
#     chat: { type: slack, url_env: EXC_SLACK_WEBHOOK }
#     jira: { type: jira, url: "https://acme.atlassian.net", project: SEC, user_env: EXC_JIRA_USER, token_env: EXC_JIRA_TOKEN }
#   log: { remote: origin }

# The root of trust. Every decision (approval, rejection, review, retirement,
# revocation) is signed with its maker's SSH key (an expiry is the policy's own,
# checked, not signed): the key git signs
# commits with (`git config gpg.format ssh` and `git config user.signingkey
# ~/.ssh/id_ed25519.pub`). List each person's public keys in `keys` or in an
# allowed_signers file (git's format). A change to this file takes effect only
# once the owners approve it (`exc policy approve`).
trust:
  registry: {registry}  # this registry's identity: every signature names it; never change it
  signatures: required  # or off (then decisions are attributed by git alone)
  owners: [ciso]        # the roles that approve changes to this policy
  # allowed_signers: keys/allowed_signers
  # keys: { alice@example.com: "ssh-ed25519 AAAA... alice" }
"#;

const GITKEEP: &str = ".gitkeep";

/// Create exc.yaml, exceptions/ and schema/ (never overwrites).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc init
  exc init --owner 'Carol Chen <carol@example.com>' --key ~/.ssh/id_ed25519.pub
  exc init --dir security-exceptions

The first policy is trusted on first use: whoever commits it first decides who owns it.
With --owner and --key, that is the CISO you name, and exc prints the key fingerprint to
pin in CI (EXC_TRUST_ROOT), so a policy replaced later without the owner fails there.")]
pub struct Args {
    /// The policy's owner (the `ciso` role): who approves every later change to exc.yaml.
    #[arg(long, value_name = "'NAME <EMAIL>'", requires = "key")]
    pub owner: Option<String>,
    /// The owner's SSH public key (e.g. ~/.ssh/id_ed25519.pub), listed in keys/allowed_signers.
    #[arg(long, value_name = "FILE", requires = "owner")]
    pub key: Option<std::path::PathBuf>,
    /// The registry's identity (default: the directory's name and a random suffix).
    #[arg(long, value_name = "NAME")]
    pub registry: Option<String>,
}

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let root = match &ctx.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(|e| Error::io(".", e))?,
    };
    let owner = match (&args.owner, &args.key) {
        (Some(who), Some(file)) => Some(owner_key(who, file)?),
        _ => None,
    };
    let name = match &args.registry {
        Some(n) => {
            if !valid_name(n) {
                return Err(Error::Usage(format!(
                    "--registry {n:?}: use 3 to 128 letters, digits and . _ : / - (starting with a letter or digit)"
                )));
            }
            n.clone()
        }
        None => registry_name(&root)?,
    };
    let mut policy = POLICY_TEMPLATE.replace("{registry}", &name);
    if let Some((email, _, _)) = &owner {
        policy = policy
            .replacen(
                "  ciso: []              # C-level sign-off for critical risk",
                &format!("  ciso: [{email}]    # C-level sign-off for critical risk; owns this policy"),
                1,
            )
            .replacen("  # allowed_signers: keys/allowed_signers", "  allowed_signers: keys/allowed_signers", 1);
    }
    fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
    let mut created = Vec::new();
    let mut create_file = |rel: &str, body: &str| -> Result<()> {
        let path = root.join(rel);
        if path.exists() || path.is_symlink() {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        registry::write_atomic(&path, body.as_bytes(), true)?;
        created.push(rel.to_string());
        Ok(())
    };
    let fresh_policy = !root.join(POLICY_FILE).exists() && !root.join(POLICY_FILE).is_symlink();
    create_file(POLICY_FILE, &policy)?;
    if let (Some((email, key, _)), true) = (&owner, fresh_policy) {
        create_file(
            "keys/allowed_signers",
            &format!("# People and their SSH public keys (git's allowed_signers format).\n{email} {key}\n"),
        )?;
    }
    if !root.join(RECORDS_DIR).is_dir() {
        create_file(&format!("{RECORDS_DIR}/{GITKEEP}"), "")?;
    }
    create_file("schema/exception.schema.json", RECORD_SCHEMA)?;
    create_file("schema/policy.schema.json", POLICY_SCHEMA)?;

    let shown = display(&root);
    if created.is_empty() {
        crate::output::emit_text(&format!("{shown} is already an exc registry; nothing changed.\n"))?;
    } else {
        let mut msg = format!("Initialised an exc registry in {shown}:\n");
        for c in &created {
            msg.push_str(&format!("  created {c}\n"));
        }
        msg.push_str(&format!("Registry identity: {name} (trust.registry; every signature names it).\n"));
        match (&owner, fresh_policy) {
            (Some((email, _, print)), true) => msg.push_str(&format!(
                "Trust: {email} owns the policy; the first commit of exc.yaml is trusted on first use.\n\
                 Pin it in CI so a replaced policy fails there: EXC_TRUST_ROOT={print}\n\
                 Next: add people to `roles` and their keys to keys/allowed_signers, commit, then file an exception with `exc new`.\n"
            )),
            _ => msg.push_str(
                "Trust: the first commit of exc.yaml is trusted on first use, and nobody owns it yet: \
                 name the CISO in `roles.ciso` and list their key (or run `exc init --owner … --key …` in an empty directory) \
                 before anyone else can change it.\n\
                 Next: add people to `roles` in exc.yaml, then file an exception with `exc new`.\n",
            ),
        }
        crate::output::emit_text(&msg)?;
    }
    Ok(Outcome::Clean)
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// The owner's email, their public key (one line) and its fingerprint.
fn owner_key(who: &str, file: &Path) -> Result<(String, String, String)> {
    if !crate::model::identity::is_person(who) {
        return Err(Error::Usage(format!("--owner {who:?}: write it as 'Name <email>'")));
    }
    let text = fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let line = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or("");
    let mut ring = crate::model::signature::Keyring::default();
    let email = crate::model::identity::email_of(who).to_string();
    ring.add(&email, line)
        .map_err(|why| Error::Usage(format!("--key {}: {why}; give the public key (the .pub file)", file.display())))?;
    let print = ring.keys_of(&email).first().map(|k| k.fingerprint()).unwrap_or_default();
    Ok((email, line.to_string(), print))
}

/// Whether a registry name fits `trust.registry`.
fn valid_name(n: &str) -> bool {
    (3..=128).contains(&n.len())
        && n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || "._:/-".contains(c))
}

/// The directory's name (letters, digits and dashes) and a random suffix,
/// so two registries never share an identity by accident.
fn registry_name(root: &Path) -> Result<String> {
    let base: String = std::path::absolute(root)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let base = base.trim_matches('-');
    let base = if base.is_empty() { "registry" } else { base };
    let mut bytes = [0u8; 5];
    getrandom::fill(&mut bytes).map_err(|e| Error::Output(format!("no randomness for the registry's name: {e}")))?;
    const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let suffix: String = bytes.iter().map(|b| CROCKFORD[(*b & 31) as usize] as char).collect();
    Ok(format!("{}-{suffix}", base.chars().take(60).collect::<String>()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::policy::Policy;

    #[test]
    fn template_is_the_default_policy() {
        let text = POLICY_TEMPLATE.replace("{registry}", "acme-sec-7K3QX");
        let parsed = registry::parse_policy(text.as_bytes(), "exc.yaml").unwrap();
        let mut want = Policy::default();
        want.trust.registry = Some("acme-sec-7K3QX".into());
        assert_eq!(parsed, want);
    }
}
