//! The host's mapping of the guest's wire ring: a shared file both QEMU and we map.

use std::fs::File;
use std::os::fd::AsRawFd;

use crate::VmError;

/// A read-write shared mapping of a whole file, unmapped on drop.
pub(crate) struct SharedMap {
    ptr: *mut u8,
    len: usize,
}

impl SharedMap {
    /// Maps `len` bytes of `file` shared, so stores by the guest are visible here
    /// and our `read_pos` updates are visible to the guest.
    pub(crate) fn new(file: &File, len: usize) -> Result<Self, VmError> {
        // SAFETY: a fresh mapping at an address the kernel chooses; it aliases no
        // Rust object. The file stays valid for the mapping's life (a mapping keeps
        // its own reference to the file).
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(VmError::Io {
                what: "map the wire ring".into(),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(SharedMap {
            ptr: ptr.cast(),
            len,
        })
    }

    /// Start of the mapping. Valid for `len()` bytes until `self` drops.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Length of the mapping.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for SharedMap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` came from a successful mmap and are unmapped once.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}
