//! Payloads: real benchmark binaries run in the guest, and how their output is
//! turned into metrics and judged. Plain data shared by the host (which packs
//! the binary and reads the output) and the guest (which runs it).

use serde::{Deserialize, Serialize};

/// How long a payload may run when its definition says nothing.
pub const DEFAULT_PAYLOAD_TIMEOUT_MS: u64 = 60_000;

/// A benchmark binary run in the guest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// Short name for reports, unique within the scenario.
    pub name: String,
    /// The binary: an absolute host path, or a name looked up on the host's `PATH`.
    /// It is packed at the same path in the guest, with its shared libraries.
    pub binary: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// The cgroup to run it in (a scenario cgroup); `None` runs it in the root cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// Kill it after this long.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// When it starts.
    #[serde(default)]
    pub start: PayloadStart,
    /// A file in the guest the payload writes its results to (e.g. cyclictest's
    /// `--json=FILE`); it is read as the payload's output, and what it printed
    /// goes with its standard error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_file: Option<String>,
    /// Name of the output adapter (`json`, `exit_code`, `llm_extract`, or a plugin's).
    pub adapter: String,
    /// What the metrics mean (names for LlmExtract, polarity for comparisons).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<PayloadHint>,
    /// Conditions the metrics and the exit code must meet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<PayloadCheck>,
    /// Sanity limits on the extracted metrics as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<PayloadBounds>,
}

impl Payload {
    /// A payload with no arguments, run at the scenario start in the root
    /// cgroup with the default timeout; set the other fields as needed.
    ///
    /// ```
    /// use ktstr_model::Payload;
    /// let mut p = Payload::new("hackbench", "hackbench", "llm_extract");
    /// p.args = vec!["-l".into(), "100".into()];
    /// assert_eq!(p.timeout_ms, ktstr_model::DEFAULT_PAYLOAD_TIMEOUT_MS);
    /// ```
    pub fn new(
        name: impl Into<String>,
        binary: impl Into<String>,
        adapter: impl Into<String>,
    ) -> Self {
        Payload {
            name: name.into(),
            binary: binary.into(),
            args: Vec::new(),
            cgroup: None,
            timeout_ms: DEFAULT_PAYLOAD_TIMEOUT_MS,
            start: PayloadStart::default(),
            output_file: None,
            adapter: adapter.into(),
            hints: Vec::new(),
            checks: Vec::new(),
            bounds: None,
        }
    }
}

fn default_timeout_ms() -> u64 {
    DEFAULT_PAYLOAD_TIMEOUT_MS
}

/// When a payload starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PayloadStart {
    /// With the scenario's workers (or alone, when the scenario has none).
    #[default]
    AtStart,
    /// In the background of step `n`, when that step is applied.
    AtStep(usize),
}

/// A metric the payload is expected to produce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadHint {
    /// Metric name.
    pub name: String,
    /// `higher_better`, `lower_better`, or a target value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polarity: Option<HintPolarity>,
    /// Unit, e.g. `s` or `us`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// Which direction of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HintPolarity {
    /// Bigger is better (throughput).
    HigherBetter,
    /// Smaller is better (latency).
    LowerBetter,
    /// Closest to this value is best.
    Target(f64),
}

/// A condition on one metric or on the exit code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case", deny_unknown_fields)]
pub enum PayloadCheck {
    /// `metric >= value`.
    Min {
        /// Metric name.
        metric: String,
        /// Smallest allowed value.
        value: f64,
    },
    /// `metric <= value`.
    Max {
        /// Metric name.
        metric: String,
        /// Largest allowed value.
        value: f64,
    },
    /// `min <= metric <= max`.
    Range {
        /// Metric name.
        metric: String,
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// The metric was extracted.
    Exists {
        /// Metric name.
        metric: String,
    },
    /// The payload exited with this code.
    ExitCodeEquals {
        /// Expected exit code.
        code: i32,
    },
}

/// Limits on the extracted metrics as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadBounds {
    /// At least this many metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<usize>,
    /// No metric below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<f64>,
    /// No metric above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<f64>,
}
