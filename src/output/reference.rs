//! The command reference in markdown (`exc man --format markdown`, committed
//! as `docs/commands.md`): an index, then every command's `--help` exactly as
//! the binary prints it, so the page cannot say anything the command line does
//! not.

use clap::Command;

/// The width help is wrapped at, as on a non-terminal: the page comes out the
/// same on every machine, whatever terminal it was made in.
const WIDTH: usize = 100;

/// The page for the command line `top` (its visible commands, depth first).
pub fn markdown(top: Command) -> String {
    let mut top = top.term_width(WIDTH).max_term_width(WIDTH);
    top.build();
    let mut pages = Vec::new();
    collect(&top, &mut Vec::new(), &mut pages);
    let mut o = String::from(
        "# Command reference\n\n\
         Every command's `--help`, as `exc` prints it. This page is generated: after\n\
         changing a command, run `cargo run -- man --format markdown > docs/commands.md`\n\
         (a test fails while it differs). For what the commands are for, read the\n\
         [guide by role](guide.md).\n\n\
         | command | what it does |\n|---|---|\n",
    );
    for (path, cmd) in &pages {
        let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
        o.push_str(&format!("| [`{path}`](#{}) | {} |\n", anchor(path), about.replace('|', "\\|")));
    }
    for (path, _) in pages {
        let help = help(&top, &path);
        let help = help.trim_end();
        let fence = "`".repeat(3.max(longest_run(help, '`') + 1));
        o.push_str(&format!("\n## {path}\n\n{fence}text\n{help}\n{fence}\n"));
    }
    o
}

/// What `PATH --help` prints: asked of the parser itself, so the choice
/// between short and long help is clap's own.
fn help(top: &Command, path: &str) -> String {
    let args = path.split(' ').chain(["--help"]);
    match top.clone().try_get_matches_from(args) {
        Err(e) => e.render().to_string(),
        Ok(_) => String::new(),
    }
}

/// `cmd` and its visible subcommands, each with its full name (`exc policy approve`).
fn collect<'a>(cmd: &'a Command, names: &mut Vec<&'a str>, out: &mut Vec<(String, &'a Command)>) {
    names.push(cmd.get_name());
    out.push((names.join(" "), cmd));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        collect(sub, names, out);
    }
    names.pop();
}

/// The anchor GitHub gives a heading made of words and spaces.
fn anchor(heading: &str) -> String {
    heading.to_lowercase().replace(' ', "-")
}

/// The longest run of `c` in `text`.
fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for x in text.chars() {
        run = if x == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_visible_command_gets_a_section_and_a_row() {
        let cmd = Command::new("exc")
            .about("Top")
            .subcommand(Command::new("init").about("Make one"))
            .subcommand(Command::new("policy").about("Policy").subcommand(Command::new("approve").about("Sign it")))
            .subcommand(Command::new("man").hide(true));
        let page = markdown(cmd);
        assert!(page.contains("| [`exc policy approve`](#exc-policy-approve) | Sign it |"), "{page}");
        assert!(page.contains("\n## exc policy approve\n\n```text\nSign it"), "{page}");
        assert!(page.contains("\n## exc init\n"), "{page}");
        assert!(!page.contains("exc man"), "hidden commands stay out: {page}");
        assert!(!page.contains("## exc help"), "{page}");
    }

    #[test]
    fn a_fence_is_longer_than_any_run_of_backticks_inside() {
        assert_eq!(longest_run("a ```` b ` c", '`'), 4);
        let page = markdown(Command::new("exc").about("uses ```` fences"));
        assert!(page.contains("`````text\n"), "{page}");
    }
}
