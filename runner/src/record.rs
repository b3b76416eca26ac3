//! The run record: what one scenario under one scheduler on one topology did,
//! and how it was judged. The machine format of `ktstr run --json`.

use ktstr_eval::Verdict;
use ktstr_vmm::{VmExit, VmOutcome};
use serde::Serialize;

use crate::payload_judge::PayloadReport;

/// The version of [`RunRecord`]'s JSON form. Bumped when a field changes
/// meaning or is removed; adding a field does not bump it.
pub const RUN_RECORD_SCHEMA: u32 = 1;

/// One scenario under one scheduler on one topology.
///
/// Its JSON form (`ktstr run --json`, one object per run) carries
/// `schema` = [`RUN_RECORD_SCHEMA`].
#[derive(Debug, Serialize)]
pub struct RunRecord {
    /// [`RUN_RECORD_SCHEMA`].
    pub schema: u32,
    /// The scenario's name.
    pub scenario: String,
    /// The scheduler and its arguments (`eevdf`, `scx_bpfland@1.1.4 -m performance`).
    pub scheduler: String,
    /// The requested topology (`1n2l2c1t`).
    pub topology: String,
    /// The VM backend (`qemu`, `kvm`).
    pub backend: &'static str,
    /// How vCPUs were executed (`kvm`, `tcg`).
    pub accel: String,
    /// The cache id of the kernel, or `path` for an image outside the cache.
    pub kernel: String,
    /// Wall time of the whole VM run, ms.
    pub wall_ms: f64,
    /// When the guest runtime started, ms after the kernel booted.
    pub boot_ms: Option<f64>,
    /// How the guest's topology differed from the requested one (empty: it matched).
    pub topology_mismatches: Vec<String>,
    /// Every check's result and the run's numbers.
    pub verdict: Verdict,
    /// Each payload's metrics and judgement.
    pub payloads: Vec<PayloadReport>,
    /// Findings about the payload output as a whole (LlmExtract: outputs of no
    /// known payload, payloads with no output, frames lost on the wire).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub payload_findings: Vec<String>,
}

impl RunRecord {
    /// Every check, the topology and every payload passed.
    pub fn passed(&self) -> bool {
        self.verdict.passed()
            && self.topology_mismatches.is_empty()
            && self.payloads.iter().all(|p| p.passed)
    }

    /// The first failed check's first detail, else the topology or payload
    /// problem, for one-line reports; `None` when the run passed.
    pub fn first_failure(&self) -> Option<String> {
        if let Some(c) = self.verdict.failures().next() {
            return Some(match c.details.first() {
                Some(d) => format!("{}: {}", c.name, d.message),
                None => format!("{}: {}", c.name, c.summary),
            });
        }
        if let Some(m) = self.topology_mismatches.first() {
            return Some(format!("topology: {m}"));
        }
        self.payloads
            .iter()
            .find(|p| !p.passed)
            .map(|p| format!("payload {} failed", p.name))
    }
}

/// The VM's end in the evaluator's terms.
pub(crate) fn vm_end(o: &VmOutcome) -> ktstr_eval::VmEnd {
    use ktstr_eval::VmEnd;
    match &o.exit {
        VmExit::Completed => VmEnd::Completed,
        VmExit::KernelPanic { text } => VmEnd::KernelPanic { text: text.clone() },
        VmExit::Timeout { last_lines, .. } => VmEnd::Timeout {
            last_lines: last_lines.clone(),
        },
        VmExit::NoResult { status, last_lines } => VmEnd::NoResult {
            status: status.clone(),
            last_lines: last_lines.clone(),
        },
        VmExit::Interrupted => VmEnd::Interrupted,
    }
}
