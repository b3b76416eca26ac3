//! The trait every adapter implements, built in or plugin.

use crate::types::{AdapterFailure, AdapterInfo, AdapterInput, AdapterOutput};

/// Turns a payload's captured output into metrics.
///
/// A plugin implements this on a plain Rust type and exports it with
/// [`export_adapter!`](crate::export_adapter); the host sees built-in adapters and loaded
/// plugins through the same trait.
///
/// `extract` does not fail: an output with nothing to extract gives no metrics and a detail
/// saying why. A panic inside a plugin is caught at the plugin boundary and reported as an
/// [`AdapterRunError`](crate::AdapterRunError) by [`AdapterRegistry::extract`](crate::AdapterRegistry::extract).
pub trait Adapter: Send + Sync {
    /// Name, version and description.
    fn info(&self) -> AdapterInfo;

    /// Extracts metrics from one payload run.
    fn extract(&self, input: &AdapterInput) -> AdapterOutput;

    /// [`extract`](Adapter::extract), with the failures a host must tell apart from an output
    /// without metrics returned as such instead of as details. The default never fails.
    ///
    /// # Errors
    ///
    /// [`AdapterFailure::Unavailable`] when the adapter cannot run at all (e.g. its model does
    /// not load), [`AdapterFailure::Failed`] when it could read none of the streams.
    fn try_extract(&self, input: &AdapterInput) -> Result<AdapterOutput, AdapterFailure> {
        Ok(self.extract(input))
    }
}
