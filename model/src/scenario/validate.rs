//! Checking a scenario against a topology, and reading and writing it as TOML.
//!
//! [`Scenario::validate`] walks the scenario the way the guest will run it: the
//! initial cgroups first, then each step's ops in order (a `repeat` hold runs its
//! ops again), tracking which cgroups exist. It returns the first problem found,
//! naming the field by its path, e.g. `cgroups[1].workers[0].count`.

use super::{
    AffinityMode, CgroupSpec, Fault, Hold, Op, Policy, Scenario, SwitchMode, WorkType, WorkerGroup,
};
use crate::Topology;

/// Why a scenario was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// A field holds a value the scenario cannot run with.
    #[error("invalid scenario `{scenario}`: `{field}`: {reason}")]
    Invalid {
        /// The scenario's name.
        scenario: String,
        /// Path of the offending field, e.g. `steps[0].ops[1].cgroup`.
        field: String,
        /// What is wrong, and how to fix it where that is not obvious.
        reason: String,
    },
    /// A cpuset spec cannot be resolved on the topology.
    #[error("cpuset `{spec}`: {reason}")]
    Cpuset {
        /// The spec, in its short form (see [`crate::CpusetSpec`]'s `Display`).
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// The TOML text is malformed or does not describe a scenario.
    #[error("invalid scenario TOML{}: {message}", position(.line, .column))]
    Toml {
        /// 1-based line of the problem; 0 when the parser gave no position.
        line: usize,
        /// 1-based column (in characters) of the problem; 0 when unknown.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The scenario cannot be written as TOML.
    #[error("failed to write scenario `{scenario}` as TOML: {message}")]
    TomlWrite {
        /// The scenario's name.
        scenario: String,
        /// The serializer's message.
        message: String,
    },
}

impl ScenarioError {
    /// The path of the offending field, for [`ScenarioError::Invalid`].
    pub fn field(&self) -> Option<&str> {
        match self {
            ScenarioError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

fn position(line: &usize, column: &usize) -> String {
    if *line == 0 {
        String::new()
    } else {
        format!(" at line {line}, column {column}")
    }
}

impl Scenario {
    /// The longest accepted `duration_ms`: ten minutes.
    pub const MAX_DURATION_MS: u64 = 600_000;

    /// Checks that the scenario can run on `topo`.
    ///
    /// ```
    /// use ktstr_model::{CpusetSpec, Scenario, Topology, WorkType};
    /// let topo: Topology = "1,2,2,1".parse().unwrap();
    /// let s = Scenario::builder("demo")
    ///     .cgroup("a", |c| c.cpuset(CpusetSpec::Cpus("0-5".into())).workers(2, WorkType::Spin))
    ///     .build();
    /// let e = s.validate(&topo).unwrap_err();
    /// assert_eq!(e.field(), Some("cgroups[0].cpuset"));
    /// assert!(e.to_string().contains("CPU 4 is outside the topology (4 CPUs: 0-3)"));
    /// ```
    ///
    /// # Errors
    /// [`ScenarioError::Invalid`] for the first problem found: an empty name; a
    /// duration of 0 or over [`Scenario::MAX_DURATION_MS`]; a `requires` no topology
    /// can meet; a `topology` other than `topo`; a `topo` that falls short of
    /// `requires` (see [`Scenario::hostable`] to tell these apart); a bad, duplicate
    /// or orphaned cgroup name; a cpuset that does not resolve on `topo`; a worker
    /// group with no workers, an odd count of a pair type, a bad fan-out or
    /// cache-pressure shape, a nice value outside -20..=19, or a fault that fires
    /// after the run; a step with no ops, a bad hold, an op naming a cgroup
    /// that does not exist at that point, or holds adding up to more than the
    /// duration; `switch = "partial"` with no worker of policy `ext`; a negative or
    /// non-finite threshold.
    pub fn validate(&self, topo: &Topology) -> Result<(), ScenarioError> {
        Checker {
            scenario: self,
            topo,
            populated: Default::default(),
        }
        .run()
        .map_err(|(field, reason)| ScenarioError::Invalid {
            scenario: self.name.clone(),
            field,
            reason,
        })
    }

    /// Reads a scenario from TOML. Does not validate it; see [`Scenario::validate`].
    ///
    /// ```
    /// use ktstr_model::Scenario;
    /// let s = Scenario::from_toml(r#"
    ///     name = "tiny"
    ///     duration_ms = 2000
    ///     [[cgroups]]
    ///     name = "a"
    ///     cpuset = { split = { index = 0, of = 2 } }
    ///     [[cgroups.workers]]
    ///     count = 2
    ///     work = { type = "spin" }
    /// "#).unwrap();
    /// assert_eq!(s.cgroups[0].workers[0].count, 2);
    /// ```
    ///
    /// # Errors
    /// [`ScenarioError::Toml`], with the line and column, when the text is not TOML
    /// or does not describe a scenario (a missing or unknown field, a wrong type).
    pub fn from_toml(text: &str) -> Result<Scenario, ScenarioError> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_column(text, s.start));
            ScenarioError::Toml {
                line,
                column,
                message: e.message().trim_end().to_string(),
            }
        })
    }

    /// Writes the scenario as TOML that [`Scenario::from_toml`] reads back equal:
    /// a `[[cgroups]]`, `[[cgroups.workers]]` or `[[steps]]` section per entry,
    /// everything else inline, and fields left at their defaults omitted.
    ///
    /// ```
    /// use ktstr_model::{CpusetSpec, Scenario, WorkType};
    /// let s = Scenario::builder("tiny")
    ///     .cgroup("a", |c| c.cpuset(CpusetSpec::Llcs(vec![0])).workers(2, WorkType::Spin))
    ///     .build();
    /// let text = s.to_toml().unwrap();
    /// assert!(text.contains("cpuset = { llcs = [0] }"));
    /// assert_eq!(Scenario::from_toml(&text).unwrap(), s);
    /// ```
    ///
    /// # Errors
    /// [`ScenarioError::TomlWrite`] if the serializer refuses a value.
    pub fn to_toml(&self) -> Result<String, ScenarioError> {
        let fail = |e: toml::ser::Error| ScenarioError::TomlWrite {
            scenario: self.name.clone(),
            message: e.to_string(),
        };
        let toml::Value::Table(mut doc) = toml::Value::try_from(self).map_err(fail)? else {
            unreachable!("a struct serializes to a table");
        };
        let worker_defaults = [
            (
                "policy",
                toml::Value::try_from(Policy::default()).map_err(fail)?,
            ),
            ("nice", toml::Value::Integer(0)),
            (
                "affinity",
                toml::Value::try_from(AffinityMode::default()).map_err(fail)?,
            ),
        ];
        prune(&mut doc, &worker_defaults);
        let mut out = String::new();
        write_section(&mut out, "", &doc);
        Ok(out)
    }
}

/// Arrays of tables that [`Scenario::to_toml`] writes as `[[sections]]`.
const SECTIONS: [&str; 3] = ["cgroups", "workers", "steps"];

/// Drops what deserializing fills in anyway: empty lists, the empty description,
/// `skip_fairness = false`, empty tables, and worker-group fields equal to `defaults`
/// (a worker group is recognised as a table with `count` and `work`).
fn prune(table: &mut toml::Table, defaults: &[(&str, toml::Value)]) {
    let is_workers = table.contains_key("count") && table.contains_key("work");
    table.retain(|key, value| {
        match value {
            toml::Value::Table(t) => prune(t, defaults),
            toml::Value::Array(items) => items
                .iter_mut()
                .filter_map(toml::Value::as_table_mut)
                .for_each(|t| prune(t, defaults)),
            _ => {}
        }
        let default = match key {
            "description" => toml::Value::String(String::new()),
            "skip_fairness" => toml::Value::Boolean(false),
            "cgroups" | "steps" | "workers" => toml::Value::Array(Vec::new()),
            "thresholds" => toml::Value::Table(toml::Table::new()),
            _ if is_workers => match defaults.iter().find(|(k, _)| *k == key) {
                Some((_, v)) => v.clone(),
                None => return true,
            },
            _ => return true,
        };
        *value != default
    });
}

/// Writes `table`'s plain keys inline, then its [`SECTIONS`] as `[[prefix.key]]`.
fn write_section(out: &mut String, prefix: &str, table: &toml::Table) {
    let section = |key: &str, value: &toml::Value| {
        SECTIONS.contains(&key)
            && value
                .as_array()
                .is_some_and(|a| a.iter().all(toml::Value::is_table))
    };
    for (key, value) in table.iter().filter(|(k, v)| !section(k, v)) {
        match value.as_array() {
            // A list of several tables (a step's ops): one per line.
            Some(items) if items.len() > 1 && items.iter().all(toml::Value::is_table) => {
                out.push_str(&format!("{key} = [\n"));
                for item in items {
                    out.push_str(&format!("    {item},\n"));
                }
                out.push_str("]\n");
            }
            _ => out.push_str(&format!("{key} = {value}\n")),
        }
    }
    for (key, value) in table.iter().filter(|(k, v)| section(k, v)) {
        for item in value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(toml::Value::as_table)
        {
            out.push_str(&format!("\n[[{prefix}{key}]]\n"));
            write_section(out, &format!("{prefix}{key}."), item);
        }
    }
}

/// 1-based line and character column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// A field path and what is wrong with it.
type Problem = (String, String);

fn problem<T>(field: impl Into<String>, reason: impl Into<String>) -> Result<T, Problem> {
    Err((field.into(), reason.into()))
}

struct Checker<'a> {
    scenario: &'a Scenario,
    topo: &'a Topology,
    /// Cgroups that hold (or will hold) processes: cgroup v2 allows no children there.
    populated: std::cell::RefCell<Vec<String>>,
}

/// Why a cgroup with processes cannot have children (and vice versa).
const LEAF_RULE: &str =
    "cgroup v2 keeps processes only in leaf cgroups once controllers are enabled";

impl Checker<'_> {
    fn run(&self) -> Result<(), Problem> {
        let s = self.scenario;
        if s.name.trim().is_empty() {
            return problem("name", "must not be empty");
        }
        if s.duration_ms == 0 || s.duration_ms > Scenario::MAX_DURATION_MS {
            return problem(
                "duration_ms",
                format!(
                    "{} ms is out of range\nhint: use 1 to {}",
                    s.duration_ms,
                    Scenario::MAX_DURATION_MS
                ),
            );
        }
        if let Some((field, reason)) = s.requires.impossible() {
            return problem(field, reason);
        }
        if let Some(want) = &s.topology {
            if want != self.topo {
                return problem(
                    "topology",
                    format!(
                        "the scenario needs `{}` but the VM has `{}`",
                        want.spec(),
                        self.topo.spec()
                    ),
                );
            }
        }
        if let Some((field, reason)) = s.requires.shortfalls(self.topo).into_iter().next() {
            return problem(field, reason);
        }
        let mut live = Vec::new();
        for (i, cgroup) in s.cgroups.iter().enumerate() {
            self.cgroup(&format!("cgroups[{i}]"), cgroup, &live)?;
            live.push(cgroup.name.clone());
        }
        self.payloads(&live)?;
        self.steps(live)?;
        self.switch()?;
        self.worker_total()?;
        self.metric_bounds()?;
        self.thresholds()
    }

    /// Every worker the run ever starts, repeats included, must fit the
    /// guest's worker slots: checked here, before any VM boots.
    fn worker_total(&self) -> Result<(), Problem> {
        let sc = self.scenario;
        let mut total: u64 = sc
            .cgroups
            .iter()
            .flat_map(|c| c.workers.iter())
            .map(|g| u64::from(g.count))
            .sum();
        for step in &sc.steps {
            let times = match step.hold {
                Hold::Repeat { times, .. } => u64::from(times),
                _ => 1,
            };
            let per: u64 = step
                .ops
                .iter()
                .map(|op| match op {
                    Op::AddCgroup { cgroup } => {
                        cgroup.workers.iter().map(|g| u64::from(g.count)).sum()
                    }
                    Op::Spawn { workers, .. } => u64::from(workers.count),
                    _ => 0,
                })
                .sum();
            total = total.saturating_add(per.saturating_mul(times));
        }
        if total > u64::from(crate::MAX_WORKERS) {
            return problem(
                "cgroups",
                format!(
                    "the run starts {total} workers (steps and repeats included); the guest has {} worker slots",
                    crate::MAX_WORKERS
                ),
            );
        }
        Ok(())
    }

    fn metric_bounds(&self) -> Result<(), Problem> {
        for (i, b) in self.scenario.metric_bounds.iter().enumerate() {
            let path = format!("metric_bounds[{i}]");
            if !valid_worker_name(&b.name) {
                return problem(
                    format!("{path}.name"),
                    format!(
                        "`{}` is not a metric name: 1-64 of a-z, 0-9, `_`, `:`",
                        b.name
                    ),
                );
            }
            for (field, v) in [("min", b.min), ("max", b.max)] {
                if let Some(v) = v.filter(|v| !v.is_finite()) {
                    return problem(
                        format!("{path}.{field}"),
                        format!("{v} is not a finite number"),
                    );
                }
            }
            match (b.min, b.max) {
                (None, None) => {
                    return problem(path, "bounds nothing\nhint: give `min`, `max` or both")
                }
                (Some(lo), Some(hi)) if lo > hi => {
                    return problem(format!("{path}.min"), format!("{lo} is above `max` ({hi})"))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Partial switching needs a worker the scheduler is to run.
    fn switch(&self) -> Result<(), Problem> {
        let s = self.scenario;
        if s.switch != SwitchMode::Partial {
            return Ok(());
        }
        let initial = s.cgroups.iter().flat_map(|c| &c.workers);
        let stepped = s
            .steps
            .iter()
            .flat_map(|st| &st.ops)
            .flat_map(|op| match op {
                Op::AddCgroup { cgroup } => cgroup.workers.iter().collect(),
                Op::Spawn { workers, .. } => vec![workers],
                _ => Vec::new(),
            });
        if initial.chain(stepped).any(|g| g.policy == Policy::SchedExt) {
            return Ok(());
        }
        problem(
            "switch",
            "is `partial` but no worker has `policy = \"ext\"`; a scheduler in partial mode would run none of the workload\nhint: give the workers meant for the scheduler `policy = \"ext\"`, or drop `switch`",
        )
    }

    /// Payloads: unique names, a binary, a timeout, a known cgroup and step.
    fn payloads(&self, initial: &[String]) -> Result<(), Problem> {
        let s = self.scenario;
        let mut names: Vec<&str> = Vec::new();
        for (i, p) in s.payloads.iter().enumerate() {
            let path = format!("payloads[{i}]");
            if p.name.trim().is_empty() || names.contains(&p.name.as_str()) {
                return problem(
                    format!("{path}.name"),
                    format!("`{}` must be non-empty and unique", p.name),
                );
            }
            names.push(&p.name);
            if p.binary.trim().is_empty() {
                return problem(format!("{path}.binary"), "must name a binary");
            }
            if p.adapter.trim().is_empty() {
                return problem(
                    format!("{path}.adapter"),
                    "must name an output adapter (e.g. `json`, `exit_code`)",
                );
            }
            if p.timeout_ms == 0 {
                return problem(format!("{path}.timeout_ms"), "must be above 0");
            }
            if let crate::PayloadStart::AtStep(n) = p.start {
                if n >= s.steps.len() {
                    return problem(
                        format!("{path}.start"),
                        format!("step {n} does not exist ({} steps)", s.steps.len()),
                    );
                }
            }
            if let Some(c) = &p.cgroup {
                // Only cgroups present from the start are known for payloads starting there.
                if p.start == crate::PayloadStart::AtStart && !initial.contains(c) {
                    return problem(
                        format!("{path}.cgroup"),
                        format!("no cgroup `{c}` exists at the start"),
                    );
                }
            }
        }
        Ok(())
    }

    /// Checks a cgroup about to be created while the cgroups `live` exist.
    fn cgroup(&self, path: &str, c: &CgroupSpec, live: &[String]) -> Result<(), Problem> {
        let field = format!("{path}.name");
        check_cgroup_name(&c.name).or_else(|reason| problem(&field, reason))?;
        if live.contains(&c.name) {
            return problem(field, format!("cgroup `{}` already exists", c.name));
        }
        if let Some((parent, _)) = c.name.rsplit_once('/') {
            if !live.iter().any(|l| l == parent) {
                return problem(
                    field,
                    format!(
                        "parent `{parent}` of `{}` does not exist\nhint: declare it first",
                        c.name
                    ),
                );
            }
            if self.populated.borrow().iter().any(|p| p == parent) {
                return problem(
                    field,
                    format!(
                        "parent `{parent}` of `{}` has workers; {LEAF_RULE}: move them into a leaf such as `{parent}/base`",
                        c.name
                    ),
                );
            }
        }
        if !c.workers.is_empty() {
            self.populated.borrow_mut().push(c.name.clone());
        }
        if let Some(spec) = &c.cpuset {
            spec.resolve(self.topo).or_else(|e| {
                problem(
                    format!("{path}.cpuset"),
                    format!("cgroup `{}`: {e}", c.name),
                )
            })?;
        }
        for (j, group) in c.workers.iter().enumerate() {
            self.workers(&format!("{path}.workers[{j}]"), group)?;
        }
        Ok(())
    }

    #[expect(
        clippy::manual_is_multiple_of,
        reason = "u32::is_multiple_of needs Rust 1.87; the workspace supports 1.85"
    )]
    fn workers(&self, path: &str, g: &WorkerGroup) -> Result<(), Problem> {
        let count = g.count;
        if count == 0 {
            return problem(
                format!("{path}.count"),
                "is 0; a worker group needs at least one worker",
            );
        }
        match g.work {
            WorkType::PipePingPong | WorkType::FutexPingPong if count % 2 == 1 => {
                return problem(
                    format!("{path}.count"),
                    format!("{count} is odd; ping-pong workers run in pairs"),
                );
            }
            WorkType::FutexFanOut { wakees: 0 } => {
                return problem(
                    format!("{path}.work.wakees"),
                    "is 0; a waker needs at least one wakee",
                );
            }
            // Saturating: `wakees` comes from the user and may be u32::MAX.
            WorkType::FutexFanOut { wakees } if count % wakees.saturating_add(1) != 0 => {
                return problem(
                    format!("{path}.count"),
                    format!(
                        "{count} is not a multiple of {} (one waker and {wakees} wakees per group)",
                        wakees.saturating_add(1)
                    ),
                );
            }
            WorkType::CachePressure { wss_kb: 0, .. } => {
                return problem(
                    format!("{path}.work.wss_kb"),
                    "is 0; the working set needs a size",
                );
            }
            WorkType::CachePressure { stride: 0, .. } => {
                return problem(
                    format!("{path}.work.stride"),
                    "is 0; the walk would never move",
                );
            }
            WorkType::SyncIo { block_kb: 0 } => {
                return problem(
                    format!("{path}.work.block_kb"),
                    "is 0; each write needs a size",
                );
            }
            WorkType::Custom { ref name } if !valid_worker_name(name) => {
                return problem(
                    format!("{path}.work.name"),
                    format!("`{name}` is not a worker name: 1-64 of a-z, 0-9, `_`, `:` (the function `#[ktstr::worker]` registers)"),
                );
            }
            _ => {}
        }
        if !(-20..=19).contains(&g.nice) {
            return problem(
                format!("{path}.nice"),
                format!("{} is outside -20..=19", g.nice),
            );
        }
        let (kind, after_ms) = match g.fault {
            None => return Ok(()),
            Some(Fault::Freeze { for_ms: 0, .. }) => {
                return problem(
                    format!("{path}.fault.freeze.for_ms"),
                    "is 0; a freeze needs a length",
                );
            }
            Some(Fault::Freeze { after_ms, .. }) => ("freeze", after_ms),
            Some(Fault::EscapeCpuset { after_ms }) => ("escape_cpuset", after_ms),
        };
        let duration = self.scenario.duration_ms;
        if after_ms >= duration {
            return problem(
                format!("{path}.fault.{kind}.after_ms"),
                format!("{after_ms} ms is not before the end of the run ({duration} ms); the fault would never fire"),
            );
        }
        Ok(())
    }

    fn steps(&self, mut live: Vec<String>) -> Result<(), Problem> {
        let duration = self.scenario.duration_ms as f64;
        let mut held = 0.0;
        // The start phase, then a transition and a steady phase per application.
        let mut phases: u64 = 1;
        for (i, step) in self.scenario.steps.iter().enumerate() {
            let path = format!("steps[{i}]");
            let applications = match step.hold {
                Hold::Repeat { times, .. } => u64::from(times),
                _ => 1,
            };
            phases = phases.saturating_add(applications.saturating_mul(2));
            if phases > u64::from(crate::MAX_PHASES) {
                return problem(
                    path,
                    format!(
                        "the steps so far make {phases} phases (two per application, repeats included); at most {} are tracked, so later phases could not be judged\nhint: use fewer steps or repetitions",
                        crate::MAX_PHASES
                    ),
                );
            }
            if step.ops.is_empty() {
                return problem(
                    format!("{path}.ops"),
                    "is empty; a step needs at least one op",
                );
            }
            held += check_hold(&format!("{path}.hold"), &step.hold, duration)?;
            if held > duration * (1.0 + 1e-9) {
                let which = match i {
                    0 => format!("holds {held:.0} ms"),
                    _ => format!("steps[0..={i}] hold {held:.0} ms in all"),
                };
                return problem(
                    format!("{path}.hold"),
                    format!("{which}, longer than `duration_ms` ({duration}); later ops would never run"),
                );
            }
            // Each repetition of the same ops must leave the cgroups as it found them
            // for the next, so checking two repetitions covers any number.
            let times = match step.hold {
                Hold::Repeat { times, .. } => times.min(2),
                _ => 1,
            };
            for rep in 0..times {
                for (k, op) in step.ops.iter().enumerate() {
                    self.op(&format!("{path}.ops[{k}]"), op, &mut live)
                        .map_err(|(f, r)| {
                            if rep == 0 {
                                (f, r)
                            } else {
                                (f, format!("{r} (when the op repeats)"))
                            }
                        })?;
                }
            }
        }
        Ok(())
    }

    fn op(&self, path: &str, op: &Op, live: &mut Vec<String>) -> Result<(), Problem> {
        let exists = |field: &str, name: &str| -> Result<(), Problem> {
            if live.iter().any(|l| l == name) {
                return Ok(());
            }
            let known = if live.is_empty() {
                "none".into()
            } else {
                live.join(", ")
            };
            problem(
                format!("{path}.{field}"),
                format!("no cgroup `{name}` exists at this step (existing: {known})"),
            )
        };
        match op {
            Op::AddCgroup { cgroup } => {
                self.cgroup(&format!("{path}.cgroup"), cgroup, live)?;
                live.push(cgroup.name.clone());
            }
            Op::RemoveCgroup { name } => {
                exists("name", name)?;
                let prefix = format!("{name}/");
                if let Some(child) = live.iter().find(|l| l.starts_with(&prefix)) {
                    return problem(
                        format!("{path}.name"),
                        format!(
                            "cgroup `{name}` still has child `{child}`\nhint: remove the child first"
                        ),
                    );
                }
                live.retain(|l| l != name);
            }
            Op::SetCpuset { cgroup, cpuset } => {
                exists("cgroup", cgroup)?;
                cpuset.resolve(self.topo).or_else(|e| {
                    problem(format!("{path}.cpuset"), format!("cgroup `{cgroup}`: {e}"))
                })?;
            }
            Op::ClearCpuset { cgroup } | Op::Stop { cgroup } | Op::SetAffinity { cgroup, .. } => {
                exists("cgroup", cgroup)?;
            }
            Op::SwapCpusets { a, b } => {
                exists("a", a)?;
                exists("b", b)?;
                if a == b {
                    return problem(format!("{path}.b"), format!("swaps `{a}` with itself"));
                }
            }
            Op::Spawn { cgroup, workers } => {
                exists("cgroup", cgroup)?;
                self.leaf(&format!("{path}.cgroup"), cgroup, live)?;
                self.workers(&format!("{path}.workers"), workers)?;
            }
            Op::MoveAll { from, to } => {
                exists("from", from)?;
                exists("to", to)?;
                self.leaf(&format!("{path}.to"), to, live)?;
                if from == to {
                    return problem(format!("{path}.to"), format!("moves `{from}` into itself"));
                }
            }
        }
        Ok(())
    }

    /// Processes are about to enter `name`: it must have no children.
    fn leaf(&self, field: &str, name: &str, live: &[String]) -> Result<(), Problem> {
        let prefix = format!("{name}/");
        if let Some(child) = live.iter().find(|l| l.starts_with(&prefix)) {
            return problem(
                field,
                format!("cgroup `{name}` has child `{child}`; {LEAF_RULE}"),
            );
        }
        self.populated.borrow_mut().push(name.to_string());
        Ok(())
    }

    fn thresholds(&self) -> Result<(), Problem> {
        let t = &self.scenario.thresholds;
        let floats = [
            ("max_spread_pct", t.max_spread_pct),
            ("max_migrations_per_sec", t.max_migrations_per_sec),
            ("max_throughput_spread_pct", t.max_throughput_spread_pct),
        ];
        for (name, value) in floats {
            if let Some(v) = value.filter(|v| !(v.is_finite() && *v >= 0.0)) {
                return problem(
                    format!("thresholds.{name}"),
                    format!("{v} is not a finite number >= 0"),
                );
            }
        }
        if let Some(ms) = t
            .scx_watchdog_ms
            .filter(|ms| !crate::SCX_WATCHDOG_MS_RANGE.contains(ms))
        {
            let range = crate::SCX_WATCHDOG_MS_RANGE;
            return problem(
                "thresholds.scx_watchdog_ms",
                format!("{ms} is outside {}..={} ms", range.start(), range.end()),
            );
        }
        Ok(())
    }
}

/// A registered worker's or metric's name: 1-64 of `a-z`, `0-9`, `_`, `:`.
fn valid_worker_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b':')
}

/// How long `hold` lasts in a run of `duration` ms, if it is well-formed.
fn check_hold(field: &str, hold: &Hold, duration: f64) -> Result<f64, Problem> {
    match *hold {
        Hold::Fraction(f) if f > 0.0 && f <= 1.0 => Ok(f * duration),
        Hold::Fraction(f) => problem(
            format!("{field}.fraction"),
            format!("{f} is outside (0, 1]"),
        ),
        Hold::Ms(0) => problem(format!("{field}.ms"), "is 0\nhint: hold for at least 1 ms"),
        Hold::Ms(ms) => Ok(ms as f64),
        Hold::Repeat { every_ms: 0, .. } => problem(
            format!("{field}.repeat.every_ms"),
            "is 0\nhint: repeat at least 1 ms apart",
        ),
        Hold::Repeat { times: 0, .. } => problem(
            format!("{field}.repeat.times"),
            "is 0\nhint: repeat at least once",
        ),
        Hold::Repeat { every_ms, times } => Ok(every_ms as f64 * f64::from(times)),
    }
}

/// A cgroup path: `/`-separated segments of letters, digits, `-` and `_`. No dots,
/// so a name never collides with a controller's interface file such as `cpu.max`.
fn check_cgroup_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    for seg in name.split('/') {
        let ok_chars = seg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if seg.is_empty() || !ok_chars {
            return Err(format!(
                "`{name}` is not a cgroup path\nhint: use `/`-separated names of letters, digits, `-` and `_`"
            ));
        }
    }
    Ok(())
}
