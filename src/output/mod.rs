//! The one place that renders output: formats, colour, tables, CSV and
//! terminal-safe text.
//!
//! Strings from records are untrusted: on a terminal, control characters and
//! ANSI escapes are shown escaped; CSV cells that a spreadsheet would run as a
//! formula are neutralised; JSON is always produced by serde_json.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use comfy_table::{ContentArrangement, Table, presets};

use crate::error::{Error, Result};
use crate::model::finding::{Finding, Severity};

pub mod dashboard;
pub mod findings;

/// Every output format a command may offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Csv,
    Yaml,
    Markdown,
    Github,
    Sarif,
    Junit,
    Html,
    Jsonl,
    Trivyignore,
    Openvex,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Yaml => "yaml",
            Format::Markdown => "markdown",
            Format::Github => "github",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Html => "html",
            Format::Jsonl => "jsonl",
            Format::Trivyignore => "trivyignore",
            Format::Openvex => "openvex",
        }
    }

    /// The format to use: the requested one if the command offers it, else an error.
    pub fn pick(requested: Option<Format>, offered: &[Format]) -> Result<Format> {
        match requested {
            None => Ok(offered[0]),
            Some(f) if offered.contains(&f) => Ok(f),
            Some(f) => Err(Error::Usage(format!(
                "this command does not offer --format {}; it offers {}",
                f.as_str(),
                offered.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
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

/// Shows control characters (ANSI escapes, carriage returns, bidi overrides)
/// escaped, so a record cannot rewrite the reader's screen. Newlines and tabs stay.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Makes a CSV cell safe to open in a spreadsheet: a leading `=`, `+`, `-`, `@`,
/// tab or carriage return gets a `'` in front, so it is text, not a formula.
pub fn csv_safe(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A table for the terminal. Cells are made terminal-safe.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    // On a terminal, wrap to its width; in a pipe or file, keep one row per line.
    let arrangement =
        if std::io::stdout().is_terminal() { ContentArrangement::Dynamic } else { ContentArrangement::Disabled };
    t.load_style(presets::UTF8_FULL_CONDENSED).set_content_arrangement(arrangement).set_header(headers.to_vec());
    for row in rows {
        t.add_row(row.iter().map(|c| terminal_safe(c).into_owned()).collect::<Vec<_>>());
    }
    t.to_string()
}

/// CSV with a header row; every cell neutralised against formula injection.
pub fn csv(headers: &[&str], rows: &[Vec<String>]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::Usage(format!("cannot write CSV: {e}"));
    w.write_record(headers).map_err(err)?;
    for row in rows {
        w.write_record(row.iter().map(|c| csv_safe(c).into_owned())).map_err(err)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Usage(format!("cannot write CSV: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// HTML text: everything that could be markup is escaped.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Markdown text: characters that would become markup or HTML are escaped.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Pretty JSON of any serialisable value.
pub fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map(|s| s + "\n").map_err(|e| Error::Usage(format!("cannot write JSON: {e}")))
}

/// One finding as `path:line:col: severity[code]: message`.
pub fn finding_line(f: &Finding, color: bool) -> String {
    let sev = match f.severity {
        Severity::Error => paint("error", Paint::Red, color),
        Severity::Warning => paint("warning", Paint::Yellow, color),
    };
    format!("{}:{}:{}: {sev}[{}]: {}", terminal_safe(&f.path), f.line, f.column, f.code, terminal_safe(&f.message))
}

/// Writes to stdout. A closed pipe (`exc list | head`) is not an error.
pub fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("<stdout>", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(terminal_safe("ok"), "ok");
        assert_eq!(terminal_safe("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(terminal_safe("x\ry"), "x\\ry");
    }

    #[test]
    fn neutralises_formulas() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("-1"), "'-1");
        assert_eq!(csv_safe("plain"), "plain");
    }
}
