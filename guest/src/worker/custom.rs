//! Custom workers: Rust functions of the binary that runs as the guest's
//! `/init` (a test binary on the ktstr harness), looked up by name.

use std::sync::OnceLock;

/// A custom worker: called once in its own process; returns when done or
/// when [`CustomWorker::stopped`] says so.
pub type CustomWorkerFn = fn(&mut CustomWorker<'_>);

/// Finds a registered custom worker by name.
pub type CustomWorkerLookup = fn(&str) -> Option<CustomWorkerFn>;

static LOOKUP: OnceLock<CustomWorkerLookup> = OnceLock::new();

/// Installs the lookup for `WorkType::Custom` workers; the harness calls this
/// before [`run_as_init`](crate::run_as_init). Later calls are ignored.
pub fn set_custom_workers(lookup: CustomWorkerLookup) {
    let _ = LOOKUP.set(lookup);
}

pub(crate) fn lookup(name: &str) -> Option<CustomWorkerFn> {
    LOOKUP.get().and_then(|f| f(name))
}

/// Where a custom worker's metrics are left for the controller.
pub(crate) fn metrics_path(slot: usize) -> String {
    format!("/tmp/ktstr-metrics-{slot}")
}

/// The metrics a worker in `slot` left (`name\tvalue` lines), removed once read.
pub(crate) fn take_metrics(slot: usize) -> Vec<(String, f64)> {
    let path = metrics_path(slot);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    let _ = std::fs::remove_file(&path);
    text.lines()
        .filter_map(|l| {
            let (name, value) = l.split_once('\t')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// What a custom worker can do: report progress (the gap, starvation and
/// CPU-time checks judge it like any worker), see when to stop, and report
/// named metrics that the scenario's `metric_bounds` judge on the host.
pub struct CustomWorker<'a> {
    pub(super) tick: &'a mut dyn FnMut(u64),
    pub(super) stopped: &'a dyn Fn() -> bool,
    pub(super) metrics: Vec<(String, f64)>,
}

impl CustomWorker<'_> {
    /// Records `units` of progress (call it often: the time between calls
    /// is what the gap check sees).
    pub fn tick(&mut self, units: u64) {
        (self.tick)(units);
    }

    /// Whether the run is over; return soon after it says so.
    pub fn stopped(&self) -> bool {
        (self.stopped)()
    }

    /// Reports a named metric (`a-z`, `0-9`, `_`, `:`); the last value of a
    /// name wins.
    pub fn metric(&mut self, name: &str, value: f64) {
        self.metrics.retain(|(n, _)| n != name);
        self.metrics.push((name.to_owned(), value));
    }
}
