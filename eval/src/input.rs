//! What a run left behind, as eval receives it.

use ktstr_model::Scenario;
use ktstr_wire::Message;
use serde::Serialize;

pub use ktstr_model::Accel;

/// How the VM ended, as seen from the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VmEnd {
    /// The guest powered off by itself.
    Completed,
    /// The guest kernel panicked.
    KernelPanic {
        /// The panic message and what the console showed around it.
        text: String,
    },
    /// The host gave up waiting.
    Timeout {
        /// The last console lines before the timeout.
        last_lines: Vec<String>,
    },
    /// The VM exited without the guest's final message.
    NoResult {
        /// How the VM ended, as the backend saw it (e.g. a triple fault,
        /// every vCPU halted, QEMU's exit status).
        status: String,
        /// The last console lines.
        last_lines: Vec<String>,
    },
    /// The user interrupted the run.
    Interrupted,
}

/// Everything eval judges a run by.
///
/// Worker reports are matched to the scenario's worker groups by cgroup and
/// work type name: [`WorkerReport::work`](ktstr_wire::WorkerReport::work)
/// starts with the `WorkType`'s snake_case tag (`spin`, `cache_pressure`, ...),
/// optionally followed by parameters after a non-identifier character.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInput {
    /// The scenario that ran.
    pub scenario: Scenario,
    /// The scheduler's name; `eevdf` (any case) when no BPF scheduler runs.
    pub scheduler: String,
    /// The topology label, e.g. `2n4l2c1t`.
    pub topology: String,
    /// How the vCPUs were provided.
    pub accel: Accel,
    /// Every message decoded from the guest, in arrival order.
    pub messages: Vec<Message>,
    /// The guest's serial console output.
    pub console: String,
    /// How the VM ended.
    pub vm_exit: VmEnd,
    /// Frames lost or corrupted between guest and host, described, if any.
    pub wire_loss: Option<String>,
}
