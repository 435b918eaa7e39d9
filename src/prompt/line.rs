//! A line of text, edited in place on the terminal.
//!
//! dialoguer 0.12's `Input` echoes each key where the cursor is and, on
//! Enter, clears only the cursor's row and the rows it drew itself: an answer
//! wider than the terminal leaves its first rows behind (the question shows
//! twice), and the row of a refusal shown before the answer wrapped is not the
//! one it clears (the refusal stays). Here the question, the answer and the
//! reason a previous answer was refused are drawn whole on every key, from the
//! question's first row, laid out as the terminal wraps them; once an answer is
//! accepted, all of it gives way to one line, question and answer.

use std::fmt;

use dialoguer::console::{Key, Term, measure_text_width, strip_ansi_codes};
use dialoguer::theme::Theme;

/// The longest answer the editor holds: keys past it are ignored (a pasted
/// file is not an answer, and every key redraws the whole answer).
const MAX_CHARS: usize = 4000;

/// Asks `question` on standard error, starting from `initial` (editable),
/// until `check` accepts the trimmed answer; shows why it did not under the
/// answer. Keys: arrows, Home/End (Ctrl-A/E), Backspace, Delete, Ctrl-U (to
/// the start), Ctrl-K (to the end), Ctrl-W (the word before).
pub fn ask<T>(
    theme: &dyn Theme,
    question: &str,
    initial: &str,
    check: impl Fn(&str) -> Result<T, String>,
) -> std::io::Result<T> {
    let term = Term::stderr();
    if !term.is_term() {
        return Err(std::io::Error::new(std::io::ErrorKind::NotConnected, "not a terminal"));
    }
    let prompt = styled(|f| theme.format_input_prompt(f, question, None));
    let mut answer = Answer::new(initial);
    let mut screen = Screen { term: &term, cursor_row: 0 };
    let mut refused: Option<String> = None;
    loop {
        screen.draw(&prompt, &answer, refused.as_deref())?;
        match term.read_key()? {
            Key::Enter => {
                let text = answer.text();
                match check(text.trim()) {
                    Ok(value) => {
                        screen.settle(&styled(|f| theme.format_input_prompt_selection(f, question, text.trim())))?;
                        return Ok(value);
                    }
                    Err(why) => refused = Some(styled(|f| theme.format_error(f, &why))),
                }
            }
            key => answer.edit(&key),
        }
    }
}

/// A theme's rendering, as text.
fn styled(render: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = render(&mut out);
    out
}

/// The answer being edited and the cursor in it (a char index).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    chars: Vec<char>,
    cursor: usize,
}

impl Answer {
    fn new(text: &str) -> Answer {
        let chars: Vec<char> = text.chars().filter(|c| !c.is_control()).take(MAX_CHARS).collect();
        Answer { cursor: chars.len(), chars }
    }

    fn text(&self) -> String {
        self.chars.iter().collect()
    }

    /// Applies one key; keys it has no use for change nothing.
    fn edit(&mut self, key: &Key) {
        match key {
            Key::Char('\u{15}') => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
            }
            Key::Char('\u{0b}') => self.chars.truncate(self.cursor),
            Key::Char('\u{17}') => {
                let before = &self.chars[..self.cursor];
                let spaces = before.iter().rev().take_while(|c| c.is_whitespace()).count();
                let word = before[..before.len() - spaces].iter().rev().take_while(|c| !c.is_whitespace()).count();
                let start = self.cursor - spaces - word;
                self.chars.drain(start..self.cursor);
                self.cursor = start;
            }
            Key::Char(c) if !c.is_control() && self.chars.len() < MAX_CHARS => {
                self.chars.insert(self.cursor, *c);
                self.cursor += 1;
            }
            Key::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.chars.remove(self.cursor);
            }
            Key::Del if self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
            }
            Key::ArrowLeft => self.cursor = self.cursor.saturating_sub(1),
            Key::ArrowRight => self.cursor = (self.cursor + 1).min(self.chars.len()),
            Key::Home => self.cursor = 0,
            Key::End => self.cursor = self.chars.len(),
            _ => {}
        }
    }
}

/// Where a terminal `width` columns wide puts text of these cell widths,
/// written from the start of a row: the (row, column) of each character, then
/// where the cursor is after the last one. A character that does not fit on
/// the row goes to the next; after a character that fills the row exactly,
/// the cursor's place is the start of the next row.
fn place(widths: impl IntoIterator<Item = usize>, width: usize) -> Vec<(usize, usize)> {
    let width = width.max(2);
    let (mut row, mut col) = (0, 0);
    let mut out = Vec::new();
    for w in widths {
        if col > 0 && col + w.max(1) > width {
            row += 1;
            col = 0;
        }
        out.push((row, col));
        col += w;
    }
    out.push(if col >= width { (row + 1, 0) } else { (row, col) });
    out
}

/// The cell width of each character of `text` (escape sequences removed).
fn cells(text: &str) -> Vec<usize> {
    let mut buf = [0u8; 4];
    strip_ansi_codes(text).chars().map(|c| measure_text_width(c.encode_utf8(&mut buf))).collect()
}

/// What the editor has drawn, and where the cursor is in it.
struct Screen<'a> {
    term: &'a Term,
    /// Rows between the question's first row and the cursor.
    cursor_row: usize,
}

impl Screen<'_> {
    fn width(&self) -> usize {
        usize::from(self.term.size().1)
    }

    /// Back to the question's first row, and everything from there cleared.
    fn rewind(&self, out: &mut String) {
        if self.cursor_row > 0 {
            out.push_str(&format!("\x1b[{}A", self.cursor_row));
        }
        out.push_str("\r\x1b[J");
    }

    /// Draws the question, the answer and the refusal (if any), and puts the
    /// cursor where it is in the answer.
    fn draw(&mut self, prompt: &str, answer: &Answer, refused: Option<&str>) -> std::io::Result<()> {
        let width = self.width();
        let prompt_cells = cells(prompt);
        let text = answer.text();
        let places = place(prompt_cells.iter().copied().chain(cells(&text)), width);
        let (cursor, end) = (places[prompt_cells.len() + answer.cursor], places[places.len() - 1]);
        let mut out = String::new();
        self.rewind(&mut out);
        out.push_str(prompt);
        out.push_str(&text);
        // A row filled exactly leaves the terminal's cursor on its last cell:
        // a new line makes the row the cursor belongs on.
        if end.1 == 0 && end.0 > 0 {
            out.push_str("\r\n");
        }
        let mut row = end.0;
        if let Some(refused) = refused {
            out.push_str("\r\n");
            out.push_str(refused);
            row += 1 + measure_text_width(refused).max(1).saturating_sub(1) / width.max(2);
        }
        if row > cursor.0 {
            out.push_str(&format!("\x1b[{}A", row - cursor.0));
        }
        out.push('\r');
        if cursor.1 > 0 {
            out.push_str(&format!("\x1b[{}C", cursor.1));
        }
        self.cursor_row = cursor.0;
        self.term.write_str(&out)?;
        self.term.flush()
    }

    /// Replaces everything drawn with `line`, and moves below it.
    fn settle(&mut self, line: &str) -> std::io::Result<()> {
        let mut out = String::new();
        self.rewind(&mut out);
        out.push_str(line);
        out.push_str("\r\n");
        self.cursor_row = 0;
        self.term.write_str(&out)?;
        self.term.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_where_the_terminal_wraps_it() {
        // Three cells on a row of four, then one more: the fourth fills the row.
        assert_eq!(place([1, 1, 1, 1], 4), [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]);
        assert_eq!(place([1, 1, 1, 1, 1], 4).last(), Some(&(1, 1)));
        // A wide character that does not fit starts the next row.
        assert_eq!(place([1, 1, 1, 2], 4), [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2)]);
        assert_eq!(place([], 80), [(0, 0)]);
    }

    #[test]
    fn cells_ignore_styles_and_count_wide_characters() {
        assert_eq!(cells("\x1b[1mab\x1b[0m"), [1, 1]);
        assert_eq!(cells("日a"), [2, 1]);
    }

    #[test]
    fn keys_edit_the_answer() {
        let mut a = Answer::new("hello big world");
        a.edit(&Key::Char('\u{17}'));
        assert_eq!(a.text(), "hello big ");
        a.edit(&Key::Home);
        a.edit(&Key::Del);
        a.edit(&Key::Char('J'));
        assert_eq!((a.text().as_str(), a.cursor), ("Jello big ", 1));
        a.edit(&Key::Char('\u{0b}'));
        assert_eq!(a.text(), "J");
        a.edit(&Key::Char('\u{7}'));
        a.edit(&Key::ArrowRight);
        a.edit(&Key::ArrowRight);
        a.edit(&Key::Backspace);
        assert_eq!((a.text().as_str(), a.cursor), ("", 0));
        a.edit(&Key::Backspace);
        a.edit(&Key::ArrowLeft);
        a.edit(&Key::Char('\u{15}'));
        assert_eq!((a.text().as_str(), a.cursor), ("", 0));
    }

    #[test]
    fn answers_are_bounded_and_hold_no_control_characters() {
        let a = Answer::new(&"x\u{1b}".repeat(MAX_CHARS));
        assert_eq!(a.chars.len(), MAX_CHARS);
        assert!(a.chars.iter().all(|c| *c == 'x'));
        let mut full = a.clone();
        full.edit(&Key::Char('y'));
        assert_eq!(full, a);
    }
}
