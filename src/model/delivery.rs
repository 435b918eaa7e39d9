//! Deliveries: which events each channel owes to whom, given what the
//! delivery log says, and the log's entries themselves. Pure: the log's
//! storage is `registry::deliveries`, the sending is `deliver`.
//!
//! A delivery is one event to one recipient over one channel: a person for
//! mail, the channel itself (`*`) for chat, webhooks and Jira. The log holds
//! append-only entries: a run *claims* what it is about to send, then
//! records each as *delivered* (the channel accepted it) or *failed*. A
//! delivery is owed until some run recorded it delivered; a claim without a
//! result holds it back for [`CLAIM_HOURS`] (the claiming run may still be
//! sending), then it is owed again.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::event::{Event, Kind, Person};

/// How long a claim without a result holds a delivery back.
pub const CLAIM_HOURS: i64 = 6;

/// The recipient of a delivery to a shared place (a chat channel, an endpoint, a project).
pub const EVERYONE: &str = "*";

/// What happened to one delivery in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// About to be sent by this run.
    Claimed,
    /// The channel accepted it.
    Delivered,
    /// The channel refused it or could not be reached; it stays owed.
    Failed,
}

/// One line of the delivery log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub run: String,
    pub state: State,
    /// The event's key.
    pub key: String,
    /// The channel's name in `notify.channels`.
    pub channel: String,
    /// The recipient's address, or `*`.
    pub to: String,
    pub at: DateTime<Utc>,
    /// The channel's answer (`250 2.0.0 queued`, `HTTP 200`), or why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For Jira, the issue the record maps to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
}

/// One run, as the log records it when the run first writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    pub run: String,
    pub started: DateTime<Utc>,
    pub as_of: NaiveDate,
    /// The exc version that ran.
    pub exc: String,
    /// The first day of the log: set by its first run, kept by every later one.
    pub since: NaiveDate,
    /// The channels configured when it ran: a channel's history starts at
    /// the first run that knew it, so a channel added later is not flooded
    /// with every filing and decision since the log began.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
}

/// What the log says, folded for look-ups.
#[derive(Debug, Default)]
pub struct Ledger {
    delivered: HashSet<(String, String, String)>,
    /// Claims without a result: the latest claim time.
    open: HashMap<(String, String, String), DateTime<Utc>>,
    failures: HashMap<(String, String, String), u32>,
    /// Record id -> Jira issue key, per channel.
    issues: HashMap<(String, String), String>,
    /// The log's first day, if it has one.
    pub since: Option<NaiveDate>,
    /// Each channel's first day: the day of the first run that knew it.
    channel_since: HashMap<String, NaiveDate>,
    /// How many runs it records.
    pub runs: usize,
}

impl Ledger {
    /// Folds the log's entries and runs.
    pub fn new(entries: &[Entry], runs: &[Run]) -> Ledger {
        let mut l = Ledger { since: runs.iter().map(|r| r.since).min(), runs: runs.len(), ..Ledger::default() };
        let first_run = runs.iter().min_by_key(|r| (r.started, &r.run)).map(|r| r.run.as_str());
        for r in runs {
            for c in &r.channels {
                // The log's first run knew its channels from the log's first day.
                let first = if Some(r.run.as_str()) == first_run { r.since } else { r.as_of };
                let slot = l.channel_since.entry(c.clone()).or_insert(first);
                *slot = (*slot).min(first);
            }
        }
        let mut results: HashSet<(String, String, String, String)> = HashSet::new();
        for e in entries {
            let k = (e.key.clone(), e.channel.clone(), e.to.clone());
            match e.state {
                State::Delivered => {
                    l.delivered.insert(k.clone());
                    if let Some(issue) = &e.issue {
                        let id = e.key.split('/').next().unwrap_or_default().to_string();
                        l.issues.insert((e.channel.clone(), id), issue.clone());
                    }
                    results.insert((e.run.clone(), k.0, k.1, k.2));
                }
                State::Failed => {
                    *l.failures.entry(k.clone()).or_default() += 1;
                    results.insert((e.run.clone(), k.0, k.1, k.2));
                }
                State::Claimed => {}
            }
        }
        for e in entries.iter().filter(|e| e.state == State::Claimed) {
            let done = results.contains(&(e.run.clone(), e.key.clone(), e.channel.clone(), e.to.clone()));
            if !done {
                let slot = l.open.entry((e.key.clone(), e.channel.clone(), e.to.clone())).or_insert(e.at);
                *slot = (*slot).max(e.at);
            }
        }
        l
    }

    pub fn is_delivered(&self, key: &str, channel: &str, to: &str) -> bool {
        self.delivered.contains(&(key.to_string(), channel.to_string(), to.to_string()))
    }

    /// Claimed by a run that may still be sending it.
    pub fn is_held(&self, key: &str, channel: &str, to: &str, now: DateTime<Utc>) -> bool {
        self.open
            .get(&(key.to_string(), channel.to_string(), to.to_string()))
            .is_some_and(|at| now < *at + TimeDelta::hours(CLAIM_HOURS))
    }

    /// How many runs failed to deliver it so far.
    pub fn failures(&self, key: &str, channel: &str, to: &str) -> u32 {
        self.failures.get(&(key.to_string(), channel.to_string(), to.to_string())).copied().unwrap_or(0)
    }

    /// The first day of `channel`: when a run first knew it; for a channel
    /// no run knew, the log's first day on its first run, else `today`.
    pub fn channel_since(&self, channel: &str, log_since: NaiveDate, today: NaiveDate) -> NaiveDate {
        match self.channel_since.get(channel) {
            Some(d) => *d,
            None if self.runs == 0 => log_since,
            None => today,
        }
    }

    /// The Jira issue a record maps to over `channel`, if one was made or found.
    pub fn issue(&self, channel: &str, id: &str) -> Option<&str> {
        self.issues.get(&(channel.to_string(), id.to_string())).map(String::as_str)
    }
}

/// One delivery a run owes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Due {
    pub channel: String,
    /// The person, or `*`.
    pub to: String,
    /// The name to greet a person by.
    #[serde(skip)]
    pub name: String,
    pub key: String,
    pub kind: Kind,
    pub id: String,
    /// Earlier runs that failed to deliver it.
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// An event with where it may go: the channels (by name) and, for mail,
/// the people.
#[derive(Clone, Debug)]
pub struct Addressed<'a> {
    pub event: &'a Event,
    /// (channel name, whether it reaches people one by one).
    pub channels: Vec<(String, bool)>,
    pub people: Vec<Person>,
}

/// What is owed: every (event, channel, recipient) not delivered and not
/// held by another run's claim. Announcements that fell due before the
/// log's first day (`since`), or before a channel's first day, are history,
/// not news, and are not owed.
pub fn owed(addressed: &[Addressed], ledger: &Ledger, since: NaiveDate, now: DateTime<Utc>) -> Vec<Due> {
    let mut out = Vec::new();
    // Two files with one id (a collision `exc check` reports) give one delivery, not two.
    let mut seen: HashSet<(String, String, String)> = HashSet::new();
    let today = now.date_naive();
    for a in addressed {
        let ev = a.event;
        let key = ev.key();
        for (channel, personal) in &a.channels {
            if ev.kind.is_announcement() && ev.at.date_naive() < ledger.channel_since(channel, since, today) {
                continue;
            }
            let recipients: Vec<(String, String)> = if *personal {
                a.people.iter().map(|p| (p.email.clone(), p.name.clone())).collect()
            } else {
                vec![(EVERYONE.to_string(), String::new())]
            };
            for (to, name) in recipients {
                if ledger.is_delivered(&key, channel, &to)
                    || ledger.is_held(&key, channel, &to, now)
                    || !seen.insert((key.clone(), channel.clone(), to.clone()))
                {
                    continue;
                }
                out.push(Due {
                    channel: channel.clone(),
                    retries: ledger.failures(&key, channel, &to),
                    to,
                    name,
                    key: key.clone(),
                    kind: ev.kind,
                    id: ev.id.clone(),
                });
            }
        }
    }
    out
}

/// Groups deliveries by (channel, recipient), keeping order: one message
/// each (a person's digest; a chat channel's post for the run).
pub fn batches(due: &[Due]) -> Vec<((String, String), Vec<&Due>)> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut by: BTreeMap<(String, String), Vec<&Due>> = BTreeMap::new();
    for d in due {
        let k = (d.channel.clone(), d.to.clone());
        if !by.contains_key(&k) {
            order.push(k.clone());
        }
        by.entry(k).or_default().push(d);
    }
    order.into_iter().map(|k| (k.clone(), by.remove(&k).unwrap_or_default())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        format!("{s}T00:00:00Z").parse().unwrap()
    }

    fn entry(run: &str, state: State, key: &str, to: &str, at: &str) -> Entry {
        Entry {
            run: run.into(),
            state,
            key: key.into(),
            channel: "mail".into(),
            to: to.into(),
            at: t(at),
            detail: None,
            issue: None,
        }
    }

    fn event(kind: Kind, at: &str) -> Event {
        Event { id: "EXC-1".into(), kind, about: at.into(), at: t(at), outcome: None, message: String::new() }
    }

    #[test]
    fn delivered_is_never_owed_and_a_claim_holds_for_a_while() {
        let ev = event(Kind::ExpiryNear, "2026-03-01");
        let people = vec![Person::new("a@example.com"), Person::new("B <b@example.com>")];
        let addressed = [Addressed { event: &ev, channels: vec![("mail".into(), true)], people }];
        let key = ev.key();
        let log = [
            entry("r1", State::Claimed, &key, "a@example.com", "2026-03-01"),
            entry("r1", State::Delivered, &key, "a@example.com", "2026-03-01"),
            entry("r2", State::Claimed, &key, "b@example.com", "2026-03-01"),
        ];
        let ledger = Ledger::new(&log, &[]);
        let since = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert!(owed(&addressed, &ledger, since, t("2026-03-01")).is_empty(), "b is held by r2's claim");
        let later = owed(&addressed, &ledger, since, t("2026-03-01") + TimeDelta::hours(CLAIM_HOURS));
        assert_eq!(later.iter().map(|d| d.to.as_str()).collect::<Vec<_>>(), ["b@example.com"]);
        // A failure releases the claim at once, and counts.
        let log = [
            entry("r2", State::Claimed, &key, "b@example.com", "2026-03-01"),
            entry("r2", State::Failed, &key, "b@example.com", "2026-03-01"),
        ];
        let again = owed(&addressed, &Ledger::new(&log, &[]), since, t("2026-03-01"));
        assert_eq!(
            again.iter().map(|d| (d.to.as_str(), d.retries)).collect::<Vec<_>>(),
            [("a@example.com", 0), ("b@example.com", 1)]
        );
    }

    #[test]
    fn a_channel_added_later_starts_on_its_first_day() {
        let filed = event(Kind::Filed, "2026-01-05");
        let addressed = [Addressed {
            event: &filed,
            channels: vec![("chat".into(), false), ("jira".into(), false)],
            people: vec![],
        }];
        let run = |id: &str, day: &str, channels: &[&str]| Run {
            run: id.into(),
            started: t(day),
            as_of: t(day).date_naive(),
            exc: "0".into(),
            since: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            channels: channels.iter().map(|c| c.to_string()).collect(),
        };
        let runs = [run("r1", "2026-01-03", &["chat"]), run("r2", "2026-02-01", &["chat", "jira"])];
        let since = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let due = owed(&addressed, &Ledger::new(&[], &runs), since, t("2026-02-02"));
        assert_eq!(due.iter().map(|d| d.channel.as_str()).collect::<Vec<_>>(), ["chat"], "jira began on 02-01");
    }

    #[test]
    fn announcements_before_the_log_began_are_history() {
        let old = event(Kind::Filed, "2025-12-01");
        let call = event(Kind::ReviewOverdue, "2025-12-01");
        let addressed: Vec<Addressed> = [&old, &call]
            .into_iter()
            .map(|e| Addressed { event: e, channels: vec![("chat".into(), false)], people: vec![] })
            .collect();
        let since = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let due = owed(&addressed, &Ledger::default(), since, t("2026-01-02"));
        assert_eq!(due.iter().map(|d| (d.kind, d.to.as_str())).collect::<Vec<_>>(), [(Kind::ReviewOverdue, "*")]);
    }
}
