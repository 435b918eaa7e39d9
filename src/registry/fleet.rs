//! A fleet: several registries read as one (`--fleet FILE` on `report`,
//! `list` and `remind`). The fleet file lists them by path or git URL,
//! with the name each record is shown under (`payments:EXC-0042`), and may
//! give the union's KPI targets and asset inventory:
//!
//! ```yaml
//! registries:
//!   - name: payments
//!     path: ../payments-registry      # relative to this file
//!   - name: retail
//!     git: https://git.example.com/retail/security-exceptions.git
//!     ref: main                       # default: the remote's default branch
//!     dir: registry                   # the registry's folder in it (default: its root)
//!   - ../platform-registry            # a path or URL alone; named after it
//! targets: { approval_hours_max: 48 } # the union's targets (default: exc's)
//! assets: { inventory: cmdb.csv }     # the union's inventory, or { total: N }
//! ```
//!
//! The registries are fetched, opened and loaded in parallel; one that
//! cannot be read is kept with why, so the caller names it and never reports
//! a smaller organisation as if it were whole.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Deserialize;

use super::{Loaded, Registry, Source};
use crate::error::{Error, Result};
use crate::model::fleet::Unreadable;
use crate::model::inventory::Inventory;
use crate::model::policy::{Columns, Targets};
use crate::model::rules;

/// The fleet file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    registries: Vec<Entry>,
    #[serde(default)]
    targets: Targets,
    #[serde(default)]
    assets: Assets,
}

/// One registry, as a path or URL alone, or in full.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Entry {
    Plain(String),
    Full(Full),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Full {
    name: Option<String>,
    path: Option<String>,
    git: Option<String>,
    #[serde(rename = "ref")]
    rev: Option<String>,
    dir: Option<String>,
}

/// The union's asset base.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Assets {
    total: Option<u64>,
    inventory: Option<String>,
    #[serde(default)]
    columns: Columns,
}

/// A fleet file, checked.
#[derive(Debug)]
pub struct Fleet {
    /// The file, as given.
    pub file: PathBuf,
    pub members: Vec<Member>,
    /// The union's KPI targets.
    pub targets: Targets,
    /// The union's asset total, when the file gives one.
    pub total: Option<u64>,
    /// The union's inventory file (resolved), when the file names one.
    pub inventory: Option<(PathBuf, Columns)>,
}

/// One registry of the fleet.
#[derive(Debug, Clone)]
pub struct Member {
    /// How its records are shown: `name:EXC-0042`.
    pub name: String,
    pub source: Source,
}

/// A registry read, or why it could not be.
pub struct Read {
    pub name: String,
    /// Its path or `URL@ref`, as users name it.
    pub source: String,
    pub result: Result<(Registry, Loaded)>,
}

impl Fleet {
    /// Reads and checks the fleet file at `path`.
    pub fn read(path: &Path) -> Result<Fleet> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let bad = |why: String| Error::Usage(format!("{}: {why}", path.display()));
        let value = crate::yaml::parse_value(&text)
            .map_err(|e| bad(format!("{}:{}: {}", e.position.line, e.position.col, e.message)))?;
        let file: File = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
        let base = std::path::absolute(&base).map_err(|e| Error::io(&base, e))?;
        let mut members: Vec<Member> = Vec::new();
        for (i, entry) in file.registries.into_iter().enumerate() {
            let (name, source) = match entry {
                Entry::Plain(text) => (None, Source::parse(&text, None, None, &base)?),
                Entry::Full(f) => {
                    let source = match (&f.path, &f.git) {
                        (Some(p), None) => Source::parse(p, f.rev.as_deref(), f.dir.as_deref(), &base)?,
                        (None, Some(url)) => Source::Git {
                            url: if crate::git::is_url(url) {
                                url.clone()
                            } else {
                                super::normalize(&base.join(url)).to_string_lossy().into_owned()
                            },
                            rev: f.rev.clone(),
                            dir: f.dir.clone(),
                        },
                        _ => return Err(bad(format!("registries[{i}]: give either `path` or `git`"))),
                    };
                    (f.name, source)
                }
            };
            let name = name.unwrap_or_else(|| default_name(&source));
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                return Err(bad(format!(
                    "registries[{i}]: `{name}` cannot name a registry: use letters, digits, `.`, `_` and `-` (records are shown as NAME:EXC-0042)"
                )));
            }
            if let Some(twin) = members.iter().find(|m| m.name == name) {
                return Err(bad(format!(
                    "two registries are named `{name}` ({} and {}); give one a `name:`",
                    twin.source.describe(),
                    source.describe()
                )));
            }
            if let Some(twin) = members.iter().find(|m| m.source == source) {
                return Err(bad(format!("`{}` and `{name}` are the same registry ({})", twin.name, source.describe())));
            }
            members.push(Member { name, source });
        }
        if members.is_empty() {
            return Err(bad("lists no registries".into()));
        }
        if file.assets.total.is_some() && file.assets.inventory.is_some() {
            return Err(bad("assets: give either `total` or `inventory`, not both".into()));
        }
        let inventory = file.assets.inventory.map(|f| (super::normalize(&base.join(f)), file.assets.columns));
        Ok(Fleet { file: path.to_path_buf(), members, targets: file.targets, total: file.assets.total, inventory })
    }

    /// Fetches, opens and loads every registry, in parallel; each keeps
    /// its name and source, and why it could not be read. With `stood`, each
    /// record is read as it stood at that instant (`measure::as_stood`, as
    /// `--as-of` reads one registry).
    pub fn read_all(&self, cx: rules::Context, stood: Option<chrono::DateTime<chrono::Utc>>) -> Vec<Read> {
        self.members
            .par_iter()
            .map(|m| Read {
                name: m.name.clone(),
                source: m.source.describe(),
                result: m.source.open(cx).and_then(|reg| {
                    let mut loaded = reg.load_all()?;
                    if let Some(now) = stood {
                        loaded.records = std::mem::take(&mut loaded.records)
                            .into_par_iter()
                            .map(|r| crate::model::measure::as_stood(r, &reg.policy, now))
                            .collect();
                    }
                    Ok((reg, loaded))
                }),
            })
            .collect()
    }

    /// The union's own inventory, when the fleet file names one.
    pub fn inventory(&self) -> Result<Option<Inventory>> {
        let Some((path, columns)) = &self.inventory else { return Ok(None) };
        super::inventory::read(path, columns).map(Some).map_err(|why| {
            Error::Refused(format!("{}: assets.inventory {}: {why}", self.file.display(), path.display()))
        })
    }
}

/// A registry that was read.
pub struct Opened {
    pub name: String,
    pub registry: Registry,
    pub loaded: Loaded,
}

/// The registries read, in the fleet file's order, and those that could not
/// be, each with why.
pub fn split(reads: Vec<Read>) -> (Vec<Opened>, Vec<Unreadable>) {
    let mut opened = Vec::new();
    let mut unreadable = Vec::new();
    for r in reads {
        match r.result {
            Ok((registry, loaded)) => opened.push(Opened { name: r.name, registry, loaded }),
            Err(e) => unreadable.push(Unreadable {
                registry: r.name,
                source: r.source,
                error: e.to_string().lines().next().unwrap_or("").to_string(),
            }),
        }
    }
    (opened, unreadable)
}

/// A registry's name when the fleet file gives none: its folder's, or its
/// URL's last part (without `.git`).
fn default_name(source: &Source) -> String {
    let text = match source {
        Source::Path(p) => p.to_string_lossy().into_owned(),
        Source::Git { url, dir: Some(d), .. } => format!("{url}/{d}"),
        Source::Git { url, .. } => url.clone(),
    };
    let last = text.trim_end_matches(['/', '\\']).rsplit(['/', '\\', ':']).next().unwrap_or("").to_string();
    last.strip_suffix(".git").map(str::to_string).unwrap_or(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(text: &str) -> Result<Fleet> {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("fleet.yaml");
        std::fs::write(&path, text).unwrap();
        Fleet::read(&path)
    }

    #[test]
    fn registries_by_path_and_url_with_their_names() {
        let f = fleet(
            "registries:\n  - ../payments-registry\n  - { name: retail, git: \"https://git.example.com/r/sec.git\", ref: main }\n  - git@git.example.com:org/platform.git\ntargets: { approval_hours_max: 24 }\n",
        )
        .unwrap();
        let names: Vec<&str> = f.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["payments-registry", "retail", "platform"]);
        assert_eq!(f.targets.approval_hours_max, 24.0);
        assert!(matches!(&f.members[1].source, Source::Git { rev: Some(r), .. } if r == "main"));
    }

    #[test]
    fn names_and_sources_are_each_given_once() {
        assert!(
            fleet("registries: [a/reg, b/reg]\n").unwrap_err().to_string().contains("two registries are named `reg`")
        );
        assert!(
            fleet("registries: [{name: x, path: a}, {name: y, path: a}]\n")
                .unwrap_err()
                .to_string()
                .contains("same registry")
        );
        assert!(fleet("registries: [{name: \"a:b\", path: a}]\n").unwrap_err().to_string().contains("cannot name"));
        assert!(fleet("registries: [{name: a}]\n").unwrap_err().to_string().contains("either `path` or `git`"));
        assert!(fleet("registries: []\n").unwrap_err().to_string().contains("lists no registries"));
        assert!(fleet("registries: [a]\nextra: 1\n").is_err());
    }
}
