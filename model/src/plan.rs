//! What the guest runtime is asked to do, packed into the initramfs.

use serde::{Deserialize, Serialize};

use crate::{GuestFault, Scenario, Topology};

/// Where the plan sits inside the initramfs.
pub const PLAN_PATH: &str = "/ktstr/plan.json";

/// The guest's instructions, serialized as JSON (scenarios use internally tagged
/// enums, which postcard cannot decode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestPlan {
    /// The topology the host asked for (the guest reports what it really sees).
    pub topology: Topology,
    /// What to do after the Hello.
    pub task: GuestTask,
    /// A fault the runtime injects into itself (ktstr's own fault tests);
    /// `None` in every real run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<GuestFault>,
}

/// The guest's work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum GuestTask {
    /// Report Hello and power off.
    Boot,
    /// Run a scenario, under a scheduler or under the kernel's own (EEVDF).
    Scenario {
        /// The scenario (boxed: it is much larger than the other variants).
        scenario: Box<Scenario>,
        /// The sched_ext scheduler to start first; `None` runs EEVDF.
        scheduler: Option<SchedulerLaunch>,
    },
}

/// How the guest starts the scheduler under test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerLaunch {
    /// Its path inside the initramfs.
    pub guest_path: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// How long it may take to attach, ms.
    pub attach_timeout_ms: u64,
}

impl GuestPlan {
    /// Serializes the plan for the initramfs.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A plan holds only plain data with string keys; encoding cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a plan written by [`GuestPlan::to_bytes`].
    ///
    /// # Errors
    /// When the bytes are not a plan of this version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_scenario_survives_the_trip_to_the_guest() {
        let topology: Topology = "1,2,2,1".parse().unwrap();
        for s in crate::catalog::catalog()
            .into_iter()
            .chain(crate::catalog::fault_scenarios())
        {
            let plan = GuestPlan {
                topology,
                task: GuestTask::Scenario {
                    scenario: Box::new(s),
                    scheduler: Some(SchedulerLaunch {
                        guest_path: "/ktstr/bin/scx_simple".into(),
                        args: vec!["-v".into()],
                        attach_timeout_ms: 1,
                    }),
                },
                fault: None,
            };
            assert_eq!(GuestPlan::from_bytes(&plan.to_bytes()).unwrap(), plan);
        }
    }
}
