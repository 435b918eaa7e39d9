//! The documentation cannot drift from the program: the command reference is
//! what `exc man --format markdown` prints, every `exc` command the pages
//! show is one exc accepts, every relative link leads to a file and heading
//! that exist, and the policy reference names every top-level key of the
//! policy schema. (The README's walkthrough runs in `readme.rs`; the finding
//! codes are checked in `sample.rs`.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The project's markdown pages: the README, CONTRIBUTING, the changelog,
/// `docs/`, and the READMEs beside examples and benchmarks.
fn pages() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", "examples/keys/README.md"]
        .iter()
        .map(|p| root().join(p))
        .filter(|p| p.exists())
        .collect();
    for dir in ["docs", "bench"] {
        let mut more: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        more.sort();
        v.extend(more);
    }
    assert!(v.len() > 10, "{v:?}");
    v
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn name(p: &Path) -> String {
    p.strip_prefix(root()).unwrap().display().to_string()
}

/// The text of a page outside its fenced blocks, line by line; and its fenced
/// blocks, each with its info string.
fn split(markdown: &str) -> (Vec<&str>, Vec<(String, String)>) {
    let (mut prose, mut blocks) = (Vec::new(), Vec::new());
    let mut open: Option<(String, String)> = None;
    for line in markdown.lines() {
        match open.as_mut() {
            None => match line.trim_start().strip_prefix("```") {
                Some(info) => open = Some((info.trim().to_string(), String::new())),
                None => prose.push(line),
            },
            Some((info, body)) => {
                if line.trim() == "```" {
                    blocks.push((std::mem::take(info), std::mem::take(body)));
                    open = None;
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    (prose, blocks)
}

/// `line` without its inline code spans.
fn without_code(line: &str) -> String {
    let mut out = String::new();
    for (i, part) in line.split('`').enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
        }
    }
    out
}

/// The anchors GitHub gives a page's headings: lower case, punctuation
/// dropped, spaces as hyphens, `-1`, `-2` for repeats.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for line in split(markdown).0 {
        let Some(title) = line.strip_prefix('#').map(|t| t.trim_start_matches('#')) else { continue };
        if !title.starts_with(' ') {
            continue;
        }
        let slug: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut candidate = slug.clone();
        let mut n = 0;
        while seen.contains(&candidate) {
            n += 1;
            candidate = format!("{slug}-{n}");
        }
        seen.insert(candidate);
    }
    seen
}

/// The targets of the inline links `[text](target)` in a page's prose.
fn links(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Links may wrap: join the prose, code spans removed, into one text.
    let prose: Vec<String> = split(markdown).0.iter().map(|l| without_code(l)).collect();
    let text = prose.join("\n");
    let mut rest = text.as_str();
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        let end = rest.find(')').unwrap_or(rest.len());
        out.push(rest[..end].trim().to_string());
        rest = &rest[end..];
    }
    out
}

#[test]
fn every_relative_link_leads_to_a_file_and_heading_that_exist() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = read(&page);
        for target in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = target.split_once('#').map_or((target.as_str(), None), |(p, a)| (p, Some(a)));
            let file = if path.is_empty() { page.clone() } else { page.parent().unwrap().join(path) };
            if !file.exists() {
                broken.push(format!("{}: ({target}): no such file", name(&page)));
                continue;
            }
            if let Some(anchor) = anchor
                && file.extension().is_some_and(|e| e == "md")
                && !anchors(&read(&file)).contains(anchor)
            {
                broken.push(format!("{}: ({target}): no heading with that anchor", name(&page)));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked > 50, "{checked} links checked");
}

/// A shell word, and whether it came from a `$(…)` or `$VAR` (its value is
/// not known until it runs).
#[derive(Debug)]
enum Token {
    Word(String, bool),
    Operator(String),
}

/// The words and operators of a shell script, as `sh` would split them
/// (quotes, backslashes, comments, `$(…)`), enough for the docs' examples.
fn shell_words(script: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let (mut in_word, mut dynamic) = (false, false);
    let mut chars = script.chars().peekable();
    let finish = |out: &mut Vec<Token>, word: &mut String, in_word: &mut bool, dynamic: &mut bool| {
        if *in_word {
            out.push(Token::Word(std::mem::take(word), *dynamic));
        }
        *in_word = false;
        *dynamic = false;
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(x) => {
                    word.push(x);
                    in_word = true;
                }
            },
            '\'' => {
                in_word = true;
                for x in chars.by_ref() {
                    if x == '\'' {
                        break;
                    }
                    word.push(x);
                }
            }
            '"' => {
                in_word = true;
                while let Some(x) = chars.next() {
                    match x {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        '$' => {
                            dynamic = true;
                            word.push(x);
                        }
                        _ => word.push(x),
                    }
                }
            }
            '$' => {
                in_word = true;
                dynamic = true;
                word.push(c);
                if chars.peek() == Some(&'(') {
                    let mut depth = 0;
                    for x in chars.by_ref() {
                        word.push(x);
                        depth += match x {
                            '(' => 1,
                            ')' => -1,
                            _ => 0,
                        };
                        if depth == 0 {
                            break;
                        }
                    }
                }
            }
            '#' if !in_word => {
                for x in chars.by_ref() {
                    if x == '\n' {
                        break;
                    }
                }
                out.push(Token::Operator("\n".into()));
            }
            ' ' | '\t' => finish(&mut out, &mut word, &mut in_word, &mut dynamic),
            '\n' | ';' | '|' | '&' | '>' | '<' | '(' | ')' => {
                // `2>` is a redirection, not a word.
                if c == '>' && in_word && word.chars().all(|x| x.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                }
                finish(&mut out, &mut word, &mut in_word, &mut dynamic);
                let mut op = c.to_string();
                if let Some(&n) = chars.peek()
                    && ((c == '&' || c == '|' || c == '>') && n == c)
                {
                    op.push(n);
                    chars.next();
                }
                out.push(Token::Operator(op));
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    finish(&mut out, &mut word, &mut in_word, &mut dynamic);
    out
}

/// The argument lists of the `exc` commands in a script (also `cargo run
/// [--release] -- …`); a word known only when it runs stands as `…`.
fn exc_commands(script: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut command: Vec<(String, bool)> = Vec::new();
    let mut redirect = false;
    let mut end = |command: &mut Vec<(String, bool)>| {
        let words: Vec<&(String, bool)> = command
            .iter()
            .skip_while(|(w, _)| {
                w.split_once('=').is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            })
            .collect();
        let args: Option<Vec<String>> = match words.first().map(|(w, _)| w.as_str()) {
            Some("exc") => Some(words[1..].iter().map(|(w, d)| if *d { "…".into() } else { w.clone() }).collect()),
            Some("cargo")
                if words.get(1).is_some_and(|(w, _)| w == "run")
                    && !words.iter().any(|(w, _)| w == "--example" || w == "--bin") =>
            {
                words
                    .iter()
                    .position(|(w, _)| w == "--")
                    .map(|i| words[i + 1..].iter().map(|(w, _)| w.clone()).collect())
            }
            _ => None,
        };
        out.extend(args);
        command.clear();
    };
    for token in shell_words(script) {
        match token {
            Token::Operator(op) if op.starts_with('>') || op == "<" => redirect = true,
            Token::Operator(_) => {
                redirect = false;
                end(&mut command);
            }
            Token::Word(_, _) if redirect => redirect = false,
            Token::Word(w, dynamic) => command.push((w, dynamic)),
        }
    }
    end(&mut command);
    out
}

#[test]
fn the_shell_reader_splits_as_sh_does() {
    let got = exc_commands(
        "cd x && exc new --yes --title 'a b' \\\n  --risk-owner \"Leo <l@x>\"   # a comment\n\
         EXC_TRUST_ROOT=$(cat f) exc audit --trust-root \"$(ssh-keygen -lf k | cut -d' ' -f2)\" > out.txt 2>&1\n\
         cargo run --release -- list\ngit add -A; exc keys | head",
    );
    assert_eq!(
        got,
        vec![
            vec!["new", "--yes", "--title", "a b", "--risk-owner", "Leo <l@x>"],
            vec!["audit", "--trust-root", "…"],
            vec!["list"],
            vec!["keys"],
        ]
    );
}

/// The inline code spans of a page's prose that start with `exc ` (or
/// `cargo run -- `), paragraphs joined so that a span may wrap. A span with
/// parentheses is what exc prints (`exc 0.1.0 (3f2a9c1b7d0e)`), not a command.
fn inline_commands(prose: &[&str]) -> Vec<String> {
    let text = prose.join("\n").replace("\n\n", "\u{0}").replace('\n', " ");
    text.split('\u{0}')
        .flat_map(|p| p.split('`').skip(1).step_by(2).map(str::to_string).collect::<Vec<_>>())
        .filter(|s| s.starts_with("exc ") || s.starts_with("cargo run -- ") || s.starts_with("cargo run --release -- "))
        .filter(|s| !s.replace("$(", "").contains('('))
        .collect()
}

/// Whether a word stands for something the reader fills in (`ID`, `FILE`,
/// `[--apply]`, `json|csv`, `…`), or is known only when it runs (`$(…)`).
fn placeholder(w: &str) -> bool {
    w.contains(['[', '|', '…', '(', '<']) || (w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
}

/// The word clap refused: the unknown option or command, or the bad value.
fn culprit(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    [ContextKind::InvalidValue, ContextKind::InvalidSubcommand, ContextKind::InvalidArg].into_iter().find_map(|k| {
        match e.get(k) {
            Some(ContextValue::String(s)) => Some(s.clone()),
            _ => None,
        }
    })
}

/// Whether clap's refusal means the docs show something exc does not have.
/// In an `sh` block (`strict`), a command runs as written, so any refusal
/// counts, except of a value known only when it runs. In the prose, a
/// command may be named without what a real run would give (`exc approve`
/// without an id, `--fleet` without its file, `exc expire [--apply]`): only an
/// option, command or value that does not exist counts.
fn refused(e: &clap::Error, strict: bool) -> bool {
    use clap::error::ErrorKind;
    let value = matches!(e.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation);
    let word = culprit(e).unwrap_or_default();
    match e.kind() {
        _ if strict => !(value && placeholder(&word)),
        ErrorKind::UnknownArgument | ErrorKind::InvalidSubcommand => !placeholder(&word),
        // An empty value is an option named without its value.
        _ if value => !word.is_empty() && !placeholder(&word),
        _ => false,
    }
}

#[test]
fn every_exc_command_the_docs_show_is_one_exc_accepts() {
    let mut refusals = Vec::new();
    let (mut fenced, mut inline) = (0, 0);
    for page in pages() {
        if page.ends_with("docs/commands.md") {
            continue;
        }
        let text = read(&page);
        let (prose, blocks) = split(&text);
        // In `sh` blocks, every command runs as written: it must parse whole.
        for (_, script) in blocks.iter().filter(|(info, _)| info == "sh") {
            for args in exc_commands(script) {
                fenced += 1;
                if let Err(e) = exc::parses(&args)
                    && refused(&e, true)
                {
                    refusals.push(format!("{}: exc {}\n    {}", name(&page), args.join(" "), first_line(&e)));
                }
            }
        }
        // In the prose, a command may be named without its arguments; what it
        // names must exist.
        for span in inline_commands(&prose) {
            for args in exc_commands(&span) {
                inline += 1;
                if let Err(e) = exc::parses(&args)
                    && refused(&e, false)
                {
                    refusals.push(format!("{}: `{span}`\n    {}", name(&page), first_line(&e)));
                }
            }
        }
    }
    assert!(refusals.is_empty(), "commands in the docs that exc refuses:\n{}", refusals.join("\n"));
    assert!(fenced > 40 && inline > 200, "{fenced} commands in sh blocks and {inline} in the prose checked");
}

fn first_line(e: &clap::Error) -> String {
    e.render().to_string().lines().next().unwrap_or_default().to_string()
}

#[test]
fn the_command_reference_is_what_exc_man_prints() {
    let out = std::process::Command::new(assert_cmd::cargo_bin!("exc"))
        .args(["man", "--format", "markdown"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let committed = read(&root().join("docs/commands.md"));
    assert!(
        committed == String::from_utf8(out.stdout).unwrap(),
        "docs/commands.md is stale: regenerate it with `cargo run -- man --format markdown > docs/commands.md`"
    );
}

#[test]
fn the_policy_reference_names_every_top_level_key() {
    let schema: serde_json::Value = serde_json::from_str(exc::schema::POLICY_SCHEMA).unwrap();
    let page = read(&root().join("docs/policy.md"));
    let missing: Vec<&String> =
        schema["properties"].as_object().unwrap().keys().filter(|k| !page.contains(&format!("| `{k}` |"))).collect();
    assert!(missing.is_empty(), "docs/policy.md has no row for {missing:?}");
}

/// The figures in docs/performance.md are bench/RESULTS.md's, copied by
/// bench/publish.py: every line of the copied block is a line of the results
/// (the headings aside), so the two cannot disagree.
#[test]
fn the_performance_figures_are_the_benchmarks() {
    let doc = read(&root().join("docs/performance.md"));
    let results = read(&root().join("bench/RESULTS.md"));
    let begin = "<!-- measured: copied from bench/RESULTS.md by bench/publish.py -->";
    let end = "<!-- end of what bench/RESULTS.md measured -->";
    let block = &doc[doc.find(begin).expect("the begin marker") + begin.len()..doc.find(end).expect("the end marker")];
    let lines: BTreeSet<&str> = results.lines().collect();
    let copied: Vec<&str> = block.lines().filter(|l| !l.is_empty() && !l.starts_with("### ")).collect();
    assert!(copied.len() > 10, "{block}");
    for line in copied {
        assert!(lines.contains(line), "docs/performance.md shows a figure bench/RESULTS.md does not: {line}");
    }
}
