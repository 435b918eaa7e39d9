//! A fast reader for the plain block-style YAML that exc itself writes: block
//! mappings and sequences, quoted and plain string scalars, and simple block
//! scalars. Anything outside that small subset (anchors, aliases, tags, flow
//! collections, numbers, nulls, escapes, inline comments, several
//! documents, …) makes it give up and return `None`, and the full parser
//! (serde-saphyr) reads the file instead. So it never decides what a hostile
//! file means: it only speeds up the common, boring case.
//!
//! Debug builds check every answer against the full parser (`super::parse_value`).

use serde_json::{Map, Value};

/// Deeper than this is not something exc writes: give up.
const MAX_DEPTH: usize = 8;

struct Line<'a> {
    indent: usize,
    text: &'a str,
}

/// Reads `text` if it is in the simple subset; `None` means "use the full parser".
pub fn parse(text: &str) -> Option<Value> {
    // Tabs, a carriage return not before a line feed, other control characters
    // (which YAML forbids anywhere, comments included) and a BOM inside the
    // text are rare: the full parser has them.
    if has_control(text.as_bytes()) {
        return None;
    }
    let mut lines = Vec::with_capacity(text.len() / 32 + 1);
    let bytes = text.as_bytes();
    let mut start = 0;
    loop {
        let end = bytes[start..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| start + i);
        let raw = text[start..end].strip_suffix('\r').unwrap_or(&text[start..end]);
        if raw.starts_with("---") || raw.starts_with("...") || raw.starts_with('%') {
            return None;
        }
        let body = raw.trim_start_matches(' ');
        lines.push(Line { indent: raw.len() - body.len(), text: body });
        if end == bytes.len() {
            break;
        }
        start = end + 1;
    }
    let mut p = Parser { lines, i: 0 };
    p.skip_blank();
    let first = p.lines.get(p.i)?;
    if first.indent != 0 {
        return None;
    }
    let map = p.mapping(0, 0)?;
    p.skip_blank();
    (p.i == p.lines.len()).then_some(Value::Object(map))
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    i: usize,
}

fn is_blank(l: &Line) -> bool {
    l.text.is_empty() || l.text.starts_with('#')
}

impl<'a> Parser<'a> {
    fn skip_blank(&mut self) {
        while self.lines.get(self.i).is_some_and(is_blank) {
            self.i += 1;
        }
    }

    /// A block mapping whose keys sit at `indent`.
    fn mapping(&mut self, indent: usize, depth: usize) -> Option<Map<String, Value>> {
        if depth > MAX_DEPTH {
            return None;
        }
        // Records have about twenty top-level fields and small nested mappings.
        let mut map = Map::with_capacity(if depth == 0 { 32 } else { 4 });
        loop {
            self.skip_blank();
            let Some(line) = self.lines.get(self.i) else { break };
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let (key, rest) = split_key(line.text)?;
            self.i += 1;
            let value = self.value(indent, rest, depth)?;
            if map.insert(key.to_string(), value).is_some() {
                return None; // a duplicate key: the full parser names it
            }
        }
        Some(map)
    }

    /// The value after `key:` on a line at `indent`; `rest` is what follows the colon.
    fn value(&mut self, indent: usize, rest: &str, depth: usize) -> Option<Value> {
        if rest.is_empty() {
            self.skip_blank();
            let next = self.lines.get(self.i)?;
            if is_item(next.text) && next.indent >= indent {
                let at = next.indent;
                return self.sequence(at, depth + 1).map(Value::Array);
            }
            if next.indent > indent {
                let at = next.indent;
                return self.mapping(at, depth + 1).map(Value::Object);
            }
            return None; // an empty value is null: leave it to the full parser
        }
        if rest.starts_with('#') {
            return self.value(indent, "", depth); // `key: # a comment`, the value below
        }
        if rest.starts_with('>') || rest.starts_with('|') {
            return self.block_scalar(indent, rest).map(Value::String);
        }
        if rest.starts_with('[') {
            return flow_list(rest);
        }
        scalar(rest)
    }

    /// A block sequence whose dashes sit at `indent`.
    fn sequence(&mut self, indent: usize, depth: usize) -> Option<Vec<Value>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            let Some(line) = self.lines.get(self.i) else { break };
            if line.indent != indent || !is_item(line.text) {
                if line.indent > indent {
                    return None;
                }
                break;
            }
            let content = line.text[1..].trim_start_matches(' ');
            if content.is_empty() || content.starts_with('-') || content.starts_with('#') {
                return None;
            }
            let item_indent = indent + (line.text.len() - content.len());
            if split_key(content).is_some() {
                // `- key: value` opens a mapping whose keys sit under `key`.
                self.lines[self.i] = Line { indent: item_indent, text: content };
                items.push(Value::Object(self.mapping(item_indent, depth + 1)?));
            } else {
                if content.starts_with('>') || content.starts_with('|') {
                    return None;
                }
                self.i += 1;
                items.push(scalar(content)?);
            }
        }
        Some(items)
    }

    /// `>`, `>-`, `|` or `|-` and the more-indented lines after it, blank
    /// lines inside included.
    fn block_scalar(&mut self, parent: usize, header: &str) -> Option<String> {
        let header = header.split(" #").next().unwrap_or(header).trim_end_matches(' ');
        let (folded, strip) = match header {
            ">" => (true, false),
            ">-" => (true, true),
            "|" => (false, false),
            "|-" => (false, true),
            _ => return None,
        };
        // Content lines, and `None` for a blank line between them.
        let mut body: Vec<Option<&str>> = Vec::new();
        let mut block_indent = None;
        while let Some(line) = self.lines.get(self.i) {
            if line.text.is_empty() {
                let next = self.lines[self.i..].iter().find(|l| !l.text.is_empty());
                if next.is_none_or(|l| l.indent <= parent) {
                    break; // trailing blank lines end the scalar
                }
                if line.indent > block_indent.unwrap_or(usize::MAX) {
                    return None; // spaces past the indentation are content
                }
                body.push(None);
                self.i += 1;
                continue;
            }
            if line.indent <= parent {
                break;
            }
            let at = *block_indent.get_or_insert(line.indent);
            if line.indent != at {
                return None; // more-indented lines keep their breaks: full parser
            }
            body.push(Some(line.text));
            self.i += 1;
        }
        if body.first().is_none_or(Option::is_none) {
            return None;
        }
        let mut out = String::new();
        let mut previous_blank = true;
        for line in &body {
            match line {
                None => {
                    out.push('\n');
                    previous_blank = true;
                }
                Some(text) => {
                    if !out.is_empty() && !previous_blank {
                        out.push(if folded { ' ' } else { '\n' });
                    } else if !folded && !out.is_empty() {
                        out.push('\n');
                    }
                    out.push_str(text);
                    previous_blank = false;
                }
            }
        }
        // Clip keeps the final line break, when there is one: at the end of a
        // file without one, there is none to keep.
        if !strip && self.i < self.lines.len() {
            out.push('\n');
        }
        Some(out)
    }
}

/// `[a, b, 'c d']` on one line, of simple scalars; else `None`.
fn flow_list(rest: &str) -> Option<Value> {
    let rest = match rest.find(" #") {
        Some(i) if !rest[..i].contains(['"', '\'']) => &rest[..i],
        _ => rest,
    };
    let inner = rest.trim_end_matches(' ').strip_prefix('[')?.strip_suffix(']')?;
    if inner.trim().is_empty() {
        return Some(Value::Array(Vec::new()));
    }
    if inner.contains(['[', ']', '{', '}', '#', '"', '\'']) {
        return None;
    }
    let items = inner.split(',').map(|item| {
        let item = item.trim_matches(' ');
        // Plain scalars in flow context end at `,` `[` `]` `{` `}`; `: ` (or a
        // final `:`) makes a pair, while `a:b` is one scalar.
        if item.is_empty() || item.ends_with(':') { None } else { scalar(item) }
    });
    items.collect::<Option<Vec<Value>>>().map(Value::Array)
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// `key: rest` or `key:` with a plain, simple key (a letter or `_`, then
/// letters, digits, `_` and `-`).
fn split_key(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    if !bytes.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
        return None;
    }
    let colon = bytes.iter().position(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-'))?;
    // YAML caps implicit keys at 1,024 characters; record keys are far shorter.
    if bytes[colon] != b':' || colon > 128 {
        return None;
    }
    let (key, after) = (&text[..colon], &text[colon + 1..]);
    if key.len() <= 5 && RESERVED.contains(&key) {
        return None; // `FALSE:` is the key "false" to the full parser
    }
    if after.is_empty() {
        return Some((key, ""));
    }
    let rest = after.strip_prefix(' ')?.trim_start_matches(' ');
    Some((key, rest))
}

/// Plain words YAML may read as something other than a string (null, booleans
/// in YAML 1.1 and 1.2, special floats): values and keys spelled so go to the
/// full parser.
const RESERVED: &[&str] = &[
    "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y", "Y", "yes", "Yes", "YES", "n", "N",
    "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "inf", "nan", "NaN",
];

/// Whether `bytes` hold a control character other than a line feed (C0, DEL,
/// or C1 as UTF-8 `C2 80..9F`), a BOM or a noncharacter. One pass.
fn has_control(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| match b {
        b'\n' => false,
        // CRLF line ends are common in hand-written files; a CR alone is not.
        b'\r' => bytes.get(i + 1) != Some(&b'\n'),
        0..=0x1f | 0x7f => true,
        0xc2 => bytes.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)),
        // A BOM (U+FEFF), and the noncharacters U+FFFE and U+FFFF.
        0xef => {
            matches!((bytes.get(i + 1), bytes.get(i + 2)), (Some(0xbb), Some(0xbf)) | (Some(0xbf), Some(0xbe | 0xbf)))
        }
        _ => false,
    })
}

/// A one-line scalar that is surely a string (or an empty list/map); else
/// `None`. A trailing ` # comment` is not part of it.
fn scalar(s: &str) -> Option<Value> {
    let s = without_comment(s)?.trim_end_matches(' ');
    if is_date_or_timestamp(s) {
        return Some(Value::String(s.to_string()));
    }
    match s {
        "[]" => return Some(Value::Array(Vec::new())),
        "{}" => return Some(Value::Object(Map::new())),
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    if let Some(inner) = s.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        return (!inner.contains(['"', '\\'])).then(|| Value::String(inner.to_string()));
    }
    if let Some(inner) = s.strip_prefix('\'') {
        let inner = inner.strip_suffix('\'')?;
        let unescaped = inner.replace("''", "'");
        return (!unescaped.contains('\'') || inner.matches("''").count() * 2 == inner.matches('\'').count())
            .then_some(Value::String(unescaped));
    }
    let bytes = s.as_bytes();
    let first = *bytes.first()?;
    if first.is_ascii_digit() || b"-?:,[]{}#&*!|>'\"%@`+.~=".contains(&first) || s.ends_with(':') {
        return None;
    }
    // `: ` and ` #` change the meaning of a plain scalar.
    let colon_or_comment = bytes.windows(2).any(|w| matches!(w, [b':', b' '] | [b' ', b'#']));
    if colon_or_comment {
        return None;
    }

    if s.len() <= 5 && RESERVED.contains(&s) {
        return None;
    }
    Some(Value::String(s.to_string()))
}

/// `s` without a trailing ` # comment`: for a quoted scalar, up to its
/// closing quote (then only a comment may follow); for a plain one, what
/// precedes ` #`. `None` when it is not that simple.
fn without_comment(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let close = match b.first() {
        Some(b'"') => s[1..].find('"')? + 1,
        Some(b'\'') => {
            let mut i = 1;
            loop {
                match b.get(i) {
                    None => return None,
                    Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
                    Some(b'\'') => break i,
                    _ => i += 1,
                }
            }
        }
        _ => return Some(s.find(" #").map_or(s, |i| &s[..i])),
    };
    let tail = &s[close + 1..];
    let rest = tail.trim_start_matches(' ');
    (rest.is_empty() || (rest.starts_with('#') && tail.starts_with(' '))).then(|| &s[..=close])
}

/// `2027-01-15`, or a timestamp such as `2026-11-01T09:00:00Z`: plain scalars
/// YAML 1.2 core reads as strings, as people type dates by hand.
fn is_date_or_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let date = b.len() >= 10 && digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10);
    if !date {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    // Thh:mm:ss, then an optional fraction, then Z or an offset.
    let time = b.len() >= 19
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !time {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        b"" | b"Z" => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What people type by hand reads fast too (the full parser agrees in
    /// debug builds, see `super::parse_value`).
    #[test]
    fn reads_records_as_people_write_them() {
        let v =
            parse("id: EXC-1 # the id\r\ncreated: 2026-11-01T09:00:00Z\r\nexpires: 2027-01-15\r\nassets: [a, b-2]\r\n")
                .unwrap();
        assert_eq!(v["created"], "2026-11-01T09:00:00Z");
        assert_eq!(v["expires"], "2027-01-15");
        assert_eq!(v["assets"], serde_json::json!(["a", "b-2"]));
        assert_eq!(v["id"], "EXC-1");
        let v = parse("t: 'a # b' # c\nj: |\n  one\n\n  two\nk: >\n  one\n  two\n\n  three\n").unwrap();
        assert_eq!(v["t"], "a # b");
        assert_eq!(v["j"], "one\n\ntwo\n");
        assert_eq!(v["k"], "one two\nthree\n");
        assert_eq!(parse("c: [NIST-800-53:CM-6, CIS:4.4]\n").unwrap()["c"][1], "CIS:4.4");
        for hard in [
            "a: 2026-11-01 09:00:00Z\n",
            "a: 2026-1-1\n",
            "a: [b: c]\n",
            "a: [b:]\n",
            "a: [1, 2]\n",
            "a: [\n  b]\n",
            "a: b\rc\n",
        ] {
            assert_eq!(parse(hard), None, "{hard:?}");
        }
    }

    #[test]
    fn reads_what_exc_writes_and_gives_up_on_the_rest() {
        let v =
            parse("id: EXC-1\ntitle: \"a: b\"\nassets:\n  - a\n  - 'it''s'\nempty: []\nj: >-\n  one\n  two\n").unwrap();
        assert_eq!(v["title"], "a: b");
        assert_eq!(v["assets"][1], "it's");
        assert_eq!(v["j"], "one two");
        assert_eq!(parse("a: true\nb: false\n").unwrap()["b"], false);
        let v = parse("_k: v\nk-1: a:b c\u{e9}\nurl: https://x.example/a#b\n").unwrap();
        assert_eq!(v["k-1"], "a:b c\u{e9}");
        assert_eq!(v["url"], "https://x.example/a#b");
        for hard in [
            "a: 1\n",
            "a: True\n",
            "a: &x b\nc: *x\n",
            "a: !!str b\n",
            "a: \"b\\n\"\n",
            "a: b\na: c\n",
            "---\na: b\n",
            "a:\n",
            " a: b\n",
            "a: no\n",
            "a:b\n",
            "1a: b\n",
            "-a: b\n",
            "a: b: c\n",
            "a: b:\n",
            "a: x\u{85}y\n",
            "a: x\u{feff}y\n",
            "a: x\u{7f}\n",
            "a: \"2021\0\0-06-02\"\n",
            "a: \"x\u{1}y\"\n",
            "a: 'x\u{85}y'\n",
            "# a comment\0\na: b\n",
            "a: x\u{fffe}\n",
            "FALSE: x\n",
            "a:\n  Null: x\n",
            &format!("{}: v\n", "k".repeat(1100)),
            "a: b\n<<<<<<< HEAD\n",
            "a: b\n=======\n",
            "\n# only a comment\n",
        ] {
            assert_eq!(parse(hard), None, "{hard:?}");
        }
    }
}
