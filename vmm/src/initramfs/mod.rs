//! Builds the initramfs a test VM boots: host binaries with their shared libraries, plus
//! arbitrary files, as an uncompressed newc cpio archive the kernel unpacks into rootfs.
//!
//! The archive is deterministic: the same requests give the same bytes whatever their order,
//! and [`InitramfsBuilder::content_hash`] names that content so it can be cached with
//! [`InitramfsBuilder::write_cached`]. [`parse_newc`] reads archives back for inspection.
//!
//! ```no_run
//! use ktstr_vmm::initramfs::{parse_newc, InitramfsBuilder};
//!
//! let builder = InitramfsBuilder::new()
//!     // `/init`, the loader and every library it needs.
//!     .init_binary("target/release/ktstr-guest")
//!     .binary("/usr/bin/stress-ng", "/bin/stress-ng")
//!     .file("/etc/ktstr/scenario.json", r#"{"seed":1}"#, 0o644)
//!     .dir("/sys")
//!     .symlink("/bin/sh", "/init");
//!
//! let path = builder.write_cached(std::path::Path::new("/var/tmp/ktstr-initramfs"))?;
//! let entries = parse_newc(&std::fs::read(&path).unwrap())?;
//! assert!(entries.iter().any(|e| e.name == "init"));
//! # Ok::<(), ktstr_vmm::initramfs::InitramfsError>(())
//! ```

mod builder;
mod cpio;
mod elf;
mod error;
mod search;
mod tree;

pub use builder::InitramfsBuilder;
pub use cpio::{parse_newc, CpioEntry};
pub use error::InitramfsError;
