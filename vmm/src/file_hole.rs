//! Giving back the storage of bytes already read from a file that another
//! process keeps appending to: QEMU's COM2 wire file sits in the VM's
//! directory under `/dev/shm`, which is memory, so a guest flooding the
//! serial fallback would otherwise grow host memory for the whole run.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Deallocates `[0, len)` of `file` without changing its size or what
/// later writes at higher offsets see (`FALLOC_FL_PUNCH_HOLE`); reads of the
/// range return zeros from now on.
///
/// # Errors
///
/// The OS error, e.g. `EOPNOTSUPP` on a file system without hole punching.
pub(crate) fn punch_front(file: &File, len: u64) -> io::Result<()> {
    let len = i64::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: fallocate(2) takes a descriptor, which `file` keeps open while
    // borrowed, and integers; no memory is passed.
    let rc = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            0,
            len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn the_front_is_released_and_the_rest_still_reads() {
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let mut f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("wire"))
            .unwrap();
        f.write_all(&vec![7u8; 4 << 20]).unwrap();
        f.sync_all().unwrap();
        let before = f.metadata().unwrap().blocks();
        punch_front(&f, 3 << 20).unwrap();
        let after = f.metadata().unwrap().blocks();
        assert!(after * 2 < before, "blocks {before} -> {after}");
        assert_eq!(f.metadata().unwrap().len(), 4 << 20, "the size is kept");
        f.write_all(b"tail").unwrap();
        f.seek(SeekFrom::Start((4 << 20) - 1)).unwrap();
        let mut rest = Vec::new();
        f.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"\x07tail");
    }
}
