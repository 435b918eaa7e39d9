//! `exc notify`: delivers each event of the lifecycle (filed, decided, SLA
//! at risk or breached, expiry near, 75 % of the lifetime, review due or
//! overdue, closed, chronic) once to each recipient, over the channels
//! `notify:` in exc.yaml configures, and records what was delivered in the
//! delivery log (a git ref), so a missed night is caught up and nothing is
//! sent twice. `exc remind` stays the read-only view.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::context::{Context, Outcome};
use crate::deliver::{self, Batch, Settings};
use crate::error::{Error, Result};
use crate::model::delivery::{self, Addressed, Entry, Ledger, Run, State};
use crate::model::event::{self, Event, Facts};
use crate::model::notify::Notify;
use crate::output::notify::{Notice, Reported, report_text};
use crate::output::{self, TextOrJson};
use crate::registry::deliveries::{self, DeliveryLog, Snapshot};

/// Deliver reminders and decisions, each once, by mail, chat, webhook and Jira.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc notify --dry-run                    who would get what, sending nothing
  exc notify                              deliver what is owed (nightly, and on pushes to main)
  exc notify --format json                the deliveries, as JSON

Configure it with a `notify:` block in exc.yaml (channels: smtp, slack, teams, webhook,
jira); secrets come only from the environment variables it names. EXC_CA_FILE names
a PEM file of CA certificates to trust instead of the built-in roots. The delivery
log is the git ref notify.log.ref (default refs/exc/notify), fetched from and pushed
to notify.log.remote (default origin, when there is one). See docs/notify.md.

Exit codes: 0 everything owed was delivered, 1 some deliveries failed (they stay owed
and the next run tries them again), 2 it could not run (configuration, git, the log).")]
pub struct Args {
    /// Show who would get what; send nothing and record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// On the log's first run, the first day whose announcements count
    /// (default: the run's day; earlier filings and decisions are history).
    #[arg(long, value_name = "DATE", value_parser = crate::model::time::parse_date)]
    pub since: Option<NaiveDate>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TextOrJson,
}

#[derive(Serialize)]
struct Report<'a> {
    as_of: NaiveDate,
    dry_run: bool,
    log: &'a str,
    run: Option<&'a str>,
    deliveries: &'a [Reported],
}

/// How many times a run reads the log again after another run claimed first.
const CLAIM_TRIES: usize = 8;

pub fn run(ctx: &Context, args: Args) -> Result<Outcome> {
    let reg = ctx.registry()?;
    let Some(notify) = reg.policy.notify.clone() else {
        return Err(Error::Usage(
            "exc.yaml has no `notify:` section: add one with the channels to deliver over (see docs/notify.md)".into(),
        ));
    };
    for who in notify.escalation.iter().filter(|w| !w.contains('@')) {
        if reg.policy.roles.get(who).is_none_or(|people| people.is_empty()) {
            output::warn(&format!(
                "notify.escalation names the role `{who}`, which nobody holds in roles:; chronic records and overdue reviews reach only their risk owners"
            ));
        }
    }
    let clock = ctx.decision_time()?;
    if !args.dry_run && ctx.as_of_given && ctx.as_of != clock.date_naive() {
        return Err(Error::Usage(format!(
            "exc notify delivers what is due today ({}); --as-of {} only previews: add --dry-run",
            clock.date_naive(),
            ctx.as_of
        )));
    }
    let now = if args.dry_run { ctx.now() } else { clock };
    let loaded = reg.load_all()?;
    let prefix = reg.repository_prefix();
    let facts: HashMap<String, Facts> = loaded
        .records
        .iter()
        .map(|r| (r.exception.id.clone(), event::facts(r, &reg.policy, &format!("{prefix}{}", r.path))))
        .collect();
    let events: Vec<(usize, Event)> = loaded
        .records
        .iter()
        .enumerate()
        .flat_map(|(i, r)| event::events(r, &reg.policy, now).into_iter().map(move |e| (i, e)))
        .collect();
    let addressed: Vec<Addressed> = events
        .iter()
        .map(|(i, ev)| Addressed {
            event: ev,
            channels: notify.channels_for(ev.kind).into_iter().map(|(n, c)| (n.to_string(), c.is_personal())).collect(),
            people: event::people(
                &notify.recipients_for(ev.kind),
                &loaded.records[*i],
                &reg.policy,
                &notify.escalation,
            ),
        })
        .collect();
    let log = DeliveryLog::new(reg.root.clone(), &notify.log);
    let shown_log = match &log.remote {
        Some(r) => format!("{} on {r}", log.git_ref),
        None => log.git_ref.clone(),
    };
    let as_of = now.date_naive();

    if args.dry_run {
        let snap = log.read(false, clock)?;
        let ledger = Ledger::new(&snap.entries, &snap.runs);
        let since = ledger.since.or(args.since).unwrap_or(as_of);
        let due = delivery::owed(&addressed, &ledger, since, now);
        let rows: Vec<Reported> = due.iter().map(|d| reported(d, &notify, "would-send", None, None)).collect();
        return show(&args, &rows, as_of, true, &shown_log, None);
    }

    // Claim what is owed, reading the log again whenever another run claimed first.
    let run = deliveries::run_id(clock);
    let mut claimed = None;
    for _ in 0..CLAIM_TRIES {
        let snap = log.read(true, clock)?;
        let ledger = Ledger::new(&snap.entries, &snap.runs);
        let since = ledger.since.or(args.since).unwrap_or(as_of);
        let due = delivery::owed(&addressed, &ledger, since, now);
        if due.is_empty() && !snap.runs.is_empty() {
            return show(&args, &[], as_of, false, &shown_log, None);
        }
        let channels: Vec<String> = notify.channels.keys().cloned().collect();
        let files = claim_files(&run, &due, &snap, since, as_of, clock, channels)?;
        let message = format!("exc notify: run {run} claims {} deliveries", due.len());
        if log.publish(snap.tip, &files, &message, clock)?.is_ok() {
            claimed = Some((due, ledger));
            break;
        }
    }
    let Some((due, ledger)) = claimed else {
        return Err(Error::Conflict(format!("{shown_log} kept moving: other runs are claiming; try again")));
    };

    let settings = Settings {
        retry: notify.retry.clone(),
        as_of,
        run: run.clone(),
        registry: registry_name(&reg),
        issues: HashMap::new(),
    };
    let by_id: HashMap<String, &Event> = events.iter().map(|(_, e)| (e.key(), e)).collect();
    let mut rows = Vec::new();
    let mut part = 0;
    for (name, channel) in &notify.channels {
        let mine: Vec<&delivery::Due> = due.iter().filter(|d| &d.channel == name).collect();
        if mine.is_empty() {
            continue;
        }
        let mut settings = settings.clone();
        settings.issues =
            mine.iter().filter_map(|d| ledger.issue(name, &d.id).map(|k| (d.id.clone(), k.to_string()))).collect();
        let owned: Vec<delivery::Due> = mine.iter().map(|d| (*d).clone()).collect();
        let mut results = Vec::new();
        for ((_, to), batch) in delivery::batches(&owned) {
            let notices: Vec<Notice> =
                batch.iter().map(|d| Notice { event: by_id[&d.key], facts: &facts[&d.id] }).collect();
            let b = Batch { channel: name, to: &to, name: &batch[0].name, notices };
            let outcomes = deliver::send(channel, &b, &settings);
            for (d, outcome) in batch.iter().zip(outcomes) {
                let (state, detail, issue) = match outcome {
                    Ok(a) => (State::Delivered, a.detail, a.issue),
                    Err(why) => (State::Failed, why, None),
                };
                results.push(Entry {
                    run: run.clone(),
                    state,
                    key: d.key.clone(),
                    channel: name.clone(),
                    to: d.to.clone(),
                    at: ctx.decision_time()?,
                    detail: Some(detail.clone()),
                    issue: issue.clone(),
                });
                let status = if state == State::Delivered { "delivered" } else { "failed" };
                rows.push(reported(d, &notify, status, Some(detail), issue));
            }
        }
        part += 1;
        let file = vec![(format!("{run}.results-{part}.jsonl"), deliveries::lines(&results)?)];
        let ok = results.iter().filter(|e| e.state == State::Delivered).count();
        let message = format!("exc notify: run {run}: {name} accepted {ok} of {}", results.len());
        if let Err(e) = log.add(&file, &message, ctx.decision_time()?) {
            show(&args, &rows, as_of, false, &shown_log, Some(&run))?;
            return Err(Error::Git(format!(
                "{name} accepted {ok} deliveries, but the delivery log could not record them ({e}); they stay claimed by run {run} for {} hours, then the next run sends them again",
                delivery::CLAIM_HOURS
            )));
        }
    }
    show(&args, &rows, as_of, false, &shown_log, Some(&run))?;
    Ok(if rows.iter().any(|r| r.status == "failed") { Outcome::Findings } else { Outcome::Clean })
}

/// The files a run's claim adds: the run itself, and one line per delivery.
fn claim_files(
    run: &str,
    due: &[delivery::Due],
    snap: &Snapshot,
    since: NaiveDate,
    as_of: NaiveDate,
    clock: chrono::DateTime<chrono::Utc>,
    channels: Vec<String>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let since = snap.runs.iter().map(|r| r.since).min().unwrap_or(since);
    let exc = env!("CARGO_PKG_VERSION").to_string();
    let record = Run { run: run.to_string(), started: clock, as_of, exc, since, channels };
    let run_file = serde_json::to_vec_pretty(&record).map_err(|e| Error::Output(e.to_string()))?;
    let claims: Vec<Entry> = due
        .iter()
        .map(|d| Entry {
            run: run.to_string(),
            state: State::Claimed,
            key: d.key.clone(),
            channel: d.channel.clone(),
            to: d.to.clone(),
            at: clock,
            detail: None,
            issue: None,
        })
        .collect();
    let mut files = vec![(format!("{run}.run.json"), run_file)];
    if !claims.is_empty() {
        files.push((format!("{run}.claims.jsonl"), deliveries::lines(&claims)?));
    }
    Ok(files)
}

fn reported(
    d: &delivery::Due,
    notify: &Notify,
    status: &str,
    detail: Option<String>,
    issue: Option<String>,
) -> Reported {
    Reported {
        channel: d.channel.clone(),
        kind: notify.channels.get(&d.channel).map(|c| c.kind().to_string()).unwrap_or_default(),
        to: d.to.clone(),
        key: d.key.clone(),
        id: d.id.clone(),
        event: d.kind.to_string(),
        status: status.to_string(),
        detail: detail.or_else(|| (d.retries > 0).then(|| format!("failed in {} earlier run(s)", d.retries))),
        issue,
    }
}

/// The registry's name as a URN part: the policy's `name`, else the directory's.
fn registry_name(reg: &crate::registry::Registry) -> String {
    let name = reg.policy.name.clone().unwrap_or_else(|| {
        reg.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "registry".into())
    });
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' }).collect()
}

fn show(
    args: &Args,
    rows: &[Reported],
    as_of: NaiveDate,
    dry_run: bool,
    log: &str,
    run: Option<&str>,
) -> Result<Outcome> {
    match args.format {
        TextOrJson::Json => output::emit_json(&Report { as_of, dry_run, log, run, deliveries: rows })?,
        TextOrJson::Text => output::emit_text(&report_text(rows, as_of, dry_run, log))?,
    }
    Ok(Outcome::Clean)
}
