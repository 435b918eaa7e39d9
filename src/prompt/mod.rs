//! The one place that asks questions on a terminal: the request form of
//! `exc new` ([`form`]) and the review checklist of `exc recertify`.
//!
//! Choices and yes/no questions are dialoguer's; lines of text are edited by
//! [`line`], which redraws an answer wider than the terminal cleanly. Every
//! answer is checked where it is given: a refused one is asked again, with the
//! reason under it, and nothing given so far is lost.
//!
//! Every prompt has a flag alternative, and nothing here runs without a
//! terminal on both stdin and stderr.

mod form;
mod line;

pub use form::{Choice, change, form, submit};

use std::io::IsTerminal;

use chrono::NaiveDate;
use dialoguer::console::{Term, truncate_str};
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Select};

use crate::error::{Error, Result};
use crate::model::time;

/// Whether a person is there to answer: stdin and stderr are terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// dialoguer's colourful theme. Its colours follow the terminal (none under
/// `NO_COLOR` or on a dumb terminal); its marks (`?`, `✔`, `✘`) stay.
fn theme() -> ColorfulTheme {
    ColorfulTheme::default()
}

fn interrupted(e: impl std::fmt::Display) -> Error {
    Error::Prompt(format!("interrupted ({e}); nothing written"))
}

/// A yes/no question.
pub fn confirm(question: &str, default: bool) -> Result<bool> {
    Confirm::with_theme(&theme()).with_prompt(question).default(default).interact().map_err(interrupted)
}

/// One choice from a list; returns its index. An item wider than the
/// terminal is shortened (dialoguer clears one row per item, so a wrapped
/// item would leave rows behind), and control characters are shown escaped.
pub fn select(question: &str, items: &[String], default: usize) -> Result<usize> {
    let room = usize::from(Term::stderr().size().1).saturating_sub(3).max(10);
    let shown: Vec<String> = items.iter().map(|item| truncate_str(&visible(item), room, "…").into_owned()).collect();
    Select::with_theme(&theme())
        .with_prompt(question)
        .items(&shown)
        .default(default.min(items.len().saturating_sub(1)))
        .interact()
        .map_err(interrupted)
}

/// `text` with control characters (which could move the cursor or restyle
/// the terminal) shown escaped.
fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A line of text, starting from `initial`, asked until `check` accepts the
/// trimmed answer; why it did not is shown under the answer.
pub fn text<T>(question: &str, initial: &str, check: impl Fn(&str) -> std::result::Result<T, String>) -> Result<T> {
    line::ask(&theme(), question, initial, check).map_err(interrupted)
}

/// A date (`2027-03-01`) or a span from `from` (`30d`, `12w`, `3m`), starting
/// from `initial`, asked until `check` accepts it.
pub fn date(
    question: &str,
    from: NaiveDate,
    initial: NaiveDate,
    check: impl Fn(NaiveDate) -> std::result::Result<(), String>,
) -> Result<NaiveDate> {
    text(question, &initial.to_string(), |s| {
        let day = time::parse_date_or_span(s, from)?;
        check(day).map(|()| day)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(visible("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\n");
        assert_eq!(visible("Défense 日本"), "Défense 日本");
    }
}
