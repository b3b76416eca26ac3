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
    /// Opens the wire named on the kernel command line (`ktstr.wire=ivshmem`): the
    /// ring if the device is there, else COM2 (`/dev/ttyS1`) in raw mode, else
    /// nothing (the host then sees no result and says so).
    pub fn open(kind: &str) -> (WireOut, Vec<String>) {
        let mut notes = Vec::new();
        if kind == "ivshmem" {
            match open_ring() {
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
    let map = Mapping::new(&file, len).map_err(|e| format!("map {}: {e}", bar.display()))?;
    // SAFETY: the mapping is valid for `len` bytes and is moved into the same
    // `Sink::Ring` as the writer, so it outlives every use of the writer.
    let writer = unsafe { RingWriter::init(map.ptr, map.len) }.map_err(|e| e.to_string())?;
    Ok((writer, map))
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

/// A shared mapping of a device BAR, unmapped on drop.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(file: &File, len: usize) -> std::io::Result<Self> {
        // SAFETY: a new mapping at a kernel-chosen address, aliasing no Rust object.
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
