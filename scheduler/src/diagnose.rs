//! Reading a failed scheduler build's output for what is missing.

/// What a failed build's output says is missing, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Diagnosis {
    /// The missing tool or library, e.g. `clang` or `libelf`.
    pub missing: Option<String>,
    /// The fix, e.g. `apt-get install libelf-dev`.
    pub hint: Option<String>,
}

/// (needle in the output, what is missing, fix). First match wins, so more
/// specific needles come first.
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "clang: not found",
        "clang",
        "apt-get install clang-19 (ktstr links `clang` to `clang-19` itself)",
    ),
    (
        "\"clang\": No such file",
        "clang",
        "apt-get install clang-19 (ktstr links `clang` to `clang-19` itself)",
    ),
    (
        "failed to execute clang",
        "clang",
        "apt-get install clang-19",
    ),
    ("`clang` not found", "clang", "apt-get install clang-19"),
    (
        "libelf.h: No such file",
        "libelf",
        "apt-get install libelf-dev",
    ),
    ("library 'libelf'", "libelf", "apt-get install libelf-dev"),
    ("cannot find -lelf", "libelf", "apt-get install libelf-dev"),
    ("zlib.h: No such file", "zlib", "apt-get install zlib1g-dev"),
    ("cannot find -lz", "zlib", "apt-get install zlib1g-dev"),
    (
        "cannot find -lzstd",
        "libzstd",
        "apt-get install libzstd-dev",
    ),
    (
        "Unable to find libclang",
        "libclang",
        "apt-get install libclang-dev",
    ),
    ("libclang.so", "libclang", "apt-get install libclang-dev"),
    (
        "`pkg-config` command could not be found",
        "pkg-config",
        "apt-get install pkg-config",
    ),
    (
        "pkg-config: not found",
        "pkg-config",
        "apt-get install pkg-config",
    ),
    (
        "linker `cc` not found",
        "a C compiler",
        "apt-get install build-essential",
    ),
    (
        "failed to find tool. Is `cc` installed",
        "a C compiler",
        "apt-get install build-essential",
    ),
    ("make: not found", "make", "apt-get install build-essential"),
    (
        "could not find `",
        "the crate on crates.io",
        "check the name and version: https://crates.io/search?q=scx_",
    ),
    (
        "failed to select a version",
        "that version on crates.io",
        "check the version: `cargo search NAME` lists the newest",
    ),
    (
        "Couldn't resolve host",
        "network access to crates.io",
        "check the network or a registry mirror in ~/.cargo/config.toml",
    ),
    (
        "failed to get `",
        "network access to crates.io",
        "check the network or a registry mirror in ~/.cargo/config.toml",
    ),
    (
        "No space left on device",
        "disk space",
        "free space in the cache (`ktstr kernel clean` removes kernel build trees)",
    ),
];

/// Looks through `output` for a known cause.
pub(crate) fn diagnose(output: &str) -> Diagnosis {
    KNOWN
        .iter()
        .find(|(needle, _, _)| output.contains(needle))
        .map(|(_, missing, hint)| Diagnosis {
            missing: Some((*missing).to_owned()),
            hint: Some((*hint).to_owned()),
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_failures_name_what_is_missing() {
        let cases = [
            ("sh: 1: clang: not found\nerror: failed to run custom build command for `scx_utils`", "clang"),
            ("/usr/include/gelf.h:32:10: fatal error: libelf.h: No such file or directory", "libelf"),
            ("  = note: /usr/bin/ld: cannot find -lz: No such file or directory", "zlib"),
            ("error: could not find `scx_nope` in registry `crates-io` with version `*`", "the crate on crates.io"),
            ("error: linker `cc` not found", "a C compiler"),
        ];
        for (text, want) in cases {
            assert_eq!(diagnose(text).missing.as_deref(), Some(want), "{text}");
            assert!(diagnose(text).hint.is_some());
        }
        assert_eq!(
            diagnose("error[E0308]: mismatched types"),
            Diagnosis::default()
        );
    }
}
