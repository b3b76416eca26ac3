//! The work types' loops. Each runs until its slot's stop flag is set and calls
//! a checkpoint after every unit of work.

use std::hint::black_box;
use std::io::Write;
use std::os::fd::BorrowedFd;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ktstr_model::{Fault, WorkType};

use super::checkpoint::Checkpoint;
use super::sched_class::ClassSampler;
use super::shared::{next_random, Shared, Slot, MAX_WORKERS};
use super::{Role, WorkerSetup};
use crate::error::GuestError;
use crate::sys::{
    self, futex_wait, futex_wake, mono_ns, set_affinity, set_nice, set_policy, sleep_ms, yield_cpu,
    Forked, Mapping,
};

/// Arithmetic iterations per spin chunk: long enough that the checkpoint's own
/// cost is small, short enough (tens of µs) that gaps are measured finely.
const SPIN_CHUNK: u64 = 20_000;
/// Waits on partners wake up this often to check the stop flag.
const WAIT_SLICE: Duration = Duration::from_millis(50);

struct Ctx<'a> {
    shared: &'a Shared,
    /// This worker's slot index.
    index: usize,
    slot: &'a Slot,
    cp: Checkpoint,
    class: ClassSampler,
    fault: Option<Fault>,
    fault_done: bool,
    /// Why a fault could not strike; the worker stops and reports it.
    fault_error: Option<GuestError>,
    rng: u64,
}

impl Ctx<'_> {
    fn stopped(&self) -> bool {
        self.slot.stop.load(Ordering::Relaxed) != 0 || self.fault_error.is_some()
    }

    /// Applies a due fault, then records progress (so a fault due at 0 ms
    /// strikes before the first unit of work).
    fn tick(&mut self, units: u64) {
        self.apply_fault();
        // Work interrupted by the stop request is not progress.
        if !self.stopped() {
            self.cp.tick(self.shared, self.slot, units);
            self.class.maybe_sample(self.slot);
        }
    }

    fn apply_fault(&mut self) {
        if self.fault_done {
            return;
        }
        match self.fault {
            Some(Fault::EscapeCpuset { after_ms })
                if self.cp.elapsed_ns() >= after_ms * 1_000_000 =>
            {
                self.fault_done = true;
                // `tick` has no way to return an error through every work
                // loop: it is kept, and `stopped` ends the loop.
                self.fault_error = escape_cpuset().err();
            }
            Some(Fault::Freeze { after_ms, for_ms })
                if self.cp.elapsed_ns() >= after_ms * 1_000_000 =>
            {
                self.fault_done = true;
                // No checkpoint while frozen: the gap clock keeps running.
                let end = mono_ns() + for_ms * 1_000_000;
                while mono_ns() < end && !self.stopped() {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            _ => {}
        }
    }

    fn wake_sample(&mut self, stamp: u64) {
        let now = mono_ns();
        if stamp > 0 && now >= stamp {
            self.slot.add_wake(now - stamp, &mut self.rng);
        }
    }

    /// Sleeps `ms`, then counts the delay from the timer's expiry to running
    /// again as a wake-up latency and as part of the next progress gap.
    fn timed_sleep_ms(&mut self, ms: u64) {
        let due = mono_ns() + ms * 1_000_000;
        sleep_ms(ms);
        self.wake_sample(due);
        self.cp.resume_from(due);
    }
}

/// A real cpuset escape: leaves the cgroup and allows every CPU.
fn escape_cpuset() -> Result<(), GuestError> {
    let procs = "/sys/fs/cgroup/cgroup.procs";
    let pid = std::process::id().to_string();
    std::fs::write(procs, &pid).map_err(|source| GuestError::CgroupWrite {
        path: procs.into(),
        value: pid,
        source,
    })?;
    let all: Vec<u32> = (0..crate::worker::shared::MAX_CPUS as u32).collect();
    set_affinity(0, &all).map_err(GuestError::syscall(
        "allow every CPU to escape the cpuset",
        "sched_setaffinity",
    ))
}

/// Runs the worker's work type until its stop flag is set. A system call that
/// fails ends the work with the error (the worker's report shows it), except
/// where noted at the call.
pub(super) fn run(shared: &Shared, setup: &WorkerSetup) -> Result<(), GuestError> {
    let slot = shared.slot(setup.slot);
    let mut cx = Ctx {
        shared,
        index: setup.slot,
        slot,
        cp: Checkpoint::start(slot),
        class: ClassSampler::start(slot),
        fault: setup.fault.clone(),
        fault_done: false,
        fault_error: None,
        rng: 0x9E37_79B9_7F4A_7C15 ^ (setup.slot as u64 + 1),
    };
    let result = work(&mut cx, setup);
    // A worker stuck until the end has an open gap; close it.
    cx.cp.finish(slot);
    cx.class.sample(slot);
    result?;
    cx.fault_error.take().map_or(Ok(()), Err)
}

fn work(cx: &mut Ctx<'_>, setup: &WorkerSetup) -> Result<(), GuestError> {
    match (&setup.work, setup.role) {
        (WorkType::Spin, _) => spin_loop(cx, |_| Ok(())),
        (WorkType::Yield, _) => {
            while !cx.stopped() {
                yield_cpu();
                cx.tick(1);
            }
            Ok(())
        }
        (WorkType::Mixed { spin_us }, _) => {
            let spin_ns = spin_us * 1000;
            while !cx.stopped() {
                let end = mono_ns() + spin_ns;
                while mono_ns() < end {
                    spin_chunk(SPIN_CHUNK / 10);
                }
                yield_cpu();
                cx.tick(1);
            }
            Ok(())
        }
        (
            WorkType::Bursty {
                burst_ms,
                sleep_ms: nap,
            },
            _,
        ) => {
            while !cx.stopped() {
                let end = mono_ns() + burst_ms * 1_000_000;
                while mono_ns() < end && !cx.stopped() {
                    spin_chunk(SPIN_CHUNK);
                    cx.tick(1);
                }
                cx.timed_sleep_ms(*nap);
            }
            Ok(())
        }
        (WorkType::SyncIo { block_kb }, _) => sync_io(cx, *block_kb as usize * 1024),
        (WorkType::Custom { name }, _) => custom(cx, name),
        (
            WorkType::PipePingPong,
            Role::PairFirst {
                peer,
                pipes: Some((tx, rx)),
            },
        ) => pipe_pair(cx, peer, tx, rx, true),
        (
            WorkType::PipePingPong,
            Role::PairSecond {
                peer,
                pipes: Some((tx, rx)),
            },
        ) => pipe_pair(cx, peer, tx, rx, false),
        (WorkType::FutexPingPong, Role::PairFirst { peer, .. }) => {
            futex_pair(cx, setup.slot, peer, true);
            Ok(())
        }
        (WorkType::FutexPingPong, Role::PairSecond { peer, .. }) => {
            futex_pair(cx, peer, peer, false);
            Ok(())
        }
        (WorkType::FutexFanOut { .. }, Role::Waker) => {
            fan_out_waker(cx);
            Ok(())
        }
        (WorkType::FutexFanOut { .. }, Role::Wakee { waker }) => {
            fan_out_wakee(cx, waker);
            Ok(())
        }
        (WorkType::CachePressure { wss_kb, stride }, _) => {
            cache_pressure(cx, *wss_kb as usize * 1024, (*stride).max(1) as usize);
            Ok(())
        }
        (WorkType::ForkExit, _) => fork_exit(cx),
        (WorkType::NiceSweep, _) => {
            let mut n = 0i32;
            spin_loop(cx, |i| {
                if i % 50 == 0 {
                    n = (n + 1) % 16;
                    churn(set_nice(0, n - 5), "set the nice value", "setpriority")?;
                }
                Ok(())
            })
        }
        (WorkType::AffinityChurn, _) => affinity_churn(cx),
        (WorkType::PolicyChurn, _) => {
            let policies = [
                libc::SCHED_OTHER,
                libc::SCHED_BATCH,
                libc::SCHED_IDLE,
                libc::SCHED_FIFO,
                libc::SCHED_RR,
            ];
            let mut k = 0usize;
            spin_loop(cx, |i| {
                if i % 50 == 0 {
                    k = (k + 1) % policies.len();
                    churn(
                        set_policy(0, policies[k]),
                        "set the scheduling policy",
                        "sched_setscheduler",
                    )?;
                }
                Ok(())
            })
        }
        (WorkType::PageFaultChurn, _) => page_faults(cx),
        // Pair types without a partner (validation prevents it): just spin.
        _ => spin_loop(cx, |_| Ok(())),
    }
}

/// The result of a churn call. The kernel may refuse the change itself, and
/// then the attempt was the work: a CPU the cgroup's cpuset no longer allows
/// (EINVAL), an RT policy the cgroup has no budget for (EPERM), a nice value
/// past the limit (EACCES). The churn goes on; any other error ends it.
fn churn(
    result: std::io::Result<()>,
    action: &'static str,
    call: &'static str,
) -> Result<(), GuestError> {
    match result {
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EINVAL | libc::EPERM | libc::EACCES)
            ) =>
        {
            Ok(())
        }
        r => r.map_err(GuestError::syscall(action, call)),
    }
}

/// Forks a child that exits at once, and reaps it. A failed fork or wait ends
/// the worker: ticking on would count work not done, and an unreaped child
/// would pile up as a zombie.
fn fork_exit(cx: &mut Ctx<'_>) -> Result<(), GuestError> {
    while !cx.stopped() {
        // SAFETY: a worker process is single-threaded (this work type starts no
        // threads), and the child only calls `_exit`.
        let forked = unsafe { sys::fork() };
        let forked = match forked {
            // Out of memory or tasks for a moment (a memory-tight run):
            // no work was done; try again shortly rather than fail.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::ENOMEM)) => {
                std::thread::sleep(std::time::Duration::from_millis(1));
                continue;
            }
            other => other.map_err(GuestError::syscall("fork a child", "fork"))?,
        };
        match forked {
            Forked::Child => sys::exit_now(0),
            Forked::Parent(pid) => {
                sys::wait_child(pid).map_err(GuestError::syscall("reap the child", "waitpid"))?;
            }
        }
        cx.tick(1);
    }
    Ok(())
}

/// Moves itself from CPU to CPU of those it was allowed at the start.
fn affinity_churn(cx: &mut Ctx<'_>) -> Result<(), GuestError> {
    let allowed: Vec<u32> = sys::affinity(0)
        .map_err(GuestError::syscall(
            "read the worker's allowed CPUs",
            "sched_getaffinity",
        ))?
        .into_iter()
        .filter(|&c| (c as usize) < crate::worker::shared::MAX_CPUS)
        .collect();
    let mut k = 0usize;
    spin_loop(cx, |i| {
        if i % 20 == 0 && !allowed.is_empty() {
            k = (k + 1) % allowed.len();
            churn(
                set_affinity(0, &[allowed[k]]),
                "move to another CPU",
                "sched_setaffinity",
            )?;
        }
        Ok(())
    })
}

fn spin_chunk(n: u64) -> u64 {
    let mut x = black_box(1u64);
    for i in 0..n {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
    }
    black_box(x)
}

fn spin_loop(
    cx: &mut Ctx<'_>,
    mut every: impl FnMut(u64) -> Result<(), GuestError>,
) -> Result<(), GuestError> {
    let mut i = 0u64;
    while !cx.stopped() {
        spin_chunk(SPIN_CHUNK);
        cx.tick(1);
        every(i)?;
        i += 1;
    }
    Ok(())
}

/// Runs the registered custom worker `name`, then leaves its metrics for the
/// controller. An unknown name ends the worker with exit code 3, which its
/// report shows.
fn custom(cx: &mut Ctx<'_>, name: &str) -> Result<(), GuestError> {
    let Some(f) = super::custom::lookup(name) else {
        eprintln!("ktstr-guest: no custom worker `{name}` is registered (#[ktstr::worker])");
        std::process::exit(3);
    };
    let slot = cx.index;
    let cell = std::cell::RefCell::new(cx);
    let mut tick = |units| cell.borrow_mut().tick(units);
    let stopped = || cell.borrow().stopped();
    let mut worker = super::custom::CustomWorker {
        tick: &mut tick,
        stopped: &stopped,
        metrics: Vec::new(),
    };
    f(&mut worker);
    let text: String = worker
        .metrics
        .iter()
        .map(|(n, v)| format!("{n}\t{v}\n"))
        .collect();
    let path = super::custom::metrics_path(slot);
    std::fs::write(&path, text).map_err(GuestError::file("write the metrics to", path))
}

/// The scratch disk the host attaches for `sync_io` workers.
const SCRATCH_DISK: &str = "/dev/vda";

fn sync_io(cx: &mut Ctx<'_>, block: usize) -> Result<(), GuestError> {
    let block = block.max(512);
    match scratch_region(cx.index, block)? {
        Some((disk, start, len)) => disk_io(cx, &disk, start, len, block),
        None => tmpfs_io(cx, block),
    }
}

/// This worker's region of the scratch disk: `(file, start, length)`, each
/// worker its own 1/MAX_WORKERS of it. `None` without a disk.
fn scratch_region(
    index: usize,
    block: usize,
) -> Result<Option<(std::fs::File, u64, u64)>, GuestError> {
    use std::os::unix::fs::OpenOptionsExt;
    // No disk (the own KVM VMM has none) or one too small: tmpfs instead.
    let Some(sectors) = std::fs::read_to_string("/sys/block/vda/size")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    else {
        return Ok(None);
    };
    let len = sectors.saturating_mul(512) / MAX_WORKERS as u64;
    if len < block as u64 {
        return Ok(None);
    }
    // A disk that is there but cannot be opened is an error, not a quiet
    // switch to a load that never blocks.
    let disk = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DSYNC)
        .open(SCRATCH_DISK)
        .map_err(GuestError::file("open the scratch disk", SCRATCH_DISK))?;
    Ok(Some((disk, index as u64 * len, len)))
}

/// Synchronous writes to the disk: each returns once the device has the data,
/// so the worker really blocks and is woken by the I/O completion.
fn disk_io(
    cx: &mut Ctx<'_>,
    disk: &std::fs::File,
    start: u64,
    len: u64,
    block: usize,
) -> Result<(), GuestError> {
    use std::os::unix::fs::FileExt;
    let buf = vec![0x5au8; block];
    let slots = (len / block as u64).max(1);
    let mut n = 0u64;
    while !cx.stopped() {
        // A failed write is not work done: the worker ends with the error.
        disk.write_all_at(&buf, start + (n % slots) * block as u64)
            .map_err(GuestError::file("write to the scratch disk", SCRATCH_DISK))?;
        n += 1;
        cx.tick(1);
    }
    Ok(())
}

/// Without a scratch disk (the own KVM VMM has no block device): fsync'd
/// writes to tmpfs, which exercise the syscalls but never block.
fn tmpfs_io(cx: &mut Ctx<'_>, block: usize) -> Result<(), GuestError> {
    let path = format!("/tmp/ktstr-io-{}", std::process::id());
    let mut f = std::fs::File::create(&path).map_err(GuestError::file("create", &path))?;
    let buf = vec![0x5au8; block];
    let mut writes = 0u32;
    let result = loop {
        if cx.stopped() {
            break Ok(());
        }
        if let Err(e) = f.write_all(&buf).and_then(|_| f.sync_data()) {
            break Err(GuestError::file("write", &path)(e));
        }
        writes += 1;
        if writes.is_multiple_of(64) {
            if let Err(e) = f.set_len(0) {
                break Err(GuestError::file("truncate", &path)(e));
            }
        }
        cx.tick(1);
    };
    // Best effort: the guest's /tmp goes with the VM.
    let _ = std::fs::remove_file(&path);
    result
}

/// Waits for a byte on `rx`, waking every slice to check the stop flag.
/// `false` when stopped first, or at end of file (which cannot come while the
/// controller holds the write end).
fn read_byte(cx: &Ctx<'_>, rx: BorrowedFd<'_>) -> Result<bool, GuestError> {
    while !cx.stopped() {
        let ready = sys::poll_readable(rx, WAIT_SLICE)
            .map_err(GuestError::syscall("wait for the partner's byte", "poll"))?;
        if ready {
            let mut b = [0u8; 1];
            let n = sys::read(rx, &mut b)
                .map_err(GuestError::syscall("read the partner's byte", "read"))?;
            return Ok(n == 1);
        }
    }
    Ok(false)
}

fn pipe_pair(
    cx: &mut Ctx<'_>,
    peer: usize,
    tx: i32,
    rx: i32,
    first: bool,
) -> Result<(), GuestError> {
    // SAFETY: the controller created this pair's pipes before forking the
    // workers and never closes them, so the descriptor stays open for the
    // worker's life.
    let tx = unsafe { BorrowedFd::borrow_raw(tx) };
    // SAFETY: as for `tx`.
    let rx = unsafe { BorrowedFd::borrow_raw(rx) };
    let peer_slot = cx.shared.slot(peer);
    let send = || {
        peer_slot.wake_stamp.store(mono_ns(), Ordering::Relaxed);
        match sys::write(tx, &[1]) {
            Ok(1) => Ok(()),
            Ok(_) => Err(std::io::ErrorKind::WriteZero.into()),
            Err(e) => Err(e),
        }
        .map_err(GuestError::syscall("write the partner's byte", "write"))
    };
    if first {
        send()?;
    }
    while !cx.stopped() {
        if !read_byte(cx, rx)? {
            break;
        }
        let stamp = cx.slot.wake_stamp.load(Ordering::Relaxed);
        cx.wake_sample(stamp);
        cx.tick(1);
        send()?;
    }
    Ok(())
}

/// Futex pair: the word in the first worker's slot says whose turn it is
/// (0 = first, 1 = second).
fn futex_pair(cx: &mut Ctx<'_>, word_slot: usize, peer: usize, first: bool) {
    let word = &cx.shared.slot(word_slot).futex;
    let peer_slot = cx.shared.slot(peer);
    let (mine, theirs) = if first { (0, 1) } else { (1, 0) };
    while !cx.stopped() {
        let cur = word.load(Ordering::Acquire);
        if cur != mine {
            futex_wait(word, cur, WAIT_SLICE);
            continue;
        }
        let stamp = cx.slot.wake_stamp.load(Ordering::Relaxed);
        cx.wake_sample(stamp);
        cx.tick(1);
        peer_slot.wake_stamp.store(mono_ns(), Ordering::Relaxed);
        word.store(theirs, Ordering::Release);
        futex_wake(word, 1);
    }
}

/// The waker bumps a sequence number in its slot and wakes every waiter, once
/// per ms. Before waking, it marks each of its wakees that has consumed its
/// last wake with the time of this one, so a wakee delayed across many wakes
/// measures from the first wake it missed, not from the latest.
fn fan_out_waker(cx: &mut Ctx<'_>) {
    let me = cx.index as u32 + 1;
    let mut wakees: Vec<usize> = Vec::new();
    let mut rounds = 0u32;
    while !cx.stopped() {
        // Wakees register as they start; look for new ones now and then.
        if rounds.is_multiple_of(100) {
            wakees = (0..MAX_WORKERS)
                .filter(|&i| cx.shared.slot(i).waits_on.load(Ordering::Relaxed) == me)
                .collect();
        }
        rounds = rounds.wrapping_add(1);
        let now = mono_ns();
        for &i in &wakees {
            // Only if none is pending: the oldest unconsumed wake counts.
            let _ = cx.shared.slot(i).wake_pending_since.compare_exchange(
                0,
                now,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        cx.slot.futex.fetch_add(1, Ordering::Release);
        futex_wake(&cx.slot.futex, i32::MAX);
        cx.tick(1);
        cx.timed_sleep_ms(1);
    }
}

fn fan_out_wakee(cx: &mut Ctx<'_>, waker: usize) {
    let w = cx.shared.slot(waker);
    cx.slot.waits_on.store(waker as u32 + 1, Ordering::Relaxed);
    let mut seen = w.futex.load(Ordering::Acquire);
    while !cx.stopped() {
        futex_wait(&w.futex, seen, WAIT_SLICE);
        let now = w.futex.load(Ordering::Acquire);
        if now != seen {
            seen = now;
            let since = cx.slot.wake_pending_since.swap(0, Ordering::Relaxed);
            cx.wake_sample(since);
            cx.tick(1);
        } else {
            // No wake this slice; the waker may be starved. Not our progress.
            cx.cp.resume();
        }
    }
}

fn cache_pressure(cx: &mut Ctx<'_>, wss: usize, stride: usize) {
    let mut buf = vec![0u8; wss.max(4096)];
    let mut i = 0usize;
    while !cx.stopped() {
        for _ in 0..4096 {
            buf[i] = buf[i].wrapping_add(1);
            i += stride;
            if i >= buf.len() {
                i = (i + 1) % stride.min(buf.len());
            }
        }
        black_box(&buf);
        cx.tick(1);
    }
}

/// Maps, faults in and unmaps 1 MiB, again and again. A failed mmap means the
/// guest is out of memory: the worker ends and its report says so, where
/// ticking on would count faults that did not happen.
fn page_faults(cx: &mut Ctx<'_>) -> Result<(), GuestError> {
    const LEN: usize = 1 << 20;
    while !cx.stopped() {
        let mut map = Mapping::private_anonymous(LEN)
            .map_err(GuestError::syscall("map 1 MiB to fault in", "mmap"))?;
        map.touch(4096);
        map.unmap()
            .map_err(GuestError::syscall("unmap the faulted-in MiB", "munmap"))?;
        cx.tick(1);
        let _ = next_random(&mut cx.rng);
    }
    Ok(())
}
