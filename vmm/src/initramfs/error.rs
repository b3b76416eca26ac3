//! The one error type of the initramfs builder and cpio reader.

use std::io;
use std::path::{Path, PathBuf};

/// Why an initramfs could not be built, cached or parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitramfsError {
    /// A binary passed to [`binary`](super::InitramfsBuilder::binary) or
    /// [`init_binary`](super::InitramfsBuilder::init_binary) could not be read.
    #[error("cannot read binary `{}`\nhint: check that it exists on the host and is readable", path.display())]
    MissingBinary {
        /// Host path as given.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// A binary, its interpreter or a library candidate is not a parsable ELF file.
    #[error("`{}` is not an ELF binary: {reason}", path.display())]
    NotElf {
        /// Host path of the file.
        path: PathBuf,
        /// What the ELF parser rejected.
        reason: String,
    },

    /// A `DT_NEEDED` entry matched no file in any directory the dynamic loader would search.
    #[error(
        "cannot find library `{library}` needed by `{}`; searched: {}\nhint: install the library on the host",
        needed_by.display(),
        display_dirs(searched)
    )]
    LibraryNotFound {
        /// The `DT_NEEDED` name, e.g. `libc.so.6`.
        library: String,
        /// Host path of the object that needs it.
        needed_by: PathBuf,
        /// Host directories searched, in order.
        searched: Vec<PathBuf>,
    },

    /// A guest path is not absolute, contains `..` or a NUL byte, or is otherwise unusable.
    #[error("invalid guest path `{path}`: {reason}")]
    InvalidGuestPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A mode has bits outside the permission bits `0o7777`.
    #[error("invalid mode `{mode:#o}` for `{path}`: only permission bits (`0o7777`) are allowed")]
    InvalidMode {
        /// Guest path the mode was given for.
        path: String,
        /// The mode as given.
        mode: u32,
    },

    /// Two different entries would land at the same guest path, or a path is used both as a
    /// directory and as a file or symlink.
    #[error("conflicting entries for guest path `{path}`\nhint: each guest path can hold one file, directory or symlink")]
    Conflict {
        /// The contested guest path.
        path: String,
    },

    /// A file is larger than the 4 GiB a newc header can describe.
    #[error("`{path}` is too large for a newc cpio archive (4 GiB limit)")]
    TooLarge {
        /// Name of the oversized entry.
        path: String,
    },

    /// A host file (library, interpreter or [`file_from_host`](super::InitramfsBuilder::file_from_host)
    /// source) could not be read, or the cache could not be written.
    #[error("cannot access `{}`", path.display())]
    Io {
        /// The host path involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// [`parse_newc`](super::parse_newc) was given bytes that are not a well-formed newc archive.
    #[error("malformed cpio archive at byte {offset}: {reason}")]
    MalformedCpio {
        /// Byte offset of the entry where parsing failed.
        offset: usize,
        /// What was wrong there.
        reason: &'static str,
    },
}

impl InitramfsError {
    /// Wraps an I/O error on `path`.
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

fn display_dirs(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "(no directories)".to_owned();
    }
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
