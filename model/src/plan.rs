//! What the guest runtime is asked to do, packed into the initramfs.

use serde::{Deserialize, Serialize};

use crate::Topology;

/// Where the plan sits inside the initramfs.
pub const PLAN_PATH: &str = "/ktstr/plan.postcard";

/// The guest's instructions, serialized with postcard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestPlan {
    /// The topology the host asked for (the guest reports what it really sees).
    pub topology: Topology,
    /// What to do after the Hello.
    pub task: GuestTask,
}

/// The guest's work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum GuestTask {
    /// Report Hello and power off.
    Boot,
}

impl GuestPlan {
    /// Serializes the plan for the initramfs.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A plan holds only plain data; postcard cannot fail to encode it.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Reads a plan written by [`GuestPlan::to_bytes`].
    ///
    /// # Errors
    /// When the bytes are not a plan of this version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}
