//! Escaping untrusted values for each output format, so nothing printed can
//! be turned on its reader: rewrite a terminal, start a CI workflow command,
//! break out of markdown, HTML, CSV or XML, or hide text with bidi controls.
//!
//! Values from records and from git (titles, names, messages) come from pull
//! requests by anyone. Each format has its function here, and [`guard`] runs
//! over every line of human-readable output last.

use std::borrow::Cow;

/// Characters that reorder or hide text: bidi controls and zero-width marks.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{feff}'
    )
}

fn unsafe_in_text(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

/// A value for the terminal, on one line: control characters (ANSI escapes,
/// carriage returns, newlines, tabs), bidi controls and zero-width characters
/// are shown escaped (`\n`, `\u{202e}`).
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_in_text) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_in_text(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text that may span lines (a YAML preview): like [`text`], but newlines stay.
pub fn block(s: &str) -> String {
    s.split('\n').map(|l| text(l).into_owned()).collect::<Vec<_>>().join("\n")
}

/// The last pass over human-readable output: no line can start a GitHub
/// Actions workflow command (`::…`), and no line holds a GitHub (`##[`) or
/// Azure Pipelines (`##vso[`) logging command, whatever the values in it.
pub fn guard(output: &str) -> Cow<'_, str> {
    let risky = output.contains("::") || output.contains("##");
    if !risky {
        return Cow::Borrowed(output);
    }
    let mut out = String::with_capacity(output.len() + 8);
    for (i, line) in output.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let trimmed = line.trim_start();
        let line: Cow<str> = if trimmed.starts_with("::") {
            let indent = &line[..line.len() - trimmed.len()];
            Cow::Owned(format!("{indent}\\{trimmed}"))
        } else {
            Cow::Borrowed(line)
        };
        out.push_str(&neutralise_logging_commands(&line, "\\["));
    }
    Cow::Owned(out)
}

/// `##[` and `##vso[` (any case) with their bracket replaced by `bracket`.
fn neutralise_logging_commands<'a>(s: &'a str, bracket: &str) -> Cow<'a, str> {
    if !s.contains("##") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 4);
    let mut rest = s;
    while !rest.is_empty() {
        let vso = rest.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("##vso["));
        if rest.starts_with("##[") {
            out.push_str("##");
            out.push_str(bracket);
            rest = &rest[3..];
        } else if vso {
            out.push_str(&rest[..5]);
            out.push_str(bracket);
            rest = &rest[6..];
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    Cow::Owned(out)
}

/// JSON text as serde_json wrote it, with `##[` inside strings written as
/// `##\u005b`: the same JSON value, but no CI runner reads a command in it.
pub fn json(s: String) -> String {
    if !s.contains("##") {
        return s;
    }
    let mut guard = JsonGuard::new(Vec::with_capacity(s.len() + 8));
    let done = std::io::Write::write_all(&mut guard, s.as_bytes()).and_then(|_| guard.finish());
    match done.map(String::from_utf8) {
        Ok(Ok(out)) => out,
        _ => s,
    }
}

/// A writer that passes JSON through with `##[` and `##vso[` (any case)
/// written as `##\u005b` and `##vso\u005b`, so JSON can be streamed to its
/// reader (see [`json`]). Outside strings JSON has no `#`, so only strings
/// change, and they keep their value. Call [`JsonGuard::finish`] at the end.
pub struct JsonGuard<W: std::io::Write> {
    inner: W,
    pending: Vec<u8>,
}

/// The longest pattern less one: what must stay pending until more arrives.
const CARRY: usize = "##vso[".len() - 1;
/// How much to gather before writing (tiny in tests, to cross every boundary).
#[cfg(not(test))]
const CHUNK: usize = 64 * 1024;
#[cfg(test)]
const CHUNK: usize = 7;

impl<W: std::io::Write> JsonGuard<W> {
    pub fn new(inner: W) -> JsonGuard<W> {
        JsonGuard { inner, pending: Vec::new() }
    }

    /// Writes what is pending, flushes, and gives the writer back.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.drain(true)?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    /// Writes the pending bytes out, neutralised, keeping the last few back
    /// (a pattern may continue in the next write) unless `all`.
    fn drain(&mut self, all: bool) -> std::io::Result<()> {
        let p = &self.pending;
        let end = if all { p.len() } else { p.len().saturating_sub(CARRY) };
        let mut out = Vec::with_capacity(end + 16);
        let mut i = 0;
        while i < end {
            if p[i..].starts_with(b"##[") {
                out.extend_from_slice(b"##\\u005b");
                i += 3;
            } else if p.get(i..i + 6).is_some_and(|w| w.eq_ignore_ascii_case(b"##vso[")) {
                out.extend_from_slice(&p[i..i + 5]);
                out.extend_from_slice(b"\\u005b");
                i += 6;
            } else {
                out.push(p[i]);
                i += 1;
            }
        }
        self.inner.write_all(&out)?;
        self.pending.drain(..i);
        Ok(())
    }
}

impl<W: std::io::Write> std::io::Write for JsonGuard<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= CHUNK {
            self.drain(false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Data of a GitHub workflow command (the part after `::`).
pub fn workflow_data(s: &str) -> String {
    let s = s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    neutralise_logging_commands(&text_keeping(&s), "%5B").into_owned()
}

/// A property of a GitHub workflow command (`file=…,title=…`).
pub fn workflow_property(s: &str) -> String {
    workflow_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Like [`text`] for data already free of newlines: other controls and
/// invisible characters shown escaped.
fn text_keeping(s: &str) -> String {
    text(s).into_owned()
}

/// A value inside markdown, as an inline code span: no markup, mention,
/// autolink, HTML or heading can come out of it, and it cannot break a table
/// (`|` is escaped, which GitHub reads inside code spans in tables). The fence
/// is longer than any run of backticks in the value; newlines and invisible
/// characters are shown escaped.
pub fn markdown_code(s: &str) -> String {
    let shown = text(s);
    let shown = shown.replace('|', "\\|");
    let longest = shown.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if shown.starts_with('`') || shown.ends_with('`') || shown.is_empty() { " " } else { "" };
    format!("{fence}{pad}{shown}{pad}{fence}")
}

/// A word for a POSIX shell: as it is when nothing in it is special, else
/// in single quotes (a command line exc prints for people to run again).
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// One of exc's own messages as markdown: its `code spans` stay code spans
/// (each made safe by [`markdown_code`]) and the words between them are
/// escaped by [`markdown_text`], so GitHub shows `exc recertify EXC-1` as
/// code rather than as backticks.
pub fn markdown_message(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        // An unpaired backtick: no code spans, just text.
        return markdown_text(s);
    }
    parts.iter().enumerate().map(|(i, p)| if i % 2 == 1 { markdown_code(p) } else { markdown_text(p) }).collect()
}

/// Plain markdown text (exc's own words around values): characters that
/// would become markup are escaped, `@` cannot mention, `://` cannot autolink,
/// and newlines, controls and invisible characters are shown escaped.
pub fn markdown_text(s: &str) -> String {
    let shown = text(s);
    let mut out = String::with_capacity(shown.len() + 8);
    for c in shown.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '~' | '@' | ':' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    // "www." autolinks without a scheme.
    out.replace("www.", "www\\.")
}

/// HTML text: everything that could be markup is escaped; controls and
/// invisible characters become U+FFFD.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c.is_control() && c != '\n' && c != '\t') || is_invisible(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// XML text or attribute value: markup escaped, newlines and tabs kept as
/// character references (attribute values would otherwise fold them into
/// spaces), characters XML 1.0 forbids and invisible ones shown escaped.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || matches!(c, '\u{fffe}' | '\u{ffff}') || is_invisible(c) => {
                out.extend(c.escape_default())
            }
            c => out.push(c),
        }
    }
    neutralise_logging_commands(&out, "&#91;").into_owned()
}

/// A CSV cell that a spreadsheet would run as a formula (leading `=`, `+`,
/// `-`, `@`, tab or CR) gets a `'` in front, so it is text. Numbers are not
/// text cells and are written as they are.
pub fn csv_cell(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(shell_word("EXC-7K3Q"), "EXC-7K3Q");
        assert_eq!(shell_word("Dana <dana@example.com>"), "'Dana <dana@example.com>'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn messages_keep_their_code_spans_and_escape_the_rest() {
        assert_eq!(
            markdown_message("renew with `exc recertify EXC-1` or *not*"),
            "renew with `exc recertify EXC-1` or \\*not\\*"
        );
        // A value holding a backtick cannot open a span of its own.
        assert_eq!(markdown_message("type `a`b` unknown"), "type \\`a\\`b\\` unknown");
        assert_eq!(markdown_message("unknown type `x|y`"), "unknown type `x\\|y`");
    }

    use super::*;

    #[test]
    fn text_escapes_controls_and_invisibles() {
        assert_eq!(text("ok"), "ok");
        assert_eq!(text("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(text("x\ry\nz"), "x\\ry\\nz");
        assert_eq!(text("abc\u{202e}def\u{200b}"), "abc\\u{202e}def\\u{200b}");
    }

    #[test]
    fn guard_stops_workflow_commands() {
        let out = guard("ok\n::add-mask::x\n  ::error file=a::b\nsee ##[error]x and ##VSO[task.setvariable]y\n");
        assert_eq!(
            out,
            "ok\n\\::add-mask::x\n  \\::error file=a::b\nsee ##\\[error]x and ##VSO\\[task.setvariable]y\n"
        );
        assert_eq!(guard("a :: b"), "a :: b");
    }

    #[test]
    fn json_streamed_in_any_pieces_is_json_in_one_piece() {
        let s = serde_json::to_string(&serde_json::json!({"t": "a##[x ##VSO[y ###[z ##vso", "u": "##"})).unwrap();
        let whole = json(s.clone());
        assert!(!whole.contains("##[") && !whole.to_ascii_lowercase().contains("##vso["), "{whole}");
        for size in 1..8 {
            let mut g = JsonGuard::new(Vec::new());
            for piece in s.as_bytes().chunks(size) {
                std::io::Write::write_all(&mut g, piece).unwrap();
            }
            assert_eq!(String::from_utf8(g.finish().unwrap()).unwrap(), whole, "pieces of {size}");
        }
        let back: serde_json::Value = serde_json::from_str(&whole).unwrap();
        assert_eq!(back["t"], "a##[x ##VSO[y ###[z ##vso");
    }

    #[test]
    fn json_keeps_the_value() {
        let s = serde_json::to_string(&serde_json::json!({"t": "##[error]x"})).unwrap();
        let guarded = json(s);
        assert!(!guarded.contains("##["));
        let back: serde_json::Value = serde_json::from_str(&guarded).unwrap();
        assert_eq!(back["t"], "##[error]x");
    }

    #[test]
    fn workflow_data_is_escaped() {
        assert_eq!(workflow_data("a\nb%##[x"), "a%0Ab%25##%5Bx");
        assert_eq!(workflow_property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn markdown_code_spans_cannot_be_broken() {
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x"), "`` `x ``");
        assert_eq!(markdown_code("a|b\n# h"), "`a\\|b\\n# h`");
        assert_eq!(markdown_text("@org/team https://x"), "\\@org/team https\\://x");
    }

    #[test]
    fn xml_keeps_newlines_in_attributes() {
        assert_eq!(xml("<a href=\"x\">&'\u{1b}\n"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\\u{1b}&#10;");
    }

    /// Random strings from the characters that matter: no value, wherever it
    /// lands in a line, makes a line a CI command, breaks a code span, or
    /// leaves a newline in workflow-command data.
    #[test]
    fn no_generated_value_escapes_its_format() {
        const PIECES: &[&str] = &[
            ":", "::", "#", "##", "[", "##[", "vso", "VSO", "`", "``", "\n", "\r", " ", "\t", "a", "@", "|", "%",
            "\u{202e}", "\u{200b}", "x",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 12) as usize;
            let value: String = (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
            for line in [value.clone(), format!("  {value}"), format!("id: {value}\nnext")] {
                let out = guard(&line);
                for l in out.split('\n') {
                    assert!(!l.trim_start().starts_with("::"), "{value:?} -> {l:?}");
                    let lower = l.to_ascii_lowercase();
                    assert!(!lower.contains("##[") && !lower.contains("##vso["), "{value:?} -> {l:?}");
                }
            }
            let span = markdown_code(&value);
            assert!(!span.contains('\n') && !span.contains('\r'), "{value:?} -> {span:?}");
            let fence = span.chars().take_while(|c| *c == '`').count();
            assert!(fence >= 1 && span.ends_with(&"`".repeat(fence)), "{value:?} -> {span:?}");
            let inner = &span[fence..span.len() - fence];
            let longest = inner.split(|c| c != '`').map(str::len).max().unwrap_or(0);
            assert!(longest < fence, "a run of backticks inside ends the span: {value:?} -> {span:?}");
            assert!(!inner.contains('\u{202e}'), "{value:?}");
            let data = workflow_data(&value);
            assert!(!data.contains('\n') && !data.contains('\r') && !data.contains("##["), "{value:?} -> {data:?}");
        }
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("plain"), "plain");
    }
}
