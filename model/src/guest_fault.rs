//! Faults the guest runtime injects into itself, so ktstr's own tests can
//! prove how the host classifies a guest that misbehaves.
//!
//! They exist for the fault matrix (a crashing or flooding guest runtime
//! cannot be produced any other way) and are reachable from the command
//! line only through a hidden option of `ktstr run`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The largest flood a plan may ask for, MiB.
pub const MAX_FLOOD_MIB: u32 = 4096;

/// One injected fault, carried in the [`GuestPlan`](crate::GuestPlan).
///
/// ```
/// use ktstr_model::GuestFault;
///
/// let f: GuestFault = "flood:512".parse().unwrap();
/// assert_eq!(f, GuestFault::Flood { mib: 512 });
/// assert_eq!(f.to_string(), "flood:512");
/// assert!("flood:0".parse::<GuestFault>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum GuestFault {
    /// The runtime panics after its Hello (a bug in ktstr's guest code).
    Panic,
    /// The runtime aborts after its Hello. PID 1 cannot be killed by
    /// SIGABRT, so abort() ends in a fault (SIGSEGV) and the kernel panics
    /// ("Attempted to kill init").
    Abort,
    /// The runtime powers the VM off after its Hello, without its final
    /// message.
    PowerOff,
    /// Before its work, the runtime sends `mib` log frames of just under
    /// 1 MiB (the largest frame) and 100 000 small log lines as fast as the
    /// wire takes them, then runs the scenario as usual.
    Flood {
        /// How much to send, MiB (1..=[`MAX_FLOOD_MIB`]).
        mib: u32,
    },
}

/// A fault name that is not one of [`GuestFault`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown guest fault `{0}`: expected `panic`, `abort`, `poweroff` or `flood:MIB` (MIB 1..={MAX_FLOOD_MIB})")]
pub struct UnknownGuestFault(pub String);

impl FromStr for GuestFault {
    type Err = UnknownGuestFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownGuestFault(s.to_string());
        match s {
            "panic" => Ok(GuestFault::Panic),
            "abort" => Ok(GuestFault::Abort),
            "poweroff" => Ok(GuestFault::PowerOff),
            _ => {
                let mib = s
                    .strip_prefix("flood:")
                    .and_then(|m| m.parse::<u32>().ok())
                    .filter(|m| (1..=MAX_FLOOD_MIB).contains(m))
                    .ok_or_else(unknown)?;
                Ok(GuestFault::Flood { mib })
            }
        }
    }
}

impl fmt::Display for GuestFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestFault::Panic => f.write_str("panic"),
            GuestFault::Abort => f.write_str("abort"),
            GuestFault::PowerOff => f.write_str("poweroff"),
            GuestFault::Flood { mib } => write!(f, "flood:{mib}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_reads_back_what_it_prints() {
        for f in [
            GuestFault::Panic,
            GuestFault::Abort,
            GuestFault::PowerOff,
            GuestFault::Flood { mib: 1 },
            GuestFault::Flood { mib: MAX_FLOOD_MIB },
        ] {
            assert_eq!(f.to_string().parse::<GuestFault>(), Ok(f));
        }
    }

    #[test]
    fn bad_names_and_sizes_are_refused_naming_the_value() {
        for bad in [
            "",
            "Panic",
            "flood",
            "flood:",
            "flood:0",
            "flood:-1",
            "flood:4097",
            "flood:x",
        ] {
            let e = bad.parse::<GuestFault>().unwrap_err();
            assert!(e.to_string().contains(&format!("`{bad}`")), "{e}");
        }
    }
}
