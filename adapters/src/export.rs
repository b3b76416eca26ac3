//! Exporting an [`Adapter`] from a plugin: the [`export_adapter!`](crate::export_adapter) macro
//! and the helpers its expansion calls.

use std::panic::{catch_unwind, AssertUnwindSafe};

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RResult, RStr, RString};

use crate::adapter::Adapter;
use crate::ffi::{
    AdapterMod, AdapterModRef, FfiAdapterFailure, FfiAdapterInput, FfiAdapterOutput, ABI_VERSION,
};
use crate::types::AdapterInput;

/// Exports an adapter from a `cdylib` crate as a ktstr adapter plugin.
///
/// Takes an expression that builds the adapter (it runs once, when the host loads the plugin).
/// Invoke it once, at the crate root. The plugin needs no dependency besides `ktstr-adapters`.
///
/// ```
/// use ktstr_adapters::{Adapter, AdapterInfo, AdapterInput, AdapterOutput};
///
/// struct Nothing;
///
/// impl Adapter for Nothing {
///     fn info(&self) -> AdapterInfo {
///         AdapterInfo { name: "Nothing".into(), version: "0.1.0".into(), description: "no metrics".into() }
///     }
///     fn extract(&self, _: &AdapterInput) -> AdapterOutput {
///         AdapterOutput::default()
///     }
/// }
///
/// ktstr_adapters::export_adapter!(Nothing);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_adapter {
    ($adapter:expr) => {
        static __KTSTR_ADAPTER: ::std::sync::OnceLock<::std::boxed::Box<dyn $crate::Adapter>> =
            ::std::sync::OnceLock::new();

        fn __ktstr_adapter() -> &'static dyn $crate::Adapter {
            __KTSTR_ADAPTER
                .get_or_init(|| ::std::boxed::Box::new($adapter))
                .as_ref()
        }

        extern "C" fn __ktstr_adapter_extract(
            input: &$crate::ffi::FfiAdapterInput<'_>,
        ) -> $crate::__private::RResult<$crate::ffi::FfiAdapterOutput, $crate::__private::RString> {
            $crate::__private::extract_guarded(__ktstr_adapter(), input)
        }

        extern "C" fn __ktstr_adapter_try_extract(
            input: &$crate::ffi::FfiAdapterInput<'_>,
        ) -> $crate::__private::RResult<
            $crate::ffi::FfiAdapterOutput,
            $crate::ffi::FfiAdapterFailure,
        > {
            $crate::__private::try_extract_guarded(__ktstr_adapter(), input)
        }

        fn __ktstr_adapter_root() -> $crate::ffi::AdapterModRef {
            $crate::__private::root_module(
                __ktstr_adapter(),
                __ktstr_adapter_extract,
                __ktstr_adapter_try_extract,
            )
        }

        /// The abi_stable library header the host looks up by this exact symbol name.
        #[unsafe(no_mangle)]
        pub static _1as_0lib_1header_0root_bmodule_bloader: $crate::__private::LibHeader = {
            extern "C" fn erased() -> $crate::__private::RootModuleResult {
                $crate::__private::call_root_module_loader(__ktstr_adapter_root)
            }
            // SAFETY: `erased` returns the `AdapterModRef` built by `__ktstr_adapter_root`,
            // erased by abi_stable's own loader helper, which is what `from_constructor`
            // requires for the module type `AdapterModRef`.
            unsafe {
                $crate::__private::LibHeader::from_constructor::<$crate::ffi::AdapterModRef>(
                    erased,
                    $crate::__private::CheckTypeLayout::Yes,
                )
            }
        };
    };
}

// The symbol above must be the one abi_stable looks for; fail the build if it ever changes.
const _: () = assert!(const_str_eq(
    "_1as_0lib_1header_0root_bmodule_bloader",
    abi_stable::library::ROOT_MODULE_LOADER_NAME
));

const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Runs the adapter on FFI input, turning a panic into an error message for the host.
pub fn extract_guarded(
    adapter: &dyn Adapter,
    input: &FfiAdapterInput<'_>,
) -> RResult<FfiAdapterOutput, RString> {
    let run = || FfiAdapterOutput::from(adapter.extract(&AdapterInput::from(input)));
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(out) => RResult::ROk(out),
        Err(payload) => RResult::RErr(panic_message(payload.as_ref()).into()),
    }
}

/// Runs the adapter's `try_extract` on FFI input; a panic becomes
/// [`FfiAdapterFailure::Panicked`].
pub fn try_extract_guarded(
    adapter: &dyn Adapter,
    input: &FfiAdapterInput<'_>,
) -> RResult<FfiAdapterOutput, FfiAdapterFailure> {
    let run = || adapter.try_extract(&AdapterInput::from(input));
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(out)) => RResult::ROk(out.into()),
        Ok(Err(failure)) => RResult::RErr(failure.into()),
        Err(payload) => RResult::RErr(FfiAdapterFailure::Panicked(
            panic_message(payload.as_ref()).into(),
        )),
    }
}

/// Builds the root module for an adapter and its exported functions.
pub fn root_module(
    adapter: &dyn Adapter,
    extract: extern "C" fn(&FfiAdapterInput<'_>) -> RResult<FfiAdapterOutput, RString>,
    try_extract: extern "C" fn(
        &FfiAdapterInput<'_>,
    ) -> RResult<FfiAdapterOutput, FfiAdapterFailure>,
) -> AdapterModRef {
    // Leaked once per plugin load: the host keeps plugins loaded for the whole process.
    let leak = |s: String| RStr::from_str(Box::leak(s.into_boxed_str()));
    let info = adapter.info();
    let module = AdapterMod {
        abi_version: ABI_VERSION,
        name: leak(info.name),
        version: leak(info.version),
        description: leak(info.description),
        extract,
        try_extract,
    };
    module.leak_into_prefix()
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{AdapterFailure, AdapterInfo, AdapterOutput};
    use abi_stable::std_types::{ROption, RSlice};

    struct Panicky;
    impl Adapter for Panicky {
        fn info(&self) -> AdapterInfo {
            AdapterInfo {
                name: "Panicky".into(),
                version: "0".into(),
                description: String::new(),
            }
        }
        fn extract(&self, _: &AdapterInput) -> AdapterOutput {
            panic!("boom")
        }
    }

    fn empty_input() -> FfiAdapterInput<'static> {
        FfiAdapterInput {
            stdout: RStr::from(""),
            stderr: RStr::from(""),
            exit_code: ROption::RNone,
            hints: RSlice::from_slice(&[]),
        }
    }

    #[test]
    fn panics_become_errors() {
        let result = extract_guarded(&Panicky, &empty_input());
        assert_eq!(result.into_result().unwrap_err().as_str(), "boom");
        let result = try_extract_guarded(&Panicky, &empty_input());
        assert_eq!(
            result.into_result().unwrap_err(),
            FfiAdapterFailure::Panicked("boom".into())
        );
    }

    struct Unavailable;
    impl Adapter for Unavailable {
        fn info(&self) -> AdapterInfo {
            Panicky.info()
        }
        fn extract(&self, _: &AdapterInput) -> AdapterOutput {
            AdapterOutput::default()
        }
        fn try_extract(&self, _: &AdapterInput) -> Result<AdapterOutput, AdapterFailure> {
            Err(AdapterFailure::Unavailable("no model".into()))
        }
    }

    #[test]
    fn typed_failures_cross_the_boundary() {
        let result = try_extract_guarded(&Unavailable, &empty_input());
        assert_eq!(
            result.into_result().unwrap_err(),
            FfiAdapterFailure::Unavailable("no model".into())
        );
    }

    #[test]
    fn default_try_extract_is_extract() {
        let out = try_extract_guarded(&Unavailable, &empty_input());
        assert!(out.is_err());
        struct Plain;
        impl Adapter for Plain {
            fn info(&self) -> AdapterInfo {
                Panicky.info()
            }
            fn extract(&self, _: &AdapterInput) -> AdapterOutput {
                AdapterOutput {
                    metrics: vec![],
                    details: vec!["plain".into()],
                }
            }
        }
        let out = try_extract_guarded(&Plain, &empty_input()).unwrap();
        assert_eq!(out.details[0].as_str(), "plain");
    }
}
