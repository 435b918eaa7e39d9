#!/usr/bin/env bash
# Rebuilds the sample registry (exc.yaml + exceptions/) with exc itself, so every
# digest, approval and review in it is real. Deterministic: ids, people and dates
# are fixed with --id, --requester, --by and --as-of.
#
#   cargo build && examples/sample-registry.sh            # rewrites ./exceptions
#   EXC=target/release/exc examples/sample-registry.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EXC=${EXC:-$PWD/target/debug/exc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp exc.yaml "$work/exc.yaml"
cd "$work"

ANN='Ann Lee <ann.lee@example.com>'          # platform engineer
RAJ='Raj Iyer <raj.iyer@example.com>'        # network engineer
MEI='Mei Wong <mei.wong@example.com>'        # OT engineer
SAM='Sam Okafor <sam.okafor@example.com>'    # security (tier-1)
PRI='Priya Patel <priya.patel@example.com>'  # security (tier-1)
CAR='Carol Chen <carol.chen@example.com>'    # CISO
DANA='Dana Ortiz <dana.ortiz@example.com>'   # VP Sales: owns the CRM risk
LEO='Leo Marsh <leo.marsh@example.com>'      # head of infrastructure
NIA='Nia Brooks <nia.brooks@example.com>'    # plant operations manager

new() { "$EXC" new --yes "$@" >/dev/null; }
do_() { "$EXC" "$@" >/dev/null; }

# 1. MFA bypass for a legacy CRM: high risk, approved by security and the risk owner.
new --id EXC-0001 --as-of 2026-10-01 --requester "$ANN" --type mfa-bypass \
  --title 'MFA bypass for the legacy SalesPro 7 CRM' \
  --justification 'SalesPro 7 cannot do SAML or TOTP; enforcing MFA blocks 140 sales logins, est. revenue loss $10k/week until the SSO migration ships' \
  --risk-owner "$DANA" --asset crm-app-01 --asset crm-app-02 \
  --compensating-control 'Logins allowed only from the office and VPN IP ranges' \
  --compensating-control 'Password length 16+, rotated every 60 days' \
  --compensating-control 'Impossible-travel alerts in the SIEM' \
  --attachment 'https://wiki.example.com/security/EXC-0001/vendor-letter.pdf' --ticket SEC-2041 --expires 2026-12-30
do_ approve EXC-0001 --as-of 2026-10-02 --by "$SAM" --role security --risk high --note 'Controls verified with a test login from outside the allow-list'
do_ approve EXC-0001 --as-of 2026-10-03 --by "$DANA" --role risk_owner

# 2. Firewall rule for a vendor IP range: medium risk.
new --id EXC-0002 --as-of 2026-09-15 --requester "$RAJ" --type firewall-rule \
  --title 'Allow Acme Analytics 203.0.113.0/24 to the reporting replica on 5432' \
  --justification 'Acme builds the quarterly board reports from the replica; their SaaS cannot use our bastion' \
  --risk-owner "$LEO" --asset rpt-db-replica-01 \
  --compensating-control 'Read-only database role limited to the reporting schema' \
  --compensating-control 'Source range pinned to Acme egress IPs; flow logs reviewed weekly' \
  --ticket NET-877 --expires 2027-03-14
do_ approve EXC-0002 --as-of 2026-09-16 --by "$PRI" --note 'Range matches the Acme security pack'

# 3. Delayed vulnerability patch with CVE ids: medium risk, approved.
new --id EXC-0003 --as-of 2026-11-10 --requester "$ANN" --type vulnerability-deferral \
  --title 'Defer the OpenSSL 3.0 patch on the payments HSM gateway' \
  --justification 'The HSM vendor certifies its gateway build only; a self-applied patch voids PCI support. Vendor fix due 2027-01' \
  --risk-owner "$LEO" --asset pay-hsm-gw-01 --asset pay-hsm-gw-02 \
  --finding CVE-2026-31337 --finding CVE-2026-31338 \
  --compensating-control 'WAF virtual patch blocking the malformed-certificate exploit' \
  --compensating-control 'Gateway reachable only from the payments VLAN' \
  --ticket SEC-2107 --expires 2027-02-08
do_ approve EXC-0003 --as-of 2026-11-11 --by "$SAM"

# 4. Air-gapped host without the EDR agent: high risk, recertified once.
new --id EXC-0004 --as-of 2026-05-01 --requester "$MEI" --type endpoint-control-gap \
  --title 'Air-gapped SCADA historian without the EDR agent' \
  --justification 'The historian is air-gapped and its vendor forbids third-party agents; the plant line stops if it is modified' \
  --risk-owner "$NIA" --asset ot-historian-01 \
  --compensating-control 'No network path: physically isolated, USB ports epoxied' \
  --compensating-control 'Monthly offline AV scan from a write-protected medium' \
  --attachment 'https://wiki.example.com/security/EXC-0004/network-diagram.pdf' --expires 2026-10-28
do_ approve EXC-0004 --as-of 2026-05-04 --by "$PRI" --risk high
do_ approve EXC-0004 --as-of 2026-05-05 --by "$NIA"
do_ recertify EXC-0004 --as-of 2026-09-14 --by "$PRI" --controls-effective yes --justification-valid yes \
  --better-option no --expires 2027-03-13 --note 'Isolation re-checked on site'

# 5. Temporary vendor access without full IAM: waiting for security.
new --id EXC-0005 --as-of 2026-11-24 --requester "$RAJ" --type vendor-access \
  --title 'VPN access for NetServ engineers during the core switch upgrade' \
  --justification 'NetServ performs the upgrade under contract; onboarding them into IAM takes 6 weeks' \
  --risk-owner "$LEO" --asset core-sw-01 --asset core-sw-02 \
  --compensating-control 'Named accounts, session recording, access window 22:00-04:00 only' \
  --ticket CHG-5521 --expires 2026-12-15

# 6. Legacy system, extended three times (chronic), then expired by the nightly job.
new --id EXC-0006 --as-of 2025-06-02 --requester "$MEI" --type legacy-system \
  --title 'Windows Server 2012 R2 on the lab-instrument controller' \
  --justification 'The spectrometer driver only runs on 2012 R2; the lab cannot release batches without it' \
  --risk-owner "$NIA" --asset lab-ctl-07 \
  --migration-plan 'Replace the spectrometer with the 2026 model (capex approved for FY27 Q1)' \
  --compensating-control 'Host firewall allows only the LIMS server' \
  --attachment 'https://wiki.example.com/security/EXC-0006/risk-assessment.pdf' --expires 2025-11-28
do_ approve EXC-0006 --as-of 2025-06-03 --by "$SAM" --risk high
do_ approve EXC-0006 --as-of 2025-06-04 --by "$NIA"
do_ recertify EXC-0006 --as-of 2025-09-01 --by "$SAM" --controls-effective yes --justification-valid yes --better-option no --expires 2026-02-27
do_ recertify EXC-0006 --as-of 2026-01-05 --by "$SAM" --controls-effective yes --justification-valid yes --better-option no --expires 2026-07-03
do_ recertify EXC-0006 --as-of 2026-05-04 --by "$PRI" --controls-effective yes --justification-valid yes --better-option yes \
  --expires 2026-10-31 --note 'Replacement spectrometer ordered; last extension'
do_ expire --apply --as-of 2026-11-01

# 7. Rejected: a shared admin account.
new --id EXC-0007 --as-of 2026-08-11 --requester "$RAJ" --type other \
  --title 'Shared admin account for the badge-access system' \
  --justification 'The badge system supports one admin login; three facilities staff need it' \
  --risk-owner "$LEO" --asset badge-srv-01 --compensating-control 'Password kept in the team vault'
do_ reject EXC-0007 --as-of 2026-08-12 --by "$SAM" --reason 'The vendor supports LDAP login since v5.2; upgrade instead'

# 8. Retired: the root cause was fixed.
new --id EXC-0008 --as-of 2026-07-06 --requester "$ANN" --type vulnerability-deferral \
  --title 'Defer the log4j upgrade in the archived reporting app' \
  --justification 'The app is read-only and due for decommission; upgrading needs a rebuild nobody can do' \
  --risk-owner "$LEO" --asset rpt-archive-01 --finding CVE-2021-44228 \
  --compensating-control 'JNDI lookups disabled by JVM flag' --expires 2026-10-04
do_ approve EXC-0008 --as-of 2026-07-07 --by "$PRI"
do_ retire EXC-0008 --as-of 2026-09-21 --by "$ANN" --reason 'App decommissioned (CHG-5310)'

# 9. Revoked: a compensating control failed.
new --id EXC-0009 --as-of 2026-08-03 --requester "$RAJ" --type firewall-rule \
  --title 'Inbound SMB from the Leeds branch NAS to the file server' \
  --justification 'Branch backups go to head office over SMB until the backup appliance arrives' \
  --risk-owner "$LEO" --asset fs-01 --compensating-control 'Source pinned to the NAS IP'
do_ approve EXC-0009 --as-of 2026-08-04 --by "$SAM"
do_ revoke EXC-0009 --as-of 2026-10-19 --by "$SAM" --reason 'The NAS IP moved to DHCP; the source pin no longer holds'

# 10. Critical: a break-glass account without MFA, waiting for the CISO.
new --id EXC-0010 --as-of 2026-11-18 --requester "$RAJ" --type mfa-bypass \
  --title 'Break-glass console account without MFA on the core routers' \
  --justification 'If the RADIUS/MFA service is down, nobody can log in to restore routing' \
  --risk-owner "$LEO" --asset core-rtr-01 --asset core-rtr-02 \
  --compensating-control 'Password split between two sealed envelopes in the safe' \
  --compensating-control 'Any login pages the on-call security engineer' \
  --attachment 'https://wiki.example.com/security/EXC-0010/break-glass-runbook.pdf' --expires 2027-02-15
do_ approve EXC-0010 --as-of 2026-11-19 --by "$PRI" --risk critical
do_ approve EXC-0010 --as-of 2026-11-20 --by "$LEO"

# 11. Urgent vendor access during an incident: approved the same day, expiring soon.
new --id EXC-0011 --as-of 2026-11-23 --urgency urgent --requester "$ANN" --type vendor-access \
  --title 'Emergency DB access for Acme support during incident INC-9912' \
  --justification 'P1 incident: order database replication broken; only Acme support can repair it' \
  --risk-owner "$LEO" --asset orders-db-01 \
  --compensating-control 'Screen-shared sessions only, with a DBA present' --ticket INC-9912 --expires 2026-12-05
do_ approve EXC-0011 --as-of 2026-11-23 --by "$SAM" --note 'Incident commander confirmed'

# 12. Low risk: approved on submit by policy.
new --id EXC-0012 --as-of 2026-11-16 --requester "$ANN" --type dev-tooling \
  --title 'Debug port 5005 open on the staging payment simulator' \
  --justification 'Developers attach a debugger to reproduce settlement bugs; staging holds no card data' \
  --risk-owner "$LEO" --asset stg-paysim-01 --compensating-control 'Staging network reachable from VPN only' --expires 2027-01-10

cd - >/dev/null
mkdir -p exceptions
cp "$work"/exceptions/*.yaml exceptions/
echo "Wrote $(ls "$work"/exceptions/*.yaml | wc -l) records to exceptions/"
