//! Declarations of the scx project's production schedulers that ship with
//! ktstr, so `-s scx_bpfland --profiles` knows the flags without a file.

use std::path::Path;

use crate::SchedulerDecl;

/// (name, TOML text) of every built-in declaration.
const KNOWN: &[(&str, &str)] = &[
    ("scx_bpfland", include_str!("../decls/scx_bpfland.toml")),
    ("scx_lavd", include_str!("../decls/scx_lavd.toml")),
    ("scx_rusty", include_str!("../decls/scx_rusty.toml")),
];

/// The built-in declaration of `name` (`scx_bpfland`, `scx_lavd`,
/// `scx_rusty`), if ktstr ships one.
///
/// ```
/// let d = ktstr_scheduler::known("scx_bpfland").unwrap();
/// assert!(d.profiles(4).len() == 4);
/// assert!(ktstr_scheduler::known("scx_nosuch").is_none());
/// ```
pub fn known(name: &str) -> Option<SchedulerDecl> {
    KNOWN.iter().find(|(n, _)| *n == name).map(|(n, text)| {
        SchedulerDecl::from_toml(text, Path::new(n)).expect("built-in declarations are valid")
    })
}

/// The names of the built-in declarations.
pub fn known_names() -> Vec<&'static str> {
    KNOWN.iter().map(|(n, _)| *n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_declaration_parses_and_names_itself() {
        for name in known_names() {
            let d = known(name).unwrap();
            assert_eq!(d.name(), name);
            assert!(!d.flags().is_empty(), "{name}");
            let profiles = d.profiles(64);
            assert_eq!(profiles[0].name(), "default");
            assert!(
                profiles.len() > d.flags().len(),
                "{name}: {}",
                profiles.len()
            );
        }
    }
}
