//! The x86 instruction-set extensions llama.cpp was built to use, checked
//! against the running CPU before the model loads: a missing one would
//! otherwise kill the process with SIGILL inside llama.cpp.
//!
//! llama-cpp-sys-2 builds llama.cpp with `GGML_NATIVE=OFF`, and ggml's CMake
//! then turns SSE4.2, AVX, AVX2, FMA, F16C and BMI2 on by default (whatever the
//! Rust target's features); `GGML_*` variables in the environment override
//! that, and the workspace's `.cargo/config.toml` pins them on. The same
//! variables, read here at compile time, say which extensions the build
//! assumes; an unset one counts as on, ggml's default.

use crate::ModelLoadError;

/// Each extension: its name in `is_x86_feature_detected!`, the ggml option
/// that enables it, and that option's value when this crate was compiled.
const BUILT_FOR: [(&str, &str, Option<&str>); 6] = [
    ("sse4.2", "GGML_SSE42", option_env!("GGML_SSE42")),
    ("avx", "GGML_AVX", option_env!("GGML_AVX")),
    ("avx2", "GGML_AVX2", option_env!("GGML_AVX2")),
    ("fma", "GGML_FMA", option_env!("GGML_FMA")),
    ("f16c", "GGML_F16C", option_env!("GGML_F16C")),
    ("bmi2", "GGML_BMI2", option_env!("GGML_BMI2")),
];

/// Fails when llama.cpp was built for an extension this CPU lacks.
///
/// # Errors
///
/// [`ModelLoadError::UnsupportedCpu`] naming the missing extensions and the build
/// options that leave them out.
pub(crate) fn check() -> Result<(), ModelLoadError> {
    check_with(&BUILT_FOR, detected)
}

/// [`check`] over `built_for`, with the CPU asked through `has` (testable).
fn check_with(
    built_for: &[(&str, &str, Option<&str>)],
    has: impl Fn(&str) -> bool,
) -> Result<(), ModelLoadError> {
    let missing: Vec<(&str, &str)> = built_for
        .iter()
        .filter(|(_, _, value)| value.is_none_or(cmake_on))
        .filter(|(feature, _, _)| !has(feature))
        .map(|&(feature, option, _)| (feature, option))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|m| m.0).collect();
    let fix: Vec<String> = missing.iter().map(|m| format!("{}=OFF", m.1)).collect();
    Err(ModelLoadError::UnsupportedCpu {
        missing: names.join(", "),
        fix: fix.join(" "),
    })
}

/// Whether a CMake boolean is true.
fn cmake_on(value: &str) -> bool {
    matches!(
        value.to_ascii_uppercase().as_str(),
        "ON" | "1" | "TRUE" | "YES" | "Y"
    )
}

#[cfg(target_arch = "x86_64")]
fn detected(feature: &str) -> bool {
    match feature {
        "sse4.2" => std::arch::is_x86_feature_detected!("sse4.2"),
        "avx" => std::arch::is_x86_feature_detected!("avx"),
        "avx2" => std::arch::is_x86_feature_detected!("avx2"),
        "fma" => std::arch::is_x86_feature_detected!("fma"),
        "f16c" => std::arch::is_x86_feature_detected!("f16c"),
        "bmi2" => std::arch::is_x86_feature_detected!("bmi2"),
        _ => false,
    }
}

/// The `GGML_*` x86 options have no effect on other architectures.
#[cfg(not(target_arch = "x86_64"))]
fn detected(_: &str) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILT: [(&str, &str, Option<&str>); 3] = [
        ("avx2", "GGML_AVX2", Some("ON")),
        ("fma", "GGML_FMA", Some("on")),
        ("bmi2", "GGML_BMI2", Some("OFF")),
    ];

    #[test]
    fn a_cpu_with_every_built_extension_passes() {
        assert_eq!(check_with(&BUILT, |_| true), Ok(()));
        // An option that is off asks nothing of the CPU.
        assert_eq!(check_with(&BUILT, |f| f != "bmi2"), Ok(()));
    }

    #[test]
    fn an_unset_option_is_ggml_s_default_on() {
        let err = check_with(&[("avx2", "GGML_AVX2", None)], |_| false).unwrap_err();
        assert_eq!(
            err.to_string().lines().next(),
            Some("llama.cpp was built for CPU extensions this CPU lacks: avx2")
        );
    }

    #[test]
    fn missing_extensions_are_named_with_the_fix() {
        let err = check_with(&BUILT, |f| f == "bmi2").unwrap_err();
        assert_eq!(
            err,
            ModelLoadError::UnsupportedCpu {
                missing: "avx2, fma".into(),
                fix: "GGML_AVX2=OFF GGML_FMA=OFF".into()
            }
        );
        let message = err.to_string();
        assert!(
            message
                .starts_with("llama.cpp was built for CPU extensions this CPU lacks: avx2, fma\n"),
            "{message}"
        );
        assert!(message.contains("GGML_AVX2=OFF GGML_FMA=OFF"), "{message}");
    }

    #[test]
    fn this_build_runs_on_this_cpu() {
        // The machine that builds the tests runs them: the guard must pass here.
        assert_eq!(check(), Ok(()));
    }
}
