//! A patch that adds files, in the mailbox form `git format-patch` writes,
//! so `git am` applies it as one commit (author, date and message kept) and
//! `git apply` applies its changes alone: how `exc import` hands requests
//! to a registry in another repository.

use chrono::{DateTime, Utc};

/// One commit adding `files` ((path from the repository's root, text)).
pub struct Patch<'a> {
    /// `Name <email>`.
    pub author: &'a str,
    pub date: DateTime<Utc>,
    /// The commit message: its first line is the subject.
    pub message: &'a str,
    pub files: &'a [(String, String)],
}

/// The patch as `git am` reads it.
pub fn render(p: &Patch) -> String {
    let one_line = |s: &str| s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>();
    let (subject, body) = p.message.split_once('\n').unwrap_or((p.message, ""));
    let mut o = String::from("From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n");
    o.push_str(&format!("From: {}\n", one_line(p.author)));
    o.push_str(&format!("Date: {}\n", p.date.to_rfc2822()));
    o.push_str(&format!("Subject: [PATCH] {}\n\n", one_line(subject)));
    let body = body.trim_matches('\n');
    if !body.is_empty() {
        o.push_str(body);
        o.push('\n');
    }
    o.push_str("---\n");
    for (path, text) in p.files {
        o.push_str(&format!(" {path} | {} +\n", lines(text).len()));
    }
    o.push_str(&format!(" {} file(s) changed, {} insertion(s)(+)\n\n", p.files.len(), {
        p.files.iter().map(|(_, t)| lines(t).len()).sum::<usize>()
    }));
    for (path, text) in p.files {
        let body = lines(text);
        o.push_str(&format!("diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"));
        o.push_str(&format!("@@ -0,0 +1,{} @@\n", body.len()));
        for l in &body {
            o.push('+');
            o.push_str(l);
            o.push('\n');
        }
        if !text.is_empty() && !text.ends_with('\n') {
            o.push_str("\\ No newline at end of file\n");
        }
    }
    o.push_str("-- \nexc\n\n");
    o
}

/// The lines of a file's text, without their line ends.
fn lines(text: &str) -> Vec<&str> {
    if text.is_empty() { Vec::new() } else { text.strip_suffix('\n').unwrap_or(text).split('\n').collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_as_a_hunk() {
        let files = vec![("security/exceptions/EXC-AAAA.yaml".to_string(), "a: 1\nb: 2\n".to_string())];
        let p = Patch {
            author: "Ann Lee <ann@example.com>",
            date: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            message: "exc: import 1 request\n\nExc-Id: EXC-AAAA\n",
            files: &files,
        };
        let text = render(&p);
        assert!(text.contains("Subject: [PATCH] exc: import 1 request\n"), "{text}");
        assert!(text.contains("\n\nExc-Id: EXC-AAAA\n---\n"), "{text}");
        assert!(text.contains("+++ b/security/exceptions/EXC-AAAA.yaml\n@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n"), "{text}");
    }
}
