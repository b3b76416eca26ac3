//! The guest's side of the wire: frames into the shared ring, or onto COM2.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ktstr_wire::{encode, Message, RingWriter};

use crate::error::{error_chain, GuestError};
use crate::sys::{self, Mapping};

/// ivshmem's PCI ids (Red Hat, Inter-VM shared memory).
const IVSHMEM_VENDOR: &str = "0x1af4";
const IVSHMEM_DEVICE: &str = "0x1110";
/// The ivshmem BAR that holds the shared memory.
const IVSHMEM_BAR: &str = "resource2";

/// Where frames go.
pub struct WireOut {
    sink: Sink,
    /// Frames that could not be sent (ring full or write error).
    dropped: u64,
}

enum Sink {
    Ring { writer: RingWriter, _map: Mapping },
    Serial(File),
    Nowhere,
}

impl WireOut {
    /// Opens the wire named on the kernel command line: `ktstr.wire=ivshmem`
    /// (the ring on QEMU's ivshmem device) or `ktstr.wire=mem:ADDR,LEN` (the
    /// own VMM's ring: guest-physical memory outside the E820 map, reached
    /// through `/dev/mem`); else, or when that fails, COM2 (`/dev/ttyS1`) in
    /// raw mode, else nothing (the host then sees no result and says so).
    pub fn open(kind: &str) -> (WireOut, Vec<String>) {
        let mut notes = Vec::new();
        let ring = match kind.strip_prefix("mem:") {
            Some(region) => Some(open_mem_ring(region)),
            None if kind == "ivshmem" => Some(open_ring()),
            None => None,
        };
        if let Some(ring) = ring {
            match ring {
                Ok((writer, map)) => {
                    return (
                        WireOut {
                            sink: Sink::Ring { writer, _map: map },
                            dropped: 0,
                        },
                        notes,
                    )
                }
                Err(e) => notes.push(format!(
                    "ring unavailable, using serial: {}",
                    error_chain(&e)
                )),
            }
        }
        match open_serial(Path::new("/dev/ttyS1")) {
            Ok((f, raw)) => {
                if let Err(e) = raw {
                    notes.push(format!(
                        "serial wire not in raw mode, frames may be damaged: {e}"
                    ));
                }
                (
                    WireOut {
                        sink: Sink::Serial(f),
                        dropped: 0,
                    },
                    notes,
                )
            }
            Err(e) => {
                notes.push(format!("serial wire unavailable: {e}"));
                (
                    WireOut {
                        sink: Sink::Nowhere,
                        dropped: 0,
                    },
                    notes,
                )
            }
        }
    }

    /// Sends one message; never blocks on a full ring (the drop is counted).
    pub fn send(&mut self, msg: &Message) -> bool {
        let Ok(frame) = encode(msg) else {
            self.dropped += 1;
            return false;
        };
        let ok = self.send_frame(&frame);
        if !ok {
            self.dropped += 1;
        }
        ok
    }

    /// Whether the wire can take `len` bytes now without dropping them
    /// (serial always can: it blocks instead).
    pub(crate) fn has_room(&self, len: usize) -> bool {
        match &self.sink {
            Sink::Ring { writer, .. } => writer.free() >= len as u64,
            Sink::Serial(_) => true,
            Sink::Nowhere => false,
        }
    }

    /// Sends one encoded frame; false (not counted here as a drop) when the
    /// ring is full or the wire fails.
    pub(crate) fn send_frame(&mut self, frame: &[u8]) -> bool {
        match &mut self.sink {
            Sink::Ring { writer, .. } => writer.write_frame(frame),
            Sink::Serial(f) => f.write_all(frame).and_then(|_| f.flush()).is_ok(),
            Sink::Nowhere => false,
        }
    }

    /// Frames not delivered so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// `ring`, `serial` or `none`.
    pub fn transport(&self) -> &'static str {
        match self.sink {
            Sink::Ring { .. } => "ring",
            Sink::Serial(_) => "serial",
            Sink::Nowhere => "none",
        }
    }
}

/// Finds the ivshmem device and maps its shared-memory BAR.
fn open_ring() -> Result<(RingWriter, Mapping), GuestError> {
    let bar = find_ivshmem(Path::new("/sys/bus/pci/devices")).ok_or(GuestError::NoIvshmem)?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_SYNC)
        .open(&bar)
        .map_err(GuestError::file("open", &bar))?;
    let len = file
        .metadata()
        .map_err(GuestError::file("read the size of", &bar))?
        .len();
    map_ring(&file, &bar, 0, len)
}

/// Maps the ring region `ADDR,LEN` (hex or decimal) of physical memory.
fn open_mem_ring(region: &str) -> Result<(RingWriter, Mapping), GuestError> {
    let (addr, len) = parse_region(region).ok_or_else(|| GuestError::RingRegion {
        region: region.to_string(),
    })?;
    let path = Path::new("/dev/mem");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_SYNC)
        .open(path)
        .map_err(GuestError::file("open", path))?;
    map_ring(&file, path, addr, len)
}

/// Maps `len` bytes of `file` at `offset` and sets a ring up in them.
fn map_ring(
    file: &File,
    path: &Path,
    offset: u64,
    len: u64,
) -> Result<(RingWriter, Mapping), GuestError> {
    let map_err = |source| GuestError::RingMap {
        path: path.to_path_buf(),
        offset,
        len,
        source,
    };
    let bytes = usize::try_from(len)
        .map_err(|_| map_err(std::io::Error::from(std::io::ErrorKind::InvalidInput)))?;
    let map = Mapping::shared_file(file, offset, bytes).map_err(map_err)?;
    // SAFETY: the mapping is valid for `len` bytes and is moved into the same
    // `Sink::Ring` as the writer, so it outlives every use of the writer.
    let writer = unsafe { RingWriter::init(map.as_ptr(), map.len()) };
    Ok((writer.map_err(GuestError::RingInit)?, map))
}

fn parse_region(region: &str) -> Option<(u64, u64)> {
    let num = |s: &str| match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    };
    let (a, l) = region.split_once(',')?;
    let (addr, len) = (num(a)?, num(l)?);
    (len > 0 && addr % 4096 == 0).then_some((addr, len))
}

fn find_ivshmem(devices: &Path) -> Option<PathBuf> {
    std::fs::read_dir(devices)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let id = |f: &str| {
                std::fs::read_to_string(p.join(f))
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default()
            };
            id("vendor") == IVSHMEM_VENDOR && id("device") == IVSHMEM_DEVICE
        })
        .map(|p| p.join(IVSHMEM_BAR))
}

/// Opens a serial port and puts it in raw mode so frame bytes pass unaltered
/// (no `\n` → `\r\n`); a port that stays cooked is still returned, with why.
fn open_serial(path: &Path) -> std::io::Result<(File, std::io::Result<()>)> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)?;
    let raw = sys::set_raw_mode(f.as_fd());
    Ok((f, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_region_parses_hex_and_decimal() {
        assert_eq!(
            parse_region("0x1fc00000,4194304"),
            Some((0x1fc0_0000, 4 << 20))
        );
        assert_eq!(parse_region("4096,0x1000"), Some((4096, 4096)));
        assert_eq!(parse_region("0x1001,4096"), None);
        assert_eq!(parse_region("0x1000"), None);
        assert_eq!(parse_region("0x1000,0"), None);
    }
}
