//! Synthetic registry generator for benchmarks: a git repository with realistic
//! records and a history that follows the real workflow (a request, approvals
//! by different people, recertifications, closures, one commit each), built
//! with exc's own lifecycle functions so every digest is real.
//!
//!   cargo run --release --example synth -- --records 10000 --commits 30000 DIR
//!
//! Every decision is signed, as exc signs it, with a key made for each person
//! from the seed (`keys/allowed_signers` lists them; the policy requires
//! signatures). Same `--seed`, same repository (commit ids included). History is streamed to
//! `git fast-import`. Each commit rewrites the `exceptions/` tree (one entry per
//! record), so very large registries are generated with fewer commits than
//! changes: `--commits` below about 3.3 per record batches changes into merges.

use std::collections::BinaryHeap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use exc::model::lifecycle::{self, Act, Action};
use exc::model::policy::Policy;
use exc::model::record::{Exception, ReviewDecision, Risk, Status, Urgency};
use exc::model::review::Checklist;
use exc::model::routing::POLICY_APPROVER;

const POLICY: &str = include_str!("../exc.yaml");
const SCHEMA_LINE: &str = "# yaml-language-server: $schema=../schema/exception.schema.json\n";

/// SplitMix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

struct Args {
    records: usize,
    commits: usize,
    seed: u64,
    dir: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { records: 1000, commits: 0, seed: 42, dir: PathBuf::new() };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            it.next().and_then(|v| v.parse().ok()).ok_or(format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--records" => a.records = num("--records")? as usize,
            "--commits" => a.commits = num("--commits")? as usize,
            "--seed" => a.seed = num("--seed")?,
            "-h" | "--help" => return Err(String::new()),
            other if !other.starts_with('-') => a.dir = PathBuf::from(other),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if a.dir.as_os_str().is_empty() {
        return Err("give the output directory".into());
    }
    if a.commits == 0 {
        a.commits = a.records * 3;
    }
    Ok(a)
}

/// One step in a record's life, at a time.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    at: std::cmp::Reverse<i64>,
    seq: std::cmp::Reverse<u64>,
    record: usize,
    step: Step,
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Step {
    Create,
    Approve,
    Reject,
    Recertify(u8),
    Note,
    Retire,
    Revoke,
    Expire,
    /// The nightly `exc expire --apply`: closes the record if it lapsed.
    Nightly,
}

fn person(kind: &str, i: usize) -> String {
    format!("{} {i:04} <{}{i:04}@example.com>", kind.to_uppercase(), kind.to_lowercase())
}

/// Who closes records as expired: the nightly job's identity.
/// The nightly job's git identity; it closes what lapsed in the policy's name.
const BOT: &str = "exc nightly <exc-nightly@example.com>";

/// Everyone's signing key, made from the seed.
struct Signers {
    keys: std::collections::BTreeMap<String, ssh_key::PrivateKey>,
}

impl Signers {
    fn new(people: impl Iterator<Item = String>, seed: u64) -> Signers {
        use sha2::Digest;
        let keys = people
            .map(|p| {
                let email = exc::model::identity::email_of(&p).to_string();
                let bytes: [u8; 32] = sha2::Sha256::digest(format!("{seed}:{email}")).into();
                let pair = ssh_key::private::Ed25519Keypair::from_seed(&bytes);
                (email, ssh_key::PrivateKey::from(pair))
            })
            .collect();
        Signers { keys }
    }

    /// The allowed_signers file for everyone.
    fn allowed_signers(&self) -> String {
        self.keys
            .iter()
            .map(|(email, k)| format!("{email} {}\n", k.public_key().to_openssh().unwrap_or_default()))
            .collect()
    }

    /// One lifecycle step, as exc itself takes it: the new decision signed by its maker.
    fn apply(&self, e: &Exception, policy: &Policy, act: &Act, action: Action) -> Result<Exception, String> {
        let mut t = lifecycle::apply(e, policy, act, action)?;
        if act.actor == POLICY_APPROVER {
            return Ok(t.after); // the policy's own acts are checked, not signed
        }
        let email = exc::model::identity::email_of(act.actor);
        let key = self.keys.get(email).ok_or_else(|| format!("no key for {email}"))?;
        let bytes = exc::model::statement::statements(&t.after, policy.trust.registry.as_deref())
            .into_iter()
            .find(|(en, _)| *en == t.entry)
            .map(|(_, b)| b)
            .ok_or("no statement")?;
        let stored = sign(key, &bytes)?;
        exc::model::statement::set_signature(&mut t.after, t.entry, stored);
        Ok(t.after)
    }

    /// The request signed by its requester, as `exc new` signs it.
    fn sign_request(&self, mut e: Exception, policy: &Policy) -> Result<Exception, String> {
        let email = exc::model::identity::email_of(&e.requester);
        let key = self.keys.get(email).ok_or_else(|| format!("no key for {email}"))?;
        let bytes = exc::model::statement::request_statement(&e, policy.trust.registry.as_deref());
        e.signature = Some(sign(key, &bytes)?);
        Ok(e)
    }
}

/// An sshsig signature by `key` over `bytes`, as exc stores it.
fn sign(key: &ssh_key::PrivateKey, bytes: &[u8]) -> Result<String, String> {
    let sig = ssh_key::SshSig::sign(key, exc::model::signature::NAMESPACE, ssh_key::HashAlg::Sha512, bytes)
        .map_err(|e| e.to_string())?;
    let armored = sig.to_pem(ssh_key::LineEnding::LF).map_err(|e| e.to_string())?;
    exc::model::signature::from_armored(&armored)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("synth: {e}");
            }
            eprintln!("usage: synth [--records N] [--commits N] [--seed N] DIR");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("synth: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    // The sample policy, with its keys file in the synthetic repository and no audit start.
    let policy_text: String = POLICY
        .lines()
        .filter(|l| !l.trim_start().starts_with("audit_from:"))
        .map(|l| l.replace("examples/keys/allowed_signers", "keys/allowed_signers") + "\n")
        .collect();
    let policy_text = policy_text.split("\n# Signed approvals of this policy").next().unwrap_or("").to_string();
    let mut policy = exc::parse_policy(policy_text.as_bytes(), "exc.yaml").map_err(|e| e.to_string())?;
    let security: Vec<String> = policy.roles["security"].iter().map(|e| format!("Security Reviewer <{e}>")).collect();
    let ciso: Vec<String> = policy.roles["ciso"].iter().map(|e| format!("CISO <{e}>")).collect();
    let people = (0..200)
        .map(|i| person("Engineer", i))
        .chain((0..50).map(|i| person("Owner", i)))
        .chain(security.iter().cloned())
        .chain(ciso.iter().cloned());
    let signers = Signers::new(people, args.seed);
    let allowed_signers = signers.allowed_signers();
    if !policy.load_keys(Some(&allowed_signers)).is_empty() {
        return Err("the generated keys do not read back".into());
    }
    let types: Vec<(String, Risk, u32)> =
        policy.types.iter().map(|(k, t)| (k.clone(), t.default_risk, t.max_days)).collect();
    let mut rng = Rng(args.seed);
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).single().ok_or("bad clock")?;
    let span = Duration::days(730);
    let start = now - span;

    // Plan every record's events, then replay them in time order.
    let mut records: Vec<Option<Exception>> = (0..args.records).map(|_| None).collect();
    let mut plans: Vec<(usize, Status, u8)> = Vec::with_capacity(args.records);
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<Event>, at: DateTime<Utc>, record: usize, step: Step| {
        seq += 1;
        heap.push(Event { at: std::cmp::Reverse(at.timestamp()), seq: std::cmp::Reverse(seq), record, step });
    };
    let natural_per_record = 3.2;
    let notes_pct = (((args.commits as f64 / args.records.max(1) as f64) - natural_per_record).max(0.0) * 100.0) as u64;
    for i in 0..args.records {
        let created = start + Duration::minutes(rng.below(span.num_minutes() as u64 - 60 * 24 * 10) as i64);
        let roll = rng.below(100);
        let target = match roll {
            0..=9 => Status::Requested,
            10..=14 => Status::Rejected,
            15..=24 => Status::Retired,
            25..=29 => Status::Revoked,
            30..=44 => Status::Expired,
            _ => Status::Approved,
        };
        let type_index = rng.below(types.len() as u64) as usize;
        // Pending requests are recent (older ones were decided long ago), and what is
        // still approved today was mostly filed in the last few months.
        let created = match target {
            Status::Requested => now - Duration::hours(1 + rng.below(24 * 6) as i64),
            Status::Approved => now - Duration::hours(24 * 7 + rng.below(24 * 150) as i64),
            _ => created,
        };
        // Low risk is approved on submit: it is never pending or rejected.
        let target = match (types[type_index].1, target) {
            (Risk::Low, Status::Requested | Status::Rejected) => Status::Approved,
            (_, t) => t,
        };
        let extensions = if matches!(target, Status::Approved | Status::Expired) { rng.below(4) as u8 } else { 0 };
        plans.push((type_index, target, extensions));
        push(&mut heap, created, i, Step::Create);
        let decided = created + Duration::hours(1 + rng.below(110) as i64);
        match target {
            _ if types[type_index].1 == Risk::Low => {}
            Status::Requested => {}
            Status::Rejected => push(&mut heap, decided, i, Step::Reject),
            _ => push(&mut heap, decided, i, Step::Approve),
        }
        let mut note_at = created + Duration::hours(2 + rng.below(500) as i64);
        let mut pct = notes_pct;
        while pct > 0 && note_at < now {
            if rng.below(100) < pct.min(100) {
                push(&mut heap, note_at, i, Step::Note);
            }
            pct = pct.saturating_sub(100);
            note_at += Duration::hours(1 + rng.below(300) as i64);
        }
    }

    let mut out = FastImport::start(&args.dir)?;
    out.commit(
        "Registry Admin <admin@example.com>",
        start - Duration::days(1),
        "exc: initial policy",
        &[("exc.yaml", policy_text.clone()), ("keys/allowed_signers", allowed_signers.clone())],
    )?;
    // About 3.3 changes per record; fewer commits than that means batches.
    out.per_commit = ((args.records as f64 * 3.3) / args.commits.max(1) as f64).round().max(1.0) as usize;
    while let Some(ev) = heap.pop() {
        let at = Utc.timestamp_opt(ev.at.0, 0).single().ok_or("bad time")?;
        if at > now {
            continue;
        }
        let i = ev.record;
        let (type_index, target, extensions) = plans[i];
        let (kind, risk, max_days) = &types[type_index];
        let requester = person("Engineer", i % 200);
        let owner = person("Owner", (i * 7) % 50);
        let result: Option<(Exception, String, String)> = match ev.step {
            Step::Create => {
                let e = new_record(&mut rng, i, kind, *max_days, &requester, &owner, at);
                let e = signers.sign_request(e, &policy)?;
                let e = if *risk == Risk::Low {
                    let e = auto_approve(e, &policy);
                    plan_after_approval(&mut rng, &mut heap, &mut seq, i, &e, target, extensions, &policy, now);
                    e
                } else {
                    e
                };
                Some((e, requester.clone(), format!("exc: request EXC-{i:06}")))
            }
            Step::Approve => {
                let mut e = records[i].clone().ok_or("approve before create")?;
                let mut t = at;
                let mut last = None;
                // Each required role approves in its own commit.
                for role in exc::model::routing::missing_roles(&e, &policy) {
                    let actor = match role.as_str() {
                        "risk_owner" => owner.clone(),
                        "ciso" => rng.pick(&ciso).clone(),
                        _ => rng.pick(&security).clone(),
                    };
                    let risk_arg = if last.is_none() { Some(*risk) } else { None };
                    let action = Action::Approve { role: Some(role.clone()), risk: risk_arg, note: None };
                    e = signers
                        .apply(&e, &policy, &Act { actor: &actor, at: t }, action)
                        .map_err(|m| format!("EXC-{i:06}: {m}"))?;
                    if e.status == Status::Approved {
                        // Plan what follows approval.
                        plan_after_approval(&mut rng, &mut heap, &mut seq, i, &e, target, extensions, &policy, now);
                    }
                    if records[i].as_ref() != Some(&e) {
                        out.commit(
                            &actor,
                            t,
                            &format!("exc: approve EXC-{i:06} ({role})\n\nExc-Id: EXC-{i:06}\nExc-Action: approve\n"),
                            &[(&path(i), text(&e)?)],
                        )?;
                        records[i] = Some(e.clone());
                    }
                    last = Some(role);
                    t += Duration::hours(1 + rng.below(20) as i64);
                }
                if e.status == Status::Approved {
                    schedule_nightly(&mut heap, &mut seq, i, &e, now);
                }
                None
            }
            Step::Reject => {
                let e = records[i].clone().ok_or("reject before create")?;
                let actor = rng.pick(&security).clone();
                let action = Action::Reject { role: Some("security".into()), reason: "A fix is available".into() };
                let e = signers
                    .apply(&e, &policy, &Act { actor: &actor, at }, action)
                    .map_err(|m| format!("EXC-{i:06}: {m}"))?;
                Some((e, actor, format!("exc: reject EXC-{i:06}")))
            }
            Step::Recertify(_) => {
                let e = records[i].clone().ok_or("recertify before create")?;
                if e.status != Status::Approved {
                    None
                } else {
                    // Security (or, where the tier has no security, the risk
                    // owner) extends; every other approving role approves the
                    // new date, as an extension needs.
                    let tier = exc::model::routing::tier(&e, &policy);
                    let needs_security = policy.required_roles(tier).iter().any(|r| r == "security");
                    let actor =
                        if needs_security || rng.chance(50) { rng.pick(&security).clone() } else { owner.clone() };
                    let answers = Checklist {
                        controls_effective: true,
                        justification_valid: true,
                        better_option: rng.chance(20),
                    };
                    let expires =
                        exc::model::time::add_days(at.date_naive(), i64::from(*max_days) - rng.below(10) as i64);
                    let action = Action::Recertify {
                        answers,
                        decision: ReviewDecision::Extend,
                        expires: Some(expires),
                        note: None,
                    };
                    let mut e = signers
                        .apply(&e, &policy, &Act { actor: &actor, at }, action)
                        .map_err(|m| format!("EXC-{i:06}: {m}"))?;
                    let mut t = at;
                    for role in exc::model::routing::missing_roles(&e, &policy) {
                        t += Duration::minutes(30);
                        let who = match role.as_str() {
                            "risk_owner" => owner.clone(),
                            "ciso" => rng.pick(&ciso).clone(),
                            _ => rng.pick(&security).clone(),
                        };
                        let action = Action::Approve { role: Some(role.clone()), risk: None, note: None };
                        e = signers
                            .apply(&e, &policy, &Act { actor: &who, at: t }, action)
                            .map_err(|m| format!("EXC-{i:06}: {m}"))?;
                    }
                    Some((e, actor, format!("exc: recertify EXC-{i:06}")))
                }
            }
            // The requester adds a note while the request waits (notes are
            // part of what is approved, so only then), and signs it again.
            Step::Note => {
                let mut e = records[i].clone().ok_or("note before create")?;
                if e.status != Status::Requested || !e.approvals.is_empty() {
                    None
                } else {
                    e.notes = Some(format!("Status update {}: vendor ticket still open", at.date_naive()));
                    let e = signers.sign_request(e, &policy)?;
                    Some((e, requester.clone(), format!("Update notes on EXC-{i:06}")))
                }
            }
            Step::Nightly => {
                let e = records[i].clone().ok_or("nightly before create")?;
                if e.status == Status::Approved && e.expires < at.date_naive() {
                    let e = signers
                        .apply(
                            &e,
                            &policy,
                            &Act { actor: POLICY_APPROVER, at },
                            Action::Expire { reason: "expired".into() },
                        )
                        .map_err(|m| format!("EXC-{i:06}: {m}"))?;
                    Some((e, BOT.to_string(), format!("exc: expire EXC-{i:06}")))
                } else {
                    None
                }
            }
            Step::Retire | Step::Revoke | Step::Expire => {
                let e = records[i].clone().ok_or("close before create")?;
                let not_due = ev.step == Step::Expire && lifecycle::expiry_due(&e, &policy, at.date_naive()).is_none();
                if e.status != Status::Approved || not_due {
                    None
                } else {
                    let (e, who) = match ev.step {
                        Step::Retire => (
                            signers.apply(
                                &e,
                                &policy,
                                &Act { actor: &owner, at },
                                Action::Retire { reason: "Root cause fixed".into() },
                            ),
                            owner.clone(),
                        ),
                        Step::Revoke => {
                            let actor = rng.pick(&security).clone();
                            let action = Action::Revoke { reason: "Control failed".into() };
                            (signers.apply(&e, &policy, &Act { actor: &actor, at }, action), actor)
                        }
                        _ => (
                            signers.apply(
                                &e,
                                &policy,
                                &Act { actor: POLICY_APPROVER, at },
                                Action::Expire { reason: "expired".into() },
                            ),
                            BOT.to_string(),
                        ),
                    };
                    let e = e.map_err(|m| format!("EXC-{i:06}: {m}"))?;
                    Some((e, who, format!("exc: close EXC-{i:06}")))
                }
            }
        };
        if let Some((e, _, _)) = &result
            && e.status == Status::Approved
        {
            schedule_nightly(&mut heap, &mut seq, i, e, now);
        }
        if let Some((e, author, msg)) = result {
            let action = msg.split_whitespace().nth(1).unwrap_or("edit").to_string();
            let msg = if msg.starts_with("exc:") {
                format!("{msg}\n\nExc-Id: EXC-{i:06}\nExc-Action: {action}\n")
            } else {
                msg
            };
            out.commit(&author, at, &msg, &[(&path(i), text(&e)?)])?;
            records[i] = Some(e);
        }
    }
    let commits = out.finish(now)?;
    let st = Command::new("git")
        .args(["-C"])
        .arg(&args.dir)
        .args(["checkout", "-q", "-f", "main"])
        .status()
        .map_err(|e| e.to_string())?;
    if !st.success() {
        return Err("git checkout failed".into());
    }
    eprintln!("synth: {} records, {commits} commits in {}", args.records, args.dir.display());
    Ok(())
}

/// The nightly `exc expire --apply` looks at an approved record the day after it lapses.
fn schedule_nightly(heap: &mut BinaryHeap<Event>, seq: &mut u64, i: usize, e: &Exception, now: DateTime<Utc>) {
    let check = e.expires.and_hms_opt(3, 0, 0).unwrap_or_default().and_utc() + Duration::days(1);
    if check <= now {
        *seq += 1;
        heap.push(Event {
            at: std::cmp::Reverse(check.timestamp()),
            seq: std::cmp::Reverse(*seq),
            record: i,
            step: Step::Nightly,
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn plan_after_approval(
    rng: &mut Rng,
    heap: &mut BinaryHeap<Event>,
    seq: &mut u64,
    i: usize,
    e: &Exception,
    target: Status,
    extensions: u8,
    policy: &Policy,
    now: DateTime<Utc>,
) {
    let mut push = |at: DateTime<Utc>, step: Step| {
        *seq += 1;
        heap.push(Event { at: std::cmp::Reverse(at.timestamp()), seq: std::cmp::Reverse(*seq), record: i, step });
    };
    let approved = e.approvals.iter().map(|a| a.at).max().unwrap_or(e.created);
    let interval = i64::from(policy.review.interval_days);
    let mut t = approved;
    for n in 0..extensions {
        t += Duration::days(interval - 5 - rng.below(20) as i64);
        push(t, Step::Recertify(n));
    }
    let close_at = t + Duration::days(10 + rng.below(60) as i64);
    match target {
        Status::Retired => push(close_at, Step::Retire),
        Status::Revoked => push(close_at, Step::Revoke),
        Status::Expired => push(close_at.max(approved + Duration::days(100)).min(now), Step::Expire),
        _ => {}
    }
}

fn new_record(
    rng: &mut Rng,
    i: usize,
    kind: &str,
    max_days: u32,
    requester: &str,
    owner: &str,
    at: DateTime<Utc>,
) -> Exception {
    let assets = 1 + rng.below(5) as usize;
    let controls = if kind == "endpoint-control-gap" { 1 + rng.below(3) as usize } else { rng.below(4) as usize };
    let host = |rng: &mut Rng| {
        format!(
            "{}-{:03}",
            rng.pick(&["web", "db", "crm", "pay", "ot", "lab", "vpn", "k8s", "ldap", "mail"]),
            rng.below(400)
        )
    };
    let created_day: NaiveDate = at.date_naive();
    Exception {
        id: format!("EXC-{i:06}"),
        title: format!("{} for {} ({i})", rng.pick(&["Exception", "Temporary waiver", "Deferred fix", "Access grant"]), host(rng)),
        kind: kind.to_string(),
        status: Status::Requested,
        requester: requester.to_string(),
        risk_owner: owner.to_string(),
        created: at,
        urgency: if rng.chance(10) { Urgency::Urgent } else { Urgency::Standard },
        proposed_risk: None,
        expires: exc::model::time::add_days(created_day, i64::from(max_days) - rng.below(u64::from(max_days) / 2) as i64),
        justification: "Business process depends on it until the replacement ships; impact of enforcing now is an outage of the service for its users.".into(),
        assets: (0..assets).map(|_| host(rng)).collect::<std::collections::BTreeSet<_>>().into_iter().collect(),
        compensating_controls: (0..controls).map(|n| format!("Compensating control {n}: monitoring and restricted network path")).collect(),
        controls: vec!["NIST-800-53:CM-6".into()],
        findings: if kind == "vulnerability-deferral" { vec![exc::model::record::Covered::Id(format!("CVE-2026-{:05}", rng.below(99999)))] } else { Vec::new() },
        attachments: vec![format!("https://wiki.example.com/security/EXC-{i:06}/evidence.pdf")],
        migration_plan: if kind == "legacy-system" { Some("Replace the system in the next budget cycle".into()) } else { None },
        tickets: vec![format!("SEC-{}", 1000 + i)],
        notes: None,
        signature: None,
        approvals: Vec::new(),
        reviews: Vec::new(),
        closed: None,
    }
}

fn auto_approve(e: Exception, policy: &Policy) -> Exception {
    exc::model::request::route(policy, e)
}

fn path(i: usize) -> String {
    format!("exceptions/EXC-{i:06}.yaml")
}

fn text(e: &Exception) -> Result<String, String> {
    Ok(format!("{SCHEMA_LINE}{}", exc::yaml::to_string(e)?))
}

/// A `git fast-import` process fed one commit at a time, or, when fewer commits
/// than changes are asked for, batches of changes (a daily merge, say).
struct FastImport {
    child: std::process::Child,
    stdin: std::io::BufWriter<std::process::ChildStdin>,
    per_commit: usize,
    pending: Vec<(String, String)>,
    pending_changes: usize,
    written: usize,
}

impl FastImport {
    fn start(dir: &std::path::Path) -> Result<FastImport, String> {
        if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(false) {
            return Err(format!("{} is not empty", dir.display()));
        }
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let init =
            Command::new("git").args(["init", "-q", "-b", "main"]).arg(dir).status().map_err(|e| e.to_string())?;
        if !init.success() {
            return Err("git init failed".into());
        }
        let mut child = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["fast-import", "--quiet"])
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdin = std::io::BufWriter::new(child.stdin.take().ok_or("no stdin")?);
        Ok(FastImport { child, stdin, per_commit: 1, pending: Vec::new(), pending_changes: 0, written: 0 })
    }

    /// One change: committed at once, or batched when `per_commit` > 1.
    fn commit(&mut self, who: &str, at: DateTime<Utc>, message: &str, files: &[(&str, String)]) -> Result<(), String> {
        if self.per_commit <= 1 {
            return self.write(who, at, message, files);
        }
        for (path, body) in files {
            self.pending.retain(|(p, _)| p != path);
            self.pending.push((path.to_string(), body.clone()));
        }
        self.pending_changes += 1;
        if self.pending_changes >= self.per_commit {
            self.flush(at)?;
        }
        Ok(())
    }

    fn flush(&mut self, at: DateTime<Utc>) -> Result<(), String> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let files: Vec<(String, String)> = std::mem::take(&mut self.pending);
        let refs: Vec<(&str, String)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
        let msg = format!("Merge {} exception changes", self.pending_changes);
        self.pending_changes = 0;
        self.write("Merge Bot <merge-bot@example.com>", at, &msg, &refs)
    }

    fn write(&mut self, who: &str, at: DateTime<Utc>, message: &str, files: &[(&str, String)]) -> Result<(), String> {
        self.written += 1;
        let w = &mut self.stdin;
        let t = at.timestamp();
        let io = |e: std::io::Error| e.to_string();
        write!(
            w,
            "commit refs/heads/main\nauthor {who} {t} +0000\ncommitter {who} {t} +0000\ndata {}\n{message}\n",
            message.len()
        )
        .map_err(io)?;
        for (path, body) in files {
            write!(w, "M 100644 inline {path}\ndata {}\n{body}\n", body.len()).map_err(io)?;
        }
        Ok(())
    }

    fn finish(mut self, at: DateTime<Utc>) -> Result<usize, String> {
        self.flush(at)?;
        self.stdin.flush().map_err(|e| e.to_string())?;
        drop(self.stdin);
        let st = self.child.wait().map_err(|e| e.to_string())?;
        if st.success() { Ok(self.written) } else { Err("git fast-import failed".into()) }
    }
}
