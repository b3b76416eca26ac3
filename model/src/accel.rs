//! How a VM's vCPUs are executed: the one `Accel` every crate uses (the
//! backends report it, the thresholds depend on it).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How the guest's CPUs were provided; it picks the default thresholds.
///
/// ```
/// use ktstr_model::Accel;
/// assert_eq!("TCG".parse::<Accel>(), Ok(Accel::Tcg));
/// assert_eq!(Accel::Kvm.to_string(), "kvm");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// Hardware virtualization through `/dev/kvm`: vCPUs run at near native speed.
    Kvm,
    /// QEMU's software emulation (multi-threaded TCG): every vCPU is a host
    /// thread emulating instructions, so timing is an order of magnitude noisier.
    Tcg,
}

impl Accel {
    /// The lowercase name, as accepted by [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

impl fmt::Display for Accel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is neither `kvm` nor `tcg`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown accelerator `{0}`\nhint: use `kvm` or `tcg`")]
pub struct UnknownAccel(pub String);

impl FromStr for Accel {
    type Err = UnknownAccel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kvm" => Ok(Accel::Kvm),
            "tcg" => Ok(Accel::Tcg),
            _ => Err(UnknownAccel(s.to_string())),
        }
    }
}
