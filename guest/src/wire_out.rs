//! The guest's side of the wire: frames into the shared ring, or onto COM2.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ktstr_wire::{encode, Message, RingWriter};

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
                Err(e) => notes.push(format!("ring unavailable, using serial: {e}")),
            }
        }
        match open_serial(Path::new("/dev/ttyS1")) {
            Ok(f) => (
                WireOut {
                    sink: Sink::Serial(f),
                    dropped: 0,
                },
                notes,
            ),
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
        let ok = match &mut self.sink {
            Sink::Ring { writer, .. } => writer.write_frame(&frame),
            Sink::Serial(f) => f.write_all(&frame).and_then(|_| f.flush()).is_ok(),
            Sink::Nowhere => false,
        };
        if !ok {
            self.dropped += 1;
        }
        ok
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
fn open_ring() -> Result<(RingWriter, Mapping), String> {
    let bar = find_ivshmem(Path::new("/sys/bus/pci/devices")).ok_or("no ivshmem PCI device")?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_SYNC)
        .open(&bar)
        .map_err(|e| format!("open {}: {e}", bar.display()))?;
    let len = file.metadata().map_err(|e| e.to_string())?.len() as usize;
    let map = Mapping::new(&file, 0, len).map_err(|e| format!("map {}: {e}", bar.display()))?;
    // SAFETY: the mapping is valid for `len` bytes and is moved into the same
    // `Sink::Ring` as the writer, so it outlives every use of the writer.
    let writer = unsafe { RingWriter::init(map.ptr, map.len) }.map_err(|e| e.to_string())?;
    Ok((writer, map))
}

/// Maps the ring region `ADDR,LEN` (hex or decimal) of physical memory.
fn open_mem_ring(region: &str) -> Result<(RingWriter, Mapping), String> {
    let (addr, len) = parse_region(region)
        .ok_or_else(|| format!("bad ring region `{region}` (want ADDR,LEN)"))?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_SYNC)
        .open("/dev/mem")
        .map_err(|e| format!("open /dev/mem: {e}"))?;
    let map = Mapping::new(&file, addr, len as usize)
        .map_err(|e| format!("map {len} bytes of /dev/mem at {addr:#x}: {e}"))?;
    // SAFETY: as in `open_ring`: the mapping lives in the same sink as the writer.
    let writer = unsafe { RingWriter::init(map.ptr, map.len) }.map_err(|e| e.to_string())?;
    Ok((writer, map))
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

/// Opens a serial port in raw mode so frame bytes pass unaltered (no `\n` → `\r\n`).
fn open_serial(path: &Path) -> std::io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)?;
    // SAFETY: termios is plain data; tcgetattr/tcsetattr read and write the local
    // struct for an fd we own.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(f.as_raw_fd(), &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(f.as_raw_fd(), libc::TCSANOW, &t);
        }
    }
    Ok(f)
}

/// A shared mapping of a device BAR or of physical memory, unmapped on drop.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(file: &File, offset: u64, len: usize) -> std::io::Result<Self> {
        let offset = libc::off_t::try_from(offset)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        // SAFETY: a new mapping at a kernel-chosen address, aliasing no Rust object.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the region mapped in `new`, once.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
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
