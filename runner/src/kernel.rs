//! Which kernel a run boots.

use std::path::PathBuf;

use ktstr_kernel::{KernelCache, ResolvedKernel};

use crate::RunError;

/// A kernel to boot, named for reports.
#[derive(Debug, Clone)]
pub struct BootKernel {
    /// Cache id, or `path` for an image outside the cache.
    pub id: String,
    /// The image.
    pub image: PathBuf,
    /// The resolution, for scheduler lookup.
    pub resolved: ResolvedKernel,
}

impl BootKernel {
    /// Resolves a kernel: a cache id prefix, `debug` (the newest debug-flavour
    /// kernel), a path to a bzImage, or `None` for the newest cached kernel.
    ///
    /// # Errors
    ///
    /// [`RunError::Kernel`]: no cache directory, nothing cached, an unknown
    /// id, a path that is not a kernel image.
    pub fn resolve(spec: Option<&str>) -> Result<Self, RunError> {
        let resolved = KernelCache::default_location()?.resolve(spec)?;
        let id = resolved
            .cached()
            .map_or_else(|| "path".to_string(), |k| k.id.clone());
        Ok(BootKernel {
            id,
            image: resolved.bzimage(),
            resolved,
        })
    }
}
