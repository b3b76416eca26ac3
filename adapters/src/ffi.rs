//! The binary interface between the host and an adapter plugin.
//!
//! A plugin exports one root module, [`AdapterMod`], through abi_stable. The loader checks the
//! layout of every type reachable from it (names, fields, sizes, the package and its version)
//! before calling anything, so a plugin built against an incompatible `ktstr-adapters` is
//! refused instead of misread. Strings and vectors cross the boundary as `RString`/`RVec`,
//! which carry their own deallocator, so memory allocated by the plugin is freed by the plugin.
//!
//! Most plugins never touch these types: they implement [`Adapter`](crate::Adapter) and call
//! [`export_adapter!`](crate::export_adapter).
//!
//! Growing the interface: new fields go after `extract` in [`AdapterMod`] (prefix types let an
//! older plugin omit them, and the host reads them as `Option`s); a change to an existing type
//! is a new minor version of this crate (0.x) and bumps [`ABI_VERSION`]. `try_extract` was
//! added that way.

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RString, RVec};
use abi_stable::{declare_root_module_statics, package_version_strings, StableAbi};

use crate::types::{
    AdapterFailure, AdapterInfo, AdapterInput, AdapterOutput, Metric, MetricHint, Polarity, Stream,
};

/// Version of the semantics of this interface; a plugin built with another value is refused
/// even when the layouts happen to match.
pub const ABI_VERSION: u32 = 1;

/// `major.minor` of the `ktstr-adapters` crate that plugins must be built against.
pub const INTERFACE_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION_MAJOR"),
    ".",
    env!("CARGO_PKG_VERSION_MINOR")
);

/// The root module a plugin exports.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = AdapterModRef)))]
pub struct AdapterMod {
    /// The [`ABI_VERSION`] the plugin was built with.
    pub abi_version: u32,
    /// The adapter's name, e.g. `Json`.
    pub name: RStr<'static>,
    /// The adapter's own version.
    pub version: RStr<'static>,
    /// One line on what it extracts.
    pub description: RStr<'static>,
    /// Extracts metrics; `RErr` carries the message of a panic caught inside the plugin.
    #[sabi(last_prefix_field)]
    pub extract: extern "C" fn(&FfiAdapterInput<'_>) -> RResult<FfiAdapterOutput, RString>,
    /// [`Adapter::try_extract`](crate::Adapter::try_extract): like `extract`, with typed
    /// failures. Optional: a plugin built before it existed does not have it.
    pub try_extract:
        extern "C" fn(&FfiAdapterInput<'_>) -> RResult<FfiAdapterOutput, FfiAdapterFailure>,
}

impl RootModule for AdapterModRef {
    declare_root_module_statics! {AdapterModRef}
    const BASE_NAME: &'static str = "ktstr_adapter";
    const NAME: &'static str = "ktstr adapter";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// FFI mirror of [`Stream`].
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FfiStream {
    /// [`Stream::Stdout`].
    Stdout,
    /// [`Stream::Stderr`].
    Stderr,
    /// [`Stream::Exit`].
    Exit,
}

/// FFI mirror of [`Polarity`].
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq)]
pub enum FfiPolarity {
    /// [`Polarity::HigherBetter`].
    HigherBetter,
    /// [`Polarity::LowerBetter`].
    LowerBetter,
    /// [`Polarity::Target`].
    Target(f64),
    /// [`Polarity::Unknown`].
    Unknown,
}

/// FFI mirror of [`MetricHint`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiMetricHint {
    /// [`MetricHint::name`].
    pub name: RString,
    /// [`MetricHint::polarity`].
    pub polarity: FfiPolarity,
    /// [`MetricHint::unit`].
    pub unit: ROption<RString>,
}

/// FFI mirror of [`AdapterInput`], borrowing the host's buffers.
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct FfiAdapterInput<'a> {
    /// [`AdapterInput::stdout`].
    pub stdout: RStr<'a>,
    /// [`AdapterInput::stderr`].
    pub stderr: RStr<'a>,
    /// [`AdapterInput::exit_code`].
    pub exit_code: ROption<i32>,
    /// [`AdapterInput::hints`].
    pub hints: RSlice<'a, FfiMetricHint>,
}

/// FFI mirror of [`Metric`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiMetric {
    /// [`Metric::name`].
    pub name: RString,
    /// [`Metric::value`].
    pub value: f64,
    /// [`Metric::unit`].
    pub unit: ROption<RString>,
    /// [`Metric::stream`].
    pub stream: FfiStream,
    /// [`Metric::source`].
    pub source: RString,
}

/// FFI mirror of [`AdapterOutput`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default)]
pub struct FfiAdapterOutput {
    /// [`AdapterOutput::metrics`].
    pub metrics: RVec<FfiMetric>,
    /// [`AdapterOutput::details`].
    pub details: RVec<RString>,
}

/// Why `try_extract` returned no output: [`AdapterFailure`], or a panic caught in the plugin.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub enum FfiAdapterFailure {
    /// The message of a panic caught at the plugin boundary.
    Panicked(RString),
    /// [`AdapterFailure::Unavailable`].
    Unavailable(RString),
    /// [`AdapterFailure::Failed`].
    Failed(RString),
}

impl From<AdapterFailure> for FfiAdapterFailure {
    fn from(f: AdapterFailure) -> Self {
        match f {
            AdapterFailure::Unavailable(r) => FfiAdapterFailure::Unavailable(r.into()),
            AdapterFailure::Failed(r) => FfiAdapterFailure::Failed(r.into()),
        }
    }
}

impl FfiAdapterFailure {
    /// The adapter's failure, or `Err` with the message of a panic.
    ///
    /// # Errors
    ///
    /// The panic message for [`FfiAdapterFailure::Panicked`].
    pub fn into_failure(self) -> Result<AdapterFailure, String> {
        match self {
            FfiAdapterFailure::Panicked(m) => Err(m.into_string()),
            FfiAdapterFailure::Unavailable(r) => Ok(AdapterFailure::Unavailable(r.into_string())),
            FfiAdapterFailure::Failed(r) => Ok(AdapterFailure::Failed(r.into_string())),
        }
    }
}

impl From<Stream> for FfiStream {
    fn from(s: Stream) -> Self {
        match s {
            Stream::Stdout => FfiStream::Stdout,
            Stream::Stderr => FfiStream::Stderr,
            Stream::Exit => FfiStream::Exit,
        }
    }
}

impl From<FfiStream> for Stream {
    fn from(s: FfiStream) -> Self {
        match s {
            FfiStream::Stdout => Stream::Stdout,
            FfiStream::Stderr => Stream::Stderr,
            FfiStream::Exit => Stream::Exit,
        }
    }
}

impl From<Polarity> for FfiPolarity {
    fn from(p: Polarity) -> Self {
        match p {
            Polarity::HigherBetter => FfiPolarity::HigherBetter,
            Polarity::LowerBetter => FfiPolarity::LowerBetter,
            Polarity::Target(t) => FfiPolarity::Target(t),
            Polarity::Unknown => FfiPolarity::Unknown,
        }
    }
}

impl From<FfiPolarity> for Polarity {
    fn from(p: FfiPolarity) -> Self {
        match p {
            FfiPolarity::HigherBetter => Polarity::HigherBetter,
            FfiPolarity::LowerBetter => Polarity::LowerBetter,
            FfiPolarity::Target(t) => Polarity::Target(t),
            FfiPolarity::Unknown => Polarity::Unknown,
        }
    }
}

impl From<&MetricHint> for FfiMetricHint {
    fn from(h: &MetricHint) -> Self {
        FfiMetricHint {
            name: h.name.as_str().into(),
            polarity: h.polarity.into(),
            unit: h.unit.as_deref().map(RString::from).into(),
        }
    }
}

impl From<&FfiMetricHint> for MetricHint {
    fn from(h: &FfiMetricHint) -> Self {
        MetricHint {
            name: h.name.to_string(),
            polarity: h.polarity.into(),
            unit: h.unit.as_ref().map(|u| u.to_string()).into_option(),
        }
    }
}

impl From<Metric> for FfiMetric {
    fn from(m: Metric) -> Self {
        FfiMetric {
            name: m.name.into(),
            value: m.value,
            unit: m.unit.map(RString::from).into(),
            stream: m.stream.into(),
            source: m.source.into(),
        }
    }
}

impl From<FfiMetric> for Metric {
    fn from(m: FfiMetric) -> Self {
        Metric {
            name: m.name.into_string(),
            value: m.value,
            unit: m.unit.map(RString::into_string).into_option(),
            stream: m.stream.into(),
            source: m.source.into_string(),
        }
    }
}

impl From<AdapterOutput> for FfiAdapterOutput {
    fn from(o: AdapterOutput) -> Self {
        FfiAdapterOutput {
            metrics: o.metrics.into_iter().map(FfiMetric::from).collect(),
            details: o.details.into_iter().map(RString::from).collect(),
        }
    }
}

impl From<FfiAdapterOutput> for AdapterOutput {
    fn from(o: FfiAdapterOutput) -> Self {
        AdapterOutput {
            metrics: o.metrics.into_iter().map(Metric::from).collect(),
            details: o.details.into_iter().map(RString::into_string).collect(),
        }
    }
}

impl From<&FfiAdapterInput<'_>> for AdapterInput {
    fn from(i: &FfiAdapterInput<'_>) -> Self {
        AdapterInput {
            stdout: i.stdout.as_str().to_string(),
            stderr: i.stderr.as_str().to_string(),
            exit_code: i.exit_code.into_option(),
            hints: i.hints.iter().map(MetricHint::from).collect(),
        }
    }
}

impl AdapterModRef {
    /// The adapter's metadata as plain Rust values.
    pub fn adapter_info(self) -> AdapterInfo {
        AdapterInfo {
            name: self.name().to_string(),
            version: self.version().to_string(),
            description: self.description().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_round_trips_through_ffi() {
        let out = AdapterOutput {
            metrics: vec![
                Metric::new("a.b", 1.5, Stream::Stderr, "Json").with_unit("ms"),
                Metric::new("exit_code", 3.0, Stream::Exit, "ExitCode"),
            ],
            details: vec!["capped".into()],
        };
        assert_eq!(
            AdapterOutput::from(FfiAdapterOutput::from(out.clone())),
            out
        );
    }

    #[test]
    fn input_converts_from_ffi() {
        let hints: Vec<FfiMetricHint> =
            vec![(&"x:target=2:s".parse::<MetricHint>().unwrap()).into()];
        let ffi = FfiAdapterInput {
            stdout: RStr::from("out"),
            stderr: RStr::from("err"),
            exit_code: ROption::RSome(7),
            hints: RSlice::from_slice(&hints),
        };
        let input = AdapterInput::from(&ffi);
        assert_eq!(
            (
                input.stdout.as_str(),
                input.stderr.as_str(),
                input.exit_code
            ),
            ("out", "err", Some(7))
        );
        assert_eq!(input.hints[0].polarity, Polarity::Target(2.0));
        assert_eq!(input.hints[0].unit.as_deref(), Some("s"));
    }

    #[test]
    fn failures_round_trip_through_ffi() {
        for f in [
            AdapterFailure::Unavailable("no model".into()),
            AdapterFailure::Failed("bad".into()),
        ] {
            assert_eq!(FfiAdapterFailure::from(f.clone()).into_failure(), Ok(f));
        }
        let panicked = FfiAdapterFailure::Panicked("boom".into());
        assert_eq!(panicked.into_failure(), Err("boom".to_string()));
    }

    #[test]
    fn interface_version_is_major_minor() {
        assert_eq!(INTERFACE_VERSION.split('.').count(), 2);
    }
}
