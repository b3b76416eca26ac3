//! Kernel flavours: the default lean kernel and a debug kernel with lockdep.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::{self, Requirement};

/// Extra options of the debug flavour, merged after [`config::FRAGMENT`].
pub const DEBUG_FRAGMENT: &str = include_str!("../config/debug.fragment");

/// Options the debug flavour must have on top of [`config::REQUIRED`].
pub const DEBUG_REQUIRED: &str = include_str!("../config/debug-required.txt");

/// Which kernel configuration to build.
///
/// ```
/// use ktstr_kernel::Flavor;
///
/// let debug: Flavor = "debug".parse().unwrap();
/// assert!(debug.fragment().contains("CONFIG_PROVE_LOCKING=y"));
/// assert!(!Flavor::Default.fragment().contains("CONFIG_PROVE_LOCKING=y"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    /// The lean kernel: sched_ext plus what production schedulers need.
    #[default]
    Default,
    /// The default kernel plus lockdep (`PROVE_LOCKING`) and
    /// `DEBUG_ATOMIC_SLEEP`, for catching locking bugs a scheduler provokes.
    Debug,
}

impl Flavor {
    /// Every flavour, in the order `ktstr kernel list` shows them.
    pub const ALL: [Flavor; 2] = [Flavor::Default, Flavor::Debug];

    /// The flavour's name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Default => "default",
            Flavor::Debug => "debug",
        }
    }

    /// The whole kconfig fragment merged on top of `tinyconfig`; part of the
    /// cache key.
    pub fn fragment(self) -> String {
        match self {
            Flavor::Default => config::FRAGMENT.to_owned(),
            Flavor::Debug => format!("{}\n{DEBUG_FRAGMENT}", config::FRAGMENT),
        }
    }

    /// Every requirement the flavour's final `.config` must meet.
    pub(crate) fn requirements(self) -> Vec<Requirement> {
        let mut reqs = config::parse_requirements(config::REQUIRED);
        if self == Flavor::Debug {
            reqs.extend(config::parse_requirements(DEBUG_REQUIRED));
        }
        reqs
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A flavour name that is not one of [`Flavor::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kernel flavour `{0}`\nhint: the flavours are `default` and `debug`")]
pub struct UnknownFlavor(pub String);

impl FromStr for Flavor {
    type Err = UnknownFlavor;

    fn from_str(s: &str) -> Result<Flavor, UnknownFlavor> {
        Flavor::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFlavor(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_fragment_extends_the_default_one() {
        let debug = Flavor::Debug.fragment();
        assert!(debug.starts_with(config::FRAGMENT));
        assert!(debug.contains("CONFIG_DEBUG_ATOMIC_SLEEP=y"));
    }

    #[test]
    fn debug_requirements_add_lockdep() {
        let default = Flavor::Default.requirements();
        let debug = Flavor::Debug.requirements();
        let lockdep = Requirement::Equals("CONFIG_PROVE_LOCKING".into(), "y".into());
        assert!(!default.contains(&lockdep));
        assert!(debug.contains(&lockdep));
        assert!(debug.len() > default.len());
    }

    #[test]
    fn every_debug_requirement_is_asked_for_or_implied() {
        let fragment = config::parse_config(DEBUG_FRAGMENT);
        for req in config::parse_requirements(DEBUG_REQUIRED) {
            if let Requirement::Equals(name, value) = req {
                // LOCKDEP is selected by PROVE_LOCKING.
                if name != "CONFIG_LOCKDEP" {
                    assert_eq!(fragment.get(&name), Some(&value), "{name}");
                }
            }
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for f in Flavor::ALL {
            assert_eq!(f.name().parse::<Flavor>().unwrap(), f);
        }
        let err = "lockdep".parse::<Flavor>().unwrap_err();
        assert!(err.to_string().contains("`lockdep`"), "{err}");
    }
}
