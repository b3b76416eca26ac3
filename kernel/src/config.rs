//! The project's kconfig fragment, the options the harness requires, and
//! checks of a kernel `.config` against them.

use std::collections::BTreeMap;

use crate::KernelError;

/// The kconfig fragment applied on top of `make tinyconfig` (x86_64).
///
/// Part of the cache key: changing it (even a comment) builds a new kernel.
pub const FRAGMENT: &str = include_str!("../config/ktstr.fragment");

/// The options that must hold in the final `.config`, one per line:
/// `CONFIG_X=y` must be set to `y`, `!CONFIG_X` must be unset.
///
/// Checked after `make olddefconfig`, which silently drops any fragment
/// option whose dependencies are off.
pub const REQUIRED: &str = include_str!("../config/required.txt");

/// One line of [`REQUIRED`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Requirement {
    /// `CONFIG_X=value` must appear exactly.
    Equals(String, String),
    /// `CONFIG_X` must not be set (absent, or `# CONFIG_X is not set`).
    Unset(String),
}

/// Parses a requirement list in the format of [`REQUIRED`].
pub(crate) fn parse_requirements(text: &str) -> Vec<Requirement> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix('!') {
            Some(name) => Requirement::Unset(name.trim().to_owned()),
            None => match l.split_once('=') {
                Some((name, value)) => Requirement::Equals(name.to_owned(), value.to_owned()),
                // A bare name means "built in", the common case.
                None => Requirement::Equals(l.to_owned(), "y".to_owned()),
            },
        })
        .collect()
}

/// Parses `.config` text into the options that are set (`CONFIG_X=value`).
///
/// `# CONFIG_X is not set` lines are treated like absent options.
pub fn parse_config(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| l.starts_with("CONFIG_"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Lists every requirement of [`REQUIRED`] that `config_text` violates, as
/// `CONFIG_X=y (is not set)` or `CONFIG_X unset (is y)`. Empty means good.
pub fn unmet_requirements(config_text: &str) -> Vec<String> {
    unmet(&parse_requirements(REQUIRED), config_text)
}

fn unmet(requirements: &[Requirement], config_text: &str) -> Vec<String> {
    let config = parse_config(config_text);
    requirements
        .iter()
        .filter_map(|req| match req {
            Requirement::Equals(name, want) => match config.get(name) {
                Some(have) if have == want => None,
                Some(have) => Some(format!("{name}={want} (is {have})")),
                None => Some(format!("{name}={want} (is not set)")),
            },
            Requirement::Unset(name) => config
                .get(name)
                .map(|have| format!("{name} unset (is {have})")),
        })
        .collect()
}

/// Checks `config_text` against [`REQUIRED`].
///
/// # Errors
///
/// [`KernelError::MissingOptions`] listing every unmet requirement.
pub fn check_config(config_text: &str) -> Result<(), KernelError> {
    check_flavor_config(crate::Flavor::Default, config_text)
}

/// Checks `config_text` against every requirement of `flavor` (for
/// [`crate::Flavor::Debug`], lockdep on top of [`REQUIRED`]).
///
/// # Errors
///
/// [`KernelError::MissingOptions`] listing every unmet requirement.
pub fn check_flavor_config(flavor: crate::Flavor, config_text: &str) -> Result<(), KernelError> {
    let missing = unmet(&flavor.requirements(), config_text);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(KernelError::MissingOptions(missing))
    }
}

/// Whether a `.config` enables sched_ext (`CONFIG_SCHED_CLASS_EXT=y`).
pub fn config_has_sched_ext(config_text: &str) -> bool {
    parse_config(config_text)
        .get("CONFIG_SCHED_CLASS_EXT")
        .is_some_and(|v| v == "y")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.config` that satisfies every requirement.
    fn good_config() -> String {
        let mut text = String::from("#\n# Automatically generated file; DO NOT EDIT.\n");
        for req in parse_requirements(REQUIRED) {
            match req {
                Requirement::Equals(name, value) => text += &format!("{name}={value}\n"),
                Requirement::Unset(name) => text += &format!("# {name} is not set\n"),
            }
        }
        text
    }

    #[test]
    fn requirements_parse_set_and_unset() {
        let reqs = parse_requirements("# c\n\nCONFIG_A=y\n!CONFIG_B\nCONFIG_C\nCONFIG_D=128\n");
        assert_eq!(
            reqs,
            vec![
                Requirement::Equals("CONFIG_A".into(), "y".into()),
                Requirement::Unset("CONFIG_B".into()),
                Requirement::Equals("CONFIG_C".into(), "y".into()),
                Requirement::Equals("CONFIG_D".into(), "128".into()),
            ]
        );
    }

    #[test]
    fn embedded_requirements_cover_the_harness_needs() {
        let reqs = parse_requirements(REQUIRED);
        for name in [
            "CONFIG_SCHED_CLASS_EXT",
            "CONFIG_DEBUG_INFO_BTF",
            "CONFIG_BPF_EVENTS",
        ] {
            assert!(
                reqs.contains(&Requirement::Equals(name.into(), "y".into())),
                "{name}"
            );
        }
        assert!(reqs.contains(&Requirement::Unset("CONFIG_STRICT_DEVMEM".into())));
    }

    #[test]
    fn every_required_option_is_asked_for_by_the_fragment() {
        // An option required but not in the fragment only holds by luck of
        // tinyconfig defaults or `select`s. These are selected by options
        // the fragment sets: ACPI_NUMA on x86 with NUMA, PREEMPTION and
        // PREEMPT_RCU by PREEMPT.
        const SELECTED: &[&str] = &[
            "CONFIG_ACPI_NUMA",
            "CONFIG_PREEMPTION",
            "CONFIG_PREEMPT_RCU",
        ];
        let fragment = parse_config(FRAGMENT);
        for req in parse_requirements(REQUIRED) {
            if let Requirement::Equals(name, value) = req {
                if SELECTED.contains(&name.as_str()) {
                    continue;
                }
                assert_eq!(
                    fragment.get(&name),
                    Some(&value),
                    "{name} missing from fragment"
                );
            }
        }
        assert!(FRAGMENT.contains("# CONFIG_STRICT_DEVMEM is not set"));
    }

    #[test]
    fn good_config_passes() {
        assert!(check_config(&good_config()).is_ok());
    }

    #[test]
    fn missing_and_forbidden_options_are_all_listed() {
        let text = good_config()
            .replace("CONFIG_NUMA=y\n", "# CONFIG_NUMA is not set\n")
            .replace("CONFIG_SCHED_CLASS_EXT=y\n", "")
            .replace("CONFIG_BPF_JIT=y\n", "CONFIG_BPF_JIT=m\n")
            .replace(
                "# CONFIG_STRICT_DEVMEM is not set\n",
                "CONFIG_STRICT_DEVMEM=y\n",
            );
        let err = check_config(&text).unwrap_err();
        let KernelError::MissingOptions(missing) = &err else {
            panic!("unexpected error {err:?}");
        };
        assert_eq!(
            missing,
            &vec![
                "CONFIG_SCHED_CLASS_EXT=y (is not set)".to_owned(),
                "CONFIG_BPF_JIT=y (is m)".to_owned(),
                "CONFIG_NUMA=y (is not set)".to_owned(),
                "CONFIG_STRICT_DEVMEM unset (is y)".to_owned(),
            ]
        );
        let message = err.to_string();
        assert!(message.contains("CONFIG_NUMA=y (is not set)"), "{message}");
        assert!(message.contains("hint:"), "{message}");
    }

    #[test]
    fn sched_ext_detection() {
        assert!(config_has_sched_ext("CONFIG_SCHED_CLASS_EXT=y\n"));
        assert!(!config_has_sched_ext(
            "# CONFIG_SCHED_CLASS_EXT is not set\n"
        ));
        assert!(!config_has_sched_ext("CONFIG_SCHED_CLASS_EXT_X=y\n"));
        assert!(!config_has_sched_ext(""));
    }
}
