//! The one place that reads and writes YAML.
//!
//! Records arrive in pull requests from anyone, so parsing is strict and bounded:
//! serde-saphyr with a budget (nesting depth, node count, aliases), duplicate keys
//! rejected, unknown tags rejected, one document per file, and YAML 1.2 scalars
//! (`no` stays a string). Every node keeps its line and column, so later checks
//! (JSON Schema, semantic rules) can point at `path:line:col`.

use std::collections::HashMap;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::{Spanned, UserMessageFormatter};

mod block;
mod events;

pub use crate::model::finding::Position;

/// A YAML document as JSON values, with the position of every node.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    positions: HashMap<String, NodePosition>,
}

#[derive(Debug, Clone, Copy)]
struct NodePosition {
    key: Option<Position>,
    value: Position,
}

impl Document {
    /// Where the node at a JSON pointer starts (its key, for a mapping entry).
    /// Falls back to the nearest ancestor that exists, then the file start.
    pub fn position(&self, pointer: &str) -> Position {
        let mut p = pointer;
        loop {
            if let Some(n) = self.positions.get(p) {
                return n.key.unwrap_or(n.value);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Position::START,
            }
        }
    }

    /// Where the value at a JSON pointer starts (after the key).
    pub fn value_position(&self, pointer: &str) -> Position {
        match self.positions.get(pointer) {
            Some(n) => n.value,
            None => self.position(pointer),
        }
    }
}

/// A YAML syntax or limit error, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

pub use crate::model::finding::pointer_token;

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 32,
            max_documents: 1,
            max_nodes: 200_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_total_scalar_bytes: 4 * 1024 * 1024,
        },
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        strict_booleans: true,
        // As check-jsonschema (ruamel.yaml) reads them: `0123` and `1_000` are numbers.
        leading_zero_numbers_as_strings: false,
        underscored_numbers_as_strings: false,
        merge_keys: serde_saphyr::MergeKeyPolicy::Error,
        reject_unsupported_tags: true,
        with_snippet: false,
    }
}

/// Parses one YAML document into JSON values with positions.
pub fn parse(text: &str) -> Result<Document, SyntaxError> {
    let text = precheck(text)?;
    let survey = events::survey(text)?;
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options()).map_err(syntax_error)?;
    let mut positions = HashMap::new();
    let mut value = flatten(root, String::new(), None, &mut positions);
    apply(&mut value, &survey);
    Ok(Document { value, positions })
}

/// Applies what the event pass found: a block scalar that ends the file
/// without a line break has none.
fn apply(value: &mut Value, survey: &events::Survey) {
    if let Some(Value::String(s)) = survey.unterminated_block.as_deref().and_then(|p| value.pointer_mut(p))
        && s.ends_with('\n')
    {
        s.pop();
    }
}

/// Parses one YAML document into JSON values only: the fast path for the many
/// files that turn out fine. The same rules and limits as [`parse`], which is
/// only needed once a finding must say where it is.
pub fn parse_value(text: &str) -> Result<Value, SyntaxError> {
    // The fast reader accepts nothing that `precheck` refuses (an empty file, tab
    // indentation, conflict markers at the start of a line), so it goes first.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(value) = block::parse(body) {
        // Every test and fuzz run (debug builds) proves the fast reader agrees.
        #[cfg(debug_assertions)]
        {
            assert_eq!(precheck(text), Ok(body), "the fast YAML reader accepted what precheck refuses");
            let full: Result<Plain, _> = serde_saphyr::from_str_with_options(body, options());
            let full = full.ok().map(|p| {
                let mut v = p.0;
                apply(&mut v, &events::survey(body).unwrap_or_default());
                v
            });
            assert_eq!(full.as_ref(), Some(&value), "the fast YAML reader disagrees on {text:?}");
        }
        return Ok(value);
    }
    // Not the plain block style: the pre-checks (on the text as given: a BOM is
    // dropped once), then the full parser.
    let text = precheck(text)?;
    let survey = events::survey(text)?;
    let Plain(mut value) = serde_saphyr::from_str_with_options(text, options()).map_err(syntax_error)?;
    apply(&mut value, &survey);
    Ok(value)
}

/// What YAML itself allows but records do not: a BOM is dropped; an empty file
/// and tab indentation are refused with a clear message.
fn precheck(text: &str) -> Result<&str, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let blank = |l: &str| {
        let l = l.trim_start();
        l.is_empty() || l.starts_with('#')
    };
    // A carriage return alone is a line break to YAML 1.2, but not to `lines()`,
    // git or most editors' diffs: refuse it with a message that says so.
    if let Some(i) =
        text.bytes().enumerate().position(|(i, b)| b == b'\r' && text.as_bytes().get(i + 1) != Some(&b'\n'))
    {
        let line = text[..i].matches('\n').count() as u32 + 1;
        return Err(SyntaxError {
            position: Position { line, col: text[..i].rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1 },
            message:
                "a carriage return alone ends a line here (old Mac line ends); save the file with LF or CRLF line ends"
                    .into(),
        });
    }
    if text.lines().all(blank) {
        return Err(SyntaxError { position: Position::START, message: "the file is empty".into() });
    }
    let may_conflict = || text.contains("<<<<<<<") || text.contains("=======") || text.contains(">>>>>>>");
    if may_conflict()
        && let Some(line) = text
            .lines()
            .position(|l| l.starts_with("<<<<<<< ") || l == "<<<<<<<" || l.starts_with(">>>>>>> ") || l == "=======")
    {
        return Err(SyntaxError {
            position: Position { line: line as u32 + 1, col: 1 },
            message: "unresolved merge conflict (conflict markers); resolve it, then validate again".into(),
        });
    }
    if let Some(line) = first_tab_indent(text) {
        return Err(SyntaxError {
            position: Position { line, col: 1 },
            message: "tab used for indentation; YAML indents with spaces".into(),
        });
    }
    Ok(text)
}

/// The first line indented with a tab, outside block scalars (where tabs are content).
fn first_tab_indent(text: &str) -> Option<u32> {
    if !text.contains('\t') {
        return None;
    }
    let mut in_block_scalar = false;
    for (i, line) in text.lines().enumerate() {
        let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        if indent.contains('\t') && !line.trim().is_empty() && !in_block_scalar {
            return Some(i as u32 + 1);
        }
        let t = line.trim_end();
        in_block_scalar = t.ends_with('|')
            || t.ends_with('>')
            || t.ends_with("|-")
            || t.ends_with(">-")
            || (in_block_scalar && (line.starts_with(' ') || line.trim().is_empty()));
    }
    None
}

fn syntax_error(err: serde_saphyr::Error) -> SyntaxError {
    let position = err
        .location()
        .filter(|l| l.line() > 0)
        .map(|l| Position { line: l.line() as u32, col: l.column().max(1) as u32 })
        .unwrap_or(Position::START);
    let mut message = err.without_snippet().render_with_formatter(&UserMessageFormatter);
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    let message = message.lines().next().unwrap_or("invalid YAML").trim().to_string();
    SyntaxError { position, message: format!("invalid YAML: {message}") }
}

fn position_of(l: serde_saphyr::Location) -> Position {
    Position { line: l.line().max(1) as u32, col: l.column().max(1) as u32 }
}

fn flatten(
    node: Spanned<Node>,
    pointer: String,
    key: Option<Position>,
    positions: &mut HashMap<String, NodePosition>,
) -> Value {
    positions.insert(pointer.clone(), NodePosition { key, value: position_of(node.referenced) });
    match node.value {
        Node::Scalar(v) => v,
        Node::Seq(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| flatten(item, format!("{pointer}/{i}"), None, positions))
                .collect(),
        ),
        Node::Map(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (k, v) in entries {
                let child = format!("{pointer}/{}", pointer_token(&k.value));
                let value = flatten(v, child, Some(position_of(k.referenced)), positions);
                map.insert(k.value, value);
            }
            Value::Object(map)
        }
    }
}

/// A YAML node before positions are split off.
enum Node {
    Scalar(Value),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Number(v.into())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Number(v.into())))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Scalar(Value::String(v.to_string())))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Scalar(Value::String(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Number::from_f64(v).map(|n| Node::Scalar(Value::Number(n))).ok_or_else(|| E::custom("numbers must be finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(Value::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(Value::String(v)))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Err(E::custom("binary values are not allowed"))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Key>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((Spanned::new(key.value.0, key.referenced, key.defined), value));
        }
        Ok(Node::Map(entries))
    }
}

/// A YAML value without positions: the same scalars and keys as [`Node`].
struct Plain(Value);

impl<'de> Deserialize<'de> for Plain {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PlainVisitor)
    }
}

struct PlainVisitor;

impl<'de> Visitor<'de> for PlainVisitor {
    type Value = Plain;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Plain, E> {
        Ok(Plain(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Plain, E> {
        Ok(Plain(Value::Number(v.into())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Plain, E> {
        Ok(Plain(Value::Number(v.into())))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Plain, E> {
        Ok(Plain(Value::String(v.to_string())))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Plain, E> {
        Ok(Plain(Value::String(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Plain, E> {
        Number::from_f64(v).map(|n| Plain(Value::Number(n))).ok_or_else(|| E::custom("numbers must be finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Plain, E> {
        Ok(Plain(Value::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Plain, E> {
        Ok(Plain(Value::String(v)))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Plain, E> {
        Err(E::custom("binary values are not allowed"))
    }
    fn visit_unit<E>(self) -> Result<Plain, E> {
        Ok(Plain(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Plain, E> {
        Ok(Plain(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Plain, D::Error> {
        Plain::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Plain, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(Plain(item)) = seq.next_element::<Plain>()? {
            items.push(item);
        }
        Ok(Plain(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Plain, A::Error> {
        let mut out = Map::new();
        while let Some(Key(k)) = map.next_key::<Key>()? {
            let Plain(v) = map.next_value::<Plain>()?;
            out.insert(k, v);
        }
        Ok(Plain(Value::Object(out)))
    }
}

/// A mapping key: any scalar, kept as its text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_owned()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Key, E> {
                Ok(Key("null".into()))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

/// Serializes a value as YAML with the key order of its type.
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String, String> {
    let opts = serde_saphyr::ser_options! { indent_step: 2, compact_list_indent: false, prefer_block_scalars: true };
    serde_saphyr::to_string_with_options(value, opts).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_keys_and_items() {
        let doc = parse("id: EXC-1\nassets:\n  - a\n  - b\nnested:\n  k: v\n").unwrap();
        assert_eq!(doc.position("/id"), Position { line: 1, col: 1 });
        assert_eq!(doc.position("/assets/1"), Position { line: 4, col: 5 });
        assert_eq!(doc.position("/nested/k"), Position { line: 6, col: 3 });
        assert_eq!(doc.position("/missing/deep"), Position::START);
    }

    #[test]
    fn scalars_as_yaml_1_2_and_check_jsonschema_read_them() {
        let doc = parse("a: no\nb: 0123\nc: 1_000\nd: 2026-01-01\ne: 0x1F\n").unwrap();
        assert_eq!(doc.value["a"], "no", "YAML 1.1 booleans are strings");
        assert_eq!(doc.value["d"], "2026-01-01", "timestamps are strings, as JSON Schema formats expect");
        for number in ["b", "c", "e"] {
            assert!(doc.value[number].is_number(), "{number}: {}", doc.value[number]);
        }
        // Merge keys are refused (a record says everything it means in place).
        assert!(parse("a: &x {b: c}\nd:\n  <<: *x\n").is_err());
    }

    #[test]
    fn duplicate_keys_are_rejected_at_their_line() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.position.line, 3, "{err:?}");
    }

    #[test]
    fn empty_and_tab_indented_files_are_named() {
        assert_eq!(parse("\n# only a comment\n").unwrap_err().message, "the file is empty");
        assert_eq!(parse("a:\n\t- b\n").unwrap_err().position.line, 2);
    }

    #[test]
    fn both_paths_read_the_same_values_and_refuse_the_same_input() {
        for text in [
            "a: no\nb: [1, 2.5, x]\nc: {d: ~, 3: t}\n",
            include_str!("../../exceptions/EXC-0006.yaml"),
            "a: 1\na: 2\n",
            "a: !!python/object x\n",
            "---\na: 1\n---\nb: 2\n",
            "a: b\n<<<<<<< HEAD\nc: d\n=======\nc: e\n>>>>>>> other\n",
            "a:\n\t- b\n",
            "\n# only a comment\n",
            "\u{feff}a: b\n",
            "\u{feff}\u{feff}# two byte order marks\n",
        ] {
            match (parse(text), parse_value(text)) {
                (Ok(d), Ok(v)) => assert_eq!(d.value, v),
                (Err(a), Err(b)) => assert_eq!(a, b),
                (a, b) => panic!("paths disagree on {text:?}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn bom_and_crlf_are_accepted() {
        let doc = parse("\u{feff}a: 1\r\nb: x\r\n").unwrap();
        assert_eq!(doc.value["b"], "x");
    }
}
