//! The `exc new` command line that would file a request for what a
//! suppression hides, with its fields filled in from the suppression: what
//! `exc reconcile` offers, in an application repository, for each
//! suppression nobody approved.

use super::escape::shell_word;
use crate::model::reconcile::Import;

/// `exc new --yes --type … --title … --justification … --finding … --asset …
/// --risk-owner 'NAME <EMAIL>'`, each value quoted for a POSIX shell, with
/// `--dir` first when the registry is a folder on this machine. The risk
/// owner is left for the person to fill in.
pub fn new_command(plan: &Import, assets: &[String], dir: Option<&std::path::Path>) -> String {
    let mut words: Vec<String> = vec!["exc".into()];
    if let Some(d) = dir {
        words.push("--dir".into());
        words.push(shell_word(&d.display().to_string()));
    }
    words.extend(["new".into(), "--yes".into()]);
    let mut flag = |name: &str, value: &str| {
        words.push(format!("--{name}"));
        words.push(shell_word(value));
    };
    flag("type", &plan.kind);
    flag("title", &plan.title);
    flag("justification", &plan.justification);
    for f in &plan.findings {
        flag("finding", &f.to_string());
    }
    for a in assets {
        flag("asset", a);
    }
    if let Some(d) = plan.expires {
        flag("expires", &d.to_string());
    }
    flag("risk-owner", "NAME <EMAIL>");
    words.join(" ")
}
