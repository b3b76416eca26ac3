//! The backend trait and what goes in and out of a VM run.

use std::path::PathBuf;
use std::time::Duration;

use ktstr_model::Topology;
use ktstr_wire::Message;
use serde::Serialize;

use crate::{Accel, Console, VmError, VmExit};

/// Kernel command-line key telling the guest runtime where its wire is
/// (`ivshmem`: a shared-memory ring on a PCI device; `ttyS1`: the serial fallback).
pub const GUEST_WIRE_ARG: &str = "ktstr.wire";

/// Everything a backend needs to boot one VM.
#[derive(Debug, Clone)]
pub struct VmSpec {
    /// A bzImage (both backends) or an uncompressed vmlinux ELF (own VMM only).
    pub kernel: PathBuf,
    /// An uncompressed newc cpio archive.
    pub initramfs: PathBuf,
    /// The topology the guest must see.
    pub topology: Topology,
    /// Guest RAM in MiB, split evenly over the NUMA nodes.
    pub memory_mib: u32,
    /// Wall-clock limit; the VM is killed and the run classified as a timeout after it.
    pub timeout: Duration,
    /// Extra kernel command-line words, appended after the backend's own.
    pub cmdline_extra: Vec<String>,
    /// Size of the shared-memory ring in bytes (a power of two).
    pub ring_bytes: usize,
    /// Console bytes kept from the start and from the end of the boot each.
    pub console_keep: usize,
    /// Size of a scratch disk the guest sees as `/dev/vda`, MiB (0: none).
    /// A sparse file in the VM's private directory, removed with it; only
    /// the QEMU backend provides one.
    pub scratch_disk_mib: u32,
}

impl VmSpec {
    /// A spec with defaults: 512 MiB, 60 s timeout, 4 MiB ring, 256 KiB console ends.
    pub fn new(kernel: PathBuf, initramfs: PathBuf, topology: Topology) -> Self {
        VmSpec {
            kernel,
            initramfs,
            topology,
            memory_mib: 512,
            timeout: Duration::from_secs(60),
            cmdline_extra: Vec::new(),
            ring_bytes: 4 << 20,
            console_keep: 256 << 10,
            scratch_disk_mib: 0,
        }
    }
}

/// Counters of the wire during one run: nothing is silently lost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WireStats {
    /// Frames decoded.
    pub frames: u64,
    /// Frames with a bad CRC.
    pub crc_errors: u64,
    /// Frames with an impossible length.
    pub bad_lengths: u64,
    /// Frames whose payload did not decode as a message.
    pub decode_errors: u64,
    /// A frame cut off at the end of the stream.
    pub truncated: u64,
    /// Frames the guest dropped because the ring was full.
    pub ring_dropped_frames: u64,
    /// Bytes of those frames.
    pub ring_dropped_bytes: u64,
    /// Messages the host decoded but did not keep: more of one kind, or more
    /// bytes in all, than a run can send (a misbehaving guest flooding the
    /// wire). Host memory stays bounded; the run is judged with the loss.
    pub host_dropped_messages: u64,
    /// Payload bytes of those messages.
    pub host_dropped_bytes: u64,
    /// Which transports carried frames (`ring`, `serial`).
    pub transports: Vec<String>,
}

impl WireStats {
    /// True when any frame was lost or damaged.
    pub fn has_loss(&self) -> bool {
        self.crc_errors
            + self.bad_lengths
            + self.decode_errors
            + self.truncated
            + self.ring_dropped_frames
            + self.host_dropped_messages
            > 0
    }
}

/// The losses, in words: `3 frames with a bad CRC; the host did not keep
/// 120 messages (125.8 MB) past its limits`, or `no loss in 42 frames`.
impl std::fmt::Display for WireStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |b: u64| b as f64 / 1e6;
        let frames = |n: u64| {
            if n == 1 {
                "1 frame".to_string()
            } else {
                format!("{n} frames")
            }
        };
        let mut parts = Vec::new();
        for (n, what) in [
            (self.crc_errors, "with a bad CRC"),
            (self.bad_lengths, "with an impossible length"),
            (self.decode_errors, "that did not decode"),
            (self.truncated, "cut off at the end"),
        ] {
            if n > 0 {
                parts.push(format!("{} {what}", frames(n)));
            }
        }
        if self.ring_dropped_frames > 0 {
            parts.push(format!(
                "the guest dropped {} ({:.1} MB) with the ring full",
                frames(self.ring_dropped_frames),
                mb(self.ring_dropped_bytes)
            ));
        }
        if self.host_dropped_messages > 0 {
            parts.push(format!(
                "the host did not keep {} messages ({:.1} MB): more than a run sends",
                self.host_dropped_messages,
                mb(self.host_dropped_bytes)
            ));
        }
        if parts.is_empty() {
            write!(f, "no loss in {}", frames(self.frames))
        } else {
            write!(
                f,
                "{} (of {} decoded)",
                parts.join("; "),
                frames(self.frames)
            )
        }
    }
}

/// What a finished VM run produced.
#[derive(Debug, Clone)]
pub struct VmOutcome {
    /// How the run ended.
    pub exit: VmExit,
    /// The messages the guest sent, in order: all of them, unless it sent
    /// more than a run can ([`WireStats::host_dropped_messages`]).
    pub messages: Vec<Message>,
    /// The captured console.
    pub console: Console,
    /// Wire counters.
    pub wire: WireStats,
    /// Wall time from process start to exit.
    pub wall: Duration,
    /// The backend's name.
    pub backend: &'static str,
    /// How the guest was executed.
    pub accel: Accel,
}

/// A way to run a VM. Implemented by the QEMU backend and the own KVM VMM.
pub trait Backend {
    /// Short name, e.g. `qemu`.
    fn name(&self) -> &'static str;

    /// How guests run on this backend here.
    fn accel(&self) -> Accel;

    /// Boots `spec`, calls `on_message` for each guest message as it arrives, and
    /// returns when the VM has ended and been cleaned up.
    ///
    /// # Errors
    /// [`VmError`] when the VM could not be started at all; a VM that started and
    /// failed is an `Ok` outcome with a non-`Completed` [`VmExit`].
    fn run(
        &self,
        spec: &VmSpec,
        on_message: &mut dyn FnMut(&Message),
    ) -> Result<VmOutcome, VmError>;
}

#[cfg(test)]
mod tests {
    use super::WireStats;

    #[test]
    fn wire_losses_read_as_words() {
        let clean = WireStats {
            frames: 42,
            ..WireStats::default()
        };
        assert_eq!(clean.to_string(), "no loss in 42 frames");
        let one = WireStats {
            frames: 1,
            truncated: 1,
            ..WireStats::default()
        };
        assert_eq!(
            one.to_string(),
            "1 frame cut off at the end (of 1 frame decoded)"
        );
        let lossy = WireStats {
            frames: 100,
            crc_errors: 3,
            ring_dropped_frames: 2,
            ring_dropped_bytes: 2_000_000,
            host_dropped_messages: 120,
            host_dropped_bytes: 125_800_000,
            ..WireStats::default()
        };
        assert_eq!(
            lossy.to_string(),
            "3 frames with a bad CRC; the guest dropped 2 frames (2.0 MB) with the ring full; \
             the host did not keep 120 messages (125.8 MB): more than a run sends \
             (of 100 frames decoded)"
        );
    }
}
