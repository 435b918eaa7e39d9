//! Dates and durations as the user types them: `2026-12-01`, `90d`, `12w`, `6m`.
//!
//! "Today" is always a UTC date, so CI and laptops agree; `--as-of` overrides it.

use chrono::{Days, Months, NaiveDate, Utc};

/// Clock skew allowed between a decision's time and the bounds git (or the
/// clock) gives it.
pub const SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// Today's date in UTC.
pub fn today_utc() -> NaiveDate {
    Utc::now().date_naive()
}

/// Parses a calendar date `YYYY-MM-DD` (a real date only).
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let s = s.trim();
    let ok_shape = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) if ok_shape => Ok(d),
        _ => Err(format!("`{s}` is not a real date in the form YYYY-MM-DD")),
    }
}

/// A span of days, weeks or months, as in `30d`, `2w`, `3m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    Days(u32),
    Months(u32),
}

impl Span {
    /// Parses `30d`, `2w`, `3m`, or a bare number of days.
    pub fn parse(s: &str) -> Result<Span, String> {
        let s = s.trim();
        let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, "d"),
        };
        let n: u32 = num.parse().map_err(|_| format!("`{s}` is not a span like 30d, 2w or 3m"))?;
        match unit {
            "d" | "day" | "days" => Ok(Span::Days(n)),
            "w" | "week" | "weeks" => n.checked_mul(7).map(Span::Days).ok_or_else(|| format!("`{s}` is too long")),
            "m" | "month" | "months" => Ok(Span::Months(n)),
            _ => Err(format!("`{s}` is not a span like 30d, 2w or 3m")),
        }
    }

    /// How many days this span lasts from `from` (a month from 31 January is 28 or 29 days).
    pub fn days_from(self, from: NaiveDate) -> u32 {
        match self {
            Span::Days(n) => n,
            Span::Months(_) => match self.after(from) {
                Some(to) => u32::try_from((to - from).num_days()).unwrap_or(u32::MAX),
                None => u32::MAX,
            },
        }
    }

    /// `from` plus this span, or `None` past the end of the calendar.
    pub fn after(self, from: NaiveDate) -> Option<NaiveDate> {
        match self {
            Span::Days(n) => from.checked_add_days(Days::new(n.into())),
            Span::Months(n) => from.checked_add_months(Months::new(n)),
        }
    }
}

/// Parses a date or a span counted from `from` (`2027-03-01` or `90d`).
pub fn parse_date_or_span(s: &str, from: NaiveDate) -> Result<NaiveDate, String> {
    if s.contains('-') {
        return parse_date(s);
    }
    let span = Span::parse(s).map_err(|_| format!("`{s}` is neither a date (YYYY-MM-DD) nor a span like 90d"))?;
    span.after(from).ok_or_else(|| format!("`{s}` goes past the end of the calendar"))
}

/// "1 day", "5 days".
pub fn days(n: i64) -> String {
    if n == 1 { "1 day".into() } else { format!("{n} days") }
}

/// A duration in hours, to a tenth where it is not whole: `24 h`, `24.5 h`.
pub fn hours_text(d: chrono::TimeDelta) -> String {
    let secs = d.num_seconds();
    if secs % 3600 == 0 { format!("{} h", secs / 3600) } else { format!("{:.1} h", secs as f64 / 3600.0) }
}

/// Durations are written in hours up to and including 48 h, and in days
/// past it: the one rule [`duration_text`] and [`waited`] follow.
pub const HOURS_UP_TO: i64 = 48;

/// Whether a duration is written in days: past [`HOURS_UP_TO`] hours.
fn in_days(d: chrono::TimeDelta) -> bool {
    d.num_seconds() > HOURS_UP_TO * 3600
}

/// A duration for people: hours up to and including 48 h (`9 h`, `24.5 h`,
/// `48 h`), then days to a tenth (`2.1 days`, `8.6 days`).
pub fn duration_text(d: chrono::TimeDelta) -> String {
    let secs = d.num_seconds();
    if !in_days(d) {
        return hours_text(d);
    }
    let tenths = (secs as f64 / 8640.0).round() as i64;
    if tenths % 10 == 0 { days(tenths / 10) } else { format!("{}.{} days", tenths / 10, tenths % 10) }
}

/// An SLA as an adjective: `the 24 h SLA`, `the 5-day SLA`.
pub fn sla_text(d: chrono::TimeDelta) -> String {
    let text = duration_text(d);
    match text.strip_suffix(" days") {
        Some(n) => format!("{n}-day"),
        None => text,
    }
}

/// How long something waited: `9 h`, `48 h`, or past 48 h `5 days (121 h)`.
pub fn waited(d: chrono::TimeDelta) -> String {
    if in_days(d) { format!("{} ({})", days(d.num_days()), hours_text(d)) } else { hours_text(d) }
}

/// `from` plus `days`, saturating at the calendar's end instead of panicking.
pub fn add_days(from: NaiveDate, days: i64) -> NaiveDate {
    let r = if days >= 0 {
        from.checked_add_days(Days::new(days as u64))
    } else {
        from.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    r.unwrap_or(if days >= 0 { NaiveDate::MAX } else { NaiveDate::MIN })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn dates_must_be_real() {
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("2026-2-3").is_err());
        assert_eq!(d("2028-02-29").to_string(), "2028-02-29");
    }

    #[test]
    fn spans() {
        assert_eq!(Span::parse("30d"), Ok(Span::Days(30)));
        assert_eq!(Span::parse("2w"), Ok(Span::Days(14)));
        assert_eq!(Span::parse("14"), Ok(Span::Days(14)));
        assert!(Span::parse("soon").is_err());
        assert_eq!(parse_date_or_span("90d", d("2026-01-01")).unwrap(), d("2026-04-01"));
        assert_eq!(parse_date_or_span("1m", d("2026-01-31")).unwrap(), d("2026-02-28"));
        assert!(parse_date_or_span("4294967295d", d("2026-01-01")).is_err());
    }

    /// Hours up to and including 48 h, days past it, in every duration shown.
    #[test]
    fn durations_are_in_hours_up_to_48_h_and_in_days_past_it() {
        let h = chrono::TimeDelta::hours;
        assert_eq!(duration_text(h(48)), "48 h");
        assert_eq!(waited(h(48)), "48 h");
        assert_eq!(duration_text(h(48) + chrono::TimeDelta::seconds(1)), "2 days");
        assert_eq!(waited(h(48) + chrono::TimeDelta::seconds(1)), "2 days (48.0 h)");
        assert_eq!(duration_text(h(51)), "2.1 days");
        assert_eq!(waited(h(121)), "5 days (121 h)");
        assert_eq!(duration_text(h(47) + chrono::TimeDelta::minutes(30)), "47.5 h");
        assert_eq!(sla_text(h(24)), "24 h");
        assert_eq!(sla_text(h(48)), "48 h");
        assert_eq!(sla_text(h(120)), "5-day");
    }

    #[test]
    fn add_days_saturates() {
        assert_eq!(add_days(NaiveDate::MAX, 5), NaiveDate::MAX);
        assert_eq!(add_days(d("2026-01-10"), -9), d("2026-01-01"));
    }
}
