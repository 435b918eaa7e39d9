//! `exc explain [CODE]`: what a finding code means and how to fix it; without
//! a code, every code with its area, default severity and summary.

use serde_json::json;

use crate::context::{Context, Outcome};
use crate::error::{Error, Result};
use crate::model::finding::Code;
use crate::output::{self, escape};

/// Explain a finding code.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  exc explain                                every code
  exc explain changed-after-approval
  exc explain --format json
  exc explain --format markdown              the table in docs/findings.md

The policy can raise or lower a code's severity (`severity:` in exc.yaml), except
for the codes marked as guarding integrity.")]
pub struct Args {
    /// The code, as shown in brackets: error[CODE].
    pub code: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ExplainFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    #[default]
    Text,
    Json,
    /// A table for documentation (docs/findings.md is made this way).
    Markdown,
}

pub fn run(_ctx: &Context, args: Args) -> Result<Outcome> {
    let codes: Vec<Code> = match &args.code {
        Some(c) => vec![c.parse::<Code>().map_err(Error::Usage)?],
        None => Code::ALL.to_vec(),
    };
    if args.format == ExplainFormat::Markdown {
        let mut o = String::from("| code | area | severity | can be lowered | meaning |\n|---|---|---|---|---|\n");
        for c in &codes {
            o.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                c.as_str(),
                c.area().as_str(),
                c.default_severity().as_str(),
                if c.guards_integrity() { "no" } else { "yes" },
                escape::markdown_text(c.summary()).replace("\\`", "`")
            ));
        }
        output::emit(&o)?;
        return Ok(Outcome::Clean);
    }
    if args.format == ExplainFormat::Json {
        let list: Vec<_> = codes
            .iter()
            .map(|c| {
                json!({
                    "code": c.as_str(),
                    "area": c.area().as_str(),
                    "severity": c.default_severity().as_str(),
                    "guards_integrity": c.guards_integrity(),
                    "summary": c.summary(),
                    "explanation": c.explanation(),
                })
            })
            .collect();
        output::emit_json(&list)?;
        return Ok(Outcome::Clean);
    }
    let text = match args.code {
        Some(_) => {
            let c = codes[0];
            format!(
                "{}: {}\n\n{}\n\narea: {}; default severity: {}; {}\n",
                c,
                c.summary(),
                c.explanation(),
                c.area().as_str(),
                c.default_severity().as_str(),
                if c.guards_integrity() {
                    "guards integrity: the policy can raise it but not lower it"
                } else {
                    "the policy can raise or lower it (`severity:` in exc.yaml)"
                }
            )
        }
        None => {
            let rows = codes
                .iter()
                .map(|c| {
                    vec![
                        c.as_str().to_string(),
                        c.area().as_str().to_string(),
                        c.default_severity().as_str().to_string(),
                        c.summary().to_string(),
                    ]
                })
                .collect();
            format!(
                "{}\n{} codes; `exc explain CODE` says what one means and how to fix it.\n",
                output::table(&["Code", "Area", "Severity", "Meaning"], rows),
                codes.len()
            )
        }
    };
    output::emit_text(&text)?;
    Ok(Outcome::Clean)
}
