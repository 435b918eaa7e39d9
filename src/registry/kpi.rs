//! What a registry's KPI report needs besides its records and policy: when
//! re-approved versions were made (from the history), the asset base, and
//! how many scanner suppressions in the repository no exception governs.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Loaded, RECORDS_DIR, Registry, parse_version};
use crate::error::Result;
use crate::git::History;
use crate::model::inventory::AssetBase;
use crate::model::kpi::{Inputs, Report};
use crate::model::measure;
use crate::model::record::Record;

/// What a registry's KPI report needs besides its records and policy.
pub struct KpiContext<'a> {
    /// When each re-approved version was made, from the history.
    pub edited: HashMap<(String, String), DateTime<Utc>>,
    pub assets: AssetBase<'a>,
    pub ungoverned: Option<usize>,
    /// Why something was left out (the history could not be read), to show.
    pub warnings: Vec<String>,
}

impl KpiContext<'_> {
    /// The report's inputs for `reg`, as of `as_of` (flow KPIs from `since`).
    pub fn inputs<'b>(
        &'b self,
        reg: &'b Registry,
        as_of: NaiveDate,
        now: DateTime<Utc>,
        since: Option<NaiveDate>,
    ) -> Inputs<'b> {
        Inputs {
            policy: &reg.policy,
            assets: self.assets,
            as_of,
            since,
            now,
            edited: &self.edited,
            ungoverned: self.ungoverned,
        }
    }
}

impl Registry {
    /// The KPI report as of `as_of`, as `exc report` shows it; flow KPIs
    /// from `since`. Re-approval times come from `history` when given (else
    /// it is read, only if something was re-approved). With what to warn about.
    pub fn kpi_report(
        &self,
        loaded: &Loaded,
        as_of: NaiveDate,
        now: DateTime<Utc>,
        since: Option<NaiveDate>,
        history: Option<&History>,
    ) -> Result<(Report, Vec<String>)> {
        let records: Vec<&Record> = loaded.records.iter().collect();
        let k = self.kpi_context(loaded, as_of, now, history)?;
        let report = crate::model::kpi::report(&records, &k.inputs(self, as_of, now, since));
        Ok((report, k.warnings))
    }

    /// Reads what the KPI report needs besides the records (see [`Registry::kpi_report`]).
    pub fn kpi_context(
        &self,
        loaded: &Loaded,
        as_of: NaiveDate,
        now: DateTime<Utc>,
        history: Option<&History>,
    ) -> Result<KpiContext<'_>> {
        let mut warnings = Vec::new();
        let wanted: Vec<(String, String)> = loaded
            .records
            .iter()
            .flat_map(|r| measure::reapprovals(r, &self.policy, now).into_iter().map(|c| (r.path.clone(), c.digest)))
            .collect();
        let times = match history {
            Some(h) => self.edit_times_in(h, &wanted),
            None => self.edit_times(&wanted),
        };
        let edited = match times {
            Ok(times) => times,
            Err(e) => {
                if !wanted.is_empty() {
                    warnings.push(format!("{e}; re-approval times are left out"));
                }
                HashMap::new()
            }
        };
        Ok(KpiContext { edited, assets: self.asset_base()?, ungoverned: self.ungoverned(loaded, as_of), warnings })
    }

    /// How many scanner suppressions in the repository no active exception
    /// governs (as `exc reconcile` counts them); none when the repository
    /// cannot be read.
    fn ungoverned(&self, loaded: &Loaded, as_of: NaiveDate) -> Option<usize> {
        let root = crate::git::workdir(&self.root).unwrap_or_else(|| self.root.clone());
        let found = crate::scan::suppressions(&root, &self.scan_options(false)).ok()?;
        let name = crate::git::repository_name(&root);
        Some(
            crate::model::reconcile::judge(&found.sites, &loaded.records, as_of, name.as_deref()).len()
                + found.unreadable.len(),
        )
    }

    /// When each wanted version of a record first appeared: for (record path,
    /// request digest), the author time of the first commit whose version of
    /// that file has that digest. Reads the history once, and only the
    /// wanted files' versions. Versions the history does not hold are left out.
    pub fn edit_times(&self, wanted: &[(String, String)]) -> Result<HashMap<(String, String), DateTime<Utc>>> {
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        self.edit_times_in(&self.history()?, wanted)
    }

    /// [`Registry::edit_times`] from a history already read.
    pub fn edit_times_in(
        &self,
        history: &History,
        wanted: &[(String, String)],
    ) -> Result<HashMap<(String, String), DateTime<Utc>>> {
        let mut out = HashMap::new();
        if wanted.is_empty() {
            return Ok(out);
        }
        let trails = history.trails();
        let prefix = format!("{RECORDS_DIR}/");
        let changes = wanted
            .iter()
            .filter_map(|(path, _)| trails.get(path.strip_prefix(&prefix).unwrap_or(path)))
            .flatten()
            .copied();
        history.replay(
            changes,
            |text| parse_version(text).and_then(|v| v.1).map(|e| crate::model::digest::digest(&e)),
            |commit, change, _, after| {
                let name = change.new_name.as_deref().unwrap_or("");
                if let Some(Some(digest)) = after {
                    let key = (format!("{prefix}{name}"), digest.clone());
                    if wanted.contains(&key) {
                        out.entry(key).or_insert(commit.time);
                    }
                }
                Ok(())
            },
        )?;
        Ok(out)
    }
}
