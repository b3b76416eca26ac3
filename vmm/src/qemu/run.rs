//! One QEMU run: start, stream the wire, watch the clock, clean up.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ktstr_wire::{Message, RingReader};

use super::args::{qemu_args, RunFiles};
use super::QemuBackend;
use crate::ring_map::SharedMap;
use crate::wire_in::{Transport, WireIn};
use crate::{classify, stop_requested, Console, VmError, VmOutcome, VmSpec};

/// How often the host polls the ring, the serial file and the child.
const POLL: Duration = Duration::from_millis(5);
/// Environment variable naming the directory for per-VM private directories.
pub const RUN_DIR_ENV: &str = "KTSTR_RUN_DIR";
/// QEMU's own error output kept for a failed start.
const STDERR_KEEP: usize = 16 << 10;

/// Where each VM's private `ktstr-vm-*` directory is made: `$KTSTR_RUN_DIR`,
/// else `/dev/shm` (the ring stays in memory), else the temp directory.
pub fn vm_run_base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    match std::env::var_os(RUN_DIR_ENV) {
        Some(dir) => dir.into(),
        None if shm.is_dir() => shm.to_path_buf(),
        None => std::env::temp_dir(),
    }
}

/// Kills and reaps QEMU if the run ends early (error, panic, unwinding).
struct ChildGuard(Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub(super) fn run(
    b: &QemuBackend,
    spec: &VmSpec,
    on_message: &mut dyn FnMut(&Message),
) -> Result<VmOutcome, VmError> {
    if !spec.kernel.is_file() {
        return Err(VmError::KernelMissing(spec.kernel.clone()));
    }
    if !spec.initramfs.is_file() {
        return Err(VmError::InitramfsMissing(spec.initramfs.clone()));
    }
    // Private directory, removed on every return path by TempDir's drop.
    let base = vm_run_base();
    let dir = tempfile::Builder::new()
        .prefix("ktstr-vm-")
        .tempdir_in(&base)
        .map_err(VmError::io("create the VM's private directory"))?;
    let ring_path = dir.path().join("ring");
    let serial_path = dir.path().join("wire.serial");
    let ring_file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&ring_path)
        .map_err(VmError::io("create the wire ring file"))?;
    ring_file
        .set_len(spec.ring_bytes as u64)
        .map_err(VmError::io("size the wire ring file"))?;
    let map = SharedMap::new(&ring_file, spec.ring_bytes)?;
    let scratch_path = dir.path().join("scratch.img");
    if spec.scratch_disk_mib > 0 {
        // Sparse: only what the guest writes takes space.
        File::create_new(&scratch_path)
            .and_then(|f| f.set_len(u64::from(spec.scratch_disk_mib) << 20))
            .map_err(VmError::io("create the scratch disk file"))?;
    }

    let args = qemu_args(
        spec,
        b.accel,
        &RunFiles {
            ring: &ring_path,
            serial_wire: &serial_path,
            scratch: (spec.scratch_disk_mib > 0).then_some(scratch_path.as_path()),
        },
    )?;
    tracing::debug!(?args, "starting qemu");
    let mut cmd = Command::new(&b.binary);
    cmd.args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The terminal's Ctrl-C reaches us, and we stop QEMU in order; QEMU
    // dies with us even if we are killed without a chance to clean up.
    ktstr_stop::own_group_dying_with_us(&mut cmd);
    let start = Instant::now();
    let mut child = ChildGuard(Some(
        cmd.spawn()
            .map_err(VmError::io(format!("start `{}`", b.binary.display())))?,
    ));
    let proc = child
        .0
        .as_mut()
        .expect("child present until the guard drops");

    let console = Arc::new(Mutex::new(Console::new(spec.console_keep)));
    let console_thread = pump(proc.stdout.take(), {
        let console = Arc::clone(&console);
        move |bytes| {
            console
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(bytes)
        }
    });
    let stderr_buf = Arc::new(Mutex::new(Vec::new()));
    let stderr_thread = pump(proc.stderr.take(), {
        let buf = Arc::clone(&stderr_buf);
        move |bytes| {
            let mut b = buf.lock().unwrap_or_else(|e| e.into_inner());
            let room = STDERR_KEEP.saturating_sub(b.len());
            b.extend_from_slice(&bytes[..room.min(bytes.len())]);
        }
    });

    let mut wire_in = WireIn::new();
    let mut reader: Option<RingReader> = None;
    let mut serial_file: Option<File> = None;
    let mut buf = Vec::with_capacity(64 << 10);
    // Both transports, in one place: polled while QEMU runs and once after.
    let mut poll_wire = |wire_in: &mut WireIn| {
        poll_ring(&map, &mut reader, &mut buf, wire_in);
        poll_serial(&serial_path, &mut serial_file, &mut buf, wire_in);
        for m in wire_in.fresh() {
            on_message(m);
        }
    };
    let mut timed_out = None;
    let mut interrupted = false;

    let status = loop {
        poll_wire(&mut wire_in);
        if let Some(st) = proc.try_wait().map_err(VmError::io("wait for qemu"))? {
            break st;
        }
        if stop_requested() && !interrupted {
            interrupted = true;
            let _ = proc.kill();
        } else if timed_out.is_none() && start.elapsed() > spec.timeout {
            timed_out = Some(spec.timeout.as_secs());
            let _ = proc.kill();
        }
        std::thread::sleep(POLL);
    };
    let wall = start.elapsed();
    // The guest's last frames may land between our last poll and its power-off.
    poll_wire(&mut wire_in);
    let _ = console_thread.map(JoinHandle::join);
    let _ = stderr_thread.map(JoinHandle::join);
    child.0 = None;

    let console = Arc::try_unwrap(console)
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .unwrap_or_else(|a| a.lock().map(|c| c.clone()).unwrap_or_default());
    let stderr =
        String::from_utf8_lossy(&stderr_buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    if !status.success()
        && timed_out.is_none()
        && !interrupted
        && console.text().is_empty()
        && wire_in.is_empty()
    {
        // QEMU refused to start (bad option, missing device): say what it said.
        return Err(VmError::Unavailable {
            backend: "qemu",
            reason: format!(
                "qemu exited with {status} before the guest started: {}",
                stderr.trim()
            ),
        });
    }

    let done_seen = wire_in.done_seen();
    let (messages, mut wire) = wire_in.finish(on_message);
    if let Some(r) = &reader {
        wire.ring_dropped_frames = r.dropped_frames();
        wire.ring_dropped_bytes = r.dropped_bytes();
    }
    let exit = classify(
        done_seen,
        &console,
        timed_out,
        interrupted,
        &status.to_string(),
    );
    Ok(VmOutcome {
        exit,
        messages,
        console,
        wire,
        wall,
        backend: "qemu",
        accel: b.accel,
    })
}

/// Reads whatever the guest committed to the ring since the last call.
fn poll_ring(
    map: &SharedMap,
    reader: &mut Option<RingReader>,
    buf: &mut Vec<u8>,
    wire_in: &mut WireIn,
) {
    if reader.is_none() {
        // SAFETY: the mapping is valid for `len` bytes while `map` lives, which
        // outlives the reader (both are locals of `run`, the reader dropped first).
        *reader = unsafe { RingReader::attach(map.as_ptr(), map.len()) }.ok();
    }
    if let Some(r) = reader.as_mut() {
        buf.clear();
        r.read_into(buf);
        wire_in.feed(Transport::Ring, buf);
    }
}

/// Reads what QEMU appended to the COM2 file since the last call.
fn poll_serial(path: &Path, file: &mut Option<File>, buf: &mut Vec<u8>, wire_in: &mut WireIn) {
    if file.is_none() {
        // Writable too: only a writable descriptor may punch holes; else
        // read-only, keeping the bytes.
        *file = File::options()
            .read(true)
            .write(true)
            .open(path)
            .or_else(|_| File::open(path))
            .ok();
    }
    if let Some(f) = file.as_mut() {
        buf.clear();
        let _ = f.read_to_end(buf);
        wire_in.feed(Transport::Serial, buf);
        // Give back what was read once it is worth a call; a file system
        // that cannot punch holes keeps the bytes.
        if let Ok(read) = f.stream_position() {
            if read % SERIAL_RELEASE < buf.len() as u64 {
                let _ = crate::file_hole::punch_front(f, read);
            }
        }
    }
}

/// Every this many bytes read from the COM2 file, their storage is released.
const SERIAL_RELEASE: u64 = 1 << 20;

/// Copies a child's pipe into `sink` on a thread until EOF.
fn pump<R: Read + Send + 'static>(
    pipe: Option<R>,
    mut sink: impl FnMut(&[u8]) + Send + 'static,
) -> Option<JoinHandle<()>> {
    let mut pipe = pipe?;
    Some(std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink(&chunk[..n]);
        }
    }))
}
