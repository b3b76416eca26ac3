//! Run filters: `key=value` clauses as `ktstr results list` and
//! `ktstr compare --a/--b` take them. Clauses with the same key are
//! alternatives; different keys must all hold.

use std::fmt;
use std::str::FromStr;

use crate::{ResultsError, StoredRun};

/// A field a filter can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FilterKey {
    /// The run id, by prefix.
    Id,
    /// The scenario's name.
    Scenario,
    /// The scheduler: its whole label (`scx_qmap -t 2`) or its name (`scx_qmap`).
    Scheduler,
    /// The topology label (`1n2l2c1t`).
    Topology,
    /// The kernel cache id, by prefix.
    Kernel,
    /// The scheduler source's git commit, by prefix.
    Commit,
    /// `kvm` or `tcg`.
    Accel,
    /// The host name.
    Host,
    /// `run`, `harness`, `gauntlet`, `compare`.
    Origin,
    /// `true` or `false`.
    Passed,
}

const KEYS: [(&str, FilterKey); 10] = [
    ("id", FilterKey::Id),
    ("scenario", FilterKey::Scenario),
    ("scheduler", FilterKey::Scheduler),
    ("topology", FilterKey::Topology),
    ("kernel", FilterKey::Kernel),
    ("commit", FilterKey::Commit),
    ("accel", FilterKey::Accel),
    ("host", FilterKey::Host),
    ("origin", FilterKey::Origin),
    ("passed", FilterKey::Passed),
];

impl FilterKey {
    fn name(self) -> &'static str {
        KEYS.iter()
            .find(|(_, k)| *k == self)
            .map_or("?", |(n, _)| n)
    }
}

/// One `key=value` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// What it tests.
    pub key: FilterKey,
    /// The value it wants.
    pub value: String,
}

impl Clause {
    fn matches(&self, run: &StoredRun) -> bool {
        let m = &run.meta;
        let v = self.value.as_str();
        match self.key {
            FilterKey::Id => m.id.starts_with(v),
            FilterKey::Scenario => m.scenario == v,
            FilterKey::Scheduler => m.scheduler == v || m.scheduler_build.name == v,
            FilterKey::Topology => m.topology == v,
            FilterKey::Kernel => m.kernel.starts_with(v),
            FilterKey::Commit => m
                .scheduler_build
                .commit
                .as_deref()
                .is_some_and(|c| c.starts_with(v)),
            FilterKey::Accel => m.accel == v,
            FilterKey::Host => m.host.hostname == v,
            FilterKey::Origin => m.origin.as_str() == v,
            FilterKey::Passed => (v == "true") == run.passed,
        }
    }
}

impl FromStr for Clause {
    type Err = ResultsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let known = || KEYS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        let (k, v) = s.split_once('=').ok_or_else(|| ResultsError::BadFilter {
            clause: s.to_string(),
            why: format!("expected KEY=VALUE with KEY one of {}", known()),
        })?;
        let key = KEYS
            .iter()
            .find(|(n, _)| *n == k.trim())
            .map(|(_, key)| *key)
            .ok_or_else(|| ResultsError::BadFilter {
                clause: s.to_string(),
                why: format!("unknown key `{}`; known keys: {}", k.trim(), known()),
            })?;
        let value = v.trim().to_string();
        if value.is_empty() {
            return Err(ResultsError::BadFilter {
                clause: s.to_string(),
                why: "the value is empty".into(),
            });
        }
        if key == FilterKey::Passed && value != "true" && value != "false" {
            return Err(ResultsError::BadFilter {
                clause: s.to_string(),
                why: "`passed` is `true` or `false`".into(),
            });
        }
        Ok(Clause { key, value })
    }
}

/// Clauses over runs; the empty filter matches every run.
///
/// ```
/// use ktstr_results::Filter;
///
/// let f = Filter::parse(["scheduler=scx_simple", "scenario=steady", "scenario=mixed"]).unwrap();
/// assert_eq!(f.to_string(), "scenario=steady|mixed scheduler=scx_simple");
/// assert!(Filter::parse(["colour=red"]).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    clauses: Vec<Clause>,
}

impl Filter {
    /// Parses clauses; a clause may also hold several separated by commas
    /// (`scheduler=scx_simple,topology=1n2l2c1t`).
    ///
    /// # Errors
    ///
    /// [`ResultsError::BadFilter`] naming the clause and the known keys.
    pub fn parse<I, S>(clauses: I) -> Result<Self, ResultsError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Vec::new();
        for c in clauses {
            for part in c.as_ref().split(',').filter(|p| !p.trim().is_empty()) {
                out.push(part.parse()?);
            }
        }
        out.sort_by_key(|c: &Clause| c.key);
        Ok(Filter { clauses: out })
    }

    /// Whether `run` passes every key's clauses.
    pub fn matches(&self, run: &StoredRun) -> bool {
        self.clauses
            .chunk_by(|a, b| a.key == b.key)
            .all(|same_key| same_key.iter().any(|c| c.matches(run)))
    }

    /// Whether the filter has no clause.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: Vec<String> = self
            .clauses
            .chunk_by(|a, b| a.key == b.key)
            .map(|g| {
                let values: Vec<&str> = g.iter().map(|c| c.value.as_str()).collect();
                format!("{}={}", g[0].key.name(), values.join("|"))
            })
            .collect();
        f.write_str(&groups.join(" "))
    }
}
