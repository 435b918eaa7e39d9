#!/usr/bin/env bash
# Rebuilds the sample registry (exc.yaml + exceptions/) in this repository's
# own history, commit by commit, each decision made, signed and committed by
# the person it names, in time order, with exc itself. So `exc check` and
# `exc audit` verify real signatures and a real history on a fresh clone.
#
#   cargo build && examples/sample-registry.sh
#   EXC=target/release/exc examples/sample-registry.sh
#
# It needs a clean work tree. It starts over with two commits by the sample
# CISO: one that clears exceptions/ and writes the sample policy (the audit's
# trusted starting point), and one, approved and signed by her, that names it
# as `trust.audit_from`. Then it adds about thirty dated commits. The keys in
# examples/keys/ are published throwaway keys (see its README).
set -euo pipefail
cd "$(dirname "$0")/.."
EXC=${EXC:-$PWD/target/debug/exc}
KEYS=examples/keys
if [ -n "$(git status --porcelain)" ]; then
  echo "sample-registry.sh: commit or stash your changes first (it commits the sample's history)" >&2
  exit 2
fi

# name email key
declare -A NAME=(
  [ann]='Ann Lee'      [raj]='Raj Iyer'     [mei]='Mei Wong'    [sam]='Sam Okafor'
  [priya]='Priya Patel' [carol]='Carol Chen' [dana]='Dana Ortiz' [leo]='Leo Marsh'
  [nia]='Nia Brooks'   [ci-bot]='exc nightly'
)
declare -A EMAIL=(
  [ann]=ann.lee@example.com [raj]=raj.iyer@example.com [mei]=mei.wong@example.com
  [sam]=sam.okafor@example.com [priya]=priya.patel@example.com [carol]=carol.chen@example.com
  [dana]=dana.ortiz@example.com [leo]=leo.marsh@example.com [nia]=nia.brooks@example.com
  [ci-bot]=exc-nightly@example.com
)
person() { echo "${NAME[$1]} <${EMAIL[$1]}>"; }

# Keys: made once, committed; git does not keep file modes, so tighten them.
# The nightly job (ci-bot) acts in the policy's name and has no key.
for p in "${!NAME[@]}"; do
  [ "$p" = ci-bot ] && continue
  [ -f "$KEYS/$p" ] || ssh-keygen -q -t ed25519 -N '' -C "$p (sample key, published: never use it)" -f "$KEYS/$p"
  chmod 600 "$KEYS/$p"
done
{
  echo "# The sample registry's people and their public keys (git's allowed_signers format)."
  echo "# Throwaway keys whose private halves are published in this folder: never trust them."
  for p in ann carol dana leo mei nia priya raj sam; do
    echo "${EMAIL[$p]} $(cut -d' ' -f1,2 "$KEYS/$p.pub")"
  done
} > "$KEYS/allowed_signers"

# as WHO WHEN CMD...: runs CMD as WHO (git identity, signing key) at WHEN (UTC).
as() {
  local who=$1 when=$2; shift 2
  GIT_AUTHOR_NAME="${NAME[$who]}" GIT_AUTHOR_EMAIL="${EMAIL[$who]}" \
  GIT_COMMITTER_NAME="${NAME[$who]}" GIT_COMMITTER_EMAIL="${EMAIL[$who]}" \
  GIT_AUTHOR_DATE="$when" GIT_COMMITTER_DATE="$when" EXC_TEST_CLOCK="$when" "$@"
}
# exc_as WHO WHEN ARGS...: an exc command that records a decision, signed and committed.
exc_as() { local who=$1 when=$2; shift 2; as "$who" "$when" "$EXC" "$@" --commit --key "$KEYS/$who" >/dev/null; }
new_as() { local who=$1 when=$2; shift 2; as "$who" "$when" "$EXC" new --yes --commit --requester "$(person "$who")" --key "$KEYS/$who" "$@" >/dev/null; }

# 1. Start over: the sample policy, its keys, and no records (the trusted starting point).
policy() {
  cat <<'YAML'
# yaml-language-server: $schema=schema/policy.schema.json
# The sample registry's policy: the built-in defaults plus the people who hold
# each role, their (published, throwaway) keys, one low-risk type, and the
# asset inventory size.

roles:
  security: [sam.okafor@example.com, priya.patel@example.com]
  ciso: [carol.chen@example.com]

types:
  mfa-bypass: { title: MFA bypass, default_risk: high, max_days: 90, controls: ["NIST-800-53:IA-2(1)", "CIS:6.5"] }
  firewall-rule: { title: Firewall rule exception, default_risk: medium, max_days: 180, controls: ["NIST-800-53:SC-7", "CIS:4.4"] }
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
  vendor-access: { title: Temporary vendor access, default_risk: medium, max_days: 30, controls: ["NIST-800-53:AC-2", "CIS:5.3"] }
  legacy-system:
    title: Legacy system support
    default_risk: high
    max_days: 180
    require: [migration_plan]
    controls: ["NIST-800-53:SA-22", "CIS:2.2"]
  dev-tooling: { title: Developer tooling on non-production hosts, default_risk: low, max_days: 60, controls: ["CIS:4.8"] }
  other: { title: Other, default_risk: medium, max_days: 90 }

risk:
  low: { approvers: [] }
  medium: { approvers: [security] }
  high: { approvers: [security, risk_owner], require: [attachments] }
  critical: { approvers: [security, risk_owner, ciso], require: [attachments] }

sla: { urgent_hours: 24, standard_hours: 120 }
review: { interval_days: 90, remind_before_days: 14, remind_at_lifetime: 0.75, grace_days: 14, chronic_after_extensions: 2 }
targets:
  assets_excepted_max_pct: 5        # % of the inventory under an active exception
  approval_hours_max: 48            # average hours from request to approval
  open_ended_max: 0                 # active exceptions lasting longer than their type allows
  overdue_max_pct: 0                # % of open exceptions past expiry or review
  compensating_controls_min_pct: 100  # % of active exceptions with a compensating control
  chronic_max: 0                    # active exceptions extended more than twice
  sla_breaches_max: 0               # requests decided (or pending) past their SLA
assets:
  total: 1200
  # The scan targets an asset stands for: they scope the scanner suppressions.
  targets:
    pay-hsm-gw-01: ["registry.example.com/payments/hsm-gateway*"]
    pay-hsm-gw-02: ["registry.example.com/payments/hsm-gateway*"]
git: { commit: false }
# The scanner suppression files this repository keeps (exc export --all, nightly).
exports: [trivyignore, osv-scanner]

# Decisions are signed; the keys are in examples/keys (published: sample only).
# Changes to this file take effect once the CISO approves them (`exc policy approve`).
trust:
  registry: example-corp/security-exceptions
  signatures: required
  owners: [ciso]
  allowed_signers: examples/keys/allowed_signers
YAML
}
# The trust root CI pins: the sample CISO's key, who owns the policy.
ssh-keygen -lf "$KEYS/carol.pub" | awk '{print $2}' > "$KEYS/trust-root"
git rm -q --ignore-unmatch exceptions/*.yaml
mkdir -p exceptions && touch exceptions/.gitkeep
policy > exc.yaml
git add -A exc.yaml exceptions "$KEYS"
as carol 2025-06-01T08:00:00Z git commit -q -m "sample: start the sample registry over (the audit's trusted starting point)"
start=$(git rev-parse HEAD)
# 2. The audit starts there: a policy change, approved and signed by the CISO.
policy > exc.yaml
echo "  audit_from: $start" >> exc.yaml
as carol 2025-06-01T09:00:00Z "$EXC" policy approve --base HEAD --key "$KEYS/carol" --commit >/dev/null

ANN=$(person ann); RAJ=$(person raj); MEI=$(person mei); LEO=$(person leo); NIA=$(person nia); DANA=$(person dana)
RECERT=(--controls-effective yes --justification-valid yes)

# 3. The records' lives, in time order.
new_as mei 2025-06-02T09:00:00Z --id EXC-0006 --type legacy-system \
  --title 'Windows Server 2012 R2 on the lab-instrument controller' \
  --justification 'The spectrometer driver only runs on 2012 R2; the lab cannot release batches without it' \
  --risk-owner "$NIA" --asset lab-ctl-07 \
  --migration-plan 'Replace the spectrometer with the 2026 model (capex approved for FY27 Q1)' \
  --compensating-control 'Host firewall allows only the LIMS server' \
  --attachment 'https://wiki.example.com/security/EXC-0006/risk-assessment.pdf' --expires 2025-11-28
exc_as sam 2025-06-03T10:00:00Z approve EXC-0006 --risk high
exc_as nia 2025-06-04T11:00:00Z approve EXC-0006
# An extension needs every role that approved: security extends, the risk owner approves the new date.
exc_as sam 2025-09-01T10:00:00Z recertify EXC-0006 "${RECERT[@]}" --better-option no --expires 2026-02-27
exc_as nia 2025-09-01T15:00:00Z approve EXC-0006
exc_as sam 2026-01-05T10:00:00Z recertify EXC-0006 "${RECERT[@]}" --better-option no --expires 2026-07-03
exc_as nia 2026-01-05T15:00:00Z approve EXC-0006

new_as mei 2026-05-01T09:00:00Z --id EXC-0004 --type endpoint-control-gap \
  --title 'Air-gapped SCADA historian without the EDR agent' \
  --justification 'The historian is air-gapped and its vendor forbids third-party agents; the plant line stops if it is modified' \
  --risk-owner "$NIA" --asset ot-historian-01 \
  --compensating-control 'No network path: physically isolated, USB ports epoxied' \
  --compensating-control 'Monthly offline AV scan from a write-protected medium' \
  --attachment 'https://wiki.example.com/security/EXC-0004/network-diagram.pdf' --expires 2026-10-28
exc_as priya 2026-05-04T10:00:00Z approve EXC-0004 --risk high
exc_as priya 2026-05-04T14:00:00Z recertify EXC-0006 "${RECERT[@]}" --better-option yes \
  --expires 2026-10-31 --note 'Replacement spectrometer ordered; last extension'
exc_as nia 2026-05-05T09:30:00Z approve EXC-0004
exc_as nia 2026-05-05T09:45:00Z approve EXC-0006

new_as ann 2026-07-06T09:00:00Z --id EXC-0008 --type vulnerability-deferral \
  --title 'Defer the log4j upgrade in the archived reporting app' \
  --justification 'The app is read-only and due for decommission; upgrading needs a rebuild nobody can do' \
  --risk-owner "$LEO" --asset rpt-archive-01 --finding CVE-2021-44228 \
  --compensating-control 'JNDI lookups disabled by JVM flag' --expires 2026-10-04
exc_as priya 2026-07-07T10:00:00Z approve EXC-0008

new_as raj 2026-08-03T09:00:00Z --id EXC-0009 --type firewall-rule \
  --title 'Inbound SMB from the Leeds branch NAS to the file server' \
  --justification 'Branch backups go to head office over SMB until the backup appliance arrives' \
  --risk-owner "$LEO" --asset fs-01 --compensating-control 'Source pinned to the NAS IP'
exc_as sam 2026-08-04T10:00:00Z approve EXC-0009

new_as raj 2026-08-11T09:00:00Z --id EXC-0007 --type other \
  --title 'Shared admin account for the badge-access system' \
  --justification 'The badge system supports one admin login; three facilities staff need it' \
  --risk-owner "$LEO" --asset badge-srv-01 --compensating-control 'Password kept in the team vault'
exc_as sam 2026-08-12T10:00:00Z reject EXC-0007 --reason 'The vendor supports LDAP login since v5.2; upgrade instead'

exc_as priya 2026-09-14T10:00:00Z recertify EXC-0004 "${RECERT[@]}" --better-option no \
  --expires 2027-03-13 --note 'Isolation re-checked on site'
exc_as nia 2026-09-14T16:00:00Z approve EXC-0004

new_as raj 2026-09-15T09:00:00Z --id EXC-0002 --type firewall-rule \
  --title 'Allow Acme Analytics 203.0.113.0/24 to the reporting replica on 5432' \
  --justification 'Acme builds the quarterly board reports from the replica; their SaaS cannot use our bastion' \
  --risk-owner "$LEO" --asset rpt-db-replica-01 \
  --compensating-control 'Read-only database role limited to the reporting schema' \
  --compensating-control 'Source range pinned to Acme egress IPs; flow logs reviewed weekly' \
  --ticket NET-877 --expires 2027-03-14
exc_as priya 2026-09-16T10:00:00Z approve EXC-0002 --note 'Range matches the Acme security pack'

exc_as ann 2026-09-21T09:00:00Z retire EXC-0008 --reason 'App decommissioned (CHG-5310)'

new_as ann 2026-10-01T09:00:00Z --id EXC-0001 --type mfa-bypass \
  --title 'MFA bypass for the legacy SalesPro 7 CRM' \
  --justification 'SalesPro 7 cannot do SAML or TOTP; enforcing MFA blocks 140 sales logins, est. revenue loss $10k/week until the SSO migration ships' \
  --risk-owner "$DANA" --asset crm-app-01 --asset crm-app-02 \
  --compensating-control 'Logins allowed only from the office and VPN IP ranges' \
  --compensating-control 'Password length 16+, rotated every 60 days' \
  --compensating-control 'Impossible-travel alerts in the SIEM' \
  --attachment 'https://wiki.example.com/security/EXC-0001/vendor-letter.pdf' --ticket SEC-2041 --expires 2026-12-30
exc_as sam 2026-10-02T10:00:00Z approve EXC-0001 --risk high --note 'Controls verified with a test login from outside the allow-list'
exc_as dana 2026-10-03T11:00:00Z approve EXC-0001

exc_as sam 2026-10-19T10:00:00Z revoke EXC-0009 --reason 'The NAS IP moved to DHCP; the source pin no longer holds'

# The nightly job closes what lapsed (EXC-0006 expired on 2026-10-31), in the
# policy's name: expiry is checked, not signed, so it needs no key.
as ci-bot 2026-11-01T02:00:00Z "$EXC" expire --apply --commit >/dev/null

new_as ann 2026-11-10T09:00:00Z --id EXC-0003 --type vulnerability-deferral \
  --title 'Defer the OpenSSL 3.0 patch on the payments HSM gateway' \
  --justification 'The HSM vendor certifies its gateway build only; a self-applied patch voids PCI support. Vendor fix due 2027-01' \
  --risk-owner "$LEO" --asset pay-hsm-gw-01 --asset pay-hsm-gw-02 \
  --finding CVE-2026-31337 --finding 'CVE-2026-31338 purl=pkg:deb/debian/openssl@3.0.11-1' \
  --compensating-control 'WAF virtual patch blocking the malformed-certificate exploit' \
  --compensating-control 'Gateway reachable only from the payments VLAN' \
  --ticket SEC-2107 --expires 2027-02-08
exc_as sam 2026-11-11T10:00:00Z approve EXC-0003

# Low risk: approved on submit by policy.
new_as ann 2026-11-16T09:00:00Z --id EXC-0012 --type dev-tooling \
  --title 'Debug port 5005 open on the staging payment simulator' \
  --justification 'Developers attach a debugger to reproduce settlement bugs; staging holds no card data' \
  --risk-owner "$LEO" --asset stg-paysim-01 --compensating-control 'Staging network reachable from VPN only' --expires 2027-01-10

# Critical: a break-glass account without MFA, waiting for the CISO.
new_as raj 2026-11-18T09:00:00Z --id EXC-0010 --type mfa-bypass \
  --title 'Break-glass console account without MFA on the core routers' \
  --justification 'If the RADIUS/MFA service is down, nobody can log in to restore routing' \
  --risk-owner "$LEO" --asset core-rtr-01 --asset core-rtr-02 \
  --compensating-control 'Password split between two sealed envelopes in the safe' \
  --compensating-control 'Any login pages the on-call security engineer' \
  --attachment 'https://wiki.example.com/security/EXC-0010/break-glass-runbook.pdf' --expires 2027-02-15
exc_as priya 2026-11-19T10:00:00Z approve EXC-0010 --risk critical
exc_as leo 2026-11-20T11:00:00Z approve EXC-0010

# A review by the risk owner that keeps the date: a review, not an extension.
exc_as leo 2026-11-20T15:00:00Z recertify EXC-0002 "${RECERT[@]}" --better-option no \
  --note 'Acme egress range and flow-log review re-confirmed'


# Urgent vendor access during an incident: approved the same day, expiring soon.
new_as ann 2026-11-23T07:00:00Z --id EXC-0011 --urgency urgent --type vendor-access \
  --title 'Emergency DB access for Acme support during incident INC-9912' \
  --justification 'P1 incident: order database replication broken; only Acme support can repair it' \
  --risk-owner "$LEO" --asset orders-db-01 \
  --compensating-control 'Screen-shared sessions only, with a DBA present' --ticket INC-9912 --expires 2026-12-05
exc_as sam 2026-11-23T09:00:00Z approve EXC-0011 --note 'Incident commander confirmed'

# Temporary vendor access without full IAM: waiting for security.
new_as raj 2026-11-24T09:00:00Z --id EXC-0005 --type vendor-access \
  --title 'VPN access for NetServ engineers during the core switch upgrade' \
  --justification 'NetServ performs the upgrade under contract; onboarding them into IAM takes 6 weeks' \
  --risk-owner "$LEO" --asset core-sw-01 --asset core-sw-02 \
  --compensating-control 'Named accounts, session recording, access window 22:00-04:00 only' \
  --ticket CHG-5521 --expires 2026-12-15

# The nightly job regenerates the scanner suppression files exc.yaml lists.
as ci-bot 2026-11-25T02:00:00Z "$EXC" export --all --as-of 2026-11-25 2>/dev/null
as ci-bot 2026-11-25T02:00:00Z git add .trivyignore.yaml osv-scanner.toml
as ci-bot 2026-11-25T02:00:00Z git diff --cached --quiet ||
  as ci-bot 2026-11-25T02:00:00Z git commit -qm 'exc: regenerate scanner suppressions'

echo "Rebuilt the sample registry: $(ls exceptions/*.yaml | wc -l) records, $(git rev-list --count "$start"..HEAD) commits since $(git rev-parse --short "$start")."
"$EXC" check --as-of 2026-11-27 --fail-on-expired | tail -n 1
"$EXC" audit | tail -n 1
