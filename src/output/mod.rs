//! The one place that renders output: colour, tables, CSV, JSON, escaping,
//! the finding reporters, and each command's human-readable view.
//!
//! Strings from records and from git are untrusted: every format escapes them
//! its own way (`escape`), and human-readable output gets a last pass that
//! keeps any line from starting a CI workflow command.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use comfy_table::{ContentArrangement, Table, presets};

use crate::error::{Error, Result};
use crate::model::finding::{Finding, Locate, Nowhere, Severity};

pub mod changed;
pub mod dashboard;
pub mod diff;
pub mod escape;
pub mod evidence;
pub mod export;
pub mod findings;
pub mod notify;
pub mod oscal;
pub mod patch;
pub mod progress;
pub mod record;
pub mod reference;
pub mod remind;
pub mod report;
pub mod request;
pub mod stale;
pub mod suppressions;

/// Output formats of commands that print only text or JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    #[default]
    Text,
    Json,
}

/// When to colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// `auto` colours only a terminal, and never when `NO_COLOR` is set.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
            }
        }
    }
}

/// Colours for emphasis.
#[derive(Clone, Copy, Debug)]
pub enum Paint {
    Red,
    Yellow,
    Green,
    Bold,
    Dim,
}

/// Wraps `s` in an ANSI colour when `on`.
pub fn paint(s: &str, p: Paint, on: bool) -> String {
    if !on {
        return s.to_string();
    }
    let code = match p {
        Paint::Red => "31",
        Paint::Yellow => "33",
        Paint::Green => "32",
        Paint::Bold => "1",
        Paint::Dim => "2",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

/// A table for the terminal. Cells are escaped.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    // On a terminal, wrap to its width; in a pipe or file, keep one row per line.
    let arrangement =
        if std::io::stdout().is_terminal() { ContentArrangement::Dynamic } else { ContentArrangement::Disabled };
    t.load_style(presets::UTF8_FULL_CONDENSED).set_content_arrangement(arrangement).set_header(headers.to_vec());
    for row in rows {
        t.add_row(row.iter().map(|c| escape::text(c).into_owned()).collect::<Vec<_>>());
    }
    t.to_string()
}

/// A CSV cell: text (neutralised against formula injection) or a number.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Number(String),
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

/// CSV with a header row; text cells neutralised against formula injection.
pub fn csv(headers: &[&str], rows: &[Vec<Cell>]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::Output(format!("CSV: {e}"));
    w.write_record(headers).map_err(err)?;
    for row in rows {
        w.write_record(row.iter().map(|c| match c {
            Cell::Text(t) => escape::csv_cell(t).into_owned(),
            Cell::Number(n) => n.clone(),
        }))
        .map_err(err)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Output(format!("CSV: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A moment as every output writes it: RFC 3339 in UTC, to the second.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Pretty JSON of any serialisable value (no CI runner reads a command in it).
pub fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map(|s| escape::json(s) + "\n").map_err(|e| Error::Output(format!("JSON: {e}")))
}

/// [`json`], written to `w` as it is made: a large document is never held
/// as one string.
pub fn json_to<T: serde::Serialize>(w: &mut dyn Write, value: &T) -> Result<()> {
    let mut guard = escape::JsonGuard::new(w);
    let failed = |e: std::io::Error| Error::Output(format!("JSON: {e}"));
    serde_json::to_writer_pretty(&mut guard, value).map_err(|e| Error::Output(format!("JSON: {e}")))?;
    guard.write_all(b"\n").and_then(|_| guard.finish()).map(|_| ()).map_err(failed)
}

/// A value rendered now as the pretty JSON it will be inside a document, at
/// `depth` levels of nesting, so that a large document is never held as one
/// tree of values: each part is text as soon as it is made. Serialised with
/// [`json`], a document of such parts reads exactly as if it had been one tree.
pub fn embed<T: serde::Serialize>(value: &T, depth: usize) -> Result<Box<serde_json::value::RawValue>> {
    let pretty = serde_json::to_string_pretty(value).map_err(|e| Error::Output(format!("JSON: {e}")))?;
    let indented = pretty.replace('\n', &format!("\n{}", "  ".repeat(depth)));
    serde_json::value::RawValue::from_string(indented).map_err(|e| Error::Output(format!("JSON: {e}")))
}

/// One finding as `path:line:col: severity[code]: message`, with the commit
/// when the history is involved.
pub fn finding_line(f: &Finding, locate: &dyn Locate, color: bool) -> String {
    let sev = match f.severity {
        Severity::Error => paint("error", Paint::Red, color),
        Severity::Warning => paint("warning", Paint::Yellow, color),
        Severity::Allow => "allowed".to_string(),
    };
    let at = f.position(locate);
    format!("{}:{}:{}: {sev}[{}]: {}", escape::text(&f.path), at.line, at.col, f.code, escape::text(&f.message))
}

/// An error as printed on stderr: `exc: error: …`, then its findings, if any.
pub fn error_text(e: &Error) -> String {
    let mut out = String::new();
    for (i, line) in e.to_string().lines().enumerate() {
        let prefix = if i == 0 { "exc: error: " } else { "  " };
        out.push_str(&format!("{prefix}{}\n", escape::text(line)));
    }
    for f in e.findings() {
        out.push_str(&format!("  {}\n", finding_line(f, &Nowhere, false)));
    }
    escape::guard(&out).into_owned()
}

/// Writes human-readable output (text, markdown, CSV) to stdout, after the
/// last pass that keeps any line from starting a CI workflow command.
pub fn emit_text(text: &str) -> Result<()> {
    emit(&escape::guard(text))
}

/// Writes machine-readable output (JSON, SARIF, XML, YAML, files for other
/// tools) to stdout as it is: each format escapes its own values.
pub fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("<stdout>", e)),
    }
}

/// Writes `value` to stdout as pretty JSON, streamed (a register of 10,000
/// records is never held as one string), guarded as [`json`] is.
pub fn emit_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut guard = escape::JsonGuard::new(out);
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(Error::io("<stdout>", e)),
    };
    match serde_json::to_writer_pretty(&mut guard, value) {
        Err(e) if e.is_io() => return io(e.into()),
        Err(e) => return Err(Error::Output(format!("JSON: {e}"))),
        Ok(()) => {}
    }
    guard.write_all(b"\n").and_then(|_| guard.finish()).and_then(|mut w| w.flush()).or_else(io)
}

/// A warning on stderr.
pub fn warn(message: &str) {
    eprint!("{}", escape::guard(&format!("exc: warning: {}\n", escape::text(message))));
}

/// A note on standard error (not a warning: something the user should know).
pub fn note(message: &str) {
    eprint!("{}", escape::guard(&format!("exc: {}\n", escape::text(message))));
}
