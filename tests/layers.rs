//! The import graph of `src/`: no cycles, and each layer uses only the layers
//! below it. Nodes are the top-level modules, with `model` and `commands`
//! split into their files. `cargo test --test layers -- --nocapture` prints the
//! graph in DOT (`| dot -Tsvg`) as a side effect of `the_graph_has_no_cycle`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a source file: `src/model/rules.rs` → [model, rules].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib" || p == "main") {
        parts.pop();
    }
    parts
}

/// The graph node a module path belongs to.
fn node(path: &[String], split: &BTreeSet<String>) -> String {
    match path {
        [] => "lib".into(),
        [top, sub, ..] if (top == "model" || top == "commands") && split.contains(&format!("{top}::{sub}")) => {
            format!("{top}::{sub}")
        }
        [top, ..] => top.clone(),
    }
}

/// Every crate path a file refers to, as module paths (`crate::a::b`, `super::x`,
/// and the members of `use super::{…}` / `use crate::{…}` groups).
fn references(text: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let code: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).map(|l| format!("{l}\n")).collect();
    // The path at the start of `s`: identifiers joined by `::`.
    let ident = |s: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = s.trim_start();
        loop {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if end == 0 {
                break;
            }
            out.push(rest[..end].to_string());
            match rest[end..].strip_prefix("::") {
                Some(more) => rest = more,
                None => break,
            }
        }
        out
    };
    for (prefix, base) in [("crate::", Vec::new()), ("super::", here[..here.len().saturating_sub(1)].to_vec())] {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for member in group[..end].split(',') {
                    let mut p = base.clone();
                    p.extend(ident(member));
                    out.push(p);
                }
            } else {
                let mut p = base.clone();
                p.extend(ident(rest));
                out.push(p);
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let split: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(&src, f))
        .filter(|m| m.len() >= 2 && (m[0] == "model" || m[0] == "commands"))
        .map(|m| format!("{}::{}", m[0], m[1]))
        .collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let here = module_of(&src, f);
        let from = node(&here, &split);
        let text = std::fs::read_to_string(f).unwrap();
        // Unit tests may reach anywhere.
        let text = text.split("#[cfg(test)]").next().unwrap_or("");
        let mut here_mod = here.clone();
        if f.file_name().is_some_and(|n| n == "mod.rs" || n == "lib.rs") {
            here_mod.push("self".into());
        }
        for r in references(text, &here_mod) {
            let to = node(&r, &split);
            if to != from && to != "lib" {
                g.entry(from.clone()).or_default().insert(to);
            }
        }
        g.entry(from).or_default();
    }
    g
}

/// The same graph with one node per file (`git::history`, `output::export`):
/// a folder's files must not import each other in a circle either.
fn file_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
    // The file a module path lives in: its longest prefix that is a file's module.
    let file_of = |path: &[String]| -> Vec<String> {
        (0..=path.len()).rev().map(|k| path[..k].to_vec()).find(|m| modules.contains(m)).unwrap_or_default()
    };
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let here = module_of(&src, f);
        let text = std::fs::read_to_string(f).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap_or("");
        let mut here_mod = here.clone();
        if f.file_name().is_some_and(|n| n == "mod.rs" || n == "lib.rs") {
            here_mod.push("self".into());
        }
        let from = here.join("::");
        for r in references(text, &here_mod) {
            let to = file_of(&r);
            if to != here && !to.is_empty() {
                g.entry(from.clone()).or_default().insert(to.join("::"));
            }
        }
        g.entry(from).or_default();
    }
    g
}

fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            match state.get(m.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|s| s == m).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, g, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if !state.contains_key(n.as_str()) {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, g, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn the_graph_has_no_cycle() {
    let g = graph();
    println!("digraph exc {{");
    for (from, tos) in &g {
        for to in tos {
            println!("  \"{from}\" -> \"{to}\";");
        }
    }
    println!("}}");
    assert_eq!(find_cycle(&g), None, "an import cycle");
    assert!(g.len() > 20, "the graph was read: {g:?}");
}

#[test]
fn no_two_files_import_each_other_in_a_circle() {
    let g = file_graph();
    assert_eq!(find_cycle(&g), None, "an import cycle between files");
    assert!(g.len() > 100, "every file was read: {}", g.len());
}

#[test]
fn each_layer_uses_only_the_layers_below() {
    let g = graph();
    for (from, tos) in &g {
        for to in tos {
            let ok = if from.starts_with("model::") {
                to.starts_with("model::")
            } else if from.starts_with("commands::") {
                !to.starts_with("commands::") && to != "cli"
            } else {
                match from.as_str() {
                    "yaml" | "schema" => to.starts_with("model::"),
                    "git" => to == "error" || to == "progress",
                    "progress" => false,
                    "scan" => to == "error" || to == "yaml" || to.starts_with("model::"),
                    "error" => to.starts_with("model::"),
                    "registry" => {
                        !matches!(to.as_str(), "output" | "commands" | "cli" | "prompt" | "context" | "deliver")
                    }
                    "output" => !matches!(
                        to.as_str(),
                        "registry" | "git" | "commands" | "cli" | "prompt" | "context" | "deliver"
                    ),
                    "deliver" => to == "output" || to.starts_with("model::"),
                    "prompt" => !matches!(to.as_str(), "registry" | "git" | "commands" | "cli" | "output"),
                    _ => true,
                }
            };
            assert!(ok, "{from} must not use {to}");
        }
    }
}

#[test]
fn outside_crates_stay_in_their_one_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&f).unwrap();
        for (krate, home) in [
            ("git2::", "git/"),
            ("dialoguer::", "prompt/"),
            ("serde_saphyr::", "yaml/"),
            ("granit_parser::", "yaml/"),
            ("ignore::", "scan/"),
            ("aho_corasick::", "scan/"),
            ("comfy_table::", "output/"),
            ("indicatif::", "output/"),
            ("jsonschema::", "schema.rs"),
            ("lettre::", "deliver/"),
            ("ureq::", "deliver/"),
        ] {
            if text.contains(krate) {
                assert!(
                    rel.starts_with(home) || (krate == "git2::" && rel == "main.rs"),
                    "{rel} uses {krate}; only {home} may"
                );
            }
        }
    }
}
