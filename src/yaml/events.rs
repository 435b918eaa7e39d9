//! A pass over the YAML events before the full parser reads a file, for what
//! it alone would let through or get wrong: a tag (`!!binary`, `!!str`, a
//! local tag) is refused with its position, so a reviewer never has to
//! decode a value to know what a record says; and a block scalar that ends
//! the file without a line break is noted, so its value gets none (YAML
//! adds no line feed at the end of input).

use granit_parser::{Event, Parser, ScalarStyle};

use super::{Position, SyntaxError, pointer_token};

/// What the pass found that the caller must apply.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Survey {
    /// The JSON pointer of a block scalar (clip or keep chomping) that ends
    /// the file without a line break: its value must not end with one.
    pub unterminated_block: Option<String>,
}

enum Frame {
    Map { key: Option<String> },
    Seq { next: usize },
}

/// Walks `text`'s events. Errors only for a tag; syntax errors are left to
/// the full parser, which reports them with its own messages.
pub fn survey(text: &str) -> Result<Survey, SyntaxError> {
    let mut out = Survey::default();
    let mut stack: Vec<(String, Frame)> = Vec::new();
    let ends_with_break = text.ends_with('\n') || text.ends_with('\r');
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else { break };
        let tagged = match &event {
            Event::Scalar(_, _, _, tag) | Event::SequenceStart(_, _, tag) | Event::MappingStart(_, _, tag) => {
                tag.is_some()
            }
            _ => false,
        };
        if tagged {
            let at = span.tag_start.unwrap_or(span.start);
            return Err(SyntaxError {
                position: Position { line: at.line() as u32, col: at.col() as u32 + 1 },
                message: "YAML tags (such as !!binary or !!str) are not accepted in records: write the value itself, quoted if need be".into(),
            });
        }
        // The pointer of this node, when it is a value (not a mapping key).
        let node =
            matches!(event, Event::Scalar(..) | Event::SequenceStart(..) | Event::MappingStart(..) | Event::Alias(_));
        let mut pointer = None;
        if node {
            match stack.last_mut() {
                None => pointer = Some(String::new()),
                Some((parent, Frame::Seq { next })) => {
                    pointer = Some(format!("{parent}/{next}"));
                    *next += 1;
                }
                Some((parent, Frame::Map { key })) => match key.take() {
                    Some(k) => pointer = Some(format!("{parent}/{}", pointer_token(&k))),
                    None => {
                        // A key: remember it (a non-scalar key gets a placeholder).
                        *key = Some(match &event {
                            Event::Scalar(v, ..) => v.to_string(),
                            _ => String::from("?"),
                        });
                    }
                },
            }
        }
        match event {
            Event::MappingStart(..) => stack.push((pointer.unwrap_or_default(), Frame::Map { key: None })),
            Event::SequenceStart(..) => stack.push((pointer.unwrap_or_default(), Frame::Seq { next: 0 })),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            Event::Scalar(_, ScalarStyle::Literal | ScalarStyle::Folded, ..)
                if !ends_with_break
                    && pointer.is_some()
                    && text[span.end.byte_offset().unwrap_or(0)..].trim().is_empty() =>
            {
                // The header (`|`, `>-`, `|2+`, …) is the last `|` or `>` before the content.
                let before = span.start.byte_offset().and_then(|b| text.get(..b)).unwrap_or("");
                let header = before.rfind(['|', '>']).map_or("", |i| &before[i..]);
                let indicators: String = header.chars().skip(1).take_while(|c| !c.is_whitespace()).collect();
                if !indicators.contains('-') {
                    out.unterminated_block = pointer;
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_refused_where_they_are() {
        for (text, line, col) in
            [("a: !!binary Y29yZS1zdy0wMg==\n", 1, 4), ("a:\n  - !!str 12\n", 2, 5), ("a: !local {b: c}\n", 1, 4)]
        {
            let err = survey(text).unwrap_err();
            assert_eq!((err.position.line, err.position.col), (line, col), "{text:?}: {err:?}");
            assert!(err.message.contains("tags"));
        }
        assert_eq!(survey("a: 'a !b'\nb: c!d\n"), Ok(Survey::default()));
    }

    #[test]
    fn a_block_scalar_ending_the_file_is_found() {
        let found = |t: &str| survey(t).unwrap().unterminated_block;
        assert_eq!(found("a: x\nb: |\n  last"), Some("/b".into()));
        assert_eq!(found("a:\n  - >\n    last"), Some("/a/0".into()));
        assert_eq!(found("a: |+\n  last"), Some("/a".into()));
        assert_eq!(found("a: |-\n  last"), None, "strip chomping has no break anyway");
        assert_eq!(found("a: |\n  last\n"), None, "the line break is there");
        assert_eq!(found("a: |\n  x\nb: y"), None);
    }
}
