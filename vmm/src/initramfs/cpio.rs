//! The newc ("070701") cpio format: the encoder behind `build` and a reader for inspecting
//! archives.
//!
//! This is the format the kernel unpacks into rootfs (its `buffer-format.rst`): a 110-byte
//! ASCII header of a magic and 13 eight-digit hex fields, the NUL-terminated name, padding to
//! a 4-byte boundary, the data, padding again, and a last entry named `TRAILER!!!`.

use super::InitramfsError;

const MAGIC: &[u8; 6] = b"070701";
/// The "crc" variant differs only in the check field, which readers may ignore.
const MAGIC_CRC: &[u8; 6] = b"070702";
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// File-type mask of `st_mode`; cpio stores the whole mode, type bits included.
pub(crate) const S_IFMT: u32 = 0o170_000;
/// Directory type bits.
pub(crate) const S_IFDIR: u32 = 0o040_000;
/// Regular-file type bits.
pub(crate) const S_IFREG: u32 = 0o100_000;
/// Symbolic-link type bits.
pub(crate) const S_IFLNK: u32 = 0o120_000;

/// One member of a newc cpio archive, as stored.
///
/// The checksum field is not kept: newc archives carry zero there and the kernel ignores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpioEntry {
    /// Path inside the archive. Archives from [`InitramfsBuilder`](super::InitramfsBuilder)
    /// have no leading `/` (`init`, `lib64/ld-linux-x86-64.so.2`).
    pub name: String,
    /// Inode number; only used to detect hard links (regular files with `nlink` >= 2).
    pub ino: u32,
    /// Full `st_mode`: file-type bits and permission bits.
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Link count.
    pub nlink: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// Major number of the device holding the file.
    pub devmajor: u32,
    /// Minor number of the device holding the file.
    pub devminor: u32,
    /// Major number for device nodes.
    pub rdevmajor: u32,
    /// Minor number for device nodes.
    pub rdevminor: u32,
    /// File contents; for a symlink, the link target.
    pub data: Vec<u8>,
}

impl CpioEntry {
    /// Whether this entry is a directory.
    #[must_use]
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    /// Whether this entry is a regular file.
    #[must_use]
    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }

    /// Whether this entry is a symbolic link (its target is in `data`).
    #[must_use]
    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }

    /// Permission bits of `mode` (`0o7777` mask), without the file type.
    #[must_use]
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// Encodes `entries` in order, followed by the trailer.
///
/// Callers guarantee names contain no NUL byte; the only failure is a size that does not fit
/// the format's 32-bit fields.
pub(crate) fn encode(entries: &[CpioEntry]) -> Result<Vec<u8>, InitramfsError> {
    let total: usize = entries
        .iter()
        .map(|e| HEADER_LEN + e.name.len() + e.data.len() + 8)
        .sum();
    let mut out = Vec::with_capacity(total + HEADER_LEN + 16);
    for entry in entries {
        push_entry(&mut out, entry)?;
    }
    let trailer = CpioEntry {
        name: TRAILER.to_owned(),
        ino: 0,
        mode: 0,
        uid: 0,
        gid: 0,
        nlink: 1,
        mtime: 0,
        devmajor: 0,
        devminor: 0,
        rdevmajor: 0,
        rdevminor: 0,
        data: Vec::new(),
    };
    push_entry(&mut out, &trailer)?;
    Ok(out)
}

fn push_entry(out: &mut Vec<u8>, e: &CpioEntry) -> Result<(), InitramfsError> {
    let too_large = || InitramfsError::TooLarge {
        path: e.name.clone(),
    };
    let filesize = u32::try_from(e.data.len()).map_err(|_| too_large())?;
    // namesize counts the terminating NUL.
    let namesize = u32::try_from(e.name.len() + 1).map_err(|_| too_large())?;
    out.extend_from_slice(MAGIC);
    let fields = [
        e.ino,
        e.mode,
        e.uid,
        e.gid,
        e.nlink,
        e.mtime,
        filesize,
        e.devmajor,
        e.devminor,
        e.rdevmajor,
        e.rdevminor,
        namesize,
        0, // check: always zero for newc
    ];
    for field in fields {
        push_hex(out, field);
    }
    out.extend_from_slice(e.name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(&e.data);
    pad4(out);
    Ok(())
}

/// Eight uppercase hex digits, as the kernel's own `gen_init_cpio` writes them.
fn push_hex(out: &mut Vec<u8>, value: u32) {
    for shift in (0..8).rev() {
        out.push(b"0123456789ABCDEF"[(value >> (shift * 4)) as usize & 0xf]);
    }
}

/// Alignment is relative to the start of the archive, which is `out`'s start.
fn pad4(out: &mut Vec<u8>) {
    out.resize(out.len().next_multiple_of(4), 0);
}

/// Parses a newc cpio archive into its entries, stopping at the `TRAILER!!!` entry (which is
/// not returned). Bytes after the trailer, such as block padding, are ignored.
///
/// Both the `070701` and `070702` magics are accepted; the checksum is not verified.
///
/// # Errors
///
/// [`InitramfsError::MalformedCpio`] with the offset of the offending entry when the input is
/// truncated, has a bad magic or a non-hex field, a name that is not NUL-terminated UTF-8, or
/// ends without a trailer. Never panics, whatever the input.
pub fn parse_newc(archive: &[u8]) -> Result<Vec<CpioEntry>, InitramfsError> {
    let mut entries = Vec::new();
    let mut pos = 0usize;
    loop {
        let bad = |reason| InitramfsError::MalformedCpio {
            offset: pos,
            reason,
        };
        if pos == archive.len() {
            return Err(bad("archive ends without a `TRAILER!!!` entry"));
        }
        let header = archive
            .get(pos..pos.saturating_add(HEADER_LEN))
            .ok_or(bad("truncated header"))?;
        if &header[..6] != MAGIC && &header[..6] != MAGIC_CRC {
            return Err(bad("bad magic (expected `070701` or `070702`)"));
        }
        let mut fields = [0u32; 13];
        for (i, field) in fields.iter_mut().enumerate() {
            let start = 6 + i * 8;
            *field = parse_hex(&header[start..start + 8]).ok_or(bad("non-hex header field"))?;
        }
        let [ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, _check] =
            fields;

        let name_start = pos + HEADER_LEN;
        let name_end = name_start.saturating_add(namesize as usize);
        let name = archive
            .get(name_start..name_end)
            .ok_or(bad("truncated name"))?;
        let Some((&0, name)) = name.split_last() else {
            return Err(bad("name is empty or not NUL-terminated"));
        };
        if name.contains(&0) {
            return Err(bad("name contains a NUL byte"));
        }
        let name = std::str::from_utf8(name).map_err(|_| bad("name is not UTF-8"))?;

        let data_start = name_end.next_multiple_of(4);
        let data_end = data_start.saturating_add(filesize as usize);
        let data = archive
            .get(data_start..data_end)
            .ok_or(bad("truncated data"))?;
        if name == TRAILER {
            return Ok(entries);
        }
        entries.push(CpioEntry {
            name: name.to_owned(),
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            devmajor,
            devminor,
            rdevmajor,
            rdevminor,
            data: data.to_vec(),
        });
        // The final padding may be cut off at the end of a buffer; the next check reports it.
        pos = data_end.next_multiple_of(4).min(archive.len());
    }
}

/// Strict hex: `from_str_radix` would also accept a leading `+`.
fn parse_hex(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &d| {
        let nibble = (d as char).to_digit(16)?;
        Some(acc << 4 | nibble)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(name: &str, data: &[u8]) -> CpioEntry {
        CpioEntry {
            name: name.to_owned(),
            ino: 1,
            mode: S_IFREG | 0o755,
            uid: 0,
            gid: 0,
            nlink: 1,
            mtime: 0,
            devmajor: 0,
            devminor: 0,
            rdevmajor: 0,
            rdevminor: 0,
            data: data.to_vec(),
        }
    }

    #[test]
    fn header_encoding_matches_the_newc_layout() {
        let archive = encode(&[file("init", b"hello")]).unwrap();
        let expected_header = concat!(
            "070701", "00000001", "000081ED", "00000000", "00000000", "00000001", "00000000",
            "00000005", "00000000", "00000000", "00000000", "00000000", "00000005", "00000000",
        );
        assert_eq!(&archive[..HEADER_LEN], expected_header.as_bytes());
        // 110 + "init\0" = 115, padded to 116; then 5 data bytes padded to 124.
        assert_eq!(&archive[110..116], b"init\0\0");
        assert_eq!(&archive[116..124], b"hello\0\0\0");
        assert_eq!(&archive[124..130], b"070701");
        assert!(archive.ends_with(b"TRAILER!!!\0\0\0\0"));
        assert_eq!(archive.len() % 4, 0);
    }

    #[test]
    fn every_name_length_keeps_data_aligned() {
        for len in 1..=9 {
            let entry = file(&"n".repeat(len), b"xyz");
            let archive = encode(std::slice::from_ref(&entry)).unwrap();
            let data_start = (HEADER_LEN + len + 1).next_multiple_of(4);
            assert_eq!(
                &archive[data_start..data_start + 3],
                b"xyz",
                "name length {len}"
            );
            assert_eq!(parse_newc(&archive).unwrap(), vec![entry]);
        }
    }

    #[test]
    fn parse_accepts_lowercase_hex_and_trailing_padding() {
        let mut archive = String::from_utf8(encode(&[file("a", b"")]).unwrap()).unwrap();
        archive = archive.replace("81ED", "81ed");
        let mut bytes = archive.into_bytes();
        bytes.extend_from_slice(&[0; 512]);
        assert_eq!(parse_newc(&bytes).unwrap()[0].mode, S_IFREG | 0o755);
    }

    #[test]
    fn parse_reports_malformed_input() {
        let good = encode(&[file("a", b"data")]).unwrap();
        let reason = |bytes: &[u8]| match parse_newc(bytes) {
            Err(InitramfsError::MalformedCpio { reason, .. }) => reason,
            other => panic!("expected MalformedCpio, got {other:?}"),
        };
        assert!(reason(b"").contains("TRAILER"));
        assert!(reason(&good[..50]).contains("truncated header"));
        assert!(reason(b"123456").contains("truncated header"));
        assert!(reason(&[b'x'; 200]).contains("bad magic"));
        let mut plus = good.clone();
        plus[6] = b'+';
        assert!(reason(&plus).contains("non-hex"));
        // The first entry is 116 bytes: header, "a\0" and four data bytes.
        assert!(reason(&good[..116]).contains("TRAILER"));
        assert!(reason(&good[..114]).contains("truncated data"));
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_newc(&bytes);
        }

        /// Random bytes rarely get past the magic; corrupting a valid archive reaches the
        /// length arithmetic, where a panic would hide.
        #[test]
        fn parse_never_panics_on_corrupted_archives(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = encode(&[file("lib/libc.so.6", b"0123456789"), file("init", b"x")]).unwrap();
            for (index, byte) in edits {
                let i = index.index(bytes.len());
                bytes[i] = byte;
            }
            let _ = parse_newc(&bytes[..cut.index(bytes.len())]);
            let _ = parse_newc(&bytes);
        }
    }
}
