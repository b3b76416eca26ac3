//! A deliberately incompatible adapter plugin, for the loader's tests.
//!
//! It exports an abi_stable root module under the same name as a real ktstr adapter plugin,
//! but built from its own copy of the interface with a different layout (`extract` takes a
//! plain string, and a field is missing), as a plugin built against another `ktstr-adapters`
//! would. With the feature `newer-major`, it also claims to be built against
//! `ktstr-adapters` 1.0, which the host refuses on the version alone.
#![deny(missing_docs)]

use abi_stable::library::RootModule;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RStr, RString};
use abi_stable::{declare_root_module_statics, export_root_module, StableAbi};

/// The module, laid out differently from the real `AdapterMod`.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = AdapterModRef)))]
pub struct AdapterMod {
    /// An ABI version, as in the real module.
    pub abi_version: u32,
    /// The name.
    pub name: RStr<'static>,
    /// Takes the output as one string: not what the host passes.
    #[sabi(last_prefix_field)]
    pub extract: extern "C" fn(RStr<'_>) -> RString,
}

impl RootModule for AdapterModRef {
    declare_root_module_statics! {AdapterModRef}
    const BASE_NAME: &'static str = "ktstr_adapter";
    const NAME: &'static str = "ktstr adapter";
    #[cfg(not(feature = "newer-major"))]
    const VERSION_STRINGS: VersionStrings = abi_stable::package_version_strings!();
    #[cfg(feature = "newer-major")]
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
}

extern "C" fn extract(text: RStr<'_>) -> RString {
    RString::from(text.as_str())
}

/// Exports the module (private: the exported symbol does not depend on it).
#[export_root_module]
fn root() -> AdapterModRef {
    AdapterMod {
        abi_version: 1,
        name: RStr::from_str("Incompatible"),
        extract,
    }
    .leak_into_prefix()
}
